import { existsSync, writeFileSync } from 'node:fs';
import { clusterRecordPath, readClusterRecord, recordClusterCreated } from './cluster-record';
import { join } from 'node:path';
import type { Rendered } from './render';
import { destroy } from './destroy';
import { STATE_FILE } from './state';
import { FakeCluster, FakeTerraform, fakeOptions, renderInto, stepsWith, terraformFailure } from './test-fakes';

let r: { rendered: Rendered; outDir: string };
beforeAll(async () => {
  r = await renderInto();
}, 60_000);

const DESTROY = ['-chdir=infra-out', 'destroy', '-input=false', '-no-color', '-auto-approve'];
const INIT = ['-chdir=infra-out', 'init', '-input=false', '-no-color'];

describe('keelson destroy', () => {
  it('destroys after the cluster name is typed, and lists what is left behind', async () => {
    const terraform = new FakeTerraform();
    writeFileSync(join(r.rendered.infraDir, STATE_FILE), '{}', { mode: 0o600 });
    const questions: string[] = [];
    const o = fakeOptions(r, { terraform }, { yes: false, ask: async (q) => (questions.push(q), 'keelson') });
    const result = await destroy(o);

    expect(questions).toEqual(['Type the cluster name (keelson) to confirm: ']);
    expect(result.destroyed).toBe(true);
    expect(terraform.calls).toEqual([INIT, DESTROY]);
    expect(stepsWith(o.events, 'skipped')).toEqual(['backup']);
    expect(o.printed).toContain('keelson destroy: "keelson" is destroyed. Left behind:');
    expect(result.leftBehind[0]).toMatch(/^backups bucket keelson-8bef49a9-backups \(https:\/\/fra1.digitaloceanspaces.com\): deleted by Terraform if it was empty; force_destroy is false by design/);
    expect(result.leftBehind[1]).toBe(`Terraform state: ${join(r.rendered.infraDir, 'terraform.tfstate')}`);
    expect(result.leftBehind[2]).toMatch(/^secrets bundle: .*secrets \(CAs and keys/);
    expect(existsSync(join(r.rendered.infraDir, STATE_FILE))).toBe(false);
  });

  it('removes the record that the cluster exists once the machines are gone, and keeps it when the destroy stops', async () => {
    recordClusterCreated(r.rendered.infraDir, r.rendered.spec, new Date('2026-12-01T10:00:00Z'));
    const failing = new FakeTerraform();
    failing.failures.push(terraformFailure('destroy', 'Error: 429 too many requests'));
    failing.stateAfterDestroy = ['digitalocean_droplet.keelson-controller-1'];
    await expect(destroy(fakeOptions(r, { terraform: failing }))).rejects.toThrow(/terraform-destroy: .*429 too many requests/);
    expect(readClusterRecord(r.rendered.infraDir, 'keelson')?.createdAt).toBe('2026-12-01T10:00:00.000Z');

    await destroy(fakeOptions(r, { terraform: new FakeTerraform() }));
    expect(existsSync(clusterRecordPath(r.rendered.infraDir))).toBe(false);
  });

  it('destroys nothing when the typed name is not the cluster name', async () => {
    const terraform = new FakeTerraform();
    const o = fakeOptions(r, { terraform }, { yes: false, ask: async () => 'keelsno' });
    expect(await destroy(o)).toEqual({ destroyed: false, leftBehind: [] });
    expect(terraform.calls).toEqual([]);
    expect(o.printed).toContain('keelson destroy: "keelsno" is not "keelson"; nothing was destroyed');
  });

  it('takes a final backup first and waits for it to complete', async () => {
    const terraform = new FakeTerraform();
    const cluster = new FakeCluster(r.rendered.spec);
    const result = await destroy({ ...fakeOptions(r, { terraform, cluster }), backup: true, now: new Date('2026-03-01T12:34:56Z') });
    expect(result.backup).toBe('keelson-final-20260301-123456');
    expect(cluster.calls).toEqual(['createBackup keelson-final-20260301-123456', 'backupPhase keelson-final-20260301-123456', 'backupPhase keelson-final-20260301-123456']);
    expect(terraform.calls).toEqual([INIT, DESTROY]);
  });

  it('destroys nothing when the final backup fails', async () => {
    const terraform = new FakeTerraform();
    const cluster = new FakeCluster(r.rendered.spec);
    cluster.backupPhases = ['InProgress', 'PartiallyFailed'];
    await expect(destroy({ ...fakeOptions(r, { terraform, cluster }), backup: true, now: new Date('2026-03-01T12:34:56Z') })).rejects.toThrow(
      /backup: the backup keelson-final-20260301-123456 ended PartiallyFailed; nothing was destroyed\n {2}next: see "velero backup describe/,
    );
    expect(terraform.calls).toEqual([]);
  });

  it('accepts a destroy that only left the backups bucket (it holds backups) and says so', async () => {
    const terraform = new FakeTerraform();
    terraform.failures.push(terraformFailure('destroy', 'Error: deleting Spaces bucket: BucketNotEmpty'));
    terraform.stateAfterDestroy = ['digitalocean_spaces_bucket.backups'];
    const result = await destroy(fakeOptions(r, { terraform }));
    expect(terraform.calls).toEqual([INIT, DESTROY, ['-chdir=infra-out', 'state', 'list']]);
    expect(result.leftBehind[0]).toMatch(/keelson-8bef49a9-backups .*: kept, it holds backups/);
    expect(result.leftBehind[1]).toMatch(/still tracks digitalocean_spaces_bucket.backups/);
  });

  it('stops when anything else is left', async () => {
    const terraform = new FakeTerraform();
    terraform.failures.push(terraformFailure('destroy', 'Error: 429 too many requests'));
    terraform.stateAfterDestroy = ['digitalocean_spaces_bucket.backups', 'digitalocean_droplet.keelson-worker-1'];
    await expect(destroy(fakeOptions(r, { terraform }))).rejects.toThrow(
      /terraform-destroy: .*429 too many requests; still in the state: digitalocean_spaces_bucket.backups, digitalocean_droplet.keelson-worker-1\n {2}next: fix the cause .* run "keelson destroy" again/,
    );
  });

  it('refuses without a terminal unless --yes', async () => {
    await expect(destroy(fakeOptions(r, { terraform: new FakeTerraform() }, { yes: false }))).rejects.toThrow(/confirm: there is no terminal to confirm on\n {2}next: run "keelson destroy --yes" to destroy "keelson"/);
  });
});
