import { RECOVERY } from '@keelson/platform-spec';
import { FAULT_TOLERANCE_EXCEPTIONS } from './exceptions';
import { HOSTNAME_LABEL, ZONE_LABEL } from './rendered';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type K8sObject, type Loose, type Manifest, type NodeInfo, type ReportRow } from './types';

/**
 * Annotation a layer sets on a single-replica workload to state how many
 * seconds it may be down after its node fails, e.g. `"90"`; without it the
 * platform's bound (platform-spec's RECOVERY.boundSeconds) applies.
 */
export const RECOVERY_BOUND_ANNOTATION = RECOVERY.annotation;

const UNREACHABLE = 'node.kubernetes.io/unreachable';
const NOT_READY = 'node.kubernetes.io/not-ready';

/** What the platform promises to survive, read from the node configs. */
export interface FailureModel {
  readonly model: 'any-third' | 'failure-domains';
  /** Most nodes that fail at once. */
  readonly k: number;
  /** Every set of nodes that may fail together: all k-subsets, or each failure domain. */
  readonly scenarios: readonly (readonly string[])[];
  readonly description: string;
}

/** Where the proof assumes a service's units run in its worst case: node -> count. */
export type Placement = Readonly<Record<string, number>>;

/** One service of the proof, evaluated against every scenario. */
export interface ServiceProof {
  readonly name: string;
  readonly file: string;
  readonly ok: boolean;
  /** The worst case in one line. */
  readonly detail: string;
  /** The failed nodes that cause the worst case. */
  readonly failedNodes: readonly string[];
  /** Where units sit in that worst case (for the picture). */
  readonly placement: Placement;
  /** Why it fails, when it does. */
  readonly problems: readonly string[];
}

export interface FaultToleranceResult {
  readonly check: CheckResult;
  readonly model: FailureModel;
  readonly services: readonly ServiceProof[];
  /**
   * The platform's worst case, for the picture: the scenario that breaks the
   * most services (else takes the most units), and where every service's
   * units sit in it.
   */
  readonly worst: {
    readonly failedNodes: readonly string[];
    readonly placements: Readonly<Record<string, Placement>>;
    /** Services down in this scenario with no stated recovery bound (failures of the proof). */
    readonly broken: readonly string[];
    /** Services down in this scenario that come back within their stated bound (singletons, Ceph managers, MDS). */
    readonly recovering: readonly string[];
    /** Each service's units in this scenario: how many, how many the failed nodes take, how many must stay (etcd's and the Ceph monitors' quorum, a pool's min_size). */
    readonly units: Readonly<Record<string, { readonly total: number; readonly lost: number; readonly need: number; readonly noun: string; readonly recoversWithinSeconds?: number }>>;
  };
}

/** Every k-subset of `items`, in order. */
export function combinations<T>(items: readonly T[], k: number): T[][] {
  const out: T[][] = [];
  const pick = (start: number, chosen: T[]) => {
    if (chosen.length === k) return void out.push([...chosen]);
    for (let i = start; i <= items.length - (k - chosen.length); i++) pick(i + 1, [...chosen, items[i]]);
  };
  pick(0, []);
  return out;
}

/**
 * The failure model, from the nodes' `topology.kubernetes.io/zone` labels:
 * several zones mean the failure-domains promise (any one zone fails),
 * otherwise any `k = floor(N/3)` nodes fail.
 */
export function failureModel(nodes: readonly NodeInfo[]): FailureModel {
  const zones = new Map<string, string[]>();
  for (const n of nodes) zones.set(n.labels[ZONE_LABEL] ?? '', [...(zones.get(n.labels[ZONE_LABEL] ?? '') ?? []), n.name]);
  if (zones.size > 1 && !zones.has('')) {
    const scenarios = [...zones.values()];
    const k = Math.max(...scenarios.map((s) => s.length));
    return { model: 'failure-domains', k, scenarios, description: `any one of ${zones.size} failure domains (${[...zones.keys()].join(', ')}) fails: up to ${k} of ${nodes.length} nodes` };
  }
  const k = Math.floor(nodes.length / 3);
  return {
    model: 'any-third',
    k,
    scenarios: combinations(nodes.map((n) => n.name), k),
    description: `any ${k} of ${nodes.length} nodes fail at once (k = floor(${nodes.length}/3)); all ${combinations(nodes.map((n) => n.name), k).length} choices checked`,
  };
}

// ---------------------------------------------------------------------------
// Units and how many a failure takes

/** How units of a service spread: at most `perDomain` per value of `key` (none: all may share one node). */
interface Spread {
  readonly key: string;
  readonly perDomain: number;
  readonly why: string;
}

/** A service's units, kept to evaluate every service under one scenario. */
const UNITS = new WeakMap<ServiceProof, Units>();

interface Units {
  readonly total: number;
  /** Nodes the units may run on. */
  readonly eligible: readonly NodeInfo[];
  /** `fixed`: the units are on exactly these nodes (etcd members); else the scheduler places them within `spread`. */
  readonly fixed?: readonly string[];
  readonly daemon?: boolean;
  readonly spread?: Spread;
  /** Further spreads the scheduler enforces at once (a hostname and a zone rule): each bounds the loss, so the tightest bound holds. */
  readonly alsoSpread?: readonly Spread[];
  /** Units that must survive. */
  readonly need: number;
  /**
   * Stateful daemons that restart elsewhere (Ceph managers, metadata
   * servers): when a failure can take them all, the service passes only if
   * they come back within this stated bound.
   */
  readonly recovery?: Recovery;
  readonly noun: string;
  readonly needWhy: string;
}

const domainOf = (node: NodeInfo, key: string) => node.labels[key] ?? (key === HOSTNAME_LABEL ? node.name : '');

