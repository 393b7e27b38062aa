import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { exampleConfig, parsePlatformConfig, type PlatformConfigInput } from '@keelson/platform-spec';
import { listBundleCertificates, openSecretsBundle, rotateLeafCertificates } from './bundle';

const spec = (change: (c: PlatformConfigInput) => void = () => undefined) => {
  const c = exampleConfig();
  change(c);
  return parsePlatformConfig(c);
};
const tmp = () => join(mkdtempSync(join(tmpdir(), 'keelson-bundle-')), 'secrets', 'keelson');

/** Every file under dir -> its content. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

function modes(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    out.add(`dir ${(statSync(d).mode & 0o777).toString(8)}`);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.add(`file ${(statSync(join(d, e.name)).mode & 0o777).toString(8)}`);
    }
  };
  walk(dir);
  return out;
}

describe('openSecretsBundle', () => {
  it('creates every CA, key and certificate on first use, files 0600 in 0700 folders', async () => {
    const dir = tmp();
    const { bundle, created } = await openSecretsBundle({ dir, spec: spec() });
    expect(created).toHaveLength(36);
    expect(bundle.bootstrapToken).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(modes(dir)).toEqual(new Set(['dir 700', 'file 600']));
    expect(Object.keys(bundle.members)).toEqual(['keelson-controller-1', 'keelson-controller-2', 'keelson-controller-3', 'keelson-controller-4', 'keelson-controller-5']);
    const etcdCa = new X509Certificate(bundle.etcdCa.certPem);
    for (const m of Object.values(bundle.members)) {
      expect(new X509Certificate(m.server.certPem).checkIssued(etcdCa)).toBe(true);
      expect(new X509Certificate(m.peer.certPem).checkIssued(etcdCa)).toBe(true);
    }
    expect(new X509Certificate(bundle.clients.apiserver.certPem).subject).toBe('CN=kube-apiserver-etcd-client');
    expect(Buffer.from(bundle.encryptionKey, 'base64')).toHaveLength(32);
    expect(bundle.kubernetesCa.certPem).not.toBe(bundle.etcdCa.certPem);
  });

  it('reuses the bundle: a second open creates nothing and returns the same material', async () => {
    const dir = tmp();
    const first = await openSecretsBundle({ dir, spec: spec() });
    const before = files(dir);
    const second = await openSecretsBundle({ dir, spec: spec() });
    expect(second.created).toEqual([]);
    expect(second.bundle).toEqual(first.bundle);
    expect(files(dir)).toEqual(before);
  });

  it('adds a member by issuing that member its certificates only', async () => {
    const dir = tmp();
    await openSecretsBundle({ dir, spec: spec() });
    const before = files(dir);
    const { created } = await openSecretsBundle({ dir, spec: spec((c) => ((c.nodes = { controllers: { count: 7 }, workers: { count: 2 } }))) });
    expect(created.sort()).toEqual(
      ['6', '7'].flatMap((i) => ['peer.crt', 'peer.key', 'server.crt', 'server.key'].map((f) => `etcd/members/keelson-controller-${i}/${f}`)).sort(),
    );
    const after = files(dir);
    for (const [path, content] of Object.entries(before).filter(([p]) => p !== 'bundle.json')) expect(after[path]).toBe(content);
    const recorded = JSON.parse(after['bundle.json']).files as Record<string, unknown>;
    for (const file of created) expect(recorded[file]).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), mode: '0600' });
  });

  it('adds a known private address to the member SANs', async () => {
    const { bundle } = await openSecretsBundle({ dir: tmp(), spec: spec(), memberAddresses: { 'keelson-controller-2': '10.110.0.7' } });
    expect(new X509Certificate(bundle.members['keelson-controller-2'].server.certPem).checkIP('10.110.0.7')).toBe('10.110.0.7');
    expect(new X509Certificate(bundle.members['keelson-controller-1'].server.certPem).checkIP('10.110.0.7')).toBeUndefined();
  });

  it('refuses a bundle file readable by others, saying how to fix it', async () => {
    const dir = tmp();
    await openSecretsBundle({ dir, spec: spec() });
    chmodSync(join(dir, 'etcd/ca.key'), 0o644);
    await expect(openSecretsBundle({ dir, spec: spec() })).rejects.toThrow(
      /1 path is readable by others: etcd\/ca\.key \(0644\)\. It holds private keys; folders must be 0700 and files 0600\. Fix: chmod -R go-rwx /,
    );
  });

  it('refuses a bundle folder open to others', async () => {
    const dir = tmp();
    await openSecretsBundle({ dir, spec: spec() });
    chmodSync(join(dir, 'kubernetes'), 0o755);
    await expect(openSecretsBundle({ dir, spec: spec() })).rejects.toThrow(/kubernetes \(0755\)/);
  });

  it('refuses a damaged bundle instead of silently replacing a CA', async () => {
    const dir = tmp();
    await openSecretsBundle({ dir, spec: spec() });
    rmSync(join(dir, 'etcd/ca.crt'));
    await expect(openSecretsBundle({ dir, spec: spec() })).rejects.toThrow(/\n {2}etcd\/ca\.crt: missing \(bundle\.json records sha256 [0-9a-f]{64}\)\nFix: restore the folder from its backup/);
  });

  it('refuses a key that does not belong to its certificate', async () => {
    const dir = tmp();
    await openSecretsBundle({ dir, spec: spec() });
    writeFileSync(join(dir, 'etcd/clients/backup.key'), readFileSync(join(dir, 'etcd/clients/healthcheck.key')), { mode: 0o600 });
    await expect(openSecretsBundle({ dir, spec: spec() })).rejects.toThrow(/etcd\/clients\/backup\.key: does not belong to etcd\/clients\/backup\.crt/);
  });

  it('refuses a service-account public key that does not match its private key', async () => {
    const dir = tmp();
    await openSecretsBundle({ dir, spec: spec() });
    const other = tmp();
    await openSecretsBundle({ dir: other, spec: spec() });
    writeFileSync(join(dir, 'service-account/sa.pub'), readFileSync(join(other, 'service-account/sa.pub')), { mode: 0o600 });
    await expect(openSecretsBundle({ dir, spec: spec() })).rejects.toThrow(/service-account\/sa\.pub: does not belong to service-account\/sa\.key/);
  });

  it('refuses a CA certificate where a client certificate belongs', async () => {
    const dir = tmp();
    await openSecretsBundle({ dir, spec: spec() });
    for (const ext of ['crt', 'key']) writeFileSync(join(dir, `etcd/clients/backup.${ext}`), readFileSync(join(dir, `etcd/ca.${ext}`)), { mode: 0o600 });
    await expect(openSecretsBundle({ dir, spec: spec() })).rejects.toThrow(/etcd\/clients\/backup\.crt: is a CA certificate where a leaf belongs/);
  });

  it('refuses a certificate not signed by its CA', async () => {
    const dir = tmp();
    await openSecretsBundle({ dir, spec: spec() });
    const other = tmp();
    await openSecretsBundle({ dir: other, spec: spec() });
    for (const f of ['server.crt', 'server.key']) {
      const p = `etcd/members/keelson-controller-1/${f}`;
      writeFileSync(join(dir, p), readFileSync(join(other, p)), { mode: 0o600 });
    }
    await expect(openSecretsBundle({ dir, spec: spec() })).rejects.toThrow(/server\.crt: is not signed by etcd\/ca\.crt/);
  });

  it('refuses a bundle inside a git repository that does not ignore it', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'keelson-repo-'));
    execFileSync('git', ['init', '-q', repo]);
    await expect(openSecretsBundle({ dir: join(repo, 'secrets', 'keelson'), spec: spec() })).rejects.toThrow(
      /inside the git repository .* and not ignored; it would be committed\. Fix: add "\/secrets\/keelson\/" to \.gitignore/,
    );
    writeFileSync(join(repo, '.gitignore'), '/secrets/\n');
    await expect(openSecretsBundle({ dir: join(repo, 'secrets', 'keelson'), spec: spec() })).resolves.toMatchObject({ created: expect.any(Array) });
  });
});

describe('listBundleCertificates', () => {
  it('lists every certificate with issuer, SANs and days left', async () => {
    const now = new Date('2027-01-01T00:00:00Z');
    const { bundle } = await openSecretsBundle({ dir: tmp(), spec: spec(), now });
    const certs = listBundleCertificates(bundle, now);
    expect(certs).toHaveLength(3 + 5 * 2 + 3);
    const server = certs.find((c) => c.id === 'etcd/members/keelson-controller-3/server');
    expect(server).toMatchObject({ subject: 'CN=keelson-controller-3', issuer: 'CN=keelson-etcd-ca', dnsNames: ['keelson-controller-3', 'localhost'], ipAddresses: ['127.0.0.1'], daysLeft: 365 });
    expect(listBundleCertificates(bundle, new Date('2027-12-20T00:00:00Z')).find((c) => c.id === server?.id)?.daysLeft).toBe(12);
  });
});

describe('rotateLeafCertificates', () => {
  it('reissues every leaf under the same CAs', async () => {
    const dir = tmp();
    const { bundle: before } = await openSecretsBundle({ dir, spec: spec() });
    const result = await rotateLeafCertificates({ dir, spec: spec() });
    const { bundle: after } = await openSecretsBundle({ dir, spec: spec() });
    expect(result.rotated).toHaveLength(13);
    expect(after.etcdCa).toEqual(before.etcdCa);
    expect(after.serviceAccount).toEqual(before.serviceAccount);
    expect(after.encryptionKey).toBe(before.encryptionKey);
    expect(after.members['keelson-controller-1'].server.keyPem).not.toBe(before.members['keelson-controller-1'].server.keyPem);
    expect(after.clients.backup.certPem).not.toBe(before.clients.backup.certPem);
    expect(modes(dir)).toEqual(new Set(['dir 700', 'file 600']));
  });

  it('rotates one member only, touching no other file', async () => {
    const dir = tmp();
    await openSecretsBundle({ dir, spec: spec() });
    const before = files(dir);
    const result = await rotateLeafCertificates({ dir, spec: spec(), members: ['keelson-controller-4'] });
    expect(result.rotated).toEqual(['etcd/members/keelson-controller-4/server', 'etcd/members/keelson-controller-4/peer']);
    const after = files(dir);
    const changed = Object.keys(after).filter((p) => after[p] !== before[p]).sort();
    expect(changed).toEqual(['bundle.json', ...['peer.crt', 'peer.key', 'server.crt', 'server.key'].map((f) => `etcd/members/keelson-controller-4/${f}`)]);
  });

  it('fails on a member that does not exist', async () => {
    const dir = tmp();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    await expect(rotateLeafCertificates({ dir, spec: spec(), members: ['keelson-controller-9'] })).rejects.toThrow(
      /no etcd member named keelson-controller-9; members are keelson-controller-1, /,
    );
  });
});
