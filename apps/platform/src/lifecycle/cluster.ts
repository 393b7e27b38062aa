import { spawn } from 'node:child_process';
import { VELERO_NAMESPACE } from '@keelson/backups-velero';
import type { EtcdClient, EtcdMemberPlan, ReplacementMember } from '@keelson/etcd-tls';
import { BOOT_NAMESPACE, bootRbacManifest, bootStatusFromLeases, type NodeBootStatus } from '@keelson/ignition';
import type { HealthCheck } from '@keelson/platform-spec';

/** A health gate that reads an object's status: where it is, the field and the healthy value, as its layer declared them. */
export type StatusCheck = Extract<HealthCheck, { kind: 'status' }>;

/** One answer of a probe: whether it passed, and what was seen (for the stop-and-explain message). */
export interface Observation {
  readonly ok: boolean;
  /** What was observed, in a few words: `Ready=False (KubeletNotReady)`, `HEALTH_WARN`. */
  readonly detail: string;
}

/** An Argo CD Application's state, as `status.sync.status` and `status.health.status`. */
export interface ApplicationState {
  readonly name: string;
  /** `Synced`, `OutOfSync`, `Unknown`; '' before Argo CD looked at it. */
  readonly sync: string;
  /** `Healthy`, `Progressing`, `Degraded`, `Missing`, ... */
  readonly health: string;
}

/** A Secret the deploy creates, as a full manifest (data base64): sent on stdin, never written to disk. */
export interface SecretManifest {
  readonly apiVersion: 'v1';
  readonly kind: 'Secret';
  readonly metadata: { readonly name: string; readonly namespace: string; readonly labels?: Record<string, string> };
  readonly type: string;
  readonly data: Readonly<Record<string, string>>;
}

/**
 * Every Kubernetes call the lifecycle makes, as a small seam: the real
 * implementation ({@link KubectlCluster}) runs `kubectl` with the admin
 * kubeconfig; tests use a fake that records calls and simulates failures.
 * Each method is one probe or one action; waiting and deciding is the
 * orchestration's job.
 */
export interface ClusterAdapter {
  /** Whether the API server answers `/readyz` through its load balancer. */
  apiReady(): Promise<Observation>;
  /** Whether the Node exists and its `Ready` condition is `True`. */
  nodeReady(name: string): Promise<Observation>;
  cordon(name: string): Promise<void>;
  /** Evicts the node's pods, honouring PodDisruptionBudgets. */
  drain(name: string, timeoutSeconds: number): Promise<void>;
  /** Deletes the Node object of a node that is being replaced (the new one registers under the same name). */
  deleteNode(name: string): Promise<void>;
  /** Every Argo CD Application in `namespace` (the gitops layer's, from its health gate). */
  applications(namespace: string): Promise<readonly ApplicationState[]>;
  /**
   * Whether every object the check names has its healthy value at its field
   * (the storage layer's CephCluster: `status.ceph.health` HEALTH_OK), read
   * from the objects, no exec.
   */
  statusHealth(check: StatusCheck): Promise<Observation>;
  namespaceExists(namespace: string): Promise<boolean>;
  /** Creates or updates a Secret (server-side apply from stdin). */
  applySecret(secret: SecretManifest): Promise<void>;
  /** Creates a Velero Backup of every namespace and returns its name. */
  createBackup(name: string): Promise<void>;
  /** The Velero Backup's `status.phase` (`InProgress`, `Completed`, `Failed`, `PartiallyFailed`, ...). */
  backupPhase(name: string): Promise<string>;
  /** What every node's first boot last published (Leases `keelson-boot/status-<node>`); empty while the namespace does not exist. */
  bootStatus(): Promise<NodeBootStatus[]>;
  /** Applies the `keelson-boot` namespace and the bootstrap token's Lease rights (for clusters made before the first boot applied them). */
  applyBootRbac(): Promise<void>;
}

/** An etcd member with its health, as the health gate needs it. */
export interface EtcdMemberState {
  readonly name: string;
  readonly id: string;
  readonly started: boolean;
  readonly healthy: boolean;
  readonly reason?: string;
}

/**
 * The etcd side of a controller replacement, as a seam: the real one
 * ({@link EtcdClientAccess}) is an {@link EtcdClient} with the bundle's
 * health-check client certificate and `replaceEtcdMember`.
 */
export interface EtcdAccess {
  members(): Promise<readonly EtcdMemberState[]>;
  /**
   * Removes the member `dead` (the destroyed node) and adds the replacement's
   * peer URL, then waits until every member is started and healthy.
   */
  replaceMember(dead: string, replacement: ReplacementMember, timeoutMs: number): Promise<void>;
}

