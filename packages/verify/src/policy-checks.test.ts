// Unit tests of the policy checks' helpers and exception tables; the
// mutation suite (mutations-*.test.ts) proves each check on the real render.
import type { DesiredState } from '@keelson/upstream';
import { judgeHostPaths } from './admission';
import { checkArgoCd } from './argocd';
import { checkNetworkPolicy, cidrContains } from './network-policy';
import { goDurationSeconds, neverApplied } from './objects';
import { checkRbac } from './rbac';
import { deployment, manifest } from './test-fixtures';
import type { K8sObject } from './types';

const denyAll = (namespace: string): K8sObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
const binding = (name: string, role: string): K8sObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { kind: 'ClusterRole', name: role }, subjects: [{ kind: 'ServiceAccount', name, namespace: 'web' }] } as K8sObject);

describe('helpers', () => {
  it('reads CIDRs that hold an address', () => {
    expect(cidrContains('169.254.0.0/16', '169.254.169.254')).toBe(true);
    expect(cidrContains('169.254.0.0/24', '169.254.169.254')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '169.254.169.254')).toBe(true);
    expect(cidrContains('fd00::/8', '169.254.169.254')).toBe(false);
  });

  it("reads Go durations as Velero's ttl is written", () => {
    expect(goDurationSeconds('720h0m0s')).toBe(2592000);
    expect(goDurationSeconds('0s')).toBe(0);
    expect(goDurationSeconds('1.5h')).toBe(5400);
    expect(goDurationSeconds('thirty days')).toBeUndefined();
  });

  it('leaves out Helm test hooks, which Argo CD never applies', () => {
    expect(neverApplied({ kind: 'Job', metadata: { annotations: { 'helm.sh/hook': 'test' } } })).toBe(true);
    expect(neverApplied({ kind: 'Job', metadata: { annotations: { 'helm.sh/hook': 'pre-install,pre-upgrade' } } })).toBe(false);
    expect(neverApplied({ kind: 'Job', metadata: { annotations: { 'argocd.argoproj.io/hook': 'Skip' } } })).toBe(true);
  });
});

describe('network policy on a pod network that enforces none', () => {
  it('warns that flannel enforces no NetworkPolicy and no metadata-service block', () => {
    const flannel: K8sObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-flannel-cfg', namespace: 'kube-flannel' } };
    const result = checkNetworkPolicy([manifest(deployment('app', 3)), manifest(denyAll('web')), manifest(flannel)], []);
    expect(result.findings).toEqual([]);
    expect(result.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^the pod network is flannel, which enforces no NetworkPolicy: .* metadata service 169\.254\.169\.254/)]);
    expect(result.summary).toMatch(/NOT ENFORCED by the pod network \(flannel\)/);
  });
});

describe('the exception tables', () => {
  it('fails a network-policy exception that excuses nothing rendered', () => {
    const result = checkNetworkPolicy([manifest(deployment('app', 3)), manifest(denyAll('web'))], [{ namespace: 'web', rule: 'default-deny', reason: 'once had none' }]);
    expect(result.findings.map((f) => f.message)).toContainEqual('stale exception: network policy default-deny in namespace web excuses nothing rendered: remove it from NETWORK_POLICY_EXCEPTIONS');
  });

  it('reports a used network-policy exception as a warning, not a failure', () => {
    const result = checkNetworkPolicy([manifest(deployment('app', 3))], [{ namespace: 'web', rule: 'default-deny', reason: 'the reason' }]);
    expect(result.findings.filter((f) => /default-deny/.test(f.message))).toEqual([]);
    expect(result.warnings.map((w) => w.message)).toEqual(['excused: default-deny in namespace web: the reason']);
  });

  it('fails an RBAC exception whose binding grants nothing wide any more, and excuses one that does', () => {
    const narrow: K8sObject = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'narrow' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } as K8sObject;
    const exceptions = [
      { kind: 'ClusterRoleBinding' as const, name: 'operator', reason: 'needs everything' },
      { kind: 'ClusterRoleBinding' as const, name: 'reader', reason: 'needed everything once' },
    ];
    const result = checkRbac([manifest(narrow), manifest(binding('operator', 'cluster-admin')), manifest(binding('reader', 'narrow'))], exceptions);
    expect(result.findings.map((f) => f.message)).toEqual(['stale exception: ClusterRoleBinding reader no longer grants cluster-admin or a wildcard role: remove it from RBAC_EXCEPTIONS']);
    expect(result.warnings).toHaveLength(1);
  });

  it('fails a sync-policy exception whose Application now prunes', () => {
    const app = { name: 'argocd', file: 'charts-out/argocd/application-argocd-argocd.yaml', manifest: { spec: { project: 'keelson', syncPolicy: { automated: { prune: true, selfHeal: true } } } } };
    const state = { applications: [app], objects: [] } as unknown as DesiredState;
    expect(checkArgoCd(state, [{ application: 'argocd', missing: 'prune', reason: 'self-managed' }]).findings.map((f) => f.message)).toEqual(['stale exception: Application argocd now sets prune: remove it from SYNC_POLICY_EXCEPTIONS']);
  });
});

