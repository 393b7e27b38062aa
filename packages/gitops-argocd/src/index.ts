export { ArgoCdAppOfApps, ARGOCD_NAMESPACE, IN_CLUSTER, SYNC_WAVE } from './app-of-apps';
export type { ArgoCdAppOfAppsProps, SyncRetry } from './app-of-apps';
export { Application, AppProject } from './imports/argoproj.io';
export type { ApplicationProps, ApplicationSpec, AppProjectProps, AppProjectSpec } from './imports/argoproj.io';
