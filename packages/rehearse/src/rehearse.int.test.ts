import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { exampleConfig, loadPlatformSpec, type PlatformSpec } from '@keelson/platform-spec';
import { KWOK_LEASE_DURATION_SECONDS } from './internal/kwok';
import { rehearse, type RehearsalReport } from './rehearse';
import { formatRehearsal } from './format';
import { renderRehearsalHtml } from './html';

// Two real rehearsals: a control plane, six kwok nodes, the whole app of apps and a fault.
jest.setTimeout(600_000);

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
    expect(report.rendering).toEqual({ applications: [], changes: [] });
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
    // Only the clocks are shortened: the real node-lifecycle controller still waits out the grace period from the
    // last lease renewal (kwok renews every quarter of the lease) before NotReady, then taints, then evicts after the toleration.
    const { nodeMonitorGracePeriodSeconds: grace, defaultTolerationSeconds: toleration } = report.timers.rehearsal;
    const earliestNotReadyMs = (grace - KWOK_LEASE_DURATION_SECONDS / 4 - 1) * 1000;
    expect(earliestNotReadyMs).toBeGreaterThan(0);
    for (const n of worst.nodes) {
      expect(n.notReadyMs).toBeGreaterThanOrEqual(earliestNotReadyMs);
      expect(n.taintedMs).toBeGreaterThanOrEqual(n.notReadyMs ?? Number.POSITIVE_INFINITY);
    }
    for (const w of worst.workloads.filter((x) => x.status === 'recovered')) expect(w.recoveredMs).toBeGreaterThanOrEqual(earliestNotReadyMs + w.tolerationSeconds * 1000);
    expect(worst.workloads.some((w) => w.status === 'recovered' && w.tolerationSource === 'default' && w.tolerationSeconds === toleration)).toBe(true);
    const deployments = worst.workloads.filter((w) => w.workload.startsWith('Deployment '));
    expect(deployments.filter((w) => w.status !== 'recovered' && w.status !== 'unaffected')).toEqual([]);
    expect(deployments.some((w) => w.status === 'recovered' && (w.productionEstimateMs ?? 0) > (w.recoveredMs ?? 0))).toBe(true);
    // A StatefulSet that lost a pod waits for its node: Kubernetes' rule, reported with the remedy, and accepted only within the promise.
    for (const w of worst.workloads.filter((x) => x.workload.startsWith('StatefulSet ') && x.status !== 'recovered' && x.status !== 'unaffected')) {
      expect(w.reason).toMatch(/a StatefulSet creates no replacement until the node confirms the pod is gone/);
      expect(w.accepted).toBeDefined();
    }
    // etcd and Ceph keep quorum and copies on the survivors.
    expect(worst.quorum?.map((q) => q.service)).toEqual(expect.arrayContaining(['etcd']));
    expect(worst.quorum?.filter((q) => !q.ok)).toEqual([]);
    expect(worst.quorum?.find((q) => q.service === 'etcd')).toMatchObject({ total: 5, lost: 2, left: 3, need: 3 });
  });

  it('lets every PodDisruptionBudget give one pod, and drains a node through the eviction API', () => {
    expect(report.disruptions?.budgets.filter((b) => b.blocking)).toEqual([]);
    expect(report.disruptions?.budgets.some((b) => b.expectedPods > 1 && b.disruptionsAllowed >= 1)).toBe(true);
    expect(report.disruptions?.drain?.pods.filter((p) => !p.evicted)).toEqual([]);
  });

  it('passes: nothing failed', () => {
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('writes an HTML report with the sync timeline and the failure timeline of each scenario', () => {
    const html = renderRehearsalHtml(report);
    expect(html).toMatch(/<p class="verdict pass">PASS<\/p>/);
    expect(html).toContain('aria-label="sync timeline"');
    expect(html).toContain('aria-label="failure timeline of worst case"');
    for (const a of report.sync.applications) expect(html).toContain(`${a.name} (wave ${a.wave})`);
    expect(html).not.toMatch(/<script/);
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
  const restricted = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
  const container = (name: string, cpu: string) => ({
    name,
    image: 'registry.example/web:1.2.3',
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    resources: { requests: { cpu, memory: '16Mi' } },
  });
  const deployment = (name: string, replicas: number, cpu: string, antiAffinity = false) => {
    const labels = { 'app.kubernetes.io/name': name };
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'website' },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            ...(antiAffinity ? { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' }] } } } : {}),
            securityContext: restricted,
            containers: [container('web', cpu)],
          },
        },
      },
    };
  };
  const write = (file: string, object: unknown) => writeFileSync(file, YAML.stringify(object));

  beforeAll(async () => {
    const broken = join(dir, 'broken');
    const out = join(broken, 'charts-out');
    cpSync(join(dir, 'out', 'charts-out'), out, { recursive: true });
    // Seven replicas, at most one per node, on six nodes.
    write(join(out, 'apps', 'deployment-website-crowded.yaml'), deployment('crowded', 7, '10m', true));
    // Six replicas of 1.9 CPU: one per 4-CPU node fits, a second never does; after losing k nodes the rest cannot be placed.
    write(join(out, 'apps', 'deployment-website-fat.yaml'), deployment('fat', 6, '1900m'));
    // Two replicas under a budget that lets none go: every drain of their nodes waits for ever.
    write(join(out, 'apps', 'deployment-website-frozen.yaml'), deployment('frozen', 2, '10m', true));
    write(join(out, 'apps', 'poddisruptionbudget-website-frozen.yaml'), { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'frozen', namespace: 'website' }, spec: { minAvailable: 2, selector: { matchLabels: { 'app.kubernetes.io/name': 'frozen' } } } });
    // A StatefulSet whose claims name a StorageClass whose CSI driver nothing deploys.
    write(join(out, 'storage', 'storageclass-no-driver.yaml'), { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'no-driver' }, provisioner: 'none.csi.example.keelson.dev' });
    const labels = { 'app.kubernetes.io/name': 'stuck' };
    write(join(out, 'apps', 'statefulset-website-stuck.yaml'), {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'stuck', namespace: 'website' },
      spec: {
        replicas: 1,
        serviceName: 'stuck',
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { securityContext: restricted, containers: [{ ...container('db', '10m'), volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'no-driver', resources: { requests: { storage: '1Gi' } } } }],
      },
    });
    // A custom resource whose CRD nothing installs, without SkipDryRunOnMissingResource.
    write(join(out, 'backups', 'widget-velero-probe.yaml'), { apiVersion: 'example.keelson.dev/v1', kind: 'Widget', metadata: { name: 'probe', namespace: 'velero' } });
    // A ClusterIssuer whose CRD comes from the child Application ingress-cert-manager in the same folder, without SkipDryRunOnMissingResource.
    const issuer = YAML.parse(readFileSync(join(out, 'ingress', 'clusterissuer-letsencrypt-staging.yaml'), 'utf8'));
    delete issuer.metadata.annotations['argocd.argoproj.io/sync-options'];
    write(join(out, 'ingress', 'clusterissuer-letsencrypt-staging.yaml'), issuer);
    // An object in a namespace the AppProject does not list.
    write(join(out, 'maintenance', 'configmap-rogue-probe.yaml'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe', namespace: 'rogue' }, data: { a: 'b' } });
    report = await rehearse(spec, { chartsDir: out, infraDir: join(dir, 'out', 'infra-out'), schedulingTimeoutMs: 20_000 });
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

  it('fails the dry-run of a custom resource whose CRD comes from a child Application of the same folder, without SkipDryRunOnMissingResource', () => {
    expect(report.sync.applications.find((a) => a.name === 'ingress')).toMatchObject({ status: 'Failed', applied: 0 });
    expect(report.sync.failures).toContainEqual(
      expect.objectContaining({ application: 'ingress', object: 'ClusterIssuer letsencrypt-staging', stage: 'dry-run', message: expect.stringMatching(/no CustomResourceDefinition for cert-manager\.io\/ClusterIssuer is installed/) }),
    );
  });

  it("refuses, as Argo CD's AppProject does, an Application with an object in a namespace the project does not list, and applies nothing of it", () => {
    expect(report.sync.applications.find((a) => a.name === 'maintenance')).toMatchObject({ status: 'Failed', applied: 0 });
    expect(report.sync.failures).toContainEqual(expect.objectContaining({ application: 'maintenance', stage: 'project', message: expect.stringMatching(/rogue/) }));
  });

  it("reports the pod the scheduler cannot place with the scheduler's own reason", () => {
    const pending = report.scheduling?.pending.filter((p) => p.workload === 'Deployment website/crowded') ?? [];
    expect(pending).toHaveLength(1);
    expect(pending[0].reason).toMatch(/0\/6 nodes are available: .*6 node\(s\) didn't match pod anti-affinity rules/);
    expect(report.failures).toContainEqual(expect.stringMatching(/^scheduling: Deployment website\/crowded has 6\/7 pods Running: 0\/6 nodes are available/));
  });

  it('leaves the claim of a StorageClass whose CSI driver nothing deploys Pending, and its StatefulSet without a pod', () => {
    expect(report.volumes).toContainEqual(expect.objectContaining({ claim: 'website/data-stuck-0', storageClass: 'no-driver', state: 'pending', detail: expect.stringMatching(/none\.csi\.example\.keelson\.dev/) }));
    expect(report.failures).toContainEqual(expect.stringMatching(/^volumes: PersistentVolumeClaim website\/data-stuck-0 stays Pending/));
    expect(report.failures).toContainEqual(expect.stringMatching(/^scheduling: StatefulSet website\/stuck has 0\/1 pods Running/));
  });

  it('refuses a PodDisruptionBudget that lets no pod go, as the real disruption controller counts it', () => {
    expect(report.disruptions?.budgets).toContainEqual({ budget: 'PodDisruptionBudget website/frozen', expectedPods: 2, currentHealthy: 2, disruptionsAllowed: 0, blocking: true });
    expect(report.failures).toContainEqual(expect.stringMatching(/^disruptions: PodDisruptionBudget website\/frozen allows no eviction with all 2 of its pods healthy/));
    // The platform's own budgets each let one pod go.
    expect(report.disruptions?.budgets.filter((b) => b.blocking).map((b) => b.budget)).toEqual(['PodDisruptionBudget website/frozen']);
    expect(report.disruptions?.drain?.pods.length).toBeGreaterThan(0);
    // The HTML report marks each failure.
    const html = renderRehearsalHtml(report);
    expect(html).toMatch(/<p class="verdict fail">FAIL \(\d+ failures\)<\/p>/);
    expect(html).toContain('PodDisruptionBudget website/frozen allows no eviction');
  });

  it('fails a Deployment whose requests fit on every node but not on the survivors of the worst case, with the scheduler\'s reason', () => {
    const [worst] = report.faults;
    const fat = worst.workloads.find((w) => w.workload === 'Deployment website/fat');
    // The scheduler may stack two on the worker, so the failed nodes hold one or two.
    expect(fat).toMatchObject({ replicas: 6, status: 'degraded' });
    expect(fat?.podsOnFailedNodes).toBeGreaterThanOrEqual(1);
    expect(fat?.reason).toMatch(/replacement Pending: .*Insufficient cpu/);
    expect(report.failures).toContainEqual(expect.stringMatching(/^faults \(worst case: .*\): Deployment website\/fat is degraded/));
  });
});
