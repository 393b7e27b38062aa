import { MAX_ETCD_MEMBERS } from './catalogue';
import type { FaultModel } from './config-schema';

/**
 * What the platform promises to survive, and the sizes that follow from it.
 *
 * Every layer sizes itself from this object, never from the raw node count,
 * so a change of fault model changes every layer consistently.
 */
export interface FaultBudget {
  /** The promise: any `k` nodes, or any one failure domain. */
  readonly model: FaultModel['type'];
  /** Total nodes N (controllers + workers). */
  readonly nodes: number;
  /**
   * Most nodes that may fail at once: `floor(N/3)` for `any-third`, the size
   * of the largest failure domain for `failure-domains`.
   */
  readonly k: number;
  /** Number of failure domains (`failure-domains` only). */
  readonly failureDomains?: number;
  /** Smallest quorum-based membership that survives the promise: `2k+1` for `any-third`. */
  readonly quorumMembers: number;
  /** etcd members: the controllers. At least `quorumMembers`, odd, at most 7. */
  readonly etcdMembers: number;
  /** Ceph monitors: `quorumMembers`, one per node (failure-domains: 5, spread over domains; 3 on tiny clusters). At most MAX_CEPH_MONITORS. */
  readonly cephMonitors: number;
  /** Copies kept by replicated Ceph pools: `k+2` (failure-domains: 3, one per domain). */
  readonly poolSize: number;
  /** Copies below which a pool stops accepting writes. Always 2: never write a single copy. */
  readonly poolMinSize: number;
  /** CRUSH failure domain for pools: `host` or `zone`. */
  readonly poolFailureDomain: 'host' | 'zone';
  /** Replicas of a stateless service: `k+1`, at most one per node (failure-domains: 2 in distinct domains). */
  readonly statelessReplicas: number;
  /** Node label replicas must be spread over. */
  readonly spreadTopologyKey: 'kubernetes.io/hostname' | 'topology.kubernetes.io/zone';
  /** Raw bytes used per byte stored in replicated pools (the price of the promise). */
  readonly rawSpaceOverhead: number;
}

/** A refusal of the fault budget: which config path, and why. */
export interface BudgetProblem {
  readonly path: string;
  readonly message: string;
}

/** Inputs for {@link computeFaultBudget}. */
export interface FaultBudgetInput {
  readonly controllers: number;
  readonly workers: number;
  readonly faultModel: FaultModel;
}

/** The result: a budget when the config can keep its promise, otherwise every reason it cannot. */
export type FaultBudgetResult =
  | { readonly ok: true; readonly budget: FaultBudget }
  | { readonly ok: false; readonly problems: readonly BudgetProblem[] };

const CONTROLLERS = 'nodes.controllers.count';
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `k = floor(N/3)`: the nodes an `any-third` platform may lose at once. */
export function nodesAllowedToFail(nodes: number): number {
  return Math.floor(nodes / 3);
}

/**
 * Domain index (0-based) of every node when `nodes` are dealt round-robin over
 * `domains`: controllers first in order, then workers, each to the domain with
 * the fewest nodes so far (lowest index wins a tie). Adding a worker never
 * moves an existing node.
 */
export function assignFailureDomains(controllers: number, workers: number, domains: number): number[] {
  const counts = new Array<number>(domains).fill(0);
  const out: number[] = [];
  for (let i = 0; i < controllers + workers; i++) {
    const d = i < controllers ? i % domains : counts.indexOf(Math.min(...counts));
    counts[d]++;
    out.push(d);
  }
  return out;
}

/**
 * Derives the fault budget from the node counts and fault model, or explains
 * with the arithmetic why the config cannot keep its promise.
 *
 * `any-third` refuses budgets needing more than 7 etcd members (N >= 12):
 * etcd slows down with more voters, so a bigger cluster must choose the
 * `failure-domains` model explicitly instead of being silently promised less.
 */
