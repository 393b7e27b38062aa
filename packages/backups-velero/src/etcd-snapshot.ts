import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { ObjectBucket, SecretRef } from '@keelson/platform-spec';
import { BACKUP_IMAGES } from './pins';

/** Where the etcd client certificate Secret is mounted in the snapshot pod. */
export const ETCD_CLIENT_MOUNT = '/etc/etcd-client';
/** Where the snapshot is written, shared between the snapshot and upload containers. */
export const ETCD_SNAPSHOT_FILE = '/snapshot/etcd.db';
/** Object key prefix of etcd snapshots in the bucket (Velero keeps to its own prefix). */
export const ETCD_SNAPSHOT_PREFIX = 'etcd/';

/** Options for {@link etcdSnapshotCommand}. */
export interface EtcdSnapshotCommandOptions {
  /** One etcd client URL (a snapshot is taken from a single member). */
  readonly endpoint: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** File the snapshot is written to. */
  readonly outputFile: string;
  /**
   * etcdctl binary.
   * @default '/usr/local/bin/etcdctl' — where the etcd image has it
   */
  readonly etcdctl?: string;
}

/**
 * The argv that takes an etcd snapshot over mutual TLS: `etcdctl snapshot
 * save` against one member. A command, not a script, because the etcd image
 * has no shell. etcdctl 3.4 to 3.6 accept the same flags.
 *
 * @see https://etcd.io/docs/v3.6/op-guide/recovery/#snapshotting-the-keyspace
 */
export function etcdSnapshotCommand(options: EtcdSnapshotCommandOptions): string[] {
  return [
    options.etcdctl ?? '/usr/local/bin/etcdctl',
    `--endpoints=${options.endpoint}`,
    `--cacert=${options.caFile}`,
    `--cert=${options.certFile}`,
    `--key=${options.keyFile}`,
    '--dial-timeout=10s',
    '--command-timeout=300s',
    'snapshot',
    'save',
    options.outputFile,
  ];
}

/** Options for {@link etcdUploadScript}. */
export interface EtcdUploadScriptOptions {
  readonly target: ObjectBucket;
  /** Snapshots older than this many days are deleted after a successful upload. */
  readonly retentionDays: number;
  /**
   * The snapshot file to upload.
   * @default ETCD_SNAPSHOT_FILE
   */
  readonly snapshotFile?: string;
}

/** Quotes a value for POSIX sh. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The POSIX sh script that uploads a snapshot to `etcd/<UTC timestamp>.db` in
 * the bucket with the AWS CLI, checks the stored size, then deletes snapshots
 * older than `retentionDays` (by the timestamp in their key). Deleting in a
 * versioned bucket leaves a noncurrent version, which the bucket's lifecycle
 * rule (infra-nodes: 30 days) expires.
 *
 * `KEELSON_NOW` (epoch seconds) overrides the clock, for tests.
 *
 * @see https://awscli.amazonaws.com/v2/documentation/api/latest/reference/s3api/put-object.html
 */
export function etcdUploadScript(options: EtcdUploadScriptOptions): string {
  const { bucket, endpoint, region } = options.target;
  const file = options.snapshotFile ?? ETCD_SNAPSHOT_FILE;
  return [
    'set -eu',
    `bucket=${sq(bucket)}`,
    `snapshot=${sq(file)}`,
    `prefix=${sq(ETCD_SNAPSHOT_PREFIX)}`,
    `retention_days=${options.retentionDays}`,
    's3() { aws --endpoint-url ' + sq(endpoint) + ' --region ' + sq(region) + ' s3api "$@"; }',
    'now="${KEELSON_NOW:-$(date -u +%s)}"',
    'stamp=$(date -u -d "@$now" +%Y%m%dT%H%M%SZ)',
    'cutoff=$(date -u -d "@$((now - retention_days * 86400))" +%Y%m%dT%H%M%SZ)',
    'if [ ! -s "$snapshot" ]; then echo "etcd-snapshot: $snapshot is missing or empty; the snapshot step did not write it" >&2; exit 1; fi',
    'size=$(wc -c < "$snapshot" | tr -d " ")',
    'key="${prefix}${stamp}.db"',
    's3 put-object --bucket "$bucket" --key "$key" --body "$snapshot" > /dev/null',
    'stored=$(s3 head-object --bucket "$bucket" --key "$key" --query ContentLength --output text)',
    'if [ "$stored" != "$size" ]; then echo "etcd-snapshot: s3://$bucket/$key holds $stored bytes, expected $size; upload is incomplete" >&2; exit 1; fi',
    'echo "etcd-snapshot: uploaded s3://$bucket/$key ($size bytes)"',
    // Retention runs only after a good upload, so the newest snapshot always survives.
    's3 list-objects-v2 --bucket "$bucket" --prefix "$prefix" --query "Contents[].Key" --output text | tr "\\t" "\\n" | while read -r old; do',
    '  case "$old" in "$prefix"*.db) ;; *) continue ;; esac',
    '  if expr "x$old" \\< "x${prefix}${cutoff}.db" > /dev/null; then',
    '    s3 delete-object --bucket "$bucket" --key "$old" > /dev/null',
    '    echo "etcd-snapshot: deleted $old (older than $retention_days days)"',
    '  fi',
    'done',
    '',
  ].join('\n');
}

