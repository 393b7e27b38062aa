// runCli: the `keelson` command run in the jest process, for unit tests.
import { Command } from 'commander';
import { Readable } from 'node:stream';
import { format } from 'node:util';
import { buildCli, main } from './cli';
import { type CliRun, repoRoot, withScratchSecrets } from './test-helpers';

export interface RunCliOptions {
  /** Set in process.env for the call, on top of the test's environment (as a child process inherits it). */
  readonly env?: Readonly<Record<string, string>>;
  /** @default the repo root, where the built CLI runs in the end-to-end tests */
  readonly cwd?: string;
  /** What the command reads from process.stdin. @default empty, like spawnSync without input */
  readonly stdin?: string;
}

let running = false;

/** Every command under `command`, itself included: commander copies exitOverride only to subcommands added after it. */
const allCommands = (command: Command): Command[] => [command, ...command.commands.flatMap(allCommands)];

/** Makes `stream.isTTY` undefined, as it is on the pipe a spawned CLI writes to; returns the undo. */
function notATerminal(stream: object): () => void {
  const own = Object.getOwnPropertyDescriptor(stream, 'isTTY');
  Object.defineProperty(stream, 'isTTY', { value: undefined, configurable: true, writable: true });
  return () => (own ? Object.defineProperty(stream, 'isTTY', own) : delete (stream as { isTTY?: boolean }).isTTY);
}

/**
 * Runs `keelson <args>` in this process: the same `buildCli()` and `main()`
 * the bundle runs, from the TypeScript source.
 *
 * Faithful to a spawned CLI (src/cli-runner.int.test.ts compares the two):
 * commander's exits (--help, --version, usage errors) become the exit code
 * process.exit would have given; stdout and stderr (process.*.write and
 * console.*) are captured; `env` is applied to process.env and the whole
 * environment restored after; the streams are no terminal; the status is
 * process.exitCode (0 when unset), reset before and after. Like `keelson()`,
 * a synth with --out and no --secrets keeps its bundle under that folder.
 * One call at a time: it changes process-wide state. Not for what needs the
 * bundle itself (verify searches the built bundle for SSH client calls; here
 * there is none) or a signal (`rehearse --keep` waits for Ctrl-C).
 */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  if (running) throw new Error('runCli: a call is still running; await each call before the next (it swaps process.env, the cwd and the output streams)');
  running = true;
  const out: string[] = [];
  const err: string[] = [];
  const capture = (into: string[]) =>
    function write(chunk: string | Uint8Array, encoding?: BufferEncoding | ((e?: Error | null) => void), done?: (e?: Error | null) => void): boolean {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'));
      const callback = typeof encoding === 'function' ? encoding : done;
      if (callback) process.nextTick(callback);
      return true;
    };
  const line = (into: string[]) => (...data: unknown[]) => void into.push(`${format(...data)}\n`);
  const env = { ...process.env };
  const cwd = process.cwd();
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const consoleMethods = { log: console.log, info: console.info, debug: console.debug, warn: console.warn, error: console.error };
  const stdinDescriptor = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  const undo = [notATerminal(process.stdout), notATerminal(process.stderr)];
  process.exitCode = undefined;
  try {
    Object.assign(process.env, options.env);
    process.chdir(options.cwd ?? repoRoot);
    const stdin = Readable.from(options.stdin === undefined ? [] : [options.stdin]);
    Object.defineProperty(process, 'stdin', { value: Object.assign(stdin, { isTTY: undefined }), configurable: true, enumerable: true });
    process.stdout.write = capture(out) as typeof process.stdout.write;
    process.stderr.write = capture(err) as typeof process.stderr.write;
    Object.assign(console, { log: line(out), info: line(out), debug: line(out), warn: line(err), error: line(err) });
    // Commander then throws a CommanderError where it would call process.exit; main() turns it into the exit code.
    const program = buildCli();
    for (const command of allCommands(program)) command.exitOverride();
    await main(['node', 'keelson', ...withScratchSecrets(args)], program);
    return { status: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    Object.assign(console, consoleMethods);
    Object.defineProperty(process, 'stdin', stdinDescriptor);
    for (const u of undo) u();
    process.chdir(cwd);
    for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name];
    Object.assign(process.env, env);
    process.exitCode = undefined;
    running = false;
  }
}
