/** Shapes shared by the verify checks: what they read and what they report. */

/** One finding of a check, pointing at a file (or a resource in one). */
export interface Finding {
  readonly file: string;
  readonly message: string;
  /** The Argo CD Application whose objects the finding is about, when known. */
  readonly application?: string;
}

/** The outcome of one check over the rendered output. */
export interface CheckResult {
  readonly check: string;
  readonly ok: boolean;
  /** One line: what was checked and how much of it. */
  readonly summary: string;
  /** Problems: any one fails the check. */
  readonly findings: readonly Finding[];
  /** What the check could not decide (an upstream chart without a reader); printed, never failing. */
  readonly warnings: readonly Finding[];
  /** Check-specific rows for the report (the proof's services, the encryption audit's channels). */
  readonly rows?: readonly ReportRow[];
}

/** One row of a check's table: a service of the proof, a channel of the audit. */
export interface ReportRow {
  readonly name: string;
  readonly ok: boolean;
  /** The worst case (proof) or what encrypts it (audit), in one line. */
  readonly detail: string;
  /** Nodes whose failure causes the worst case (proof only). */
  readonly failedNodes?: readonly string[];
  readonly file?: string;
}

/** A Kubernetes object as verify reads it: loose, since the schema check owns strictness. */
export interface K8sObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: Loose;
  readonly [key: string]: unknown;
}

/** A parsed manifest and the file it came from (relative to the output folder, e.g. `charts-out/apps/x.yaml`). */
export interface Manifest {
  readonly file: string;
  readonly object: K8sObject;
}

/** A node of the platform, read from infra-out. */
export interface NodeInfo {
  readonly name: string;
  /** `controller` when its kubeadm config makes it a control-plane node (an etcd member), else `worker`. */
  readonly role: 'controller' | 'worker';
  /** Kubelet node labels from its kubeadm config (`node-labels`), plus `kubernetes.io/hostname`. */
  readonly labels: Readonly<Record<string, string>>;
  /** The Ignition config the node boots with (the full `<node>.ign`). */
  readonly ignition: IgnitionLike;
  /** Every YAML document of its kubeadm configs (`/etc/keelson/kubeadm-*.yaml`). */
  readonly kubeadm: readonly KubeadmDocument[];
  readonly file: string;
}

/** A kubeadm (or kubelet) config document from a node. */
export interface KubeadmDocument {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly [key: string]: unknown;
}

/** The parts of an Ignition config verify reads. */
export interface IgnitionLike {
  readonly ignition?: { readonly config?: { readonly merge?: readonly { source?: string; verification?: { hash?: string } }[]; readonly replace?: { source?: string; verification?: { hash?: string } } } };
  readonly passwd?: unknown;
  readonly storage?: { readonly files?: readonly { path: string; contents?: { source?: string; compression?: string } }[] };
  readonly systemd?: { readonly units?: readonly { name: string; mask?: boolean; enabled?: boolean }[] };
}

/** A Terraform JSON document (`infra-out/main.tf.json`). */
export interface TerraformDocument {
  readonly resource?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly data?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** Everything synth rendered, parsed: the only input of the checks. */
export interface RenderedPlatform {
  readonly manifests: readonly Manifest[];
  readonly nodes: readonly NodeInfo[];
  readonly terraform: TerraformDocument;
  readonly terraformFile: string;
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const asArray = <T = unknown>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

export const check = (name: string, summary: string, findings: readonly Finding[], warnings: readonly Finding[] = [], rows?: readonly ReportRow[]): CheckResult => ({
  check: name,
  ok: findings.length === 0,
  summary,
  findings,
  warnings,
  ...(rows ? { rows } : {}),
});

/** `Kind namespace/name` or `Kind name`, as findings name objects. */
export const describe = (o: K8sObject): string => `${o.kind ?? '?'} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'}`;

/**
 * A value read from rendered YAML or JSON whose shape verify does not own:
 * read with optional chaining and compared against literals, never trusted.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered output of many kinds; every read is guarded
export type Loose = any;
