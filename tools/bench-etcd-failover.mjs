#!/usr/bin/env node
// etcd failover time: a real 3-member etcd cluster with client and peer mTLS
// (packages/etcd-tls/dist/testing, so build first), etcd's DEFAULT heartbeat
// (100 ms) and election timeout (1000 ms). Per run: a writer starts a put
// every 10 ms, the leader is SIGKILLed, and we time SIGKILL -> first
// acknowledged write issued after it; then every acknowledged key is read
// back (lost must be 0). RUNS runs (env KEELSON_BENCH_FAILOVER_RUNS, default
// 5), a fresh cluster each. Exits 1 if a write was lost or a run failed.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout, clearTimeout } from 'node:timers';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.KEELSON_BENCH_FAILOVER_RUNS ?? 5);
const RUN_TIMEOUT_MS = 60_000;
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`KEELSON_BENCH_FAILOVER_RUNS must be a whole number >= 1, got ${process.env.KEELSON_BENCH_FAILOVER_RUNS}`);
  process.exit(2);
}

// The package resolves itself through its "exports" (./testing -> dist/testing/index.js).
const require = createRequire(join(root, 'packages/etcd-tls/package.json'));
let testing;
try {
  testing = require('@keelson/etcd-tls/testing');
} catch (err) {
  console.error(`cannot load @keelson/etcd-tls/testing (${err.message}); build it first: npx tsc -b packages/etcd-tls`);
  process.exit(2);
}
const { LocalEtcdCluster, killLeaderWhileWriting } = testing;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Rejects after `ms`, so a stuck run cannot hang the bench; the caller's finally still cleans up. */
function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function oneRun(i) {
  const cluster = await LocalEtcdCluster.start({ members: 3 }); // etcd defaults: 100 ms heartbeat, 1000 ms election
  try {
    const prefix = `/keelson/bench/failover-${i}`;
    const result = await killLeaderWhileWriting(cluster, { prefix, writeIntervalMs: 10, warmupMs: 500, cooldownMs: 300, requestTimeoutMs: 2000, timeoutMs: 20_000 });
    const stored = await cluster.client().range(`${prefix}/`, { prefix: true, keysOnly: true });
    const keys = new Set(stored.kvs.map((kv) => kv.key));
    const lost = result.acknowledgedKeys.filter((k) => !keys.has(k)).length;
    return { killed: result.killed.name, failoverMs: result.failoverMs, acked: result.acknowledgedKeys.length, ackedAfterKill: result.acknowledgedAfterKill, unacked: result.unacknowledged, lost };
  } finally {
    await cluster.stop();
  }
}

const rows = [];
let failed = 0;
for (let i = 1; i <= runs; i++) {
  try {
    rows.push({ run: i, ...(await bounded(oneRun(i), RUN_TIMEOUT_MS, `run ${i}`)) });
  } catch (err) {
    failed++;
    console.error(`run ${i} failed: ${err.message}`);
  }
}

const header = ['run', 'leader killed', 'failover ms', 'acked writes', 'acked after kill', 'not acked', 'lost'];
const table = [header, ...rows.map((r) => [String(r.run), r.killed, r.failoverMs.toFixed(0), String(r.acked), String(r.ackedAfterKill), String(r.unacked), String(r.lost)])];
const widths = header.map((_, c) => Math.max(...table.map((row) => row[c].length)));
console.log(`\netcd failover (leader SIGKILL -> first acknowledged write), 3 members, mTLS, heartbeat 100 ms, election 1000 ms, node ${process.version}`);
for (const row of table) console.log(row.map((cell, c) => (c === 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
const times = rows.map((r) => r.failoverMs);
const lost = rows.reduce((n, r) => n + r.lost, 0);
if (times.length > 0) {
  console.log(`median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms over ${times.length} runs; acknowledged writes lost: ${lost}${failed ? `; ${failed} run(s) failed` : ''}`);
}
if (lost > 0 || failed > 0 || rows.length === 0) process.exitCode = 1;
