import { BOOTSTRAP_SCRIPTS } from './generated/bootstrap-scripts';

/** The namespace where first-booting nodes keep their status and the control-plane join lock (as Leases). */
export const BOOT_NAMESPACE = 'keelson-boot';

/** What a node's first boot last did, as it publishes it (Lease `keelson-boot/status-<node>`). */
export interface NodeBootStatus {
  readonly node: string;
  /** `running`, `failed`, `gave-up` (the script stopped retrying: replace the node), `joined`, `bootstrapped`. */
  readonly state: string;
  /** The step, as in the journal: `wait-api`, `join-lock`, `kubeadm-join`, `manifests:network`, ... */
  readonly step: string;
  readonly attempt: number;
  /** After how many failed attempts the node stops retrying (the unit's bound); 0 when the node did not say. */
  readonly maxAttempts: number;
  /** When the node wrote it (RFC 3339, UTC). */
  readonly time: string;
  /** The last error or what the step waits for. */
  readonly message: string;
}

interface LeaseLike {
  readonly metadata?: { readonly name?: string; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec?: { readonly holderIdentity?: string };
}

/**
 * Every node's first-boot status from `kubectl -n keelson-boot get leases -o json`
 * (or the API's LeaseList), sorted by node name; the join lock is left out.
 */
export function bootStatusFromLeases(list: { readonly items?: readonly LeaseLike[] }): NodeBootStatus[] {
  return (list.items ?? [])
    .filter((l) => l.metadata?.name?.startsWith('status-'))
    .map((l) => {
      const a = l.metadata?.annotations ?? {};
      return {
        node: l.spec?.holderIdentity ?? (l.metadata?.name ?? '').slice('status-'.length),
        state: a['keelson.dev/state'] ?? 'unknown',
        step: a['keelson.dev/step'] ?? '',
        attempt: Number(a['keelson.dev/attempt'] ?? 0),
        maxAttempts: Number(a['keelson.dev/max-attempts'] ?? 0) || 0,
        time: a['keelson.dev/time'] ?? '',
        message: a['keelson.dev/message'] ?? '',
      };
    })
    .sort((x, y) => x.node.localeCompare(y.node));
}

/**
 * Whether the node stopped trying: it says `gave-up`, or its last attempt
 * (of `maxAttempts`) failed. Waiting for it longer is pointless.
 */
export function bootGaveUp(status: NodeBootStatus): boolean {
  return status.state === 'gave-up' || (status.state === 'failed' && status.maxAttempts > 0 && status.attempt >= status.maxAttempts);
}

/**
 * The namespace and RBAC the first controller applies after `kubeadm init`
 * (step `boot-rbac`): the bootstrap token's group may use Leases in
 * `keelson-boot`, nothing else. Taken from the script itself, so the two
 * never differ; `keelson deploy` can apply it to a cluster made before it existed.
 */
export function bootRbacManifest(): string {
  const match = /<<'RBAC'\n([\s\S]*?)\nRBAC\n/.exec(BOOTSTRAP_SCRIPTS['kubeadm-bootstrap.sh'].text);
  if (!match) throw new Error('bootRbacManifest: kubeadm-bootstrap.sh has no RBAC heredoc');
  return `${match[1]}\n`;
}
