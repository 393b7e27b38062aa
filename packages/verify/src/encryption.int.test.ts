import { join } from 'node:path';
import YAML from 'yaml';
import { helmTemplate } from '@keelson/upstream';
import { auditEncryption, nodeEncryptionOptOutProblem } from './encryption';
import { fixtureNodes, manifest } from './test-fixtures';
import type { NodeInfo } from './types';

/** 3 controllers and 2 workers with kubeadm's ClusterConfiguration and kubelet config as synth renders them. */
function kubeadmNodes(): NodeInfo[] {
  return fixtureNodes(3, 2).map((n) => ({
    ...n,
    kubeadm: [
      ...n.kubeadm,
      { kind: 'ClusterConfiguration', controlPlaneEndpoint: 'api.example.com:6443', etcd: { local: { extraArgs: [] } }, apiServer: { extraArgs: [{ name: 'kubelet-certificate-authority', value: '/etc/kubernetes/pki/ca.crt' }] } },
      { kind: 'KubeletConfiguration', serverTLSBootstrap: true, authentication: { anonymous: { enabled: false } } },
    ],
  }));
}
const chartsDir = process.env.KEELSON_CHARTS_DIR ?? join(__dirname, '../../../../shared/charts');
/** The cilium-config ConfigMap the pinned Cilium chart really renders with these values (the real helm). */
const cilium = (values: object) => {
  const docs = YAML.parseAllDocuments(helmTemplate({ chartDir: join(chartsDir, 'cilium/1.19.4'), releaseName: 'cilium', namespace: 'kube-system', kubeVersion: '1.36.2', values })).map((d) => d.toJS());
  const config = docs.find((o) => o?.kind === 'ConfigMap' && o.metadata?.name === 'cilium-config');
  return manifest(config, 'helm cilium 1.19.4: templates/cilium-configmap.yaml');
};
const wireguard = { enabled: true, type: 'wireguard', nodeEncryption: true };
const podToPod = (values: object) => auditEncryption([cilium(values)], kubeadmNodes(), {}, 'infra-out/main.tf.json').rows?.find((r) => r.name === 'pod to pod');

describe("the encryption audit reads Cilium's node-encryption opt-out from the rendered cilium-config", () => {
  it('fails the chart default, which leaves control-plane nodes out of node encryption', () => {
    const config = cilium({ encryption: wireguard });
    // The 1.19.4 chart writes no opt-out key of its own: the agent's default applies.
    expect(Object.keys(config.object.data ?? {})).not.toContain('node-encryption-opt-out-labels');
    expect(podToPod({ encryption: wireguard })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(
        /^ConfigMap kube-system\/cilium-config has no node-encryption-opt-out-labels \(the agent's default, "node-role\.kubernetes\.io\/control-plane"\): it selects 3 of 5 nodes \(3 control-plane\) \(c1, c2, c3\), whose host traffic .* leaves without WireGuard; set the chart value extraConfig\["node-encryption-opt-out-labels"\]/,
      ),
    });
  });

  it('fails an empty opt-out, which selects every node', () => {
    const row = podToPod({ encryption: wireguard, extraConfig: { 'node-encryption-opt-out-labels': '' } });
    expect(row?.ok).toBe(false);
    expect(row?.detail).toMatch(/node-encryption-opt-out-labels "": an empty selector, which selects every node \(c1, c2, c3, w1, w2\)/);
  });

  it('fails an opt-out that selects the control plane by another label, or workers by their zone', () => {
    expect(podToPod({ encryption: wireguard, extraConfig: { 'node-encryption-opt-out-labels': 'node.kubernetes.io/exclude-from-external-load-balancers' } })?.detail).toMatch(/selects 3 of 5 nodes \(3 control-plane\)/);
    expect(podToPod({ encryption: wireguard, extraConfig: { 'node-encryption-opt-out-labels': 'kubernetes.io/hostname in (w1, w2)' } })?.detail).toMatch(/selects 2 of 5 nodes \(w1, w2\)/);
    expect(podToPod({ encryption: wireguard, extraConfig: { 'node-encryption-opt-out-labels': '!node-role.kubernetes.io/control-plane' } })?.detail).toMatch(/selects 2 of 5 nodes \(w1, w2\)/);
  });

  it("passes Keelson's opt-out, a label no node carries, as the network layer sets it", () => {
    expect(podToPod({ encryption: wireguard, extraConfig: { 'node-encryption-opt-out-labels': 'keelson.dev/no-node-encryption' } })).toMatchObject({
      ok: true,
      detail: 'Cilium WireGuard (pods and nodes, control-plane nodes included)',
    });
  });

  it('refuses a value that is no label selector', () => {
    expect(nodeEncryptionOptOutProblem({ 'node-encryption-opt-out-labels': 'a in b' }, kubeadmNodes())).toMatch(/which is not a label selector: the agent refuses to start/);
  });
});
