#!/usr/bin/env node
// The README's test command (`npm test`): install what the tests run when it
// is missing, build every project, then run every project's lint, unit tests
// and integration tests.
//
// The rehearsals (rehearse's test-int, about 8 minutes of mostly waiting on
// the real controllers' clocks) start as soon as the builds are done, beside
// everything else (with rehearse's lint and unit tests, lines prefixed
// `[rehearse]`), instead of when Nx reaches their project: Nx starts a run's
// tasks in project order, and rehearse comes near the end.
//
//   node tools/test.mjs
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('.', import.meta.url).pathname, '..');
const nx = join(root, 'node_modules', '.bin', 'nx');
const style = '--outputStyle=stream-without-prefixes';
const started = Date.now();
const seconds = () => `${Math.round((Date.now() - started) / 1000)} s`;

/** Runs a step to its end with the terminal, or stops the run with its exit code. */
function step(what, command, args) {
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`npm test: ${what} failed (exit ${run.status ?? run.signal})`);
    process.exit(run.status || 1);
  }
}

/** Runs `nx` with `args`; each line it prints starts with `[label] ` when a label is given. Resolves to its exit code. */
function nxRun(args, label) {
  return new Promise((done) => {
    const child = spawn(nx, args, { cwd: root, stdio: label ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    if (label) {
      for (const [from, to] of [
        [child.stdout, process.stdout],
        [child.stderr, process.stderr],
      ]) {
        let rest = '';
        from.setEncoding('utf8');
        from.on('data', (chunk) => {
          const lines = (rest + chunk).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) to.write(`[${label}] ${line}\n`);
        });
        from.on('end', () => rest && to.write(`[${label}] ${rest}\n`));
      }
    }
    child.on('close', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

// One folder of compiled CRD validators for the whole run (every Jest target and the CLIs they start), removed after it,
// unless the caller chose one: each validator is compiled once per run, and the home cache is never written.
const validators = process.env.KEELSON_VALIDATOR_CACHE ? undefined : mkdtempSync(join(tmpdir(), 'keelson-test-validators-'));
if (validators) process.env.KEELSON_VALIDATOR_CACHE = validators;
process.on('exit', () => validators && rmSync(validators, { recursive: true, force: true }));

step('the test prerequisites', process.execPath, [join(root, 'tools', 'test-prerequisites.mjs')]);
step('the build', nx, ['run-many', '-t', 'build', style]);

// Builds are done: nothing below builds again (--excludeTaskDependencies), so the two runs share no task.
const rehearse = nxRun(['run-many', '-p', 'rehearse', '-t', 'test-int', 'lint', 'test', '--excludeTaskDependencies', style], 'rehearse');
const rest = nxRun(['run-many', '-t', 'lint', 'test', 'test-int', '--exclude=rehearse', '--excludeTaskDependencies', style]);
const [a, b] = await Promise.all([rehearse, rest]);
if (a !== 0) console.error(`npm test: a target of rehearse failed (exit ${a}); its lines start with [rehearse]`);
if (b !== 0) console.error(`npm test: a lint, unit or integration target failed (exit ${b}); see Nx's summary above`);
console.log(`npm test: ${a === 0 && b === 0 ? 'passed' : 'failed'} in ${seconds()}`);
process.exit(a || b);