/** Most units a failure of `failed` can take, with the scheduler's placement chosen adversarially. */
function lost(units: Units, failed: ReadonlySet<string>): number {
  if (units.fixed) return units.fixed.filter((n) => failed.has(n)).length;
  const hit = units.eligible.filter((n) => failed.has(n.name));
  if (units.daemon) return hit.length;
  if (hit.length === 0) return 0;
  if (!units.spread) return units.total;
  let most = units.total;
  for (const spread of [units.spread, ...(units.alsoSpread ?? [])]) {
    most = Math.min(most, new Set(hit.map((n) => domainOf(n, spread.key))).size * spread.perDomain);
  }
  return most;
}

/** The worst-case placement: lost units on the failed nodes, the rest on the survivors. */
function place(units: Units, failed: ReadonlySet<string>, lostUnits: number): Placement {
  const placement: Record<string, number> = {};
  const add = (n: string, c = 1) => (placement[n] = (placement[n] ?? 0) + c);
  if (units.fixed) {
    units.fixed.forEach((n) => add(n));
    return placement;
  }
  if (units.daemon) {
    units.eligible.forEach((n) => add(n.name));
    return placement;
  }
  const down = units.eligible.filter((n) => failed.has(n.name));
  const up = units.eligible.filter((n) => !failed.has(n.name));
  let left = lostUnits;
  for (let i = 0; left > 0 && down.length > 0; i++, left--) add(down[i % down.length].name);
  left = units.total - lostUnits;
  for (let i = 0; left > 0 && up.length > 0; i++, left--) add(up[i % up.length].name);
  return placement;
}

/** Evaluates `units` against every scenario; the worst is the one that leaves the fewest units. */
function prove(name: string, file: string, units: Units, model: FailureModel, problems: string[] = [], extra = ''): ServiceProof {
  const proof = proveUnits(name, file, units, model, problems, extra);
  UNITS.set(proof, units);
  return proof;
}

function proveUnits(name: string, file: string, units: Units, model: FailureModel, problems: string[], extra: string): ServiceProof {
  if (units.eligible.length === 0 && !units.fixed) {
    return { name, file, ok: false, detail: 'no node can run it', failedNodes: [], placement: {}, problems: [...problems, `no node matches its node selector or affinity, or tolerates the nodes' taints`] };
  }
  if (!units.fixed && !units.daemon && units.spread) {
    const domains = new Set(units.eligible.map((n) => domainOf(n, units.spread!.key))).size;
    if (domains * units.spread.perDomain < units.total) {
      problems.push(`${units.total} ${units.noun} cannot be placed: ${units.spread.why} allows ${domains * units.spread.perDomain} on the ${units.eligible.length} eligible nodes`);
    }
  }
  let worst = { lost: -1, failed: [] as readonly string[] };
  for (const scenario of model.scenarios) {
    const l = lost(units, new Set(scenario));
    if (l > worst.lost) worst = { lost: l, failed: scenario };
  }
  const left = units.total - worst.lost;
  if (left < units.need && units.recovery) {
    const detail = `${units.total} ${units.noun}${extra}; worst case loses ${worst.lost}, back on other nodes within ${units.recovery.seconds}s (${units.recovery.how})`;
    if (units.recovery.problem) problems.push(units.recovery.problem);
    return { name, file, ok: problems.length === 0, detail, failedNodes: worst.failed, placement: place(units, new Set(worst.failed), worst.lost), problems };
  }
  if (left < units.need) {
    problems.push(
      `losing ${worst.failed.join(', ') || 'no node'} takes ${worst.lost} of ${units.total} ${units.noun}${units.spread ? ` (${units.spread.why})` : units.fixed || units.daemon ? '' : ' (nothing keeps replicas on different nodes: all may share one node)'}, leaving ${left}; ${units.needWhy}`,
    );
  }
  const detail = `${units.total} ${units.noun}${extra}; worst case loses ${worst.lost}, ${left} left (needs ${units.need})`;
  return { name, file, ok: problems.length === 0, detail, failedNodes: worst.failed, placement: place(units, new Set(worst.failed), worst.lost), problems };
}

// ---------------------------------------------------------------------------
// Reading pods: eligibility, spread, PDBs, recovery bounds

interface PodShape {
  readonly labels?: Record<string, string>;
  readonly affinity?: unknown;
  readonly topologySpreadConstraints?: unknown;
  readonly nodeSelector?: unknown;
  readonly tolerations?: unknown;
}

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** A node's taints from its kubeadm registration (kubeadm taints control-plane nodes when none are given). */
function taintsOf(node: NodeInfo): Taint[] {
  const reg = node.kubeadm.map((d) => (d.kind === 'InitConfiguration' || d.kind === 'JoinConfiguration' ? d.nodeRegistration : undefined)).find(isRecord);
  if (reg && Array.isArray(reg.taints)) return reg.taints as Taint[];
  return node.role === 'controller' ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] : [];
}

function tolerates(tolerations: unknown, taint: Taint): boolean {
  return asArray<Record<string, unknown>>(tolerations).some(
    (t) =>
      (t.effect === undefined || t.effect === '' || t.effect === taint.effect) &&
      ((t.operator === 'Exists' && (t.key === undefined || t.key === '' || t.key === taint.key)) || (t.key === taint.key && (t.value ?? '') === (taint.value ?? ''))),
  );
}

function matchExpression(labels: Record<string, string>, e: Record<string, unknown>): boolean {
  const v = labels[String(e.key)];
  const values = asArray<string>(e.values).map(String);
  switch (e.operator) {
    case 'In':
      return v !== undefined && values.includes(v);
    case 'NotIn':
      return v === undefined || !values.includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    default:
      return false;
  }
}

/** Whether a label selector (`matchLabels` + `matchExpressions`) selects `labels`. */
export function selects(selector: unknown, labels: Record<string, string>): boolean {
  if (!isRecord(selector)) return false;
  const ml = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  const me = asArray<Record<string, unknown>>(selector.matchExpressions);
  if (Object.keys(ml).length === 0 && me.length === 0) return false;
  return Object.entries(ml).every(([k, v]) => labels[k] === v) && me.every((e) => matchExpression(labels, e));
}

