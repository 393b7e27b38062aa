import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlPlaneOptionsFromIgnition, LocalControlPlane, SIMULATED_NODE_ANNOTATION } from '@keelson/control-plane';
import { KUBERNETES_RELEASES, type IgnitionV3_3 } from '@keelson/ignition';
import type { PlatformSpec } from '@keelson/platform-spec';
import { apiGroup, BUILT_IN_API_GROUPS, DesiredStateError, HelmTemplateError, renderDesiredState, SourceError, type DesiredState } from '@keelson/upstream';
import { FAULT_TOLERANCE_EXCEPTIONS, verifyPlatform } from '@keelson/verify';
import { ArgoSync, type SyncReport } from './argo-sync';
import { RehearsalInputError, requireRendered } from './errors';
import { PRODUCTION_TIMERS, REHEARSAL_TIMERS, restoreNodes, runFaultScenario, type FaultScenarioReport, type FaultTimers, type NodePower, type QuorumCount } from './faults';
import { nodeObject, simulatedFleet, type SimulatedNode } from './fleet';
import { ApiClient } from './internal/api';
import { rerenderWithClusterApiVersions, servedApiVersions } from './internal/capabilities';
import { KWOK_LEASE_DURATION_SECONDS, KwokFleet } from './internal/kwok';
import { StandInProvisioner, type VolumeOutcome } from './internal/provisioner';
import { sleep } from './internal/util';
import { rehearseDisruptions, type DisruptionReport } from './disruptions';
import { observeScheduling, type SchedulingReport } from './scheduling';

export interface RehearseOptions {
  /** The rendered GitOps folder (`charts-out/`). */
  readonly chartsDir: string;
  /** `infra-out/`: the node configs (the first controller's control-plane flags, each node's labels and taints) and the Terraform JSON (server types). */
  readonly infraDir: string;
  /** Also fail random sets of k nodes, drawn with this seed, after the worst case. @default - the worst case only */
  readonly seed?: number;
  /** How many random sets to draw with `seed`. @default 2 */
  readonly randomSets?: number;
  /** Leave the control plane and the simulated nodes running after the report (stop them with `stopKeptRehearsals`, or end the process). @default false */
  readonly keep?: boolean;
  /** A line per step, for a progress display. */
  readonly onProgress?: (line: string) => void;
  /** Run the fault phase. @default true */
  readonly faults?: boolean;
  /** Count every PodDisruptionBudget and drain one node through the eviction API. @default true */
  readonly disruptions?: boolean;
  /** The nodes to fail. @default - the worst case `keelson verify` names */
  readonly failNodes?: readonly string[];
  /** How long a wave may take to become healthy. @default 60000 */
  readonly waveHealthTimeoutMs?: number;
  /** How long to wait for every pod to be Running after the sync. @default 120000 */
  readonly schedulingTimeoutMs?: number;
}

/** A simulated node as registered. */
export interface NodeReport {
  readonly name: string;
  readonly role: SimulatedNode['role'];
  readonly size: string;
  readonly zone?: string;
  readonly cpuMillis: number;
  readonly memoryBytes: number;
  readonly pods: number;
  /** `key[=value]:Effect`. */
  readonly taints: readonly string[];
}

