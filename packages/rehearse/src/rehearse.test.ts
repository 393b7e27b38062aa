import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { exampleConfig, loadPlatformSpec, type PlatformSpec } from '@keelson/platform-spec';
import { rehearse, type RehearsalReport } from './rehearse';
import { formatRehearsal } from './format';

// Two real rehearsals: a control plane, six kwok nodes, the whole app of apps and a fault.
jest.setTimeout(420_000);

const cli = resolve(__dirname, '../../../apps/platform/dist/keelson.cjs');
let dir: string;
let spec: PlatformSpec;

/** Renders the example platform with the built CLI, as a user's `keelson synth` would. */
beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing; build it with npx nx run platform:build (rehearse's test target depends on it)`);
  dir = mkdtempSync(join(tmpdir(), 'keelson-rehearse-'));
  const config = join(dir, 'platform.json');
  writeFileSync(config, JSON.stringify(exampleConfig()));
  const run = spawnSync(process.execPath, [cli, 'synth', '--config', config, '--out', join(dir, 'out'), '--secrets', join(dir, 'secrets')], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`keelson synth failed: ${run.stderr}`);
  spec = loadPlatformSpec(config);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const processesLeft = () =>
  spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(tmpdir()) && /\/(kube-apiserver|kube-controller-manager|kube-scheduler|kwok|etcd) /.test(l));

describe('the example platform', () => {
  let report: RehearsalReport;

  beforeAll(async () => {
    report = await rehearse(spec, { chartsDir: join(dir, 'out', 'charts-out'), infraDir: join(dir, 'out', 'infra-out') });
  });

  it('registers one node per topology node with the size of its server type', () => {
    expect(report.nodes.map((n) => n.name)).toEqual(['keelson-controller-1', 'keelson-controller-2', 'keelson-controller-3', 'keelson-controller-4', 'keelson-controller-5', 'keelson-worker-1']);
    expect(report.nodes[0]).toMatchObject({ role: 'controller', size: 's-4vcpu-8gb', zone: 'fra1', cpuMillis: 4000, pods: 110 });
  });

  it('syncs every Application like Argo CD, with no failure', () => {
    expect(report.sync.failures).toEqual([]);
    expect(report.sync.applications.map((a) => [a.name, a.status])).toEqual(report.sync.applications.map((a) => [a.name, 'Synced']));
    expect(report.sync.applications.find((a) => a.name === 'root')?.health).toBe('Healthy');
    // Custom resources whose CRD comes later in the same sync skip the dry-run, as Argo CD does.
    expect(report.sync.applications.find((a) => a.name === 'storage')?.dryRunSkipped).toBeGreaterThan(0);
  });

  it("renders the charts that read the cluster's API versions exactly as keelson verify's desired state has them (Argo CD's repo server would pass this API server's versions)", () => {
    expect(report.rendering.applications).toContain('ingress-traefik');
    expect(report.rendering.changes).toEqual([]);
  });

  it('places every pod of every Deployment, StatefulSet and DaemonSet, within each node\'s allocatable resources', () => {
    expect(report.scheduling?.pending).toEqual([]);
    expect(report.scheduling?.ok).toBe(true);
    for (const n of report.scheduling?.nodes ?? []) expect(n.cpuRequestedMillis).toBeLessThanOrEqual(n.cpuAllocatableMillis);
    expect(report.volumes.every((v) => v.state === 'bound')).toBe(true);
  });

  it("fails verify's worst-case nodes and brings every Deployment back on the survivors", () => {
    const [worst] = report.faults;
    expect(worst.name).toBe('worst case');
    expect(worst.failedNodes).toHaveLength(2);
    for (const n of worst.nodes) expect(n.taintedMs).toBeGreaterThan(0);
    const deployments = worst.workloads.filter((w) => w.workload.startsWith('Deployment '));
    expect(deployments.filter((w) => w.status !== 'recovered' && w.status !== 'unaffected')).toEqual([]);
    expect(deployments.some((w) => w.status === 'recovered' && (w.productionEstimateMs ?? 0) > (w.recoveredMs ?? 0))).toBe(true);
    // A StatefulSet that lost a pod waits for its node: Kubernetes' rule, reported with the remedy.
    for (const w of worst.workloads.filter((x) => x.workload.startsWith('StatefulSet ') && x.status !== 'recovered' && x.status !== 'unaffected')) {
      expect(w.reason).toMatch(/a StatefulSet creates no replacement until the node confirms the pod is gone/);
    }
  });

  it('prints a summary per phase and leaves no process running', () => {
    const text = formatRehearsal(report);
    expect(text).toMatch(/^sync \(.*\): 19\/19 Applications synced/m);
    expect(text).toMatch(/^faults, worst case/m);
    expect(processesLeft()).toEqual([]);
  });
});

describe('a broken render', () => {
  let report: RehearsalReport;

  beforeAll(async () => {
    const broken = join(dir, 'broken');
    cpSync(join(dir, 'out', 'charts-out'), join(broken, 'charts-out'), { recursive: true });
    const labels = { 'app.kubernetes.io/name': 'crowded' };
    // Seven replicas, at most one per node, on six nodes.
    const crowded = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'crowded', namespace: 'website' },
      spec: {
        replicas: 7,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' }] } },
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'web',
                image: 'registry.example/web:1.2.3',
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                resources: { requests: { cpu: '10m', memory: '16Mi' } },
              },
            ],
          },
        },
      },
    };
    writeFileSync(join(broken, 'charts-out', 'apps', 'deployment-website-crowded.yaml'), YAML.stringify(crowded));
    // A custom resource whose CRD nothing installs, without SkipDryRunOnMissingResource.
    writeFileSync(join(broken, 'charts-out', 'backups', 'widget-velero-probe.yaml'), YAML.stringify({ apiVersion: 'example.keelson.dev/v1', kind: 'Widget', metadata: { name: 'probe', namespace: 'velero' } }));
    report = await rehearse(spec, { chartsDir: join(broken, 'charts-out'), infraDir: join(dir, 'out', 'infra-out'), faults: false, schedulingTimeoutMs: 20_000 });
  });

  it('fails the dry-run of the Application that holds a custom resource without its CRD, naming it, and applies nothing of it', () => {
    const backups = report.sync.applications.find((a) => a.name === 'backups');
    expect(backups).toMatchObject({ status: 'Failed', applied: 0 });
    expect(report.sync.failures).toContainEqual(
      expect.objectContaining({ application: 'backups', wave: 0, object: 'Widget velero/probe', stage: 'dry-run', message: expect.stringMatching(/no CustomResourceDefinition for example\.keelson\.dev\/Widget is installed/) }),
    );
    expect(report.sync.applications.find((a) => a.name === 'backups-velero')).toMatchObject({ status: 'NotSynced', reason: expect.stringMatching(/its parent backups never created it: dry-run of Widget velero\/probe failed/) });
    expect(report.ok).toBe(false);
  });

  it("reports the pod the scheduler cannot place with the scheduler's own reason", () => {
    const pending = report.scheduling?.pending.filter((p) => p.workload === 'Deployment website/crowded') ?? [];
    expect(pending).toHaveLength(1);
    expect(pending[0].reason).toMatch(/0\/6 nodes are available: .*6 node\(s\) didn't match pod anti-affinity rules/);
    expect(report.failures).toContainEqual(expect.stringMatching(/^scheduling: Deployment website\/crowded has 6\/7 pods Running: 0\/6 nodes are available/));
  });
});
