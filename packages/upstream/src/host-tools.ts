import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { firstVersion } from './probe';

/** A program the tests run that comes from a Debian package, not from a Go build. */
export interface HostTool {
  readonly name: string;
  /** A bare name (looked up on PATH) or an absolute path. */
  readonly command: string;
  /** The Debian package that ships it. */
  readonly debianPackage: string;
  readonly versionArgs: readonly string[];
  readonly why: string;
}

/** Where Debian's `ignition` package puts the Ignition binary (it is meant to run from the initramfs). */
export const IGNITION_BINARY = '/usr/lib/dracut/modules.d/30ignition/ignition';

/** The Debian tools the tests run for real. */
export const HOST_TOOLS: readonly HostTool[] = [
  { name: 'ignition-validate', command: 'ignition-validate', debianPackage: 'ignition', versionArgs: ['--version'], why: "validates every node's Ignition config" },
  { name: 'ignition', command: IGNITION_BINARY, debianPackage: 'ignition', versionArgs: ['--version'], why: "applies a node's config into a scratch root, as first boot does" },
  { name: 'systemd-analyze', command: 'systemd-analyze', debianPackage: 'systemd', versionArgs: ['--version'], why: 'verifies generated units' },
  { name: 'shellcheck', command: 'shellcheck', debianPackage: 'shellcheck', versionArgs: ['--version'], why: 'lints the first-boot scripts' },
  { name: 'chromium', command: 'chromium', debianPackage: 'chromium', versionArgs: ['--version'], why: "loads verify's HTML report headless" },
  { name: 'nft', command: 'nft', debianPackage: 'nftables', versionArgs: ['--version'], why: "loads every node's host firewall (nftables JSON) in a private network namespace" },
  { name: 'ssh-keygen', command: 'ssh-keygen', debianPackage: 'openssh-client', versionArgs: ['-V'], why: "reads the servers' keyless public key as OpenSSH does (no private half exists)" },
];

/** Where a host tool is, and its version, or that it is missing. */
export interface HostToolStatus {
  readonly tool: HostTool;
  readonly path?: string;
  readonly version?: string;
}

/** The absolute path of `command` (itself when it has a slash, else the first match on PATH), or undefined. */
export function which(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = command.includes('/') ? [command] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Looks up every host tool (runs each one's `--version`). */
export function checkHostTools(tools: readonly HostTool[] = HOST_TOOLS): HostToolStatus[] {
  return tools.map((tool) => {
    const path = which(tool.command);
    if (!path) return { tool };
    const run = spawnSync(path, [...tool.versionArgs], { encoding: 'utf8', timeout: 20_000 });
    const text = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
    // systemd says `systemd 252 (252.39-1~deb12u1)`: fall back to the first number.
    const version = firstVersion(text) ?? /\b\d+(?:\.\d+)*\b/.exec(text)?.[0];
    return { tool, path, ...(version ? { version } : {}) };
  });
}

/** The command that installs `packages` on Debian. */
export function aptInstallCommand(packages: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${[...new Set(packages)].sort().join(' ')}`;
}

/** Thrown when host tools are missing and cannot be installed from here. */
export class HostToolsMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostToolsMissingError';
  }
}

/**
 * Installs the Debian packages of the missing host tools (as root, with
 * apt-get); without root or apt-get, throws with the exact command to run.
 * Returns the packages it installed.
 */
export function ensureHostTools(log: (line: string) => void = (l) => console.log(l)): string[] {
  const missing = checkHostTools().filter((s) => !s.path);
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.map((s) => s.tool.debianPackage))].sort();
  const names = missing.map((s) => s.tool.name).join(', ');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !which('apt-get')) {
    throw new HostToolsMissingError(`the tests run ${names} for real, and they are not installed; as root, run: ${aptInstallCommand(packages)}`);
  }
  log(`host tools: installing ${packages.join(', ')} (for ${names})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...packages]]) {
    const run = spawnSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    if (run.status !== 0) throw new HostToolsMissingError(`apt-get ${args.join(' ')} failed (exit ${run.status}): ${(run.stderr ?? '').trim().split('\n').slice(-5).join('\n')}`);
  }
  const still = checkHostTools().filter((s) => !s.path);
  if (still.length > 0) throw new HostToolsMissingError(`after installing ${packages.join(' ')}, still missing: ${still.map((s) => `${s.tool.name} (${s.tool.command})`).join(', ')}`);
  return packages;
}