export interface RehearsalReport {
  /** No sync, scheduling, volume or fault failure. */
  readonly ok: boolean;
  readonly cluster: string;
  /** The control plane's version (the upstream peers). */
  readonly kubernetesVersion: string;
  /** The failure model and k, as `keelson verify` reads them from the node configs. */
  readonly failureModel?: { readonly model: string; readonly k: number; readonly description: string };
  /** The node-failure timers used, and production's. */
  readonly timers: { readonly rehearsal: FaultTimers; readonly production: FaultTimers };
  readonly nodes: readonly NodeReport[];
  /**
   * Helm Applications rendered again with the API versions the API server
   * serves, as Argo CD's repo server renders for its cluster, and what that
   * changed against the desired state `keelson verify` reads.
   */
  readonly rendering: { readonly applications: readonly string[]; readonly changes: readonly string[] };
  readonly sync: SyncReport;
  readonly scheduling?: SchedulingReport;
  /** Every PodDisruptionBudget as the disruption controller counts it, and one node drained through the eviction API. */
  readonly disruptions?: DisruptionReport;
  /** What the stand-in provisioner did with each PersistentVolumeClaim. */
  readonly volumes: readonly VolumeOutcome[];
  readonly faults: readonly FaultScenarioReport[];
  /** What stands in for something real, and how. */
  readonly simulated: readonly string[];
  /** What a rehearsal cannot show. */
  readonly limits: readonly string[];
  /** Every failure, one line each. */
  readonly failures: readonly string[];
  /** Milliseconds per phase. */
  readonly timings: { readonly controlPlaneMs: number; readonly nodesMs: number; readonly syncMs: number; readonly schedulingMs: number; readonly disruptionsMs: number; readonly faultsMs: number; readonly totalMs: number };
  /** With `keep`: where the control plane still runs. */
  readonly kept?: { readonly url: string; readonly kubeconfig: string };
}

/**
 * kubeadm's static pods on a controller and their CPU and memory requests
 * (kubeadm 1.36): the rehearsal places stand-ins so the scheduler counts them.
 */
const STATIC_POD_REQUESTS: ReadonlyArray<{ readonly component: string; readonly cpu: string; readonly memory?: string }> = [
  { component: 'etcd', cpu: '100m', memory: '100Mi' },
  { component: 'kube-apiserver', cpu: '250m' },
  { component: 'kube-controller-manager', cpu: '200m' },
  { component: 'kube-scheduler', cpu: '100m' },
];

const kept = new Map<string, { stop(): Promise<void>; power: NodePower }>();

/** Stops every control plane a `keep` rehearsal left running. */
export async function stopKeptRehearsals(): Promise<void> {
  const all = [...kept.values()];
  kept.clear();
  await Promise.all(all.map((k) => k.stop()));
}

/**
 * The power switch of a kept rehearsal's simulated nodes (by its
 * kubeconfig): what a drill's test uses as the cloud's power actions.
 */
export function keptNodePower(kubeconfig: string): NodePower | undefined {
  return kept.get(kubeconfig)?.power;
}

/** `mulberry32`: a small seeded PRNG, so `--seed N` picks the same nodes every time. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded random set of `k` nodes, other than `avoid` when another exists. */
export function seededNodes(nodes: readonly string[], k: number, seed: number, avoid: readonly string[] = []): string[] {
  const next = random(seed);
  const key = (s: readonly string[]) => [...s].sort().join(',');
  let pick: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    const pool = [...nodes];
    pick = [];
    while (pick.length < k && pool.length > 0) pick.push(pool.splice(Math.floor(next() * pool.length), 1)[0]);
    if (key(pick) !== key(avoid)) break;
  }
  return pick.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * Rehearses a rendered platform on a real Kubernetes control plane with
 * simulated nodes:
 *
 * 1. starts etcd, kube-apiserver, kube-controller-manager and
 *    kube-scheduler (the upstream peers) with the first controller's own
 *    flags and files (admission, encryption at rest, feature gates) read from
 *    its Ignition config, node-failure timers shortened (`REHEARSAL_TIMERS`);
 * 2. registers one node per topology node (labels, taints, allocatable CPU,
 *    memory and pods of its server type), each kept alive by its own kwok;
 * 3. syncs the desired state from the root Application down the way Argo CD
 *    would (`ArgoSync`);
 * 4. waits until the real scheduler has placed every pod and reports what
 *    stays Pending and why, and requested against allocatable per node;
 * 5. fails the worst-case nodes `keelson verify` names (and with `seed`, a
 *    random set) and measures how each Deployment and StatefulSet recovers.
 *
 * Everything it started is stopped at the end, on errors too, unless `keep`.
 */
