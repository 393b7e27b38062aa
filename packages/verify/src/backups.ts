// The backups check: every schedule writes somewhere that exists, keeps what
// it writes, takes the volume data along, and the cluster's own state (etcd)
// and the restore drill are scheduled too.
// The cdktf-free entry point: verify never loads the providers.
import { CLOUD_RESOURCE_TYPES } from '@keelson/infra-nodes/security-assertions';
import { containersOf, goDurationSeconds, neverApplied } from './objects';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type K8sObject, type Loose, type Manifest, type TerraformDocument } from './types';

const VELERO_SNAPSHOT_CLASS = 'velero.io/csi-volumesnapshot-class';
/** Each cloud's bucket resource type, as its node provider declares it. */
const BUCKET_TYPES = CLOUD_RESOURCE_TYPES.buckets;

/** Whether a Velero backup spec includes namespace `ns`. */
function includes(template: Loose, ns: string): boolean {
  const included = asArray<string>(template?.includedNamespaces);
  const excluded = asArray<string>(template?.excludedNamespaces);
  return (included.length === 0 || included.includes('*') || included.includes(ns)) && !excluded.includes(ns);
}

/** Whether a backup spec takes volume data off the cluster: file-system backup, or CSI snapshots moved to the bucket. */
function takesVolumeData(template: Loose): string | undefined {
  if (template?.defaultVolumesToFsBackup === true) return undefined;
  if (template?.snapshotVolumes === false) return 'snapshotVolumes is false and defaultVolumesToFsBackup is not true: no volume data is backed up, only the objects';
  if (template?.snapshotMoveData !== true) return 'its CSI snapshots stay in the cluster\'s own storage (snapshotMoveData is not true): losing the cluster loses them; set snapshotMoveData: true (or defaultVolumesToFsBackup: true)';
  return undefined;
}

/**
 * What the restore drill's data check lacks, if anything. A Restore reaches
 * `Completed` when it restored the PVC objects, and a PVC whose data the
 * backup never held comes back as a fresh, empty volume, so a drill that
 * reads only the phase proves objects, not data. The drill must read what
 * the backup uploaded per PVC (its DataUploads), start a pod that mounts the
 * restored PVCs read-only, and read what that pod found.
 *
 * @see https://velero.io/docs/v1.18/csi-snapshot-data-movement/
 */
function drillDataCheckMissing(script: string): string | undefined {
  const parts: Array<[RegExp, string]> = [
    [/datauploads\.velero\.io/, "read the backup's DataUploads (what it moved off the cluster per PVC)"],
    [/persistentVolumeClaim[^\n]*claimName[^\n]*readOnly/, 'start a pod that mounts the restored PVCs read-only'],
    [/kubectl logs\b/, 'read what a pod found in the restored volumes'],
  ];
  const lacking = parts.filter(([re]) => !re.test(script)).map(([, what]) => what);
  return lacking.length === 0
    ? undefined
    : `the restore drill does not check volume data: it does not ${lacking.join(', nor ')}; a backup without volume data restores as empty volumes and its Restore still completes. Render the drill's data check (RestoreDrill of @keelson/backups-velero)`;
}

const cronText = (o: K8sObject) => containersOf(o).map((c) => [...asArray<string>(c?.command), ...asArray<string>(c?.args)].join(' ')).join('\n');

/**
 * Backups on the desired state (and, given the Terraform, the bucket):
 * - every Velero Schedule has a cron schedule, is not paused, keeps its
 *   backups (`ttl` > 0), writes to a BackupStorageLocation of the desired
 *   state (the named one, else the default) that is not read-only, and
 *   takes volume data off the cluster (file-system backup, or CSI snapshots
 *   with `snapshotMoveData`);
 * - every namespace holding a PersistentVolumeClaim (or a CloudNativePG
 *   Cluster) is in a Schedule that takes volume data; with CSI snapshots,
 *   every CSI StorageClass's driver has a VolumeSnapshotClass labelled
 *   `velero.io/csi-volumesnapshot-class: "true"`;
 * - etcd is snapshotted by a CronJob (`etcdctl snapshot save`) and the
 *   restore drill is scheduled, neither suspended, and the drill checks
 *   volume data, not only the Restore's phase (it compares the backup's
 *   DataUploads with what a pod reads from the restored volumes);
 * - the backup bucket is not `force_destroy` (a `terraform destroy` would
 *   empty it).
 *
 * @see https://velero.io/docs/v1.18/api-types/schedule/
 * @see https://velero.io/docs/v1.18/csi/
 * @see https://velero.io/docs/v1.18/csi-snapshot-data-movement/
 */
