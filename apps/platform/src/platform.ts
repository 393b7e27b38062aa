import { App } from 'cdk8s';
import { LayerChart } from '@keelson/cluster-kit';
import { ArgoCdAppOfApps } from '@keelson/gitops-argocd';
import { NodeMaintenance } from '@keelson/node-maintenance';
import type { PlatformSpec } from '@keelson/platform-spec';

/**
 * Composes every layer of the platform into one cdk8s App.
 *
 * One line per layer. Layers without their own package yet render only
 * their namespaces (with Pod Security labels) through {@link LayerChart};
 * each later issue replaces its line with the layer's construct.
 */
export function composePlatform(spec: PlatformSpec): App {
  const app = new App();
  const layer = (id: Parameters<typeof layerChart>[2]) => layerChart(app, spec, id);

  const network = layer('network');
  const maintenance = new NodeMaintenance(app, 'maintenance', { spec });
  const storage = layer('storage');
  const ingress = layer('ingress');
  const backups = layer('backups');
  const apps = layer('apps');

  new ArgoCdAppOfApps(app, 'gitops', { spec, layers: [network, maintenance, storage, ingress, backups, apps].filter((c): c is LayerChart => c !== undefined) });
  return app;
}

/** A layer's chart, or nothing when the layer renders no object yet (Argo CD would sync an empty folder). */
function layerChart(app: App, spec: PlatformSpec, id: 'network' | 'storage' | 'ingress' | 'backups' | 'apps'): LayerChart | undefined {
  const info = spec.layers.find((l) => l.id === id);
  return info && info.namespaces.some((n) => !n.preexisting) ? new LayerChart(app, id, { spec, layer: id }) : undefined;
}
