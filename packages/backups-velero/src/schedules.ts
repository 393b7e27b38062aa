/**
 * Backup schedules: what is backed up, how often, and for how long.
 *
 * Defaults live here, in code; the platform config has no backup keys, and a
 * caller overrides the whole list through `VeleroBackups`' `schedules` prop.
 */

/**
 * Label the apps layer puts on what the hourly schedule backs up: a
 * database's PersistentVolumeClaims and the objects that own them (for a
 * CloudNativePG `Cluster`, on the Cluster and in `inheritedMetadata.labels`
 * so its pods and PVCs carry it too).
 */
export const DATABASE_BACKUP_LABEL = { key: 'keelson.dev/backup', value: 'database' } as const;

/**
 * Namespaces no platform backup includes, and why:
 * - `kube-system`, `kube-public`, `kube-node-lease`: kubeadm and node state,
 *   rebuilt by the nodes themselves (and covered by the etcd snapshots);
 * - `velero`: Velero's own state is the bucket;
 * - `rook-ceph`: the Ceph cluster's identity belongs to its disks; restoring
 *   its objects onto new disks would confuse a fresh Ceph cluster. Argo CD
 *   re-renders it from git.
 * - `kube-flannel`: the CNI's state, rebuilt by its agents.
 */
export const EXCLUDED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'velero', 'rook-ceph', 'kube-flannel'];

/**
 * Resources that hold no state worth restoring: events, leader-election
 * leases, and the CNI's per-node and per-pod bookkeeping (recreated by the
 * agents; restoring stale identities would fight them).
 */
export const EXCLUDED_RESOURCES: readonly string[] = [
  'events',
  'events.events.k8s.io',
  'leases.coordination.k8s.io',
  'ciliumendpoints.cilium.io',
  'ciliumidentities.cilium.io',
  'ciliumnodes.cilium.io',
];

/** What a schedule backs up. */
export type BackupScope =
  /** Objects carrying these labels (in every namespace), with their volumes. */
  | { readonly kind: 'labelled'; readonly labels: Readonly<Record<string, string>> }
  /** Every namespace but {@link EXCLUDED_NAMESPACES}, cluster-scoped resources included, minus {@link EXCLUDED_RESOURCES}. */
  | { readonly kind: 'platform' };

/** One Velero `Schedule`. */
export interface BackupScheduleSpec {
  /** `metadata.name` of the Schedule (kebab-case); backups are named `<name>-<timestamp>`. */
  readonly name: string;
  /** Cron expression, five fields, UTC. */
  readonly cron: string;
  /** How long each backup is kept, in hours (Velero's `ttl`). */
  readonly ttlHours: number;
  readonly scope: BackupScope;
}

/**
 * The default schedules: databases hourly kept 48 hours, the platform daily
 * kept 30 days and weekly kept 90 days. Losing the whole cluster loses at most
 * an hour of database data and a day of other volume data.
 */
export const DEFAULT_BACKUP_SCHEDULES: readonly BackupScheduleSpec[] = [
  {
    name: 'databases-hourly',
    cron: '5 * * * *',
    ttlHours: 48,
    scope: { kind: 'labelled', labels: { [DATABASE_BACKUP_LABEL.key]: DATABASE_BACKUP_LABEL.value } },
  },
  { name: 'platform-daily', cron: '30 2 * * *', ttlHours: 30 * 24, scope: { kind: 'platform' } },
  { name: 'platform-weekly', cron: '30 3 * * 0', ttlHours: 90 * 24, scope: { kind: 'platform' } },
];

const KEBAB = /^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/;
const CRON_FIELD = /^[0-9*/,-]+$/;

/**
 * Checks schedules and returns them, or throws naming the schedule, the
 * field, the value and the fix.
 */
export function checkSchedules(schedules: readonly BackupScheduleSpec[]): readonly BackupScheduleSpec[] {
  if (schedules.length === 0) {
    throw new Error('VeleroBackups: schedules is empty; give at least one schedule, or leave the prop out for the defaults (databases-hourly, platform-daily, platform-weekly)');
  }
  const seen = new Set<string>();
  for (const [i, s] of schedules.entries()) {
    const where = `VeleroBackups: schedules[${i}]`;
    if (!KEBAB.test(s.name)) {
      throw new Error(`${where}.name "${s.name}" is not a kebab-case name of at most 52 characters (Velero appends a 15-character timestamp); use e.g. "platform-daily"`);
    }
    if (seen.has(s.name)) throw new Error(`${where}.name "${s.name}" is used twice; give each schedule its own name`);
    seen.add(s.name);
    const fields = s.cron.trim().split(/\s+/);
    if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) {
      throw new Error(`${where}.cron "${s.cron}" is not a five-field cron expression (minute hour day month weekday); use e.g. "30 2 * * *"`);
    }
    if (!Number.isInteger(s.ttlHours) || s.ttlHours < 1) {
      throw new Error(`${where}.ttlHours ${s.ttlHours} is not a whole number of hours >= 1; backups older than their TTL are deleted, so give e.g. 720 for 30 days`);
    }
    if (s.scope.kind === 'labelled' && Object.keys(s.scope.labels).length === 0) {
      throw new Error(`${where}.scope.labels is empty, which would back up nothing; give the labels to select, e.g. { "${DATABASE_BACKUP_LABEL.key}": "${DATABASE_BACKUP_LABEL.value}" }, or use scope { kind: "platform" }`);
    }
  }
  return schedules;
}
