import type { Construct } from 'constructs';
import { afterCrds, LayerChart, SYNC_WAVE, UpstreamHelmChart } from '@keelson/cluster-kit';
import { endpoints, RECOVERY, VELERO_SNAPSHOT_CLASS_LABEL, type BackupTarget, type DeployTimeSecret, type DeployTimeSecretContext, type LayerDeclarations, type ObjectBucket, type PlatformSpec, type SecretRef, type StorageLayer } from '@keelson/platform-spec';
import { BackupStorageLocation, BackupStorageLocationSpecAccessMode, Schedule } from './generated/velero.io';
import { EtcdSnapshots, ETCD_SNAPSHOT_POD_LABELS } from './etcd-snapshot';
import { BACKUP_IMAGES, VELERO_CHART } from './pins';
import { RestoreDrill, type RestoreDrillProps } from './restore-drill';
import { VELERO_NAMESPACE } from './restore';
import { checkSchedules, DEFAULT_BACKUP_SCHEDULES, EXCLUDED_NAMESPACES, EXCLUDED_RESOURCES, type BackupScheduleSpec } from './schedules';

/**
 * The Secret holding the bucket's access key, in the AWS credentials-file
 * format under key `cloud` (`[default]`, `aws_access_key_id=...`,
 * `aws_secret_access_key=...`). Created at deploy time; never rendered.
 *
 * @see https://github.com/vmware-tanzu/velero-plugin-for-aws#set-permissions-for-velero
 */
export const VELERO_CREDENTIALS: SecretRef = { namespace: VELERO_NAMESPACE, name: 'cloud-credentials', key: 'cloud' };

/**
 * The Secret holding the etcd client certificate for snapshots: `tls.crt` and
 * `tls.key` from the secrets bundle's `etcd/clients/backup` (CN
 * `keelson-etcd-backup`, clientAuth only) and `ca.crt`, the etcd CA
 * certificate. Created at deploy time; never rendered.
 */
export const ETCD_CLIENT_CERTIFICATE: SecretRef = { namespace: VELERO_NAMESPACE, name: 'etcd-backup-client' };

/** Name of the BackupStorageLocation every schedule writes to. */
export const BACKUP_STORAGE_LOCATION = 'default';
/** Prefix of Velero's data in the bucket (Velero refuses unknown top-level folders under its prefix; etcd snapshots sit beside it). */
export const VELERO_BUCKET_PREFIX = 'velero';

/** Label Velero's CSI support picks a driver's VolumeSnapshotClass by (the storage/backups contract in platform-spec). */
export { VELERO_SNAPSHOT_CLASS_LABEL };

/** Annotation on each Schedule naming the VolumeSnapshotClasses it relies on, for `verify`. */
export const SNAPSHOT_CLASSES_ANNOTATION = 'keelson.dev/volume-snapshot-classes';

/** A label the storage layer must put on a VolumeSnapshotClass. */
export interface SnapshotClassRequirement {
  readonly className: string;
  readonly label: string;
  readonly value: 'true';
}

/** The labels the storage layer's snapshot classes need for Velero to use them. */
export function snapshotClassRequirements(storage: StorageLayer): readonly SnapshotClassRequirement[] {
  return [storage.blockSnapshotClass, storage.filesystemSnapshotClass].map((className) => ({ className, label: VELERO_SNAPSHOT_CLASS_LABEL, value: 'true' as const }));
}

/** A container image as the chart takes it. */
export interface ChartImage {
  readonly repository: string;
  readonly tag: string;
}

