import { Construct } from 'constructs';
import { Application, type ApplicationSpecSource } from './generated/argoproj.io';
import type { LayerChart } from './layer-chart';
import { SYNC_WAVE, type CrdInstaller } from './sync-order';

/** Namespace Argo CD's Applications live in. */
export const ARGOCD_NAMESPACE = 'argocd';
/** In-cluster API server, as Argo CD names it. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';

/** A cluster-scoped kind an upstream chart creates (the AppProject must allow it). */
export interface ClusterResource {
  readonly group: string;
  readonly kind: string;
}

/** What a layer installs from upstream, for the AppProject's allow-lists. */
export interface UpstreamDeclaration {
  readonly repoURL: string;
  readonly namespace: string;
  /**
   * Namespaces the source creates itself (a Namespace among its objects), besides `namespace`.
   * @default - none
   */
  readonly createsNamespaces?: readonly string[];
  readonly clusterResources: readonly ClusterResource[];
}

/** Props for {@link UpstreamHelmChart}. */
export interface UpstreamHelmChartProps<Values extends object> {
  /** Helm repository URL. */
  readonly repoURL: string;
  readonly chart: string;
  /** Exact chart version: upstream software is always pinned. */
  readonly version: string;
  /** Namespace the release goes to (one the layer owns). */
  readonly namespace: string;
  /** Helm values, typed by the caller. */
  readonly values: Values;
  /** Cluster-scoped kinds the chart creates. */
  readonly clusterResources: readonly ClusterResource[];
  /**
   * Namespaces the chart creates itself with the values given (a Namespace
   * among its templates, such as Cilium's `cilium-secrets`). The AppProject
   * lets the Application deploy into them, and Namespace is added to the
   * cluster-scoped kinds it may create.
   * @default - none: the chart installs into `namespace` only
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
}

/** An exact release: `1.2.3`, or `v1.2.3` for charts and tags published with the prefix (Rook). */
export const PINNED_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/**
 * Installs a pinned upstream Helm chart through an Argo CD Application in the
 * layer's folder, with typed values, and declares on the layer what the
 * AppProject must allow (the chart's repository and cluster-scoped kinds).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/helm/
 */
export class UpstreamHelmChart<Values extends object> extends Construct implements CrdInstaller {
  /** The Application's name (`<layer folder>-<chart>`). */
  public readonly applicationName: string;
  /** The Application's sync wave inside the layer's folder (see `afterCrds` for the CRs of its CRDs). */
  public readonly syncWave: number;

  constructor(scope: LayerChart, id: string, props: UpstreamHelmChartProps<Values>) {
    super(scope, id);
    this.syncWave = props.syncWave ?? 0;
    if (!PINNED_VERSION.test(props.version)) {
      throw new Error(`UpstreamHelmChart ${props.chart}: version "${props.version}" is not an exact release; pin one such as "1.2.3"`);
    }
    this.applicationName = upstreamApplication(this, scope, `UpstreamHelmChart ${props.chart}`, props.chart, props, {
      repoUrl: props.repoURL,
      chart: props.chart,
      targetRevision: props.version,
      helm: { releaseName: props.chart, valuesObject: props.values },
    });
  }
}

/** What every upstream install says about where it goes. */
export interface UpstreamTarget {
  readonly repoURL: string;
  readonly namespace: string;
  readonly clusterResources: readonly ClusterResource[];
  /** @default - none */
  readonly createsNamespaces?: readonly string[];
  readonly syncWave?: number;
  readonly project?: string;
  /**
   * Whether Argo CD deletes what the source no longer holds. Off for CRDs
   * that others' objects depend on: deleting a CRD deletes every object of it.
   * @default true
   */
  readonly prune?: boolean;
}

/**
 * The Argo CD Application of an upstream source in the layer's folder
 * (`<layer folder>-<name>`), automated with prune and self-heal, and its
 * declaration for the AppProject. Checks the namespace is the layer's.
 */
export function upstreamApplication(construct: Construct, scope: LayerChart, what: string, name: string, target: UpstreamTarget, source: ApplicationSpecSource): string {
  if (!scope.namespaces.some((n) => n.name === target.namespace)) {
    throw new Error(
      `${what}: namespace "${target.namespace}" is not one of layer ${scope.layer.id}'s (${scope.namespaces.map((n) => n.name).join(', ') || 'none'}); add it to the layer plan in platform-spec`,
    );
  }
  const createsNamespaces = [...new Set(target.createsNamespaces ?? [])];
  for (const ns of createsNamespaces) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) {
      throw new Error(`${what}: createsNamespaces "${ns}" is not a namespace name; use lower-case letters, digits and '-', at most 63`);
    }
    const planned = scope.spec.layers.find((l) => l.namespaces.some((n) => n.name === ns));
    if (planned) {
      throw new Error(
        `${what}: createsNamespaces "${ns}" is also a namespace of layer ${planned.id}; two owners would fight over it: turn the chart's namespace off in its values, or drop it from the layer plan`,
      );
    }
  }
  const clusterResources = createsNamespaces.length > 0 && !target.clusterResources.some((r) => r.group === '' && r.kind === 'Namespace')
    ? [...target.clusterResources, { group: '', kind: 'Namespace' }]
    : target.clusterResources;
  const applicationName = `${scope.layer.folder}-${name}`;
  new Application(construct, 'application', {
    metadata: {
      name: applicationName,
      namespace: ARGOCD_NAMESPACE,
      annotations: { [SYNC_WAVE]: String(target.syncWave ?? 0) },
      finalizers: ['resources-finalizer.argocd.argoproj.io'],
    },
    spec: {
      project: target.project ?? 'keelson',
      source,
      destination: { server: IN_CLUSTER, namespace: target.namespace },
      syncPolicy: {
        automated: { prune: target.prune ?? true, selfHeal: true },
        syncOptions: ['CreateNamespace=false', 'ServerSideApply=true'],
        retry: { limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '300s' } },
      },
    },
  });
  scope.declareUpstream({ repoURL: target.repoURL, namespace: target.namespace, ...(createsNamespaces.length > 0 ? { createsNamespaces } : {}), clusterResources });
  return applicationName;
}
