// The two other platforms CI rehearses besides the example (issue 19): nine
// nodes under any-third (k = 3, seven etcd members) and nine nodes in three
// failure domains (a whole zone fails). Each is synthesised by the built CLI,
// as a user's `keelson synth` would, then rehearsed in full.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exampleConfig, loadPlatformSpec } from '@keelson/platform-spec';
import { formatRehearsal } from './format';
import { rehearse } from './rehearse';

jest.setTimeout(600_000);

const cli = resolve(__dirname, '../../../apps/platform/dist/keelson.cjs');
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Synthesises the example platform with `change` applied, and rehearses it. */
async function rehearseVariant(change: (config: any) => void) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing; build it with npx nx run platform:build (rehearse's test target depends on it)`);
  const dir = mkdtempSync(join(tmpdir(), 'keelson-rehearse-variant-'));
  dirs.push(dir);
  const config = exampleConfig() as any;
  change(config);
  const file = join(dir, 'platform.json');
  writeFileSync(file, JSON.stringify(config));
  const run = spawnSync(process.execPath, [cli, 'synth', '--config', file, '--out', join(dir, 'out'), '--secrets', join(dir, 'secrets')], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`keelson synth failed: ${run.stderr}`);
  return rehearse(loadPlatformSpec(file), { chartsDir: join(dir, 'out', 'charts-out'), infraDir: join(dir, 'out', 'infra-out') });
}

it('rehearses nine nodes under any-third: seven etcd members keep quorum after losing the worst three nodes, and every service keeps running', async () => {
  const report = await rehearseVariant((c) => {
    c.nodes.controllers.count = 7;
    c.nodes.workers.count = 2;
  });
  expect({ failures: report.failures, summary: report.ok ? '' : formatRehearsal(report) }).toEqual({ failures: [], summary: '' });
  expect(report.nodes).toHaveLength(9);
  expect(report.failureModel).toMatchObject({ model: 'any-third', k: 3 });
  const [worst] = report.faults;
  expect(worst.failedNodes).toHaveLength(3);
  expect(worst.quorum?.find((q) => q.service === 'etcd')).toMatchObject({ total: 7, lost: 3, left: 4, need: 4, ok: true });
});

it('rehearses nine nodes in three failure domains: a whole zone fails and every service keeps running', async () => {
  const report = await rehearseVariant((c) => {
    c.faultModel = { type: 'failure-domains', domains: 3 };
    c.nodes.controllers.count = 5;
    c.nodes.workers.count = 4;
  });
  expect({ failures: report.failures, summary: report.ok ? '' : formatRehearsal(report) }).toEqual({ failures: [], summary: '' });
  expect(report.failureModel?.model).toBe('failure-domains');
  const zones = new Set(report.nodes.map((n) => n.zone));
  expect(zones.size).toBe(3);
  const [worst] = report.faults;
  // The failed nodes are one whole zone.
  const failedZones = new Set(worst.failedNodes.map((n) => report.nodes.find((x) => x.name === n)?.zone));
  expect(failedZones.size).toBe(1);
  expect(worst.failedNodes).toEqual(report.nodes.filter((n) => failedZones.has(n.zone)).map((n) => n.name));
  expect(worst.quorum?.filter((q) => !q.ok)).toEqual([]);
});