function eligibleNodes(pod: PodShape, nodes: readonly NodeInfo[]): NodeInfo[] {
  const sel = isRecord(pod.nodeSelector) ? pod.nodeSelector : {};
  const terms = asArray<Record<string, unknown>>((pod.affinity as Loose)?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms);
  return nodes.filter(
    (n) =>
      Object.entries(sel).every(([k, v]) => n.labels[k] === v) &&
      (terms.length === 0 || terms.some((t) => asArray<Record<string, unknown>>(t.matchExpressions).every((e) => matchExpression(n.labels, e)))) &&
      taintsOf(n).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute').every((t) => tolerates(pod.tolerations, t)),
  );
}

/**
 * The tightest spread the pod's scheduling rules enforce: a required pod
 * anti-affinity selecting its own pods (one per topology domain), or a
 * `DoNotSchedule` topology spread constraint (at most `(r + maxSkew*(D-1))/D` per domain).
 * Upstream charts are judged the same way, on the pod labels their rendered objects carry.
 */
function spreadOf(pod: PodShape, replicas: number, eligible: readonly NodeInfo[]): Spread | undefined {
  return spreadsOf(pod, replicas, eligible)[0];
}

/** Every spread the pod's scheduling rules enforce, tightest first. */
function spreadsOf(pod: PodShape, replicas: number, eligible: readonly NodeInfo[]): Spread[] {
  const labels = pod.labels ?? {};
  const candidates: Spread[] = [];
  for (const term of asArray<Record<string, unknown>>((pod.affinity as Loose)?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution)) {
    if (typeof term.topologyKey === 'string' && selects(term.labelSelector, labels)) {
      candidates.push({ key: term.topologyKey, perDomain: 1, why: `required anti-affinity on ${term.topologyKey}` });
    }
  }
  for (const c of asArray<Record<string, unknown>>(pod.topologySpreadConstraints)) {
    if (c.whenUnsatisfiable !== 'DoNotSchedule' || typeof c.topologyKey !== 'string' || !selects(c.labelSelector, labels)) continue;
    const skew = typeof c.maxSkew === 'number' ? c.maxSkew : 1;
    const d = new Set(eligible.map((n) => domainOf(n, c.topologyKey as string))).size;
    candidates.push({ key: c.topologyKey, perDomain: Math.max(1, Math.floor((replicas + skew * (d - 1)) / Math.max(d, 1))), why: `topology spread on ${c.topologyKey} with maxSkew ${skew} (DoNotSchedule)` });
  }
  // The one that lets a single node hold the fewest replicas first.
  return candidates.sort((a, b) => a.perDomain - b.perDomain || (a.key === HOSTNAME_LABEL ? -1 : 1));
}

/** How a singleton comes back after its node fails: the timeouts that add up, against the stated bound. */
interface Recovery {
  /** Seconds until it serves on another node: grace period + toleration + start allowance. */
  readonly seconds: number;
  readonly how: string;
  /** Set when `seconds` is over the stated bound. */
  readonly problem?: string;
}

/** The node controller's grace period, in seconds, and where it was read. */
type Grace = { readonly seconds: number; readonly source: string };

/**
 * kube-controller-manager's `--node-monitor-grace-period` in seconds, from
 * the kubeadm ClusterConfiguration the controllers carry; Kubernetes'
 * default when no controller sets it.
 */
export function nodeMonitorGraceSeconds(nodes: readonly NodeInfo[]): Grace {
  for (const n of nodes) {
    for (const d of n.kubeadm) {
      if (d.kind !== 'ClusterConfiguration') continue;
      const args = (d as Loose).controllerManager?.extraArgs;
      const value = Array.isArray(args) ? args.find((a: Loose) => a?.name === 'node-monitor-grace-period')?.value : isRecord(args) ? args['node-monitor-grace-period'] : undefined;
      if (value === undefined) continue;
      const seconds = goDurationSeconds(String(value));
      if (seconds !== undefined) return { seconds, source: `--node-monitor-grace-period=${String(value)} (${n.name})` };
    }
  }
  return { seconds: RECOVERY.nodeMonitorGracePeriodSeconds, source: 'the --node-monitor-grace-period default' };
}

/** A Go duration (`40s`, `1m30s`, `500ms`) in seconds; undefined when it is not one. */
function goDurationSeconds(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(text)) return undefined;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  for (const [, n, , u] of text.matchAll(/(\d+(\.\d+)?)(h|ms|m|s)/g)) total += Number(n) * unit[u];
  return total;
}

/**
 * How long a singleton is down after its node dies, from the rendered
 * timeouts: the node controller's grace period before it taints the node,
 * the pod's `unreachable`/`not-ready` toleration (DefaultTolerationSeconds'
 * 300 s when it has none), and the start allowance; checked against the
 * bound the workload states (its annotation) or the platform's. Undefined
 * when the workload neither tolerates the taints nor states a bound: it
 * makes no recovery promise at all.
 */
