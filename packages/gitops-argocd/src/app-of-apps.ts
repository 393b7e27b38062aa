import type { Construct } from 'constructs';
import { Application, AppProject, ARGOCD_NAMESPACE, IN_CLUSTER, LayerChart, SYNC_WAVE } from '@keelson/cluster-kit';
import type { PlatformSpec } from '@keelson/platform-spec';

export { ARGOCD_NAMESPACE, IN_CLUSTER, SYNC_WAVE };


/** Retries with backoff for every sync. */
export interface SyncRetry {
  /** @default 10 */
  readonly limit?: number;
  /** @default 10 */
  readonly firstDelaySeconds?: number;
  /** @default 300 */
  readonly maxDelaySeconds?: number;
}

/** Props for {@link ArgoCdAppOfApps}. */
export interface ArgoCdAppOfAppsProps {
  readonly spec: PlatformSpec;
  /**
   * The layer charts Argo CD syncs, one Application each. Construct this
   * chart after them: the AppProject allows exactly what they render.
   */
  readonly layers: readonly LayerChart[];
  /**
   * Name of the AppProject every Application belongs to.
   * @default 'keelson'
   */
  readonly project?: string;
  /**
   * Extra source repositories (pinned upstream Helm charts layers install).
   * @default - only the platform's own Git repository
   */
  readonly extraSourceRepos?: readonly string[];
  /** @default - 10 retries, 10 s doubling to 5 min */
  readonly retry?: SyncRetry;
}

/**
 * The gitops layer: Argo CD's namespace, an AppProject limited to the
 * platform's repository and namespaces, a root Application that syncs
 * `charts-out/argocd/` (itself included), and one Application per layer
 * folder, ordered by sync waves.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/cluster-bootstrapping/#app-of-apps-pattern
 */
export class ArgoCdAppOfApps extends LayerChart {
  /** Names of the Applications rendered, root first. */
  public readonly applicationNames: readonly string[];

  constructor(scope: Construct, id: string, props: ArgoCdAppOfAppsProps) {
    super(scope, id, { spec: props.spec, layer: 'gitops' });
    const { gitops } = props.spec.config;
    const project = props.project ?? 'keelson';

    const folders = new Set<string>();
    for (const l of props.layers) {
      if (l.layer.id === 'gitops') {
        throw new Error(`ArgoCdAppOfApps: layers must not include the gitops chart itself ("${l.node.id}"); the root Application syncs it`);
      }
      if (folders.has(l.layer.folder)) throw new Error(`ArgoCdAppOfApps: layer folder "${l.layer.folder}" is given twice`);
      folders.add(l.layer.folder);
    }

    const charts: LayerChart[] = [this, ...props.layers];
    const objects = charts.flatMap((c) => c.apiObjects);
    const namespaces = new Set<string>(charts.map((c) => destinationNamespace(c.layer)));
    for (const c of charts) c.layer.namespaces.forEach((n) => namespaces.add(n.name));
    for (const o of objects) if (o.metadata.namespace) namespaces.add(o.metadata.namespace);
    const clusterKinds = new Map<string, { group: string; kind: string }>();
    const upstream = charts.flatMap((c) => c.upstreamDeclarations);
    for (const u of upstream) {
      namespaces.add(u.namespace);
      for (const r of u.clusterResources) clusterKinds.set(`${r.group}/${r.kind}`, { group: r.group, kind: r.kind });
    }
    for (const o of objects) {
      if (o.metadata.namespace) continue;
      const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
      clusterKinds.set(`${group}/${o.kind}`, { group, kind: o.kind });
    }
    const byKey = <T extends { group: string; kind: string }>(a: T, b: T) => `${a.group}/${a.kind}`.localeCompare(`${b.group}/${b.kind}`);

    new AppProject(this, 'project', {
      metadata: { name: project, namespace: ARGOCD_NAMESPACE, annotations: { [SYNC_WAVE]: '-100' } },
      spec: {
        description: `Keelson platform ${props.spec.config.cluster.name}: only its repository and pinned upstream charts, its namespaces and the cluster-scoped kinds it renders or installs`,
        sourceRepos: [...new Set([gitops.repoURL, ...upstream.map((u) => u.repoURL), ...(props.extraSourceRepos ?? [])])],
        destinations: [...namespaces].sort().map((namespace) => ({ server: IN_CLUSTER, namespace })),
        clusterResourceWhitelist: [...clusterKinds.values()].sort(byKey),
        orphanedResources: { warn: true },
      },
    });

    const retry = {
      limit: props.retry?.limit ?? 10,
      backoff: {
        duration: `${props.retry?.firstDelaySeconds ?? 10}s`,
        factor: 2,
        maxDuration: `${props.retry?.maxDelaySeconds ?? 300}s`,
      },
    };
    // Argo CD matches an Application's destination namespace against the
    // AppProject's destinations even when every object names its own
    // namespace, so each Application targets its layer's first namespace.
    // @see https://github.com/argoproj/argo-cd/issues/11510
    const application = (id: string, name: string, layer: LayerChart['layer'], finalizer: boolean) =>
      new Application(this, id, {
        metadata: {
          name,
          namespace: ARGOCD_NAMESPACE,
          annotations: { [SYNC_WAVE]: String(layer.syncWave) },
          // Deleting a layer's Application deletes what it deployed; the root
          // keeps no finalizer so that removing it never cascades to everything.
          ...(finalizer ? { finalizers: ['resources-finalizer.argocd.argoproj.io'] } : {}),
        },
        spec: {
          project,
          source: { repoUrl: gitops.repoURL, targetRevision: gitops.revision, path: `${gitops.path}/${layer.folder}` },
          destination: { server: IN_CLUSTER, namespace: destinationNamespace(layer) },
          syncPolicy: {
            automated: { prune: true, selfHeal: true },
            // Namespaces are rendered with their Pod Security labels, never created bare by Argo CD.
            syncOptions: ['CreateNamespace=false', 'PruneLast=true', 'ServerSideApply=true'],
            retry,
          },
        },
      });

    const names = ['root'];
    application('root', 'root', this.layer, false);
    for (const l of [...props.layers].sort((a, b) => a.layer.syncWave - b.layer.syncWave || a.layer.folder.localeCompare(b.layer.folder))) {
      application(`app-${l.layer.folder}`, l.layer.folder, l.layer, true);
      names.push(l.layer.folder);
    }
    this.applicationNames = names;
  }
}

/** The namespace an Application targets: its layer's first, or kube-system for a layer that owns none (Cilium). */
function destinationNamespace(layer: LayerChart['layer']): string {
  return layer.namespaces[0]?.name ?? 'kube-system';
}