/** The field manager of everything the lifecycle writes to the cluster. */
export const FIELD_MANAGER = 'keelson-deploy';

/**
 * The exact kubectl argv of each call (without the binary and the
 * `--kubeconfig` flag {@link KubectlCluster} prepends).
 *
 * @see https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/
 * @see https://kubernetes.io/docs/reference/kubectl/generated/kubectl_drain/
 * @see https://velero.io/docs/v1.16/api-types/backup/
 */
export const kubectlArgs = {
  apiReady: (): string[] => ['get', '--raw', '/readyz'],
  node: (name: string): string[] => ['get', 'node', name, '--ignore-not-found', '-o', 'json'],
  cordon: (name: string): string[] => ['cordon', name],
  drain: (name: string, timeoutSeconds: number): string[] => ['drain', name, '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${timeoutSeconds}s`],
  deleteNode: (name: string): string[] => ['delete', 'node', name, '--ignore-not-found', '--wait=true'],
  applications: (namespace: string): string[] => ['get', 'applications.argoproj.io', '-n', namespace, '-o', 'json'],
  objects: (resource: string, namespace: string): string[] => ['get', resource, '-n', namespace, '-o', 'json'],
  namespace: (name: string): string[] => ['get', 'namespace', name, '--ignore-not-found', '-o', 'name'],
  applyStdin: (): string[] => ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-f', '-'],
  createStdin: (): string[] => ['create', '-f', '-'],
  backupPhase: (name: string): string[] => ['get', 'backups.velero.io', name, '-n', VELERO_NAMESPACE, '--ignore-not-found', '-o', 'jsonpath={.status.phase}'],
  // kubectl lists nothing (exit 0) in a namespace that does not exist: no status yet, not an error.
  bootLeases: (): string[] => ['get', 'leases.coordination.k8s.io', '-n', BOOT_NAMESPACE, '-o', 'json'],
} as const;

/** Runs one command: resolves with stdout, rejects with stderr's last line. */
export type CommandRunner = (args: readonly string[], stdin?: string) => Promise<string>;

/** Runs `kubectl --kubeconfig=<file> ...`; the Secret manifests go on stdin, never in argv (visible in `ps`). */
export function kubectlRunner(kubeconfig: string, binary = 'kubectl', env: Readonly<Record<string, string | undefined>> = process.env): CommandRunner {
  return (args, stdin) =>
    new Promise((resolve, reject) => {
      const child = spawn(binary, [`--kubeconfig=${kubeconfig}`, '--request-timeout=30s', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: env as NodeJS.ProcessEnv });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => reject(new Error(`${binary} could not start (${e.message}); install kubectl or put it on PATH`)));
      child.on('close', (code) => {
        if (code === 0) return resolve(Buffer.concat(out).toString());
        const message = Buffer.concat(err).toString().trim().split('\n').pop() ?? '';
        // The command is named without its stdin: a Secret's data never reaches an error message.
        reject(new Error(`kubectl ${args.join(' ')} failed (${code}): ${message}`));
      });
      // A kubectl that exits without reading stdin closes the pipe: its exit code is the answer, not EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin ?? '');
    });
}

/** The value at a dotted path (`status.ceph.health`) of a parsed object, or undefined. */
function fieldAt(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), object);
}

interface Condition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
}

/** The real {@link ClusterAdapter}: `kubectl` with the admin kubeconfig. */
export class KubectlCluster implements ClusterAdapter {
  constructor(private readonly run: CommandRunner) {}

