import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadPlatformSpec } from '@keelson/platform-spec';
import { renderRehearsalHtml } from './html';
import { rehearse, type RehearsalReport } from './rehearse';
import { synthExamplePlatform } from './test-fixtures';

// A real rehearsal of the example platform with mistakes written into its
// render: each must fail the phase that would meet it on a real cluster.
jest.setTimeout(600_000);

let dir: string;

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
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
    dir = mkdtempSync(join(tmpdir(), 'keelson-rehearse-broken-'));
    const { config, chartsDir, infraDir } = await synthExamplePlatform(dir);
    const out = join(dir, 'broken', 'charts-out');
    cpSync(chartsDir, out, { recursive: true });
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
    report = await rehearse(loadPlatformSpec(config), { chartsDir: out, infraDir, schedulingTimeoutMs: 20_000 });
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
