import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Restore } from './generated/velero.io';
import { BACKUP_IMAGES } from './pins';
import { VELERO_NAMESPACE } from './restore';

/** Options for {@link restoreDrillScript} and {@link restoreDrillRestore}. */
export interface RestoreDrillOptions {
  /** Schedule whose latest completed backup is restored. */
  readonly schedule: string;
  /** The app namespace whose volumes are restored. */
  readonly sourceNamespace: string;
  /** Scratch namespace the volumes are restored into; its pods and PVCs are deleted before and after. */
  readonly scratchNamespace: string;
  /** How long the restore may take before the drill fails. */
  readonly timeoutSeconds: number;
}

/**
 * The Restore the drill creates: the latest completed backup of the schedule
 * (Velero picks it when `scheduleName` is set and `backupName` is not), the
 * source namespace's PersistentVolumeClaims only, mapped into the scratch
 * namespace. Only volumes: the app's pods would start and could reach the
 * live app's services by their full names.
 *
 * @see https://velero.io/docs/v1.18/api-types/restore/
 */
export function restoreDrillRestore(options: RestoreDrillOptions): Record<string, unknown> {
  return Restore.manifest({
    metadata: { generateName: 'restore-drill-', namespace: VELERO_NAMESPACE, labels: { 'app.kubernetes.io/name': 'restore-drill' } },
    spec: {
      scheduleName: options.schedule,
      includedNamespaces: [options.sourceNamespace],
      namespaceMapping: { [options.sourceNamespace]: options.scratchNamespace },
      includedResources: ['persistentvolumeclaims', 'persistentvolumes'],
      restorePVs: true,
      itemOperationTimeout: `${options.timeoutSeconds}s`,
    },
  });
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Label on the drill's checker pod. */
const CHECKER_LABELS = { 'app.kubernetes.io/name': 'restore-drill-check', 'app.kubernetes.io/part-of': 'keelson' } as const;

/**
 * The checker pod, as sh that prints its JSON: it mounts every PVC named in
 * `$pvcs` read-only under `/restored/<pvc>` and prints, per volume, the bytes
 * its filesystem holds (`df`: statfs needs no read permission on the app's
 * files, which belong to the app's user) and the files it can see.
 * Restricted Pod Security: non-root, no privilege, read-only root, no network
 * (the scratch namespace denies all traffic).
 */
function checkerPodScript(image: string): string[] {
  const container = (mounts: string) =>
    JSON.stringify({
      name: 'check',
      image,
      command: ['/bin/sh', '-c', 'for d in /restored/*; do used=$(df -Pk "$d" | awk \'NR==2 {print $3}\'); files=$(find "$d" -xdev -type f 2>/dev/null | grep -vc "/lost+found/" || true); echo "volume ${d#/restored/} ${used:-0} ${files:-0}"; done'],
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
      volumeMounts: '@MOUNTS@',
    }).replace('"@MOUNTS@"', mounts);
  const pod = (volumes: string, mounts: string) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'restore-drill-check-', labels: CHECKER_LABELS },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
        containers: ['@CONTAINER@'],
        volumes: '@VOLUMES@',
      },
    })
      .replace('"@CONTAINER@"', container(mounts))
      .replace('"@VOLUMES@"', volumes);
  const [before, middle, after] = pod('@V@', '@M@').split(/@V@|@M@/);
  return [
    'checker_pod() {',
    '  vols=""; mounts=""; sep=""',
    '  for pvc in $pvcs; do',
    '    vols="$vols$sep{\\"name\\":\\"$pvc\\",\\"persistentVolumeClaim\\":{\\"claimName\\":\\"$pvc\\",\\"readOnly\\":true}}"',
    '    mounts="$mounts$sep{\\"name\\":\\"$pvc\\",\\"mountPath\\":\\"/restored/$pvc\\",\\"readOnly\\":true}"',
    '    sep=","',
    '  done',
    `  printf '%s' ${sq(before)} "[$mounts]" ${sq(middle)} "[$vols]" ${sq(after)}`,
    '}',
  ];
}

