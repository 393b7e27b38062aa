import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import YAML from 'yaml';
import { Application, AppProject, ARGOCD_NAMESPACE, IN_CLUSTER, LayerChart, leaveLostNodeAfter, namespaceManifest, onePodAtATime, requiredAntiAffinity, SYNC_WAVE, yamlDocuments } from '@keelson/cluster-kit';
import { endpoints, RECOVERY, type BootstrapStep, type HealthGate, type LayerDeclarations, type PlatformSpec } from '@keelson/platform-spec';

export { ARGOCD_NAMESPACE, IN_CLUSTER, SYNC_WAVE };


/**
 * Argo CD itself, pinned: the release whose CRDs are in shared/schemas and
 * whose bindings cluster-kit generates. Installed at bootstrap from the
 * release's HA manifest, then managed by its own Application from the same
 * tag (the same objects, so adoption changes nothing).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/installation/#high-availability
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#manage-argo-cd-using-argo-cd
 */
export const ARGOCD_RELEASE = {
  repoURL: 'https://github.com/argoproj/argo-cd.git',
  version: 'v3.5.1',
  /** Kustomize base of the HA install (CRDs, cluster RBAC, every component). */
  path: 'manifests/ha/cluster-install',
  /** The same install, rendered, for the first controller to apply: its file in the tag. */
  installPath: 'manifests/ha/install.yaml',
  /** Where upstream serves that file (named in logs and errors; no node downloads it). */
  installUrl: 'https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml',
  /**
   * SHA-256 of that file (`sha256sum install.yaml`; @keelson/upstream's
   * sources.lock.json holds the same): synth refuses any other file, and the
   * node checks it again before it applies it.
   */
  installSha256: '1d7b6baa0769ff8a5757c61e2c677ae0939a15e86e149f64df6b12435db5c4b2',
} as const;

/** A step of the first controller's bootstrap (platform-spec's BootstrapStep). */
export type ArgoCdBootstrapStep = BootstrapStep;

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
export class ArgoCdAppOfApps extends LayerChart implements LayerDeclarations {
  /** Between nodes of an upgrade: every layer's Application synced and healthy again. */
  public readonly healthGates: readonly HealthGate[] = [
    { name: 'every Application Synced and Healthy', check: { kind: 'applications', namespace: ARGOCD_NAMESPACE }, fix: `see "kubectl -n ${ARGOCD_NAMESPACE} get applications"` },
  ];
  /** Names of the layer Applications rendered, root first. */
  public readonly applicationNames: readonly string[];
  /** The Application through which Argo CD manages itself. */
  public readonly selfManaged: Application;
  private readonly projectName: string;

