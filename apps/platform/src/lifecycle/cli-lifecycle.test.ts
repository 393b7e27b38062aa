// The lifecycle commands as a user runs them, in-process (runCli), with no
// cloud account: no Terraform binary on PATH. With a Terraform stand-in (a
// child process), in cli-lifecycle.int.test.ts.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeInlineContents } from '@keelson/ignition';
import { runCli } from '../test-cli';
import { tempDir } from '../test-helpers';

jest.setTimeout(120_000);

/** PATH with node and sh only: no terraform, tofu or kubectl. */
const bareEnv = () => ({ PATH: `${dirname(process.execPath)}:/bin`, KEELSON_TERRAFORM: '' });

describe('keelson plan (default config, no cloud)', () => {
  it('shows what Terraform would create, from the rendered JSON, when no Terraform binary is found', async () => {
    const out = tempDir();
    const run = await runCli(['plan', '--out', out, '--secrets', join(out, 'secrets')], { env: bareEnv() });
    expect(run.stdout).toContain('Terraform plan (from infra-out/main.tf.json, as if nothing existed yet): 40 to add');
    // The monthly cost from DigitalOcean's dated price table, and what the fault budget costs in it.
    expect(run.stdout).toMatch(/^ {2}total +\$377\.00 a month$/m);
    expect(run.stdout).toContain('  fault budget (any 2 of 6 nodes may fail): $192.00 a month for 4 controllers more than a cluster that may lose none (etcd keeps 5 members, 2k+1);');
    expect(run.stdout).toContain('  (not from Terraform: neither terraform nor tofu is on PATH (install one, or set KEELSON_TERRAFORM / --terraform-bin))');
    expect(run.stdout).toMatch(/^ {2}nodes {11}\+6 {13}digitalocean_droplet$/m);
    expect(run.stdout).toMatch(/^ {2}buckets {9}\+8 /m);
    expect(existsSync(join(out, 'infra-out/main.tf.json'))).toBe(true);
    // The default platform passes verify, so plan succeeds.
    expect(run.stdout).toMatch(/verify: 26 checks passed on \d+ objects/);
    expect(run.status).toBe(0);
  });
});

describe('keelson deploy and destroy (no cloud)', () => {
  it('deploy stops with the next command and applies nothing', async () => {
    const out = tempDir();
    const run = await runCli(['deploy', '--yes', '--out', out, '--secrets', join(out, 'secrets')], { env: { ...bareEnv(), DIGITALOCEAN_TOKEN: 't', SPACES_ACCESS_KEY_ID: 'a', SPACES_SECRET_ACCESS_KEY: 's' } });
    expect(run.status).toBe(2);
    // The default config passes verify; Terraform is missing: it stops before anything is applied.
    expect(run.stderr).toMatch(/^keelson: terraform-plan: neither terraform nor tofu is on PATH/m);
    expect(run.stderr).toMatch(/\n {2}next: /);
    expect(existsSync(join(out, 'infra-out/deploy-state.json'))).toBe(false);
  });

  it('deploy --restore-etcd renders the first controller to rebuild from that snapshot (a signed link in its secret part only)', async () => {
    const out = tempDir();
    const env = { ...bareEnv(), DIGITALOCEAN_TOKEN: 't', SPACES_ACCESS_KEY_ID: 'DO00KEY', SPACES_SECRET_ACCESS_KEY: 'not-a-real-secret' };
    const run = await runCli(['deploy', '--yes', '--out', out, '--secrets', join(out, 'secrets'), '--restore-etcd', 'etcd/20261125T081500Z.db'], { env });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/terraform-plan: neither terraform nor tofu is on PATH/);
    const files = (name: string) => (JSON.parse(readFileSync(join(out, 'infra-out/ignition', name), 'utf8')) as { storage?: { files?: Array<{ path: string; contents: { source?: string; compression?: string } }> } }).storage?.files ?? [];
    const link = files('keelson-controller-1.secret.ign').find((f) => f.path === '/etc/keelson/etcd-restore-url');
    const url = new URL(decodeInlineContents(link?.contents ?? {})?.toString('utf8').trim() ?? '');
    expect(`${url.host}${url.pathname}`).toBe('keelson-8bef49a9-backups.fra1.digitaloceanspaces.com/etcd/20261125T081500Z.db');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^DO00KEY\//);
    expect(files('keelson-controller-1.pointer.ign').map((f) => f.path)).not.toContain('/etc/keelson/etcd-restore-url');
    const bad = await runCli(['deploy', '--yes', '--out', tempDir(), '--restore-etcd-sha256', 'abc'], { env });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--restore-etcd-sha256 is the hash of a snapshot to restore; pass the snapshot too with --restore-etcd <key>/);
  });

  it('destroy asks for --yes when there is no terminal to type the cluster name on', async () => {
    const out = tempDir();
    const run = await runCli(['destroy', '--out', out, '--secrets', join(out, 'secrets')], { env: bareEnv() });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('keelson: confirm: there is no terminal to confirm on\n  next: run "keelson destroy --yes" to destroy "keelson" without a question');
  });

  it('lists the lifecycle commands in the help', async () => {
    const run = await runCli(['--help']);
    for (const command of ['plan', 'deploy', 'upgrade', 'destroy']) expect(run.stdout).toMatch(new RegExp(`^ {2}${command} \\[options\\]`, 'm'));
  });
});
