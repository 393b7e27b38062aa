import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The `keelson drill` command line, resolved. */
export interface DrillCommandOptions {
  readonly configPath: string;
  readonly outDir: string;
  /** The repo root: `secrets/<cluster>/admin.kubeconfig` is the default kubeconfig. */
  readonly repoRoot: string;
  readonly kubeconfig?: string;
  readonly yes?: boolean;
  readonly dryRun?: boolean;
  readonly json?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** A refusal before anything was touched: the CLI exits 2. */
export class DrillUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DrillUsageError';
  }
}

/**
 * The admin kubeconfig: `--kubeconfig`, else the one `keelson deploy`
 * writes (`secrets/<cluster>/admin.kubeconfig`) when it exists, else
 * `$KUBECONFIG` (its first file).
 */
export function drillKubeconfig(option: string | undefined, repoRoot: string, cluster: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (option) return resolve(option);
  const written = join(repoRoot, 'secrets', cluster, 'admin.kubeconfig');
  if (existsSync(written)) return written;
  const fromEnv = env.KUBECONFIG?.split(':').find((f) => f.length > 0);
  return fromEnv ? resolve(fromEnv) : undefined;
}

/**
 * `keelson drill`: prints the plan and refuses without `--yes` (exit 2),
 * prints only the plan with `--dry-run`, and otherwise powers the worst-case
 * nodes off through the cloud's API and reports each service's downtime and
 * recovery (exit 1 on any failure).
 */
export async function drillCommand(o: DrillCommandOptions): Promise<number> {
  const [{ drill, formatDrill, DrillRefusedError, RehearsalInputError }, { loadPlatformSpec }, { nodeProviderFor }] = await Promise.all([
    import('@keelson/rehearse'),
    import('@keelson/platform-spec'),
    import('@keelson/infra-nodes'),
  ]);
  const spec = loadPlatformSpec(o.configPath);
  const provider = nodeProviderFor(spec);
  const token = o.env[provider.apiTokenVariable];
  const kubeconfig = drillKubeconfig(o.kubeconfig, o.repoRoot, spec.config.cluster.name, o.env);
  const base = {
    chartsDir: join(o.outDir, spec.config.gitops.path),
    infraDir: join(o.outDir, 'infra-out'),
    ...(kubeconfig ? { kubeconfig } : {}),
    power: provider.cloudPower({ token: token ?? '' }),
    onProgress: (line: string) => o.err(`drill: ${line}\n`),
  };
  const writeJson = (report: unknown) => {
    if (o.json) writeFileSync(resolve(o.json), `${JSON.stringify(report, null, 2)}\n`);
  };
  try {
    if (o.dryRun || !o.yes) {
      const plan = await drill(spec, { ...base, dryRun: true });
      writeJson(plan);
      o.out(`${formatDrill(plan)}\n`);
      if (o.dryRun) return 0;
      throw new DrillUsageError(`drill: this powers off ${plan.plan.nodes.join(', ')} of the live cluster ${spec.config.cluster.name}; add --yes to run it (or --dry-run to only print the plan)`);
    }
    if (!token) throw new DrillUsageError(`drill: ${provider.apiTokenVariable} is not set; the drill powers the nodes off and on through the ${spec.config.provider.name} API with that token`);
    if (!kubeconfig || !existsSync(kubeconfig)) {
      throw new DrillUsageError(`drill: no admin kubeconfig${kubeconfig ? ` at ${kubeconfig}` : ''}; pass --kubeconfig FILE (keelson deploy writes secrets/${spec.config.cluster.name}/admin.kubeconfig) or set KUBECONFIG`);
    }
    const report = await drill(spec, base);
    writeJson(report);
    o.out(`${formatDrill(report)}\n`);
    return report.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof DrillUsageError || e instanceof DrillRefusedError || e instanceof RehearsalInputError) {
      o.err(`keelson: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
