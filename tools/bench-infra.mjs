#!/usr/bin/env node
// cdktf synth time of the DigitalOcean Terraform JSON (packages/infra-nodes/dist,
// so build first: npx tsc -b packages/infra-nodes), whole process, for the
// default 6-node platform and a 60-node one (failure domains, 5 controllers +
// 55 workers). Two variants of the same program:
//   deep  what @keelson/infra-nodes does: deep imports of the provider package
//         (@cdktf/provider-digitalocean/lib/droplet, ...)
//   root  the same, after require('@cdktf/provider-digitalocean') once, which
//         loads every resource binding of the package
// Medians of RUNS runs (env KEELSON_BENCH_RUNS, default 7). Each run also
// reports its own module-load and render time, so the table shows where the
// time goes. Usage: node tools/bench-infra.mjs; tools/bench.mjs imports
// benchInfra() and prints the same table.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const self = fileURLToPath(import.meta.url);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One timed synth, in a child process: `--child <config.json> <deep|root>`; prints its own split as JSON. */
function child(configFile, variant) {
  const t0 = process.hrtime.bigint();
  const require = createRequire(join(root, 'packages/infra-nodes/package.json'));
  if (variant === 'root') require('@cdktf/provider-digitalocean');
  const { DigitalOceanProvider } = require('./dist/index.js');
  const { parsePlatformConfig } = require('@keelson/platform-spec');
  const t1 = process.hrtime.bigint();
  const spec = parsePlatformConfig(JSON.parse(require('node:fs').readFileSync(configFile, 'utf8')));
  // Boot configs of about the real sizes (pointer ~8 KiB, secret part ~24 KiB).
  const nodes = spec.topology.nodes.map((n) => ({
    name: n.name,
    userData: JSON.stringify({ ignition: { version: '3.3.0' }, pad: 'p'.repeat(8 * 1024) }),
    secretPart: JSON.stringify({ ignition: { version: '3.3.0' }, pad: 's'.repeat(24 * 1024) }),
    secretPartKey: `${n.name}.ign`,
  }));
  const doc = new DigitalOceanProvider().renderTerraform({ spec, nodes });
  const t2 = process.hrtime.bigint();
  process.stdout.write(JSON.stringify({ loadMs: Number(t1 - t0) / 1e6, renderMs: Number(t2 - t1) / 1e6, bytes: doc.content.length }));
}

/**
 * Times the DigitalOcean synth for 6 and 60 nodes, deep imports vs the
 * package root; returns the rows and prints a table unless `quiet`.
 */
export function benchInfra({ runs = Number(process.env.KEELSON_BENCH_RUNS ?? 7), quiet = false } = {}) {
  try {
    createRequire(join(root, 'packages/infra-nodes/package.json')).resolve('./dist/index.js');
  } catch {
    throw new Error('packages/infra-nodes/dist is missing; build it first: npx tsc -b packages/infra-nodes');
  }
  const work = mkdtempSync(join(tmpdir(), 'keelson-bench-infra-'));
  try {
    const base = {
      cluster: { name: 'keelson', id: '8bef49a9' },
      provider: { name: 'digitalocean', region: 'fra1' },
      nodes: { controllers: { count: 5 }, workers: { count: 1 }, volumeSizeGiB: 100 },
      domain: 'example.com',
      acme: { email: 'ops@example.com' },
      gitops: { repoURL: 'https://github.com/keelson-dev/keelson.git' },
      adminCidrs: ['203.0.113.0/24'],
    };
    const configs = [
      { label: '6 nodes', config: base },
      { label: '60 nodes', config: { ...base, faultModel: { type: 'failure-domains', domains: 3 }, nodes: { ...base.nodes, workers: { count: 55 } } } },
    ];
    const once = (args) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${r.stderr}`);
      return { seconds, ...(args[0] === '-e' ? {} : JSON.parse(r.stdout)) };
    };
    /** Medians of RUNS runs of each variant, interleaved so drift on a busy machine hits both alike; one warm-up each. */
    const time = (variants) => {
      const samples = variants.map(() => []);
      variants.forEach((args) => once(args));
      for (let i = 0; i < runs; i++) variants.forEach((args, v) => samples[v].push(once(args)));
      return samples.map((s) => ({
        seconds: median(s.map((x) => x.seconds)),
        loadMs: s[0].loadMs === undefined ? undefined : median(s.map((x) => x.loadMs)),
        renderMs: s[0].renderMs === undefined ? undefined : median(s.map((x) => x.renderMs)),
        bytes: s[0].bytes,
      }));
    };

    const rows = [];
    const [nodeStart] = time([['-e', '0']]);
    rows.push({ what: 'node -e 0', seconds: nodeStart.seconds });
    for (const { label, config } of configs) {
      const file = join(work, `${label.split(' ')[0]}.json`);
      writeFileSync(file, JSON.stringify(config));
      const [deep, pkgRoot] = time([
        [self, '--child', file, 'deep'],
        [self, '--child', file, 'root'],
      ]);
      rows.push({ what: `${label}, deep imports`, ...deep });
      rows.push({ what: `${label}, package root`, ...pkgRoot, vs: `${((pkgRoot.seconds - deep.seconds) * 1000).toFixed(0)} ms more` });
    }
    if (!quiet) print(rows, runs);
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function print(rows, runs) {
  const header = ['DigitalOcean Terraform JSON (cdktf)', 'whole process s', 'load ms', 'render ms', 'JSON KiB', ''];
  const fmt = (v, digits) => (v === undefined ? '-' : v.toFixed(digits));
  const table = [
    header,
    ...rows.map((r) => [r.what, fmt(r.seconds, 3), fmt(r.loadMs, 0), fmt(r.renderMs, 0), r.bytes ? (r.bytes / 1024).toFixed(0) : '-', r.vs ?? '']),
  ];
  const widths = header.map((_, c) => Math.max(...table.map((row) => row[c].length)));
  console.log(`\ncdktf synth, medians of ${runs} runs, node ${process.version}`);
  for (const row of table) console.log(row.map((cell, c) => (c === 0 || c === 5 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd());
}

if (process.argv[2] === '--child') child(process.argv[3], process.argv[4]);
else if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    benchInfra();
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
}
