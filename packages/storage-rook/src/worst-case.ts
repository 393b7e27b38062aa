/**
 * The worst case for Ceph, computed from rendered manifests alone: which
 * failed nodes hurt each monitor quorum, pool and metadata service most, and
 * whether it still works then. Pure, so `keelson verify` can run it on
 * `charts-out/`.
 */

/** A node as the worst case needs it: its name and failure domain (zone). */
export interface FailureNode {
  readonly name: string;
  readonly failureDomain: string;
}

/** The promise checked: any `k` nodes, or any one failure domain. */
export type FailurePromise = { readonly model: 'any-third'; readonly k: number } | { readonly model: 'failure-domains' };

/** The worst case for one Ceph resource. */
export interface StorageLossCheck {
  /** `Kind/name` of the rendered object, e.g. `CephBlockPool/ceph-block`. */
  readonly resource: string;
  /** Monitors, a pool's copies or chunks (Ceph pool name), or metadata servers. */
  readonly what: 'monitors' | 'pool' | 'metadata-servers';
  /** Ceph pool name, for pools. */
  readonly pool?: string;
  /** Monitors, copies (replicated), chunks (erasure-coded) or MDS daemons. */
  readonly total: number;
  /** Quorum, min_size or active MDS count. */
  readonly needed: number;
  /** Most that one allowed failure can take, given the rendered placement. */
  readonly lost: number;
  readonly left: number;
  readonly ok: boolean;
  /** A choice of failed nodes that causes this worst case. */
  readonly failedNodes: readonly string[];
}

