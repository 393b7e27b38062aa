import { performance } from 'node:perf_hooks';
import type { LocalEtcdCluster, LocalEtcdMember } from './local-etcd-cluster';

export interface LeaderFailoverOptions {
  /** Keys written are `${prefix}/<sequence>`; use a prefix no one else writes. */
  readonly prefix: string;
  /**
   * A new write starts every this many ms, without waiting for the previous
   * ones: the resolution of the failover time.
   * @default 10
   */
  readonly writeIntervalMs?: number;
  /** Writes in flight at most; beyond it a tick is skipped. @default 200 */
  readonly maxInFlight?: number;
  /** Time writing before the kill. @default 300 */
  readonly warmupMs?: number;
  /** Time writing after the first write acknowledged after the kill. @default 300 */
  readonly cooldownMs?: number;
  /** Give up when no write issued after the kill is acknowledged within this. @default 15000 */
  readonly timeoutMs?: number;
  /**
   * The writer's per-request timeout; a write that times out is retried on
   * the next member, like a real client would.
   * @default 2000
   */
  readonly requestTimeoutMs?: number;
}

export interface LeaderFailoverResult {
  /** The leader that was killed. */
  readonly killed: LocalEtcdMember;
  /**
   * From SIGKILL to the first acknowledgement of a write issued after it
   * (writes committed before the kill, acknowledged just after it, do not count).
   */
  readonly failoverMs: number;
  /** Keys whose put etcd acknowledged, in issue order. */
  readonly acknowledgedKeys: readonly string[];
  /** Acknowledged writes issued after the kill. */
  readonly acknowledgedAfterKill: number;
  /** Writes that failed or timed out (not acknowledged; they may or may not be stored). */
  readonly unacknowledged: number;
}

interface Write {
  readonly key: string;
  readonly issuedAt: number;
  ackedAt?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Kills the leader (SIGKILL) while a writer loops, and measures how long
 * until writes are acknowledged again.
 *
 * The writer's endpoints list the leader first, so its own requests must
 * fail over to a follower, as the API server's would. Every write is awaited
 * before this returns; reading the keys back is the caller's check.
 */
export async function killLeaderWhileWriting(cluster: LocalEtcdCluster, options: LeaderFailoverOptions): Promise<LeaderFailoverResult> {
  const writeIntervalMs = options.writeIntervalMs ?? 10;
  const maxInFlight = options.maxInFlight ?? 200;
  const warmupMs = options.warmupMs ?? 300;
  const cooldownMs = options.cooldownMs ?? 300;
  const timeoutMs = options.timeoutMs ?? 15_000;

  const leader = await cluster.leader();
  const endpoints = [leader, ...cluster.running.filter((m) => m !== leader)].map((m) => m.clientURL);
  const client = cluster.client({ endpoints, requestTimeoutMs: options.requestTimeoutMs ?? 2000 });
  const writes: Write[] = [];
  const inFlight = new Set<Promise<void>>();
  let unacknowledged = 0;
  let seq = 0;
  let killedAt = Number.POSITIVE_INFINITY;
  let stopAt = Number.POSITIVE_INFINITY;

  const issue = () => {
    const write: Write = { key: `${options.prefix}/${String(seq++).padStart(8, '0')}`, issuedAt: performance.now() };
    writes.push(write);
    const p: Promise<void> = client.put(write.key, String(write.issuedAt)).then(
      () => {
        write.ackedAt = performance.now();
        if (write.issuedAt >= killedAt && stopAt === Number.POSITIVE_INFINITY) stopAt = write.ackedAt + cooldownMs;
      },
      () => {
        unacknowledged++;
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const writer = (async () => {
    while (performance.now() < stopAt && performance.now() < killedAt + timeoutMs) {
      if (inFlight.size < maxInFlight) issue();
      await sleep(writeIntervalMs);
    }
  })();

  try {
    await sleep(warmupMs);
    if (!writes.some((w) => w.ackedAt !== undefined)) {
      // A cluster too slow to acknowledge anything before the kill would make the figure meaningless.
      await sleep(warmupMs * 5);
      if (!writes.some((w) => w.ackedAt !== undefined)) throw new Error(`killLeaderWhileWriting: no write acknowledged within ${warmupMs * 6} ms before the kill`);
    }
    killedAt = await cluster.kill(leader);
    await writer;
  } finally {
    stopAt = 0;
    await writer.catch(() => undefined);
    await Promise.allSettled([...inFlight]);
    client.close();
  }

  const afterKill = writes.filter((w) => w.issuedAt >= killedAt && w.ackedAt !== undefined);
  if (afterKill.length === 0) {
    throw new Error(`killLeaderWhileWriting: no write issued after killing ${leader.name} was acknowledged within ${timeoutMs} ms (${unacknowledged} failed)`);
  }
  const firstAck = Math.min(...afterKill.map((w) => w.ackedAt as number));
  return {
    killed: leader,
    failoverMs: firstAck - killedAt,
    acknowledgedKeys: writes.filter((w) => w.ackedAt !== undefined).map((w) => w.key),
    acknowledgedAfterKill: afterKill.length,
    unacknowledged,
  };
}