/** Requests and limits. */
export interface ResourceValues {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/** A container security context as the chart passes it through. */
export interface ContainerSecurityValues {
  readonly allowPrivilegeEscalation: false;
  readonly readOnlyRootFilesystem: boolean;
  readonly capabilities: { readonly drop: readonly ['ALL'] };
  readonly runAsNonRoot?: true;
  readonly seccompProfile?: { readonly type: 'RuntimeDefault' };
}

/**
 * The part of the Velero chart's values Keelson sets, typed.
 *
 * @see https://github.com/vmware-tanzu/helm-charts/blob/main/charts/velero/values.yaml
 */
export interface VeleroChartValues {
  readonly image: ChartImage & { readonly pullPolicy: 'IfNotPresent' };
  /** Plugins are copied into the server pod by init containers; at least the object-store plugin. */
  readonly initContainers: readonly {
    readonly name: string;
    readonly image: string;
    readonly imagePullPolicy: 'IfNotPresent';
    readonly volumeMounts: readonly { readonly mountPath: '/target'; readonly name: 'plugins' }[];
    readonly securityContext: ContainerSecurityValues;
    readonly resources: ResourceValues;
  }[];
  readonly resources: ResourceValues;
  readonly podSecurityContext: {
    readonly runAsNonRoot: true;
    readonly runAsUser: number;
    readonly runAsGroup: number;
    readonly fsGroup: number;
    readonly seccompProfile: { readonly type: 'RuntimeDefault' };
  };
  readonly containerSecurityContext: ContainerSecurityValues;
  /** The chart's CRD-upgrade hook Job keeps the CRDs at the chart's Velero version. */
  readonly upgradeCRDs: true;
  readonly kubectl: { readonly image: ChartImage; readonly containerSecurityContext: ContainerSecurityValues; readonly resources: ResourceValues };
  /** The BackupStorageLocation is rendered by Keelson as a typed CR; the chart creates none. */
  readonly backupsEnabled: false;
  /** No VolumeSnapshotLocation: CSI snapshots need none, and the data mover takes them off-cluster. */
  readonly snapshotsEnabled: false;
  /** The node agent runs the data mover that uploads snapshot data to the bucket. */
  readonly deployNodeAgent: true;
  readonly nodeAgent: { readonly resources: ResourceValues };
  readonly credentials: { readonly useSecret: true; readonly existingSecret: string };
  readonly configuration: {
    /**
     * `EnableCSI`: volume data is backed up as CSI snapshots (Ceph RBD and
     * CephFS through the VolumeSnapshotClasses the storage layer labels
     * `velero.io/csi-volumesnapshot-class`), which the data mover copies to
     * the bucket with the node agent. Without the flag Velero skips the CSI
     * snapshot actions, and as `defaultVolumesToFsBackup` is false no volume
     * data would be backed up at all: only objects. Chosen over file-system
     * backup because a snapshot is crash-consistent at one instant, while a
     * file-system backup reads live files one by one. Since 1.14 the CSI
     * plugin is built in, but the flag is still required. The chart passes it
     * to the server and the node agent as `--features`.
     *
     * @see https://github.com/vmware-tanzu/velero/blob/main/site/content/docs/v1.17/csi.md ("you must enable the EnableCSI feature flag")
     * @see https://velero.io/docs/main/csi-snapshot-data-movement/ ("you must enable the EnableCSI feature flag on the Velero server")
     * @see https://github.com/vmware-tanzu/helm-charts/blob/velero-12.1.0/charts/velero/values.yaml (configuration.features)
     */
    readonly features: 'EnableCSI';
    /** Move CSI snapshot data to the bucket for every backup, not only the ones that ask. */
    readonly defaultSnapshotMoveData: true;
    readonly defaultBackupStorageLocation: string;
    readonly uploaderType: 'kopia';
    readonly defaultVolumesToFsBackup: false;
    readonly defaultItemOperationTimeout: string;
    readonly logFormat: 'json';
  };
  /**
   * The server is a single controller (no leader election): it leaves an
   * unreachable or not-ready node after this many seconds and starts on
   * another (no volume ties it to a node), so backups pause, never stop.
   */
  readonly tolerations: readonly { readonly key: string; readonly operator: 'Exists'; readonly effect: 'NoExecute'; readonly tolerationSeconds: number }[];
  /** The server's liveness and readiness probes read its metrics endpoint. */
  readonly metrics: { readonly enabled: true };
  /** Schedules are rendered by Keelson as typed CRs. */
  readonly schedules: Record<string, never>;
}

/** Seconds the Velero server stays on an unreachable or not-ready node before it moves (the platform's recovery bound). */
export const SERVER_FAILOVER_SECONDS = RECOVERY.failoverTolerationSeconds;

/** Props for {@link VeleroBackups}. */
export interface VeleroBackupsProps {
  readonly spec: PlatformSpec;
  /**
   * The bucket backups go to: the node provider's `backupBucket(spec)`. Its
   * credentials, when given, must be {@link VELERO_CREDENTIALS}'s Secret.
   */
  readonly target: ObjectBucket | BackupTarget;
  /** The storage layer: its VolumeSnapshotClasses are what Velero snapshots with. */
  readonly storage: StorageLayer;
  /**
   * The backup schedules, replacing the defaults.
   * @default DEFAULT_BACKUP_SCHEDULES — databases hourly (48 h), platform daily (30 d) and weekly (90 d)
   */
  readonly schedules?: readonly BackupScheduleSpec[];
  /**
   * etcd snapshots: cron (UTC) and retention in days.
   * @default { cron: '15 * * * *', retentionDays: 14 }
   */
  readonly etcdSnapshots?: { readonly cron?: string; readonly retentionDays?: number };
  /**
   * The restore drill: which app namespace's volumes, from which schedule.
   * `false` turns it off. The namespace must be one the platform spec plans
   * with volumes (`NamespacePlan.volumes`): a drill of a namespace without
   * any would prove nothing.
   * @default { sourceNamespace: <the first app namespace with volumes: nextcloud, else emby>, schedule: 'platform-daily', cron: '0 6 * * *' } — and no drill when no app in the config keeps volumes
   */
  readonly restoreDrill?: false | { readonly sourceNamespace?: string; readonly schedule?: string; readonly cron?: string; readonly timeoutSeconds?: number };
  /**
   * How long Velero waits for a CSI snapshot to be ready.
   * @default '30m'
   */
  readonly csiSnapshotTimeout?: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const restrictedContainer: ContainerSecurityValues = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * The backup layer: Velero writing to an S3-compatible bucket off the
 * cluster, CSI snapshots of every volume moved into that bucket by the data
 * mover, schedules with retention, hourly etcd snapshots, and a daily restore
 * drill.
 *
 * Velero comes from its pinned upstream chart through an Argo CD Application;
 * the BackupStorageLocation and Schedules are rendered here as typed custom
 * resources, so they are validated against Velero's CRD schemas.
 *
 * The Velero server is a single replica: it is a controller without leader
 * election, not a serving path; losing its node reschedules it, and a backup
 * it was running is marked failed and retried at the next interval. It gets
 * no PodDisruptionBudget (one for a single replica would block every drain).
 *
 * @see https://velero.io/docs/v1.18/csi-snapshot-data-movement/
 */
export class VeleroBackups extends LayerChart implements LayerDeclarations {
  public readonly velero: UpstreamHelmChart<VeleroChartValues>;
  /** The schedules rendered, after defaults. */
  public readonly schedules: readonly BackupScheduleSpec[];
  /** Labels the storage layer's VolumeSnapshotClasses must carry; the app checks the storage layer sets them. */
  public readonly snapshotClassRequirements: readonly SnapshotClassRequirement[];
  /** Secrets created at deploy time, referenced here by name only. */
  public readonly deploySecrets: readonly SecretRef[] = [VELERO_CREDENTIALS, ETCD_CLIENT_CERTIFICATE];
  /** The restore drill, unless turned off or no app keeps volumes (see {@link restoreDrillSummary}). */
  public readonly restoreDrill?: RestoreDrill;

