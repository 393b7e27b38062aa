// Every example config in examples/ rehearsed, as CI does (issues 19 and 22):
// the ones whose topology differs from the default in full (sync, scheduling,
// a drain and the worst-case fault), the ones that swap a layer or a cloud
// through sync, scheduling and the drain (their nodes fail like the
// default's). sixty-nodes is synthesised and verified by the platform's tests
// but not rehearsed here: 60 kwok processes and their pods do not fit a
// 2-core CI runner's time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadPlatformSpec } from '@keelson/platform-spec';
import { formatRehearsal } from './format';
import { rehearse, type RehearseOptions } from './rehearse';

jest.setTimeout(600_000);

const cli = resolve(__dirname, '../../../apps/platform/dist/keelson.cjs');
const examples = resolve(__dirname, '../../../examples');
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Synthesises examples/<name>.yaml with the built CLI, as a user's `keelson synth` would, and rehearses it. */
async function rehearseExample(name: string, options: Partial<RehearseOptions> = {}) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing; build it with npx nx run platform:build (rehearse's test target depends on it)`);
  const dir = mkdtempSync(join(tmpdir(), `keelson-rehearse-${name}-`));
  dirs.push(dir);
  const file = join(examples, `${name}.yaml`);
  const run = spawnSync(process.execPath, [cli, 'synth', '--config', file, '--out', join(dir, 'out'), '--secrets', join(dir, 'secrets')], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`keelson synth --config ${file} failed: ${run.stderr}`);
  const report = await rehearse(loadPlatformSpec(file), { chartsDir: join(dir, 'out', 'charts-out'), infraDir: join(dir, 'out', 'infra-out'), ...options });
  expect({ failures: report.failures, summary: report.ok ? '' : formatRehearsal(report) }).toEqual({ failures: [], summary: '' });
  return report;
}

const FULL = ['nine-nodes', 'failure-domains', 'three-nodes'];
const LAYERS = ['hetzner', 'gateway-api', 'flannel', 'jellyfin', 'media-off', 'nextcloud-off'];

it('covers every example but sixty-nodes', () => {
  const all = readdirSync(examples).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length));
  expect([...FULL, ...LAYERS, 'sixty-nodes'].sort()).toEqual(all.sort());
});

it('rehearses nine nodes under any-third: seven etcd members keep quorum after losing the worst three nodes, and every service keeps running', async () => {
  const report = await rehearseExample('nine-nodes');
  expect(report.nodes).toHaveLength(9);
  expect(report.failureModel).toMatchObject({ model: 'any-third', k: 3 });
  const [worst] = report.faults;
  expect(worst.failedNodes).toHaveLength(3);
  expect(worst.quorum?.find((q) => q.service === 'etcd')).toMatchObject({ total: 7, lost: 3, left: 4, need: 4, ok: true });
});

it('rehearses nine nodes in three failure domains: a whole zone fails and every service keeps running', async () => {
  const report = await rehearseExample('failure-domains');
  expect(report.failureModel?.model).toBe('failure-domains');
  expect(new Set(report.nodes.map((n) => n.zone)).size).toBe(3);
  const [worst] = report.faults;
  // The failed nodes are one whole zone.
  const failedZones = new Set(worst.failedNodes.map((n) => report.nodes.find((x) => x.name === n)?.zone));
  expect(failedZones.size).toBe(1);
  expect(worst.failedNodes).toEqual(report.nodes.filter((n) => failedZones.has(n.zone)).map((n) => n.name));
  expect(worst.quorum?.filter((q) => !q.ok)).toEqual([]);
});

it('rehearses the smallest platform: three controllers, one may fail', async () => {
  const report = await rehearseExample('three-nodes');
  expect(report.failureModel).toMatchObject({ model: 'any-third', k: 1 });
  expect(report.faults[0].failedNodes).toHaveLength(1);
  expect(report.faults[0].quorum?.find((q) => q.service === 'etcd')).toMatchObject({ total: 3, lost: 1, left: 2, need: 2, ok: true });
});

it.each(LAYERS)('syncs, places and drains the %s example', async (name) => {
  const report = await rehearseExample(name, { faults: false });
  expect(report.sync.applications.every((a) => a.status === 'Synced')).toBe(true);
  expect(report.scheduling?.pending).toEqual([]);
  expect(report.disruptions?.drain?.pods.every((p) => p.evicted)).toBe(true);
});
