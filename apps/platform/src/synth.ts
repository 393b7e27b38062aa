import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { lstatSync, readlinkSync } from 'node:fs';
import { lockOutput, lockWaitSecondsFrom, recoverTrees, renderCharts, writeTreesAtomically, type RenderedFile } from '@keelson/cluster-kit';
import { renderNodeConfigs, type NodeIgnition } from '@keelson/ignition';
import { loadPlatformSpec, SHIPPED_CLUSTER_IDS, type NodeProvider, type PlatformDeclarations, type PlatformSpec } from '@keelson/platform-spec';
import { PLATFORM_APPS } from './apps';
import { CLUSTER_RECORD_FILE, readClusterRecord, type ClusterRecord } from './lifecycle/cluster-record';
import { describeKubernetesSysext, pinnedKubernetesSysext, sysextLockPath, type PinnedKubernetesSysext } from './lock';
import { composePlatform } from './platform';
import { carryPinnedManifests } from './carry';

/** Folder under `--out` for what provisions the nodes; holds secrets, git-ignored. */
export const INFRA_OUT = 'infra-out';

/**
 * `--restore-etcd KEY [--restore-etcd-sha256 HEX]` as synth takes it, checked:
 * undefined without a key; the hash only with a key, lower-cased.
 */
export function restoreEtcdOption(key: string | undefined, sha256: string | undefined): SynthOptions['restoreEtcd'] {
  if (sha256 !== undefined && key === undefined) {
    throw new Error('--restore-etcd-sha256 is the hash of a snapshot to restore; pass the snapshot too with --restore-etcd <key>');
  }
  const hash = sha256?.toLowerCase();
  if (hash !== undefined && !/^[0-9a-f]{64}$/.test(hash)) {
    throw new Error(`--restore-etcd-sha256 ${JSON.stringify(sha256)} is not a SHA-256 (64 hex digits); pass the first field of \`sha256sum <snapshot>.db\``);
  }
  return key === undefined ? undefined : { key, sha256: hash };
}

export interface SynthOptions {
  readonly configPath: string;
  readonly outDir: string;
  /**
   * The secrets bundle folder, or how to find it from the spec.
   * @default `<outDir>/secrets/<cluster name>`
   */
  readonly secretsDir?: string | ((spec: PlatformSpec) => string);
  /** Where object-store credentials are read from, to sign the secret-part links. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default new Date() */
  readonly now?: Date;
  /**
   * An etcd snapshot in the backups bucket (`key`, e.g. `etcd/20261125T081500Z.db`)
   * the first controller restores if it creates the cluster; its link is
   * presigned with the object-store keys from `env`, which must be set.
   * @default - no restore
   */
  readonly restoreEtcd?: { readonly key: string; readonly sha256?: string };
  /**
   * The lock file that pins the Kubernetes system extension image by hash
   * (`keelson lock`); without it, or without an entry for the config's
   * release, nodes fetch the image with systemd-sysupdate.
   * @default `kubernetes-sysext.lock.json` next to the config (apps/platform/ for the default config)
   */
  readonly sysextLockFile?: string;
  /**
   * How long to wait for another run that holds `<outDir>/.keelson-out.lock`
   * (a synth, deploy, plan…) before refusing.
   * @default - `KEELSON_LOCK_WAIT_SECONDS` from `env`, else 30
   */
  readonly lockWaitSeconds?: number;
}