describe('host paths of every workload of the desired state', () => {
  /** A DaemonSet of an upstream chart (as the desired state renders it) mounting `paths`. */
  const agent = (name: string, namespace: string, paths: string[]): K8sObject => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace },
    spec: { template: { spec: { containers: [{ name, image: 'registry.example/agent:1.0.0' }], volumes: paths.map((path, i) => ({ name: `host-${i}`, hostPath: { path } })) } } },
  });
  const exception = { namespace: 'kube-system', kind: 'DaemonSet', name: 'cni-agent', paths: ['/opt/cni/bin', '/etc/cni/net.d'], reason: 'installs the CNI plugin' };
  const upstream = (o: K8sObject) => manifest(o, 'cni/templates/daemonset.yaml');

  it('refuses a hostPath in an upstream chart workload the table does not list, naming the workload and the path', () => {
    const result = judgeHostPaths([upstream(agent('log-shipper', 'logging', ['/var/log']))], [exception]);
    expect(result.findings).toEqual([
      {
        file: 'cni/templates/daemonset.yaml',
        message: expect.stringMatching(/^DaemonSet logging\/log-shipper mounts hostPath \/var\/log \(volume host-0\): a pod that reads or writes the node's files escapes its container; .* list it with the reason in packages\/verify\/src\/exceptions.ts \(HOST_PATH_EXCEPTIONS\)$/),
      },
    ]);
  });

  it('allows only the listed paths of a listed workload, and reports the exception with its reason', () => {
    const ok = judgeHostPaths([upstream(agent('cni-agent', 'kube-system', ['/opt/cni/bin', '/etc/cni/net.d']))], [exception]);
    expect(ok.findings).toEqual([]);
    expect(ok.warnings.map((w) => w.message)).toEqual(['excused: DaemonSet kube-system/cni-agent mounts host paths /opt/cni/bin, /etc/cni/net.d: installs the CNI plugin']);
    const beyond = judgeHostPaths([upstream(agent('cni-agent', 'kube-system', ['/opt/cni/bin', '/etc/cni/net.d', '/']))], [exception]);
    expect(beyond.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^DaemonSet kube-system\/cni-agent mounts hostPath \/ \(volume host-2\):/)]);
  });

  it('fails a listed path the rendered workload no longer mounts as stale, and leaves an exception for an unrendered workload alone', () => {
    const result = judgeHostPaths([upstream(agent('cni-agent', 'kube-system', ['/opt/cni/bin']))], [exception, { ...exception, name: 'other-cni' }]);
    expect(result.findings.map((f) => f.message)).toEqual(['stale exception: DaemonSet kube-system/cni-agent lists host path /etc/cni/net.d, which its rendered workload does not mount: remove it from HOST_PATH_EXCEPTIONS']);
    expect(result.summary).toBe('1 hostPath volumes in 1 workloads of the desired state, only those of 1 listed exceptions (1 more for workloads this config does not render)');
  });
});
