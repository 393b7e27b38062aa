/**
 * The rook-ceph operator chart, pinned. Rook 1.20.6 is the release the
 * committed CRD bindings (`src/generated/ceph.rook.io.ts`) were generated from.
 * The chart installs the CRDs (`crds.enabled`) and, as its
 * `ceph-csi-operator` subchart (condition `csi.installCsiOperator`), the
 * ceph-csi-operator with the `csi.ceph.io` CRDs. It installs no CSI driver:
 * that is {@link CEPH_CSI_DRIVERS_CHART}.
 *
 * Pinned exactly as Rook's chart index lists it: `v1.20.6`.
 *
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/charts/rook-ceph/Chart.yaml
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/charts/rook-ceph/values.yaml
 */
export const ROOK_CEPH_CHART = { repoURL: 'https://charts.rook.io/release', chart: 'rook-ceph', version: 'v1.20.6' } as const;

/**
 * The Ceph-CSI drivers chart Rook 1.20 requires beside rook-ceph: it renders
 * the `csi.ceph.io` Driver CRs (RBD, CephFS) and the OperatorConfig that the
 * ceph-csi-operator turns into the CSI controller Deployments and node
 * DaemonSets. Installed after rook-ceph (whose subchart brings the CRDs and
 * the operator) and before the CephCluster, as Rook's upgrade guide orders
 * them. 1.0.4 is the version of rook-ceph's `ceph-csi-operator` subchart and
 * the one Rook's Helm integration test pins (`cephCsiDriversChartVersion`).
 *
 * @see https://github.com/rook/rook/blob/v1.20.6/Documentation/Helm-Charts/csi-drivers-chart.md
 * @see https://github.com/rook/rook/blob/v1.20.6/Documentation/Upgrade/rook-upgrade.md
 * @see https://github.com/ceph/ceph-csi-operator/tree/v1.0.4/deploy/charts/ceph-csi-drivers
 */
export const CEPH_CSI_DRIVERS_CHART = { repoURL: 'https://ceph.github.io/ceph-csi-operator', chart: 'ceph-csi-drivers', version: '1.0.4' } as const;

/**
 * The Ceph image the CephCluster runs: Tentacle (v20), the release Rook
 * 1.20's example cluster ships with. Squid (v19) and Tentacle are the ones
 * Rook 1.20 supports without `allowUnsupported`.
 *
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/examples/cluster.yaml
 */
export const CEPH_IMAGE = 'quay.io/ceph/ceph:v20.2.2';

/**
 * The Kubernetes CSI external-snapshotter release whose VolumeSnapshot CRDs
 * the bindings in `src/generated/snapshot.storage.k8s.io.ts` come from: its
 * CRDs and its snapshot controller (a kustomization into kube-system), as
 * plain manifests at the tag.
 *
 * @see https://github.com/kubernetes-csi/external-snapshotter/tree/v8.6.0#usage
 */
export const CSI_SNAPSHOTTER = {
  repoURL: 'https://github.com/kubernetes-csi/external-snapshotter.git',
  version: 'v8.6.0',
  crdPath: 'client/config/crd',
  controllerPath: 'deploy/kubernetes/snapshot-controller',
} as const;