export function checkBackups(manifests: readonly Manifest[], terraform?: TerraformDocument, terraformFile = 'infra-out/main.tf.json'): CheckResult {
  const findings: Finding[] = [];
  const applied = manifests.filter((m) => !neverApplied(m.object));
  const velero = (kind: string) => applied.filter((m) => m.object.kind === kind && String(m.object.apiVersion).startsWith('velero.io/'));
  const schedules = velero('Schedule');
  const locations = velero('BackupStorageLocation');
  const veleroInstalled = applied.some((m) => m.object.kind === 'Deployment' && containersOf(m.object).some((c) => /(^|\/)velero:/.test(String(c?.image ?? ''))));
  if (veleroInstalled && schedules.length === 0) findings.push({ file: 'charts-out/', message: 'Velero is installed but no Schedule is rendered: nothing is ever backed up; render the backup schedules' });

  for (const { file, object } of schedules) {
    const spec = (object.spec ?? {}) as Loose;
    const t = spec.template ?? {};
    const at = (message: string) => findings.push({ file, message: `${describe(object)}: ${message}` });
    if (typeof spec.schedule !== 'string' || spec.schedule.trim() === '') at('spec.schedule is empty: it never runs; set a cron expression');
    if (spec.paused === true) at('spec.paused is true: it never runs; remove paused');
    const ttl = t.ttl === undefined ? undefined : goDurationSeconds(t.ttl);
    if (t.ttl !== undefined && ttl === undefined) at(`spec.template.ttl ${JSON.stringify(t.ttl)} is not a duration; use one such as 720h0m0s`);
    else if (ttl !== undefined && ttl <= 0) at(`spec.template.ttl ${JSON.stringify(t.ttl)} keeps nothing: each backup expires as soon as it is written; set the retention (e.g. 720h0m0s)`);
    const ns = object.metadata?.namespace;
    const wanted = typeof t.storageLocation === 'string' && t.storageLocation !== '' ? t.storageLocation : undefined;
    const location = locations.find((l) => l.object.metadata?.namespace === ns && (wanted ? l.object.metadata?.name === wanted : (l.object.spec as Loose)?.default === true));
    if (!location) at(`${wanted ? `spec.template.storageLocation ${wanted} is not a BackupStorageLocation in namespace ${ns}` : `names no storageLocation and namespace ${ns} has no default BackupStorageLocation`}: its backups fail; name one of ${locations.map((l) => l.object.metadata?.name).join(', ') || '(none rendered)'}`);
    else if ((location.object.spec as Loose)?.accessMode === 'ReadOnly') at(`its ${describe(location.object)} is ReadOnly: backups cannot be written; set accessMode: ReadWrite`);
    const volume = takesVolumeData(t);
    if (volume) at(volume);
  }

  // Volumes are in some schedule that takes their data.
  const dataNamespaces = new Map<string, Manifest>();
  for (const m of applied) {
    if ((m.object.kind === 'PersistentVolumeClaim' || (m.object.kind === 'Cluster' && String(m.object.apiVersion).startsWith('postgresql.cnpg.io/'))) && !dataNamespaces.has(m.object.metadata?.namespace ?? 'default')) dataNamespaces.set(m.object.metadata?.namespace ?? 'default', m);
  }
  if (schedules.length > 0) {
    for (const [ns, m] of dataNamespaces) {
      const covering = schedules.filter((s) => includes((s.object.spec as Loose)?.template, ns) && !takesVolumeData((s.object.spec as Loose)?.template) && (s.object.spec as Loose)?.paused !== true);
      if (covering.length === 0) findings.push({ file: m.file, message: `${describe(m.object)} holds data in namespace ${ns}, but no Velero Schedule backs up ${ns} with its volume data; include ${ns} in a Schedule (includedNamespaces, not excludedNamespaces)` });
    }
    const csi = schedules.some((s) => (s.object.spec as Loose)?.template?.defaultVolumesToFsBackup !== true);
    if (csi) {
      const classes = applied.filter((m) => m.object.kind === 'VolumeSnapshotClass');
      for (const sc of applied.filter((m) => m.object.kind === 'StorageClass' && /\.csi\./.test(String((m.object as Loose).provisioner)))) {
        const driver = String((sc.object as Loose).provisioner);
        if (!classes.some((c) => (c.object as Loose).driver === driver && c.object.metadata?.labels?.[VELERO_SNAPSHOT_CLASS] === 'true')) {
          findings.push({ file: sc.file, message: `${describe(sc.object)}: no VolumeSnapshotClass for its driver ${driver} is labelled ${VELERO_SNAPSHOT_CLASS}: "true": Velero cannot snapshot its volumes; label the driver's VolumeSnapshotClass` });
        }
      }
    }
  }

  // etcd snapshots and the restore drill.
  const cronJobs = applied.filter((m) => m.object.kind === 'CronJob');
  const etcd = cronJobs.find((m) => /etcdctl[^\n]*\bsnapshot save\b/.test(cronText(m.object)));
  const drill = cronJobs.find((m) => m.object.metadata?.labels?.['app.kubernetes.io/name'] === 'restore-drill' || /restore-drill/.test(String(m.object.metadata?.name)));
  if (veleroInstalled || schedules.length > 0) {
    if (!etcd) findings.push({ file: 'charts-out/', message: 'no CronJob snapshots etcd (etcdctl snapshot save): the cluster\'s own state has no off-cluster copy; render the etcd-snapshot CronJob' });
    if (!drill) findings.push({ file: 'charts-out/', message: 'no restore drill CronJob is rendered: nothing proves the backups restore; render the restore-drill CronJob' });
  }
  if (drill) {
    const missing = drillDataCheckMissing(cronText(drill.object));
    if (missing) findings.push({ file: drill.file, message: `${describe(drill.object)}: ${missing}` });
  }
  for (const job of [etcd, drill]) {
    if (job && (job.object.spec as Loose)?.suspend === true) findings.push({ file: job.file, message: `${describe(job.object)}: spec.suspend is true: it never runs; remove suspend` });
  }

  // The bucket behind the backups.
  const bucketNames = new Set(locations.map((l) => String((l.object.spec as Loose)?.objectStorage?.bucket ?? '')).filter(Boolean));
  let buckets = 0;
  for (const type of BUCKET_TYPES) {
    for (const [key, attributes] of Object.entries(terraform?.resource?.[type] ?? {})) {
      if (!isRecord(attributes) || !bucketNames.has(String(attributes.name ?? attributes.bucket))) continue;
      buckets++;
      if (attributes.force_destroy === true) findings.push({ file: terraformFile, message: `${type}.${key} (bucket ${String(attributes.name ?? attributes.bucket)}, where the backups go) sets force_destroy = true: terraform destroy deletes every backup with it; set force_destroy = false` });
    }
  }
  return check(
    'backups',
    `${schedules.length} Velero Schedules to ${locations.length} storage locations with volume data, ${dataNamespaces.size} namespaces with data covered; etcd snapshots ${etcd ? `by ${describe(etcd.object)}` : 'not scheduled'}; restore drill ${drill ? `by ${describe(drill.object)}` : 'missing'}${terraform ? `; ${buckets} backup bucket${buckets === 1 ? '' : 's'} not force-destroyable` : ''}`,
    findings,
  );
}
