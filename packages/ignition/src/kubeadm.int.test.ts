import { execSync } from 'node:child_process';
import { caCertHash, validateKubeadmConfig } from './kubeadm';
import { testClusterSecrets } from './test-cluster-secrets';

describe('caCertHash', () => {
  it('matches the hash openssl computes from the public key, as kubeadm documents', () => {
    const { kubernetesCa } = testClusterSecrets();
    const expected = execSync('openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex', { input: kubernetesCa.certPem, encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .pop();
    expect(caCertHash(kubernetesCa.certPem)).toBe(`sha256:${expected}`);
  });
});

describe('validateKubeadmConfig', () => {
  it('refuses an unknown field, a kind Keelson does not write and a malformed hash', () => {
    const text = [
      'apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\nnodeRegistration: { name: n, criSocket: unix:///run/containerd/containerd.sock, taints: [], kubeletExtraArgs: [] }\ndiscovery: { bootstrapToken: { token: abcdef.0123456789abcdef, apiServerEndpoint: api.example.com:6443, caCertHashes: [sha256:nothex] } }\ncontrolPlane: { localAPIEndpoint: { advertiseAddress: x, bindPort: 6443 }, certificateKey: x }',
      'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration',
    ].join('\n---\n');
    const problems = validateKubeadmConfig(text);
    expect(problems).toEqual([
      expect.stringMatching(/^JoinConfiguration\.discovery\.bootstrapToken\.caCertHashes\.0: /),
      expect.stringMatching(/^JoinConfiguration\.controlPlane: .*certificateKey/),
      'document 2: kind "ResetConfiguration" is not one of InitConfiguration, ClusterConfiguration, JoinConfiguration, KubeletConfiguration',
    ]);
  });
});
