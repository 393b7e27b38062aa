export {
  VeleroBackups,
  VELERO_CREDENTIALS,
  ETCD_CLIENT_CERTIFICATE,
  BACKUP_STORAGE_LOCATION,
  VELERO_BUCKET_PREFIX,
  VELERO_SNAPSHOT_CLASS_LABEL,
  SNAPSHOT_CLASSES_ANNOTATION,
  snapshotClassRequirements,
} from './velero-backups';
export type { VeleroBackupsProps, VeleroChartValues, SnapshotClassRequirement, ChartImage, ResourceValues, ContainerSecurityValues } from './velero-backups';
export { DEFAULT_BACKUP_SCHEDULES, DATABASE_BACKUP_LABEL, EXCLUDED_NAMESPACES, EXCLUDED_RESOURCES, checkSchedules } from './schedules';
export type { BackupScheduleSpec, BackupScope } from './schedules';
export { EtcdSnapshots, etcdSnapshotCommand, etcdUploadScript, ETCD_CLIENT_MOUNT, ETCD_SNAPSHOT_FILE, ETCD_SNAPSHOT_PREFIX, ETCD_SNAPSHOT_POD_LABELS } from './etcd-snapshot';
export type { EtcdSnapshotsProps, EtcdSnapshotCommandOptions, EtcdUploadScriptOptions } from './etcd-snapshot';
export { restoreManifest, latestCompletedBackup, VELERO_NAMESPACE, SCHEDULE_NAME_LABEL } from './restore';
export type { RestoreOptions, RestoreScope, BackupObject, LatestBackupOptions } from './restore';
export { RestoreDrill, restoreDrillScript, restoreDrillRestore } from './restore-drill';
export type { RestoreDrillProps, RestoreDrillOptions } from './restore-drill';
export { VELERO_CHART, BACKUP_IMAGES } from './pins';
