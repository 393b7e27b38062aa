// renderKubeadmConfig: each document checked against its schema before it is written, every call.
import YAML from 'yaml';
import { renderKubeadmConfig, type JoinConfiguration, type KubeletConfiguration } from './kubeadm';
import { kubeletConfig } from './node-configs';

const join = (name: string): JoinConfiguration => ({
  apiVersion: 'kubeadm.k8s.io/v1beta4',
  kind: 'JoinConfiguration',
  nodeRegistration: { name, criSocket: 'unix:///run/containerd/containerd.sock', taints: [], kubeletExtraArgs: [{ name: 'node-ip', value: '10.10.0.5' }] },
  discovery: { bootstrapToken: { token: 'abcdef.0123456789abcdef', apiServerEndpoint: 'api.example.com:6443', caCertHashes: [`sha256:${'a'.repeat(64)}`] } },
});

const kubelet = kubeletConfig();

describe('renderKubeadmConfig', () => {
  it('writes one YAML document per config, in order, the same text for the same documents', () => {
    const text = renderKubeadmConfig([join('node-1'), kubelet]);
    expect(YAML.parseAllDocuments(text).map((d) => d.toJS())).toEqual([join('node-1'), kubelet]);
    expect(text.split('---\n')).toHaveLength(2);
    expect(renderKubeadmConfig([join('node-1'), kubelet])).toBe(text);
    // A shared document (the kubelet's) beside a node's own is written the same.
    expect(renderKubeadmConfig([join('node-2'), kubelet])).toBe(text.replace('name: node-1', 'name: node-2'));
  });

  it('refuses a document its schema refuses, naming the field, even when the others were written before', () => {
    renderKubeadmConfig([join('node-3'), kubelet]);
    const bad = { ...join('node-3'), discovery: { bootstrapToken: { ...join('node-3').discovery.bootstrapToken, token: 'not-a-token' } } };
    expect(() => renderKubeadmConfig([bad, kubelet])).toThrow(/^kubeadm config: JoinConfiguration\.discovery\.bootstrapToken\.token: /);
    const insecure = { ...kubelet, authentication: { anonymous: { enabled: true }, webhook: { enabled: true } } } as unknown as KubeletConfiguration;
    expect(() => renderKubeadmConfig([join('node-3'), insecure])).toThrow(/KubeletConfiguration\.authentication\.anonymous\.enabled/);
    // Refused again on a second call: a refusal is never remembered as a text.
    expect(() => renderKubeadmConfig([bad])).toThrow(/JoinConfiguration\.discovery\.bootstrapToken\.token/);
  });
});
