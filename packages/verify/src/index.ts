/**
 * @keelson/verify: the promises of a rendered platform, proven on the
 * desired state (what Argo CD would really apply, upstream charts rendered by
 * the real Helm), without a cluster.
 */
export { verifyChartsOut, verifyPlatform, formatReport, RECOVERY_BOUND_ANNOTATION } from './verify';
export type { VerifyReport, VerifyExpectations, VerifyInputs, PlatformPicture, CheckResult, Finding, ReportRow } from './verify';
export { renderHtmlReport } from './html';
