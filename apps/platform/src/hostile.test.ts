// Hostile configs cannot make synth touch what it does not own (issue 22, confinement).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configWith, keelson, tempDir, treeDigest } from './test-helpers';

describe('synth with a hostile gitops.path', () => {
  it.each(['.', '..', '.git', 'secrets', 'infra-out'])('refuses gitops.path %j and leaves the whole tree (.git, secrets, earlier output) as it was', (path) => {
    const out = tempDir();
    mkdirSync(join(out, '.git'));
    writeFileSync(join(out, '.git/HEAD'), 'ref: refs/heads/main\n');
    mkdirSync(join(out, 'secrets/keelson'), { recursive: true, mode: 0o700 });
    writeFileSync(join(out, 'secrets/keelson/ca.key'), 'not really a key\n', { mode: 0o600 });
    mkdirSync(join(out, 'charts-out'));
    writeFileSync(join(out, 'charts-out/earlier.yaml'), 'kind: Namespace\n');
    const config = configWith((c) => (c.gitops.path = path), tempDir());
    const before = treeDigest(out);
    const run = keelson('synth', '--config', config, '--out', out, '--secrets', join(out, 'secrets/keelson'));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/gitops\.path: (got ".*", not a valid value; use a relative folder of its own|names a folder synth does not own .*; got ".*")/);
    expect(treeDigest(out)).toEqual(before);
  });
});
