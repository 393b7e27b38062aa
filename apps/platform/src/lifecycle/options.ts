import type { PlatformSpec } from '@keelson/platform-spec';
import type { ClusterAdapter, EtcdAccess } from './cluster';
import type { Rendered } from './render';
import type { ProgressRenderer, StepEvent } from './steps';
import type { TerraformAdapter } from './terraform';
import type { NodeAddresses } from './terraform-plan';

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
