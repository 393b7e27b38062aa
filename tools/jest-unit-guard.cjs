// Jest setup for the unit variant (`*.test.ts`): unit tests run in-process.
// Starting any child process (a real helm, etcd, kubectl, git, the keelson CLI,
// ...) fails the test with the fix: move it to `<name>.int.test.ts`, which the
// `test-int` target runs. The guard is installed per test file and removed after it.
// Two exceptions, coreutils that are no program under test: `sync --file-system`,
// the flush writeTreesAtomically (@keelson/cluster-kit) runs after every synth
// write, and `mkfifo`, which makes the named pipe a malformed-config case reads.
const childProcess = require('node:child_process');
const { appendFileSync } = require('node:fs');
const { basename, relative } = require('node:path');

const ALLOWED = new Set(['sync', 'mkfifo']);
const NAMES = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'];
const testPath = expect.getState().testPath ?? 'this test file';
const originals = Object.fromEntries(NAMES.map((n) => [n, childProcess[n]]));

for (const name of NAMES) {
  childProcess[name] = function guarded(command, args, ...rest) {
    if (ALLOWED.has(command)) return originals[name].call(this, command, args, ...rest);
    const argv = Array.isArray(args) ? args.slice(0, 3).join(' ') : '';
    const where = relative(process.cwd(), testPath);
    // KEELSON_UNIT_GUARD_LOG: a file that collects every refusal (to sort files into unit and int).
    if (process.env.KEELSON_UNIT_GUARD_LOG) appendFileSync(process.env.KEELSON_UNIT_GUARD_LOG, `${testPath}\t${String(command).split('\n')[0].slice(0, 120)} ${argv.split('\n')[0].slice(0, 80)}\n`);
    throw new Error(
      `${where} is a unit test and unit tests run in-process, but it started a child process: ${name}(${command} ${argv}). ` +
        `Move the test to ${basename(testPath).replace(/\.test\.ts$/, '.int.test.ts')} (run by the test-int target; see CONTRIBUTING.md "How tests are organised").`,
    );
  };
}

afterAll(() => {
  for (const name of NAMES) childProcess[name] = originals[name];
});