export async function rehearse(spec: PlatformSpec, options: RehearseOptions): Promise<RehearsalReport> {
  const t0 = Date.now();
  const progress = (line: string) => options.onProgress?.(line);
  requireRendered('rehearse', options.chartsDir, options.infraDir, (what) => `the rehearsal reads ${what}`);
  if (options.seed !== undefined && (!Number.isInteger(options.seed) || options.seed < 0)) throw new RehearsalInputError(`rehearse: the seed must be a whole number of at least 0, got ${options.seed}`);
  const fleet = simulatedFleet(options.infraDir);
  const first = fleet.find((n) => n.role === 'controller');
  if (!first) throw new RehearsalInputError(`rehearse: ${options.infraDir} has no controller node`);
  let planeOptions: ReturnType<typeof controlPlaneOptionsFromIgnition>;
  try {
    planeOptions = controlPlaneOptionsFromIgnition(JSON.parse(readFileSync(join(options.infraDir, 'ignition', `${first.name}.ign`), 'utf8')) as IgnitionV3_3.Config);
  } catch (e) {
    throw new RehearsalInputError(`rehearse: the control plane's settings come from ${first.name}'s Ignition config: ${(e as Error).message}`);
  }
  let rendered: DesiredState;
  try {
    rendered = renderDesiredState({ dir: options.chartsDir, gitops: spec.config.gitops, kubeVersion: KUBERNETES_RELEASES[spec.config.versions.kubernetes] });
  } catch (e) {
    if (e instanceof DesiredStateError || e instanceof SourceError || e instanceof HelmTemplateError) throw new RehearsalInputError(`rehearse: the desired state cannot be rendered: ${e.message}`);
    throw e;
  }
  progress(`desired state: ${rendered.applications.length} Applications, ${rendered.objects.length} objects`);

  const timers = REHEARSAL_TIMERS;
  const planeStart = Date.now();
  const starting = LocalControlPlane.start({
    ...planeOptions,
    clusterName: planeOptions.clusterName ?? spec.config.cluster.name,
    controllerManagerExtraArgs: [
      ...(planeOptions.controllerManagerExtraArgs ?? []),
      { name: 'node-monitor-grace-period', value: `${timers.nodeMonitorGracePeriodSeconds}s` },
      { name: 'node-monitor-period', value: `${timers.nodeMonitorPeriodSeconds}s` },
    ],
    apiServerExtraArgs: [
      ...(planeOptions.apiServerExtraArgs ?? []),
      { name: 'default-not-ready-toleration-seconds', value: String(timers.defaultTolerationSeconds) },
      { name: 'default-unreachable-toleration-seconds', value: String(timers.defaultTolerationSeconds) },
    ],
  });
  progress('control plane: starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler');
  // The worst case, from verify's proof, while the control plane starts.
  let failureModel: RehearsalReport['failureModel'];
  let worst: readonly string[] = options.failNodes ?? [];
  let quorum: QuorumCount[] = [];
  try {
    if ((options.faults ?? true) && !options.failNodes) {
      const proof = verifyPlatform(spec, { chartsDir: options.chartsDir, infraDir: options.infraDir });
      if (proof.platform) {
        failureModel = { model: proof.platform.model, k: proof.platform.k, description: proof.platform.description };
        worst = proof.platform.worst.failedNodes;
        quorum = Object.entries(proof.platform.worst.units)
          // Quorum and copies: etcd, Ceph monitors and pools. Ceph managers and metadata servers restart elsewhere within their stated bound instead (verify proves it).
          .filter(([service, u]) => (service === 'etcd' || service.startsWith('Ceph')) && u.recoversWithinSeconds === undefined)
          .map(([service, u]) => ({ service, noun: u.noun, total: u.total, lost: u.lost, left: u.total - u.lost, need: u.need, ok: u.total - u.lost >= u.need }));
      }
    }
  } catch (e) {
    await starting.then((p) => p.stop()).catch(() => undefined);
    throw e;
  }
  const plane = await starting;
  const controlPlaneMs = Date.now() - planeStart;
  const version = ((await plane.request('GET', '/version')).body as { gitVersion?: string }).gitVersion ?? '?';
  progress(`control plane: ${version} ready at ${plane.url} in ${(controlPlaneMs / 1000).toFixed(1)} s`);
  const api = new ApiClient(plane.kubeconfig);
  const kwok = new KwokFleet(plane.kubeconfig, SIMULATED_NODE_ANNOTATION);
  const provisioner = new StandInProvisioner(api, rendered);
  const stopAll = async () => {
    provisioner.stop();
    await kwok.stop();
    api.close();
    await plane.stop();
  };
  let keepRunning = false;
  try {
    // Charts that ask for the cluster's API versions, rendered for this cluster as Argo CD would.
    const rerender = rerenderWithClusterApiVersions(rendered, await servedApiVersions(api), KUBERNETES_RELEASES[spec.config.versions.kubernetes]);
    const desired = rerender.desired;
    if (rerender.changes.length > 0) progress(`desired state: rendered ${rerender.applications.join(', ')} again with the API server's API versions: ${rerender.changes.join('; ')}`);
    // Nodes.
    const nodesStart = Date.now();
    for (const node of fleet) {
      const res = await api.create('/api/v1/nodes', nodeObject(node, SIMULATED_NODE_ANNOTATION));
      if (!res.ok) throw new Error(`rehearse: the API server refused node ${node.name}: ${res.message}`);
      kwok.start(node.name);
    }
    await waitNodesReady(api, kwok, fleet.map((n) => n.name));
    for (const node of fleet.filter((n) => n.role === 'controller')) {
      for (const s of STATIC_POD_REQUESTS) {
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `${s.component}-${node.name}`, namespace: 'kube-system', labels: { component: s.component, tier: 'control-plane' }, annotations: { 'keelson.dev/simulated': "a stand-in for kubeadm's static pod, for its requests" } },
          spec: {
            nodeName: node.name,
            priorityClassName: 'system-node-critical',
            tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
            containers: [{ name: s.component, image: `registry.k8s.io/${s.component}:${version}`, resources: { requests: { cpu: s.cpu, ...(s.memory ? { memory: s.memory } : {}) } } }],
          },
        };
        const res = await api.create('/api/v1/namespaces/kube-system/pods', pod);
        if (!res.ok) throw new Error(`rehearse: the API server refused the static pod stand-in ${pod.metadata.name}: ${res.message}`);
      }
    }
    const nodesMs = Date.now() - nodesStart;
    progress(`nodes: ${fleet.length} Ready (${fleet.map((n) => n.name).join(', ')}) in ${(nodesMs / 1000).toFixed(1)} s`);

    // Sync.
    provisioner.start();
    const syncStart = Date.now();
    const argo = new ArgoSync(api, desired, { onProgress: progress, ...(options.waveHealthTimeoutMs !== undefined ? { waveHealthTimeoutMs: options.waveHealthTimeoutMs } : {}) });
    const sync = await argo.run();
    const syncMs = Date.now() - syncStart;
    progress(`sync: ${sync.applications.filter((a) => a.status === 'Synced').length}/${sync.applications.length} Applications synced, ${sync.failures.length} failures, ${(syncMs / 1000).toFixed(1)} s`);

    // Scheduling.
    const schedulingStart = Date.now();
    const scheduling = await observeScheduling(api, fleet, { timeoutMs: options.schedulingTimeoutMs ?? 120_000, onProgress: progress });
    await provisioner.tick();
    await argo.refreshHealth(sync);
    const schedulingMs = Date.now() - schedulingStart;

    // Voluntary disruptions: budgets and one drain.
    const disruptionsStart = Date.now();
    let disruptions: DisruptionReport | undefined;
    if (options.disruptions ?? true) {
      const whole = await fullyAvailable(api);
      disruptions = await rehearseDisruptions(api, { onProgress: progress });
      if (disruptions.drain) {
        // The drained pods' replacements placed and available again; a workload that was never whole (its pods
        // cannot be placed) is not waited for: it was reported by the scheduling phase.
        await observeScheduling(api, fleet, { timeoutMs: 60_000, waitFor: whole, onProgress: progress });
        await waitAvailable(api, whole, 60_000);
      }
    }
    const disruptionsMs = Date.now() - disruptionsStart;

    // Faults.
    const faultsStart = Date.now();
    const faults: FaultScenarioReport[] = [];
    if ((options.faults ?? true) && worst.length > 0) {
      const scenario = await runFaultScenario(api, kwok, { name: 'worst case', failedNodes: worst }, { timers, exceptions: FAULT_TOLERANCE_EXCEPTIONS, onProgress: progress });
      faults.push(quorum.length > 0 ? { ...scenario, quorum, ok: scenario.ok && quorum.every((q) => q.ok) } : scenario);
      if (options.seed !== undefined) {
        const names = fleet.map((n) => n.name);
        let down: readonly string[] = worst;
        const drawn: string[][] = [];
        for (let i = 0; i < (options.randomSets ?? 2); i++) {
          // Each set is new: not the worst case, not one drawn before.
          const nodes = seededNodes(names, worst.length, options.seed + i, worst);
          if (drawn.some((d) => d.join() === nodes.join())) continue;
          drawn.push(nodes);
          progress(`faults: bringing ${down.join(', ')} back before the seeded scenario`);
          const back = Date.now();
          await restoreNodes(api, kwok, down);
          progress(`faults: ${down.join(', ')} Ready again after ${((Date.now() - back) / 1000).toFixed(1)} s`);
          await observeScheduling(api, fleet, { timeoutMs: options.schedulingTimeoutMs ?? 120_000, onProgress: progress });
          faults.push(await runFaultScenario(api, kwok, { name: `seed ${options.seed + i}`, failedNodes: nodes }, { timers, exceptions: FAULT_TOLERANCE_EXCEPTIONS, onProgress: progress }));
          down = nodes;
        }
      }
    }
    const faultsMs = Date.now() - faultsStart;

    const volumes = provisioner.results();
    const report = assemble({
      spec,
      version,
      failureModel,
      timers,
      fleet,
      desired,
      rendering: { applications: rerender.applications, changes: rerender.changes },
      sync,
      scheduling,
      ...(disruptions ? { disruptions } : {}),
      volumes,
      faults,
      faultsEnabled: (options.faults ?? true) && worst.length > 0,
      timings: { controlPlaneMs, nodesMs, syncMs, schedulingMs, disruptionsMs, faultsMs, totalMs: Date.now() - t0 },
    });
    if (options.keep) {
      keepRunning = true;
      kept.set(plane.kubeconfig, { stop: stopAll, power: kwok });
      return { ...report, kept: { url: plane.url, kubeconfig: plane.kubeconfig } };
    }
    return report;
  } finally {
    if (!keepRunning) await stopAll();
  }
}

