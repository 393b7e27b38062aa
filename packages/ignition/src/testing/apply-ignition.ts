import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { DEFAULT_IGNITION_BINARY, requireBinary } from './binaries';
import { startConfigServer, type ConfigServer, type ConfigServerOptions } from './config-server';

/** The config to apply: JSON text, a parsed object, or (with `serve`) built from the server's URL. */
export type ApplyIgnitionInput = string | object | ((server: { readonly url: string }) => string | object);

export interface ApplyIgnitionOptions {
  /**
   * Files served over HTTP on 127.0.0.1 while Ignition runs (path -> body), for configs that
   * merge a remote part or download file contents. Pass the config as a function to get the
   * server's URL; see also {@link startConfigServer} to run the server yourself.
   * @default - no server
   */
  readonly serve?: Record<string, string | Buffer>;
  /**
   * Files already in the scratch root before Ignition runs (path relative to
   * the root -> text), such as a file the image ships that a config replaces.
   * @default - only the seed Ignition itself needs (passwd, group, SELinux config)
   */
  readonly seed?: Record<string, string>;
  /** Options for the server started for `serve`. */
  readonly serveOptions?: ConfigServerOptions;
  /**
   * Kill Ignition if one stage takes longer (it retries failed fetches for minutes otherwise).
   * @default 30000
   */
  readonly stageTimeoutMs?: number;
  /** @default process.env.KEELSON_IGNITION_BINARY ?? '/usr/lib/dracut/modules.d/30ignition/ignition' */
  readonly ignitionBinary?: string;
}

/** A scratch root that the real Ignition wrote into. */
export interface AppliedIgnition {
  /** The scratch root: Ignition's `/` (assert on `join(root, 'etc/...')`). */
  readonly root: string;
  /** Ignition's log of every stage that ran (journal noise removed). */
  readonly log: string;
  /** The stages that ran, in order: `fetch-offline`, then `fetch` when the config needs the network, then `files`. */
  readonly stages: readonly string[];
  /** Removes the root and everything else this run created. Safe to call twice. */
  cleanup(): void;
}

/** Ignition failed; the message holds the stage and Ignition's own error lines. */
export class IgnitionRunError extends Error {
  public override readonly name = 'IgnitionRunError';
  constructor(
    public readonly stage: string,
    public readonly log: string,
    detail: string,
  ) {
    super(`Ignition stage ${stage} failed: ${detail}`);
  }
}

/**
 * What the scratch root holds before Ignition runs:
 * - `etc/selinux/config` (SELINUX=disabled, SELINUXTYPE=targeted): the files stage reads it to
 *   decide on relabeling and fails without it;
 * - `etc/passwd` and `etc/group` with `root` (0) and `core` (500), as on Flatcar: Ignition looks
 *   owner *names* up inside the root (numeric ids need nothing).
 */
const ROOT_SEED: Record<string, string> = {
  'etc/selinux/config': 'SELINUX=disabled\nSELINUXTYPE=targeted\n',
  'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:Flatcar Admin:/home/core:/bin/bash\n',
  'etc/group': 'root:x:0:\ncore:x:500:core\n',
};

/**
 * Runs the real Ignition (Debian package `ignition`, 2.14) on a config into a fresh scratch root,
 * the way a Flatcar node's initramfs runs it, minus the disks stage:
 *
 * 1. `ignition -platform file -stage fetch-offline`: the `file` platform reads the config from the
 *    path in `IGNITION_CONFIG_FILE` (default `./config.ign`) and writes the fully merged config to
 *    `-config-cache` (default `/run/ignition.json`). When the config references a remote resource,
 *    this stage writes the `-neednet` flag file (default `/run/ignition/neednet`) instead, and
 *    2. `-stage fetch` fetches and verifies the remote parts.
 * 3. `-stage files -root <root>` writes files, directories, links, units, drop-ins, masks and presets
 *    under the root, from the cache.
 *
 * Every default path under /run is redirected into a temporary directory, and a no-op `setfiles`
 * comes first on PATH (Debian's build relabels for SELinux after the files stage and needs it).
 * Ignition still reads the host's `/usr/lib/ignition/{base.d,base.platform.d/file,user.ign}` and
 * `/proc/cmdline`; Debian ships none of these, so they add nothing.
 *
 * Needs root (the files stage chowns every node and chroots to look owner names up) and the binary;
 * throws, never skips, when either is missing. Rejects with an {@link IgnitionRunError} when Ignition
 * fails (for example on a hash mismatch). The temp directory is removed on failure, and by
 * `cleanup()` on success.
 * @see https://coreos.github.io/ignition/supported-platforms/
 * @see https://coreos.github.io/ignition/operator-notes/
 */
