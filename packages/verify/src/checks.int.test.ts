import { join } from 'node:path';
import YAML from 'yaml';
import { helmTemplate } from '@keelson/upstream';
import { auditEncryption } from './encryption';
import { fixtureNodes, manifest } from './test-fixtures';
import type { NodeInfo } from './types';

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
const chartsDir = process.env.KEELSON_CHARTS_DIR ?? join(__dirname, '../../../../shared/charts');
/** The cilium-config ConfigMap the pinned Cilium chart really renders with these encryption values (the real helm). */
const cilium = (encryption: object) => {
  const docs = YAML.parseAllDocuments(helmTemplate({ chartDir: join(chartsDir, 'cilium/1.19.4'), releaseName: 'cilium', namespace: 'kube-system', kubeVersion: '1.36.2', values: { encryption, extraConfig: { 'node-encryption-opt-out-labels': 'keelson.dev/no-node-encryption' } } })).map((d) => d.toJS());
  const config = docs.find((o) => o?.kind === 'ConfigMap' && o.metadata?.name === 'cilium-config');
  return manifest(config, 'helm cilium 1.19.4: templates/cilium-configmap.yaml');
};

describe('the encryption audit', () => {
  it('passes kubeadm stacked etcd, verified kubelets and Cilium WireGuard with node encryption', () => {
    const result = auditEncryption([cilium({ enabled: true, type: 'wireguard', nodeEncryption: true })], kubeadmNodes(), {}, 'infra-out/main.tf.json');
    expect(result.findings).toEqual([]);
    expect(result.rows?.map((r) => r.name)).toEqual(['etcd peer (2380)', 'API server -> etcd (2379)', 'API server -> kubelets (10250)', 'nodes -> API server (6443)', 'pod to pod', 'ingress -> apps']);
    expect(result.rows?.find((r) => r.name === 'ingress -> apps')?.detail).toBe('inside the pod network: Cilium WireGuard (pods and nodes, control-plane nodes included)');
  });

  it('fails a plaintext etcd peer URL and a pod network without WireGuard', () => {
    const result = auditEncryption([cilium({ enabled: false })], kubeadmNodes([{ name: 'listen-peer-urls', value: 'http://0.0.0.0:2380' }]), {}, 'infra-out/main.tf.json');
    expect(result.findings.map((f) => f.message)).toEqual([
      'etcd peer (2380): etcd.local.extraArgs listen-peer-urls use http://',
      'pod to pod: ConfigMap kube-system/cilium-config (rendered by the Cilium chart) has neither enable-wireguard nor enable-ipsec "true": pod traffic between nodes is plaintext; set the chart values encryption.enabled: true, encryption.type: wireguard',
      'ingress -> apps: rides the pod network, which is not shown encrypted',
    ]);
  });
});

describe('the encryption audit reads the pod network from what its chart renders', () => {
  it('fails Cilium WireGuard without node encryption (host-network pods such as Ceph leave in plaintext)', () => {
    const result = auditEncryption([cilium({ enabled: true, type: 'wireguard', nodeEncryption: false })], kubeadmNodes(), {}, 'infra-out/main.tf.json');
    expect(result.findings.map((f) => f.message)).toContainEqual(expect.stringContaining('pod to pod: ConfigMap kube-system/cilium-config has encrypt-node not "true"'));
  });

  it("passes flannel's WireGuard backend and fails its default vxlan, from the chart's net-conf.json", () => {
    const flannel = (backend: string) => {
      const docs = YAML.parseAllDocuments(helmTemplate({ chartDir: join(chartsDir, 'flannel/v0.28.9'), releaseName: 'flannel', namespace: 'kube-flannel', kubeVersion: '1.36.2', values: { podCidr: '10.244.0.0/16', flannel: { backend } } })).map((d) => d.toJS());
      return manifest(docs.find((o) => o?.kind === 'ConfigMap' && o.metadata?.name === 'kube-flannel-cfg'), 'helm flannel v0.28.9: templates/config.yaml');
    };
    expect(auditEncryption([flannel('wireguard')], kubeadmNodes(), {}, 'infra-out/main.tf.json').rows?.find((r) => r.name === 'pod to pod')).toMatchObject({ ok: true, detail: 'flannel WireGuard backend' });
    expect(auditEncryption([flannel('vxlan')], kubeadmNodes(), {}, 'infra-out/main.tf.json').findings.map((f) => f.message)).toContainEqual(expect.stringContaining('sets net-conf.json Backend.Type "vxlan", not "wireguard"'));
  });
});