/**
 * The drill's POSIX sh script (kubectl only): clears the scratch namespace,
 * creates {@link restoreDrillRestore}, waits for a final phase, then checks
 * that volume **data** came back, reports which backup it restored with
 * Velero's error and warning counts, clears the scratch namespace again, and
 * exits 1 unless the phase is `Completed` and every volume's data is back.
 *
 * Why a data check: a Restore reaches `Completed` when Velero restored the
 * PersistentVolumeClaims, and a PVC whose data the backup never held (no
 * `EnableCSI`, `snapshotVolumes: false`, a failed upload) is restored as a
 * fresh, empty volume from its StorageClass. So the drill compares, for each
 * restored PVC, what the backup moved off the cluster (the backup's
 * DataUpload for that PVC, `status.progress.totalBytes`, written by the CSI
 * snapshot data mover) with what a pod mounting the restored volume reads:
 * no DataUpload for a PVC means the backup held only its object; a volume
 * holding less than 90% of the uploaded bytes (filesystem usage is at least
 * the files' size, less only for sparse files) did not get its data back.
 * Limit: a volume whose data is smaller than its empty filesystem's own
 * overhead (ext4 metadata on a block volume) cannot be told from an empty one
 * by size; the visible file count is printed for the operator.
 *
 * @see https://velero.io/docs/v1.18/csi-snapshot-data-movement/ (DataUpload per PVC at backup, DataDownload at restore; progress.totalBytes)
 * @see https://velero.io/docs/v1.18/csi/ (without EnableCSI no snapshot is taken; only the PVC object is backed up)
 * @see https://velero.io/docs/v1.18/restore-reference/ (a restored PVC without snapshot data is provisioned anew)
 *
 * `KEELSON_DRILL_POLL_SECONDS` overrides the 15-second poll, for tests.
 */
export function restoreDrillScript(options: RestoreDrillOptions, image: string = BACKUP_IMAGES.kubectl): string {
  const restore = JSON.stringify(restoreDrillRestore(options));
  return [
    'set -eu',
    `velero_ns=${sq(VELERO_NAMESPACE)}`,
    `source=${sq(options.sourceNamespace)}`,
    `scratch=${sq(options.scratchNamespace)}`,
    `schedule=${sq(options.schedule)}`,
    `timeout=${options.timeoutSeconds}`,
    'poll="${KEELSON_DRILL_POLL_SECONDS:-15}"',
    'log() { echo "restore-drill: $*"; }',
    'clear_scratch() { kubectl delete -n "$scratch" pods,persistentvolumeclaims --all --ignore-not-found --wait=true --timeout=15m >/dev/null; }',
    ...checkerPodScript(image),
    'kubectl get namespace "$scratch" -o name >/dev/null',
    'clear_scratch',
    `restore=$(echo ${sq(restore)} | kubectl create -o name -f -)`,
    'log "created $restore: latest completed backup of schedule $schedule, volumes of $source into $scratch"',
    'deadline=$(( $(date +%s) + timeout ))',
    'phase=""',
    'while :; do',
    '  phase=$(kubectl get -n "$velero_ns" "$restore" -o jsonpath="{.status.phase}")',
    '  case "$phase" in Completed|PartiallyFailed|Failed|FailedValidation) break ;; esac',
    '  if [ "$(date +%s)" -ge "$deadline" ]; then phase="timed out after ${timeout}s (last phase: ${phase:-none})"; break; fi',
    '  sleep "$poll"',
    'done',
    'backup=$(kubectl get -n "$velero_ns" "$restore" -o jsonpath="{.spec.backupName}")',
    'errors=$(kubectl get -n "$velero_ns" "$restore" -o jsonpath="{.status.errors}")',
    'warnings=$(kubectl get -n "$velero_ns" "$restore" -o jsonpath="{.status.warnings}")',
    'if [ "$phase" != Completed ]; then',
    '  clear_scratch',
    '  log "FAILED: backup ${backup:-?} of schedule $schedule did not restore $source: $phase (errors ${errors:-0}, warnings ${warnings:-0}); see kubectl -n $velero_ns describe $restore" >&2',
    '  exit 1',
    'fi',
    '# The data check: what the backup uploaded per PVC against what the restored volume holds.',
    'pvcs=$(kubectl get -n "$scratch" persistentvolumeclaims -o jsonpath="{.items[*].metadata.name}")',
    'uploads=$(kubectl get -n "$velero_ns" datauploads.velero.io -l "velero.io/backup-name=$backup" -o jsonpath="{range .items[*]}{.spec.sourceNamespace}/{.spec.sourcePVC}={.status.phase}={.status.progress.totalBytes}{\\"\\\\n\\"}{end}")',
    'problems=""',
    'report=""',
    'if [ -z "$pvcs" ]; then',
    '  problems="the restore brought back no PersistentVolumeClaim of $source"',
    'else',
    '  pod=$(checker_pod | kubectl create -n "$scratch" -o name -f -)',
    '  if ! kubectl wait -n "$scratch" "$pod" --for=jsonpath="{.status.phase}"=Succeeded --timeout="${timeout}s" >/dev/null; then',
    '    problems="$pod did not read the restored volumes (phase $(kubectl get -n "$scratch" "$pod" -o jsonpath="{.status.phase}")); see kubectl -n $scratch describe $pod"',
    '  else',
    '    read_out=$(kubectl logs -n "$scratch" "$pod")',
    '    for pvc in $pvcs; do',
    '      line=$(echo "$uploads" | grep "^$source/$pvc=" || true)',
    '      if [ -z "$line" ]; then problems="$problems${problems:+; }$pvc: backup $backup holds no data of it (no DataUpload: objects only)"; continue; fi',
    '      up_phase=$(echo "$line" | cut -d= -f2); up_bytes=$(echo "$line" | cut -d= -f3); up_bytes=${up_bytes:-0}',
    '      if [ "$up_phase" != Completed ]; then problems="$problems${problems:+; }$pvc: its DataUpload ended $up_phase"; continue; fi',
    '      got=$(echo "$read_out" | grep "^volume $pvc " || true)',
    '      used_kib=$(echo "$got" | cut -d" " -f3); files=$(echo "$got" | cut -d" " -f4)',
    '      if [ -z "$got" ]; then problems="$problems${problems:+; }$pvc: the checker pod did not read it"; continue; fi',
    '      if [ $(( used_kib * 1024 * 10 )) -lt $(( up_bytes * 9 )) ]; then problems="$problems${problems:+; }$pvc: holds $(( used_kib * 1024 )) bytes, the backup uploaded $up_bytes"; continue; fi',
    '      report="$report${report:+, }$pvc $up_bytes bytes uploaded, $(( used_kib * 1024 )) bytes and ${files:-0} visible files back"',
    '    done',
    '  fi',
    'fi',
    'clear_scratch',
    'if [ -z "$problems" ]; then',
    '  log "OK: backup ${backup:-?} restored the volumes of $source with their data: $report (errors ${errors:-0}, warnings ${warnings:-0})"',
    '  exit 0',
    'fi',
    'log "FAILED: backup ${backup:-?} of schedule $schedule restored the objects of $source but not their data: $problems; see kubectl -n $velero_ns describe $restore" >&2',
    'exit 1',
    '',
  ].join('\n');
}