function recoveryBound(annotations: Record<string, string> | undefined, tolerations: unknown, grace: Grace): Recovery | undefined {
  const stated = annotations?.[RECOVERY_BOUND_ANNOTATION];
  const seconds = (key: string) => asArray<Record<string, unknown>>(tolerations).find((t) => (t.key === key || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === 'NoExecute') && typeof t.tolerationSeconds === 'number')?.tolerationSeconds as number | undefined;
  const u = seconds(UNREACHABLE);
  const r = seconds(NOT_READY);
  if (stated === undefined && (u === undefined || r === undefined)) return undefined;
  const toleration = Math.max(u ?? RECOVERY.defaultTolerationSeconds, r ?? RECOVERY.defaultTolerationSeconds);
  const tolerationWhy = u !== undefined && r !== undefined ? 'unreachable/not-ready tolerationSeconds' : `the ${RECOVERY.defaultTolerationSeconds} s DefaultTolerationSeconds gives a pod that does not tolerate ${u === undefined ? UNREACHABLE : NOT_READY}`;
  const total = grace.seconds + toleration + RECOVERY.startAllowanceSeconds;
  const bound = stated !== undefined && /^\d+$/.test(stated) ? { seconds: Number(stated), why: `its ${RECOVERY_BOUND_ANNOTATION} annotation` } : { seconds: RECOVERY.boundSeconds, why: "the platform's recovery bound" };
  const sum = `${grace.seconds} s (${grace.source}) + ${toleration} s (${tolerationWhy}) + ${RECOVERY.startAllowanceSeconds} s (start allowance) = ${total} s`;
  const room = bound.seconds - grace.seconds - RECOVERY.startAllowanceSeconds;
  return {
    seconds: total,
    how: `${grace.seconds} s grace + ${toleration} s toleration + ${RECOVERY.startAllowanceSeconds} s start, bound ${bound.seconds} s`,
    ...(total > bound.seconds
      ? {
          problem:
            `it comes back after ${sum}, over ${bound.why} of ${bound.seconds} s: ` +
            (room >= 0 ? `give it ${UNREACHABLE} and ${NOT_READY} tolerations with tolerationSeconds of at most ${room}` : `the grace period alone leaves no room; lower --node-monitor-grace-period or state a larger bound`),
        }
      : {}),
  };
}

/** Problems with a PDB for a multi-replica workload: none, or one that blocks every drain. */
function pdbProblems(pdbs: readonly K8sObject[], labels: Record<string, string>, replicas: number): string[] {
  const mine = pdbs.filter((p) => selects(p.spec?.selector, labels));
  if (mine.length === 0) return ['no PodDisruptionBudget selects its pods: a drain may evict every replica at once; add one with maxUnavailable: 1'];
  const allowed = (p: K8sObject) => {
    const pct = (v: unknown, round: (x: number) => number) => (typeof v === 'string' && v.endsWith('%') ? round((Number(v.slice(0, -1)) / 100) * replicas) : Number(v));
    if (p.spec?.maxUnavailable !== undefined) return pct(p.spec.maxUnavailable, Math.ceil);
    if (p.spec?.minAvailable !== undefined) return replicas - pct(p.spec.minAvailable, Math.ceil);
    return 1;
  };
  return mine.filter((p) => allowed(p) < 1).map((p) => `${describe(p)} allows no disruption of ${replicas} replicas: node drains would never finish; use maxUnavailable: 1`);
}

/** Why a singleton's data could not follow it to another node (hostPath, a ReadWriteOnce claim); empty when it can. */
function storageProblems(podSpec: Loose, claimTemplates: unknown, namespace: string, pvcs: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const rwx = (modes: unknown) => asArray<string>(modes).includes('ReadWriteMany');
  for (const v of asArray<Record<string, Loose>>(podSpec?.volumes)) {
    if (v.hostPath) problems.push(`volume ${v.name} is a hostPath: its data stays on the failed node`);
    const claim = v.persistentVolumeClaim?.claimName;
    if (claim) {
      const pvc = pvcs.find((p) => p.metadata?.name === claim && (p.metadata?.namespace ?? namespace) === namespace);
      if (!pvc) problems.push(`volume ${v.name} uses claim ${claim}, which is not rendered: cannot tell whether another node can mount it`);
      else if (!rwx(pvc.spec?.accessModes)) problems.push(`claim ${claim} is ${asArray(pvc.spec?.accessModes).join(', ') || 'without accessModes'}, not ReadWriteMany: another node may not mount it while the failed node holds it`);
    }
  }
  for (const t of asArray<K8sObject>(claimTemplates)) {
    if (!rwx(t.spec?.accessModes)) problems.push(`volumeClaimTemplate ${t.metadata?.name} is ${asArray(t.spec?.accessModes).join(', ') || 'without accessModes'}, not ReadWriteMany`);
  }
  return problems;
}

// ---------------------------------------------------------------------------
// The services

interface WorkloadInput {
  readonly name: string;
  readonly kind: string;
  readonly file: string;
  readonly namespace: string;
  readonly replicas: number | 'daemon';
  readonly pod: PodShape;
  /** PDB problems for multi-replica workloads (already decided for charts). */
  readonly pdb: (replicas: number) => string[];
  readonly annotations?: Record<string, string>;
  readonly storage: string[];
}

function proveWorkload(w: WorkloadInput, nodes: readonly NodeInfo[], model: FailureModel, grace: Grace): ServiceProof | undefined {
  const eligible = eligibleNodes(w.pod, nodes);
  if (w.replicas === 'daemon') {
    return prove(w.name, w.file, { total: eligible.length, eligible, daemon: true, need: 1, noun: 'pods (one per node)', needWhy: 'a DaemonSet needs one node left' }, model);
  }
  if (w.replicas === 0) return undefined;
  if (w.replicas === 1 && w.kind === 'StatefulSet') return proveStatefulSingleton(w, eligible);
  if (w.replicas === 1) {
    const bound = recoveryBound(w.annotations, w.pod.tolerations, grace);
    const problems = [...w.storage, ...(bound?.problem ? [bound.problem] : [])];
    if (!bound) {
      problems.push(`a single replica with no recovery bound: add ${UNREACHABLE} and ${NOT_READY} tolerations with tolerationSeconds, or the ${RECOVERY_BOUND_ANNOTATION} annotation, or run ${model.k + 1} replicas`);
    }
    const node = eligible[0]?.name;
    const proof: ServiceProof = {
      name: w.name,
      file: w.file,
      ok: problems.length === 0 && eligible.length > 0,
      detail: `singleton: down while its node is, back on another node within ${bound ? `${bound.seconds}s (${bound.how})` : 'no stated bound'}`,
      failedNodes: node ? [node] : [],
      placement: node ? { [node]: 1 } : {},
      problems: eligible.length > 0 ? problems : [...problems, 'no node can run it'],
    };
    UNITS.set(proof, { total: 1, eligible, spread: { key: HOSTNAME_LABEL, perDomain: 1, why: 'one replica' }, need: 1, noun: 'replica', needWhy: '' });
    return proof;
  }
  const [spread, ...alsoSpread] = spreadsOf(w.pod, w.replicas, eligible);
  const proof = prove(w.name, w.file, { total: w.replicas, eligible, spread, alsoSpread, need: 1, noun: 'replicas', needWhy: spreadAdvice(model, 'replicas') }, model, w.pdb(w.replicas));
  const excepted = faultException(w);
  if (proof.ok || !excepted) return proof;
  // Stated in the exceptions table: reported, not failed.
  const accepted: ServiceProof = { ...proof, ok: true, problems: [], detail: `${proof.detail} (accepted: ${excepted.summary})` };
  const units = UNITS.get(proof);
  if (units) UNITS.set(accepted, units);
  return accepted;
}