export function computeFaultBudget(input: FaultBudgetInput): FaultBudgetResult {
  const { controllers: m, workers, faultModel } = input;
  const n = m + workers;
  const problems: BudgetProblem[] = [];
  const refuse = (path: string, message: string) => problems.push({ path, message });

  // The smallest odd member count that can keep quorum under this model.
  const needed = faultModel.type === 'any-third' ? 2 * nodesAllowedToFail(n) + 1 : 3;
  if (m % 2 === 0) {
    const options = [m - 1, m + 1].filter((c) => c >= Math.max(3, needed) && c <= MAX_ETCD_MEMBERS);
    refuse(
      CONTROLLERS,
      `${m} is even; etcd needs an odd member count (an even count survives no more member failures than one member fewer). Use ${options.length > 0 ? options.join(' or ') : Math.max(3, needed)}`,
    );
  }
  if (m > MAX_ETCD_MEMBERS) {
    refuse(CONTROLLERS, `${m} controllers would make ${m} etcd members; Keelson runs at most ${MAX_ETCD_MEMBERS} (every write waits for a majority). Use 5 or 7 and add workers instead`);
  }

  if (faultModel.type === 'any-third') {
    if (n < 3) {
      refuse(
        'nodes',
        `${plural(n, 'node')} (${plural(m, 'controller')} + ${plural(workers, 'worker')}) cannot survive losing any node: k = floor(N/3) = 0. Use at least 3 nodes, e.g. controllers.count: 3`,
      );
      return { ok: false, problems };
    }
    const k = nodesAllowedToFail(n);
    const quorum = 2 * k + 1;
    // etcd's limit (7) is below Ceph's (9 monitors), so it is the one that binds.
    if (quorum > MAX_ETCD_MEMBERS) {
      refuse(
        'nodes',
        `${n} nodes give k = floor(${n}/3) = ${k}, which needs ${quorum} etcd members (2k+1); etcd runs well with at most ${MAX_ETCD_MEMBERS}. Use at most 11 nodes, or faultModel: { type: failure-domains, domains: 3 } to promise the loss of one failure domain instead`,
      );
    }
    if (m < quorum && quorum <= MAX_ETCD_MEMBERS && m % 2 === 1) {
      const survivors = m - Math.min(k, m);
      refuse(
        CONTROLLERS,
        `losing ${k} of ${n} nodes can take ${Math.min(k, m)} of ${m} etcd members, leaving ${survivors} of ${m}, short of a majority (${Math.floor(m / 2) + 1}); use ${quorum} controllers (2k+1 with k = ${k}) or fewer nodes per failure`,
      );
    }
    if (problems.length > 0) return { ok: false, problems };
    return {
      ok: true,
      budget: {
        model: 'any-third',
        nodes: n,
        k,
        quorumMembers: quorum,
        etcdMembers: m,
        cephMonitors: quorum,
        poolSize: k + 2,
        poolMinSize: 2,
        poolFailureDomain: 'host',
        statelessReplicas: k + 1,
        spreadTopologyKey: 'kubernetes.io/hostname',
        rawSpaceOverhead: k + 2,
      },
    };
  }

  const domains = faultModel.domains;
  if (n < domains) {
    refuse('nodes', `${plural(n, 'node')} cannot fill ${domains} failure domains; add nodes or lower faultModel.domains`);
    return { ok: false, problems };
  }
  if (m < 3) {
    refuse(CONTROLLERS, `${plural(m, 'controller')} cannot keep etcd quorum after losing a failure domain; use 3, 5 or 7`);
  }
  // Controllers are dealt round-robin over >= 3 domains, so an odd count of 3
  // to 7 never puts half of them in one domain (a test checks every case).
  if (problems.length > 0) return { ok: false, problems };
  const placement = assignFailureDomains(m, workers, domains);
  const allCounts = new Array<number>(domains).fill(0);
  placement.forEach((d) => allCounts[d]++);
  const monitors = n >= 5 ? 5 : 3;
  return {
    ok: true,
    budget: {
      model: 'failure-domains',
      nodes: n,
      k: Math.max(...allCounts),
      failureDomains: domains,
      quorumMembers: 3,
      etcdMembers: m,
      cephMonitors: monitors,
      poolSize: 3,
      poolMinSize: 2,
      poolFailureDomain: 'zone',
      statelessReplicas: 2,
      spreadTopologyKey: 'topology.kubernetes.io/zone',
      rawSpaceOverhead: 3,
    },
  };
}