/** Props for {@link RestoreDrill}. */
export interface RestoreDrillProps {
  /** The app namespace whose latest backup is restored. */
  readonly sourceNamespace: string;
  /** Schedule whose latest completed backup is restored. */
  readonly schedule: string;
  /**
   * Cron expression (UTC).
   * @default '0 6 * * *' — daily, after the nightly backup
   */
  readonly cron?: string;
  /**
   * Time the restore may take.
   * @default 10800 (3 hours)
   */
  readonly timeoutSeconds?: number;
}

const DRILL = 'restore-drill';

/** The scratch namespace a drill of `sourceNamespace` restores into. */
export const scratchNamespaceOf = (sourceNamespace: string): string => `${sourceNamespace}-restore-drill`;

/**
 * A scheduled restore drill: restores the latest backup of one app's volumes
 * into a scratch namespace (`<app>-restore-drill`), reads the restored
 * volumes with a pod there and fails the Job when the restore does not
 * complete or a volume's data did not come back (see
 * {@link restoreDrillScript}), so a broken backup shows as a failed Job
 * (`kubectl get jobs -n velero`) before anyone needs it.
 *
 * The scratch namespace must exist (the backups layer adds it, with
 * restricted Pod Security, and the network layer denies all its traffic).
 * The drill's ServiceAccount may create and read Restores and read
 * DataUploads in `velero`, read the scratch namespace, and create, read and
 * delete pods and PVCs in it, nothing else; Velero does the restoring.
 */
export class RestoreDrill extends Construct {
  /** The app namespace whose volumes are restored. */
  public readonly sourceNamespace: string;
  /** The schedule whose latest completed backup is restored. */
  public readonly schedule: string;
  /** When the drill runs: cron (UTC). */
  public readonly cron: string;
  /** The scratch namespace the drill restores into. */
  public readonly scratchNamespace: string;