export interface SynthResult {
  readonly spec: PlatformSpec;
  /** What the layers declared for the lifecycle: deploy-time Secrets, health gates, bootstrap. */
  readonly declarations: PlatformDeclarations;
  readonly files: readonly RenderedFile[];
  /** The folder written: `<outDir>/<gitops.path>`. */
  readonly chartsDir: string;
  /** `<outDir>/infra-out`. */
  readonly infraDir: string;
  readonly nodes: readonly NodeIgnition[];
  /** The Terraform JSON file written under infra-out/. */
  readonly terraformFile: string;
  /** When the secret-part links were signed, or undefined when no object-store credentials were set. */
  readonly linksSignedAt?: Date;
  /** Files the secrets bundle created on this run (first use). */
  readonly createdSecrets: readonly string[];
  /** Notices of the secrets bundle: a bundle from before its manifest adopted, a leftover of an interrupted creation removed. */
  readonly bundleNotices: readonly string[];
  /** The environment variables that hold the cloud's object-store keys (they sign the secret-part links). */
  readonly objectStoreCredentialVariables: readonly string[];
  /** The largest user-data the cloud's servers accept, in bytes (what each pointer must fit in). */
  readonly userDataLimitBytes: number;
  /** The run's node provider, built once: later steps (deploy, upgrade) ask it for the cloud's facts. */
  readonly provider: NodeProvider;
  /** The storage layer's redundancy and raw-space price, for humans. */
  readonly storage: string;
  /** What the restore drill restores and when, or why there is none, for humans. */
  readonly restoreDrill?: string;
  /** The etcd snapshot the first controller restores if it creates the cluster. */
  readonly restoreEtcd?: SynthOptions['restoreEtcd'];
  /** The Kubernetes system extension image pinned by hash, if the lock has it. */
  readonly kubernetesSysext?: PinnedKubernetesSysext;
  /** The record that the cluster exists (`infra-out/cluster-created.json`): then every node joins; without it keelson-controller-1 creates the cluster. */
  readonly clusterRecord?: ClusterRecord;
}

/**
 * Renders the platform described by `configPath`: Kubernetes YAML into
 * `outDir/<gitops.path>/` (`charts-out/` by default), the folder Argo CD
 * syncs, and each node's Ignition into `outDir/infra-out/ignition/` (mode
 * 0600, from the secrets bundle, which is created on first use).
 *
 * Everything is rendered in memory first and written by renames, so any
 * error (bad config, a layer refusing its props, a damaged bundle, a full
 * disk) leaves the previous output as it was. Both trees switch together
 * (`writeTreesAtomically`, journalled in `outDir`): after a kill at any
 * moment each is wholly the old or wholly the new render, and the next run
 * completes a switch that was under way. The run holds
 * `<outDir>/.keelson-out.lock` from its first write to its last.
 */
export async function synth(options: SynthOptions): Promise<SynthResult> {
  const spec = loadPlatformSpec(options.configPath);
  // Refused before anything is written when stale: it would pin another release than the nodes run.
  const kubernetesSysext = pinnedKubernetesSysext(options.sysextLockFile ?? sysextLockPath(options.configPath), spec.config.versions.kubernetes);
  // Whether the cluster exists decides init or join (issue 20): read, and a restore refused, before anything is written.
  const clusterRecord = readClusterRecord(join(options.outDir, INFRA_OUT), spec.config.cluster.name);
  if (clusterRecord && options.restoreEtcd) {
    throw new Error(
      `--restore-etcd ${options.restoreEtcd.key}: "${spec.config.cluster.name}" exists (created ${clusterRecord.createdAt}, recorded in ${join(options.outDir, INFRA_OUT, CLUSTER_RECORD_FILE)}); a restore creates a new cluster from the snapshot, and the nodes of an existing cluster only join it. Run "keelson destroy" first (it removes the record once the machines are gone), then synth with --restore-etcd again`,
    );
  }
  // cdktf and the provider bindings load only here. The one provider of the run: every cloud fact comes from it.
  const provider = (await import('@keelson/infra-nodes')).nodeProviderFor(spec);
  if (options.restoreEtcd) {
    // Refused before anything is written, the secrets bundle included: a bad key, or no keys to sign its link.
    provider.backupObjectUrl(spec, options.restoreEtcd.key);
    if (!provider.credentialsFromEnv(options.env ?? process.env)) {
      const keys = provider.objectStoreCredentialVariables.join(' and ');
      throw new Error(`--restore-etcd ${options.restoreEtcd.key}: the first controller fetches the snapshot through a presigned link, and no object-store keys are set to sign it; set ${keys} (the keys that sign the secret-part links) and synth again`);
    }
  }
  // Before the lock and anything written: synth replaces these folders whole, so none may lead out of the output folder.
  confineToOutput(options.outDir, spec.config.gitops.path, 'gitops.path');
  confineToOutput(options.outDir, INFRA_OUT, 'infra-out');
  const env = options.env ?? process.env;
  const step = switchTestHook(env);
  // Held from here (the secrets bundle may be created next) to the last rename.
  const lock = lockOutput(options.outDir, { command: 'keelson synth', waitSeconds: options.lockWaitSeconds ?? lockWaitSecondsFrom(env) });
  try {
    step('locked');
    // Before anything else: a run killed mid-switch left its journal; its render becomes the output.
    recoverTrees(options.outDir);
    return await synthLocked(options, { spec, kubernetesSysext, provider, step, clusterRecord });
  } finally {
    lock.release();
  }
}