/** The exceptions table's entry for a workload as rendered (same kind, name and replicas). */
function faultException(w: WorkloadInput) {
  return FAULT_TOLERANCE_EXCEPTIONS.find((e) => e.kind === w.kind && e.namespace === w.namespace && `${w.kind} ${e.namespace}/${e.name}` === w.name && e.replicas === w.replicas);
}

/**
 * A StatefulSet's only pod on a failed node is evicted but never replaced:
 * the StatefulSet controller creates no pod of the same identity until the
 * node confirms the old one is gone, and an unreachable node never does
 * (until it is back, deleted, or tainted out-of-service). Its tolerations
 * bound nothing, so it is down for as long as its node is, unless the
 * exceptions table accepts that with a reason.
 *
 * @see https://kubernetes.io/docs/tasks/run-application/force-delete-stateful-set-pod/#statefulset-considerations
 * @see https://kubernetes.io/docs/concepts/cluster-administration/node-shutdown/#non-graceful-node-shutdown
 */
function proveStatefulSingleton(w: WorkloadInput, eligible: readonly NodeInfo[]): ServiceProof {
  const excepted = faultException(w);
  const problems = excepted
    ? []
    : [
        'a StatefulSet with one replica: its pod on a failed node is not replaced until the node is back (Kubernetes keeps at most one pod per StatefulSet identity), so it is down for as long as its node is, whatever its tolerations say; ' +
          'run it as a Deployment with unreachable/not-ready tolerations, or replicate it',
      ];
  const node = eligible[0]?.name;
  const proof: ServiceProof = {
    name: w.name,
    file: w.file,
    ok: problems.length === 0 && eligible.length > 0,
    detail: excepted ? `singleton StatefulSet: paused while its node is down, back with the node (accepted: ${excepted.summary})` : 'singleton StatefulSet: down while its node is, not replaced elsewhere',
    failedNodes: node ? [node] : [],
    placement: node ? { [node]: 1 } : {},
    problems: eligible.length > 0 ? problems : [...problems, 'no node can run it'],
  };
  UNITS.set(proof, { total: 1, eligible, spread: { key: HOSTNAME_LABEL, perDomain: 1, why: 'one replica' }, need: 1, noun: 'replica', needWhy: '' });
  return proof;
}

/** An exception whose workload is rendered with another replica count than the table states. */
function staleFaultExceptions(objects: ReadonlyArray<{ readonly file: string; readonly o: K8sObject }>): Finding[] {
  const findings: Finding[] = [];
  for (const e of FAULT_TOLERANCE_EXCEPTIONS) {
    const hit = objects.find((m) => m.o.kind === e.kind && m.o.metadata?.name === e.name && (m.o.metadata?.namespace ?? 'default') === e.namespace);
    if (hit && num(hit.o.spec?.replicas, 1) !== e.replicas) {
      findings.push({ file: hit.file, message: `${e.kind} ${e.namespace}/${e.name}: the fault-tolerance exception for it is stale (it runs ${num(hit.o.spec?.replicas, 1)} replicas now): remove it from FAULT_TOLERANCE_EXCEPTIONS in packages/verify/src/exceptions.ts` });
    }
  }
  return findings;
}

/** What keeps a replicated service up under the model. */
function spreadAdvice(model: FailureModel, noun: string): string {
  return model.model === 'failure-domains'
    ? `run at least 2 ${noun} with a required anti-affinity on ${ZONE_LABEL} (one per failure domain)`
    : `run at least ${model.k + 1} ${noun} with a required anti-affinity on ${HOSTNAME_LABEL}`;
}

const POD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);
const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);

/** Ceph's default `min_size` of a replicated pool: `size - floor(size/2)`; of an erasure-coded pool: data chunks + 1. */
function poolUnits(pool: unknown, label: string, nodes: readonly NodeInfo[]): { units: Units; extra: string } | undefined {
  if (!isRecord(pool)) return undefined;
  const fd = typeof pool.failureDomain === 'string' ? pool.failureDomain : 'host';
  const key = fd === 'host' ? HOSTNAME_LABEL : fd === 'zone' ? ZONE_LABEL : fd === 'osd' ? undefined : `topology.rook.io/${fd}`;
  const minSize = isRecord(pool.parameters) && pool.parameters.min_size !== undefined ? Number(pool.parameters.min_size) : undefined;
  const replicated = isRecord(pool.replicated) ? pool.replicated : undefined;
  const ec = isRecord(pool.erasureCoded) ? pool.erasureCoded : undefined;
  const size = replicated ? num(replicated.size, 3) : num(ec?.dataChunks, 2) + num(ec?.codingChunks, 1);
  const need = minSize ?? (replicated ? size - Math.floor(size / 2) : num(ec?.dataChunks, 2) + 1);
  const perDomain = replicated ? num(replicated.replicasPerFailureDomain, 1) : 1;
  return {
    units: {
      total: size,
      eligible: nodes,
      spread: key ? { key, perDomain, why: `failure domain ${fd}` } : undefined,
      need,
      noun: replicated ? 'copies' : 'chunks',
      needWhy: `min_size ${need}: below it the pool stops serving I/O; use size ${replicated ? 'k+2' : 'with coding chunks >= k+1'} on failure domain host`,
    },
    extra: ` (${label}, failure domain ${fd}, min_size ${need})`,
  };
}

