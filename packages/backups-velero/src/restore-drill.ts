import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Restore } from './imports/velero.io';
import { BACKUP_IMAGES } from './pins';
import { VELERO_NAMESPACE } from './restore';

/** Options for {@link restoreDrillScript} and {@link restoreDrillRestore}. */
export interface RestoreDrillOptions {
  /** Schedule whose latest completed backup is restored. */
  readonly schedule: string;
  /** The app namespace whose volumes are restored. */
  readonly sourceNamespace: string;
  /** Scratch namespace the volumes are restored into; deleted before and after. */
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

/**
 * The drill's POSIX sh script (kubectl only): clears the scratch namespace,
 * creates {@link restoreDrillRestore}, waits for a final phase, reports which
 * backup it restored with Velero's error and warning counts, deletes the
 * scratch namespace, and exits 1 unless the phase is `Completed`.
 *
 * `KEELSON_DRILL_POLL_SECONDS` overrides the 15-second poll, for tests.
 */
export function restoreDrillScript(options: RestoreDrillOptions): string {
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
    'kubectl delete namespace "$scratch" --ignore-not-found --wait=true --timeout=15m',
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
    'kubectl delete namespace "$scratch" --ignore-not-found --wait=false',
    'if [ "$phase" = Completed ]; then',
    '  log "OK: backup ${backup:-?} restored the volumes of $source (errors ${errors:-0}, warnings ${warnings:-0})"',
    '  exit 0',
    'fi',
    'log "FAILED: backup ${backup:-?} of schedule $schedule did not restore $source: $phase (errors ${errors:-0}, warnings ${warnings:-0}); see kubectl -n $velero_ns describe $restore" >&2',
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

/**
 * A scheduled restore drill: restores the latest backup of one app's volumes
 * into a scratch namespace (`<app>-restore-drill`) and fails the Job when the
 * restore does not complete, so a broken backup shows as a failed Job
 * (`kubectl get jobs -n velero`) before anyone needs it.
 *
 * Its ServiceAccount may create and read Restores in `velero` and read and
 * delete the scratch namespace, nothing else; Velero does the restoring.
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
    this.scratchNamespace = `${props.sourceNamespace}-restore-drill`;
    if (this.scratchNamespace.length > 63) {
      throw new Error(`RestoreDrill: sourceNamespace "${props.sourceNamespace}" is too long for a scratch namespace "${this.scratchNamespace}" (63 characters at most); drill an app with a shorter namespace`);
    }
    const labels = { 'app.kubernetes.io/name': DRILL };
    const sa: IServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DRILL, namespace: VELERO_NAMESPACE, labels } };
    const role: IRole = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: DRILL, namespace: VELERO_NAMESPACE, labels },
      rules: [{ apiGroups: ['velero.io'], resources: ['restores'], verbs: ['create', 'get'] }],
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
      // Only the scratch namespace, by name: the drill can delete nothing else.
      rules: [{ apiGroups: [''], resources: ['namespaces'], resourceNames: [this.scratchNamespace], verbs: ['get', 'watch', 'delete'] }],
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
    new ApiObject(this, 'cronjob', cronJob as Manifest);
  }
}