/**
 * Refuses an output folder reached through a symbolic link: synth replaces
 * `<outDir>/<path>` whole and keeps files of the folder it replaces, so a
 * link there (or in any folder on the way) would make it read from, keep or
 * replace a folder outside the output. A link is never followed; the message
 * names it, where it points and the fix.
 */
function confineToOutput(outDir: string, path: string, field: string): void {
  let at = outDir;
  for (const part of path.split('/').filter(Boolean)) {
    at = join(at, part);
    const stat = lstatSync(at, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isSymbolicLink()) {
      throw new Error(`${field} ${path}: ${at} is a symbolic link to ${readlinkSync(at)}; synth replaces ${join(outDir, path)} whole and never follows a link out of ${outDir}: replace the link with a real folder (move what it points to aside first), or render with --out elsewhere`);
    }
    if (!stat.isDirectory()) throw new Error(`${field} ${path}: ${at} is a file, not a folder; synth would replace it: move it aside, or choose another ${field}`);
  }
}

/** What synth checked before taking the lock. */
interface Checked {
  readonly spec: PlatformSpec;
  readonly kubernetesSysext: ReturnType<typeof pinnedKubernetesSysext>;
  readonly provider: NodeProvider;
  readonly step: (s: string) => void;
  readonly clusterRecord: ClusterRecord | undefined;
}

