// The CLI loader (tools/keelson-loader.cjs, built into dist/keelson.cjs)
// compiles the bundle with V8's code cache: the first run of a build writes
// it, later runs read it; a run of a command the cache does not hold yet
// writes it again with that command's code; a cache V8 refuses (another
// build, a damaged file) is written again; KEELSON_CODE_CACHE=0 and a cache
// folder that cannot be made only cost speed. Each case runs the built CLI as
// a user would.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appDir, tempDir } from './test-helpers';

const loader = join(appDir, 'dist/keelson.cjs');
const bundle = join(appDir, 'dist/keelson-cli.cjs');

function run(cacheDir: string, env: Record<string, string> = {}, args = ['--version']): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [loader, ...args], { env: { ...process.env, KEELSON_CACHE_DIR: cacheDir, ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cacheFiles = (cacheDir: string) => (existsSync(join(cacheDir, 'v8')) && statSync(join(cacheDir, 'v8')).isDirectory() ? readdirSync(join(cacheDir, 'v8')) : []);

describe('the CLI loader and its code cache', () => {
  const version = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')).version as string;

  it('writes the cache on the first run, named after the bundle and the Node version, and reads it after', () => {
    const dir = tempDir('keelson-code-cache-');
    expect(run(dir)).toMatchObject({ status: 0, stdout: `${version}\n` });
    const { size, mtimeMs } = statSync(bundle);
    const name = `keelson-cli-${size}-${Math.trunc(mtimeMs)}-${process.version}-${process.arch}.bin`;
    expect(cacheFiles(dir).sort()).toEqual([name, `${name}.commands`]);
    expect(readFileSync(join(dir, 'v8', `${name}.commands`), 'utf8')).toBe('-\n');
    const file = join(dir, 'v8', name);
    const written = statSync(file).mtimeMs;
    expect(statSync(file).size).toBeGreaterThan(100_000);
    expect(run(dir)).toMatchObject({ status: 0, stdout: `${version}\n` });
    // Accepted by V8: not written again.
    expect(statSync(file).mtimeMs).toBe(written);
    expect(cacheFiles(dir)).toHaveLength(2);
  });

  it('adds the code of a command the cache does not hold yet, once', () => {
    const dir = tempDir('keelson-code-cache-');
    run(dir);
    const name = cacheFiles(dir).find((f) => f.endsWith('.bin'))!;
    const file = join(dir, 'v8', name);
    const afterVersion = statSync(file).size;
    const out = tempDir('keelson-code-cache-out-');
    const synth = ['synth', '--out', out, '--secrets', join(out, 'secrets')];
    expect(run(dir, {}, synth)).toMatchObject({ status: 0 });
    // Synth's own functions, compiled on their first call, are in the cache now, with --version's.
    expect(statSync(file).size).toBeGreaterThan(afterVersion * 1.5);
    expect(readFileSync(`${file}.commands`, 'utf8')).toBe('-\nsynth\n');
    const written = statSync(file).mtimeMs;
    expect(run(dir, {}, synth)).toMatchObject({ status: 0 });
    expect(run(dir)).toMatchObject({ status: 0, stdout: `${version}\n` });
    expect(statSync(file).mtimeMs).toBe(written);
  });

  it('replaces a cache V8 refuses, and the run still works', () => {
    const dir = tempDir('keelson-code-cache-');
    run(dir);
    const file = join(dir, 'v8', cacheFiles(dir).find((f) => f.endsWith('.bin'))!);
    writeFileSync(file, Buffer.alloc(4096, 7));
    expect(run(dir)).toMatchObject({ status: 0, stdout: `${version}\n` });
    expect(readFileSync(file).equals(Buffer.alloc(4096, 7))).toBe(false);
    expect(statSync(file).size).toBeGreaterThan(100_000);
    expect(readFileSync(`${file}.commands`, 'utf8')).toBe('-\n');
  });

  it('writes nothing with KEELSON_CODE_CACHE=0, and runs where the cache folder cannot be written', () => {
    const off = tempDir('keelson-code-cache-');
    expect(run(off, { KEELSON_CODE_CACHE: '0' })).toMatchObject({ status: 0, stdout: `${version}\n` });
    expect(cacheFiles(off)).toEqual([]);
    // A file where the cache folder would be: nothing can be written there, even by root.
    const blocked = tempDir('keelson-code-cache-');
    writeFileSync(join(blocked, 'v8'), 'not a folder\n');
    expect(run(blocked)).toMatchObject({ status: 0, stdout: `${version}\n` });
    expect(readFileSync(join(blocked, 'v8'), 'utf8')).toBe('not a folder\n');
  });
});
