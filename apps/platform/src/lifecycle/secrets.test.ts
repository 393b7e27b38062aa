import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateManifest } from '@keelson/k8s-schemas';
import { nodeProviderFor } from '@keelson/infra-nodes';
import { BUNDLE_LAYOUT } from '@keelson/etcd-tls';
import { exampleConfig, parsePlatformConfig, type PlatformConfigInput } from '@keelson/platform-spec';
import { composePlatform } from '../platform';
import { bootstrapTokenSecret, BOOTSTRAP_TOKEN_HOURS, missingSecretInputs, secretsFor } from './secrets';
import { tempDir } from '../test-helpers';

const bundleWith = (token: string) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'kubeadm'));
  writeFileSync(join(dir, 'kubeadm/bootstrap-token'), `${token}\n`);
  return dir;
};
const decode = (v: string) => Buffer.from(v, 'base64').toString();

describe('bootstrapTokenSecret', () => {
  it('is the bundle\'s token as the API server reads it, valid for a day from now, for node joins only', () => {
    const now = new Date('2026-11-25T10:00:00.123Z');
    const secret = bootstrapTokenSecret(bundleWith('abcdef.0123456789abcdef'), now);
    expect(BOOTSTRAP_TOKEN_HOURS).toBe(24);
    expect(secret.metadata).toMatchObject({ name: 'bootstrap-token-abcdef', namespace: 'kube-system' });
    expect(secret.type).toBe('bootstrap.kubernetes.io/token');
    expect(Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, decode(v)]))).toEqual({
      'token-id': 'abcdef',
      'token-secret': '0123456789abcdef',
      expiration: '2026-11-26T10:00:00Z',
      description: 'Keelson node joins (refreshed by keelson deploy and upgrade)',
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
    });
    expect(validateManifest(secret)).toEqual([]);
  });

  it('refuses a missing or malformed token, naming the file and the fix', () => {
    expect(() => bootstrapTokenSecret(tempDir(), new Date())).toThrow(/kubeadm\/bootstrap-token is missing from the secrets bundle; run keelson synth/);
    expect(() => bootstrapTokenSecret(bundleWith('not-a-token'), new Date())).toThrow(/is not a kubeadm token \(\[a-z0-9\]\{6\}\.\[a-z0-9\]\{16\}\); restore the bundle folder from its backup/);
  });
});

describe('secretsFor', () => {
  // The backups bucket's keys are the cloud's object-store keys: each provider names its own variables.
  it.each([
    ['digitalocean', {}],
    ['hetzner', { provider: { name: 'hetzner' as const, region: 'fsn1' }, nodes: { controllers: { count: 3, size: 'cx33' }, workers: { count: 1, size: 'cx33' } } }],
  ])("asks for Velero's bucket keys by the %s provider's own variables", (_cloud, change) => {
    const spec = parsePlatformConfig({ ...exampleConfig(), ...change });
    const provider = nodeProviderFor(spec);
    const [accessKey, secretKey] = provider.objectStoreCredentialVariables;
    const { declarations } = composePlatform(spec, { backupBucket: provider.backupBucket(spec), volumeDevicePathFilter: provider.volumeDevicePathFilter(spec) });
    const missing = missingSecretInputs(secretsFor({ declarations, provider }), {}).filter((m) => m.includes('velero/'));
    expect(missing).toEqual([expect.stringMatching(new RegExp(`^${accessKey} \\(velero/`)), expect.stringMatching(new RegExp(`^${secretKey} \\(velero/`))]);
  });

  const declared = (change: (c: PlatformConfigInput) => void = () => undefined) => {
    const config = exampleConfig();
    change(config);
    const spec = parsePlatformConfig(config);
    const provider = nodeProviderFor(spec);
    return secretsFor({ declarations: composePlatform(spec, { backupBucket: provider.backupBucket(spec), volumeDevicePathFilter: provider.volumeDevicePathFilter(spec) }).declarations, provider });
  };

  it('takes each Secret from the layer that declares it, and none from a layer (or app) that is off', () => {
    expect(declared().map((s) => `${s.namespace}/${s.name}`)).toEqual(['velero/cloud-credentials', 'velero/etcd-backup-client', 'nextcloud/nextcloud-admin']);
    expect(declared((c) => (c.apps = { ...c.apps, nextcloud: { enabled: false } })).map((s) => `${s.namespace}/${s.name}`)).toEqual(['velero/cloud-credentials', 'velero/etcd-backup-client']);
  });

  it("names the etcd backup client's files where the secrets bundle keeps them", () => {
    const client = declared().find((s) => s.name === 'etcd-backup-client');
    expect(client?.keys).toEqual({
      'tls.crt': { kind: 'bundle-file', file: `${BUNDLE_LAYOUT.client('backup')}.crt` },
      'tls.key': { kind: 'bundle-file', file: `${BUNDLE_LAYOUT.client('backup')}.key` },
      'ca.crt': { kind: 'bundle-file', file: `${BUNDLE_LAYOUT.etcdCa}.crt` },
    });
  });
});
