import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The sibling folder a new `dir` is built in: `.<name>.creating-<pid>-<random>`, next to it so the rename stays on one filesystem. */
const tempPrefix = (dir: string) => `.${basename(dir)}.creating-`;

/** Writes a file and flushes it to disk, so a rename after it never publishes an empty file (power loss included). */
export function writeDurably(path: string, content: string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes the temp folders an interrupted {@link createDirAtomically} of `dir`
 * left behind (a killed process cleans nothing up). They are never read.
 *
 * @returns the names removed
 */
export function removeLeftoverTempDirs(dir: string): string[] {
  const parent = dirname(dir);
  if (!existsSync(parent)) return [];
  const prefix = tempPrefix(dir);
  const leftovers = readdirSync(parent).filter((e) => e.startsWith(prefix));
  for (const e of leftovers) rmSync(join(parent, e), { recursive: true, force: true });
  return leftovers;
}

/**
 * Creates `dir` with exactly `files` in one step: everything is written
 * (files 0600, folders 0700) and flushed in a sibling temp folder, which is
 * then renamed onto `dir`. `dir` must be missing or an empty folder, which
 * rename(2) replaces. A kill at any point leaves either no `dir` (and a temp
 * folder that {@link removeLeftoverTempDirs} removes) or the whole of it.
 *
 * @returns `false` when `dir` was filled by someone else meanwhile (nothing of ours is left)
 */
export function createDirAtomically(dir: string, files: ReadonlyArray<{ readonly path: string; readonly content: string }>): boolean {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const tmp = join(parent, `${tempPrefix(dir)}${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp, { mode: 0o700 });
  chmodSync(tmp, 0o700);
  const folders = new Set<string>([tmp]);
  for (const f of files) {
    const path = join(tmp, f.path);
    for (let d = dirname(path); !folders.has(d); d = dirname(d)) folders.add(d);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeDurably(path, f.content, 0o600);
  }
  for (const d of folders) fsyncDir(d);
  try {
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw e;
  }
  fsyncDir(parent);
  return true;
}
