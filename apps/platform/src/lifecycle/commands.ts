import { Option, type Command } from 'commander';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { PlatformSpec } from '@keelson/platform-spec';
import type { LifecycleOptions } from './options';
import type { ProgressRenderer } from './steps';

/** What the CLI shares with the lifecycle commands. */
export interface LifecycleCliDeps {
  readonly configOption: () => Option;
  readonly outOption: () => Option;
  readonly resolvePaths: (opts: { config?: string; out?: string }) => { configPath: string; outDir: string };
  readonly fail: (error: unknown, code?: number) => void;
  /** The repo root, where `secrets/<cluster>` lives by default. */
  readonly repoRoot: () => string;
}

interface LifecycleCliOptions {
  config?: string;
  out?: string;
  secrets?: string;
  terraformBin?: string;
  kubeconfig?: string;
  yes?: boolean;
  backup?: boolean;
  restoreEtcd?: string;
  restoreEtcdSha256?: string;
}

const RENDERERS: readonly ProgressRenderer[] = ['default', 'simple', 'verbose', 'silent'];

/** Builds the real adapters (Terraform binary, kubectl, etcd over mTLS) from the command line. */
async function optionsFrom(opts: LifecycleCliOptions, deps: LifecycleCliDeps): Promise<LifecycleOptions> {
  const { configPath, outDir } = deps.resolvePaths(opts);
  const env = process.env;
  const { restoreEtcdOption } = await import('../synth.js');
  const restoreEtcd = restoreEtcdOption(opts.restoreEtcd, opts.restoreEtcdSha256);
  const [{ findTerraformBinary, CommandTerraform }, { KubectlCluster, kubectlRunner }] = await Promise.all([import('./terraform.js'), import('./cluster.js')]);
  const binary = findTerraformBinary(opts.terraformBin, env);
  const wanted = opts.terraformBin ?? env.KEELSON_TERRAFORM;
  const progress = env.KEELSON_PROGRESS as ProgressRenderer | undefined;
  return {
    configPath,
    outDir,
    env,
    secretsDir: opts.secrets ? resolve(opts.secrets) : (spec: PlatformSpec) => join(deps.repoRoot(), 'secrets', spec.config.cluster.name),
    renderer: progress && RENDERERS.includes(progress) ? progress : process.stdout.isTTY ? 'default' : 'simple',
    print: (line) => process.stdout.write(`${line}\n`),
    terraform: binary ? new CommandTerraform({ binary, outDir, env }) : undefined,
    terraformMissing: wanted
      ? `the Terraform binary "${wanted}" (from ${opts.terraformBin ? '--terraform-bin' : 'KEELSON_TERRAFORM'}) was not found`
      : 'neither terraform nor tofu is on PATH (install one, or set KEELSON_TERRAFORM / --terraform-bin)',
    cluster: (kubeconfig) => new KubectlCluster(kubectlRunner(kubeconfig, env.KEELSON_KUBECTL ?? 'kubectl', env)),
    etcd: async (spec, secretsDir, addresses) => {
      const { openSecretsBundle, EtcdClient } = await import('@keelson/etcd-tls');
      const { EtcdClientAccess } = await import('./cluster.js');
      const { bundle } = await openSecretsBundle({ dir: secretsDir, spec });
      const endpoints = spec.topology.controllers.flatMap((n) => (addresses[n.name]?.private ? [`https://${addresses[n.name].private}:2379`] : []));
      // etcd's client port is open only inside the node network: run upgrade from a machine in the VPC (or over a VPN into it).
      const cert = bundle.clients.healthcheck;
      return new EtcdClientAccess(new EtcdClient({ endpoints, ca: bundle.etcdCa.certPem, cert: cert.certPem, key: cert.keyPem }));
    },
    ask: process.stdin.isTTY ? ask : undefined,
    yes: opts.yes,
    kubeconfig: opts.kubeconfig ? resolve(opts.kubeconfig) : undefined,
    restoreEtcd,
  };
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/**
 * Adds `plan`, `deploy`, `upgrade`, `restore` and `destroy` to the `keelson` command.
 * Each loads its module only when it runs.
 */
export function registerLifecycleCommands(program: Command, deps: LifecycleCliDeps): void {
  const secretsOption = () => new Option('--secrets <dir>', 'secrets bundle folder, git-ignored, mode 0700 (default: secrets/<cluster name> at the repo root)');
  const terraformOption = () => new Option('--terraform-bin <path>', 'terraform or tofu binary (default: $KEELSON_TERRAFORM, else terraform or tofu on PATH)');
  const kubeconfigOption = () => new Option('--kubeconfig <file>', 'where the admin kubeconfig is written, mode 0600 (default: <secrets>/admin.kubeconfig)');
  const withCommon = (c: Command) => c.addOption(deps.configOption()).addOption(deps.outOption()).addOption(secretsOption()).addOption(terraformOption());
  const run = (body: (o: LifecycleOptions, opts: LifecycleCliOptions) => Promise<boolean | void>) => async (opts: LifecycleCliOptions, command: Command) => {
    let release = () => undefined as void;
    try {
      const o = await optionsFrom(opts, deps);
      // The whole command holds the output lock: its synth switches charts-out and
      // infra-out, and Terraform then writes its state in infra-out; no other run
      // may switch infra-out under it.
      const { lockOutput } = await import('@keelson/cluster-kit');
      const lock = lockOutput(o.outDir, { command: `keelson ${command.name()}` });
      release = () => lock.release();
      const ok = await body(o, opts);
      if (ok === false) process.exitCode = 1;
    } catch (e) {
      deps.fail(e);
    } finally {
      release();
    }
  };

  withCommon(program.command('plan'))
    .description('synth, verify, and what Terraform would add, change or destroy (from the rendered JSON when Terraform cannot reach the cloud)')
    .action(
      run(async (o) => {
        const { plan } = await import('./plan.js');
        return (await plan(o)).verified;
      }),
    );

  withCommon(program.command('deploy'))
    .description('plan, confirm, apply, wait for the API, write the admin kubeconfig, create the deploy-time Secrets, wait for every Application; resumable')
    .addOption(kubeconfigOption())
    .addOption(new Option('--restore-etcd <key>', 'rebuild from this etcd snapshot in the backups bucket: the first controller restores it if it creates the cluster'))
    .addOption(new Option('--restore-etcd-sha256 <hex>', 'SHA-256 of that snapshot: the node refuses another download'))
    .option('--yes', 'apply without asking')
    .action(
      run(async (o) => {
        const { deploy } = await import('./deploy.js');
        return (await deploy(o)).applied;
      }),
    );

  withCommon(program.command('upgrade'))
    .description('after a version bump, replace the nodes one at a time (controllers first), with health gates between them; resumable')
    .addOption(kubeconfigOption())
    .option('--yes', 'start without asking')
    .action(
      run(async (o) => {
        const { upgrade } = await import('./upgrade.js');
        return (await upgrade(o)).confirmed;
      }),
    );

  program
    .command('restore')
    .description('list Velero backups, or restore a namespace (--namespace, optionally --into a scratch copy) or everything (--all) from the latest completed backup or --backup NAME')
    .addOption(deps.configOption())
    .addOption(secretsOption())
    .addOption(new Option('--kubeconfig <file>', 'admin kubeconfig (default: <secrets>/admin.kubeconfig, written by deploy)'))
    .option('--list', 'list the backups and restore nothing (the default without --namespace or --all)')
    .option('--namespace <ns>', 'restore this namespace')
    .option('--into <ns>', 'restore the namespace under another name (a scratch copy beside the live one)')
    .option('--all', 'restore everything the backup holds')
    .option('--backup <name>', 'the Backup to restore (default: the latest completed one)')
    .option('--schedule <name>', 'with no --backup: the latest completed backup of this schedule (e.g. databases-hourly)')
    .action(async (opts: { config?: string; secrets?: string; kubeconfig?: string; namespace?: string; into?: string; all?: boolean; backup?: string; schedule?: string; list?: boolean }) => {
      try {
        if (opts.all && opts.namespace) throw new Error('restore: give --namespace or --all, not both');
        if (opts.into && !opts.namespace) throw new Error('restore: --into needs --namespace (the namespace to copy)');
        const { configPath } = deps.resolvePaths(opts);
        const [{ loadPlatformSpec }, { restore, KubectlRestoreCluster }, { kubectlRunner }] = await Promise.all([
          import('@keelson/platform-spec'),
          import('./restore.js'),
          import('./cluster.js'),
        ]);
        const spec = loadPlatformSpec(configPath);
        const secretsDir = opts.secrets ? resolve(opts.secrets) : join(deps.repoRoot(), 'secrets', spec.config.cluster.name);
        const kubeconfig = opts.kubeconfig ? resolve(opts.kubeconfig) : join(secretsDir, 'admin.kubeconfig');
        const cluster = new KubectlRestoreCluster(kubectlRunner(kubeconfig, process.env.KEELSON_KUBECTL ?? 'kubectl', process.env));
        const scope = opts.list ? undefined : opts.all ? ({ kind: 'platform' } as const) : opts.namespace ? ({ kind: 'namespace', namespace: opts.namespace, into: opts.into } as const) : undefined;
        await restore({ cluster, scope, backup: opts.backup, schedule: opts.schedule, print: (line) => process.stdout.write(`${line}\n`) });
      } catch (e) {
        deps.fail(e);
      }
    });

  withCommon(program.command('destroy'))
    .description('destroy the cluster after typing its name (or --yes); --backup takes a final backup first; lists what is left behind')
    .addOption(kubeconfigOption())
    .option('--yes', 'destroy without asking for the cluster name')
    .option('--backup', 'take a final Velero backup of every namespace first and wait for it')
    .action(
      run(async (o, opts) => {
        const { destroy } = await import('./destroy.js');
        return (await destroy({ ...o, backup: opts.backup })).destroyed;
      }),
    );
}
