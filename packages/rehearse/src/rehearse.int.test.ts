import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlatformSpec, type PlatformSpec } from '@keelson/platform-spec';
import { KWOK_LEASE_DURATION_SECONDS } from './internal/kwok';
import { rehearse, type RehearsalReport } from './rehearse';
import { formatRehearsal } from './format';
import { renderRehearsalHtml } from './html';
import { synthExamplePlatform } from './test-fixtures';

// A real rehearsal: a control plane, six kwok nodes, the whole app of apps and a fault
// (broken-render.int.test.ts rehearses a render with its mistakes, beside it).
jest.setTimeout(600_000);

let dir: string;
let spec: PlatformSpec;
let rendered: { chartsDir: string; infraDir: string };

/** Renders the example platform with the built CLI, as a user's `keelson synth` would. */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keelson-rehearse-'));
  const { config, ...out } = await synthExamplePlatform(dir);
  rendered = out;
  spec = loadPlatformSpec(config);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * The upstream programs this Jest worker started that still run. Other
 * files' rehearsals run beside this one in their own workers (processes of
 * their own), so only this worker's children count.
 */
const processesLeft = () =>
  spawnSync('ps', ['-eo', 'ppid=,args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) === process.pid && /\/(kube-apiserver|kube-controller-manager|kube-scheduler|kwok|etcd) /.test(m[2]))
    .map((m) => m[2]);

describe('the example platform', () => {
  let report: RehearsalReport;

  beforeAll(async () => {
    report = await rehearse(spec, rendered);
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