/** The result of {@link worstCaseStorageLoss}. */
export interface StorageLossReport {
  /** Failure sets examined (k-subsets of nodes, or failure domains). */
  readonly scenarios: number;
  readonly checks: readonly StorageLossCheck[];
  /** Every monitor quorum and every pool keeps working in every scenario. */
  readonly quorumAndPoolsOk: boolean;
  /**
   * Every filesystem keeps a running MDS in every scenario. When false, a
   * failure can take the active and standby MDS at once; CephFS metadata
   * then waits for an MDS pod to be rescheduled onto a surviving node.
   */
  readonly metadataServersOk: boolean;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((cur, key) => (isObj(cur) ? cur[key] : undefined), o);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';
const MAX_SCENARIOS = 200_000;

/** How many daemons a failure set can take, given what the placement allows per node and per zone. */
interface Spread {
  readonly total: number;
  /** At most this many per node (Infinity: unconstrained). */
  readonly perNode: number;
  /** At most this many per zone (Infinity: unconstrained). */
  readonly perZone: number;
}

function lostFrom(spread: Spread, failed: readonly FailureNode[]): number {
  const byZone = new Map<string, number>();
  for (const n of failed) byZone.set(n.failureDomain, (byZone.get(n.failureDomain) ?? 0) + 1);
  let lost = 0;
  for (const count of byZone.values()) lost += Math.min(count * spread.perNode, spread.perZone);
  return Math.min(lost, spread.total);
}

/** Required anti-affinity terms of a placement, as topology keys. */
function requiredAntiAffinityKeys(placement: unknown): string[] {
  const terms = get(placement, 'podAntiAffinity', 'requiredDuringSchedulingIgnoredDuringExecution');
  return Array.isArray(terms) ? terms.map((t) => get(t, 'topologyKey')).filter((k): k is string => typeof k === 'string') : [];
}

/** The tightest hard zone spread of a placement, as max per zone for `total` daemons over `zones`. */
function zoneCap(placement: unknown, total: number, zones: number): number {
  let cap = Infinity;
  if (requiredAntiAffinityKeys(placement).includes(ZONE)) cap = 1;
  const spreads = get(placement, 'topologySpreadConstraints');
  for (const c of Array.isArray(spreads) ? spreads : []) {
    const skew = num(get(c, 'maxSkew'));
    if (get(c, 'topologyKey') !== ZONE || get(c, 'whenUnsatisfiable') !== 'DoNotSchedule' || skew === undefined) continue;
    // x in one zone, every other zone at least x - skew: x + (D-1)(x - skew) <= total.
    cap = Math.min(cap, Math.floor((total + (zones - 1) * skew) / zones));
  }
  return cap;
}

interface Target {
  readonly resource: string;
  readonly what: StorageLossCheck['what'];
  readonly pool?: string;
  readonly spread: Spread;
  readonly needed: number;
}

/** A pool's copies or chunks, one per failure domain (host or zone). */
function poolTarget(resource: string, pool: string, spec: unknown): Target | undefined {
  const failureDomain = get(spec, 'failureDomain') ?? 'host';
  const minSize = num(get(spec, 'parameters', 'min_size'));
  const size = num(get(spec, 'replicated', 'size'));
  const dataChunks = num(get(spec, 'erasureCoded', 'dataChunks'));
  const codingChunks = num(get(spec, 'erasureCoded', 'codingChunks'));
  let total: number;
  let needed: number;
  if (dataChunks !== undefined && codingChunks !== undefined) {
    total = dataChunks + codingChunks;
    needed = minSize ?? dataChunks + 1; // Ceph's default min_size for EC pools
  } else if (size !== undefined) {
    total = size;
    needed = minSize ?? size - Math.floor(size / 2); // Ceph's default min_size for replicated pools
  } else {
    return undefined;
  }
  const spread: Spread =
    failureDomain === 'zone' ? { total, perNode: 1, perZone: 1 } : failureDomain === 'host' ? { total, perNode: 1, perZone: Infinity } : { total, perNode: total, perZone: total };
  return { resource, what: 'pool', pool, spread, needed };
}

function targetsOf(objects: readonly unknown[], zones: number): Target[] {
  const targets: Target[] = [];
  for (const o of objects) {
    const kind = get(o, 'kind');
    const name = String(get(o, 'metadata', 'name'));
    const spec = get(o, 'spec');
    if (kind === 'CephCluster') {
      const total = num(get(spec, 'mon', 'count')) ?? 3;
      const placement = get(spec, 'placement', 'mon');
      const onePerNode = get(spec, 'mon', 'allowMultiplePerNode') !== true || requiredAntiAffinityKeys(placement).includes(HOST);
      targets.push({
        resource: `CephCluster/${name}`,
        what: 'monitors',
        spread: { total, perNode: onePerNode ? 1 : total, perZone: zoneCap(placement, total, zones) },
        needed: Math.floor(total / 2) + 1,
      });
    } else if (kind === 'CephBlockPool') {
      const pool = typeof get(spec, 'name') === 'string' ? String(get(spec, 'name')) : name;
      const t = poolTarget(`CephBlockPool/${name}`, pool, spec);
      if (t) targets.push(t);
    } else if (kind === 'CephFilesystem') {
      const resource = `CephFilesystem/${name}`;
      const meta = poolTarget(resource, `${name}-metadata`, get(spec, 'metadataPool'));
      if (meta) targets.push(meta);
      const dataPools = get(spec, 'dataPools');
      (Array.isArray(dataPools) ? dataPools : []).forEach((p, i) => {
        const t = poolTarget(resource, `${name}-${typeof get(p, 'name') === 'string' ? String(get(p, 'name')) : `data${i}`}`, p);
        if (t) targets.push(t);
      });
      const active = num(get(spec, 'metadataServer', 'activeCount')) ?? 1;
      const total = get(spec, 'metadataServer', 'activeStandby') === true ? 2 * active : active;
      const placement = get(spec, 'metadataServer', 'placement');
      const keys = requiredAntiAffinityKeys(placement);
      targets.push({
        resource,
        what: 'metadata-servers',
        spread: { total, perNode: keys.includes(HOST) || keys.includes(ZONE) ? 1 : total, perZone: zoneCap(placement, total, zones) },
        needed: active,
      });
    }
  }
  return targets;
}

function* subsets<T>(items: readonly T[], size: number, start = 0, prefix: T[] = []): Generator<T[]> {
  if (prefix.length === size) {
    yield [...prefix];
    return;
  }
  for (let i = start; i <= items.length - (size - prefix.length); i++) {
    prefix.push(items[i]);
    yield* subsets(items, size, i + 1, prefix);
    prefix.pop();
  }
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/**
 * For every allowed failure (each k-subset of `nodes` under `any-third`, each
 * failure domain under `failure-domains`), computes from the rendered
 * CephCluster, CephBlockPools and CephFilesystems how many monitors, pool
 * copies (or erasure-coded chunks) and MDS daemons the failure can take at
 * worst, and keeps the worst scenario per resource.
 *
 * Placement is read from the objects: monitors one per node unless
 * `allowMultiplePerNode`, at most ceil(m/D) per zone under a zone spread with
 * maxSkew 1; pool copies one per CRUSH failure domain (`host` or `zone`);
 * MDS daemons one per node or zone under required anti-affinity. Where a
 * daemon actually lands is not known, so the failed nodes are assumed to
 * hold as many as the placement allows.
 *
 * @throws when there are more failure sets than can be enumerated
 */
export function worstCaseStorageLoss(objects: readonly unknown[], nodes: readonly FailureNode[], promise: FailurePromise): StorageLossReport {
  const domains = [...new Set(nodes.map((n) => n.failureDomain))];
  let scenarios: Iterable<FailureNode[]>;
  let count: number;
  if (promise.model === 'failure-domains') {
    scenarios = domains.map((d) => nodes.filter((n) => n.failureDomain === d));
    count = domains.length;
  } else {
    const k = Math.min(Math.max(promise.k, 0), nodes.length);
    count = binomial(nodes.length, k);
    if (count > MAX_SCENARIOS) {
      throw new Error(`worstCaseStorageLoss: ${count} ways to choose k = ${k} of ${nodes.length} nodes is more than ${MAX_SCENARIOS}; check failure domains instead`);
    }
    scenarios = subsets(nodes, k);
  }

  const targets = targetsOf(objects, domains.length);
  const worst = targets.map(() => ({ lost: -1, failed: [] as readonly FailureNode[] }));
  for (const failed of scenarios) {
    targets.forEach((t, i) => {
      const lost = lostFrom(t.spread, failed);
      if (lost > worst[i].lost) worst[i] = { lost, failed };
    });
  }

  const checks = targets.map((t, i): StorageLossCheck => {
    const lost = Math.max(worst[i].lost, 0);
    const left = t.spread.total - lost;
    return {
      resource: t.resource,
      what: t.what,
      ...(t.pool !== undefined ? { pool: t.pool } : {}),
      total: t.spread.total,
      needed: t.needed,
      lost,
      left,
      ok: left >= t.needed,
      failedNodes: worst[i].failed.map((n) => n.name),
    };
  });
  return {
    scenarios: count,
    checks,
    quorumAndPoolsOk: checks.filter((c) => c.what !== 'metadata-servers').every((c) => c.ok),
    metadataServersOk: checks.filter((c) => c.what === 'metadata-servers').every((c) => c.ok),
  };
}
