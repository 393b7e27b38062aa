import { combinations, failureModel, proveFaultTolerance, RECOVERY_BOUND_ANNOTATION } from './fault-tolerance';
import { cephPool, deployment, fixtureNodes, manifest, pdb } from './test-fixtures';

const six = fixtureNodes(5, 1);
const row = (result: ReturnType<typeof proveFaultTolerance>, name: string) => {
  const s = result.services.find((x) => x.name === name);
  if (!s) throw new Error(`no service ${name} in ${result.services.map((x) => x.name).join(', ')}`);
  return s;
};

describe('the failure model', () => {
  it('checks every k-subset of N nodes under any-third', () => {
    const model = failureModel(six);
    expect(model).toMatchObject({ model: 'any-third', k: 2 });
    expect(model.scenarios).toHaveLength(15);
    expect(new Set(model.scenarios.map((s) => s.join())).size).toBe(15);
    expect(combinations([1, 2, 3, 4], 2)).toEqual([[1, 2], [1, 3], [1, 4], [2, 3], [2, 4], [3, 4]]);
  });

  it('takes one failure domain at a time when nodes carry several zones', () => {
    const model = failureModel(fixtureNodes(7, 5, 3));
    expect(model.model).toBe('failure-domains');
    expect(model.k).toBe(4);
    expect(model.scenarios.map((s) => s.length)).toEqual([4, 4, 4]);
  });
});

