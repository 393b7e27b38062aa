/**
 * @keelson/verify: the promises of a rendered platform, proven on the
 * desired state (what Argo CD would really apply, upstream charts rendered by
 * the real Helm), without a cluster.
 */
export { verifyChartsOut, verifyPlatform, formatReport, RECOVERY_BOUND_ANNOTATION } from './verify';
export type { VerifyReport, VerifyExpectations, VerifyInputs, PlatformPicture, ApplicationSummary, CheckResult, Finding, ReportRow } from './verify';
export { checkValues, deadKeys, readChartModel, applicationValues } from './values';
export { checkSyncOrder, AppTree, SKIP_DRY_RUN_OPTION } from './sync-order';
export { checkProject } from './project';
export { checkStorage } from './storage';
export { renderHtmlReport } from './html';
export { readInfraOut, terraformServers } from './rendered';
export { FAULT_TOLERANCE_EXCEPTIONS, POD_SECURITY_EXCEPTIONS } from './exceptions';
export type { FaultToleranceException, PodSecurityException } from './exceptions';
export type { InfraOut } from './rendered';
export type { NodeInfo, KubeadmDocument } from './types';
export { checkBootFiles } from './boot-files';
export { checkNetworkPolicy, METADATA_ADDRESS } from './network-policy';
export { checkRbac } from './rbac';
export { checkIngress, MIN_HSTS_SECONDS } from './ingress';
export { checkArgoCd } from './argocd';
export { checkImages } from './images';
export { checkBackups } from './backups';
export { checkFirewall } from './firewall';
export { checkFaultBudget } from './fault-budget';
export { checkEncryptionDetails } from './encryption-details';
export { checkAdmission, judgeHostPaths } from './admission';
export { HOST_PATH_EXCEPTIONS, NETWORK_POLICY_EXCEPTIONS, RBAC_EXCEPTIONS, SYNC_POLICY_EXCEPTIONS } from './exceptions';
export type { HostPathException, NetworkPolicyException, RbacException, SyncPolicyException } from './exceptions';
