import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pkiShow } from './pki';
import { runCli } from './test-cli';
import { defaultConfigPath, tempDir, treeDigest } from './test-helpers';

describe('keelson pki', () => {
  const secrets = join(tempDir(), 'secrets', 'keelson');

  it('show creates the bundle on first use and prints every certificate with subject, SANs, issuer, expiry and days left', async () => {
    const run = await runCli(['pki', 'show', '--secrets', secrets]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^created 36 files in .*secrets\/keelson \(mode 0600, folders 0700\)/);
    expect(run.stdout).toMatch(/NAME +SUBJECT +SANS +ISSUER +EXPIRES +DAYS LEFT/);
    expect(run.stdout).toMatch(/etcd\/members\/keelson-controller-5\/peer +CN=keelson-controller-5 +keelson-controller-5,localhost,127\.0\.0\.1 +CN=keelson-etcd-ca +\d{4}-\d\d-\d\d +36[45]\n/);
    expect(run.stdout.match(/^etcd\/members\//gm)).toHaveLength(10);
    expect(run.stdout).not.toMatch(/WARNING/);
    expect(run.stdout).not.toMatch(/PRIVATE KEY/);
  });

  it('show reuses the bundle the second time', async () => {
    const run = await runCli(['pki', 'show', '--secrets', secrets]);
    expect(run.status).toBe(0);
    expect(run.stdout).not.toMatch(/created/);
  });

  it('warns about certificates with fewer than 30 days left', async () => {
    const lines = await pkiShow({ configPath: defaultConfigPath, secretsDir: secrets, now: new Date(Date.now() + 350 * 86_400_000) });
    const warnings = lines.filter((l) => l.startsWith('WARNING'));
    expect(warnings).toHaveLength(13);
    expect(warnings[0]).toMatch(/WARNING: etcd\/members\/keelson-controller-1\/server expires in 1[45] days \(below 30\); run keelson pki rotate/);
  });

  it('rotate reissues one member and says no node needs replacing', async () => {
    const run = await runCli(['pki', 'rotate', '--secrets', secrets, '--member', 'keelson-controller-3']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/reissued 2 certificates under the same CAs/);
    expect(run.stdout).toMatch(/etcd\/members\/keelson-controller-3\/peer\n/);
    expect(run.stdout).toMatch(/no node needs replacing/);
  });

  it('refuses a bundle with mode 0644, saying how to fix it', async () => {
    chmodSync(join(secrets, 'etcd/members/keelson-controller-1/server.key'), 0o644);
    const run = await runCli(['pki', 'show', '--secrets', secrets]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/etcd\/members\/keelson-controller-1\/server\.key \(0644\).*Fix: chmod -R go-rwx .*secrets\/keelson/);
  });

  it('refuses a bundle whose Kubernetes CA was deleted: exit 2, the file and the fix, no stack trace, nothing written', async () => {
    const dir = join(tempDir(), 'secrets', 'keelson');
    expect((await runCli(['pki', 'show', '--secrets', dir])).status).toBe(0);
    rmSync(join(dir, 'kubernetes/ca.crt'));
    rmSync(join(dir, 'kubernetes/ca.key'));
    const before = treeDigest(dir);
    for (const command of ['show', 'rotate']) {
      const run = await runCli(['pki', command, '--secrets', dir]);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^keelson: secrets bundle .*secrets\/keelson: refused, nothing was written \(2 problems\):\n {2}kubernetes\/ca\.crt: missing \(bundle\.json records sha256 [0-9a-f]{64}\)\n {2}kubernetes\/ca\.key: missing/);
      expect(run.stderr).toMatch(/Fix: restore the folder from its backup \(README\.md, "The secrets bundle"\)/);
      expect(run.stderr).not.toMatch(/\n +at |SecretsBundleError|PRIVATE KEY/);
      expect(treeDigest(dir)).toEqual(before);
    }
  });

  it('show adopts a bundle from before bundle.json once, with a notice', async () => {
    const dir = join(tempDir(), 'secrets', 'keelson');
    await pkiShow({ configPath: defaultConfigPath, secretsDir: dir });
    rmSync(join(dir, 'bundle.json'));
    const lines = await pkiShow({ configPath: defaultConfigPath, secretsDir: dir });
    expect(lines[0]).toMatch(/^NOTICE: secrets bundle .*: adopted a bundle from before bundle\.json: its 36 files were checked/);
    expect((await pkiShow({ configPath: defaultConfigPath, secretsDir: dir })).filter((l) => l.startsWith('NOTICE'))).toEqual([]);
  });
});
