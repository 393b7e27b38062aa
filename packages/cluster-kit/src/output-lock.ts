import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/** The lock file of an output folder: held by whatever writes its trees (synth, and the lifecycle commands around it). */
export const OUTPUT_LOCK_FILE = '.keelson-out.lock';

/** What a lock file says about its holder. */
export interface OutputLockHolder {
  readonly pid: number;
  readonly host: string;
  /** What holds it, e.g. `keelson synth`. */
  readonly command: string;
  /** ISO time the lock was taken. */
  readonly since: string;
  /** The holder's start time in clock ticks since boot (Linux), so a reused PID is not mistaken for the holder. */
  readonly started?: string;
}

export interface OutputLockOptions {
  /** What takes the lock, named to anyone who finds it held. @default 'keelson' */
  readonly command?: string;
  /**
   * How long to wait for a live holder before refusing.
   * @default - `KEELSON_LOCK_WAIT_SECONDS`, else 30: a synth takes a few seconds; a deploy holds the lock for its whole run, so a synth beside it is refused
   */
  readonly waitSeconds?: number;
}

/** Thrown when another live process holds the lock past the wait. */
export class OutputLockedError extends Error {
  constructor(
    message: string,
    public readonly file: string,
    public readonly holder: OutputLockHolder | undefined,
  ) {
    super(message);
    this.name = 'OutputLockedError';
  }
}

/** A held lock; `release` once per `lockOutput`. */
export interface OutputLock {
  readonly file: string;
  release(): void;
}

/** An empty or half-written lock file younger than this belongs to a holder still writing it. */
const UNREADABLE_GRACE_MS = 10_000;

/** Locks this process holds: file -> holds and the exact content written, so a lock taken over is never deleted. */
const held = new Map<string, { count: number; content: string }>();
let exitHookInstalled = false;

/**
 * Takes the lock on an output folder (`<dir>/.keelson-out.lock`, mode 0600),
 * waiting up to `waitSeconds` for another holder. A lock whose holder is dead
 * (no such PID on this host, or the PID now names a process started later) is
 * taken over. Held per process: the same process may take it again (deploy
 * holds it and calls synth); each take needs its `release`.
 *
 * @throws OutputLockedError naming the lock file and the holder's PID
 */
export function lockOutput(dir: string, options: OutputLockOptions = {}): OutputLock {
  mkdirSync(dir, { recursive: true });
  const file = join(resolve(dir), OUTPUT_LOCK_FILE);
  const mine = held.get(file);
  if (mine) {
    mine.count++;
    return handle(file);
  }
  const me: OutputLockHolder = { pid: process.pid, host: hostname(), command: options.command ?? 'keelson', since: new Date().toISOString(), started: startTimeOf(process.pid) };
  const content = `${JSON.stringify(me)}\n`;
  const waitMs = (options.waitSeconds ?? lockWaitSecondsFrom(process.env) ?? 30) * 1000;
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (tryCreate(file, content)) break;
    const found = readLock(file);
    if (found === undefined) continue; // released meanwhile
    if (isStale(found)) {
      takeOver(file, found.raw);
      continue;
    }
    if (Date.now() >= deadline) {
      const h = found.holder;
      const who = h ? `PID ${h.pid} (${h.command}, since ${h.since}${h.host === hostname() ? '' : ` on host ${h.host}`})` : 'a process that has not finished writing it';
      throw new OutputLockedError(
        `${file} is held by ${who}: another keelson run is writing the output trees under ${resolve(dir)}; waited ${waitMs / 1000} s. Run again when it has finished; if ${h ? `PID ${h.pid} is not a keelson process` : 'no keelson process is running'}${h && h.host !== hostname() ? ` on ${h.host}` : ''}, the lock is stale: delete ${file}`,
        file,
        h,
      );
    }
    sleepMs(Math.min(100 + Math.floor(Math.random() * 100), Math.max(1, deadline - Date.now())));
  }
  held.set(file, { count: 1, content });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // An uncaught error or process.exit still releases; a kill leaves a stale lock, taken over by the next run.
    process.once('exit', () => {
      for (const [f, h] of held) releaseIfOurs(f, h.content);
    });
  }
  removeStaleTakeovers(resolve(dir));
  return handle(file);
}

/**
 * `KEELSON_LOCK_WAIT_SECONDS`: how long a run waits for another that holds
 * the output lock, e.g. longer in CI where runs queue; undefined when unset.
 */
export function lockWaitSecondsFrom(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env.KEELSON_LOCK_WAIT_SECONDS;
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`KEELSON_LOCK_WAIT_SECONDS=${JSON.stringify(raw)}: expected the seconds to wait for the output lock, such as 30 or 0.5`);
  return seconds;
}

function handle(file: string): OutputLock {
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      const h = held.get(file);
      if (!h) return;
      if (--h.count > 0) return;
      held.delete(file);
      releaseIfOurs(file, h.content);
    },
  };
}

/** Creates the lock file only if none exists (O_EXCL), with our content synced. */
function tryCreate(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readLock(file: string): { raw: string; holder?: OutputLockHolder; ageMs: number } | undefined {
  try {
    const raw = readFileSync(file, 'utf8');
    const ageMs = Date.now() - statSync(file).mtimeMs;
    try {
      const holder = JSON.parse(raw) as OutputLockHolder;
      return Number.isInteger(holder.pid) ? { raw, holder, ageMs } : { raw, ageMs };
    } catch {
      return { raw, ageMs };
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Dead holder: no such process on this host, or that PID now belongs to a process started at another time. */
function isStale(found: { holder?: OutputLockHolder; ageMs: number }): boolean {
  const h = found.holder;
  if (!h) return found.ageMs > UNREADABLE_GRACE_MS;
  // A holder on another host (a shared folder) cannot be checked: it is live until someone removes it.
  if (h.host !== hostname()) return false;
  // Our own PID in a lock this process does not hold (checked first): left by an earlier process with this PID.
  if (h.pid === process.pid) return true;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  const proc = procStat(h.pid);
  // A zombie has exited; its parent has not yet reaped it.
  if (proc?.state === 'Z') return true;
  return h.started !== undefined && proc !== undefined && proc.started !== h.started;
}

/**
 * Removes a stale lock: renamed aside first, so of two processes that found
 * the same stale lock only one removes it; if what was renamed is not the
 * stale lock (a live holder took it meanwhile), it is put back.
 */
function takeOver(file: string, staleRaw: string): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (readFileSync(aside, 'utf8') === staleRaw || existsSync(file)) {
    unlinkSync(aside);
  } else {
    renameSync(aside, file);
  }
}

/** Takeovers interrupted by a kill leave `.keelson-out.lock.stale-<pid>`; removed once the lock is ours. */
function removeStaleTakeovers(dir: string): void {
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith(`${OUTPUT_LOCK_FILE}.stale-`)) rmSync(join(dir, entry), { force: true });
  }
}

function releaseIfOurs(file: string, content: string): void {
  try {
    if (readFileSync(file, 'utf8') === content) unlinkSync(file);
  } catch {
    // Gone already: nothing to release.
  }
}

/** A process's state and start time (clock ticks since boot), from /proc (Linux); undefined elsewhere. */
function procStat(pid: number): { state: string; started: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields 3 and 22; the command name (field 2) is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], started: fields[19] };
  } catch {
    return undefined;
  }
}

const startTimeOf = (pid: number) => procStat(pid)?.started;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
