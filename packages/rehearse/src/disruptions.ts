import type { K8sObject } from '@keelson/upstream';
import type { ApiClient } from './internal/api';
import { sleep } from './internal/util';
import type { LivePod } from './scheduling';

/** A PodDisruptionBudget as the real disruption controller counts it. */
export interface BudgetStatus {
  /** `PodDisruptionBudget website/website`. */
  readonly budget: string;
  readonly expectedPods: number;
  readonly currentHealthy: number;
  readonly disruptionsAllowed: number;
  /** Every pod healthy and still no eviction allowed: every drain of a node with one of its pods waits for ever. */
  readonly blocking: boolean;
}

/** One pod of the drained node. */
export interface EvictionOutcome {
  /** `website/website-6f9c-abcde`. */
  readonly pod: string;
  readonly evicted: boolean;
  /** Milliseconds from the first request until the API server accepted the eviction. */
  readonly afterMs?: number;
  /** The API server's refusal, when it never accepted (429: a budget allows no disruption). */
  readonly message?: string;
}

export interface DisruptionReport {
  readonly budgets: readonly BudgetStatus[];
  /** The node drained through the eviction API, as `kubectl drain` and kured do before a reboot. */
  readonly drain?: { readonly node: string; readonly pods: readonly EvictionOutcome[]; readonly durationMs: number };
  readonly failures: readonly string[];
}

type LivePdb = K8sObject & {
  metadata: { name: string; namespace: string; generation?: number };
  spec?: { selector?: { matchLabels?: Record<string, string> } };
  status?: { observedGeneration?: number; expectedPods?: number; currentHealthy?: number; disruptionsAllowed?: number };
};

const SIMULATED = 'keelson.dev/simulated';

/**
 * Voluntary disruptions on the rehearsal cluster, judged by the real
 * disruption controller and the real eviction API:
 *
 * 1. every PodDisruptionBudget, once the controller has counted it: one that
 *    allows no disruption while all its pods are healthy blocks every drain
 *    (kured's reboots, a node replacement) for ever;
 * 2. one node drained the way `kubectl drain` does it (cordon, then an
 *    Eviction per pod but DaemonSets' and kubeadm's static pods, retried
 *    while a budget answers 429), then uncordoned: the node that holds pods
 *    of the most budgets.
 *
 * @see https://kubernetes.io/docs/concepts/workloads/pods/disruptions/#pod-disruption-budgets
 * @see https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/
 * @see https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/
 */
export async function rehearseDisruptions(api: ApiClient, options: { readonly retryMs?: number; readonly onProgress?: (line: string) => void } = {}): Promise<DisruptionReport> {
  const failures: string[] = [];
  const budgets = await countedBudgets(api);
  for (const b of budgets) {
    if (b.blocking) {
      failures.push(
        `disruptions: ${b.budget} allows no eviction with all ${b.currentHealthy} of its pods healthy (disruptionsAllowed 0): every drain of a node holding one of them (kured's reboot, a node replacement) waits for ever; lower minAvailable or raise maxUnavailable so that one pod may go`,
      );
    }
  }
  const pods = await api.list<LivePod & { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } }>('/api/v1/pods');
  const pdbs = await api.list<LivePdb>('/apis/policy/v1/poddisruptionbudgets');
  const covered = new Map<string, number>();
  for (const p of pods) {
    if (!p.spec.nodeName || p.metadata.deletionTimestamp) continue;
    const n = pdbs.filter((b) => b.metadata.namespace === p.metadata.namespace && selects(b.spec?.selector?.matchLabels, p.metadata.labels)).length;
    if (n > 0) covered.set(p.spec.nodeName, (covered.get(p.spec.nodeName) ?? 0) + n);
  }
  const node = [...covered].sort(([a, x], [b, y]) => y - x || a.localeCompare(b, 'en', { numeric: true }))[0]?.[0];
  if (!node) return { budgets, failures };

  const t0 = Date.now();
  options.onProgress?.(`disruptions: draining ${node} through the eviction API (${covered.get(node)} pods under a PodDisruptionBudget)`);
  await api.mergePatch(`/api/v1/nodes/${node}`, { spec: { unschedulable: true } });
  const outcomes: EvictionOutcome[] = [];
  try {
    const mine = pods.filter((p) => p.spec.nodeName === node && !p.metadata.deletionTimestamp && !p.metadata.annotations?.[SIMULATED] && !p.metadata.ownerReferences?.some((r) => r.kind === 'DaemonSet'));
    await Promise.all(
      mine.map(async (p) => {
        const name = `${p.metadata.namespace}/${p.metadata.name}`;
        const start = Date.now();
        for (;;) {
          const res = await api.request('POST', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/eviction`, {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name: p.metadata.name, namespace: p.metadata.namespace },
          });
          if (res.status === 201 || res.status === 200 || res.status === 404) return void outcomes.push({ pod: name, evicted: true, afterMs: Date.now() - start });
          const message = (res.body as { message?: string } | undefined)?.message ?? `HTTP ${res.status}`;
          // 429: a budget allows no disruption now; kubectl drain retries every 5 s (here every second) until a replacement is healthy.
          if (res.status !== 429 || Date.now() - start > (options.retryMs ?? 30_000)) return void outcomes.push({ pod: name, evicted: false, message });
          await sleep(1000);
        }
      }),
    );
  } finally {
    await api.mergePatch(`/api/v1/nodes/${node}`, { spec: { unschedulable: false } });
  }
  outcomes.sort((a, b) => a.pod.localeCompare(b.pod));
  for (const o of outcomes.filter((x) => !x.evicted)) {
    failures.push(`disruptions: draining ${node}: the eviction of pod ${o.pod} was refused for ${Math.round((options.retryMs ?? 30_000) / 1000)} s: ${o.message}`);
  }
  const drain = { node, pods: outcomes, durationMs: Date.now() - t0 };
  options.onProgress?.(`disruptions: ${node} drained in ${(drain.durationMs / 1000).toFixed(1)} s: ${outcomes.filter((o) => o.evicted).length}/${outcomes.length} pods evicted, uncordoned`);
  return { budgets, drain, failures };
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Every budget once the disruption controller has counted its current generation (at most 30 s). */
async function countedBudgets(api: ApiClient, timeoutMs = 30_000): Promise<BudgetStatus[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pdbs = await api.list<LivePdb>('/apis/policy/v1/poddisruptionbudgets');
    const counted = pdbs.every((b) => b.status?.observedGeneration !== undefined && b.status.observedGeneration >= (b.metadata.generation ?? 1));
    if (counted || Date.now() > deadline) {
      return pdbs
        .map((b) => {
          const s = b.status ?? {};
          const expectedPods = s.expectedPods ?? 0;
          const currentHealthy = s.currentHealthy ?? 0;
          const disruptionsAllowed = s.disruptionsAllowed ?? 0;
          return {
            budget: `PodDisruptionBudget ${b.metadata.namespace}/${b.metadata.name}`,
            expectedPods,
            currentHealthy,
            disruptionsAllowed,
            blocking: expectedPods > 0 && currentHealthy >= expectedPods && disruptionsAllowed === 0,
          };
        })
        .sort((a, b) => a.budget.localeCompare(b.budget));
    }
    await sleep(500);
  }
}
