#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { version as VERSION } from '../package.json';
import { config as zodConfig } from 'zod';
import { registerLifecycleCommands } from './lifecycle/commands';

/**
 * The `keelson` command. Each subcommand loads only the modules it needs
 * (cdk8s for synth, ajv and the schemas for verify), so start-up stays
 * close to Node's own.
 */

/** The nearest folder at or above `from` that holds `nx.json` (the repo root), or `from` itself. */
export function findRepoRoot(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from);
  }
}

interface CommonOptions {
  config?: string;
  out?: string;
}

function resolvePaths(opts: CommonOptions) {
  const root = findRepoRoot(process.cwd());
  return {
    configPath: resolve(opts.config ?? join(root, 'apps/platform/platform.yaml')),
    outDir: resolve(opts.out ?? root),
  };
}

/** A file-system error while writing output, explained in terms of --out. */
function describeWriteError(error: unknown, outDir: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (!e?.code || !e.path) return error;
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    EEXIST: 'a file stands where a folder is needed',
    ENOTDIR: 'a file stands where a folder is needed',
    ENOSPC: 'no space left on the device',
  };
  return new Error(`--out ${outDir}: cannot write ${e.path} (${e.code}: ${why[e.code] ?? e.message}); choose a folder you can write to with --out`);
}

/** Prints a failure the way every command does, and sets the exit code. */
function fail(error: unknown, code = 2): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`keelson: ${message}\n`);
  process.exitCode = code;
}