  constructor(scope: Construct, id: string, props: ArgoCdAppOfAppsProps) {
    super(scope, id, { spec: props.spec, layer: 'gitops' });
    const { gitops } = props.spec.config;
    const project = props.project ?? 'keelson';
    this.projectName = project;

    const folders = new Set<string>();
    for (const l of props.layers) {
      if (l.layer.id === 'gitops') {
        throw new Error(`ArgoCdAppOfApps: layers must not include the gitops chart itself ("${l.node.id}"); the root Application syncs it`);
      }
      if (folders.has(l.layer.folder)) throw new Error(`ArgoCdAppOfApps: layer folder "${l.layer.folder}" is given twice`);
      folders.add(l.layer.folder);
    }

    const charts: LayerChart[] = [this, ...props.layers];
    // Every object, including those of components nested in a layer (a Chart's apiObjects are its direct children only).
    const objects = charts.flatMap((c) => c.node.findAll().filter((o): o is ApiObject => o instanceof ApiObject));
    const namespaces = new Set<string>(charts.map((c) => destinationNamespace(c.layer)));
    for (const c of charts) c.namespaces.forEach((n) => namespaces.add(n.name));
    for (const o of objects) if (o.metadata.namespace) namespaces.add(o.metadata.namespace);
    const clusterKinds = new Map<string, { group: string; kind: string }>();
    const upstream = charts.flatMap((c) => c.upstreamDeclarations);
    for (const u of upstream) {
      namespaces.add(u.namespace);
      // Namespaces a chart creates itself (Cilium's cilium-secrets): the
      // Application deploys objects into them, which the project must allow.
      for (const n of u.createsNamespaces ?? []) namespaces.add(n);
      for (const r of u.clusterResources) clusterKinds.set(`${r.group}/${r.kind}`, { group: r.group, kind: r.kind });
    }
    // What Argo CD's own install creates cluster-wide.
    for (const kind of ARGOCD_CLUSTER_KINDS) clusterKinds.set(`${kind.group}/${kind.kind}`, kind);
    for (const o of objects) {
      if (o.metadata.namespace) continue;
      const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
      clusterKinds.set(`${group}/${o.kind}`, { group, kind: o.kind });
    }
    const byKey = <T extends { group: string; kind: string }>(a: T, b: T) => byCodeUnit(`${a.group}/${a.kind}`, `${b.group}/${b.kind}`);

    new AppProject(this, 'project', {
      metadata: { name: project, namespace: ARGOCD_NAMESPACE, annotations: { [SYNC_WAVE]: '-100' } },
      spec: {
        description: `Keelson platform ${props.spec.config.cluster.name}: only its repository and pinned upstream charts, its namespaces and the cluster-scoped kinds it renders or installs`,
        sourceRepos: [...new Set([gitops.repoURL, ARGOCD_RELEASE.repoURL, ...upstream.map((u) => u.repoURL), ...(props.extraSourceRepos ?? [])])],
        destinations: [...namespaces].sort().map((namespace) => ({ server: IN_CLUSTER, namespace })),
        clusterResourceWhitelist: [...clusterKinds.values()].sort(byKey),
        orphanedResources: { warn: true },
      },
    });

    // Argo CD manages itself from the pinned release. The patch makes an
    // Application's health count (off by default since Argo CD 1.8), so the
    // root Application waits for each layer's wave to be healthy.
    // @see https://argo-cd.readthedocs.io/en/stable/operator-manual/health/#argocd-app
    this.selfManaged = new Application(this, 'argocd', {
      metadata: { name: 'argocd', namespace: ARGOCD_NAMESPACE, annotations: { [SYNC_WAVE]: '-50' } },
      spec: {
        project,
        source: {
          repoUrl: ARGOCD_RELEASE.repoURL,
          targetRevision: ARGOCD_RELEASE.version,
          path: ARGOCD_RELEASE.path,
          kustomize: {
            namespace: ARGOCD_NAMESPACE,
            patches: [{ target: { kind: 'ConfigMap', name: 'argocd-cm' }, patch: YAML.stringify(APPLICATION_HEALTH_PATCH, { blockQuote: 'literal' }) }, ...faultBudgetPatches(props.spec)],
          },
        },
        destination: { server: IN_CLUSTER, namespace: ARGOCD_NAMESPACE },
        // No prune: Argo CD never deletes its own parts mid-sync; no finalizer for the same reason.
        syncPolicy: { automated: { prune: false, selfHeal: true }, syncOptions: ['CreateNamespace=false', 'ServerSideApply=true'] },
      },
    });
    // The HA install renders no PodDisruptionBudget: a drain takes one replica of each at a time.
    for (const { pdb, labels } of ARGOCD_REPLICATED) onePodAtATime(this, `pdb-${pdb}`, { namespace: ARGOCD_NAMESPACE, name: pdb, matchLabels: labels });
    // What Argo CD's own pods need (every other connection in its namespace is denied).
    const argocd = endpoints.pods(ARGOCD_NAMESPACE);
    this.allowTraffic({ from: argocd, to: argocd, reason: 'Argo CD components talk to each other (repo server, Redis, controller, server)' });
    this.allowTraffic({ from: argocd, to: endpoints.kubeApiServer, ports: [{ port: 6443 }], reason: 'Argo CD reads and applies cluster state' });
    this.allowTraffic({ from: argocd, to: endpoints.internet, ports: [{ port: 443 }], reason: 'Argo CD fetches the Git repository and pinned Helm charts' });

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
    for (const l of [...props.layers].sort((a, b) => a.layer.syncWave - b.layer.syncWave || byCodeUnit(a.layer.folder, b.layer.folder))) {
      application(`app-${l.layer.folder}`, l.layer.folder, l.layer, true);
      names.push(l.layer.folder);
    }
    this.applicationNames = names;
  }

  /**
   * What the first controller applies after `kubeadm init` so that Argo CD
   * runs and takes over: its namespace (with Pod Security labels), the pinned
   * install, then the AppProject and the root Application as rendered here.
   * From then on everything, Argo CD included, comes from Git.
   */
  public bootstrapSteps(): ArgoCdBootstrapStep[] {
    const ns = this.layer.namespaces.find((n) => n.name === ARGOCD_NAMESPACE);
    if (!ns) throw new Error(`ArgoCdAppOfApps: the gitops layer plans no "${ARGOCD_NAMESPACE}" namespace; add it to the layer plan in platform-spec`);
    const rendered = this.toJson() as Array<{ kind: string; metadata: { name: string } }>;
    const pick = (kind: string, name: string) => {
      const o = rendered.find((x) => x.kind === kind && x.metadata.name === name);
      if (!o) throw new Error(`ArgoCdAppOfApps: no ${kind} ${name} rendered`);
      return o;
    };
    return [
      { name: 'argocd-namespace', manifests: yamlDocuments([namespaceManifest(ns, this.spec.config.versions.kubernetes)]) },
      // Carried into the node config by synth from the pinned tag, checked by its digest there and on the node.
      {
        name: 'argocd-install',
        url: ARGOCD_RELEASE.installUrl,
        namespace: ARGOCD_NAMESPACE,
        sha256: ARGOCD_RELEASE.installSha256,
        gitSource: { repoURL: ARGOCD_RELEASE.repoURL, revision: ARGOCD_RELEASE.version, path: ARGOCD_RELEASE.installPath },
      },
      { name: 'argocd-root', manifests: yamlDocuments([pick('AppProject', this.projectName), pick('Application', 'argocd'), pick('Application', 'root')]) },
    ];
  }
}

