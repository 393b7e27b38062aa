// The built CLI end to end (bin/keelson.cjs, its loader and the esbuild bundle),
// as a user runs it. The commands' cases run in-process in cli.test.ts;
// cli-runner.int.test.ts shows both give the same answers, code-cache.int.test.ts
// covers the loader's code cache.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { configWith, keelson, keelsonWithEnv, tempDir, treeDigest } from './test-helpers';

describe('keelson (built CLI)', () => {
  const out = tempDir();
  const first = keelson('synth', '--out', out);

  it('synth renders the default platform, private, and exits 0', () => {
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/fault budget: any 2 of 6 nodes may fail at once/);
    expect(existsSync(join(out, 'charts-out/argocd/application-argocd-root.yaml'))).toBe(true);
    expect(statSync(join(out, 'infra-out')).mode & 0o777).toBe(0o700);
    expect(statSync(join(out, 'infra-out/main.tf.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(out, 'infra-out/ignition'))).toHaveLength(6 * 3);
  });

  it('synth refuses a bad config with exit 2, names the field and leaves charts-out untouched', () => {
    const before = treeDigest(join(out, 'charts-out'));
    const run = keelson('synth', '--config', configWith((c) => (c.acme.email = 'ops.example.com')), '--out', out);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/acme\.email: got "ops\.example\.com", not a valid email; use a full e-mail address/);
    expect(run.stderr).toMatch(/nothing was written; earlier output under .* is as it was/);
    expect(run.stdout).toBe('');
    expect(treeDigest(join(out, 'charts-out'))).toEqual(before);
  });

  it('passes the environment to the command: object-store keys sign the links, and never reach the Terraform JSON', () => {
    const dir = tempDir();
    const run = keelsonWithEnv({ SPACES_ACCESS_KEY_ID: 'DO00EXAMPLEKEY', SPACES_SECRET_ACCESS_KEY: 'example-secret-not-real' }, 'synth', '--out', dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/secret-part links: signed, valid until \d{4}-\d\d-\d\d/);
    expect(readFileSync(join(dir, 'infra-out/main.tf.json'), 'utf8')).not.toContain('example-secret-not-real');
  });

  it('lock --check exits 1 when the lock file is missing, with the fix', () => {
    const config = configWith(() => undefined);
    const check = keelson('lock', '--check', '--config', config);
    expect(check.status).toBe(1);
    expect(check.stderr).toBe(`keelson lock --check: ${join(config, '..', 'kubernetes-sysext.lock.json')} is missing; run keelson lock on a machine with internet and commit kubernetes-sysext.lock.json\n`);
  });
});