/**
 * The fault-tolerance proof: every service the rendered output runs, and for
 * every scenario of the failure model, whether it keeps running.
 */
export function proveFaultTolerance(manifests: readonly Manifest[], nodes: readonly NodeInfo[], renderedApps: ReadonlySet<string> = new Set()): FaultToleranceResult {
  const input = proofInput(manifests, nodes);
  const { model, objects } = input;
  const services: ServiceProof[] = [
    ...etcdProofs(input),
    ...cephDaemonProofs(input),
    ...cephPoolProofs(input),
    ...cephMetadataServerProofs(input),
    ...postgresProofs(input),
    ...cephCsiControllerProofs(input),
    ...workloadProofs(input),
  ];
  const warnings = unanalysedApplications(input, manifests, renderedApps);

  const worst = platformWorstCase(services, model);
  const findings = [...services.flatMap((s) => s.problems.map((message) => ({ file: s.file, message: `${s.name}: ${message}` }))), ...staleFaultExceptions(objects)];
  const rows: ReportRow[] = services.map((s) => ({ name: s.name, ok: s.ok, detail: s.detail, failedNodes: s.failedNodes, file: s.file }));
  const failedServices = services.filter((s) => !s.ok).length;
  return {
    model,
    services,
    worst,
    check: check('fault-tolerance', `${services.length} services against ${model.description}: ${services.length - failedServices} keep running`, findings, warnings, rows),
  };
}

/** What every step of the proof reads: the rendered objects (by kind), the nodes, the failure model and the node monitor's grace period. */
function proofInput(manifests: readonly Manifest[], nodes: readonly NodeInfo[]) {
  const objects = manifests.map((m) => ({ ...m, o: m.object }));
  const ofKind = (kind: string) => objects.filter((m) => m.o.kind === kind);
  const pdbsIn = (ns: string) => ofKind('PodDisruptionBudget').filter((m) => m.o.metadata?.namespace === ns).map((m) => m.o);
  const pvcs = ofKind('PersistentVolumeClaim').map((m) => m.o);
  return { model: failureModel(nodes), grace: nodeMonitorGraceSeconds(nodes), nodes, objects, ofKind, pdbsIn, pvcs };
}
type ProofInput = ReturnType<typeof proofInput>;

/** etcd: kubeadm's stacked members, one per control-plane node. */
function etcdProofs(input: ProofInput): ServiceProof[] {
  const { nodes, model } = input;
  const services: ServiceProof[] = [];
  const members = nodes.filter((n) => n.role === 'controller').map((n) => n.name);
  const etcdFile = nodes.find((n) => n.role === 'controller')?.file ?? 'infra-out/ignition/';
  const quorum = Math.floor(members.length / 2) + 1;
  const etcdProblems = members.length % 2 === 0 && members.length > 0 ? [`${members.length} members is even: it survives no more failures than ${members.length - 1}, and a split can leave no majority; use an odd count (2k+1 = ${2 * model.k + 1})`] : [];
  if (members.length === 0) etcdProblems.push('no control-plane node found in the kubeadm configs');
  services.push(
    prove('etcd', etcdFile, { total: members.length, eligible: nodes, fixed: members, need: quorum, noun: 'members', needWhy: `quorum is ${quorum} of ${members.length}; use 2k+1 = ${2 * model.k + 1} controllers` }, model, etcdProblems),
  );
  return services;
}

/** Ceph's monitors and managers, for each CephCluster. */
function cephDaemonProofs(input: ProofInput): ServiceProof[] {
  const { nodes, model, grace, ofKind } = input;
  const services: ServiceProof[] = [];
  for (const { file, o } of ofKind('CephCluster')) {
    const spec = o.spec ?? {};
    const mons = num(spec.mon?.count, 3);
    const monQuorum = Math.floor(mons / 2) + 1;
    const monProblems = mons % 2 === 0 ? [`${mons} monitors is even; use an odd count (2k+1 = ${2 * model.k + 1})`] : [];
    // Rook places monitors by placement.mon over placement.all, on pods labelled app: rook-ceph-mon, one per node unless allowMultiplePerNode.
    // @see https://github.com/rook/rook/blob/v1.20.6/Documentation/CRDs/Cluster/ceph-cluster-crd.md (placement, mon)
    const monPlacement = { ...(spec.placement?.all ?? {}), ...(spec.placement?.mon ?? {}) };
    const ns = String(o.metadata?.namespace ?? 'rook-ceph');
    const monPod: PodShape = {
      labels: { app: 'rook-ceph-mon', ceph_daemon_type: 'mon', mon_cluster: ns, rook_cluster: ns },
      affinity: { podAntiAffinity: monPlacement.podAntiAffinity, nodeAffinity: monPlacement.nodeAffinity },
      topologySpreadConstraints: monPlacement.topologySpreadConstraints,
      tolerations: monPlacement.tolerations,
    };
    const monEligible = eligibleNodes(monPod, nodes);
    const monSpreads = [...(spec.mon?.allowMultiplePerNode ? [] : [{ key: HOSTNAME_LABEL, perDomain: 1, why: 'one monitor per node' }]), ...spreadsOf(monPod, mons, monEligible)].sort((a, b) => a.perDomain - b.perDomain);
    const [monSpread, ...monAlso] = monSpreads;
    services.push(
      prove(`${describe(o)} monitors`, file, {
        total: mons,
        eligible: monEligible,
        spread: monSpread,
        alsoSpread: monAlso,
        need: monQuorum,
        noun: 'monitors',
        needWhy:
          model.model === 'failure-domains'
            ? `quorum is ${monQuorum} of ${mons}; spread them over the zones (placement.mon topologySpreadConstraints on topology.kubernetes.io/zone, maxSkew 1, DoNotSchedule) so no zone holds ${mons - monQuorum + 1}`
            : `quorum is ${monQuorum} of ${mons}; use 2k+1 = ${2 * model.k + 1} monitors, one per node`,
      }, model, monProblems),
    );
    const mgrs = num(spec.mgr?.count, 2);
    services.push(
      prove(`${describe(o)} managers`, file, {
        total: mgrs,
        eligible: nodes,
        spread: spec.mgr?.allowMultiplePerNode ? undefined : { key: HOSTNAME_LABEL, perDomain: 1, why: 'one manager per node' },
        need: 1,
        noun: 'managers',
        needWhy: `one manager must stay active: run ${model.k + 1}, or give placement.mgr unreachable/not-ready tolerations with tolerationSeconds`,
        recovery: recoveryBound(undefined, spec.placement?.mgr?.tolerations ?? spec.placement?.all?.tolerations, grace),
      }, model),
    );
  }
  return services;
}