/** Cluster-scoped kinds the Argo CD HA install creates. */
const ARGOCD_CLUSTER_KINDS = [
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
] as const;

/** A replicated component of the HA install: its workload, pod labels and PodDisruptionBudget. */
interface ArgoCdReplicated {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** metadata.name of its PodDisruptionBudget (part of the contract: stable). */
  readonly pdb: string;
  /**
   * Whether Keelson sets its replicas to the fault budget's stateless
   * replicas. Redis HA keeps upstream's three: its HAProxy and Sentinel
   * configuration name exactly three servers, and a Sentinel quorum of 2 of 3
   * survives the loss of one node or one zone.
   */
  readonly scale: boolean;
}

/** Argo CD's replicated components in the HA install. */
const ARGOCD_REPLICATED: readonly ArgoCdReplicated[] = [
  { kind: 'Deployment', name: 'argocd-server', labels: { 'app.kubernetes.io/name': 'argocd-server' }, pdb: 'argocd-server', scale: true },
  { kind: 'Deployment', name: 'argocd-repo-server', labels: { 'app.kubernetes.io/name': 'argocd-repo-server' }, pdb: 'argocd-repo-server', scale: true },
  { kind: 'Deployment', name: 'argocd-redis-ha-haproxy', labels: { 'app.kubernetes.io/name': 'argocd-redis-ha-haproxy' }, pdb: 'argocd-redis-ha-haproxy', scale: true },
  { kind: 'StatefulSet', name: 'argocd-redis-ha-server', labels: { 'app.kubernetes.io/name': 'argocd-redis-ha' }, pdb: 'argocd-redis-ha', scale: false },
];

/** Argo CD's single-replica components leave a lost node after this many seconds instead of the default 300 s (the platform's recovery bound). */
export const ARGOCD_FAILOVER_SECONDS = RECOVERY.failoverTolerationSeconds;

/**
 * What the HA install leaves short of the fault budget, patched in.
 *
 * Every replicated component (API server, repo server, Redis HAProxy, Redis
 * servers) gets a required anti-affinity on the budget's topology key in
 * place of upstream's hostname-only one: one replica per node under
 * `any-third` (what upstream already asks), one per zone under
 * `failure-domains`, where replicas spread over nodes could all share the
 * zone that fails. Upstream's preferred terms stay. The Deployments run the
 * budget's stateless replicas (k+1, or 2 in distinct zones, leaving a zone
 * free for a rolling update's surge pod); Redis keeps its three servers (see
 * {@link ArgoCdReplicated.scale}), which need at least three zones (the
 * config schema's minimum). The singletons (the application controller, the
 * ApplicationSet controller, Dex, notifications) leave an unreachable or
 * not-ready node after {@link ARGOCD_FAILOVER_SECONDS}. While they move,
 * the platform keeps running; only syncs wait.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/high_availability/
 */
function faultBudgetPatches(spec: PlatformSpec): { target: { kind: string; name: string }; patch: string }[] {
  const spread = ({ kind, name, labels, scale }: ArgoCdReplicated) => {
    const { requiredDuringSchedulingIgnoredDuringExecution: required } = requiredAntiAffinity(spec.budget, labels).podAntiAffinity;
    const ops: unknown[] = [
      ...(scale ? [{ op: 'replace', path: '/spec/replicas', value: spec.budget.statelessReplicas }] : []),
      { op: 'add', path: '/spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution', value: required },
    ];
    return { target: { kind, name }, patch: JSON.stringify(ops) };
  };
  const failover = (kind: string, name: string) => ({ target: { kind, name }, patch: JSON.stringify([{ op: 'add', path: '/spec/template/spec/tolerations', value: leaveLostNodeAfter(ARGOCD_FAILOVER_SECONDS) }]) });
  return [
    ...ARGOCD_REPLICATED.map(spread),
    failover('StatefulSet', 'argocd-application-controller'),
    failover('Deployment', 'argocd-applicationset-controller'),
    failover('Deployment', 'argocd-dex-server'),
    failover('Deployment', 'argocd-notifications-controller'),
  ];
}

/** argocd-cm patch: an Application is healthy when its resources are (lets sync waves wait on layers). */
const APPLICATION_HEALTH_PATCH = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'argocd-cm' },
  data: {
    'resource.customizations.health.argoproj.io_Application': [
      'hs = {}',
      'hs.status = "Progressing"',
      'hs.message = ""',
      'if obj.status ~= nil and obj.status.health ~= nil then',
      '  hs.status = obj.status.health.status',
      '  if obj.status.health.message ~= nil then hs.message = obj.status.health.message end',
      'end',
      'return hs',
      '',
    ].join('\n'),
  },
};

/** The namespace an Application targets: its layer's first, or kube-system for a layer that owns none (Cilium). */
function destinationNamespace(layer: LayerChart['layer']): string {
  return layer.namespaces[0]?.name ?? 'kube-system';
}

/** Orders by UTF-16 code unit, the same on every machine, without loading ICU's collation data (localeCompare). */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
