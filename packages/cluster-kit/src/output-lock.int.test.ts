import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockOutput, lockWaitSecondsFrom, OUTPUT_LOCK_FILE, OutputLockedError } from './output-lock';

const out = () => mkdtempSync(join(tmpdir(), 'keelson-lock-'));
const dist = join(__dirname, '../dist/output-lock.js');

/** A process holding the lock on `dir` until killed; resolves once it holds it. */
function holder(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(dist)}).lockOutput(${JSON.stringify(dir)}, { command: 'keelson deploy' }); console.log('held'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((done, fail) => {
    child.stdout!.once('data', () => done(child));
    child.once('exit', (code) => fail(new Error(`holder exited with ${code}`)));
  });
}

/** The PID of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('lockOutput', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it('refuses after the wait, naming the lock file and the holder PID', async () => {
    const dir = out();
    const child = await holder(dir);
    children.push(child);
    const t0 = Date.now();
    let error: unknown;
    try {
      lockOutput(dir, { waitSeconds: 0.5 });
    } catch (e) {
      error = e;
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(error).toBeInstanceOf(OutputLockedError);
    expect((error as Error).message).toMatch(new RegExp(`${join(dir, OUTPUT_LOCK_FILE).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is held by PID ${child.pid} \\(keelson deploy, since .*\\).*waited 0\\.5 s`));
    expect((error as OutputLockedError).holder?.pid).toBe(child.pid);
  });

  it('waits for a holder that finishes within the wait', async () => {
    const dir = out();
    const child = await holder(dir);
    children.push(child);
    // The wait blocks this thread, so the kill is sent from a child of its own.
    spawn(process.execPath, ['-e', `setTimeout(() => process.kill(${child.pid}, 'SIGKILL'), 300)`], { stdio: 'ignore' });
    const lock = lockOutput(dir, { waitSeconds: 10 });
    expect(JSON.parse(readFileSync(lock.file, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
  });

  it('takes over a lock whose holder is dead, and one whose PID now names a later process', async () => {
    const dir = out();
    const file = join(dir, OUTPUT_LOCK_FILE);
    writeFileSync(file, JSON.stringify({ pid: deadPid(), host: hostname(), command: 'keelson synth', since: '2026-01-01T00:00:00Z' }));
    const a = lockOutput(dir, { waitSeconds: 0 });
    a.release();
    const live = await holder(out());
    children.push(live);
    writeFileSync(file, JSON.stringify({ pid: live.pid, host: hostname(), command: 'keelson synth', since: '2026-01-01T00:00:00Z', started: '1' }));
    const b = lockOutput(dir, { waitSeconds: 0 });
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
    b.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('waits on an unreadable lock while it may still be being written, and takes it over once old', () => {
    const dir = out();
    const file = join(dir, OUTPUT_LOCK_FILE);
    writeFileSync(file, '');
    expect(() => lockOutput(dir, { waitSeconds: 0.2 })).toThrow(/is held by a process that has not finished writing it/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    lockOutput(dir, { waitSeconds: 0 }).release();
    expect(existsSync(file)).toBe(false);
  });

  it('never takes over a lock held from another host', () => {
    const dir = out();
    writeFileSync(join(dir, OUTPUT_LOCK_FILE), JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, command: 'keelson deploy', since: '2026-01-01T00:00:00Z' }));
    expect(() => lockOutput(dir, { waitSeconds: 0 })).toThrow(/keelson deploy, since 2026-01-01T00:00:00Z on host not-/);
  });

  it('is taken again by the process that holds it, and released by the last release', () => {
    const dir = out();
    const outer = lockOutput(dir, { command: 'keelson deploy' });
    const inner = lockOutput(dir, { command: 'keelson synth', waitSeconds: 0 });
    inner.release();
    inner.release();
    expect(existsSync(outer.file)).toBe(true);
    outer.release();
    expect(existsSync(outer.file)).toBe(false);
  });

  it('lets one of two processes in at a time', async () => {
    const dir = out();
    const log = join(dir, 'log');
    const worker = `const { lockOutput } = require(${JSON.stringify(dist)}); const fs = require('node:fs');
      for (let i = 0; i < 20; i++) { const l = lockOutput(${JSON.stringify(dir)}, { waitSeconds: 20 }); fs.appendFileSync(${JSON.stringify(log)}, 'in ' + process.pid + '\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); fs.appendFileSync(${JSON.stringify(log)}, 'out ' + process.pid + '\\n'); l.release(); }`;
    const run = () => new Promise<number | null>((done) => spawn(process.execPath, ['-e', worker], { stdio: 'inherit' }).once('exit', done));
    expect(await Promise.all([run(), run()])).toEqual([0, 0]);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(80);
    for (let i = 0; i < lines.length; i += 2) expect(lines[i + 1]).toBe(lines[i].replace('in', 'out'));
  });
});

describe('lockWaitSecondsFrom', () => {
  it('reads KEELSON_LOCK_WAIT_SECONDS, and fails on what is not a number of seconds', () => {
    expect(lockWaitSecondsFrom({})).toBeUndefined();
    expect(lockWaitSecondsFrom({ KEELSON_LOCK_WAIT_SECONDS: '2.5' })).toBe(2.5);
    expect(() => lockWaitSecondsFrom({ KEELSON_LOCK_WAIT_SECONDS: 'soon' })).toThrow(/KEELSON_LOCK_WAIT_SECONDS="soon": expected the seconds to wait/);
  });
});
