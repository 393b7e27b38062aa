import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeProvider, NodeSpec, PlatformSpec } from '@keelson/platform-spec';
import type { ClusterAdapter, EtcdAccess } from './cluster';
import { LifecycleError, type ProgressRenderer, type StepEvent } from './steps';
import { terraformArgs, type TerraformAdapter } from './terraform';
import { summarizeTerraformPlan, type PlanSummary } from './plan-summary';

/** How long each wait may take before the run stops and explains. */
export interface LifecycleTimeouts {
  /** API server answering through its load balancer after the first apply. @default 20 min */
  readonly apiMs: number;
  /**
   * Every node of the topology Ready after the API answered (joins, one control plane at a time,
   * and the pod network); a node whose first boot gave up stops the wait at once. @default 40 min
   */
  readonly nodesMs: number;
  /** A layer's namespace to appear (Argo CD creates it) before its Secret is applied. @default 15 min */
  readonly namespaceMs: number;
  /** Every Application Synced and Healthy. @default 30 min */
  readonly applicationsMs: number;
  /** A replaced node's Node to be Ready (boot, kubeadm join). @default 20 min */
  readonly nodeReadyMs: number;
  /** etcd, Ceph and Applications healthy after a node came back. @default 20 min */
  readonly gateMs: number;
  /** `kubectl drain --timeout`. @default 900 s */
  readonly drainSeconds: number;
  /** A final Velero backup to complete. @default 60 min */
  readonly backupMs: number;
  /** Time between polls. @default 10 s */
  readonly pollMs: number;
}

export const DEFAULT_TIMEOUTS: LifecycleTimeouts = {
  apiMs: 20 * 60_000,
  nodesMs: 40 * 60_000,
  namespaceMs: 15 * 60_000,
  applicationsMs: 30 * 60_000,
  nodeReadyMs: 20 * 60_000,
  gateMs: 20 * 60_000,
  drainSeconds: 900,
  backupMs: 60 * 60_000,
  pollMs: 10_000,
};

/** What synth and verify produced, as the lifecycle needs it. */
export interface Rendered {
  readonly spec: PlatformSpec;
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

/** Everything a lifecycle command needs; the adapters are the seams tests replace. */
export interface LifecycleOptions {
  readonly configPath: string;
  readonly outDir: string;
  /** The secrets bundle folder, or how to find it from the spec. */
  readonly secretsDir: string | ((spec: PlatformSpec) => string);
  /** Where Terraform and the Secrets read credentials. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default 'default' on a terminal, else 'simple' */
  readonly renderer?: ProgressRenderer;
  /** Where summaries and results go (stdout). */
  readonly print: (line: string) => void;
  /** Undefined when no Terraform binary was found (`plan` then reads the rendered JSON; the others stop). */
  readonly terraform: TerraformAdapter | undefined;
  /** Why `terraform` is undefined, in one line. */
  readonly terraformMissing?: string;
  /** The cluster behind the admin kubeconfig written to `kubeconfig`. */
  readonly cluster?: (kubeconfig: string) => ClusterAdapter;
  /** etcd, reached with the bundle's client certificate at the controllers' private addresses. */
  readonly etcd?: (spec: PlatformSpec, secretsDir: string, addresses: Readonly<Record<string, NodeAddresses>>) => Promise<EtcdAccess>;
  /** Asks the user; resolves with the answer. Undefined: no terminal (then only --yes proceeds). */
  readonly ask?: (question: string) => Promise<string>;
  /** Skips confirmations. @default false */
  readonly yes?: boolean;
  /** @default `<secretsDir>/admin.kubeconfig` */
  readonly kubeconfig?: string;
  readonly timeouts?: Partial<LifecycleTimeouts>;
  /** Synth and verify; tests pass a pre-rendered result. @default synth + verify of `configPath` into `outDir` */
  readonly render?: () => Promise<Rendered>;
  /** Events of every step, appended as they happen. */
  readonly events?: StepEvent[];
  /** Render the first controller to restore this etcd snapshot if it creates the cluster (`--restore-etcd`). */
  readonly restoreEtcd?: { readonly key: string; readonly sha256?: string };
}

export const timeoutsOf = (o: LifecycleOptions): LifecycleTimeouts => ({ ...DEFAULT_TIMEOUTS, ...o.timeouts });

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
  const base = { spec, provider: result.provider, infraDir: result.infraDir, chartsDir: result.chartsDir, secretsDir };
  if (!report.ok) return { ...base, notes: describeSynth(result), verifyFailure: formatReport(report) };
  return { ...base, notes: [...describeSynth(result), `verify: ${report.checks.length} checks passed on ${report.objects} objects`] };
}

/** init, plan to infra-out/tfplan, and the plan's summary from `show -json`. */
export async function terraformPlan(terraform: TerraformAdapter, report: (text: string) => void): Promise<PlanSummary> {
  report(`${terraform.binary} init`);
  await terraform.run(terraformArgs.init());
  report(`${terraform.binary} plan`);
  await terraform.run(terraformArgs.plan());
  return summarizeTerraformPlan(await terraform.run(terraformArgs.show()));
}

/** A node's addresses, from Terraform's `node_addresses` output. */
export interface NodeAddresses {
  readonly public?: string;
  readonly private?: string;
}

/** Parses `terraform output -json`'s `node_addresses` (sensitive: never printed). */
export function nodeAddressesFrom(outputJson: string): Record<string, NodeAddresses> {
  const outputs = JSON.parse(outputJson) as { node_addresses?: { value?: Record<string, NodeAddresses> } };
  return outputs.node_addresses?.value ?? {};
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

/** Asks for a yes; throws when there is no terminal to ask on. */
export async function confirm(o: LifecycleOptions, question: string, step: string, rerun: string): Promise<boolean> {
  if (o.yes) return true;
  if (!o.ask) throw new LifecycleError(step, 'there is no terminal to confirm on', `run "${rerun} --yes" to proceed without a question`);
  return /^y(es)?$/i.test((await o.ask(`${question} [y/N] `)).trim());
}

/** Whether Terraform has state for this cluster on this machine (local backend). */
export const hasLocalState = (infraDir: string) => existsSync(join(infraDir, 'terraform.tfstate')) && readFileSync(join(infraDir, 'terraform.tfstate'), 'utf8').includes('"resources"');
