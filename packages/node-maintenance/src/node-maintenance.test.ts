import { App, Testing } from 'cdk8s';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { validateManifest } from '@keelson/k8s-schemas';
import { NodeMaintenance } from './node-maintenance';

const spec = parsePlatformConfig(exampleConfig());

describe('NodeMaintenance', () => {
  const chart = new NodeMaintenance(new App(), 'maintenance', { spec });
  const objects = Testing.synth(chart);
  const app = objects.find((o) => o.kind === 'Application' && o.metadata.name === 'maintenance-kured');
  const approver = objects.find((o) => o.kind === 'Application' && o.metadata.name === 'maintenance-kubelet-csr-approver');

  it('installs the pinned kured chart through an Argo CD Application', () => {
    expect(app.metadata).toMatchObject({ name: 'maintenance-kured', namespace: 'argocd' });
    expect(app.spec.source).toMatchObject({ repoURL: 'https://kubereboot.github.io/charts', chart: 'kured', targetRevision: '6.0.0' });
    expect(app.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'kured' });
  });

  it('reboots one node at a time, never forcing a reboot past a blocked drain', () => {
    expect(app.spec.source.helm.valuesObject.configuration).toMatchObject({ concurrency: 1, forceReboot: false, drainTimeout: '0', rebootSentinel: '/var/run/reboot-required' });
  });

  it('approves kubelet serving certificates only for this cluster\'s node names and node network', () => {
    expect(approver.spec.source).toMatchObject({ chart: 'kubelet-csr-approver', targetRevision: '1.2.13' });
    expect(approver.spec.source.helm.valuesObject).toEqual({
      providerRegex: '^keelson-(controller|worker)-[0-9]+$',
      providerIpPrefixes: ['10.10.0.0/16'],
      bypassDnsResolution: true,
      podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      // k+1 leader-elected replicas, one per node (the chart's default is 2, unspread).
      replicas: 3,
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'kubelet-csr-approver', 'app.kubernetes.io/instance': 'kubelet-csr-approver' } }, topologyKey: 'kubernetes.io/hostname' },
          ],
        },
      },
      // Each leaves a lost node within a stated bound.
      tolerations: [
        { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
      ],
    });
    expect(approver.spec.destination.namespace).toBe('kubelet-csr-approver');
    // The chart renders no PodDisruptionBudget; the layer does.
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'kubelet-csr-approver');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'kubelet-csr-approver', 'app.kubernetes.io/instance': 'kubelet-csr-approver' } } });
  });

  it('runs kured in its own privileged namespace, with the reason stated', () => {
    const ns = objects.find((o) => o.kind === 'Namespace' && o.metadata.name === 'kured');
    expect(ns.metadata.name).toBe('kured');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(ns.metadata.annotations['keelson.dev/pod-security-reason']).toMatch(/reboot/);
  });

  it('declares the chart repositories and cluster-scoped kinds for the AppProject', () => {
    expect(chart.upstreamDeclarations.map((d) => d.repoURL)).toEqual(['https://kubereboot.github.io/charts', 'https://postfinance.github.io/kubelet-csr-approver']);
    expect(chart.upstreamDeclarations.slice(0, 1)).toEqual([
      {
        repoURL: 'https://kubereboot.github.io/charts',
        namespace: 'kured',
        clusterResources: [
          { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
          { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
        ],
      },
    ]);
  });

  it('renders objects that validate against their schemas', () => {
    expect(objects.flatMap((o) => validateManifest(o).map((p) => `${o.kind} ${p.path}: ${p.message}`))).toEqual([]);
  });
});

describe('NodeMaintenance traffic', () => {
  it('declares only API server access for kured and the approver (the network layer denies everything else)', () => {
    const chart = new NodeMaintenance(new App(), 'maintenance', { spec: parsePlatformConfig(exampleConfig()) });
    expect(chart.trafficRules.map((r) => [r.from, r.to, r.ports])).toEqual([
      [{ kind: 'pods', namespace: 'kured' }, { kind: 'kube-apiserver' }, [{ port: 6443 }]],
      [{ kind: 'pods', namespace: 'kubelet-csr-approver' }, { kind: 'kube-apiserver' }, [{ port: 6443 }]],
    ]);
  });
});
