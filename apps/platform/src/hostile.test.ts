// Hostile configs cannot make synth touch what it does not own (issue 22, confinement).
import { lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './test-cli';
import { configWith, tempDir, treeDigest } from './test-helpers';

describe('synth with a hostile gitops.path', () => {
  it.each(['.', '..', '.git', 'secrets', 'infra-out'])('refuses gitops.path %j and leaves the whole tree (.git, secrets, earlier output) as it was', async (path) => {
    const out = tempDir();
    mkdirSync(join(out, '.git'));
    writeFileSync(join(out, '.git/HEAD'), 'ref: refs/heads/main\n');
    mkdirSync(join(out, 'secrets/keelson'), { recursive: true, mode: 0o700 });
    writeFileSync(join(out, 'secrets/keelson/ca.key'), 'not really a key\n', { mode: 0o600 });
    mkdirSync(join(out, 'charts-out'));
    writeFileSync(join(out, 'charts-out/earlier.yaml'), 'kind: Namespace\n');
    const config = configWith((c) => (c.gitops.path = path), tempDir());
    const before = treeDigest(out);
    const run = await runCli(['synth', '--config', config, '--out', out, '--secrets', join(out, 'secrets/keelson')]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/gitops\.path: (got ".*", not a valid value; use a relative folder of its own|names a folder synth does not own .*; got ".*")/);
    expect(treeDigest(out)).toEqual(before);
  });
});

describe('synth with an output folder that is a symbolic link', () => {
  it.each([
    ['charts-out', 'charts-out', /gitops\.path charts-out: .*charts-out is a symbolic link to .*elsewhere; synth replaces .* whole and never follows a link out of .*: replace the link with a real folder/],
    ['infra-out', 'infra-out', /infra-out infra-out: .*infra-out is a symbolic link to .*elsewhere; synth replaces .* whole and never follows a link out of .*: replace the link with a real folder/],
    ['a folder on the way to gitops.path', 'deploy', /gitops\.path deploy\/charts: .*deploy is a symbolic link to .*elsewhere/],
  ])('refuses %s linked outside the output, and leaves the link, what it points to and the output as they were', async (_what, link, message) => {
    const out = tempDir();
    const elsewhere = join(tempDir(), 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'precious.txt'), 'not synth output\n');
    symlinkSync(elsewhere, join(out, link));
    const config = configWith((c) => link === 'deploy' && (c.gitops.path = 'deploy/charts'), tempDir());
    const before = { out: treeDigest(out), elsewhere: treeDigest(elsewhere) };
    const run = await runCli(['synth', '--config', config, '--out', out, '--secrets', join(tempDir(), 'secrets')]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(lstatSync(join(out, link)).isSymbolicLink()).toBe(true);
    expect({ out: treeDigest(out), elsewhere: treeDigest(elsewhere) }).toEqual(before);
  });
});
