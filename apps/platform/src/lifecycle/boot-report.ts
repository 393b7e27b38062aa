import { bootGaveUp, type NodeBootStatus } from '@keelson/ignition';
import type { ClusterAdapter, Observation } from './cluster';
import { LifecycleError } from './steps';

/** What an operator reads for a node whose first boot never reached the API (no Lease to show). */
export const NO_STATUS = "no status published: the node has not reached the API — check the cloud console's serial log";

/**
 * One line for a node that is not Ready yet: its Node's state and what its
 * first boot last published (step, attempt, when, last message).
 *
 * `keelson-worker-2 not registered; boot failed at kubeadm-join (attempt 3 of 10, 2026-12-04T17:02:11Z): <message>`
 */
export function bootLine(node: string, ready: Observation, status: NodeBootStatus | undefined): string {
  if (!status) return `${node} ${ready.detail}; ${NO_STATUS}`;
  const attempt = status.maxAttempts > 0 ? `attempt ${status.attempt} of ${status.maxAttempts}` : `attempt ${status.attempt}`;
  const when = status.time ? `, ${status.time}` : '';
  return `${node} ${ready.detail}; boot ${status.state} at ${status.step || '?'} (${attempt}${when})${status.message ? `: ${status.message}` : ''}`;
}

export interface NodesJoinedOptions {
  /** The step named in a stop (`nodes`, `keelson-worker-1: node Ready`). */
  readonly step: string;
  /** What to do about a node that gave up, ending with the command to run next. */
  readonly fixGaveUp: (status: NodeBootStatus) => Promise<string> | string;
  /**
   * Statuses written before this moment are ignored: the old machine's (a replaced node publishes under the same name).
   * @default - every status counts
   */
  readonly since?: Date;
}

/**
 * A probe for `waitFor`: ok when every one of `nodes` is Ready; otherwise the
 * detail has one {@link bootLine} per node that is not, one per line. A node
 * whose first boot gave up (see `bootGaveUp`) ends the wait at once with a
 * {@link LifecycleError} naming it, its step and its last error.
 */
export function nodesJoined(cluster: ClusterAdapter, nodes: readonly string[], o: NodesJoinedOptions): () => Promise<Observation> {
  return async () => {
    const seen = await Promise.all(
      nodes.map(async (name) => {
        try {
          return { name, ready: await cluster.nodeReady(name) };
        } catch (e) {
          return { name, ready: { ok: false, detail: `unknown (${(e as Error).message})` } };
        }
      }),
    );
    const missing = seen.filter((s) => !s.ready.ok);
    if (missing.length === 0) return { ok: true, detail: nodes.length === 1 ? `${nodes[0]} Ready` : `${nodes.length} nodes Ready` };
    // Best effort: the status is for the operator, the Node's Ready condition decides.
    const statuses = await cluster.bootStatus().catch(() => [] as NodeBootStatus[]);
    const fresh = o.since ? statuses.filter((s) => Date.parse(s.time) >= o.since!.getTime()) : statuses;
    const byNode = new Map(fresh.map((s) => [s.node, s]));
    for (const { name } of missing) {
      const status = byNode.get(name);
      if (status && bootGaveUp(status)) {
        throw new LifecycleError(o.step, `${name} stopped trying at its first-boot step ${status.step} (attempt ${status.attempt}${status.maxAttempts ? ` of ${status.maxAttempts}` : ''}); last error: ${status.message || '(none published)'}`, await o.fixGaveUp(status));
      }
    }
    return { ok: false, detail: missing.map((s) => bootLine(s.name, s.ready, byNode.get(s.name))).join('\n') };
  };
}
