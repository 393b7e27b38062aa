// runCli (test-cli.ts) is faithful to the built CLI: the same commands, spawned
// through bin/keelson.cjs and run in-process, give the same exit code, stdout
// and stderr (temp folders aside). The unit tests that use runCli rely on it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './test-cli';
import { configWith, keelson, tempDir, treeDigest, type CliRun } from './test-helpers';

/** `run` with each folder in `dirs` replaced by its placeholder, and synth's random cluster.id suggestion by <id>. */
const normalised = (run: CliRun, dirs: Record<string, string>): CliRun => {
  const clean = (text: string) => Object.entries(dirs).reduce((t, [placeholder, dir]) => t.split(dir).join(placeholder), text).replace(/\(e\.g\. "[0-9a-f]{8}"\)/g, '(e.g. "<id>")');
  return { status: run.status, stdout: clean(run.stdout), stderr: clean(run.stderr) };
};

describe('runCli gives what the built CLI gives', () => {
  it('synth of the default platform: the same output, and the same files', async () => {
    const [spawned, inProcess] = [tempDir(), tempDir()];
    const a = normalised(keelson('synth', '--out', spawned), { '<out>': spawned });
    const b = normalised(await runCli(['synth', '--out', inProcess]), { '<out>': inProcess });
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/keelson synth: wrote <out>\/charts-out and <out>\/infra-out/);
    expect(b).toEqual(a);
    expect(treeDigest(join(inProcess, 'charts-out'))).toEqual(treeDigest(join(spawned, 'charts-out')));
  });

  it('a refused config: exit 2, the message on stderr, nothing on stdout', async () => {
    const dir = tempDir();
    const config = configWith((c) => (c.nodes.controllers.count = 4), dir);
    const a = keelson('synth', '--config', config, '--out', join(dir, 'out'));
    const b = await runCli(['synth', '--config', config, '--out', join(dir, 'out')]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/nodes\.controllers\.count: 4 is even/);
    expect(b).toEqual(a);
  });

  it.each([
    ['--version', ['--version'], 0],
    ['--help', ['--help'], 0],
    ['help of a subcommand', ['synth', '--help'], 0],
    ['the help command', ['help', 'pki'], 0],
    ['an unknown option', ['synth', '--outt', '/tmp'], 1],
    ['an unknown command', ['sinth'], 1],
    ['an option without its value', ['synth', '--config'], 1],
    ['no command at all', [], 1],
  ])('%s: the same exit code, stdout and stderr', async (_what, args, status) => {
    const a = keelson(...args);
    expect(a.status).toBe(status);
    expect(await runCli(args)).toEqual(a);
  });

  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8'));
    expect(await runCli(['--version'])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('an unknown option exits 1 with the error and the help on stderr', async () => {
    const run = await runCli(['synth', '--outt', '/tmp']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^keelson: error: unknown option '--outt'\n\(Did you mean --out\?\)\n\nUsage: keelson synth \[options\]/);
  });

  it('restores the environment, the working folder and the exit code after each call', async () => {
    const cwd = process.cwd();
    const env = { ...process.env };
    const run = await runCli(['lock', '--check', '--config', configWith(() => undefined)], { env: { KEELSON_RUNNER_PROBE: 'set' }, cwd: tempDir() });
    expect(run.status).toBe(1);
    expect(process.exitCode).toBeUndefined();
    expect(process.cwd()).toBe(cwd);
    expect(process.env).toEqual(env);
  });
});
