import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePeer } from './peers';

/** One `helm template` run, as Argo CD's repo server makes it for an Application's Helm source. */
export interface HelmTemplateOptions {
  /** The unpacked chart (see `resolveChart`). */
  readonly chartDir: string;
  /** `spec.source.helm.releaseName`, else the Application's name. */
  readonly releaseName: string;
  /** The Application's destination namespace. */
  readonly namespace: string;
  /** `valuesObject` (and `values`, parsed), merged over the chart's defaults. @default {} */
  readonly values?: unknown;
  /** The cluster's Kubernetes version, `1.36` or `v1.36.3`. */
  readonly kubeVersion: string;
  /** `--api-versions`: every API group/version (and `group/version/Kind`) the cluster serves beyond the built-in ones. @default [] */
  readonly apiVersions?: readonly string[];
  /** `--include-crds`: Argo CD passes it, so CRDs in `crds/` are rendered too. @default true */
  readonly includeCrds?: boolean;
  /** @default the helm peer */
  readonly helm?: string;
}

/** Thrown when helm refuses a chart with our values; carries helm's own message. */
export class HelmTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HelmTemplateError';
  }
}

/**
 * Renders a chart with the real Helm: `helm template <release> <chart>
 * --namespace --kube-version --api-versions --include-crds --values`, the
 * flags Argo CD's repo server passes. Returns the multi-document YAML.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/helm/
 * @see https://helm.sh/docs/helm/helm_template/
 */
export function helmTemplate(options: HelmTemplateOptions): string {
  const helm = options.helm ?? requirePeer('helm', 'helm template');
  const work = mkdtempSync(join(tmpdir(), 'keelson-helm-'));
  try {
    const valuesFile = join(work, 'values.json');
    writeFileSync(valuesFile, JSON.stringify(options.values ?? {}));
    const args = [
      'template',
      options.releaseName,
      options.chartDir,
      '--namespace',
      options.namespace,
      '--kube-version',
      options.kubeVersion,
      ...(options.includeCrds ?? true ? ['--include-crds'] : []),
      ...(options.apiVersions ?? []).flatMap((v) => ['--api-versions', v]),
      '--values',
      valuesFile,
    ];
    // helm keeps its caches and config under HOME; a private one keeps runs independent of the user's repositories.
    const env = { ...process.env, HELM_CACHE_HOME: join(work, 'cache'), HELM_CONFIG_HOME: join(work, 'config'), HELM_DATA_HOME: join(work, 'data') };
    const run = spawnSync(helm, args, { encoding: 'utf8', env, maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
    if (run.error) throw new HelmTemplateError(`helm template ${options.releaseName}: ${run.error.message}`);
    if (run.status !== 0) throw new HelmTemplateError(`helm template ${options.releaseName} (${options.chartDir}) failed: ${run.stderr.trim()}`);
    return run.stdout;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
