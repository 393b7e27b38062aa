import { Restore } from './generated/velero.io';

/** Namespace Velero and its objects live in. */
export const VELERO_NAMESPACE = 'velero';
/** Label Velero puts on a backup made by a schedule. */
export const SCHEDULE_NAME_LABEL = 'velero.io/schedule-name';

/** The fields of a Velero `Backup` that picking one reads (what `kubectl get backups -o json` returns). */
export interface BackupObject {
  readonly metadata: { readonly name: string; readonly labels?: Readonly<Record<string, string>> };
  readonly status?: {
    readonly phase?: string;
    readonly startTimestamp?: string;
    readonly completionTimestamp?: string;
  };
}

/** Options for {@link latestCompletedBackup}. */
export interface LatestBackupOptions {
  /**
   * Only backups made by this schedule.
   * @default - any backup
   */
  readonly schedule?: string;
}

/**
 * The most recently completed backup (phase `Completed`, latest
 * `completionTimestamp`), or undefined when there is none. Partially failed
 * and failed backups are never picked.
 */
export function latestCompletedBackup<B extends BackupObject>(backups: readonly B[], options: LatestBackupOptions = {}): B | undefined {
  const time = (b: BackupObject) => Date.parse(b.status?.completionTimestamp ?? b.status?.startTimestamp ?? '') || 0;
  return backups
    .filter((b) => b.status?.phase === 'Completed')
    .filter((b) => options.schedule === undefined || b.metadata.labels?.[SCHEDULE_NAME_LABEL] === options.schedule)
    .reduce<B | undefined>((best, b) => (best === undefined || time(b) > time(best) ? b : best), undefined);
}

/** What a restore brings back. */
export type RestoreScope =
  /** One namespace, optionally into another name (a scratch copy). */
  | { readonly kind: 'namespace'; readonly namespace: string; readonly into?: string }
  /** Everything the backup holds, cluster-scoped resources included. */
  | { readonly kind: 'platform' };

/** Options for {@link restoreManifest}. */
export interface RestoreOptions {
  /** The Backup to restore from. */
  readonly backupName: string;
  readonly scope: RestoreScope;
  /**
   * `metadata.name` of the Restore.
   * @default `<backupName>-<namespace or 'platform'>-restore`, shortened to 63 characters
   */
  readonly name?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * A Velero `Restore` for `keelson restore`: one namespace (optionally mapped
 * to another name) or the whole platform, volumes included (data moved back
 * from the bucket). Objects that already exist are left as they are
 * (Velero's default), so a restore never overwrites live state.
 *
 * @see https://velero.io/docs/v1.18/restore-reference/
 */
export function restoreManifest(options: RestoreOptions): Record<string, unknown> {
  const { backupName, scope } = options;
  if (!DNS_SUBDOMAIN.test(backupName)) {
    throw new Error(`restoreManifest: backupName "${backupName}" is not a Backup name; list backups with \`kubectl get backups -n velero\` and pass one of them`);
  }
  for (const [field, ns] of scope.kind === 'namespace' ? ([['scope.namespace', scope.namespace], ['scope.into', scope.into]] as const) : []) {
    if (ns !== undefined && !DNS_LABEL.test(ns)) {
      throw new Error(`restoreManifest: ${field} "${ns}" is not a namespace name (lowercase letters, digits and '-', at most 63); give e.g. "nextcloud"`);
    }
  }
  const suffix = scope.kind === 'platform' ? 'platform' : scope.namespace;
  const name = options.name ?? `${backupName}-${suffix}-restore`.slice(0, 63).replace(/-+$/, '');
  return Restore.manifest({
    metadata: { name, namespace: VELERO_NAMESPACE },
    spec:
      scope.kind === 'platform'
        ? { backupName, includeClusterResources: true, restorePVs: true }
        : {
            backupName,
            includedNamespaces: [scope.namespace],
            ...(scope.into && scope.into !== scope.namespace ? { namespaceMapping: { [scope.namespace]: scope.into } } : {}),
            restorePVs: true,
          },
  });
}
