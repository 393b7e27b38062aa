import type { K8sObject } from '@keelson/upstream';
import type { ApiClient } from './internal/api';
import { sleep } from './internal/util';
import { readClusterPods, unscheduledReason, type LivePod } from './scheduling';

const UNREACHABLE = 'node.kubernetes.io/unreachable';

/**
 * What turns nodes off and on: the rehearsal's kubelet stand-ins (kwok), or
 * a cloud's power actions in a drill. The fault engine only sees this.
 */
export interface NodePower {
  /** Cuts the nodes' power at once: no more status, no more lease. */
  powerOff(nodes: readonly string[]): Promise<void>;
  /** Turns the nodes back on. */
  powerOn(nodes: readonly string[]): Promise<void>;
}

/**
 * The node-failure timers of the rehearsal and of production. The
 * rehearsal shortens them so a fault runs in about a minute; every
 * recovery time is also given at production timers.
 */
export interface FaultTimers {
  /** kube-controller-manager `--node-monitor-grace-period`: a node without a lease renewal for this long becomes NotReady (Unknown). */
  readonly nodeMonitorGracePeriodSeconds: number;
  /** kube-controller-manager `--node-monitor-period`. */
  readonly nodeMonitorPeriodSeconds: number;
  /** kube-apiserver `--default-unreachable-toleration-seconds` and `--default-not-ready-toleration-seconds`: how long a pod without its own toleration stays on a failed node. */
  readonly defaultTolerationSeconds: number;
}

/** The rehearsal's timers. */
export const REHEARSAL_TIMERS: FaultTimers = { nodeMonitorGracePeriodSeconds: 20, nodeMonitorPeriodSeconds: 2, defaultTolerationSeconds: 30 };
/** Kubernetes 1.36's defaults, which Keelson's kubeadm config keeps. */
export const PRODUCTION_TIMERS: FaultTimers = { nodeMonitorGracePeriodSeconds: 50, nodeMonitorPeriodSeconds: 5, defaultTolerationSeconds: 300 };

/** How one Deployment or StatefulSet went through the fault. */
export interface WorkloadRecovery {
  /** `Deployment nextcloud/nextcloud`. */
  readonly workload: string;
  readonly replicas: number;
  /** Its pods on the failed nodes when they failed. */
  readonly podsOnFailedNodes: number;
  /**
   * `unaffected` (no pod on a failed node), `recovered` (back to every
   * replica available), `degraded` (some replicas available, not all),
   * `down` (none available at the end).
   */
  readonly status: 'unaffected' | 'recovered' | 'degraded' | 'down';
  /** Fewest replicas available at any time. */
  readonly minAvailable: number;
  /** Milliseconds from the failure until every replica was available again, in the rehearsal. */
  readonly recoveredMs?: number;
  /** The same at production timers: the grace period and, for pods without their own toleration, the default toleration scaled back. */
  readonly productionEstimateMs?: number;
  /** Milliseconds with no replica available. */
  readonly downMs?: number;
  /** How long its pods stay on an unreachable node, and where that comes from. */
  readonly tolerationSeconds: number;
  readonly tolerationSource: 'pod' | 'default';
  /** Why it did not recover. */
  readonly reason?: string;
  /**
   * Why not recovering is within the promise: a StatefulSet that keeps
   * running on its other replicas while the ones on the failed nodes wait
   * for them, or a workload `keelson verify`'s exceptions table accepts.
   */
  readonly accepted?: string;
}

/** A workload excused from "keeps running", as `keelson verify`'s FAULT_TOLERANCE_EXCEPTIONS lists it. */
export interface AcceptedOutage {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  readonly summary: string;
}

/** One quorum-keeping service under a fault. */
export interface QuorumCount {
  /** `etcd`, `CephCluster rook-ceph/rook-ceph monitors`, `CephBlockPool rook-ceph/ceph-block`. */
  readonly service: string;
  readonly noun: string;
  readonly total: number;
  readonly lost: number;
  readonly left: number;
  /** How many must stay: a majority of etcd members or monitors, a pool's min_size. */
  readonly need: number;
  readonly ok: boolean;
}