/** Ceph's pools: block pools, and the metadata and data pools of filesystems and object stores. */
function cephPoolProofs(input: ProofInput): ServiceProof[] {
  const { nodes, model, ofKind } = input;
  const services: ServiceProof[] = [];
  const pools: { name: string; file: string; pool: unknown }[] = [];
  for (const { file, o } of ofKind('CephBlockPool')) pools.push({ name: describe(o), file, pool: o.spec });
  for (const { file, o } of [...ofKind('CephFilesystem'), ...ofKind('CephObjectStore')]) {
    pools.push({ name: `${describe(o)} metadata pool`, file, pool: o.spec?.metadataPool });
    asArray<Loose>(o.spec?.dataPools).forEach((p, i) => pools.push({ name: `${describe(o)} data pool ${p?.name ?? i}`, file, pool: p }));
    if (o.spec?.dataPool) pools.push({ name: `${describe(o)} data pool`, file, pool: o.spec.dataPool });
  }
  for (const p of pools) {
    const u = poolUnits(p.pool, isRecord((p.pool as Loose)?.erasureCoded) ? 'erasure-coded' : 'replicated', nodes);
    if (u) services.push(prove(p.name, p.file, u.units, model, [], u.extra));
  }
  return services;
}

/** The metadata servers of each CephFilesystem. */
function cephMetadataServerProofs(input: ProofInput): ServiceProof[] {
  const { nodes, model, grace, ofKind } = input;
  const services: ServiceProof[] = [];
  for (const { file, o } of ofKind('CephFilesystem')) {
    const mds = o.spec?.metadataServer ?? {};
    const active = num(mds.activeCount, 1);
    const total = active * (mds.activeStandby ? 2 : 1);
    const pod = { labels: { app: 'rook-ceph-mds', rook_file_system: String(o.metadata?.name) }, affinity: mds.placement, tolerations: mds.placement?.tolerations };
    const spread = spreadOf({ ...pod, affinity: { podAntiAffinity: mds.placement?.podAntiAffinity } }, total, nodes);
    services.push(prove(`${describe(o)} metadata servers`, file, { total, eligible: eligibleNodes(pod, nodes), spread, need: active, noun: 'metadata servers', needWhy: `${active} must stay active: set activeStandby and a required anti-affinity, and placement tolerations with tolerationSeconds`, recovery: recoveryBound(undefined, mds.placement?.tolerations, grace) }, model));
  }
  return services;
}

/** CloudNativePG clusters: instances, the operator's anti-affinity. */
function postgresProofs(input: ProofInput): ServiceProof[] {
  const { nodes, model, ofKind } = input;
  const services: ServiceProof[] = [];
  for (const { file, o } of ofKind('Cluster').filter((m) => String(m.o.apiVersion).startsWith('postgresql.cnpg.io/'))) {
    const a = o.spec?.affinity ?? {};
    const instances = num(o.spec?.instances, 1);
    const required = a.enablePodAntiAffinity !== false && a.podAntiAffinityType === 'required';
    const key = typeof a.topologyKey === 'string' ? a.topologyKey : HOSTNAME_LABEL;
    const eligible = eligibleNodes({ nodeSelector: a.nodeSelector, tolerations: a.tolerations, affinity: { nodeAffinity: a.nodeAffinity } }, nodes);
    const problems = o.spec?.enablePDB === false && instances > 1 ? ['enablePDB is false: a drain may take the primary and every replica'] : [];
    services.push(
      prove(describe(o), file, {
        total: instances,
        eligible,
        spread: required ? { key, perDomain: 1, why: `required anti-affinity on ${key}` } : undefined,
        need: 1,
        noun: 'instances',
        needWhy: `${spreadAdvice(model, 'instances')} (affinity.podAntiAffinityType: required)`,
      }, model, problems),
    );
  }
  return services;
}

