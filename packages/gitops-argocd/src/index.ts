export { ArgoCdAppOfApps, ARGOCD_NAMESPACE, IN_CLUSTER, SYNC_WAVE } from './app-of-apps';
export type { ArgoCdAppOfAppsProps, SyncRetry } from './app-of-apps';
