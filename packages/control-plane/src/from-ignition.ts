import YAML from 'yaml';
import { decodeInlineContents, NODE_PATHS, type IgnitionV3_3 } from '@keelson/ignition';
import type { ComponentArg, LocalControlPlaneOptions } from './local-control-plane';

/** The parts of kubeadm's ClusterConfiguration a local control plane takes over. */
interface ClusterConfigurationArgs {
  readonly kind: 'ClusterConfiguration';
  readonly networking?: { readonly serviceSubnet?: string; readonly podSubnet?: string };
  readonly clusterName?: string;
  readonly apiServer?: { readonly extraArgs?: readonly ComponentArg[] };
  readonly controllerManager?: { readonly extraArgs?: readonly ComponentArg[] };
  readonly scheduler?: { readonly extraArgs?: readonly ComponentArg[] };
}

/**
 * The control plane a Keelson controller runs, read from its whole Ignition
 * config (`infra-out/ignition/<node>.ign`, public and secret parts): the
 * flags of its kubeadm ClusterConfiguration and the files they name
 * (encryption at rest, admission, audit, authentication), so a local plane
 * starts with exactly the controller's settings. The controller that
 * creates the cluster carries the ClusterConfiguration in its
 * `kubeadm-init.yaml`; every controller that joins (all of them in a render
 * after the first deploy) carries the same documents in
 * `kubeadm-cluster.yaml`, so a render where every node joins is rehearsed
 * with the same flags. On a real cluster a joining controller takes its
 * ClusterConfiguration from the kubeadm-config ConfigMap, not from that file.
 */
export function controlPlaneOptionsFromIgnition(config: IgnitionV3_3.Config): Pick<LocalControlPlaneOptions, 'apiServerExtraArgs' | 'controllerManagerExtraArgs' | 'schedulerExtraArgs' | 'nodeFiles' | 'serviceSubnet' | 'podSubnet' | 'clusterName'> {
  const files = new Map<string, string>();
  for (const file of config.storage?.files ?? []) {
    const bytes = file.contents ? decodeInlineContents(file.contents) : undefined;
    if (bytes) files.set(file.path, bytes.toString('utf8'));
  }
  const path = [NODE_PATHS.kubeadmInit, NODE_PATHS.kubeadmCluster].find((p) => files.has(p));
  if (path === undefined) throw new Error(`controlPlaneOptionsFromIgnition: the config has neither ${NODE_PATHS.kubeadmInit} nor ${NODE_PATHS.kubeadmCluster}; pass a controller's config (infra-out/ignition/keelson-controller-1.ign), not a worker's`);
  const cluster = YAML.parseAllDocuments(files.get(path) ?? '')
    .map((d) => d.toJS() as { kind?: string })
    .find((d): d is ClusterConfigurationArgs => d?.kind === 'ClusterConfiguration');
  if (!cluster) throw new Error(`controlPlaneOptionsFromIgnition: ${path} has no ClusterConfiguration`);
  const apiServerExtraArgs = cluster.apiServer?.extraArgs ?? [];
  // Every node file a flag names, or that lies in a folder a flag names.
  const named = [...apiServerExtraArgs, ...(cluster.controllerManager?.extraArgs ?? []), ...(cluster.scheduler?.extraArgs ?? [])].map((a) => a.value).filter((v) => v.startsWith('/etc/kubernetes/') && !v.startsWith(`${NODE_PATHS.pki}/`));
  const nodeFiles: Record<string, string> = {};
  for (const [path, contents] of files) {
    if (named.some((n) => path === n || path.startsWith(`${n.replace(/\/[^/]*$/, '')}/`))) nodeFiles[path] = contents;
  }
  return {
    apiServerExtraArgs,
    controllerManagerExtraArgs: cluster.controllerManager?.extraArgs ?? [],
    schedulerExtraArgs: cluster.scheduler?.extraArgs ?? [],
    nodeFiles,
    ...(cluster.networking?.serviceSubnet ? { serviceSubnet: cluster.networking.serviceSubnet } : {}),
    ...(cluster.networking?.podSubnet ? { podSubnet: cluster.networking.podSubnet } : {}),
    ...(cluster.clusterName ? { clusterName: cluster.clusterName } : {}),
  };
}
