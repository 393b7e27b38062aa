#!/usr/bin/env node
// npm run bench: cold `keelson synth` (whole process, compiled JS) for the
// default config and a 60-node config, against a floor that writes the same
// objects (every file synth wrote, byte for byte) with `yaml` and JSON alone,
// and against the earlier floor (as many small Namespaces as files); synth
// once more without V8's code cache (KEELSON_CODE_CACHE=0; the timed runs
// find the cache its first run wrote, as every run after a build does);
// plus a warm `nx run platform:synth` (not cached by Nx since issue 22: a
// cache entry would hold infra-out's secrets) and Nx's own start, the tests'
// prerequisites when present, the unit tests (KEELSON_BENCH_SUITE=1: the
// whole of npm test too); then `keelson verify` of the default platform cold (empty render cache: every
// chart through the real helm) and warm, `keelson rehearse` of it (KEELSON_BENCH_REHEARSE_RUNS
// runs, default 1: each takes minutes), then etcd's failover time
// (tools/bench-etcd-failover.mjs). Writes tmp/bench.json with the medians.
// Medians of RUNS runs (env KEELSON_BENCH_RUNS, default 7); peak RSS per process.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.KEELSON_BENCH_RUNS ?? 7);
// KEELSON_BENCH_ONLY=synth: the synth rows alone (a minute), written to tmp/bench-synth.json.
const synthOnly = process.env.KEELSON_BENCH_ONLY === 'synth';
const work = mkdtempSync(join(tmpdir(), 'keelson-bench-'));
const cli = join(root, 'apps/platform/dist/keelson.cjs');