/** The part of synth that writes: the secrets bundle on first use, then both trees in one switch. */
async function synthLocked(options: SynthOptions, { spec, kubernetesSysext, provider, step, clusterRecord }: Checked): Promise<SynthResult> {
  const platform = composePlatform(spec, { backupBucket: provider.backupBucket(spec), volumeDevicePathFilter: provider.volumeDevicePathFilter(spec), apps: PLATFORM_APPS });
  // The Argo CD install, read once and checked by its digest before anything is written (the secrets bundle included);
  // carried in the first controller's secret part.
  const bootstrap = carryPinnedManifests(platform.bootstrap, { ...process.env, ...options.env });
  const files = renderCharts(platform.app);
  // The PKI library is loaded only here: it is the heaviest dependency of synth.
  const { openSecretsBundle } = await import('@keelson/etcd-tls');
  const secretsDir =
    typeof options.secretsDir === 'function' ? options.secretsDir(spec) : (options.secretsDir ?? join(options.outDir, 'secrets', spec.config.cluster.name));
  const { bundle, created, notices: bundleNotices } = await openSecretsBundle({ dir: secretsDir, spec });
  // Nodes fetch their secret part through a link that expires. It is signed
  // at the start of the current UTC day, so output stays the same all day and
  // links stay valid for the 7 days SigV4 allows.
  const credentials = provider.credentialsFromEnv(options.env ?? process.env);
  const signedAt = new Date(new Date(options.now ?? Date.now()).toISOString().slice(0, 10));
  const signing = credentials ? { credentials, now: signedAt } : undefined;
  const nodes = renderNodeConfigs({
    spec,
    secrets: bundle,
    secretPartUrl: (node) => provider.secretPartUrl(spec, node, signing),
    userDataLimitBytes: provider.userDataLimitBytes,
    // Only the very first deploy creates the cluster; once deploy recorded it, every node (controller 1 included) joins.
    initialize: clusterRecord === undefined,
    bootstrap,
    replaceKubeadmAddons: platform.replaceKubeadmAddons,
    restoreEtcdSnapshot: options.restoreEtcd && { url: provider.backupObjectUrl(spec, options.restoreEtcd.key, signing), sha256: options.restoreEtcd.sha256 },
    kubernetesSysext: kubernetesSysext.image && { url: kubernetesSysext.image.url, sha256: kubernetesSysext.image.sha256 },
    // Where public DNS gives api.<domain> to admins only, nodes map it to the private API load balancer.
    apiPrivateAddress: provider.apiPrivateAddress(spec),
    // Where the cloud pins the controllers' private addresses, etcd accepts only them.
    controllerAddresses: provider.controllerPrivateAddresses(spec),
  });
  const terraform = provider.renderTerraform({
    spec,
    // The ingress load balancer forwards to the ports the ingress layer listens on.
    ingressTarget: platform.ingressTarget,
    nodes: nodes.map((n) => ({
      name: n.node.name,
      userData: n.pointer,
      secretPart: n.secretPart,
      secretPartKey: `${n.node.name}.ign`,
      // Read from infra-out/ignition by Terraform, so keys never enter the Terraform JSON or plan output.
      secretPartFile: `ignition/${n.node.name}.secret.ign`,
    })),
  });
  const chartsDir = join(options.outDir, spec.config.gitops.path);
  const infraDir = join(options.outDir, INFRA_OUT);
  const secretFile = (path: string, content: string) => ({ path, content, mode: 0o600 });
  const charts = { parent: dirname(chartsDir), name: basename(chartsDir), files };
  const infra = {
    parent: options.outDir,
    name: INFRA_OUT,
    mode: 0o700,
    // Terraform's own files live beside the configuration: the local state,
    // .terraform/, the lock file, plans, logs, the deploy state. Synth
    // replaces only what it renders (main.tf.json, ignition/).
    keep: () => true,
    files: [
      // No key in it (it reads the secret parts from ignition/), but it names every node, address range and bucket.
      secretFile(terraform.fileName, terraform.content),
      ...nodes.flatMap((n) => [
        secretFile(`ignition/${n.node.name}.ign`, n.full),
        secretFile(`ignition/${n.node.name}.pointer.ign`, n.pointer),
        secretFile(`ignition/${n.node.name}.secret.ign`, n.secretPart),
      ]),
    ],
  };
  writeTreesAtomically([charts, infra], { journalDir: options.outDir, onStep: step });
  return { spec, declarations: platform.declarations, files, chartsDir, infraDir, nodes, terraformFile: terraform.fileName, createdSecrets: created, bundleNotices, linksSignedAt: signing?.now, storage: platform.storage.overheadSummary, restoreDrill: platform.backups.restoreDrillSummary, restoreEtcd: options.restoreEtcd, kubernetesSysext, objectStoreCredentialVariables: provider.objectStoreCredentialVariables, userDataLimitBytes: provider.userDataLimitBytes, provider, clusterRecord };
}

/**
 * TEST ONLY: `KEELSON_TEST_SWITCH_HOOK=kill:<step>` makes synth SIGKILL itself
 * right after `<step>` of the output switch, `pause:<step>:<ms>` makes it
 * sleep there (steps: `locked`, `staged:<tree>`, `journal`, `aside:<tree>`,
 * `switched:<tree>`, `committed`, `done`). The tests of the switch stop a run
 * between two steps with it; it changes nothing that is written, only when
 * the process stops. Unset, it does nothing.
 */
function switchTestHook(env: Readonly<Record<string, string | undefined>>): (step: string) => void {
  const hook = env.KEELSON_TEST_SWITCH_HOOK;
  if (!hook) return () => undefined;
  const [action, ...rest] = hook.split(':');
  const ms = action === 'pause' ? Number(rest.pop()) : 0;
  const at = rest.join(':');
  return (step) => {
    if (step !== at) return;
    if (action === 'kill') process.kill(process.pid, 'SIGKILL');
    if (action === 'pause') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  };
}

/**
 * A warning when `cluster.id` is one of the ids Keelson's own configs ship:
 * bucket names are global, so every copy that keeps it competes for the
 * same buckets (and anyone can create them first).
 */
export function shippedClusterIdNotice(id: string): string[] {
  if (!SHIPPED_CLUSTER_IDS.has(id)) return [];
  return [
    `  cluster.id "${id}" is the one Keelson's own configs ship: every copy of them names the same buckets (bucket names are global on the cloud); set cluster.id to your own (e.g. "${randomBytes(4).toString('hex')}") before the first deploy`,
  ];
}

