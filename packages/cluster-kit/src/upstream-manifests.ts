import { Construct } from 'constructs';
import { Application } from './imports/argoproj.io';
import type { LayerChart } from './layer-chart';
import { ARGOCD_NAMESPACE, IN_CLUSTER, PINNED_VERSION, SYNC_WAVE, type ClusterResource } from './upstream-chart';

/** Props for {@link UpstreamManifests}. */
export interface UpstreamManifestsProps {
  /** Git repository of the upstream project (https). */
  readonly repoURL: string;
  /** Release tag: upstream software is always pinned (`v8.6.0`). */
  readonly version: string;
  /** Folder in the repository: plain YAML or a kustomization. */
  readonly path: string;
  /** Namespace for objects that name none (one the layer owns, or a preexisting one it plans). */
  readonly namespace: string;
  /** Cluster-scoped kinds the manifests create. */
  readonly clusterResources: readonly ClusterResource[];
  /**
   * Sync wave inside the layer's folder.
   * @default 0
   */
  readonly syncWave?: number;
  /**
   * Argo CD AppProject the Application belongs to.
   * @default 'keelson'
   */
  readonly project?: string;
}

/**
 * Installs pinned upstream manifests (a folder of a project's Git repository
 * at a release tag) through an Argo CD Application in the layer's folder, for
 * projects that publish no Helm chart (the CSI snapshot CRDs and controller).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/kustomize/
 */
export class UpstreamManifests extends Construct {
  /** The Application's name (`<layer folder>-<id>`). */
  public readonly applicationName: string;

  constructor(scope: LayerChart, id: string, props: UpstreamManifestsProps) {
    super(scope, id);
    const what = `UpstreamManifests ${id}`;
    if (!PINNED_VERSION.test(props.version)) {
      throw new Error(`${what}: version "${props.version}" is not a release tag; pin one such as "v1.2.3"`);
    }
    if (!/^https:\/\/\S+$/.test(props.repoURL)) throw new Error(`${what}: repoURL "${props.repoURL}" is not an https Git URL`);
    if (!scope.layer.namespaces.some((n) => n.name === props.namespace)) {
      throw new Error(
        `${what}: namespace "${props.namespace}" is not one of layer ${scope.layer.id}'s (${scope.layer.namespaces.map((n) => n.name).join(', ') || 'none'}); add it to the layer plan in platform-spec`,
      );
    }
    this.applicationName = `${scope.layer.folder}-${id}`;
    new Application(this, 'application', {
      metadata: {
        name: this.applicationName,
        namespace: ARGOCD_NAMESPACE,
        annotations: { [SYNC_WAVE]: String(props.syncWave ?? 0) },
        finalizers: ['resources-finalizer.argocd.argoproj.io'],
      },
      spec: {
        project: props.project ?? 'keelson',
        source: { repoUrl: props.repoURL, targetRevision: props.version, path: props.path },
        destination: { server: IN_CLUSTER, namespace: props.namespace },
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions: ['CreateNamespace=false', 'ServerSideApply=true'],
          retry: { limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '300s' } },
        },
      },
    });
    scope.declareUpstream({ repoURL: props.repoURL, namespace: props.namespace, clusterResources: props.clusterResources });
  }
}
