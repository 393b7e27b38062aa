// The fault-budget details the fault-tolerance proof takes as given: budgets
// that a drain cannot empty, Ceph pools that keep writing (and only with two
// copies) after the worst case, Rook guarding its own daemons, one reboot at a
// time, synchronous database replication, and no stateless singleton of ours.
import type { FailureModel } from './fault-tolerance';
import { neverApplied, podSpecOf } from './objects';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type K8sObject, type Loose, type Manifest, type NodeInfo } from './types';

const SCALED = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

/** Whether a label selector selects `labels` (matchLabels and the In/NotIn/Exists/DoesNotExist expressions). */
function selects(selector: Loose, labels: Record<string, string>): boolean {
  if (!isRecord(selector)) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of asArray<Loose>(selector.matchExpressions)) {
    const has = e?.key in labels;
    const values = asArray<string>(e?.values);
    if (e?.operator === 'In' && !(has && values.includes(labels[e.key]))) return false;
    if (e?.operator === 'NotIn' && has && values.includes(labels[e.key])) return false;
    if (e?.operator === 'Exists' && !has) return false;
    if (e?.operator === 'DoesNotExist' && has) return false;
  }
  return Object.keys(selector.matchLabels ?? {}).length > 0 || asArray(selector.matchExpressions).length > 0;
}

/** Pods a PodDisruptionBudget lets a drain evict at once out of `replicas`. @see https://kubernetes.io/docs/tasks/run-application/configure-pdb/#rounding-logic-when-specifying-percentages */
function allowedDisruptions(spec: Loose, replicas: number): number {
  const value = (v: unknown, round: (x: number) => number) => (typeof v === 'string' && v.endsWith('%') ? round((Number(v.slice(0, -1)) / 100) * replicas) : Number(v));
  if (spec?.maxUnavailable !== undefined) return value(spec.maxUnavailable, Math.ceil);
  if (spec?.minAvailable !== undefined) return replicas - value(spec.minAvailable, Math.ceil);
  return 0;
}

/** The replicated pools of a Ceph custom resource, with a label each. */
function pools(o: K8sObject): { label: string; pool: Loose }[] {
  const spec = (o.spec ?? {}) as Loose;
  if (o.kind === 'CephBlockPool') return [{ label: describe(o), pool: spec }];
  if (o.kind === 'CephFilesystem' || o.kind === 'CephObjectStore') {
    return [
      ...(spec.metadataPool ? [{ label: `${describe(o)} metadata pool`, pool: spec.metadataPool }] : []),
      ...asArray<Loose>(spec.dataPools).map((p, i) => ({ label: `${describe(o)} data pool ${p?.name ?? i}`, pool: p })),
      ...(spec.dataPool ? [{ label: `${describe(o)} data pool`, pool: spec.dataPool }] : []),
    ];
  }
  return [];
}

/**
 * The fault budget's details, on the desired state and the nodes:
 * - no PodDisruptionBudget lets a drain evict every pod it selects;
 * - a replicated Ceph pool's `min_size` is at least 2 (one copy never takes
 *   writes) and, for any k nodes failing, at most `size - k` (the survivors
 *   keep writing);
 * - Rook manages the Ceph daemons' PodDisruptionBudgets
 *   (`disruptionManagement.managePodBudgets`);
 * - nodes reboot one at a time: kured runs with `--concurrency=1` and
 *   without `--force-reboot`, and Flatcar's own reboot manager
 *   (`locksmithd.service`) is masked on every node;
 * - a CloudNativePG Cluster with replicas commits synchronously to at least
 *   one of them;
 * - a Deployment the platform renders itself (charts-out) that mounts no
 *   volume claim is stateless, so it runs at least 2 replicas (the proof
 *   then counts them against k): a stated recovery bound is for stateful
 *   singletons only.
 *
 * @see https://docs.ceph.com/en/latest/rados/operations/pools/#set-the-number-of-object-replicas
 * @see https://rook.io/docs/rook/v1.20/CRDs/Cluster/ceph-cluster-crd/#cluster-settings (disruptionManagement)
 * @see https://kured.dev/docs/configuration/
 * @see https://www.flatcar.org/docs/latest/setup/releases/update-strategies/
 * @see https://cloudnative-pg.io/documentation/current/replication/#synchronous-replication
 */