console.log('building (nx run-many -t build) ...');
execFileSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], { cwd: root, stdio: 'ignore' });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs `args` with node `times` times (RUNS by default); median wall seconds and max peak RSS (MiB). */
function measure(args, before = () => undefined, env = {}, okStatus = [0], count = runs) {
  const times = [];
  const rss = [];
  const rssFile = join(work, 'rss');
  for (let i = 0; i < count; i++) {
    before();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['--require', join(root, 'tools/bench-rss.cjs'), ...args], {
      cwd: root,
      env: { ...process.env, ...(typeof env === 'function' ? env() : env), KEELSON_BENCH_RSS_FILE: rssFile },
      encoding: 'utf8',
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (!okStatus.includes(r.status)) throw new Error(`node ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    rss.push(Number(readFileSync(rssFile, 'utf8')) / 1024);
  }
  return { seconds: median(times), rssMiB: Math.max(...rss) };
}

const listFiles = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));

/** One file synth wrote, as the floor's input: YAML documents as objects, JSON as a value, anything else as text. */
function snapshotOf(out, file) {
  const text = readFileSync(file, 'utf8');
  const path = relative(out, file);
  if (file.endsWith('.yaml')) return { path, yaml: YAML.parseAllDocuments(text).map((d) => d.toJS()) };
  try {
    return { path, json: JSON.parse(text), indent: text.includes('\n  ') ? 2 : 0 };
  } catch {
    return { path, text };
  }
}

const base = YAML.parse(readFileSync(join(root, 'apps/platform/platform.yaml'), 'utf8'));
const configs = [
  { label: 'default (6 nodes)', config: base },
  {
    label: '60 nodes (failure-domains)',
    config: { ...base, faultModel: { type: 'failure-domains', domains: 3 }, nodes: { ...base.nodes, controllers: { count: 5 }, workers: { count: 55 } } },
  },
];

const rows = [];
const figures = {};
const nodeStart = measure(['-e', '0']);
rows.push(['node -e 0', '-', nodeStart.seconds, nodeStart.rssMiB, '']);
for (const { label, config } of configs) {
  const file = join(work, `${label.split(' ')[0]}.yaml`);
  writeFileSync(file, YAML.stringify(config));
  const out = join(work, `out-${label.split(' ')[0]}`);
  // The secrets bundle is made once, on first use, like on a real machine; each timed run renders from it.
  const secrets = join(work, `secrets-${label.split(' ')[0]}`);
  const args = [cli, 'synth', '--config', file, '--out', out, '--secrets', secrets];
  spawnSync(process.execPath, args, { cwd: root });
  const synth = measure(args, () => rmSync(out, { recursive: true, force: true }));
  // The floor writes the same objects: every file synth wrote, parsed here (untimed) and serialized again there.
  const snapshot = join(work, `objects-${label.split(' ')[0]}.json`);
  const written = ['charts-out', 'infra-out'].flatMap((top) => listFiles(join(out, top)));
  writeFileSync(snapshot, JSON.stringify(written.map((file) => snapshotOf(out, file))));
  const objects = written.length;
  const bytes = written.reduce((n, f) => n + statSync(f).size, 0);
  const floorOut = join(work, 'floor');
  const floor = measure([join(root, 'tools/bench-floor.cjs'), snapshot, floorOut], () => rmSync(floorOut, { recursive: true, force: true }));
  const differs = written.find((f) => !readFileSync(f).equals(readFileSync(join(floorOut, relative(out, f)))));
  if (differs) throw new Error(`the floor did not write synth's bytes: ${differs}`);
  // The floor before issue 25: as many small Namespace objects as synth writes files.
  const nsOut = join(work, 'floor-ns');
  const nsFloor = measure([join(root, 'tools/bench-floor.cjs'), '--namespaces', String(objects), nsOut], () => rmSync(nsOut, { recursive: true, force: true }));
  const ratio = synth.seconds / floor.seconds;
  rows.push([`synth, ${label}`, objects, synth.seconds, synth.rssMiB, `${ratio.toFixed(2)}x floor${ratio <= 2 ? ' (target <= 2.0: met)' : ' (target <= 2.0: MISSED)'}`]);
  rows.push([`floor: the same ${objects} files (${(bytes / 1024).toFixed(0)} KiB), yaml/JSON only`, objects, floor.seconds, floor.rssMiB, '']);
  rows.push([`old floor: ${objects} small Namespaces`, objects, nsFloor.seconds, nsFloor.rssMiB, `synth is ${(synth.seconds / nsFloor.seconds).toFixed(2)}x`]);
  const key = config === base ? 'synthRatio6' : 'synthRatio60';
  figures[key] = Number(ratio.toFixed(3));
  figures[`${key}OldFloor`] = Number((synth.seconds / nsFloor.seconds).toFixed(3));
  figures[config === base ? 'synthSeconds6' : 'synthSeconds60'] = Number(synth.seconds.toFixed(3));
  figures[config === base ? 'floorSeconds6' : 'floorSeconds60'] = Number(floor.seconds.toFixed(3));
  if (config === base && !synthOnly) {
    const noCodeCache = measure(args, () => rmSync(out, { recursive: true, force: true }), { KEELSON_CODE_CACHE: '0' });
    rows.push([`synth, ${label}, no code cache`, objects, noCodeCache.seconds, noCodeCache.rssMiB, `${(noCodeCache.seconds / floor.seconds).toFixed(2)}x floor`]);
    figures.synthSeconds6NoCodeCache = Number(noCodeCache.seconds.toFixed(3));
    // verify of what synth wrote: cold renders every chart with the real helm into an empty cache, warm reads the cache.
    const verifyArgs = [cli, 'verify', '--config', file, '--out', out];
    const sources = {
      KEELSON_CHARTS_DIR: process.env.KEELSON_CHARTS_DIR ?? join(root, '../shared/charts'),
      KEELSON_MANIFESTS_DIR: process.env.KEELSON_MANIFESTS_DIR ?? join(root, '../shared/manifests'),
      KEELSON_OFFLINE: '1',
    };
    let coldCache = 0;
    const cold = measure(verifyArgs, () => undefined, () => {
      const dir = join(work, `cache-${coldCache++}`);
      mkdirSync(dir, { recursive: true });
      return { ...sources, KEELSON_CACHE_DIR: dir };
    });
    const warmCache = join(work, 'cache-warm');
    spawnSync(process.execPath, verifyArgs, { cwd: root, env: { ...process.env, ...sources, KEELSON_CACHE_DIR: warmCache } });
    const warm = measure(verifyArgs, () => undefined, { ...sources, KEELSON_CACHE_DIR: warmCache });
    rows.push(['verify, default, cold (empty render cache)', '-', cold.seconds, cold.rssMiB, 'every chart through helm']);
    rows.push(['verify, default, warm', '-', warm.seconds, warm.rssMiB, warm.seconds <= 3 ? 'target <= 3 s: met' : 'target <= 3 s: MISSED']);
    figures.verifyColdSeconds = Number(cold.seconds.toFixed(3));
    figures.verifyWarmSeconds = Number(warm.seconds.toFixed(3));
    // keelson rehearse of the same render, whole process: control plane start, sync, scheduling, drain, worst-case fault (2 to 3 minutes each).
    const rehearseRuns = Number(process.env.KEELSON_BENCH_REHEARSE_RUNS ?? 1);
    const rehearse = measure([cli, 'rehearse', '--config', file, '--out', out], () => undefined, { ...sources, KEELSON_CACHE_DIR: warmCache }, [0], rehearseRuns);
    rows.push([`rehearse, default (${rehearseRuns} run${rehearseRuns === 1 ? '' : 's'})`, '-', rehearse.seconds, rehearse.rssMiB, rehearse.seconds <= 180 ? 'target <= 180 s: met' : 'target <= 180 s: MISSED']);
    figures.rehearseSeconds = Number(rehearse.seconds.toFixed(3));
    figures.rehearseRuns = rehearseRuns;
  }
}

if (synthOnly) {
  mkdirSync(join(root, 'tmp'), { recursive: true });
  writeFileSync(join(root, 'tmp/bench-synth.json'), `${JSON.stringify({ runs, node: process.version, ...figures }, null, 2)}\n`);
  for (const [name, , seconds, , note] of rows) console.log(`${name.padEnd(60)} ${seconds.toFixed(3)} s  ${note}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

// Nx: platform:synth is not cacheable (README "Workspace"): time a warm run
// (builds cached, synth itself runs) and fail if Nx ever answers it from a cache.
// figures.cacheHitSeconds keeps its name for older readers of tmp/bench.json but,
// since issue 22, is this warm run's time, not a cache hit's; nxSynthWarmSeconds is the same figure.
const nx = (args, env = {}) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('npx', ['nx', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false', ...env } });
  if (r.status !== 0) throw new Error(`nx ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, out: r.stdout };
};
// Twice first: the builds settle into the cache, and a first synth may create the secrets bundle.
nx(['run', 'platform:synth', '--outputStyle=static']);
nx(['run', 'platform:synth', '--outputStyle=static']);
const warmNx = nx(['run', 'platform:synth', '--outputStyle=static']);
const synthLine = warmNx.out.split('\n').find((l) => l.includes('nx run platform:synth')) ?? '';
const fromCache = /\[(local|remote) cache\]|existing outputs match the cache/.test(synthLine);
rows.push(['nx run platform:synth, warm (synth runs; not cached)', '-', warmNx.seconds, NaN, fromCache ? 'FROM THE CACHE: synth must not be cached' : 'synth ran, builds from the cache']);
figures.cacheHitSeconds = Number(warmNx.seconds.toFixed(3));
figures.nxSynthWarmSeconds = figures.cacheHitSeconds;
figures.cacheHitMeasures = 'warm nx run platform:synth, uncached (issue 22)';
// Nx alone: the project graph and the cached builds' check, what any nx run pays before its task.
const nxGraph = nx(['show', 'projects']);
rows.push(['npx nx show projects (Nx start and project graph)', '-', nxGraph.seconds, NaN, 'what any nx run costs before its task']);
figures.nxGraphSeconds = Number(nxGraph.seconds.toFixed(3));
// The least any cache hit of `npx nx run` costs here: a build with no dependencies, answered from the
// cache, whole process; without Nx's daemon (as in CI and this bench) and with it (Nx's default on a
// workstation: it keeps the project graph in memory). Issue 25 asked for 0.6 s for a whole synth hit.
const hitFloor = (env) => median([0, 1, 2].map(() => nx(['run', 'platform-spec:build', '--outputStyle=static'], env).seconds));
figures.nxCacheHitFloorSeconds = Number(hitFloor({}).toFixed(3));
rows.push(['npx nx run platform-spec:build, a cache hit, no daemon', '-', figures.nxCacheHitFloorSeconds, NaN, 'the least a cache hit costs through npx nx']);
try {
  nx(['daemon', '--start'], { NX_DAEMON: 'true' });
  hitFloor({ NX_DAEMON: 'true' }); // the daemon computes the project graph once
  figures.nxCacheHitFloorDaemonSeconds = Number(hitFloor({ NX_DAEMON: 'true' }).toFixed(3));
  rows.push(['same, with the Nx daemon running', '-', figures.nxCacheHitFloorDaemonSeconds, NaN, 'project graph kept in memory']);
} catch (e) {
  rows.push(['same, with the Nx daemon running', '-', NaN, NaN, `the daemon did not start: ${String(e.message).split('\n')[0]}`]);
} finally {
  spawnSync('npx', ['nx', 'daemon', '--stop'], { cwd: root, stdio: 'ignore' });
}

// The tests' prerequisites when all are there (each npm test starts with it): Debian tools and the upstream peers checked, nothing built.
const timed = (command, args, env = {}) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false', ...env } });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
figures.peersWarmSeconds = Number(timed(process.execPath, [join(root, 'tools/test-prerequisites.mjs')]).toFixed(3));
rows.push(['test prerequisites, warm (tools and peers present)', '-', figures.peersWarmSeconds, NaN, 'first step of npm test']);
// The test suite, no test from the cache: the unit tests always (on the builds made above); with KEELSON_BENCH_SUITE=1 the whole of npm test too.
figures.unitSuiteSeconds = Number(timed('npx', ['nx', 'run-many', '-t', 'test', '--exclude-task-dependencies', '--skip-nx-cache', '--outputStyle=static']).toFixed(3));
rows.push(['unit tests, all projects (nx run-many -t test)', '-', figures.unitSuiteSeconds, NaN, 'in-process, no child process']);
if (process.env.KEELSON_BENCH_SUITE === '1') {
  // The README's test command as a user runs it, warm peers, no task from Nx's cache: build, lint, unit and integration tests.
  figures.fullSuiteSeconds = Number(timed(process.execPath, [join(root, 'tools/test.mjs')], { NX_SKIP_NX_CACHE: 'true' }).toFixed(3));
  rows.push(['full suite (npm test: build, lint, unit and integration)', '-', figures.fullSuiteSeconds, NaN, 'warm peers, no Nx cache; target <= 240 s']);
} else {
  rows.push(['full suite (npm test)', '-', NaN, NaN, 'not run: KEELSON_BENCH_SUITE=1 runs it (about 14 minutes on 2 cores)']);
}
mkdirSync(join(root, 'tmp'), { recursive: true });
writeFileSync(join(root, 'tmp/bench.json'), `${JSON.stringify({ runs, node: process.version, ...figures }, null, 2)}\n`);

const header = ['case', 'objects', 'median s', 'peak RSS MiB', 'note'];
const table = [header, ...rows.map(([a, b, c, d, e]) => [a, String(b), Number.isNaN(c) ? '-' : c.toFixed(3), Number.isNaN(d) ? '-' : d.toFixed(0), e])];
const widths = header.map((_, i) => Math.max(...table.map((r) => r[i].length)));
console.log(`\nkeelson bench: ${runs} runs each, node ${process.version}, bundled CLI (${(statSync(join(root, 'apps/platform/dist/keelson-cli.cjs')).size / 1024).toFixed(0)} KiB)`);
for (const r of table) console.log(r.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
rmSync(work, { recursive: true, force: true });
if (fromCache) process.exitCode = 1;

// cdktf synth of the DigitalOcean Terraform JSON, deep imports against the package root.
console.log('');
const { benchInfra } = await import('./bench-infra.mjs');
benchInfra();

// etcd failover on a real 3-member cluster with client and peer mTLS: leader
// killed to first acknowledged write (tools/bench-etcd-failover.mjs).
console.log('');
const failover = spawnSync(process.execPath, [join(root, 'tools/bench-etcd-failover.mjs')], { cwd: root, stdio: 'inherit' });
if (failover.status !== 0) process.exitCode = 1;