describe('the fault-tolerance proof', () => {
  it('passes etcd with 2k+1 members and names the k controllers that cause the worst case', () => {
    const result = proveFaultTolerance([], six);
    const etcd = row(result, 'etcd');
    expect(etcd.ok).toBe(true);
    expect(etcd.detail).toBe('5 members; worst case loses 2, 3 left (needs 3)');
    expect(etcd.failedNodes).toEqual(['c1', 'c2']);
  });

  it('fails an even etcd membership', () => {
    const result = proveFaultTolerance([], fixtureNodes(4, 2));
    expect(result.check.ok).toBe(false);
    expect(result.check.findings.map((f) => f.message)).toContainEqual(expect.stringMatching(/^etcd: 4 members is even/));
    expect(result.check.findings.map((f) => f.message)).toContainEqual(expect.stringMatching(/^etcd: losing c1, c2 takes 2 of 4 members, leaving 2; quorum is 3 of 4/));
  });

  it('fails a Deployment with k replicas even with anti-affinity', () => {
    const result = proveFaultTolerance([manifest(deployment('web', 2, { antiAffinity: true })), manifest(pdb('web'))], six);
    const web = row(result, 'Deployment web/web');
    expect(web.ok).toBe(false);
    expect(web.problems).toEqual([expect.stringMatching(/^losing c1, c2 takes 2 of 2 replicas \(required anti-affinity on kubernetes.io\/hostname\), leaving 0; run at least 3 replicas/)]);
  });

  it('fails k+1 replicas without anti-affinity: all may share one node', () => {
    const result = proveFaultTolerance([manifest(deployment('web', 3)), manifest(pdb('web'))], six);
    expect(row(result, 'Deployment web/web').problems).toEqual([expect.stringMatching(/takes 3 of 3 replicas \(nothing keeps replicas on different nodes: all may share one node\), leaving 0/)]);
  });

  it('passes k+1 replicas with a required anti-affinity or a DoNotSchedule spread, and a PDB', () => {
    for (const options of [{ antiAffinity: true }, { spread: true }]) {
      const result = proveFaultTolerance([manifest(deployment('web', 3, options)), manifest(pdb('web'))], six);
      const web = row(result, 'Deployment web/web');
      expect(web.ok).toBe(true);
      expect(web.detail).toBe('3 replicas; worst case loses 2, 1 left (needs 1)');
      expect(web.failedNodes).toHaveLength(2);
    }
  });

  it('fails a spread Deployment without a PodDisruptionBudget', () => {
    const result = proveFaultTolerance([manifest(deployment('web', 3, { antiAffinity: true }))], six);
    expect(row(result, 'Deployment web/web').problems).toEqual([expect.stringMatching(/^no PodDisruptionBudget selects its pods/)]);
  });

  it('fails a Ceph pool with size 3 on 6 nodes and passes size k+2', () => {
    const result = proveFaultTolerance([manifest(cephPool('small', 3)), manifest(cephPool('right', 4, 'host', 2))], six);
    expect(row(result, 'CephBlockPool rook-ceph/small').problems).toEqual([expect.stringMatching(/^losing c1, c2 takes 2 of 3 copies \(failure domain host\), leaving 1; min_size 2/)]);
    expect(row(result, 'CephBlockPool rook-ceph/right').ok).toBe(true);
  });

  it('passes a singleton whose timeouts add up within its stated bound, fails one without tolerations or over its bound', () => {
    const singleton = (name: string, tolerationSeconds?: number, bound?: string) => {
      const d = deployment(name, 1) as any;
      if (bound !== undefined) d.metadata.annotations = { [RECOVERY_BOUND_ANNOTATION]: bound };
      if (tolerationSeconds !== undefined) {
        d.spec.template.spec.tolerations = ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds }));
      }
      return manifest(d);
    };
    const result = proveFaultTolerance([singleton('media', 10, '90'), singleton('slow', 30, '90'), singleton('default-bound', 30), singleton('stated-only', undefined, '120'), singleton('other')], six);
    // 50 s grace (the default) + 10 s toleration + 30 s start = 90 s.
    expect(row(result, 'Deployment web/media')).toMatchObject({ ok: true, detail: expect.stringMatching(/within 90s \(50 s grace \+ 10 s toleration \+ 30 s start, bound 90 s\)/) });
    expect(row(result, 'Deployment web/slow').problems).toEqual([
      expect.stringMatching(/^it comes back after 50 s \(the --node-monitor-grace-period default\) \+ 30 s \(unreachable\/not-ready tolerationSeconds\) \+ 30 s \(start allowance\) = 110 s, over its keelson.dev\/recovery-bound-seconds annotation of 90 s: give it .* tolerationSeconds of at most 10$/),
    ]);
    expect(row(result, 'Deployment web/default-bound').problems).toEqual([expect.stringMatching(/= 110 s, over the platform's recovery bound of 90 s/)]);
    // A bound stated without tolerations: DefaultTolerationSeconds evicts after 300 s.
    expect(row(result, 'Deployment web/stated-only').problems).toEqual([expect.stringMatching(/\+ 300 s \(the 300 s DefaultTolerationSeconds gives a pod that does not tolerate node.kubernetes.io\/unreachable\) \+ 30 s \(start allowance\) = 380 s, over its .* annotation of 120 s/)]);
    expect(row(result, 'Deployment web/other').problems).toEqual([expect.stringMatching(/a single replica with no recovery bound/)]);
  });

  it("reads the node controller's grace period from the controllers' kubeadm ClusterConfiguration", () => {
    const nodes = fixtureNodes(5, 1).map((n) =>
      n.role === 'controller' ? { ...n, kubeadm: [...n.kubeadm, { kind: 'ClusterConfiguration', controllerManager: { extraArgs: [{ name: 'node-monitor-grace-period', value: '1m30s' }] } }] } : n,
    );
    const d = deployment('media', 1) as any;
    d.spec.template.spec.tolerations = ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }));
    const result = proveFaultTolerance([manifest(d)], nodes);
    expect(row(result, 'Deployment web/media').problems).toEqual([expect.stringMatching(/^it comes back after 90 s \(--node-monitor-grace-period=1m30s \(c1\)\) \+ 10 s .* = 130 s, over the platform's recovery bound of 90 s: the grace period alone leaves no room/)]);
  });

  it("fails a StatefulSet with one replica whatever its tolerations (it is not replaced while its node is down), passes the excepted one, and refuses a stale exception", () => {
    const statefulSet = (name: string, namespace: string, replicas: number) => {
      const d = deployment(name, replicas) as any;
      d.kind = 'StatefulSet';
      d.metadata.namespace = namespace;
      d.spec.template.spec.tolerations = [
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      ];
      return d;
    };
    const result = proveFaultTolerance([manifest(statefulSet('queue', 'web', 1)), manifest(statefulSet('argocd-application-controller', 'argocd', 1))], six);
    expect(row(result, 'StatefulSet web/queue')).toMatchObject({ ok: false, problems: [expect.stringMatching(/^a StatefulSet with one replica: its pod on a failed node is not replaced until the node is back .*run it as a Deployment/)] });
    expect(row(result, 'StatefulSet argocd/argocd-application-controller')).toMatchObject({ ok: true, detail: expect.stringMatching(/^singleton StatefulSet: paused while its node is down, back with the node \(accepted: /) });
    const stale = proveFaultTolerance([manifest(statefulSet('argocd-application-controller', 'argocd', 3))], six);
    expect(stale.check.findings.map((f) => f.message)).toContainEqual(expect.stringMatching(/^StatefulSet argocd\/argocd-application-controller: the fault-tolerance exception for it is stale \(it runs 3 replicas now\): remove it from FAULT_TOLERANCE_EXCEPTIONS/));
  });

  it('proves N = 3 ... 12: etcd with 2k+1 members survives every choice of k nodes, and k replicas never do', () => {
    for (let n = 3; n <= 12; n++) {
      // any-third up to 11 nodes; 12 nodes need the failure-domains model (2k+1 = 9 members is above etcd's 7).
      const zones = n === 12 ? 3 : 0;
      const k = zones ? 4 : Math.floor(n / 3);
      const controllers = zones ? 7 : 2 * k + 1;
      const nodes = fixtureNodes(controllers, n - controllers, zones);
      const replicas = zones ? 2 : k + 1;
      const good = proveFaultTolerance([manifest(deployment('web', replicas, { antiAffinity: true, topologyKey: zones ? 'topology.kubernetes.io/zone' : 'kubernetes.io/hostname' })), manifest(pdb('web')), manifest(cephPool('pool', zones ? 3 : k + 2, zones ? 'zone' : 'host', 2))], nodes);
      expect({ n, k: good.model.k, ok: good.check.ok, findings: good.check.findings }).toEqual({ n, k, ok: true, findings: [] });
      expect(row(good, 'etcd').failedNodes).toHaveLength(zones ? 4 : k);
      const bad = proveFaultTolerance([manifest(deployment('web', zones ? 1 : k, { antiAffinity: true })), manifest(pdb('web'))], nodes);
      expect(row(bad, 'Deployment web/web').ok).toBe(false);
    }
  });

  it('judges upstream workloads only on their rendered objects, and warns on an Application it was not given', () => {
    const app = (name: string, chart: string) =>
      manifest({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: 'argocd' }, spec: { destination: { namespace: name }, source: { chart, repoURL: 'https://x', targetRevision: '1.0.0', helm: { valuesObject: { replicas: 3 } } } } });
    // What the chart really renders for 'rendered' (the desired state): a 2-replica Deployment, no spread, no PDB.
    const chartObject = { file: 'helm rendered 1.0.0: rendered/templates/deployment.yaml', object: deployment('rendered', 2) };
    const result = proveFaultTolerance([app('rendered', 'rendered'), app('unseen', 'unseen'), chartObject], six, new Set(['rendered']));
    expect(row(result, 'Deployment web/rendered').ok).toBe(false);
    expect(row(result, 'Deployment web/rendered').problems).toContainEqual(expect.stringMatching(/nothing keeps replicas on different nodes/));
    expect(result.check.warnings).toEqual([
      { file: expect.any(String), message: 'Application unseen: not analysed (chart unseen 1.0.0): verify the desired state (keelson verify renders it with the real helm and kustomize)' },
    ]);
  });

  it('picks the platform worst case that breaks the most services, with placements for the picture', () => {
    const result = proveFaultTolerance([manifest(deployment('web', 2, { antiAffinity: true })), manifest(pdb('web'))], six);
    expect(result.worst.failedNodes).toHaveLength(2);
    expect(result.worst.broken).toEqual(['Deployment web/web']);
    expect(result.worst.recovering).toEqual([]);
    const placement = result.worst.placements['Deployment web/web'];
    expect(Object.keys(placement).sort()).toEqual([...result.worst.failedNodes].sort());
  });
});