  /**
   * The values of {@link deploySecrets}: the backups bucket's keys (the
   * cloud's object-store keys, named by its provider) as the AWS plugin's
   * credentials file, and the secrets bundle's etcd backup client
   * (`etcd/clients/backup` and the etcd CA, as @keelson/etcd-tls lays the
   * bundle out).
   *
   * @see https://github.com/vmware-tanzu/velero-plugin-for-aws#set-permissions-for-velero (cloud credentials file)
   */
  public deployTimeSecrets({ objectStoreCredentialVariables: [accessKeyVariable, secretKeyVariable] }: DeployTimeSecretContext): readonly DeployTimeSecret[] {
    return [
      {
        namespace: VELERO_CREDENTIALS.namespace,
        name: VELERO_CREDENTIALS.name,
        keys: { [VELERO_CREDENTIALS.key ?? 'cloud']: { kind: 'aws-credentials', accessKeyVariable, secretKeyVariable } },
        purpose: 'Velero, to write backups to the backups bucket',
      },
      {
        namespace: ETCD_CLIENT_CERTIFICATE.namespace,
        name: ETCD_CLIENT_CERTIFICATE.name,
        keys: {
          'tls.crt': { kind: 'bundle-file', file: 'etcd/clients/backup.crt' },
          'tls.key': { kind: 'bundle-file', file: 'etcd/clients/backup.key' },
          'ca.crt': { kind: 'bundle-file', file: 'etcd/ca.crt' },
        },
        purpose: 'the etcd snapshot CronJob, to read etcd over mTLS',
      },
    ];
  }
  /** One line for humans: what the restore drill restores and when, or why there is none. */
  public readonly restoreDrillSummary: string;

