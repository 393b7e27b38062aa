export { NodeMaintenance, KURED_CHART, KUBELET_CSR_APPROVER_CHART, APPROVER_FAILOVER_SECONDS } from './node-maintenance';
export type { NodeMaintenanceProps, KuredValues, KubeletCsrApproverValues } from './node-maintenance';
