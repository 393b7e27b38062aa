export { ArgoCdAppOfApps, ARGOCD_NAMESPACE, ARGOCD_RELEASE, IN_CLUSTER, SYNC_WAVE } from './app-of-apps';
export type { ArgoCdAppOfAppsProps, ArgoCdBootstrapStep, SyncRetry } from './app-of-apps';
