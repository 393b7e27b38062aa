// Helpers for the app's tests: run the built CLI, snapshot a folder's bytes (runCli in test-cli.ts runs it in-process).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import YAML from 'yaml';

export const appDir = resolve(__dirname, '..');
export const repoRoot = resolve(appDir, '../..');
/** The `keelson` bin, as npm links it; it loads the esbuild bundle. */
export const cliPath = join(appDir, 'bin/keelson.cjs');
export const defaultConfigPath = join(appDir, 'platform.yaml');

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the compiled `keelson` CLI as a user would. */
export function keelson(...args: string[]): CliRun {
  return keelsonWithEnv({}, ...args);
}

/** {@link keelson} with extra environment variables. */
export function keelsonWithEnv(env: Record<string, string>, ...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [cliPath, ...withScratchSecrets(args)], { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Keeps tests off the repository's own secrets bundle: a synth into a scratch
 * folder (--out without --secrets) keeps its bundle there too.
 */
export function withScratchSecrets(args: readonly string[]): string[] {
  const out = args.indexOf('--out');
  return args[0] === 'synth' && out >= 0 && !args.includes('--secrets') ? [...args, '--secrets', join(args[out + 1], 'secrets', 'keelson')] : [...args];
}

export const tempDir = (prefix = 'keelson-app-') => mkdtempSync(join(tmpdir(), prefix));

/** Path -> sha256 of every file under `dir`, to prove a folder did not change. */
export function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isSymbolicLink()) out[relative(dir, p)] = `link to ${readlinkSync(p)}`;
      else if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Writes the example config with `change` applied and returns its path. */
export function configWith(change: (c: any) => void, dir = tempDir()): string {
  const config = YAML.parse(readFileSync(defaultConfigPath, 'utf8'));
  change(config);
  const file = join(dir, 'platform.yaml');
  writeFileSync(file, YAML.stringify(config));
  return file;
}