/** Props for {@link EtcdSnapshots}. */
export interface EtcdSnapshotsProps {
  /** Namespace the CronJob runs in. */
  readonly namespace: string;
  readonly target: ObjectBucket;
  /** AWS credentials file (key `cloud`), the one Velero uses. */
  readonly credentials: SecretRef;
  /**
   * Secret with the etcd client certificate (`tls.crt`, `tls.key`) and the etcd CA (`ca.crt`).
   */
  readonly clientCertificate: SecretRef;
  /**
   * Cron expression (UTC).
   * @default '15 * * * *' — hourly, so a lost cluster loses at most an hour of cluster state
   */
  readonly cron?: string;
  /**
   * Days snapshots are kept.
   * @default 14
   */
  readonly retentionDays?: number;
}

/** Labels of the snapshot pods (traffic rules select them). */
export const ETCD_SNAPSHOT_POD_LABELS = { 'app.kubernetes.io/name': 'etcd-snapshot', 'app.kubernetes.io/part-of': 'keelson' } as const;

const restrictedContainer = (): ISecurityContext => ({
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

/**
 * Scheduled etcd snapshots, uploaded off-cluster.
 *
 * A CronJob pinned to the controllers (the etcd members): the first container
 * runs `etcdctl snapshot save` against the member on its own node
 * (`status.hostIP:2379`, which kubeadm's etcd listens on and its serving
 * certificate names) with a dedicated client certificate; the second uploads
 * the file to the bucket and prunes old snapshots. The pod is not on the host
 * network, so the network layer's policies apply to it, and it runs
 * restricted: nothing from the host is mounted.
 */
export class EtcdSnapshots extends Construct {
  /** Name of the CronJob. */
  public readonly cronJobName = 'etcd-snapshot';

  constructor(scope: Construct, id: string, props: EtcdSnapshotsProps) {
    super(scope, id);
    const retentionDays = props.retentionDays ?? 14;
    if (!Number.isInteger(retentionDays) || retentionDays < 1) {
      throw new Error(`EtcdSnapshots: retentionDays ${retentionDays} is not a whole number of days >= 1; give e.g. 14`);
    }
    const cron = props.cron ?? '15 * * * *';
    if (cron.trim().split(/\s+/).length !== 5) {
      throw new Error(`EtcdSnapshots: cron "${cron}" is not a five-field cron expression; use e.g. "15 * * * *"`);
    }
    const clientDir = ETCD_CLIENT_MOUNT;
    const snapshotDir = ETCD_SNAPSHOT_FILE.slice(0, ETCD_SNAPSHOT_FILE.lastIndexOf('/'));
    const cronJob: ICronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: this.cronJobName, namespace: props.namespace, labels: { ...ETCD_SNAPSHOT_POD_LABELS } },
      spec: {
        schedule: cron,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 1800,
            ttlSecondsAfterFinished: 86400,
            template: {
              metadata: { labels: { ...ETCD_SNAPSHOT_POD_LABELS } },
              spec: {
                restartPolicy: 'Never',
                automountServiceAccountToken: false,
                // etcd runs on the control-plane nodes only; the snapshot reads the local member.
                nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
                tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 65532,
                  runAsGroup: 65532,
                  fsGroup: 65532,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                initContainers: [
                  {
                    name: 'snapshot',
                    image: BACKUP_IMAGES.etcd,
                    env: [{ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }],
                    // $(HOST_IP) is expanded by the kubelet: the etcd image has no shell.
                    command: etcdSnapshotCommand({
                      endpoint: 'https://$(HOST_IP):2379',
                      caFile: `${clientDir}/ca.crt`,
                      certFile: `${clientDir}/tls.crt`,
                      keyFile: `${clientDir}/tls.key`,
                      outputFile: ETCD_SNAPSHOT_FILE,
                    }),
                    securityContext: restrictedContainer(),
                    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
                    volumeMounts: [
                      { name: 'etcd-client', mountPath: clientDir, readOnly: true },
                      { name: 'snapshot', mountPath: snapshotDir },
                    ],
                  },
                ],
                containers: [
                  {
                    name: 'upload',
                    image: BACKUP_IMAGES.awsCli,
                    command: ['/bin/sh', '-c', etcdUploadScript({ target: props.target, retentionDays })],
                    env: [
                      { name: 'AWS_SHARED_CREDENTIALS_FILE', value: `/etc/bucket-credentials/${props.credentials.key ?? 'cloud'}` },
                      { name: 'AWS_CONFIG_FILE', value: '/dev/null' },
                      // Spaces and other S3-compatible stores reject the CRC checksums newer CLIs send by default.
                      { name: 'AWS_REQUEST_CHECKSUM_CALCULATION', value: 'when_required' },
                      { name: 'AWS_RESPONSE_CHECKSUM_VALIDATION', value: 'when_required' },
                      { name: 'AWS_EC2_METADATA_DISABLED', value: 'true' },
                      { name: 'HOME', value: '/tmp' },
                    ],
                    securityContext: restrictedContainer(),
                    resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
                    volumeMounts: [
                      { name: 'bucket-credentials', mountPath: '/etc/bucket-credentials', readOnly: true },
                      { name: 'snapshot', mountPath: snapshotDir, readOnly: true },
                      { name: 'tmp', mountPath: '/tmp' },
                    ],
                  },
                ],
                volumes: [
                  { name: 'etcd-client', secret: { secretName: props.clientCertificate.name, defaultMode: 0o440 } },
                  { name: 'bucket-credentials', secret: { secretName: props.credentials.name, defaultMode: 0o440 } },
                  // A snapshot of a default-quota etcd is at most 2 GiB (8 GiB at the maximum quota).
                  { name: 'snapshot', emptyDir: { sizeLimit: '8Gi' } },
                  { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
                ],
              },
            },
          },
        },
      },
    };
    new ApiObject(this, 'cronjob', cronJob as ConstructorParameters<typeof ApiObject>[2]);
  }
}
