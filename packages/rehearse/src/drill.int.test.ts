import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigitalOceanProvider } from '@keelson/infra-nodes';
import { CloudApiMimic } from '@keelson/infra-nodes/testing';
import { loadPlatformSpec, type PlatformSpec } from '@keelson/platform-spec';
import { drill, formatDrill, publicProbes, type DrillReport } from './drill';
import { REHEARSAL_TIMERS } from './faults';
import { ApiClient } from './internal/api';
import { keptNodePower, rehearse, stopKeptRehearsals } from './rehearse';
import { synthExamplePlatform } from './test-fixtures';

// One kept rehearsal (a control plane and six kwok nodes) stands in for the live cluster: about 2 minutes, then one drill of about 1.5.
jest.setTimeout(420_000);

const TOKEN = 'dop_v1_drill_test';
let dir: string;
let spec: PlatformSpec;
let kubeconfig: string;
let nodeNames: string[];
let mimic: CloudApiMimic;
let site: Server;
let siteUrl: string;
const down = new Set<string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keelson-drill-'));
  const { config, ...rendered } = await synthExamplePlatform(dir);
  spec = loadPlatformSpec(config);
  const report = await rehearse(spec, { ...rendered, keep: true, faults: false, disruptions: false });
  if (!report.kept) throw new Error('the rehearsal kept nothing running');
  kubeconfig = report.kept.kubeconfig;
  nodeNames = report.nodes.map((n) => n.name);
  const kwok = keptNodePower(kubeconfig);
  if (!kwok) throw new Error('no power switch for the kept rehearsal');
  // The cloud: its power actions switch the simulated nodes, so the real node-lifecycle controller sees them die.
  mimic = await CloudApiMimic.start({
    cloud: 'digitalocean',
    token: TOKEN,
    servers: nodeNames,
    onPower: async (name, on) => {
      if (on) down.delete(name);
      else down.add(name);
      await (on ? kwok.powerOn([name]) : kwok.powerOff([name]));
    },
  });
  // A public service that answers 503 while any node is off, as an ingress in front of dead backends would.
  site = createServer((_req, res) => {
    res.writeHead(down.size > 0 ? 503 : 200);
    res.end();
  });
  await new Promise<void>((done) => site.listen(0, '127.0.0.1', done));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await stopKeptRehearsals();
  await mimic?.close();
  await new Promise<void>((done) => (site ? site.close(() => done()) : done()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Waits (at most a minute) until every Deployment and StatefulSet has every replica available: the drill refuses to start otherwise. */
async function untilEveryWorkloadAvailable(): Promise<void> {
  const api = new ApiClient(kubeconfig);
  try {
    for (let i = 0; i < 60; i++) {
      const lists = await Promise.all(['/apis/apps/v1/deployments', '/apis/apps/v1/statefulsets'].map((p) => api.list<{ spec?: { replicas?: number }; status?: { availableReplicas?: number } }>(p)));
      if (lists.flat().every((w) => (w.status?.availableReplicas ?? 0) >= (w.spec?.replicas ?? 1))) return;
      await new Promise((done) => setTimeout(done, 1000));
    }
  } finally {
    api.close();
  }
}

const cloudPower = () => new DigitalOceanProvider().cloudPower({ token: TOKEN, baseUrl: mimic.url, pollIntervalMs: 200 });
const dirs = () => ({ chartsDir: join(dir, 'out', 'charts-out'), infraDir: join(dir, 'out', 'infra-out') });

describe('keelson drill against a kept rehearsal', () => {
  it("probes each enabled app's public host by default", () => {
    expect(publicProbes(spec).map((p) => p.url)).toEqual([`https://www.${spec.config.domain}/`, `https://cloud.${spec.config.domain}/`, `https://media.${spec.config.domain}/`]);
  });

  it("with dryRun, returns every cloud request for verify's worst case and sends none", async () => {
    const report = await drill(spec, { ...dirs(), kubeconfig, power: cloudPower(), dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.plan.nodes).toHaveLength(2);
    expect(report.plan.powerOff.filter((r) => r.method === 'POST').map((r) => [r.url, r.body])).toEqual(report.plan.nodes.map((n) => [`${mimic.url}/droplets/{id of ${n}}/actions`, { type: 'power_off' }]));
    expect(report.plan.powerOn.filter((r) => r.method === 'POST').map((r) => r.body)).toEqual([{ type: 'power_on' }, { type: 'power_on' }]);
    expect(report.plan.probes.map((p) => p.name)).toEqual([`www.${spec.config.domain}`, `cloud.${spec.config.domain}`, `media.${spec.config.domain}`, 'kube-apiserver']);
    expect(report.plan.probes[3].url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/readyz$/);
    expect(formatDrill(report)).toMatch(/^drill \(dry run: nothing sent\)/);
    expect(mimic.requests).toEqual([]);
  });

  it('refuses to start while a Deployment is not fully available, naming it, and powers nothing off', async () => {
    const api = new ApiClient(kubeconfig);
    const labels = { app: 'drill-unready' };
    const created = await api.create('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'drill-unready', namespace: 'default' },
      spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { nodeSelector: { 'keelson.dev/none': 'x' }, containers: [{ name: 'c', image: 'registry.example/c:1.0.0' }] } } },
    });
    expect(created).toEqual({ ok: true });
    try {
      await expect(drill(spec, { ...dirs(), kubeconfig, power: cloudPower() })).rejects.toThrow(/the cluster is not healthy[\s\S]*Deployment default\/drill-unready has 0\/1 replicas available/);
      expect(mimic.powerRequests()).toEqual([]);
    } finally {
      await api.delete('/apis/apps/v1/namespaces/default/deployments/drill-unready');
      api.close();
    }
  });

  describe('a drill', () => {
    let report: DrillReport;
    const lines: string[] = [];

    beforeAll(async () => {
      await untilEveryWorkloadAvailable();
      report = await drill(spec, {
        ...dirs(),
        kubeconfig,
        power: cloudPower(),
        probes: [{ name: 'site', url: siteUrl }],
        // The rehearsal's control plane runs shortened timers; a live cluster runs production's (the default).
        timers: REHEARSAL_TIMERS,
        restoreTimeoutMs: 120_000,
        onProgress: (l) => lines.push(l),
      });
    });

    it("powers verify's worst-case nodes off and back on through the cloud API, with documented requests only", () => {
      // The mimic numbers the droplets from 3164400 in the order of the nodes.
      const ids = new Map(report.plan.nodes.map((n) => [n, 3164400 + nodeNames.indexOf(n)]));
      const offs = report.plan.nodes.map((n) => `POST /droplets/${ids.get(n)}/actions {"type":"power_off"}`);
      const ons = report.plan.nodes.map((n) => `POST /droplets/${ids.get(n)}/actions {"type":"power_on"}`);
      const posts = mimic.powerRequests();
      expect(posts.slice(0, 2).sort()).toEqual(offs.sort());
      expect(posts.slice(2).sort()).toEqual(ons.sort());
      expect(mimic.requests.every((r) => r.authorization === `Bearer ${TOKEN}` && r.status < 300)).toBe(true);
      for (const n of report.plan.nodes) expect(mimic.status(n)).toBe('active');
    });

    it("times each workload's recovery with the fault engine, the nodes seen NotReady and tainted by the real controllers", () => {
      const fault = report.fault;
      expect(fault?.failedNodes).toEqual(report.plan.nodes);
      for (const n of fault?.nodes ?? []) expect(n.taintedMs).toBeGreaterThan(0);
      const deployments = (fault?.workloads ?? []).filter((w) => w.workload.startsWith('Deployment '));
      expect(deployments.some((w) => w.status === 'recovered' && (w.recoveredMs ?? 0) > 0)).toBe(true);
      expect(deployments.filter((w) => w.status !== 'recovered' && w.status !== 'unaffected')).toEqual([]);
      expect(report.restoredMs).toBeGreaterThanOrEqual(0);
    });

    it("reports each probe's downtime and time to recover: the service down while the nodes were, the API server up", () => {
      const site = report.probes.find((p) => p.name === 'site');
      expect(site).toMatchObject({ downAtEnd: false, firstFailure: 'HTTP 503' });
      expect(site?.failedChecks).toBeGreaterThan(0);
      expect(site?.longestOutageMs).toBeGreaterThan(0);
      expect(site?.recoveredAfterMs).toBeGreaterThan(0);
      expect(report.probes.find((p) => p.name === 'kube-apiserver')).toMatchObject({ failedChecks: 0, longestOutageMs: 0, downAtEnd: false });
      expect(report.failures).toContainEqual(expect.stringMatching(/^probe site: down for \d+\.\d s at longest/));
      expect(report.ok).toBe(false);
      expect(formatDrill(report)).toMatch(/^drill: FAIL/m);
      expect(lines).toContainEqual(expect.stringMatching(/^powering .* back on through the digitalocean API$/));
    });
  });
});