export async function applyIgnition(config: ApplyIgnitionInput, options: ApplyIgnitionOptions = {}): Promise<AppliedIgnition> {
  const binary = requireBinary(options.ignitionBinary ?? process.env.KEELSON_IGNITION_BINARY ?? DEFAULT_IGNITION_BINARY, 'applyIgnition');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      'applyIgnition needs root: Ignition\'s files stage chowns every file it writes and chroots into the scratch root to look owners up. Run the tests as root (CI does), for example in a container',
    );
  }
  let server: ConfigServer | undefined;
  const work = mkdtempSync(join(tmpdir(), 'keelson-ignition-'));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  try {
    if (options.serve) server = await startConfigServer(options.serve, options.serveOptions);
    if (typeof config === 'function') {
      if (!server) throw new Error('applyIgnition: the config is a function of the server URL, but no `serve` files were given');
      config = config({ url: server.url });
    }
    const root = join(work, 'root');
    for (const [path, text] of Object.entries({ ...ROOT_SEED, ...options.seed })) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'setfiles'), '#!/bin/sh\n# keelson: no SELinux relabeling in a scratch root\nexit 0\n');
    chmodSync(join(bin, 'setfiles'), 0o755);
    const configFile = join(work, 'config.ign');
    writeFileSync(configFile, typeof config === 'string' ? config : JSON.stringify(config));

    const paths = { cache: join(work, 'ignition.json'), state: join(work, 'state'), neednet: join(work, 'neednet') };
    const env = { ...process.env, IGNITION_CONFIG_FILE: configFile, PATH: `${bin}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}` };
    const common = ['-platform', 'file', '-log-to-stdout', '-config-cache', paths.cache, '-state-file', paths.state, '-neednet', paths.neednet];
    const timeoutMs = options.stageTimeoutMs ?? 30_000;
    const stages: string[] = [];
    let log = '';
    const stage = async (name: string, extra: string[] = []) => {
      stages.push(name);
      const run = await runProcess(binary, [...common, '-stage', name, ...extra], env, work, timeoutMs);
      const output = run.output
        .split('\n')
        .filter((l) => !l.includes('failed to log systemd journal entry'))
        .join('\n');
      log += `### ignition -stage ${name}\n${output}\n`;
      if (run.code !== 0) {
        const critical = output.split('\n').filter((l) => l.startsWith('CRITICAL'));
        const detail = run.timedOut ? `killed after ${timeoutMs} ms` : critical.length > 0 ? critical.join('\n') : `exit code ${String(run.code)}`;
        throw new IgnitionRunError(name, log, detail);
      }
    };
    await stage('fetch-offline');
    if (existsSync(paths.neednet)) await stage('fetch');
    await stage('files', ['-root', root]);
    return { root, log, stages, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  } finally {
    await server?.close();
  }
}

interface ProcessResult {
  code: number | null;
  output: string;
  timedOut: boolean;
}

/** Runs a process asynchronously (the config server lives in this event loop), stdout and stderr interleaved. */
function runProcess(binary: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: Buffer.concat(chunks).toString('utf8'), timedOut });
    });
  });
}

/** What `systemctl preset` did with the units Ignition preset. */
export interface PresetResult {
  /** Units named in Ignition's preset file, as `enable x.service` / `disable y.service` lines. */
  readonly presets: readonly string[];
  /** `.wants`/`.requires` links under `etc/systemd/system` after presetting, as `multi-user.target.wants/kubelet.service`. */
  readonly links: readonly string[];
  /** What systemctl printed. */
  readonly output: string;
}

/** Where Ignition 2.14 records `enabled: true|false` (one `enable <unit>` / `disable <unit>` line each). */
export const IGNITION_PRESET_FILE = 'etc/systemd/system-preset/20-ignition.preset';

/**
 * Does what systemd does on a Flatcar node's first boot for the units Ignition preset: runs
 * `systemctl --root=<root> preset <unit>...` for every unit in {@link IGNITION_PRESET_FILE}, offline.
 *
 * `enabled: true` only records a preset; this shows whether it enables anything. A unit without an
 * `[Install]` section (in its file or a drop-in) gets no link. Units the OS ships are not in a scratch
 * root, so presetting them is skipped here.
 * @see https://www.freedesktop.org/software/systemd/man/latest/systemd.preset.html
 */
export async function applyIgnitionPresets(root: string): Promise<PresetResult> {
  const systemctl = requireBinary(process.env.KEELSON_SYSTEMCTL ?? 'systemctl', 'applyIgnitionPresets');
  const presetFile = join(root, IGNITION_PRESET_FILE);
  const presets = existsSync(presetFile) ? readFileSync(presetFile, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : [];
  const units = presets.map((l) => l.split(/\s+/)[1] as string).filter((u) => existsSync(join(root, 'etc/systemd/system', u)));
  let output = '';
  if (units.length > 0) {
    const run = await runProcess(systemctl, [`--root=${root}`, 'preset', ...units], { ...process.env, SYSTEMD_LOG_COLOR: '0' }, root, 30_000);
    output = run.output;
    if (run.code !== 0) throw new Error(`systemctl --root preset ${units.join(' ')} failed (exit ${String(run.code)}):\n${output}`);
  }
  const base = join(root, 'etc/systemd/system');
  const links = existsSync(base)
    ? readdirSync(base, { withFileTypes: true })
        .filter((d) => d.isDirectory() && /\.(wants|requires|upholds)$/.test(d.name))
        .flatMap((d) => readdirSync(join(base, d.name)).map((u) => `${d.name}/${u}`))
        .sort()
    : [];
  return { presets, links, output };
}
