import { basename, dirname, join } from 'node:path';
import { renderCharts, writeTreeAtomically, type RenderedFile } from '@keelson/cluster-kit';
import { loadPlatformSpec, type PlatformSpec } from '@keelson/platform-spec';
import { composePlatform } from './platform';


export interface SynthOptions {
  readonly configPath: string;
  readonly outDir: string;
}

export interface SynthResult {
  readonly spec: PlatformSpec;
  readonly files: readonly RenderedFile[];
  /** The folder written: `<outDir>/<gitops.path>`. */
  readonly chartsDir: string;
}

/**
 * Renders the platform described by `configPath` into `outDir/<gitops.path>/`
 * (`charts-out/` by default), the folder Argo CD syncs.
 *
 * Everything is rendered in memory first and written by a rename, so any
 * error (bad config, a layer refusing its props, a full disk) leaves the
 * previous output as it was.
 */
export function synth(options: SynthOptions): SynthResult {
  const spec = loadPlatformSpec(options.configPath);
  const files = renderCharts(composePlatform(spec));
  const chartsDir = join(options.outDir, spec.config.gitops.path);
  writeTreeAtomically({ parent: dirname(chartsDir), name: basename(chartsDir), files });
  return { spec, files, chartsDir };
}

/** What synth tells a human: the promise, its price, and what was written. */
export function describeSynth({ spec, files }: SynthResult): string[] {
  const { config, budget } = spec;
  const n = budget.nodes;
  const c = config.nodes.controllers.count;
  const w = config.nodes.workers.count;
  const raw = n * config.nodes.volumeSizeGiB;
  const promise =
    budget.model === 'any-third'
      ? `any ${budget.k} of ${n} nodes may fail at once (k = floor(${n}/3))`
      : `any one of ${budget.failureDomains} failure domains may fail (up to ${budget.k} node${budget.k === 1 ? '' : 's'})`;
  const perFolder = new Map<string, number>();
  for (const f of files) perFolder.set(f.path.split('/')[0], (perFolder.get(f.path.split('/')[0]) ?? 0) + 1);
  return [
    `platform "${config.cluster.name}" in ${config.provider.name}/${config.provider.region}: ${n} nodes (${c} controller${c === 1 ? "" : "s"}, ${w} worker${w === 1 ? "" : "s"})`,
    `  fault budget: ${promise}`,
    `  sizes: etcd ${budget.etcdMembers} members, Ceph ${budget.cephMonitors} monitors, pools ${budget.poolSize} copies (min_size ${budget.poolMinSize}, failure domain ${budget.poolFailureDomain}), stateless services ${budget.statelessReplicas} replicas`,
    `  cost: replicated pools store every byte ${budget.rawSpaceOverhead} times: ${raw} GiB raw (${n} x ${config.nodes.volumeSizeGiB} GiB) holds about ${Math.floor(raw / budget.rawSpaceOverhead)} GiB of data`,
    `  ${config.gitops.path}/: ${files.length} objects in ${perFolder.size} folders (${[...perFolder].map(([f, k]) => `${f} ${k}`).join(', ')})`,
  ];
}
