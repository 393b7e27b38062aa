export { RookStorage, ROOK_NAMESPACE, DEFAULT_CEPH_RESOURCES, VELERO_SNAPSHOT_CLASS_LABEL } from './rook-storage';
export type { RookStorageProps, RookCephOperatorValues, CephResources, CephDaemonResources } from './rook-storage';
export { ROOK_CEPH_CHART, CEPH_CSI_DRIVERS_CHART, CEPH_IMAGE, CSI_SNAPSHOTTER } from './versions';
export type { CephCsiDriversValues, CephCsiDriverValues, CsiControllerPluginValues, DisabledCsiDriverValues } from './internal/csi-drivers';
export { storageOverhead } from './overhead';
export type { StorageOverheadOptions } from './overhead';
export { worstCaseStorageLoss } from './worst-case';
export type { FailureNode, FailurePromise, StorageLossCheck, StorageLossReport } from './worst-case';
export type { StoragePlan, ErasureCodedPlan } from './internal/plan';