/** What synth tells a human: the promise, its price, and what was written. */
export function describeSynth({ spec, files, nodes, terraformFile, createdSecrets, bundleNotices, linksSignedAt, storage, restoreDrill, restoreEtcd, kubernetesSysext, objectStoreCredentialVariables, userDataLimitBytes, clusterRecord }: SynthResult): string[] {
  const { config, budget } = spec;
  const n = budget.nodes;
  const c = config.nodes.controllers.count;
  const w = config.nodes.workers.count;
  const promise =
    budget.model === 'any-third'
      ? `any ${budget.k} of ${n} nodes may fail at once (k = floor(${n}/3))`
      : `any one of ${budget.failureDomains} failure domains may fail (up to ${budget.k} node${budget.k === 1 ? '' : 's'})`;
  const perFolder = new Map<string, number>();
  for (const f of files) perFolder.set(f.path.split('/')[0], (perFolder.get(f.path.split('/')[0]) ?? 0) + 1);
  return [
    `platform "${config.cluster.name}" in ${config.provider.name}/${config.provider.region}: ${n} nodes (${c} controller${c === 1 ? "" : "s"}, ${w} worker${w === 1 ? "" : "s"})`,
    `  fault budget: ${promise}`,
    ...shippedClusterIdNotice(config.cluster.id),
    `  sizes: etcd ${budget.etcdMembers} members, Ceph ${budget.cephMonitors} monitors, pools ${budget.poolSize} copies (min_size ${budget.poolMinSize}, failure domain ${budget.poolFailureDomain}), stateless services ${budget.statelessReplicas} replicas`,
    `  cost: ${storage.split('\n').join('; ')}`,
    ...(restoreDrill ? [`  ${restoreDrill}`] : []),
    `  ${config.gitops.path}/: ${files.length} objects in ${perFolder.size} folders (${[...perFolder].map(([f, k]) => `${f} ${k}`).join(', ')})`,
    `  ${INFRA_OUT}/${terraformFile}: Terraform JSON for ${spec.config.provider.name} (terraform or tofu apply in infra-out/; reads the secret parts from ignition/ as sensitive values; mode 0600)`,
    clusterRecord
      ? `  first boot: the cluster exists (created ${clusterRecord.createdAt}, ${INFRA_OUT}/${CLUSTER_RECORD_FILE}): every node joins`
      : `  first boot: first deploy: ${nodes.find((n) => n.node.role === 'controller' && n.node.index === 1)?.node.name} creates the cluster (keelson deploy records it in ${INFRA_OUT}/${CLUSTER_RECORD_FILE}; every later render joins)`,
    `  ${INFRA_OUT}/ignition/: ${nodes.length} nodes, each <node>.pointer.ign (user-data, no secrets, largest ${Math.max(...nodes.map((n) => Buffer.byteLength(n.pointer)))} bytes of ${userDataLimitBytes}), <node>.secret.ign (fetched once, pinned by hash) and <node>.ign (both), mode 0600`,
    linksSignedAt
      ? `  secret-part links: signed, valid until ${new Date(linksSignedAt.getTime() + 7 * 86_400_000).toISOString().slice(0, 10)}`
      : `  secret-part links: NOT signed (no object-store keys in the environment: ${objectStoreCredentialVariables.join(' and ')}); nodes cannot fetch their secret parts: set the keys and synth again before deploying`,
    ...(restoreEtcd && linksSignedAt
      ? [
          `  etcd restore: ${nodes.find((n) => n.node.role === 'controller' && n.node.index === 1)?.node.name} restores ${restoreEtcd.key}${restoreEtcd.sha256 ? ` (sha256 ${restoreEtcd.sha256.slice(0, 12)}…, checked on the node)` : ' (no hash check)'} if it creates the cluster (the first deploy; it still joins if anything answers on the API endpoint within 30 s); a node that joins never restores; link valid until ${new Date(linksSignedAt.getTime() + 7 * 86_400_000).toISOString().slice(0, 10)}`,
        ]
      : []),
    ...(kubernetesSysext ? [`  ${describeKubernetesSysext(kubernetesSysext)}`] : []),
    ...bundleNotices.map((n) => `  NOTICE: ${n}`),
    ...(createdSecrets.length > 0 ? [`  secrets bundle: created ${createdSecrets.length} files (back the folder up; it never leaves this machine)`] : []),
  ];
}
