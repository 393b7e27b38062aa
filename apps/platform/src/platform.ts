import { App } from 'cdk8s';
import type { Construct } from 'constructs';
import { PlatformApps, type MediaServerImplementation } from '@keelson/apps-nextcloud-emby-site';
import { VeleroBackups } from '@keelson/backups-velero';
import { ArgoCdAppOfApps } from '@keelson/gitops-argocd';
import { Ingress } from '@keelson/ingress-lego';
import { PodNetwork } from '@keelson/network';
import { NodeMaintenance } from '@keelson/node-maintenance';
import type { LayerChart } from '@keelson/cluster-kit';
import { collectDeclarations, type BootstrapStep, type IngressLayer, type ObjectBucket, type PlatformDeclarations, type PlatformSpec, type PodNetworkLayer, type StorageLayer } from '@keelson/platform-spec';
import { RookStorage } from '@keelson/storage-rook';

/** What an app of your own gets: the apps layer's chart to build in, and the layers it may use. */
export interface AppContext {
  readonly spec: PlatformSpec;
  readonly ingress: IngressLayer;
  readonly storage: StorageLayer;
}

/**
 * An app of your own, in one file: build its objects in `chart` (add its
 * namespace with `chart.addNamespace`), publish it with `ingress.expose` and
 * declare its traffic with `chart.allowTraffic`.
 */
export type AppFactory = (chart: LayerChart, context: AppContext) => void;

/**
 * Builds one layer's chart: `(scope, id, props)` like a construct, so a
 * shipped layer's constructor fits in one arrow. The chart declares its
 * namespaces (`LayerChartProps.namespaces`), and its bootstrap steps,
 * deploy-time Secrets and health gates (`LayerDeclarations`).
 */
export type LayerFactory<Props, Layer> = (scope: Construct, id: string, props: Props) => LayerChart & Layer;

/**
 * The swappable layers, each typed by its platform-spec contract; a layer
 * left out is the shipped one. Swapping one is one line:
 * `layers: { storage: (scope, id, props) => new MyStorage(scope, id, props) }`.
 */
export interface PlatformLayers {
  /** @default - PodNetwork (Cilium or flannel, as the config's `layers.network` says) */
  readonly network?: LayerFactory<{ readonly spec: PlatformSpec }, PodNetworkLayer<LayerChart>>;
  /** @default - RookStorage (Rook/Ceph on the node provider's raw volumes) */
  readonly storage?: LayerFactory<{ readonly spec: PlatformSpec; readonly devicePathFilter: string }, StorageLayer>;
  /** @default - Ingress (Traefik or Gateway API, as `layers.ingress` says, with cert-manager) */
  readonly ingress?: LayerFactory<{ readonly spec: PlatformSpec }, IngressLayer>;
  /** The media server of the apps layer. @default - the config's `apps.media.server` (Emby or Jellyfin) */
  readonly mediaServer?: MediaServerImplementation;
}

/** The layers Keelson ships, as {@link PlatformLayers} picks them when none is given. */
export const SHIPPED_LAYERS = {
  network: (scope, id, props) => new PodNetwork(scope, id, props),
  storage: (scope, id, props) => new RookStorage(scope, id, props),
  ingress: (scope, id, props) => new Ingress(scope, id, props),
} as const satisfies PlatformLayers;

/** What the cloud side must know about the cluster side. */
export interface PlatformContext {
  /** The backups bucket the node provider creates (`NodeProvider.backupBucket`). */
  readonly backupBucket: ObjectBucket;
  /**
   * The by-id path filter of the raw volume the node provider attaches to
   * every node (`NodeProvider.volumeDevicePathFilter`): the storage layer's OSDs use only those.
   */
  readonly volumeDevicePathFilter: string;
  /**
   * Apps of your own, built in the apps layer after Nextcloud, the media server and the website.
   * @default - none
   */
  readonly apps?: readonly AppFactory[];
  /**
   * Layers of your own in place of the shipped ones, each one line.
   * @default - SHIPPED_LAYERS, and the config's media server
   */
  readonly layers?: PlatformLayers;
}

/** The composed platform: the cdk8s App and what the nodes and the cloud need from it. */
export interface ComposedPlatform {
  readonly app: App;
  /** What the first controller applies after `kubeadm init`: pod network, CoreDNS, Argo CD (the layers' declared steps, in layer order). */
  readonly bootstrap: readonly BootstrapStep[];
  /**
   * What every layer declared for the lifecycle, in layer order: the
   * bootstrap, the deploy-time Secrets and the upgrade's health gates.
   */
  readonly declarations: PlatformDeclarations;
  /** kubeadm addons the platform installs itself. */
  readonly replaceKubeadmAddons: readonly 'coredns'[];
  /** What the ingress load balancer forwards to. */
  readonly ingressTarget: IngressLayer['loadBalancerTarget'];
  /** The storage layer: its class names and its raw-space price (`overheadSummary`, synth prints it). */
  readonly storage: StorageLayer;
  /** The backups layer: its schedules and restore drill, for the synth summary. */
  readonly backups: VeleroBackups;
}

/**
 * Composes every layer of the platform into one cdk8s App, one line per
 * layer; layers talk only through platform-spec's interfaces (the ingress
 * layer's `expose()`, the storage layer's class names, the backup bucket),
 * and every connection they declare becomes a network policy at the end.
 */
export function composePlatform(spec: PlatformSpec, context: PlatformContext): ComposedPlatform {
  const app = new App();
  const chosen: PlatformLayers = context.layers ?? {};

  const network = (chosen.network ?? SHIPPED_LAYERS.network)(app, 'network', { spec });
  const maintenance = new NodeMaintenance(app, 'maintenance', { spec });
  const storage = (chosen.storage ?? SHIPPED_LAYERS.storage)(app, 'storage', { spec, devicePathFilter: context.volumeDevicePathFilter });
  const ingress = (chosen.ingress ?? SHIPPED_LAYERS.ingress)(app, 'ingress', { spec });
  const backups = new VeleroBackups(app, 'backups', { spec, target: context.backupBucket, storage });
  const apps = new PlatformApps(app, 'apps', { spec, ingress, storage, mediaServer: chosen.mediaServer });
  for (const extra of context.apps ?? []) extra(apps, { spec, ingress, storage });

  const layers = [network, maintenance, storage, ingress, backups, apps];
  const gitops = new ArgoCdAppOfApps(app, 'gitops', { spec, layers });
  // Last: every layer has declared its traffic.
  network.enforce([gitops, ...layers]);

  // What the layers declare for the lifecycle; Argo CD's bootstrap comes after the pod network's.
  const declarations = collectDeclarations([...layers, gitops]);
  return { app, bootstrap: declarations.bootstrap, declarations, replaceKubeadmAddons: network.replacesKubeadmAddons ?? [], ingressTarget: ingress.loadBalancerTarget, storage, backups };
}
