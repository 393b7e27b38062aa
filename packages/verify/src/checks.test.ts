import { auditEncryption } from './encryption';
import { checkNoSsh, opensTcpPort } from './no-ssh';
import { deployment, fixtureNodes, manifest } from './test-fixtures';
import type { NodeInfo } from './types';
import { checkWorkloadSecurity, isPinnedImage } from './workload-security';

/** Controllers with kubeadm's ClusterConfiguration and kubelet config as synth renders them; `etcdArgs` overrides etcd's. */
function kubeadmNodes(etcdArgs: { name: string; value: string }[] = []): NodeInfo[] {
  return fixtureNodes(3, 0).map((n) => ({
    ...n,
    kubeadm: [
      ...n.kubeadm,
      { kind: 'ClusterConfiguration', controlPlaneEndpoint: 'api.example.com:6443', etcd: { local: { extraArgs: etcdArgs } }, apiServer: { extraArgs: [{ name: 'kubelet-certificate-authority', value: '/etc/kubernetes/pki/ca.crt' }] } },
      { kind: 'KubeletConfiguration', serverTLSBootstrap: true, authentication: { anonymous: { enabled: false } } },
    ],
  }));
}
const cilium = (encryption: object) =>
  manifest({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'network-cilium' }, spec: { source: { chart: 'cilium', helm: { valuesObject: { encryption } } } } });

describe('the encryption audit', () => {
  it('passes kubeadm stacked etcd, verified kubelets and Cilium WireGuard with node encryption', () => {
    const result = auditEncryption([cilium({ enabled: true, type: 'wireguard', nodeEncryption: true })], kubeadmNodes(), {}, 'infra-out/main.tf.json');
    expect(result.findings).toEqual([]);
    expect(result.rows?.map((r) => r.name)).toEqual(['etcd peer (2380)', 'API server -> etcd (2379)', 'API server -> kubelets (10250)', 'nodes -> API server (6443)', 'pod to pod', 'ingress -> apps']);
    expect(result.rows?.find((r) => r.name === 'ingress -> apps')?.detail).toBe('inside the pod network: Cilium WireGuard (pods and nodes)');
  });

  it('fails a plaintext etcd peer URL and a pod network without WireGuard', () => {
    const result = auditEncryption([cilium({ enabled: false })], kubeadmNodes([{ name: 'listen-peer-urls', value: 'http://0.0.0.0:2380' }]), {}, 'infra-out/main.tf.json');
    expect(result.findings.map((f) => f.message)).toEqual([
      'etcd peer (2380): etcd.local.extraArgs listen-peer-urls use http://',
      'pod to pod: Cilium values encryption.enabled is not true',
      'ingress -> apps: rides the pod network, which is not shown encrypted',
    ]);
  });
});

describe('the SSH check', () => {
  it('fails ssh_keys on a droplet, an SSH key resource and an unmasked sshd', () => {
    const nodes = fixtureNodes(3, 0);
    nodes[1] = { ...nodes[1], ignition: { systemd: { units: [{ name: 'sshd.service', mask: true }] } } };
    const tf = { resource: { digitalocean_droplet: { c1: { name: 'c1', ssh_keys: ['123'] } }, digitalocean_ssh_key: { admin: { name: 'admin' } } } };
    const messages = checkNoSsh(nodes, tf, 'main.tf.json').check.findings.map((f) => f.message);
    expect(messages).toEqual([
      'digitalocean_droplet.c1 sets ssh_keys = ["123"]; remove it (no SSH, ever)',
      'digitalocean_ssh_key.admin declares an SSH key; nodes take no keys: remove it',
      "node c2: sshd.socket is not masked; mask it in the node's Ignition (systemd.units: { name: sshd.socket, mask: true })",
    ]);
  });

  it('reads port ranges and "all ports" as opening 22', () => {
    expect(opensTcpPort({ protocol: 'tcp', ports: '1-65535' }, 22)).toBe(true);
    expect(opensTcpPort({ protocol: 'tcp', ports: 'all' }, 22)).toBe(true);
    expect(opensTcpPort({ protocol: 'udp', ports: '22' }, 22)).toBe(false);
    expect(opensTcpPort({ protocol: 'tcp', ports: '2379-2380' }, 22)).toBe(false);
  });
});

describe('workload security', () => {
  it('passes a restricted Deployment and names every rule a bare one breaks', () => {
    expect(checkWorkloadSecurity([manifest(deployment('ok', 3))], []).findings).toEqual([]);
    const bare = deployment('bare', 1, { securityContext: {}, image: 'nginx' });
    const rules = checkWorkloadSecurity([manifest(bare)], []).findings.map((f) => f.message.match(/\[([a-z-]+)\]/)?.[1]);
    expect(rules).toEqual(['run-as-non-root', 'no-privilege-escalation', 'drop-all-capabilities', 'read-only-root-filesystem', 'seccomp-runtime-default', 'pinned-image']);
  });

  it('excuses a listed deviation and reports an exception that excuses nothing', () => {
    const root = deployment('agent', 1, { securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } } });
    const exceptions = [
      { namespace: 'web', kind: 'Deployment', name: 'agent', rules: ['run-as-non-root' as const], reason: 'reads root-owned files' },
      { namespace: 'web', kind: 'Deployment', name: 'gone-*', rules: ['probes' as const], reason: 'no longer rendered' },
    ];
    expect(checkWorkloadSecurity([manifest(root)], exceptions).findings.map((f) => f.message)).toEqual([
      'stale exception: Deployment web/gone-* (probes) excuses nothing rendered; remove it',
    ]);
  });

  it('accepts tags and digests as pinned, not latest or no tag', () => {
    expect(isPinnedImage('quay.io/cilium/cilium:v1.19.4')).toBe(true);
    expect(isPinnedImage(`ghcr.io/x/y@sha256:${'a'.repeat(64)}`)).toBe(true);
    expect(isPinnedImage('registry:5000/app')).toBe(false);
    expect(isPinnedImage('nginx:latest')).toBe(false);
  });
});