export interface FaultScenarioReport {
  /** `worst case` or `seed <n>`. */
  readonly name: string;
  readonly failedNodes: readonly string[];
  /** Milliseconds from the failure until each node was NotReady and tainted unreachable (NoExecute). */
  readonly nodes: readonly { readonly node: string; readonly notReadyMs?: number; readonly taintedMs?: number }[];
  readonly workloads: readonly WorkloadRecovery[];
  /**
   * What no pod here stands for, counted from the rendered objects on the
   * surviving nodes (keelson verify's placement for these failed nodes):
   * etcd members on the controllers, Ceph monitors and each pool's copies.
   */
  readonly quorum?: readonly QuorumCount[];
  /** Deployments and StatefulSets left out: not every replica was available before the fault (the scheduling phase says why). */
  readonly skipped: readonly string[];
  readonly ok: boolean;
  readonly durationMs: number;
}

type LiveWorkload = K8sObject & { metadata: { name: string; namespace: string }; spec?: { replicas?: number; template?: { spec?: LivePod['spec'] } }; status?: { availableReplicas?: number; readyReplicas?: number } };
type LiveNode = K8sObject & { metadata: { name: string }; spec?: { taints?: Array<{ key: string; effect: string }> }; status?: { conditions?: Array<{ type: string; status: string }> } };

/** The unreachable toleration of a pod template: its own, else the API server's default. */
function toleration(spec: LivePod['spec'] | undefined, timers: FaultTimers): { seconds: number; source: 'pod' | 'default' } {
  // The DefaultTolerationSeconds admission plugin adds the default to pods, not to templates: read the template's own.
  const own = (spec?.tolerations ?? []).find((t) => (t.key === UNREACHABLE || (t.operator === 'Exists' && !t.key)) && (t.effect === 'NoExecute' || !t.effect));
  if (own) return { seconds: own.tolerationSeconds ?? Number.POSITIVE_INFINITY, source: 'pod' };
  return { seconds: timers.defaultTolerationSeconds, source: 'default' };
}

const available = (kind: string, w: LiveWorkload) => (kind === 'StatefulSet' ? (w.status?.availableReplicas ?? w.status?.readyReplicas ?? 0) : (w.status?.availableReplicas ?? 0));

/**
 * Fails `failedNodes` at once (their kubelet stand-ins die: no more status,
 * no more lease) and watches the real controllers react: the
 * node-lifecycle controller marks them NotReady and taints them
 * unreachable, the taint manager evicts each pod when its toleration runs
 * out, the workload controllers create replacements and the scheduler
 * places them on the survivors. Ends when every Deployment and StatefulSet
 * that lost a pod has every replica available again, or at the timeout.
 *
 * @see https://kubernetes.io/docs/concepts/architecture/nodes/#node-controller
 * @see https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions
 */
