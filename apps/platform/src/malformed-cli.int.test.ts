// Malformed input at the CLI (issue 22, item 7): the worst configs are refused with exit 2, a message, no stack trace, and the output untouched.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, repoRoot, tempDir, treeDigest } from './test-helpers';

const BOMB = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghi'.split('').map((x, i) => `${x}: &${x} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`)].join('\n');

const inputs = tempDir('keelson-malformed-cli-');
const write = (name: string, content: string | Uint8Array) => {
  const path = join(inputs, name);
  writeFileSync(path, content);
  return path;
};

const cases: ReadonlyArray<readonly [string, () => string, RegExp]> = [
  ['/dev/zero', () => '/dev/zero', /\/dev\/zero is a character device .*not a regular file/],
  ['a 50 MB file', () => write('big.yaml', Buffer.alloc(50 * 1024 * 1024, 'a: 1\n')), /big\.yaml is 50\.0 MiB; a config is at most 64 KiB/],
  ['an alias bomb', () => write('bomb.yaml', BOMB), /aliases \(\*name\) expand to more than 100 copies/],
  ['an 8 MB cluster.name', () => write('name.yaml', `cluster:\n  name: ${'k'.repeat(8 * 1024 * 1024)}\n`), /name\.yaml is 8\.0 MiB; a config is at most 64 KiB/],
  [
    'a directory',
    () => {
      const d = join(inputs, 'folder');
      mkdirSync(d);
      return d;
    },
    /folder is a directory, not a file; pass the config file inside it/,
  ],
  ['non-UTF-8 bytes', () => write('latin1.yaml', Buffer.from('cluster:\n  name: k\xe9elson\n', 'latin1')), /latin1\.yaml is not UTF-8 text \(line 2 holds bytes that are no UTF-8 character\)/],
];

describe('keelson synth with a malformed config', () => {
  it.each(cases)('refuses %s with exit 2 and a message, within seconds, leaving earlier output as it was', (_, make, message) => {
    const out = tempDir();
    mkdirSync(join(out, 'charts-out'));
    writeFileSync(join(out, 'charts-out/earlier.yaml'), 'kind: Namespace\n');
    mkdirSync(join(out, 'infra-out'));
    writeFileSync(join(out, 'infra-out/earlier.tf.json'), '{}\n');
    const before = treeDigest(out);
    const config = make();

    const started = Date.now();
    const run = spawnSync(process.execPath, [cliPath, 'synth', '--config', config, '--out', out, '--secrets', join(out, 'secrets/keelson')], {
      encoding: 'utf8',
      cwd: repoRoot,
      timeout: 20_000,
    });
    const elapsedMs = Date.now() - started;

    expect(run.error).toBeUndefined();
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stderr.length).toBeLessThan(2000);
    // A hang guard: start-up included, far below the 20 s kill above.
    expect(elapsedMs).toBeLessThan(5000);
    expect(treeDigest(out)).toEqual(before);
  });
});
