import { spawnSync } from 'node:child_process';

/** What a program said when asked for its version. */
export interface VersionProbe {
  readonly ok: boolean;
  /** The first version-looking word it printed (`v1.36.3`, `3.6.8`), or undefined. */
  readonly found?: string;
  /** Why it failed: could not run, non-zero exit, or another version. */
  readonly problem?: string;
}

/**
 * Whether `text` names `version` as a whole word, with or without its `v`:
 * `Kubernetes v1.36.3`, `etcd Version: 3.6.8`. `v1.36.30` does not match `v1.36.3`.
 */
export function mentionsVersion(text: string, version: string): boolean {
  const bare = version.replace(/^v/, '').replace(/\./g, '\\.');
  return new RegExp(`(^|[^0-9A-Za-z.])v?${bare}(?![0-9A-Za-z.]|\\.[0-9])`, 'm').test(text);
}

/** The first semantic version in `text`, as printed. */
export function firstVersion(text: string): string | undefined {
  return /\bv?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?/.exec(text)?.[0];
}

/**
 * Runs `path args...` (10 s at most) and checks that it prints `version`.
 */
export function probeVersion(path: string, args: readonly string[], version: string): VersionProbe {
  const run = spawnSync(path, [...args], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, HOME: process.env.HOME ?? '/tmp' } });
  if (run.error) return { ok: false, problem: `cannot run ${path}: ${run.error.message}` };
  const text = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
  const found = firstVersion(text);
  if (run.status !== 0) return { ok: false, ...(found ? { found } : {}), problem: `${path} ${args.join(' ')} exited ${run.status ?? run.signal}: ${text.trim().split('\n')[0] ?? ''}` };
  if (!mentionsVersion(text, version)) return { ok: false, ...(found ? { found } : {}), problem: `${path} is ${found ?? 'of an unknown version'}, not ${version}` };
  return { ok: true, found: found ?? version };
}