/** The Ceph-CSI controller plugin Deployment the ceph-csi-operator makes of each Driver. */
function cephCsiControllerProofs(input: ProofInput): ServiceProof[] {
  const { nodes, model, ofKind, pdbsIn } = input;
  const services: ServiceProof[] = [];
  // Ceph-CSI controller plugins: the ceph-csi-operator turns each Driver into a
  // Deployment `<driver>-ctrlplugin` (pods labelled app: <that name>): replicas
  // from controllerPlugin.replicas (else 2), the affinity as given when it has
  // a podAntiAffinity (else a required hostname anti-affinity is added), the
  // tolerations as given. It renders no PodDisruptionBudget.
  // @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/internal/controller/driver_controller.go (reconcileControllerPluginDeployment, getControllerPluginReplicas)
  for (const { file, o } of ofKind('Driver').filter((m) => String(m.o.apiVersion).startsWith('csi.ceph.io/'))) {
    const ns = o.metadata?.namespace ?? 'default';
    const plugin = o.spec?.controllerPlugin ?? {};
    const name = `${o.metadata?.name}-ctrlplugin`;
    const labels = { ...(isRecord(plugin.labels) ? plugin.labels : {}), app: name };
    const affinity = plugin.affinity?.podAntiAffinity
      ? plugin.affinity
      : { ...(plugin.affinity ?? {}), podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: name } }, topologyKey: HOSTNAME_LABEL }] } };
    const replicas = num(plugin.replicas, 2);
    const proof = proveWorkload(
      {
        name: `Deployment ${ns}/${name} (from ${describe(o)})`,
        kind: 'Deployment',
        file,
        namespace: ns,
        replicas,
        pod: { labels, affinity, tolerations: plugin.tolerations },
        pdb: (r) => pdbProblems(pdbsIn(ns), labels, r),
        annotations: isRecord(plugin.annotations) ? plugin.annotations : {},
        storage: [],
      },
      nodes,
      model,
      input.grace,
    );
    if (proof) services.push(proof);
  }
  return services;
}

/** Workloads rendered in full: Deployments, StatefulSets, DaemonSets and ReplicaSets. */
function workloadProofs(input: ProofInput): ServiceProof[] {
  const { nodes, model, objects, pdbsIn, pvcs } = input;
  const services: ServiceProof[] = [];
  for (const { file, o } of objects.filter((m) => POD_KINDS.has(String(m.o.kind)))) {
    const ns = o.metadata?.namespace ?? 'default';
    const template = o.spec?.template ?? {};
    const podSpec = template.spec ?? {};
    const labels = template.metadata?.labels ?? {};
    const replicas = o.kind === 'DaemonSet' ? 'daemon' : num(o.spec?.replicas, 1);
    const proof = proveWorkload(
      {
        name: describe(o),
        kind: String(o.kind),
        file,
        namespace: ns,
        replicas,
        pod: { labels, affinity: podSpec.affinity, topologySpreadConstraints: podSpec.topologySpreadConstraints, nodeSelector: podSpec.nodeSelector, tolerations: podSpec.tolerations },
        pdb: (r) => pdbProblems(pdbsIn(ns), labels, r),
        annotations: { ...(template.metadata?.annotations ?? {}), ...(o.metadata?.annotations ?? {}) },
        storage: replicas === 1 ? storageProblems(podSpec, o.spec?.volumeClaimTemplates, ns, pvcs) : [],
      },
      nodes,
      model,
      input.grace,
    );
    if (proof) services.push(proof);
  }
  return services;
}

/** Applications whose objects the proof did not get (verify ran without the desired state): never a silent pass. */
function unanalysedApplications({ ofKind }: ProofInput, manifests: readonly Manifest[], renderedApps: ReadonlySet<string>): Finding[] {
  const warnings: Finding[] = [];
  for (const { file, o } of ofKind('Application').filter((m) => !isOwnRepo(m.o, manifests) && !renderedApps.has(String(m.o.metadata?.name)))) {
    const source = o.spec?.source ?? {};
    warnings.push({ file, message: `Application ${o.metadata?.name}: not analysed (${source.chart ? `chart ${source.chart} ${source.targetRevision}` : `${source.repoURL} ${source.path ?? ''}`}): verify the desired state (keelson verify renders it with the real helm and kustomize)` });
  }
  return warnings;
}

/**
 * The scenario that breaks the most services, then takes down the most
 * services that recover within a bound, then the most units, with every
 * service's placement in it.
 */
function platformWorstCase(services: readonly ServiceProof[], model: FailureModel): FaultToleranceResult['worst'] {
  let best = { score: [-1, -1, -1], failed: [] as readonly string[], broken: [] as string[], recovering: [] as string[] };
  for (const scenario of model.scenarios) {
    const failed = new Set(scenario);
    let units = 0;
    const broken: string[] = [];
    const recovering: string[] = [];
    for (const s of services) {
      const u = UNITS.get(s);
      if (!u) continue;
      const l = lost(u, failed);
      units += l;
      if (u.total - l < u.need) (s.ok ? recovering : broken).push(s.name);
    }
    const score = [broken.length, recovering.length, units];
    const better = score.findIndex((x, i) => x !== best.score[i]);
    if (better >= 0 && score[better] > best.score[better]) best = { score, failed: scenario, broken, recovering };
  }
  const failed = new Set(best.failed);
  const placements: Record<string, Placement> = {};
  const units: Record<string, { total: number; lost: number; need: number; noun: string; recoversWithinSeconds?: number }> = {};
  for (const s of services) {
    const u = UNITS.get(s);
    if (!u) continue;
    const l = lost(u, failed);
    placements[s.name] = place(u, failed, l);
    units[s.name] = { total: u.daemon ? u.eligible.length : u.total, lost: l, need: u.need, noun: u.noun, ...(u.recovery ? { recoversWithinSeconds: u.recovery.seconds } : {}) };
  }
  return { failedNodes: best.failed, placements, broken: best.broken, recovering: best.recovering, units };
}

/** Whether an Application syncs a folder of the rendered output (its path ends with one of charts-out's folders). */
function isOwnRepo(app: K8sObject, manifests: readonly Manifest[]): boolean {
  const folders = new Set(manifests.map((m) => m.file.split('/')[1]));
  return folders.has(String(app.spec?.source?.path ?? '').split('/').pop() ?? '');
}