  constructor(scope: Construct, id: string, props: RestoreDrillProps) {
    super(scope, id);
    const timeoutSeconds = props.timeoutSeconds ?? 10800;
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 60) {
      throw new Error(`RestoreDrill: timeoutSeconds ${timeoutSeconds} is not a whole number >= 60; give the time a restore of the app's volumes may take, e.g. 10800`);
    }
    this.sourceNamespace = props.sourceNamespace;
    this.schedule = props.schedule;
    this.cron = props.cron ?? '0 6 * * *';
    this.scratchNamespace = scratchNamespaceOf(props.sourceNamespace);
    if (this.scratchNamespace.length > 63) {
      throw new Error(`RestoreDrill: sourceNamespace "${props.sourceNamespace}" is too long for a scratch namespace "${this.scratchNamespace}" (63 characters at most); drill an app with a shorter namespace`);
    }
    const labels = { 'app.kubernetes.io/name': DRILL };
    const sa: IServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DRILL, namespace: VELERO_NAMESPACE, labels } };
    const role: IRole = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: DRILL, namespace: VELERO_NAMESPACE, labels },
      rules: [
        { apiGroups: ['velero.io'], resources: ['restores'], verbs: ['create', 'get'] },
        // What each backup uploaded per PVC: the data check's reference.
        { apiGroups: ['velero.io'], resources: ['datauploads'], verbs: ['get', 'list'] },
      ],
    };
    // In the scratch namespace only: the checker pod, and clearing restored PVCs.
    const scratchRole: IRole = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: DRILL, namespace: this.scratchNamespace, labels },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'delete'] },
      ],
    };
    const scratchRoleBinding: IRoleBinding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: DRILL, namespace: this.scratchNamespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: DRILL },
      subjects: [{ kind: 'ServiceAccount', name: DRILL, namespace: VELERO_NAMESPACE }],
    };
    const roleBinding: IRoleBinding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: DRILL, namespace: VELERO_NAMESPACE, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: DRILL },
      subjects: [{ kind: 'ServiceAccount', name: DRILL, namespace: VELERO_NAMESPACE }],
    };
    const clusterRole: IClusterRole = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `keelson-${DRILL}`, labels },
      // Only the scratch namespace, by name, and only to see that it exists.
      rules: [{ apiGroups: [''], resources: ['namespaces'], resourceNames: [this.scratchNamespace], verbs: ['get'] }],
    };
    const clusterRoleBinding: IClusterRoleBinding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `keelson-${DRILL}`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `keelson-${DRILL}` },
      subjects: [{ kind: 'ServiceAccount', name: DRILL, namespace: VELERO_NAMESPACE }],
    };
    const script = restoreDrillScript({ schedule: props.schedule, sourceNamespace: props.sourceNamespace, scratchNamespace: this.scratchNamespace, timeoutSeconds });
    const cronJob: ICronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: DRILL, namespace: VELERO_NAMESPACE, labels },
      spec: {
        schedule: this.cron,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
        jobTemplate: {
          spec: {
            // A failed drill is the signal: no retry hides it.
            backoffLimit: 0,
            activeDeadlineSeconds: timeoutSeconds + 1800,
            template: {
              metadata: { labels },
              spec: {
                serviceAccountName: DRILL,
                restartPolicy: 'Never',
                securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
                containers: [
                  {
                    name: 'drill',
                    image: BACKUP_IMAGES.kubectl,
                    command: ['/bin/sh', '-c', script],
                    env: [{ name: 'HOME', value: '/tmp' }],
                    securityContext: {
                      allowPrivilegeEscalation: false,
                      readOnlyRootFilesystem: true,
                      runAsNonRoot: true,
                      capabilities: { drop: ['ALL'] },
                      seccompProfile: { type: 'RuntimeDefault' },
                    },
                    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
                    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                  },
                ],
                volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '32Mi' } }],
              },
            },
          },
        },
      },
    };
    type Manifest = ConstructorParameters<typeof ApiObject>[2];
    new ApiObject(this, 'service-account', sa as Manifest);
    new ApiObject(this, 'role', role as Manifest);
    new ApiObject(this, 'role-binding', roleBinding as Manifest);
    new ApiObject(this, 'cluster-role', clusterRole as Manifest);
    new ApiObject(this, 'cluster-role-binding', clusterRoleBinding as Manifest);
    new ApiObject(this, 'scratch-role', scratchRole as Manifest);
    new ApiObject(this, 'scratch-role-binding', scratchRoleBinding as Manifest);
    new ApiObject(this, 'cronjob', cronJob as Manifest);
  }
}
