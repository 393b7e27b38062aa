import type { Construct } from 'constructs';
import { LayerChart } from '@keelson/cluster-kit';
import type { DeployTimeSecret, IngressLayer, LayerDeclarations, PlatformSpec, SecretRef, StorageLayer } from '@keelson/platform-spec';
import { CloudNativePgOperator } from './cloudnative-pg';
import { MediaServer, mediaServerImplementation, type MediaServerImplementation } from './media-server';
import { Nextcloud, NEXTCLOUD_ADMIN_SECRET } from './nextcloud';
import { Website } from './website';
import { publicHost } from './internal/workload';

/** Props for {@link PlatformApps}. */
export interface PlatformAppsProps {
  /** The checked platform spec; `spec.config.apps` switches the apps and sets their hosts. */
  readonly spec: PlatformSpec;
  /** Publishes each app over HTTPS and allows the controller to reach it. */
  readonly ingress: IngressLayer;
  /** StorageClass names: ReadWriteMany for shared files, block for PostgreSQL. */
  readonly storage: StorageLayer;
  /**
   * The media server implementation.
   * @default - the config's `apps.media.server` (`emby` unless set)
   */
  readonly mediaServer?: MediaServerImplementation;
}

/**
 * The apps layer: Nextcloud (with the CloudNativePG operator for its
 * database), a media server (Emby or Jellyfin) and a static website, each
 * switched on or off and given its host in the platform config, each still
 * serving after any k nodes die.
 */
export class PlatformApps extends LayerChart implements LayerDeclarations {
  public readonly nextcloud?: Nextcloud;
  public readonly cloudnativePg?: CloudNativePgOperator;
  public readonly media?: MediaServer;
  public readonly website?: Website;
  /** Secrets the deploy step must create (random values) before Argo CD syncs this layer. */
  public readonly requiredSecrets: readonly SecretRef[];

  constructor(scope: Construct, id: string, props: PlatformAppsProps) {
    super(scope, id, { spec: props.spec, layer: 'apps' });
    const { spec, ingress, storage } = props;
    const { apps } = spec.config;
    if (apps.nextcloud.enabled) {
      this.cloudnativePg = new CloudNativePgOperator(this, 'cloudnative-pg', { spec });
      this.nextcloud = new Nextcloud(this, 'nextcloud', {
        spec,
        ingress,
        storage,
        operator: this.cloudnativePg,
        host: publicHost(spec, apps.nextcloud.host),
        dataSizeGiB: apps.nextcloud.dataSizeGiB,
        databaseSizeGiB: apps.nextcloud.databaseSizeGiB,
      });
    }
    if (apps.media.enabled) {
      this.media = new MediaServer(this, 'media', {
        spec,
        ingress,
        storage,
        host: publicHost(spec, apps.media.host),
        implementation: props.mediaServer ?? mediaServerImplementation(apps.media.server),
        librarySizeGiB: apps.media.librarySizeGiB,
      });
    }
    if (apps.website.enabled) {
      this.website = new Website(this, 'website', { spec, ingress, host: publicHost(spec, apps.website.host), source: apps.website.source });
    }
    this.requiredSecrets = this.nextcloud ? [...this.nextcloud.requiredSecrets] : [];
  }

  /**
   * Nextcloud's first admin user (the keys its Deployment reads), when
   * Nextcloud is on: the password is made once and kept in the secrets
   * bundle folder.
   *
   * @see https://github.com/nextcloud/helm/blob/main/charts/nextcloud/values.yaml (nextcloud.existingSecret usernameKey/passwordKey)
   */
  public deployTimeSecrets(): readonly DeployTimeSecret[] {
    if (!this.nextcloud) return [];
    return [
      {
        namespace: NEXTCLOUD_ADMIN_SECRET.namespace,
        name: NEXTCLOUD_ADMIN_SECRET.name,
        keys: { username: { kind: 'literal', value: 'admin' }, password: { kind: 'generated', file: 'apps/nextcloud-admin-password' } },
        purpose: "Nextcloud's first admin user",
      },
    ];
  }
}