export async function runFaultScenario(
  api: ApiClient,
  power: NodePower,
  scenario: { readonly name: string; readonly failedNodes: readonly string[] },
  options: { readonly timers?: FaultTimers; readonly production?: FaultTimers; readonly maxWaitMs?: number; readonly exceptions?: readonly AcceptedOutage[]; readonly onProgress?: (line: string) => void } = {},
): Promise<FaultScenarioReport> {
  const timers = options.timers ?? REHEARSAL_TIMERS;
  const production = options.production ?? PRODUCTION_TIMERS;
  const failed = new Set(scenario.failedNodes);
  const before = await readClusterPods(api);
  interface Track {
    kind: string;
    replicas: number;
    onFailed: number;
    toleration: { seconds: number; source: 'pod' | 'default' };
    min: number;
    dropped: boolean;
    recoveredAt?: number;
    downSince?: number;
    downMs: number;
  }
  const tracks = new Map<string, Track>();
  const skipped: string[] = [];
  for (const [name, w] of before.workloads) {
    if (w.kind !== 'Deployment' && w.kind !== 'StatefulSet') continue;
    const live = w.live as LiveWorkload;
    if (available(w.kind, live) < (live.spec?.replicas ?? 1)) {
      skipped.push(name);
      continue;
    }
    const onFailed = before.pods.filter((p) => before.owner.get(p.metadata.uid) === name && p.spec.nodeName && failed.has(p.spec.nodeName) && !p.metadata.deletionTimestamp).length;
    tracks.set(name, { kind: w.kind, replicas: live.spec?.replicas ?? 1, onFailed, toleration: toleration(live.spec?.template?.spec, timers), min: available(w.kind, live), dropped: false, downMs: 0 });
  }
  const affected = [...tracks.values()].filter((t) => t.onFailed > 0);
  const longest = Math.max(timers.defaultTolerationSeconds, ...affected.map((t) => (Number.isFinite(t.toleration.seconds) ? t.toleration.seconds : 0)));
  // The grace period, one taint every 10 s (--node-eviction-rate 0.1), the longest toleration, then time to reschedule (minReadySeconds included).
  const maxWait = options.maxWaitMs ?? Math.min(300_000, (timers.nodeMonitorGracePeriodSeconds + 10 * failed.size + longest + 90) * 1000);
  options.onProgress?.(`faults (${scenario.name}): failing ${scenario.failedNodes.join(', ')}; ${affected.length} Deployments/StatefulSets have pods there; waiting up to ${Math.round(maxWait / 1000)} s`);

  const t0 = Date.now();
  await power.powerOff(scenario.failedNodes);
  const nodeTimes = new Map<string, { notReadyMs?: number; taintedMs?: number }>(scenario.failedNodes.map((n) => [n, {}]));
  let lastLine = '';
  let settledSince: number | undefined;
  for (;;) {
    await sleep(1000);
    const now = Date.now() - t0;
    const nodes = await api.list<LiveNode>('/api/v1/nodes');
    for (const n of nodes) {
      const times = nodeTimes.get(n.metadata.name);
      if (!times) continue;
      if (times.notReadyMs === undefined && n.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') times.notReadyMs = now;
      if (times.taintedMs === undefined && n.spec?.taints?.some((t) => t.key === UNREACHABLE && t.effect === 'NoExecute')) times.taintedMs = now;
    }
    const lists = await Promise.all([api.list<LiveWorkload>('/apis/apps/v1/deployments'), api.list<LiveWorkload>('/apis/apps/v1/statefulsets')]);
    const live = new Map<string, LiveWorkload>();
    lists[0].forEach((w) => live.set(`Deployment ${w.metadata.namespace}/${w.metadata.name}`, w));
    lists[1].forEach((w) => live.set(`StatefulSet ${w.metadata.namespace}/${w.metadata.name}`, w));
    for (const [name, t] of tracks) {
      const w = live.get(name);
      const a = w ? available(t.kind, w) : 0;
      t.min = Math.min(t.min, a);
      if (a < t.replicas) t.dropped = true;
      if (a === 0 && t.downSince === undefined) t.downSince = now;
      if (a > 0 && t.downSince !== undefined) {
        t.downMs += now - t.downSince;
        t.downSince = undefined;
      }
      if (t.onFailed > 0 && t.dropped && a >= t.replicas && t.recoveredAt === undefined) t.recoveredAt = now;
      if (a < t.replicas) t.recoveredAt = undefined;
    }
    const waiting = affected.filter((t) => t.recoveredAt === undefined).length;
    // Settled: every workload still waiting either is a StatefulSet whose pods wait for their failed node for ever,
    // or has every pod off the failed nodes and a replacement the scheduler cannot place; held for 15 s, nothing more will change.
    let settled = waiting > 0;
    if (settled) {
      const current = await readClusterPods(api);
      for (const [name, t] of tracks) {
        if (t.onFailed === 0 || t.recoveredAt !== undefined) continue;
        const mine = current.pods.filter((p) => current.owner.get(p.metadata.uid) === name);
        const there = mine.filter((p) => p.spec.nodeName && failed.has(p.spec.nodeName));
        const stuck = t.kind === 'StatefulSet' && there.length > 0 && there.every((p) => p.metadata.deletionTimestamp);
        const unplaceable = there.every((p) => p.metadata.deletionTimestamp) && mine.some((p) => unscheduledReason(p) !== undefined);
        if (!stuck && !unplaceable) settled = false;
      }
    }
    if (!settled) settledSince = undefined;
    else settledSince ??= now;
    const stuckOnly = settledSince !== undefined && (now - settledSince >= 15_000 || ![...tracks.values()].some((t) => t.onFailed > 0 && t.recoveredAt === undefined && t.kind !== 'StatefulSet'));
    const line = `${[...nodeTimes.values()].filter((x) => x.notReadyMs !== undefined).length}/${failed.size} nodes NotReady, ${[...nodeTimes.values()].filter((x) => x.taintedMs !== undefined).length}/${failed.size} tainted unreachable, ${affected.length - waiting}/${affected.length} workloads recovered`;
    if (line !== lastLine) options.onProgress?.(`faults (${scenario.name}): ${Math.round(now / 1000)} s: ${line}`);
    lastLine = line;
    if (waiting === 0 || stuckOnly || now > maxWait) break;
  }
  const end = Date.now() - t0;
  const after = await readClusterPods(api);
  const workloads: WorkloadRecovery[] = [];
  for (const [name, t] of [...tracks].sort(([a], [b]) => a.localeCompare(b))) {
    const w = after.workloads.get(name)?.live as LiveWorkload | undefined;
    const a = w ? available(t.kind, w) : 0;
    const downMs = t.downMs + (t.downSince !== undefined ? end - t.downSince : 0);
    const base = { workload: name, replicas: t.replicas, podsOnFailedNodes: t.onFailed, minAvailable: t.min, tolerationSeconds: t.toleration.seconds, tolerationSource: t.toleration.source, ...(downMs > 0 ? { downMs } : {}) };
    if (t.onFailed === 0 && a >= t.replicas) {
      workloads.push({ ...base, status: 'unaffected' });
      continue;
    }
    if (t.recoveredAt !== undefined) {
      const scaleBack = (production.nodeMonitorGracePeriodSeconds - timers.nodeMonitorGracePeriodSeconds + (t.toleration.source === 'default' ? production.defaultTolerationSeconds - timers.defaultTolerationSeconds : 0)) * 1000;
      workloads.push({ ...base, status: 'recovered', recoveredMs: t.recoveredAt, productionEstimateMs: t.recoveredAt + scaleBack });
      continue;
    }
    const reason = whyNotRecovered(name, t.kind, t.toleration, after.pods, after.owner, failed, end);
    const accepted = acceptedOutage(name, t, a, after.pods, after.owner, failed, options.exceptions ?? []);
    workloads.push({ ...base, status: a === 0 ? 'down' : 'degraded', reason, ...(accepted ? { accepted } : {}) });
  }
  const nodes = scenario.failedNodes.map((node) => ({ node, ...nodeTimes.get(node) }));
  return { name: scenario.name, failedNodes: scenario.failedNodes, nodes, workloads, skipped: skipped.sort(), ok: workloads.every((w) => w.status === 'unaffected' || w.status === 'recovered' || w.accepted !== undefined), durationMs: end };
}

/**
 * Whether a workload that did not recover still keeps the promise. A
 * StatefulSet never replaces a pod on an unreachable node (at most one pod
 * per identity), so one that kept at least one replica available throughout,
 * and whose missing replicas are exactly those waiting on failed nodes, keeps
 * running as `keelson verify` proves it would. An outage verify's exceptions
 * table accepts is accepted with its stated reason.
 *
 * @see https://kubernetes.io/docs/tasks/run-application/force-delete-stateful-set-pod/#statefulset-considerations
 */
function acceptedOutage(
  name: string,
  t: { readonly kind: string; readonly replicas: number; readonly min: number },
  availableNow: number,
  pods: readonly LivePod[],
  owner: ReadonlyMap<string, string>,
  failed: ReadonlySet<string>,
  exceptions: readonly AcceptedOutage[],
): string | undefined {
  const excepted = exceptions.find((e) => `${e.kind} ${e.namespace}/${e.name}` === name);
  if (excepted) return `keelson verify's stated exception: ${excepted.summary}`;
  if (t.kind !== 'StatefulSet' || t.min < 1) return undefined;
  const waiting = pods.filter((p) => owner.get(p.metadata.uid) === name && p.spec.nodeName && failed.has(p.spec.nodeName)).length;
  if (availableNow + waiting < t.replicas) return undefined;
  return `kept ${t.min} of ${t.replicas} replicas running; the ${waiting} on the failed nodes come back with them (a StatefulSet replaces no pod until its node confirms it gone)`;
}

function whyNotRecovered(name: string, kind: string, tol: { seconds: number; source: string }, pods: readonly LivePod[], owner: ReadonlyMap<string, string>, failed: ReadonlySet<string>, elapsedMs: number): string {
  const mine = pods.filter((p) => owner.get(p.metadata.uid) === name);
  const reasons: string[] = [];
  const stuck = mine.filter((p) => p.spec.nodeName && failed.has(p.spec.nodeName) && p.metadata.deletionTimestamp);
  if (kind === 'StatefulSet' && stuck.length > 0) {
    reasons.push(
      `${stuck.map((p) => `pod ${p.metadata.name} is Terminating on failed node ${p.spec.nodeName}`).join('; ')}: a StatefulSet creates no replacement until the node confirms the pod is gone (it never will while it is down); ` +
        'Kubernetes leaves this to an operator: delete the Node or taint it node.kubernetes.io/out-of-service (non-graceful node shutdown)',
    );
  }
  const bound = mine.filter((p) => p.spec.nodeName && failed.has(p.spec.nodeName) && !p.metadata.deletionTimestamp);
  if (bound.length > 0) {
    reasons.push(
      Number.isFinite(tol.seconds)
        ? `${bound.length} pod(s) still on the failed nodes: their unreachable toleration (${tol.seconds} s, ${tol.source === 'pod' ? 'their own' : 'the default'}) had not run out in ${Math.round(elapsedMs / 1000)} s`
        : `${bound.length} pod(s) stay on the failed nodes for ever: they tolerate node.kubernetes.io/unreachable without tolerationSeconds`,
    );
  }
  for (const p of mine) {
    const r = unscheduledReason(p);
    if (r && !reasons.includes(`replacement Pending: ${r}`)) reasons.push(`replacement Pending: ${r}`);
  }
  if (reasons.length === 0) reasons.push('its controller created no replacement in time');
  return reasons.join('; ');
}

/**
 * Brings failed nodes back (their kubelet stand-ins restart), then waits
 * until they are Ready and the pods left Terminating on them are gone. The
 * pods that stayed bound to them (DaemonSets' and any that tolerated the
 * outage) were marked not ready by the node-lifecycle controller; a
 * rebooted node restarts them, and kwok does not report them ready again,
 * so they are deleted for their controllers to recreate.
 */
export async function restoreNodes(api: ApiClient, power: NodePower, nodes: readonly string[], timeoutMs = 120_000): Promise<void> {
  await power.powerOn(nodes);
  const deadline = Date.now() + timeoutMs;
  const set = new Set(nodes);
  for (;;) {
    const live = await api.list<LiveNode>('/api/v1/nodes');
    const ready = live.filter((n) => set.has(n.metadata.name) && n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && !n.spec?.taints?.some((t) => t.key === UNREACHABLE));
    const pods = await api.list<LivePod>('/api/v1/pods');
    const stuck = pods.filter((p) => p.spec.nodeName && set.has(p.spec.nodeName) && p.metadata.deletionTimestamp);
    if (ready.length === set.size && stuck.length === 0) {
      const stale = pods.filter((p) => p.spec.nodeName && set.has(p.spec.nodeName) && (p.metadata.ownerReferences?.length ?? 0) > 0 && p.status?.phase === 'Running' && !p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      for (const p of stale) await api.delete(`/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}?gracePeriodSeconds=0`);
      return;
    }
    if (Date.now() > deadline) return;
    await sleep(1000);
  }
}
