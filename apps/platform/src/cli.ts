#!/usr/bin/env node
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

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

/** Prints a failure the way every command does, and sets the exit code. */
function fail(error: unknown, code = 2): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`keelson: ${message}\n`);
  process.exitCode = code;
}

export function buildCli(): Command {
  const program = new Command('keelson')
    .description('Keelson: a Kubernetes platform that survives losing a third of its nodes, as code.')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(`keelson: ${s}`) });
  const configOption = () => new Option('--config <file>', 'platform config, YAML or JSON').default(undefined, 'apps/platform/platform.yaml');
  const outOption = () => new Option('--out <dir>', 'folder that receives charts-out/').default(undefined, 'the repo root');

  program
    .command('synth')
    .description('render DIR/charts-out from the config; earlier output is left untouched on any error')
    .addOption(configOption())
    .addOption(outOption())
    .action(async (opts: CommonOptions) => {
      const { configPath, outDir } = resolvePaths(opts);
      try {
        const { synth, describeSynth, CHARTS_OUT } = await import('./synth.js');
        const result = synth({ configPath, outDir });
        process.stdout.write(`keelson synth: wrote ${join(outDir, CHARTS_OUT)}\n${describeSynth(result).join('\n')}\n`);
      } catch (e) {
        fail(e);
        process.stderr.write(`keelson: nothing was written; ${join(outDir, 'charts-out')} is as it was\n`);
      }
    });

  program
    .command('verify')
    .description('check what synth rendered: schemas, secrets, Pod Security, Argo CD coverage; exit 1 on any failure')
    .addOption(configOption())
    .addOption(outOption())
    .option('--json', 'print the report as JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      const { outDir, configPath } = resolvePaths(opts);
      try {
        const [{ verifyChartsOut, formatReport }, { loadPlatformSpec }] = await Promise.all([import('./verify.js'), import('@keelson/platform-spec')]);
        const spec = loadPlatformSpec(configPath);
        const namespaces = spec.layers.flatMap((l) => l.namespaces.map((n) => n.name));
        const report = verifyChartsOut(join(outDir, 'charts-out'), { namespaces });
        process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
        if (!report.ok) process.exitCode = 1;
      } catch (e) {
        fail(e);
      }
    });
  const pki = program.command('pki').description('the secrets bundle: CAs, etcd certificates, service-account and encryption keys');
  const secretsOption = () =>
    new Option('--secrets <dir>', 'secrets bundle folder (git-ignored, mode 0700)').default(undefined, 'secrets/<cluster name> at the repo root');
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
    .description('reissue leaf certificates under the same CAs and name the nodes to replace')
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
  return program;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((e) => fail(e));
}