describe('Ceph daemons that restart elsewhere', () => {
  const cluster = (tolerations?: object[]) =>
    manifest({ apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', metadata: { name: 'rook-ceph', namespace: 'rook-ceph' }, spec: { mon: { count: 5 }, mgr: { count: 2 }, ...(tolerations ? { placement: { mgr: { tolerations } } } : {}) } });

  it('passes two managers that both may fail only when they come back within a stated bound', () => {
    const failover = (tolerationSeconds: number) => ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds }));
    const bounded = row(proveFaultTolerance([cluster(failover(10))], six), 'CephCluster rook-ceph/rook-ceph managers');
    expect(bounded).toMatchObject({ ok: true, detail: '2 managers; worst case loses 2, back on other nodes within 90s (50 s grace + 10 s toleration + 30 s start, bound 90 s)' });
    // 50 s + 30 s + 30 s is over the platform's 90 s.
    expect(row(proveFaultTolerance([cluster(failover(30))], six), 'CephCluster rook-ceph/rook-ceph managers').problems).toEqual([expect.stringMatching(/^it comes back after .* = 110 s, over the platform's recovery bound of 90 s/)]);
    const unbounded = row(proveFaultTolerance([cluster()], six), 'CephCluster rook-ceph/rook-ceph managers');
    expect(unbounded.problems).toEqual([expect.stringMatching(/takes 2 of 2 managers \(one manager per node\), leaving 0; one manager must stay active/)]);
    expect(row(proveFaultTolerance([cluster()], six), 'CephCluster rook-ceph/rook-ceph monitors').ok).toBe(true);
  });
});

describe('Ceph-CSI controller plugins, as the ceph-csi-operator deploys them from a Driver', () => {
  const driver = (controllerPlugin: Record<string, unknown>) =>
    manifest({ apiVersion: 'csi.ceph.io/v1', kind: 'Driver', metadata: { name: 'rook-ceph.rbd.csi.ceph.com', namespace: 'rook-ceph' }, spec: { controllerPlugin } });
  const budget = manifest({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'rbd-ctrlplugin', namespace: 'rook-ceph' },
    spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'rook-ceph.rbd.csi.ceph.com-ctrlplugin' } } },
  });
  const name = 'Deployment rook-ceph/rook-ceph.rbd.csi.ceph.com-ctrlplugin (from Driver rook-ceph/rook-ceph.rbd.csi.ceph.com)';

  it('keeps k+1 replicas spread by the operator\'s own anti-affinity, with our PodDisruptionBudget', () => {
    const result = proveFaultTolerance([driver({ replicas: 3 }), budget], six);
    expect(row(result, name)).toMatchObject({ ok: true });
  });

  it("refuses the operator's default of 2 replicas for k = 2, and a Driver without a PodDisruptionBudget", () => {
    const short = row(proveFaultTolerance([driver({}), budget], six), name);
    expect(short.ok).toBe(false);
    expect(short.problems.join('\n')).toMatch(/takes 2 of 2 replicas/);
    const unguarded = row(proveFaultTolerance([driver({ replicas: 3 })], six), name);
    expect(unguarded.problems.join('\n')).toMatch(/no PodDisruptionBudget selects its pods/);
  });
});