/** The Deployments and StatefulSets with every replica available (minReadySeconds included). */
async function fullyAvailable(api: ApiClient): Promise<Set<string>> {
  type Workload = { kind?: string; metadata: { name: string; namespace: string }; spec?: { replicas?: number }; status?: { availableReplicas?: number } };
  const [deployments, statefulSets] = await Promise.all([api.list<Workload>('/apis/apps/v1/deployments'), api.list<Workload>('/apis/apps/v1/statefulsets')]);
  const whole = (kind: string, list: Workload[]) => list.filter((w) => (w.status?.availableReplicas ?? 0) >= (w.spec?.replicas ?? 1)).map((w) => `${kind} ${w.metadata.namespace}/${w.metadata.name}`);
  return new Set([...whole('Deployment', deployments), ...whole('StatefulSet', statefulSets)]);
}

/** Waits until every workload of `before` is whole again after the drain, so the fault phase starts from the same platform. */
async function waitAvailable(api: ApiClient, before: ReadonlySet<string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await fullyAvailable(api);
    if ([...before].every((w) => now.has(w)) || Date.now() > deadline) return;
    await sleep(1000);
  }
}

async function waitNodesReady(api: ApiClient, kwok: KwokFleet, names: readonly string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const n of names) {
      const crashed = kwok.crashed(n);
      if (crashed) throw new Error(`rehearse: ${crashed}`);
    }
    const nodes = await api.list<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }>('/api/v1/nodes');
    const ready = new Set(nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name));
    const missing = names.filter((n) => !ready.has(n));
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`rehearse: nodes not Ready within ${timeoutMs / 1000} s: ${missing.join(', ')}`);
    await sleep(250);
  }
}

