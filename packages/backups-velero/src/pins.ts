/**
 * Every upstream version the backup layer runs, in one place.
 *
 * Velero and its AWS plugin move together: plugin 1.14.x is the line for
 * Velero 1.18 (the plugin README's compatibility table). The CRD schemas in
 * `src/generated/velero.io.ts` come from Velero v1.18.1, so the chart is the
 * release that ships v1.18.1.
 */

/**
 * The Velero chart, pinned: chart 12.1.0 ships Velero v1.18.1 (appVersion).
 *
 * @see https://github.com/vmware-tanzu/helm-charts/tree/main/charts/velero
 * @see https://github.com/vmware-tanzu/helm-charts/releases/tag/velero-12.1.0
 */
export const VELERO_CHART = { repoURL: 'https://vmware-tanzu.github.io/helm-charts', chart: 'velero', version: '12.1.0' } as const;

/** Container images, each pinned by exact tag. */
export const BACKUP_IMAGES = {
  /** The Velero server and node agent (the chart's appVersion, set explicitly). */
  velero: { repository: 'velero/velero', tag: 'v1.18.1' },
  /**
   * The object-store plugin for S3-compatible buckets: 1.14.x for Velero 1.18;
   * 1.14.4 carries the fix that makes `checksumAlgorithm: ""` drop every
   * checksum header, which Ceph-based stores such as Spaces reject.
   *
   * @see https://github.com/vmware-tanzu/velero-plugin-for-aws#compatibility
   * @see https://github.com/velero-io/velero-plugin-for-aws/pull/313
   */
  awsPlugin: { repository: 'velero/velero-plugin-for-aws', tag: 'v1.14.4' },
  /**
   * kubectl for the chart's CRD-upgrade hook, which copies kubectl from the
   * Bitnami layout (`/opt/bitnami/kubectl`); Bitnami's free tags moved to
   * `bitnamilegacy`. The hook only applies CRDs, which every kubectl since 1.16 can.
   */
  chartKubectl: { repository: 'docker.io/bitnamilegacy/kubectl', tag: '1.33.4' },
  /**
   * etcdctl for snapshots: the etcd release kubeadm runs with Kubernetes 1.36.
   * Distroless, so the snapshot step is a plain command, no shell.
   */
  etcd: 'registry.k8s.io/etcd:3.6.8-0',
  /** The S3 client for etcd snapshots: reads the same AWS credentials file Velero does. */
  awsCli: 'docker.io/amazon/aws-cli:2.27.50',
  /** kubectl with a shell, for the restore drill. */
  kubectl: 'docker.io/alpine/kubectl:1.36.0',
} as const;