  constructor(scope: Construct, id: string, props: VeleroBackupsProps) {
    super(scope, id, { spec: props.spec, layer: 'backups' });
    const target = checkTarget(props.target);
    this.schedules = checkSchedules(props.schedules ?? DEFAULT_BACKUP_SCHEDULES);
    this.snapshotClassRequirements = snapshotClassRequirements(props.storage);
    const csiSnapshotTimeout = props.csiSnapshotTimeout ?? '30m';
    if (!/^\d+[hms]$/.test(csiSnapshotTimeout)) {
      throw new Error(`VeleroBackups: csiSnapshotTimeout "${csiSnapshotTimeout}" is not a duration such as "30m", "1h" or "600s"`);
    }

    const resources = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string): ResourceValues => ({
      requests: { cpu, memory },
      limits: { cpu: cpuLimit, memory: memoryLimit },
    });
    const values: VeleroChartValues = {
      image: { ...BACKUP_IMAGES.velero, pullPolicy: 'IfNotPresent' },
      initContainers: [
        {
          name: 'velero-plugin-for-aws',
          image: `${BACKUP_IMAGES.awsPlugin.repository}:${BACKUP_IMAGES.awsPlugin.tag}`,
          imagePullPolicy: 'IfNotPresent',
          volumeMounts: [{ mountPath: '/target', name: 'plugins' }],
          securityContext: restrictedContainer,
          resources: resources('10m', '32Mi', '100m', '64Mi'),
        },
      ],
      resources: resources('100m', '128Mi', '1', '1Gi'),
      podSecurityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containerSecurityContext: restrictedContainer,
      upgradeCRDs: true,
      kubectl: { image: BACKUP_IMAGES.chartKubectl, containerSecurityContext: restrictedContainer, resources: resources('10m', '64Mi', '200m', '256Mi') },
      backupsEnabled: false,
      snapshotsEnabled: false,
      // The node agent reads volumes through the host's kubelet folder as
      // root (the chart's default), which is why the namespace is privileged.
      deployNodeAgent: true,
      nodeAgent: { resources: resources('100m', '256Mi', '1', '2Gi') },
      credentials: { useSecret: true, existingSecret: VELERO_CREDENTIALS.name },
      tolerations: ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists' as const, effect: 'NoExecute' as const, tolerationSeconds: SERVER_FAILOVER_SECONDS })),
      configuration: {
        features: 'EnableCSI',
        defaultSnapshotMoveData: true,
        defaultBackupStorageLocation: BACKUP_STORAGE_LOCATION,
        uploaderType: 'kopia',
        defaultVolumesToFsBackup: false,
        defaultItemOperationTimeout: '4h',
        logFormat: 'json',
      },
      metrics: { enabled: true },
      schedules: {},
    };
    this.velero = new UpstreamHelmChart(this, 'velero', {
      ...VELERO_CHART,
      namespace: VELERO_NAMESPACE,
      values,
      // The chart binds Velero to cluster-admin (it backs up and restores every kind)
      // and its CRD-upgrade hook applies Velero's CRDs.
      clusterResources: [
        { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
    });

    // Velero's CRDs come with the chart's Application in this folder: its
    // custom resources sync after it, with the dry run skipped until they exist.
    const afterVelero = afterCrds(this.velero);
    // Schedules one wave after the location they write to: Velero backs up as soon as a Schedule
    // exists, and a backup to a location not yet created fails validation.
    const afterLocation = afterCrds(this.velero, Number(afterVelero[SYNC_WAVE]) + 1);
    new BackupStorageLocation(this, 'backup-storage-location', {
      metadata: { name: BACKUP_STORAGE_LOCATION, namespace: VELERO_NAMESPACE, annotations: { ...afterVelero } },
      spec: {
        provider: 'aws',
        default: true,
        accessMode: BackupStorageLocationSpecAccessMode.READ_WRITE,
        objectStorage: { bucket: target.bucket, prefix: VELERO_BUCKET_PREFIX },
        credential: { name: VELERO_CREDENTIALS.name, key: VELERO_CREDENTIALS.key ?? 'cloud' },
        config: {
          region: target.region,
          s3Url: target.endpoint,
          // Path-style works on every S3-compatible store (Spaces and Hetzner
          // also serve virtual-hosted buckets, which need a DNS name per bucket).
          s3ForcePathStyle: 'true',
          // Spaces (Ceph RGW) rejects the AWS SDK's default CRC32 checksums; "" sends none.
          checksumAlgorithm: '',
        },
        validationFrequency: '1m',
      },
    });

    const snapshotClasses = this.snapshotClassRequirements.map((r) => r.className).join(',');
    for (const s of this.schedules) {
      new Schedule(this, `schedule-${s.name}`, {
        metadata: { name: s.name, namespace: VELERO_NAMESPACE, annotations: { ...afterLocation, [SNAPSHOT_CLASSES_ANNOTATION]: snapshotClasses } },
        spec: {
          schedule: s.cron,
          useOwnerReferencesInBackup: false,
          template: {
            ttl: `${s.ttlHours}h0m0s`,
            storageLocation: BACKUP_STORAGE_LOCATION,
            snapshotVolumes: true,
            snapshotMoveData: true,
            defaultVolumesToFsBackup: false,
            csiSnapshotTimeout,
            itemOperationTimeout: '4h',
            ...(s.scope.kind === 'labelled'
              ? { includedNamespaces: ['*'], labelSelector: { matchLabels: { ...s.scope.labels } } }
              : { includedNamespaces: ['*'], excludedNamespaces: [...EXCLUDED_NAMESPACES], excludedResources: [...EXCLUDED_RESOURCES] }),
          },
        },
      });
    }

    const etcd = props.etcdSnapshots ?? {};
    new EtcdSnapshots(this, 'etcd-snapshots', {
      namespace: VELERO_NAMESPACE,
      target,
      credentials: VELERO_CREDENTIALS,
      clientCertificate: ETCD_CLIENT_CERTIFICATE,
      cron: etcd.cron,
      retentionDays: etcd.retentionDays,
    });

    const drill = planRestoreDrill(props.spec, this.schedules, props.restoreDrill);
    if ('skipped' in drill) {
      this.restoreDrillSummary = `restore drill: none: ${drill.skipped}`;
    } else {
      const d = new RestoreDrill(this, 'restore-drill', drill);
      // The drill's scratch namespace lives on (restricted, all traffic denied) so
      // its Role can let the drill start the pod that reads the restored volumes.
      this.addNamespace({ name: d.scratchNamespace, podSecurity: 'restricted' });
      this.restoreDrill = d;
      this.restoreDrillSummary = `restore drill: the volumes of ${d.sourceNamespace} from the latest ${d.schedule} backup into ${d.scratchNamespace}, at "${d.cron}" (UTC); a failed restore is a failed Job (kubectl -n ${VELERO_NAMESPACE} get jobs)`;
    }

    this.allowTraffic({
      from: endpoints.pods(VELERO_NAMESPACE),
      to: endpoints.kubeApiServer,
      ports: [{ port: 6443 }],
      reason: 'Velero, its node agent, data-mover pods, CRD-upgrade hook and restore drill use the Kubernetes API',
    });
    this.allowTraffic({
      from: endpoints.pods(VELERO_NAMESPACE),
      to: endpoints.internet,
      ports: [{ port: 443 }],
      reason: 'backups and etcd snapshots go to the S3-compatible bucket over HTTPS',
    });
    this.allowTraffic({
      from: endpoints.pods(VELERO_NAMESPACE, ETCD_SNAPSHOT_POD_LABELS),
      to: endpoints.nodes,
      ports: [{ port: 2379 }],
      reason: 'etcd snapshots read the local etcd member over mTLS',
    });
  }
}

/**
 * Chooses and checks the restore drill's source namespace. By default it is
 * the first namespace of the apps layer the spec plans with volumes
 * (Nextcloud's, else the media server's), so a config with Nextcloud
 * switched off still drills an app's data; with no such namespace (only the
 * website, or no apps) there is nothing to restore and no drill, and the
 * result says why. A source given explicitly must be a planned namespace
 * with volumes that the drilled schedule backs up.
 */
function planRestoreDrill(spec: PlatformSpec, schedules: readonly BackupScheduleSpec[], restoreDrill: VeleroBackupsProps['restoreDrill']): RestoreDrillProps | { readonly skipped: string } {
  if (restoreDrill === false) return { skipped: 'turned off (restoreDrill: false)' };
  const drill = restoreDrill ?? {};
  const schedule = drill.schedule ?? 'platform-daily';
  const planned = spec.layers.flatMap((l) => l.namespaces.map((n) => ({ layer: l.id, ...n })));
  const apps = planned.filter((n) => n.layer === 'apps');
  const withVolumes = apps.filter((n) => n.volumes === true).map((n) => n.name);
  const suggestion =
    withVolumes.length > 0 ? `drill an app namespace with volumes (${withVolumes.join(', ')}), or leave sourceNamespace out for ${withVolumes[0]}` : 'no app namespace in this config keeps volumes';
  const sourceNamespace = drill.sourceNamespace ?? withVolumes[0];
  if (sourceNamespace === undefined) {
    const which = apps.length > 0 ? `the apps layer plans ${apps.map((n) => n.name).join(', ')}` : 'the config enables no app';
    if (restoreDrill !== undefined) {
      throw new Error(`VeleroBackups: restoreDrill is set, but no app namespace keeps volumes (${which}), so a drill would restore nothing; set restoreDrill: false, or enable an app that keeps data`);
    }
    return { skipped: `no app namespace keeps volumes (${which}), so there is nothing to restore; enabling an app with data drills it` };
  }
  const plan = planned.find((n) => n.name === sourceNamespace);
  if (!plan) {
    throw new Error(`VeleroBackups: restoreDrill.sourceNamespace "${sourceNamespace}" is not a namespace of the platform (${[...new Set(planned.map((n) => n.name))].join(', ')}); ${suggestion}, or set restoreDrill: false`);
  }
  const drilled = schedules.find((s) => s.name === schedule);
  if (!drilled) {
    throw new Error(`VeleroBackups: restoreDrill.schedule "${schedule}" is not one of the schedules (${schedules.map((s) => s.name).join(', ')}); name a schedule that backs up ${sourceNamespace}`);
  }
  if (drilled.scope.kind === 'platform' && EXCLUDED_NAMESPACES.includes(sourceNamespace)) {
    throw new Error(`VeleroBackups: restoreDrill.sourceNamespace "${sourceNamespace}" is excluded from every platform backup; ${suggestion}`);
  }
  if (plan.volumes !== true) {
    throw new Error(`VeleroBackups: restoreDrill.sourceNamespace "${sourceNamespace}" keeps no volumes (platform-spec plans none for it), so a drill would restore nothing; ${suggestion}, or set restoreDrill: false`);
  }
  return { sourceNamespace, schedule, cron: drill.cron, timeoutSeconds: drill.timeoutSeconds };
}

function checkTarget(target: ObjectBucket | BackupTarget): ObjectBucket {
  if (!BUCKET.test(target.bucket)) {
    throw new Error(`VeleroBackups: target.bucket "${target.bucket}" is not an S3 bucket name (3-63 lowercase letters, digits, '.' and '-'); pass the node provider's backupBucket(spec)`);
  }
  let url: URL | undefined;
  try {
    url = new URL(target.endpoint);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new Error(`VeleroBackups: target.endpoint "${target.endpoint}" is not an https:// S3 endpoint without a path; use the node provider's backupBucket(spec).endpoint, e.g. "https://s3.example.com"`);
  }
  if (!/^[a-z0-9-]+$/.test(target.region)) {
    throw new Error(`VeleroBackups: target.region "${target.region}" is not a region name; use the bucket's region, e.g. "fra1"`);
  }
  const credentials = 'credentials' in target ? target.credentials : undefined;
  if (credentials && (credentials.namespace !== VELERO_CREDENTIALS.namespace || credentials.name !== VELERO_CREDENTIALS.name || (credentials.key ?? 'cloud') !== VELERO_CREDENTIALS.key)) {
    throw new Error(
      `VeleroBackups: target.credentials ${credentials.namespace}/${credentials.name}${credentials.key ? `:${credentials.key}` : ''} is not the Secret Velero reads; create ${VELERO_CREDENTIALS.namespace}/${VELERO_CREDENTIALS.name} with key ${VELERO_CREDENTIALS.key} (AWS credentials file) at deploy time, or leave credentials out`,
    );
  }
  return { bucket: target.bucket, endpoint: target.endpoint.replace(/\/$/, ''), region: target.region };
}
