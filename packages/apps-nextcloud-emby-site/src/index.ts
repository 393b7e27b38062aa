export { PlatformApps } from './platform-apps';
export type { PlatformAppsProps } from './platform-apps';
export {
  CloudNativePgOperator,
  CLOUDNATIVE_PG_CHART,
  CNPG_NAMESPACE,
  CNPG_OPERATOR_LABELS,
  CNPG_WEBHOOK_PORT,
  CNPG_STATUS_PORT,
  POSTGRES_PORT,
  KUBE_API_PORT,
} from './cloudnative-pg';
export type { CloudNativePgOperatorProps, CloudNativePgValues } from './cloudnative-pg';
export {
  Nextcloud,
  NEXTCLOUD_IMAGE,
  NEXTCLOUD_POSTGRES_IMAGE,
  NEXTCLOUD_NAMESPACE,
  NEXTCLOUD_DATABASE_CLUSTER,
  NEXTCLOUD_ADMIN_SECRET,
  NEXTCLOUD_DATABASE_SECRET,
  DATABASE_BACKUP_LABELS,
} from './nextcloud';
export type { NextcloudProps } from './nextcloud';
export {
  MediaServer,
  emby,
  jellyfin,
  mediaServerImplementation,
  MEDIA_NAMESPACE,
  MEDIA_LIBRARY_PATH,
  MEDIA_LIBRARY_CLAIM,
  MEDIA_RECOVERY_BOUND_SECONDS,
  NODE_MONITOR_GRACE_PERIOD_SECONDS,
  MEDIA_START_ALLOWANCE_SECONDS,
  MEDIA_TOLERATION_SECONDS,
} from './media-server';
export type { MediaServerProps, MediaServerImplementation } from './media-server';
export { Website, WEBSITE_NGINX_IMAGE, WEBSITE_GIT_IMAGE, WEBSITE_NAMESPACE, WEBSITE_NGINX_CONFIG } from './website';
export type { WebsiteProps, WebsiteSource } from './website';