interface Parts {
  readonly spec: PlatformSpec;
  readonly version: string;
  readonly failureModel: RehearsalReport['failureModel'];
  readonly timers: FaultTimers;
  readonly fleet: readonly SimulatedNode[];
  readonly desired: DesiredState;
  readonly rendering: RehearsalReport['rendering'];
  readonly sync: SyncReport;
  readonly scheduling: SchedulingReport;
  readonly disruptions?: DisruptionReport;
  readonly volumes: readonly VolumeOutcome[];
  readonly faults: readonly FaultScenarioReport[];
  readonly faultsEnabled: boolean;
  readonly timings: RehearsalReport['timings'];
}

function assemble(p: Parts): RehearsalReport {
  const failures: string[] = [];
  for (const f of p.sync.failures) failures.push(`sync: Application ${f.application}, ${f.phase === 'Sync' ? '' : `${f.phase} `}wave ${f.wave}, ${f.object}: ${f.stage} failed: ${f.message}`);
  for (const a of p.sync.applications) if (a.status === 'NotSynced') failures.push(`sync: Application ${a.name} was not synced: ${a.reason}`);
  for (const w of p.scheduling.workloads) {
    if (w.running < w.desired) failures.push(`scheduling: ${w.workload} has ${w.running}/${w.desired} pods Running${w.problems.length > 0 ? `: ${w.problems.join('; ')}` : ''}`);
  }
  failures.push(...(p.disruptions?.failures ?? []));
  for (const v of p.volumes) if (v.state === 'pending') failures.push(`volumes: PersistentVolumeClaim ${v.claim} stays Pending: ${v.detail}`);
  for (const s of p.faults) {
    for (const q of s.quorum ?? []) if (!q.ok) failures.push(`faults (${s.name}: ${s.failedNodes.join(', ')}): ${q.service} keeps ${q.left} of ${q.total} ${q.noun}, needs ${q.need}`);
    for (const w of s.workloads) if ((w.status === 'degraded' || w.status === 'down') && w.accepted === undefined) failures.push(`faults (${s.name}: ${s.failedNodes.join(', ')}): ${w.workload} is ${w.status} (${w.minAvailable} of ${w.replicas} available at worst): ${w.reason}`);
  }

  const custom = new Map<string, string[]>();
  for (const o of p.desired.objects) {
    const group = apiGroup(String(o.object.apiVersion ?? ''));
    if (BUILT_IN_API_GROUPS.has(group) || group === 'argoproj.io') continue;
    const kind = `${o.object.kind} (${group})`;
    custom.set(kind, [...(custom.get(kind) ?? []), `${o.namespace ? `${o.namespace}/` : ''}${o.object.metadata?.name}`]);
  }
  const awaiting = p.sync.applications.flatMap((a) => a.awaitingOperator);
  const webhooks = p.desired.objects.filter((o) => o.object.kind === 'ValidatingWebhookConfiguration' || o.object.kind === 'MutatingWebhookConfiguration');
  const bound = p.volumes.filter((v) => v.state === 'bound');
  const simulated = [
    `nodes: one kwok 0.8 process per node stands in for its kubelet (status, lease renewals every ${KWOK_LEASE_DURATION_SECONDS / 4} s, pods marked Running, Jobs' pods Completed); no container runs`,
    `controllers: stand-ins for kubeadm's static pods (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) hold their CPU and memory requests on each controller`,
    `Argo CD: not running; the rehearsal walks the app of apps as its application controller would. The first controller's bootstrap is replaced by applying Argo CD's namespace, its CRDs and the root Application`,
    ...(p.rendering.changes.length > 0
      ? [
          `rendering: ${p.rendering.applications.join(', ')} read .Capabilities.APIVersions and were rendered again with the API versions this API server serves, as Argo CD's repo server passes them (keelson verify's desired state passes only the CRDs'): ${p.rendering.changes.join('; ')}`,
        ]
      : []),
    `dry-run: server-side (admission and schema checked before anything is applied); Argo CD's own dry-run is client-side, so such a failure would surface at the apply of its wave instead`,
    ...(webhooks.length > 0 ? [`webhooks: ${webhooks.length} webhook configurations (${webhooks.map((w) => `${w.object.kind} ${w.object.metadata?.name}`).join(', ')}) are dry-run only: no webhook server runs, so objects they would check are checked by the API server alone`] : []),
    ...(bound.length > 0 ? [`volumes: ${bound.length} PersistentVolumeClaims bound by a stand-in provisioner, only for StorageClasses whose CSI driver is deployed: ${bound.map((b) => `${b.claim} (${b.storageClass})`).join(', ')}`] : []),
    ...(awaiting.length > 0 ? [`operators' CRDs: ${awaiting.length} custom resources skip the dry-run and wait for a CRD that an operator registers at run time (no object of the desired state creates it): ${awaiting.join(', ')}; Argo CD retries them until it exists; here they are not applied`] : []),
    `health: custom resources (an operator reports it) and Ingresses (the ingress controller publishes their address) count as Healthy once the API server accepts them`,
    `timers: kube-controller-manager --node-monitor-grace-period=${p.timers.nodeMonitorGracePeriodSeconds}s --node-monitor-period=${p.timers.nodeMonitorPeriodSeconds}s, kube-apiserver --default-(not-ready|unreachable)-toleration-seconds=${p.timers.defaultTolerationSeconds} (production: ${PRODUCTION_TIMERS.nodeMonitorGracePeriodSeconds}s, ${PRODUCTION_TIMERS.nodeMonitorPeriodSeconds}s, ${PRODUCTION_TIMERS.defaultTolerationSeconds}); recovery times are also given at production timers`,
  ];
  const limits = [
    `operators do not run: ${[...custom].map(([kind, names]) => `${kind} ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` (+${names.length - 3})` : ''}`).join('; ')} are validated and stored by the API server, but the pods they stand for (Ceph monitors, OSDs and managers, database instances, ...) do not exist and take no capacity; Ceph monitors and pool copies are counted from the rendered objects under the worst case (above), database failover is proven by keelson verify, not rehearsed`,
    'no container runs: images, probes, start-up time, the network (Cilium, NetworkPolicies), DNS and TLS are not exercised; recovery times exclude image pulls and start-up',
    'volumes: a ReadWriteOnce volume still attached to a failed node (force-detached after 6 minutes) is not simulated',
    "node memory is the server type's nominal size; the kernel keeps a little of it on a real node",
    'one node is drained through the eviction API (the one holding pods of the most PodDisruptionBudgets), not every node in turn as kured reboots them; every budget is counted by the real disruption controller',
    'etcd members, Ceph monitors and pool copies are counted from the rendered objects on the surviving nodes for the worst case (no operator runs); the seeded scenario rehearses the pods only',
    ...(p.faultsEnabled ? [] : ['no fault was rehearsed: no worst-case node set (fewer than 3 nodes, or faults turned off)']),
  ];
  const zone = (n: SimulatedNode) => n.labels['topology.kubernetes.io/zone'];
  return {
    ok: failures.length === 0,
    cluster: p.spec.config.cluster.name,
    kubernetesVersion: p.version,
    ...(p.failureModel ? { failureModel: p.failureModel } : {}),
    timers: { rehearsal: p.timers, production: PRODUCTION_TIMERS },
    nodes: p.fleet.map((n) => ({
      name: n.name,
      role: n.role,
      size: n.size,
      ...(zone(n) ? { zone: zone(n) } : {}),
      cpuMillis: n.allocatable.cpuMillis,
      memoryBytes: n.allocatable.memoryBytes,
      pods: n.allocatable.pods,
      taints: n.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`),
    })),
    rendering: p.rendering,
    sync: p.sync,
    scheduling: p.scheduling,
    ...(p.disruptions ? { disruptions: p.disruptions } : {}),
    volumes: p.volumes,
    faults: p.faults,
    simulated,
    limits,
    failures,
    timings: p.timings,
  };
}