export function buildCli(): Command {
  const program = new Command('keelson')
    .description('Keelson: a Kubernetes platform that survives losing a third of its nodes, as code.')
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(`keelson: ${s}`) });
  // Defaults are resolved against the repo root at run time, so they are stated in the help text.
  const configOption = () => new Option('--config <file>', 'platform config, YAML or JSON (default: apps/platform/platform.yaml)');
  const outOption = () => new Option('--out <dir>', 'folder that receives <gitops.path>, charts-out/ by default (default: the repo root)');

  program
    .command('synth')
    .description('render DIR/charts-out and DIR/infra-out from the config; earlier output is left untouched on any error')
    .addOption(configOption())
    .addOption(outOption())
    .addOption(new Option('--secrets <dir>', 'secrets bundle folder, git-ignored, mode 0700 (default: secrets/<cluster name> at the repo root)'))
    .addOption(
      new Option(
        '--restore-etcd <key>',
        'etcd snapshot in the backups bucket (e.g. etcd/20261125T081500Z.db) the first controller restores if it creates the cluster; needs the object-store keys that sign the links (keelson deploy takes the same option)',
      ),
    )
    .addOption(new Option('--restore-etcd-sha256 <hex>', 'SHA-256 of that snapshot (sha256sum <file>.db): the node refuses another download'))
    .action(async (opts: CommonOptions & { secrets?: string; restoreEtcd?: string; restoreEtcdSha256?: string }) => {
      const { configPath, outDir } = resolvePaths(opts);
      // Synth parses each schema once or a few times: zod's JIT (a `new Function` per object schema,
      // compiled on its first parse) costs more than it saves there (issue 25: 2% of a synth; verify,
      // which parses more, keeps it).
      zodConfig({ jitless: true });
      try {
        const { synth, describeSynth, restoreEtcdOption } = await import('./synth.js');
        const restoreEtcd = restoreEtcdOption(opts.restoreEtcd, opts.restoreEtcdSha256);
        // One bundle per cluster, wherever the output goes: the same default as `keelson pki`.
        const root = findRepoRoot(process.cwd());
        const result = await synth({
          configPath,
          outDir,
          secretsDir: opts.secrets ? resolve(opts.secrets) : (spec) => join(root, 'secrets', spec.config.cluster.name),
          restoreEtcd,
        });
        process.stdout.write(`keelson synth: wrote ${result.chartsDir} and ${result.infraDir}\n${describeSynth(result).join('\n')}\n`);
      } catch (e) {
        fail(describeWriteError(e, outDir));
        process.stderr.write(`keelson: nothing was written; earlier output under ${outDir} is as it was\n`);
      }
    });

  program
    .command('verify')
    .description('prove what synth rendered keeps its promises: fault tolerance, encryption, no SSH, pod security, schemas, secrets, Argo CD coverage; exit 1 on any failure')
    .addOption(configOption())
    .addOption(outOption())
    .option('--json', 'print the report as JSON')
    .option('--html <file>', 'also write the report as one self-contained HTML file with a picture of the nodes and the worst case')
    .action(async (opts: CommonOptions & { json?: boolean; html?: string }) => {
      const { outDir, configPath } = resolvePaths(opts);
      try {
        const [{ verifyPlatform, formatReport }, { loadPlatformSpec }] = await Promise.all([import('@keelson/verify'), import('@keelson/platform-spec')]);
        const spec = loadPlatformSpec(configPath);
        // The bundle is this file when run as the built CLI; it is searched for SSH client calls.
        const report = verifyPlatform(spec, { chartsDir: join(outDir, spec.config.gitops.path), infraDir: join(outDir, 'infra-out') }, __filename.endsWith('.cjs') ? __filename : undefined);
        if (opts.html) {
          const { renderHtmlReport } = await import('@keelson/verify');
          writeFileSync(resolve(opts.html), renderHtmlReport(report));
        }
        process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
        if (opts.html && !opts.json) process.stdout.write(`verify: wrote the HTML report to ${resolve(opts.html)}\n`);
        if (!report.ok) process.exitCode = 1;
      } catch (e) {
        fail(e);
      }
    });
  program
    .command('render')
    .description(
      'write the desired state for people to read and diff: every object Argo CD would apply, the upstream charts and Git sources rendered by the real helm and kustomize, one folder per Application, with applications.json (chart, version, digest, object count)',
    )
    .addOption(configOption())
    .addOption(outOption())
    .addOption(new Option('--into <dir>', 'folder to write, replaced whole on each run (default: desired-out at the repo root)'))
    .action(async (opts: CommonOptions & { into?: string }) => {
      const { outDir, configPath } = resolvePaths(opts);
      try {
        const [{ renderCommand, describeRender }, { loadPlatformSpec }] = await Promise.all([import('./render.js'), import('@keelson/platform-spec')]);
        const spec = loadPlatformSpec(configPath);
        const root = findRepoRoot(process.cwd());
        const result = renderCommand(spec, { outDir, into: resolve(opts.into ?? join(root, 'desired-out')), repoRoot: root, secretsDir: join(root, 'secrets', spec.config.cluster.name) });
        process.stdout.write(`${describeRender(result)}\n`);
      } catch (e) {
        fail(e);
      }
    });
  program
    .command('rehearse')
    .description(
      'sync DIR/charts-out onto a real Kubernetes control plane with one simulated node per topology node, the way Argo CD would, let the real scheduler place every pod, then fail the worst-case nodes and time each service back; exit 1 on any failure',
    )
    .addOption(configOption())
    .addOption(outOption())
    .option('--json <file>', 'also write the whole report as JSON')
    .option('--html <file>', 'also write the report as one self-contained HTML file (sync and failure timelines)')
    .option('--keep', 'leave the control plane running after the report, until Ctrl-C (prints its kubeconfig)')
    .option('--seed <n>', 'after the worst case, also fail a random set of k nodes drawn with this seed')
    .action(async (opts: CommonOptions & { json?: string; html?: string; keep?: boolean; seed?: string }) => {
      const { outDir, configPath } = resolvePaths(opts);
      const [{ rehearse, formatRehearsal, renderRehearsalHtml, RehearsalInputError, stopKeptRehearsals }, { loadPlatformSpec }] = await Promise.all([import('@keelson/rehearse'), import('@keelson/platform-spec')]);
      let spec: ReturnType<typeof loadPlatformSpec>;
      let seed: number | undefined;
      try {
        spec = loadPlatformSpec(configPath);
        if (opts.seed !== undefined) {
          seed = /^\d+$/.test(opts.seed) ? Number(opts.seed) : Number.NaN;
          if (!Number.isSafeInteger(seed)) throw new Error(`--seed ${opts.seed}: expected a whole number such as 7`);
        }
      } catch (e) {
        return fail(e, 2);
      }
      try {
        const report = await rehearse(spec, {
          chartsDir: join(outDir, spec.config.gitops.path),
          infraDir: join(outDir, 'infra-out'),
          ...(seed !== undefined ? { seed } : {}),
          keep: opts.keep === true,
          onProgress: (line) => process.stderr.write(`rehearse: ${line}\n`),
        });
        if (opts.json) {
          writeFileSync(resolve(opts.json), `${JSON.stringify(report, null, 2)}\n`);
        }
        if (opts.html) {
          writeFileSync(resolve(opts.html), renderRehearsalHtml(report));
          process.stderr.write(`rehearse: wrote the HTML report to ${resolve(opts.html)}\n`);
        }
        process.stdout.write(`${formatRehearsal(report)}\n`);
        if (!report.ok) process.exitCode = 1;
        if (report.kept) {
          process.stderr.write(`rehearse: kept running; KUBECONFIG=${report.kept.kubeconfig} kubectl get nodes; Ctrl-C stops it\n`);
          await new Promise<void>((done) => {
            for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => done());
          });
          await stopKeptRehearsals();
        }
      } catch (e) {
        fail(e, e instanceof RehearsalInputError ? 2 : 1);
      }
    });
  program
    .command('drill')
    .description(
      "on the live cluster: power off verify's worst-case nodes through the cloud's API, probe every public service and the API server while they are down, time each service back, then power them on again (always, also on errors and Ctrl-C); without --yes it prints the plan and exits 2; exit 1 on any failure",
    )
    .addOption(configOption())
    .addOption(outOption())
    .option('--kubeconfig <file>', 'admin kubeconfig of the live cluster (default: secrets/<cluster name>/admin.kubeconfig, written by deploy, else $KUBECONFIG)')
    .option('--yes', "really power the nodes off (needs the cloud's API token; the drill names its variable)")
    .option('--dry-run', 'print every cloud request, probe and node, and send nothing')
    .option('--json <file>', 'also write the whole report as JSON')
    .action(async (opts: CommonOptions & { kubeconfig?: string; yes?: boolean; dryRun?: boolean; json?: string }) => {
      const { outDir, configPath } = resolvePaths(opts);
      try {
        const { drillCommand } = await import('./drill.js');
        const code = await drillCommand({
          configPath,
          outDir,
          repoRoot: findRepoRoot(process.cwd()),
          kubeconfig: opts.kubeconfig,
          yes: opts.yes === true,
          dryRun: opts.dryRun === true,
          json: opts.json,
          env: process.env,
          out: (text) => process.stdout.write(text),
          err: (text) => process.stderr.write(text),
        });
        if (code !== 0) process.exitCode = code;
      } catch (e) {
        fail(e, 1);
      }
    });
  const pki = program.command('pki').description('the secrets bundle: CAs, etcd certificates, service-account and encryption keys');
  const secretsOption = () =>
    new Option('--secrets <dir>', 'secrets bundle folder, git-ignored, mode 0700 (default: secrets/<cluster name> at the repo root)');
  const pkiPaths = async (opts: CommonOptions & { secrets?: string }) => {
    const { configPath } = resolvePaths(opts);
    if (opts.secrets) return { configPath, secretsDir: resolve(opts.secrets) };
    const { loadPlatformSpec } = await import('@keelson/platform-spec');
    return { configPath, secretsDir: join(findRepoRoot(process.cwd()), 'secrets', loadPlatformSpec(configPath).config.cluster.name) };
  };
  pki
    .command('show')
    .description('list every certificate with subject, SANs, issuer, expiry and days left; creates the bundle on first use')
    .addOption(configOption())
    .addOption(secretsOption())
    .action(async (opts: CommonOptions & { secrets?: string }) => {
      try {
        const { pkiShow } = await import('./pki.js');
        process.stdout.write(`${(await pkiShow(await pkiPaths(opts))).join('\n')}\n`);
      } catch (e) {
        fail(e);
      }
    });
  pki
    .command('rotate')
    .description('reissue the bundle\'s leaf certificates (operator tools) under the same CAs')
    .addOption(configOption())
    .addOption(secretsOption())
    .option('--member <name...>', 'rotate only these etcd members')
    .action(async (opts: CommonOptions & { secrets?: string; member?: string[] }) => {
      try {
        const { pkiRotate } = await import('./pki.js');
        process.stdout.write(`${(await pkiRotate({ ...(await pkiPaths(opts)), members: opts.member })).join('\n')}\n`);
      } catch (e) {
        fail(e);
      }
    });
  program
    .command('lock')
    .description(
      'pin the Kubernetes system extension images by hash: download the bakery\'s SHA256SUMS (needs internet; KEELSON_SYSEXT_BASE_URL for a mirror) and write kubernetes-sysext.lock.json next to the config, to commit; synth pins each node\'s image by it',
    )
    .addOption(configOption())
    .option('--check', 'only check, without network, that the lock file exists and matches KUBERNETES_RELEASES; exit 1 if not')
    .action(async (opts: CommonOptions & { check?: boolean }) => {
      try {
        const { lockCommand } = await import('./lock.js');
        const result = await lockCommand({ configPath: resolvePaths(opts).configPath, check: opts.check === true });
        if (result.stdout.length > 0) process.stdout.write(`${result.stdout.join('\n')}\n`);
        if (result.stderr.length > 0) process.stderr.write(`${result.stderr.join('\n')}\n`);
        process.exitCode = result.exitCode;
      } catch (e) {
        fail(e);
        process.stderr.write('keelson: the lock file was not changed\n');
      }
    });
  program
    .command('doctor')
    .description(
      'check the upstream programs the tests and rehearsals run for real (helm, Kubernetes, etcd, built from their Go modules into ~/.cache/keelson/peers) and the Debian tools; exit 1 naming what is missing and the command that installs it',
    )
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      try {
        const { diagnose, formatDoctorReport } = await import('@keelson/upstream');
        const report = diagnose();
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
        process.exitCode = report.ok ? 0 : 1;
      } catch (e) {
        fail(e);
      }
    });
  registerLifecycleCommands(program, { configOption, outOption, resolvePaths, fail, repoRoot: () => findRepoRoot(process.cwd()) });
  return program;
}

/**
 * Runs the CLI on `argv` (as `process.argv`: node, script, arguments) and
 * resolves when the command is done; its exit code is then process.exitCode.
 * A `program` with commander's exitOverride() (the tests' in-process runner)
 * gets the code commander would have passed to process.exit.
 */
export async function main(argv: readonly string[], program: Command = buildCli()): Promise<void> {
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) process.exitCode = e.exitCode;
    else fail(e);
  }
}

if (require.main === module) main(process.argv);
