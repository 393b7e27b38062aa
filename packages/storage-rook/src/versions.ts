/**
 * The rook-ceph operator chart, pinned. Rook 1.20.6 is the release the
 * committed CRD bindings (`src/imports/ceph.rook.io.ts`) were generated from.
 * The chart installs the CRDs (`crds.enabled`) and, as its
 * `ceph-csi-operator` subchart, the ceph-csi-operator that runs the CSI
 * drivers in Rook 1.20 (`csi.rookUseCsiOperator`).
 *
 * Rook's chart index lists the version as `v1.20.6`; `UpstreamHelmChart`
 * accepts bare semver only, and Helm resolves `1.20.6` to that entry (a
 * version string is matched as a semver constraint, which ignores the `v`).
 *
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/charts/rook-ceph/Chart.yaml
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/charts/rook-ceph/values.yaml
 */
export const ROOK_CEPH_CHART = { repoURL: 'https://charts.rook.io/release', chart: 'rook-ceph', version: '1.20.6' } as const;

/**
 * The Ceph image the CephCluster runs: Tentacle (v20), the release Rook
 * 1.20's example cluster ships with. Squid (v19) and Tentacle are the ones
 * Rook 1.20 supports without `allowUnsupported`.
 *
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/examples/cluster.yaml
 */
export const CEPH_IMAGE = 'quay.io/ceph/ceph:v20.2.2';
