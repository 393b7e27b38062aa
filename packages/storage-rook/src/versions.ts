/**
 * The rook-ceph operator chart, pinned. Rook 1.20.6 is the release the
 * committed CRD bindings (`src/imports/ceph.rook.io.ts`) were generated from.
 * The chart installs the CRDs (`crds.enabled`) and, as its
 * `ceph-csi-operator` subchart, the ceph-csi-operator that runs the CSI
 * drivers in Rook 1.20 (`csi.rookUseCsiOperator`).
 *
 * Pinned exactly as Rook's chart index lists it: `v1.20.6`.
 *
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/charts/rook-ceph/Chart.yaml
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/charts/rook-ceph/values.yaml
 */
export const ROOK_CEPH_CHART = { repoURL: 'https://charts.rook.io/release', chart: 'rook-ceph', version: 'v1.20.6' } as const;

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
 * the bindings in `src/imports/snapshot.storage.k8s.io.ts` come from: its
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