  async apiReady(): Promise<Observation> {
    try {
      const text = (await this.run(kubectlArgs.apiReady())).trim();
      return { ok: text === 'ok', detail: text };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  async nodeReady(name: string): Promise<Observation> {
    const text = (await this.run(kubectlArgs.node(name))).trim();
    if (!text) return { ok: false, detail: 'not registered' };
    const node = JSON.parse(text) as { status?: { conditions?: Condition[] } };
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    return { ok: ready?.status === 'True', detail: ready ? `Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ''}` : 'no Ready condition yet' };
  }

  async cordon(name: string): Promise<void> {
    await this.run(kubectlArgs.cordon(name));
  }

  async drain(name: string, timeoutSeconds: number): Promise<void> {
    await this.run(kubectlArgs.drain(name, timeoutSeconds));
  }

  async deleteNode(name: string): Promise<void> {
    await this.run(kubectlArgs.deleteNode(name));
  }

  async applications(namespace: string): Promise<readonly ApplicationState[]> {
    const list = JSON.parse(await this.run(kubectlArgs.applications(namespace))) as {
      items?: { metadata?: { name?: string }; status?: { sync?: { status?: string }; health?: { status?: string } } }[];
    };
    return (list.items ?? []).map((a) => ({ name: a.metadata?.name ?? '?', sync: a.status?.sync?.status ?? '', health: a.status?.health?.status ?? '' }));
  }

  async statusHealth(check: StatusCheck): Promise<Observation> {
    const list = JSON.parse(await this.run(kubectlArgs.objects(check.resource, check.namespace))) as { items?: { metadata?: { name?: string } }[] };
    const items = list.items ?? [];
    if (items.length === 0) return { ok: false, detail: `no ${check.resource} in ${check.namespace}` };
    const seen = items.map((item) => ({ name: item.metadata?.name ?? '?', value: fieldAt(item, check.field) }));
    // Compared as text: a count (`status.readyReplicas`) is declared as "3".
    const bad = seen.filter((s) => s.value === undefined || String(s.value) !== check.healthy);
    if (bad.length === 0) return { ok: true, detail: check.healthy };
    // One object (the CephCluster) reads as its value alone; several name each that is not healthy.
    const say = (s: (typeof seen)[number]) => (s.value === undefined ? `no ${check.field} yet` : String(s.value));
    return { ok: false, detail: items.length === 1 ? say(bad[0]) : bad.map((s) => `${s.name} ${say(s)}`).join(', ') };
  }

  async namespaceExists(namespace: string): Promise<boolean> {
    return (await this.run(kubectlArgs.namespace(namespace))).trim() !== '';
  }

  async applySecret(secret: SecretManifest): Promise<void> {
    await this.run(kubectlArgs.applyStdin(), JSON.stringify(secret));
  }

  async createBackup(name: string): Promise<void> {
    const backup = {
      apiVersion: 'velero.io/v1',
      kind: 'Backup',
      metadata: { name, namespace: VELERO_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER } },
      // Every namespace, volumes through the CSI snapshots the backups layer set up.
      spec: { includedNamespaces: ['*'], ttl: '720h0m0s' },
    };
    await this.run(kubectlArgs.createStdin(), JSON.stringify(backup));
  }

  async backupPhase(name: string): Promise<string> {
    return (await this.run(kubectlArgs.backupPhase(name))).trim();
  }

  async bootStatus(): Promise<NodeBootStatus[]> {
    return bootStatusFromLeases(JSON.parse(await this.run(kubectlArgs.bootLeases())) as Parameters<typeof bootStatusFromLeases>[0]);
  }

  async applyBootRbac(): Promise<void> {
    await this.run(kubectlArgs.applyStdin(), bootRbacManifest());
  }
}

export interface EtcdClientAccessOptions {
  /**
   * Starts the new member once it has been added. On a real cluster there is
   * nothing to do: the new node's `kubeadm join --control-plane` starts
   * etcd, and finds its member already added (kubeadm's addMember returns the
   * existing list when the peer URL is a member already).
   * @default - nothing; the node's first boot starts the member
   * @see https://github.com/kubernetes/kubernetes/blob/master/cmd/kubeadm/app/util/etcd/etcd.go
   */
  readonly start?: (plan: EtcdMemberPlan) => Promise<void>;
  /** @default 1000 */
  readonly pollIntervalMs?: number;
}

/** The real {@link EtcdAccess}: an {@link EtcdClient} and `replaceEtcdMember` from @keelson/etcd-tls. */
export class EtcdClientAccess implements EtcdAccess {
  constructor(
    private readonly client: EtcdClient,
    private readonly options: EtcdClientAccessOptions = {},
  ) {}

  async members(): Promise<readonly EtcdMemberState[]> {
    const members = await this.client.memberList();
    return Promise.all(
      members.map(async (m) => {
        const url = m.clientURLs[0];
        const health = url ? await this.client.health(url) : { healthy: false, reason: 'never started' };
        return { name: m.name, id: m.id, started: m.started, healthy: health.healthy, reason: health.reason };
      }),
    );
  }

  async replaceMember(dead: string, replacement: ReplacementMember, timeoutMs: number): Promise<void> {
    const { replaceEtcdMember } = await import('@keelson/etcd-tls');
    await replaceEtcdMember({
      client: this.client,
      dead,
      replacement,
      start: this.options.start ?? (async () => undefined),
      timeoutMs,
      pollIntervalMs: this.options.pollIntervalMs ?? 1000,
    });
  }
}
