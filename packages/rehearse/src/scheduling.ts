import type { K8sObject } from '@keelson/upstream';
import { parseQuantity, type SimulatedNode } from './fleet';
import type { ApiClient } from './internal/api';
import { sleep } from './internal/util';

/** A pod as the rehearsal reads it. */
export type LivePod = K8sObject & {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }> };
  spec: {
    nodeName?: string;
    containers?: Array<{ resources?: { requests?: Record<string, string> } }>;
    initContainers?: Array<{ restartPolicy?: string; resources?: { requests?: Record<string, string> } }>;
    overhead?: Record<string, string>;
    tolerations?: Array<{ key?: string; operator?: string; effect?: string; tolerationSeconds?: number }>;
  };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
};

type LiveWorkload = K8sObject & {
  metadata: { name: string; namespace: string; uid: string; generation?: number; ownerReferences?: Array<{ kind: string; name: string }> };
  spec?: { replicas?: number };
  status?: Record<string, unknown> & { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
};

/** A workload's pods after the sync. */
export interface WorkloadPods {
  /** `Deployment nextcloud/nextcloud`. */
  readonly workload: string;
  readonly desired: number;
  readonly running: number;
  readonly pending: number;
  /** Why pods are missing or Pending: the scheduler's message, or the controller's when it could not create them. */
  readonly problems: readonly string[];
}

/** A pod the scheduler could not place. */
export interface PendingPod {
  /** `namespace/name`. */
  readonly pod: string;
  readonly workload: string;
  /** The PodScheduled condition's message, e.g. `0/6 nodes are available: 6 node(s) didn't match pod anti-affinity rules. ...`. */
  readonly reason: string;
}

/** What the pods placed on a node request, against what it offers. */
export interface NodeUsage {
  readonly node: string;
  readonly role: SimulatedNode['role'];
  readonly pods: number;
  readonly cpuRequestedMillis: number;
  readonly cpuAllocatableMillis: number;
  readonly memoryRequestedBytes: number;
  readonly memoryAllocatableBytes: number;
  readonly podsAllocatable: number;
}

export interface SchedulingReport {
  /** Every pod of every Deployment, StatefulSet and DaemonSet is Running. */
  readonly ok: boolean;
  /** How long it took, or the timeout. */
  readonly waitedMs: number;
  readonly pods: { readonly total: number; readonly running: number; readonly pending: number };
  readonly workloads: readonly WorkloadPods[];
  readonly pending: readonly PendingPod[];
  readonly nodes: readonly NodeUsage[];
}

const WORKLOAD_LISTS = [
  ['Deployment', '/apis/apps/v1/deployments'],
  ['StatefulSet', '/apis/apps/v1/statefulsets'],
  ['DaemonSet', '/apis/apps/v1/daemonsets'],
] as const;

/** The cluster's workloads and pods, with each pod's workload. */
export interface ClusterPods {
  readonly workloads: ReadonlyMap<string, { kind: string; live: LiveWorkload }>;
  readonly pods: readonly LivePod[];
  /** pod uid -> `Kind namespace/name` of its workload. */
  readonly owner: ReadonlyMap<string, string>;
}

/** Reads Deployments, StatefulSets, DaemonSets, ReplicaSets and pods, and ties each pod to its workload. */
export async function readClusterPods(api: ApiClient): Promise<ClusterPods> {
  const [lists, replicaSets, pods] = await Promise.all([
    Promise.all(WORKLOAD_LISTS.map(async ([kind, path]) => (await api.list<LiveWorkload>(path)).map((live) => ({ kind, live })))),
    api.list<LiveWorkload>('/apis/apps/v1/replicasets'),
    api.list<LivePod>('/api/v1/pods'),
  ]);
  const workloads = new Map<string, { kind: string; live: LiveWorkload }>();
  for (const w of lists.flat()) workloads.set(`${w.kind} ${w.live.metadata.namespace}/${w.live.metadata.name}`, w);
  const rsOwner = new Map<string, string>();
  for (const rs of replicaSets) {
    const d = rs.metadata.ownerReferences?.find((r) => r.kind === 'Deployment');
    if (d) rsOwner.set(`${rs.metadata.namespace}/${rs.metadata.name}`, `Deployment ${rs.metadata.namespace}/${d.name}`);
  }
  const owner = new Map<string, string>();
  for (const p of pods) {
    const ref = p.metadata.ownerReferences?.find((r) => r.controller) ?? p.metadata.ownerReferences?.[0];
    if (!ref) continue;
    if (ref.kind === 'ReplicaSet') {
      const d = rsOwner.get(`${p.metadata.namespace}/${ref.name}`);
      if (d) owner.set(p.metadata.uid, d);
    } else if (ref.kind === 'StatefulSet' || ref.kind === 'DaemonSet') owner.set(p.metadata.uid, `${ref.kind} ${p.metadata.namespace}/${ref.name}`);
  }
  return { workloads, pods, owner };
}

/** The number of pods a workload wants. */
export function desiredPods(kind: string, live: LiveWorkload): number {
  if (kind === 'DaemonSet') return typeof live.status?.desiredNumberScheduled === 'number' ? live.status.desiredNumberScheduled : 0;
  return live.spec?.replicas ?? 1;
}

export const isRunning = (p: LivePod) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Why the scheduler left a pod Pending (its PodScheduled condition). */
export function unscheduledReason(p: LivePod): string | undefined {
  if (p.spec.nodeName || p.metadata.deletionTimestamp) return undefined;
  const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
  if (c?.status === 'False') return c.message || c.reason || 'Unschedulable';
  return undefined;
}

/** What a pod requests, as the scheduler counts it: the larger of its containers' sum and its largest init container, plus overhead. */
export function podRequests(p: LivePod): { cpuMillis: number; memoryBytes: number } {
  const sum = (list: Array<{ resources?: { requests?: Record<string, string> } }> | undefined) =>
    (list ?? []).reduce((acc, c) => ({ cpuMillis: acc.cpuMillis + parseQuantity(c.resources?.requests?.cpu, 'millis'), memoryBytes: acc.memoryBytes + parseQuantity(c.resources?.requests?.memory, 'bytes') }), { cpuMillis: 0, memoryBytes: 0 });
  const containers = sum(p.spec.containers);
  // Sidecars (restartPolicy Always) run beside the containers; plain init containers run one at a time before them.
  const sidecars = sum((p.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'));
  const inits = (p.spec.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always').map((c) => sum([c]));
  const cpu = Math.max(containers.cpuMillis + sidecars.cpuMillis, ...inits.map((i) => i.cpuMillis + sidecars.cpuMillis));
  const memory = Math.max(containers.memoryBytes + sidecars.memoryBytes, ...inits.map((i) => i.memoryBytes + sidecars.memoryBytes));
  return { cpuMillis: cpu + parseQuantity(p.spec.overhead?.cpu, 'millis'), memoryBytes: memory + parseQuantity(p.spec.overhead?.memory, 'bytes') };
}

/** Requested against allocatable, per node, of the pods bound there and not finished. */
export function nodeUsage(fleet: readonly SimulatedNode[], pods: readonly LivePod[]): NodeUsage[] {
  return fleet.map((n) => {
    const here = pods.filter((p) => p.spec.nodeName === n.name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata.deletionTimestamp);
    const requested = here.map(podRequests).reduce((a, r) => ({ cpuMillis: a.cpuMillis + r.cpuMillis, memoryBytes: a.memoryBytes + r.memoryBytes }), { cpuMillis: 0, memoryBytes: 0 });
    return {
      node: n.name,
      role: n.role,
      pods: here.length,
      cpuRequestedMillis: requested.cpuMillis,
      cpuAllocatableMillis: n.allocatable.cpuMillis,
      memoryRequestedBytes: requested.memoryBytes,
      memoryAllocatableBytes: n.allocatable.memoryBytes,
      podsAllocatable: n.allocatable.pods,
    };
  });
}

/** Why a workload has fewer pods than it wants: the controller's own message (a ReplicaSet's ReplicaFailure, a FailedCreate event). */
async function creationProblems(api: ApiClient, kind: string, live: LiveWorkload, cluster: ClusterPods): Promise<string[]> {
  const ns = live.metadata.namespace;
  const out: string[] = [];
  if (kind === 'Deployment') {
    for (const rs of await api.list<LiveWorkload>(`/apis/apps/v1/namespaces/${ns}/replicasets`)) {
      if (!rs.metadata.ownerReferences?.some((r) => r.kind === 'Deployment' && r.name === live.metadata.name)) continue;
      const failure = rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
      if (failure?.message) out.push(failure.message);
    }
  }
  const events = await api.list<K8sObject & { reason?: string; message?: string; involvedObject?: { kind?: string; name?: string } }>(`/api/v1/namespaces/${ns}/events?fieldSelector=reason%3DFailedCreate`);
  for (const e of events) {
    const target = e.involvedObject?.name ?? '';
    const mine = e.involvedObject?.kind === kind ? target === live.metadata.name : e.involvedObject?.kind === 'ReplicaSet' && target.startsWith(`${live.metadata.name}-`);
    if (mine && e.message && !out.includes(e.message)) out.push(e.message);
  }
  if (out.length === 0 && kind === 'Deployment' && ![...cluster.owner.values()].includes(`Deployment ${ns}/${live.metadata.name}`)) out.push('no ReplicaSet has created pods yet');
  return out;
}

/**
 * Waits (up to `timeoutMs`) until every pod of every Deployment,
 * StatefulSet and DaemonSet is scheduled and Running on the simulated
 * nodes, then reports the Pending ones with the scheduler's reason, the
 * workloads whose controller could not create pods (with its message), and
 * requested against allocatable resources per node.
 */
export async function observeScheduling(
  api: ApiClient,
  fleet: readonly SimulatedNode[],
  options: {
    readonly timeoutMs?: number;
    readonly onProgress?: (line: string) => void;
    /** Wait only until these workloads (`Kind namespace/name`) have every pod Running; the report still covers every workload. @default - every workload */
    readonly waitFor?: ReadonlySet<string>;
  } = {},
): Promise<SchedulingReport> {
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 120_000);
  let cluster = await readClusterPods(api);
  let lastLine = '';
  for (;;) {
    const short = [...cluster.workloads].filter(([name, w]) => {
      const running = cluster.pods.filter((p) => cluster.owner.get(p.metadata.uid) === name && isRunning(p)).length;
      const generation = w.live.metadata.generation ?? 0;
      const observed = typeof w.live.status?.observedGeneration === 'number' ? w.live.status.observedGeneration : -1;
      return observed < generation || running < desiredPods(w.kind, w.live);
    });
    const line = `scheduling: ${cluster.workloads.size - short.length}/${cluster.workloads.size} workloads have every pod Running`;
    if (line !== lastLine) options.onProgress?.(line);
    lastLine = line;
    // Pods the scheduler has given up on for now do not become Running by waiting longer than the deadline.
    const waitedFor = options.waitFor ? short.filter(([name]) => options.waitFor?.has(name)) : short;
    if (waitedFor.length === 0 || Date.now() > deadline) break;
    await sleep(1000);
    cluster = await readClusterPods(api);
  }
  const workloads: WorkloadPods[] = [];
  const pending: PendingPod[] = [];
  for (const [name, w] of [...cluster.workloads].sort(([a], [b]) => a.localeCompare(b))) {
    const mine = cluster.pods.filter((p) => cluster.owner.get(p.metadata.uid) === name && !p.metadata.deletionTimestamp);
    const running = mine.filter(isRunning).length;
    const problems: string[] = [];
    let waiting = 0;
    for (const p of mine) {
      const reason = unscheduledReason(p);
      if (reason) {
        waiting++;
        pending.push({ pod: `${p.metadata.namespace}/${p.metadata.name}`, workload: name, reason });
        if (!problems.includes(reason)) problems.push(reason);
      }
    }
    const desired = desiredPods(w.kind, w.live);
    if (mine.length < desired) problems.push(...(await creationProblems(api, w.kind, w.live, cluster)));
    workloads.push({ workload: name, desired, running, pending: waiting, problems });
  }
  const owned = cluster.pods.filter((p) => cluster.owner.has(p.metadata.uid) && !p.metadata.deletionTimestamp);
  const runningPods = owned.filter(isRunning).length;
  return {
    ok: workloads.every((w) => w.running >= w.desired),
    waitedMs: Date.now() - started,
    pods: { total: owned.length, running: runningPods, pending: owned.filter((p) => !p.spec.nodeName).length },
    workloads,
    pending,
    nodes: nodeUsage(fleet, cluster.pods),
  };
}
