import { Construct } from 'constructs';
import type { LayerChart } from './layer-chart';
import type { CrdInstaller } from './sync-order';
import { PINNED_VERSION, upstreamApplication, type ClusterResource } from './upstream-chart';

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
   * Namespaces the manifests create themselves (a Namespace among them),
   * for the AppProject's destinations.
   * @default - none
   */
  readonly createsNamespaces?: readonly string[];
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
  /**
   * Only the files of `path` matching this glob (a folder that holds more than the install).
   * @default - every manifest in `path`
   */
  readonly include?: string;
  /**
   * Whether Argo CD deletes what the release no longer holds; off for CRDs others' objects depend on.
   * @default true
   */
  readonly prune?: boolean;
  /**
   * Kustomize patches Argo CD applies to a kustomization source (strategic
   * merge or JSON 6902, each with its target), for what the upstream files
   * leave short of the fault budget (replicas, spread, tolerations).
   * @see https://argo-cd.readthedocs.io/en/stable/user-guide/kustomize/#patches
   * @default - none
   */
  readonly patches?: readonly { readonly target: { readonly kind: string; readonly name: string }; readonly patch: string }[];
}

/**
 * Installs pinned upstream manifests (a folder of a project's Git repository
 * at a release tag) through an Argo CD Application in the layer's folder, for
 * projects that publish no Helm chart (the CSI snapshot CRDs and controller).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/kustomize/
 */
export class UpstreamManifests extends Construct implements CrdInstaller {
  /** The Application's name (`<layer folder>-<id>`). */
  public readonly applicationName: string;
  /** The Application's sync wave inside the layer's folder (see `afterCrds` for the CRs of its CRDs). */
  public readonly syncWave: number;

  constructor(scope: LayerChart, id: string, props: UpstreamManifestsProps) {
    super(scope, id);
    this.syncWave = props.syncWave ?? 0;
    const what = `UpstreamManifests ${id}`;
    if (!PINNED_VERSION.test(props.version)) {
      throw new Error(`${what}: version "${props.version}" is not a release tag; pin one such as "v1.2.3"`);
    }
    if (!/^https:\/\/\S+$/.test(props.repoURL)) throw new Error(`${what}: repoURL "${props.repoURL}" is not an https Git URL`);
    this.applicationName = upstreamApplication(this, scope, what, id, props, {
      repoUrl: props.repoURL,
      targetRevision: props.version,
      path: props.path,
      ...(props.include ? { directory: { include: props.include } } : {}),
      ...(props.patches && props.patches.length > 0 ? { kustomize: { patches: props.patches.map((p) => ({ target: { ...p.target }, patch: p.patch })) } } : {}),
    });
  }
}