describe('Ceph monitors under failure domains', () => {
  const zones = fixtureNodes(5, 4, 3);
  const cluster = (placement: Record<string, unknown>) =>
    manifest({ apiVersion: 'ceph.rook.io/v1', kind: 'CephCluster', metadata: { name: 'rook-ceph', namespace: 'rook-ceph' }, spec: { mon: { count: 5 }, mgr: { count: 2 }, placement } });
  const name = 'CephCluster rook-ceph/rook-ceph monitors';

  it('refuses 5 monitors spread only one per node: one zone can hold 3 and take quorum with it', () => {
    const mons = row(proveFaultTolerance([cluster({})], zones), name);
    expect(mons.ok).toBe(false);
    expect(mons.problems.join('\n')).toMatch(/takes 3 of 5 monitors .* spread them over the zones \(placement\.mon topologySpreadConstraints/);
  });

  it('passes them spread over zones by placement.mon (maxSkew 1, DoNotSchedule: at most 2 per zone), read together with one per node', () => {
    const spread = { topologySpreadConstraints: [{ topologyKey: 'topology.kubernetes.io/zone', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'rook-ceph-mon' } } }] };
    expect(row(proveFaultTolerance([cluster({ mon: spread })], zones), name)).toMatchObject({ ok: true, detail: expect.stringContaining('worst case loses 2, 3 left (needs 3)') });
    // A constraint that selects other pods does not spread the monitors.
    const other = { topologySpreadConstraints: [{ ...spread.topologySpreadConstraints[0], labelSelector: { matchLabels: { app: 'something-else' } } }] };
    expect(row(proveFaultTolerance([cluster({ mon: other })], zones), name).ok).toBe(false);
  });
});