export function checkFaultBudget(manifests: readonly Manifest[], ownFiles: (file: string) => boolean, nodes: readonly NodeInfo[], model: FailureModel): CheckResult {
  const findings: Finding[] = [];
  const applied = manifests.filter((m) => !neverApplied(m.object));
  const workloads = applied.filter((m) => SCALED.has(String(m.object.kind)));

  // PodDisruptionBudgets.
  const pdbs = applied.filter((m) => m.object.kind === 'PodDisruptionBudget');
  for (const { file, object } of pdbs) {
    const ns = object.metadata?.namespace;
    for (const w of workloads.filter((x) => x.object.metadata?.namespace === ns && selects(object.spec?.selector, x.object.spec?.template?.metadata?.labels ?? {}))) {
      const replicas = Number(w.object.spec?.replicas ?? 1);
      const allowed = allowedDisruptions(object.spec, replicas);
      if (replicas >= 1 && allowed >= replicas) findings.push({ file, message: `${describe(object)} lets a drain evict all ${replicas} pods of ${describe(w.object)} at once (${object.spec?.maxUnavailable !== undefined ? `maxUnavailable ${object.spec.maxUnavailable}` : `minAvailable ${object.spec?.minAvailable}`}): draining nodes can take the service down; use maxUnavailable: 1` });
    }
  }

  // Ceph.
  for (const { file, object } of applied.filter((m) => String(m.object.apiVersion).startsWith('ceph.rook.io/'))) {
    if (object.kind === 'CephCluster' && (object.spec as Loose)?.disruptionManagement?.managePodBudgets !== true) {
      findings.push({ file, message: `${describe(object)}: spec.disruptionManagement.managePodBudgets is not true: nothing stops a drain from taking more OSDs or monitors than the pools and quorum survive; set it to true` });
    }
    for (const { label, pool } of pools(object)) {
      const size = Number(pool?.replicated?.size);
      const raw = pool?.parameters?.min_size;
      if (!Number.isFinite(size) || raw === undefined) continue;
      const minSize = Number(raw);
      const worst = model.model === 'any-third' ? model.k : 1;
      if (minSize < 2) findings.push({ file, message: `${label}: min_size ${raw} accepts writes with a single copy: one more failure loses them; set min_size: "2"` });
      else if (minSize > size - worst) findings.push({ file, message: `${label}: min_size ${raw} is above the ${size - worst} copies left after ${worst} failure${worst === 1 ? '' : 's'} of size ${size}: the pool stops taking I/O; set min_size: "2"` });
    }
  }

  // One reboot at a time.
  const kured = applied.find((m) => m.object.kind === 'DaemonSet' && asArray<Loose>(podSpecOf(m.object)?.containers).some((c) => /(^|\/)kured:/.test(String(c?.image ?? ''))));
  if (kured) {
    const args = asArray<Loose>(podSpecOf(kured.object)?.containers).flatMap((c) => [...asArray<string>(c?.command), ...asArray<string>(c?.args)]);
    const flag = (name: string) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    const concurrency = flag('concurrency')?.split('=')[1] ?? '1';
    if (concurrency !== '1') findings.push({ file: kured.file, message: `${describe(kured.object)} reboots ${concurrency} nodes at once (--concurrency=${concurrency}): together with a failure that exceeds the fault budget; set the chart value configuration.concurrency: 1` });
    const force = flag('force-reboot');
    if (force !== undefined && force !== '--force-reboot=false') findings.push({ file: kured.file, message: `${describe(kured.object)} sets ${force}: a node whose drain is blocked by a PodDisruptionBudget reboots anyway; remove it (configuration.forceReboot: false)` });
  }
  for (const n of nodes) {
    const unit = asArray<Loose>(n.ignition.systemd?.units).find((u) => u?.name === 'locksmithd.service');
    if (unit?.mask !== true) findings.push({ file: n.file, message: `node ${n.name}: locksmithd.service is not masked: Flatcar reboots the node for updates without draining or asking kured; mask it in the node's Ignition` });
  }

  // Databases.
  for (const { file, object } of applied.filter((m) => m.object.kind === 'Cluster' && String(m.object.apiVersion).startsWith('postgresql.cnpg.io/'))) {
    const spec = (object.spec ?? {}) as Loose;
    if (Number(spec.instances ?? 1) < 2) continue;
    const sync = Number(spec.postgresql?.synchronous?.number ?? 0) >= 1 || Number(spec.minSyncReplicas ?? 0) >= 1;
    if (!sync) findings.push({ file, message: `${describe(object)}: replication is asynchronous (no postgresql.synchronous.number >= 1 nor minSyncReplicas >= 1): a failover loses the commits the primary had not shipped; set postgresql.synchronous { method: any, number: 1 }` });
  }

  // Stateless singletons of our own.
  for (const { file, object } of workloads.filter((m) => m.object.kind === 'Deployment' && ownFiles(m.file))) {
    const claims = asArray<Loose>(podSpecOf(object)?.volumes).some((v) => isRecord(v?.persistentVolumeClaim) || isRecord(v?.ephemeral));
    if (!claims && Number(object.spec?.replicas ?? 1) < 2) findings.push({ file, message: `${describe(object)} is stateless (it mounts no volume claim) but runs ${object.spec?.replicas ?? 1} replica: losing its node stops the service until it is rescheduled; run k+1 = ${model.k + 1} replicas, one per node` });
  }

  return check('fault-budget', `${pdbs.length} PodDisruptionBudgets leave pods to serve; Ceph pools keep writing after the worst case; reboots one node at a time${kured ? ` (${describe(kured.object)})` : ''}; databases replicate synchronously`, findings);
}
