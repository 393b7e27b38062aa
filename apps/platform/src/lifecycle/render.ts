import type { NodeProvider, NodeSpec, PlatformDeclarations, PlatformSpec } from '@keelson/platform-spec';
import type { LifecycleOptions } from './options';
import { LifecycleError } from './steps';

/** What synth and verify produced, as the lifecycle needs it. */
export interface Rendered {
  readonly spec: PlatformSpec;
  /** What the composed platform's layers declared (deploy-time Secrets, upgrade health gates). */
  readonly declarations: PlatformDeclarations;
  /** The run's node provider, built once by synth: every cloud fact (variable names, the console, Terraform addresses) comes from it. */
  readonly provider: NodeProvider;
  /** `<out>/infra-out`. */
  readonly infraDir: string;
  readonly chartsDir: string;
  readonly secretsDir: string;
  /** Lines for the user: what synth wrote and verify's verdict. */
  readonly notes: readonly string[];
  /** Verify's report when it failed (only with `tolerateVerifyFailure`: `plan` shows it, and never deploys). */
  readonly verifyFailure?: string;
}

/**
 * Synth (keeping Terraform's files in infra-out/) then verify; a config that
 * fails verify stops here, before anything reaches the cloud, unless
 * `tolerateVerifyFailure` (plan: it only shows).
 */
export async function renderAndVerify(o: LifecycleOptions, tolerateVerifyFailure = false): Promise<Rendered> {
  const rendered = o.render ? await o.render() : await synthAndVerify(o);
  if (rendered.verifyFailure && !tolerateVerifyFailure) {
    throw new LifecycleError(
      'verify',
      `verify found problems; a config that fails verify is never deployed:\n${rendered.verifyFailure}`,
      `fix the config (or the layer) and run "keelson verify --config ${o.configPath}" until it passes, then the same command again`,
    );
  }
  return rendered;
}

async function synthAndVerify(o: LifecycleOptions): Promise<Rendered> {
  const [{ synth, describeSynth }, { verifyPlatform, formatReport }] = await Promise.all([import('../synth.js'), import('@keelson/verify')]);
  let secretsDir = '';
  // synth replaces only what it renders in infra-out/: Terraform's state, providers and plan stay.
  const result = await synth({
    configPath: o.configPath,
    outDir: o.outDir,
    env: o.env,
    restoreEtcd: o.restoreEtcd,
    secretsDir: (spec) => (secretsDir = typeof o.secretsDir === 'function' ? o.secretsDir(spec) : o.secretsDir),
  });
  const { spec } = result;
  // Every check on the desired state, the fault-tolerance proof and the infra-out audits included (the bundle is searched for SSH calls when run as the built CLI).
  const report = verifyPlatform(spec, { chartsDir: result.chartsDir, infraDir: result.infraDir }, __filename.endsWith('.cjs') ? __filename : undefined);
  const base = { spec, declarations: result.declarations, provider: result.provider, infraDir: result.infraDir, chartsDir: result.chartsDir, secretsDir };
  if (!report.ok) return { ...base, notes: describeSynth(result), verifyFailure: formatReport(report) };
  return { ...base, notes: [...describeSynth(result), `verify: ${report.checks.length} checks passed on ${report.objects} objects`] };
}

/** The Terraform address of a node's machine, for `-replace=` (`NodeProvider.serverAddress`). */
export function machineAddress(r: Pick<Rendered, 'provider'>, node: NodeSpec): string {
  return r.provider.serverAddress(node);
}

/** The backups bucket, and whether a Terraform address belongs to it (resources named `backups`). */
export function backupsBucket(r: Pick<Rendered, 'spec' | 'provider'>): { name: string; endpoint: string; isBucketAddress: (address: string) => boolean } {
  const bucket = r.provider.backupBucket(r.spec);
  return { name: bucket.bucket, endpoint: bucket.endpoint, isBucketAddress: (a) => a.split('.').pop() === 'backups' };
}
