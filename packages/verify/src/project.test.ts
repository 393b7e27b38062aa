import { type DesiredObject, type DesiredState, type K8sObject, type RenderedApplication } from '@keelson/upstream';
import { checkProject, IN_CLUSTER } from './project';

jest.setTimeout(300_000);

const REPO = 'https://github.com/keelson-dev/keelson.git';
const messages = (state: DesiredState) => checkProject(state).findings.map((f) => f.message);

interface AppOptions {
  readonly project?: string;
  readonly repoURL?: string;
  readonly sources?: readonly string[];
  readonly namespace?: string;
  readonly server?: string;
  readonly clusterName?: string;
  readonly type?: RenderedApplication['type'];
  readonly syncOptions?: readonly string[];
  readonly parent?: string;
}

/** An Application as the renderer reports it, with the manifest Argo CD reads. */
function app(name: string, options: AppOptions = {}): RenderedApplication {
  const project = options.project ?? 'keelson';
  const repoURL = options.repoURL ?? REPO;
  const destination = { ...(options.clusterName ? { name: options.clusterName } : { server: options.server ?? IN_CLUSTER.server }), namespace: options.namespace ?? 'argocd' };
  const source = options.sources ? { sources: options.sources.map((r) => ({ repoURL: r, path: '.' })) } : { source: { repoURL, path: `charts-out/${name}` } };
  return {
    name,
    ...(options.parent ? { parent: options.parent } : {}),
    wave: 0,
    manifest: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: 'argocd' }, spec: { project, destination, ...source } },
    file: `charts-out/argocd/application-${name}.yaml`,
    project,
    destinationNamespace: destination.namespace,
    type: options.type ?? 'directory',
    repoURL,
    chartOrPath: name,
    revision: 'main',
    syncOptions: options.syncOptions ?? [],
    objectCount: 0,
  };
}

/** An object of `application`, placed the way the renderer places it (`namespace` for namespaced kinds). */
const object = (application: string, o: K8sObject, namespace?: string): DesiredObject => ({
  object: o,
  application,
  wave: 0,
  ...(namespace ? { namespace } : {}),
  source: `charts-out/${application}/${String(o.kind).toLowerCase()}-${o.metadata?.name}.yaml`,
});

const appProject = (spec: Record<string, unknown>, name = 'keelson'): K8sObject => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name, namespace: 'argocd' }, spec });
const namespace = (name: string): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const role = (name: string, ns: string): K8sObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns } });
const configMap = (name: string, ns?: string): K8sObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(ns ? { namespace: ns } : {}) } });
const storageClass = (name: string): K8sObject => ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner: 'x.csi.example.com' });
const crd = (group: string, kind: string, plural: string, scope: 'Cluster' | 'Namespaced'): K8sObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: { group, names: { kind, plural }, scope, versions: [{ name: 'v1', served: true }] },
});

const BASE_SPEC = {
  sourceRepos: [REPO, 'https://helm.cilium.io'],
  destinations: ['argocd', 'kube-system', 'cilium-secrets'].map((ns) => ({ server: IN_CLUSTER.server, namespace: ns })),
  clusterResourceWhitelist: [
    { group: '', kind: 'Namespace' },
    { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  ],
};

/**
 * A small platform shaped like Keelson's: a root Application holding the
 * AppProject, a network layer, and the Cilium chart creating cilium-secrets
 * and putting a Role there. `change` edits the project spec or the objects.
 */
function platform(options: { spec?: Record<string, unknown>; apps?: RenderedApplication[]; objects?: DesiredObject[] } = {}): DesiredState {
  const applications = options.apps ?? [app('root'), app('network', { parent: 'root', namespace: 'kube-system' }), app('network-cilium', { parent: 'network', namespace: 'kube-system', type: 'helm', repoURL: 'https://helm.cilium.io' })];
  return {
    applications,
    objects: [
      object('root', appProject(options.spec ?? BASE_SPEC), 'argocd'),
      object('root', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'network', namespace: 'argocd' } }, 'argocd'),
      object('network', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'network-cilium', namespace: 'argocd' } }, 'argocd'),
      object('network-cilium', namespace('cilium-secrets')),
      object('network-cilium', role('cilium-tlsinterception-secrets', 'cilium-secrets'), 'cilium-secrets'),
      object('network-cilium', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cilium' } }),
      object('network-cilium', configMap('cilium-config'), 'kube-system'),
      ...(options.objects ?? []),
    ],
  };
}

describe('checkProject on hand-made desired states', () => {
  it('passes a platform whose AppProject permits every source, destination, namespace and kind, and counts what it checked', () => {
    const result = checkProject(platform());
    expect(result.findings).toEqual([]);
    expect(result).toMatchObject({ check: 'project', ok: true, summary: expect.stringMatching(/^3 Applications and 7 objects checked against 1 AppProject/) });
  });

  it('refuses an Application whose AppProject is not in the desired state, naming the project and the fix', () => {
    const state = platform({ apps: [app('root'), app('network', { parent: 'root', namespace: 'kube-system', project: 'platform' })] });
    expect(checkProject(state).findings).toContainEqual({
      file: 'charts-out/argocd/application-network.yaml',
      application: 'network',
      message: expect.stringMatching(/^Application network belongs to AppProject platform, which is not in the desired state: Argo CD refuses it \("Application referencing project platform which does not exist"\).*; add AppProject platform to the app of apps/),
    });
  });

  it("takes a missing `default` project as the one Argo CD creates, which permits everything", () => {
    const state = platform({ apps: [app('root'), app('anything', { project: 'default', namespace: 'wherever', repoURL: 'https://example.com/any.git' })], objects: [object('anything', storageClass('fast'))] });
    expect(messages(state)).toEqual([]);
  });

  describe('sourceRepos', () => {
    it("refuses a source outside the project's sourceRepos, naming the repository and the fix", () => {
      const state = platform({ apps: [app('root'), app('velero', { type: 'helm', repoURL: 'https://vmware-tanzu.github.io/helm-charts' })] });
      expect(messages(state)).toEqual([expect.stringMatching(/^Application velero: source https:\/\/vmware-tanzu\.github\.io\/helm-charts is not among AppProject keelson's sourceRepos: .*; add https:\/\/vmware-tanzu\.github\.io\/helm-charts to the project's sourceRepos$/)]);
    });

    it('matches as Argo CD does: case and .git ignored, * within one path segment, every one of spec.sources', () => {
      const spec = { ...BASE_SPEC, sourceRepos: ['HTTPS://GitHub.com/keelson-dev/keelson', 'https://github.com/argoproj/*'] };
      expect(messages(platform({ spec, apps: [app('root'), app('a', { repoURL: 'https://github.com/argoproj/argo-cd.git' })] }))).toEqual([]);
      expect(messages(platform({ spec, apps: [app('root'), app('b', { repoURL: 'https://github.com/argoproj/argo-cd/sub/dir' })] }))).toEqual([expect.stringContaining('source https://github.com/argoproj/argo-cd/sub/dir is not among')]);
      expect(messages(platform({ spec, apps: [app('root'), app('c', { sources: [REPO, 'https://charts.example.com'] })] }))).toEqual([expect.stringContaining('source https://charts.example.com is not among')]);
    });

    it('lets a !pattern the source does not match deny it, whatever else matches', () => {
      const spec = { ...BASE_SPEC, sourceRepos: ['*', '!https://github.com/evil/*'] };
      expect(messages(platform({ spec, apps: [app('root'), app('ok', { repoURL: 'https://github.com/good/repo' })] }))).toEqual([]);
      expect(messages(platform({ spec, apps: [app('root'), app('bad', { repoURL: 'https://github.com/evil/repo' })] }))).toEqual([expect.stringContaining('Application bad: source https://github.com/evil/repo is not among')]);
    });
  });

  describe('destinations', () => {
    it("refuses an Application sent to a namespace outside the project's destinations, naming both and the fix", () => {
      const state = platform({ apps: [app('root'), app('velero', { namespace: 'velero' })] });
      expect(messages(state)).toEqual([
        expect.stringMatching(/^Application velero: destination server https:\/\/kubernetes\.default\.svc namespace velero is not among AppProject keelson's destinations: Argo CD refuses it .*; add namespace velero \(server https:\/\/kubernetes\.default\.svc\) to AppProject keelson's destinations \(charts-out\/root\/appproject-keelson\.yaml\)/),
      ]);
    });

    it('matches namespaces and servers by glob, accepts the in-cluster name, and lets a !namespace deny', () => {
      const spec = { ...BASE_SPEC, destinations: [{ name: 'in-cluster', namespace: 'team-*' }, { server: '*', namespace: '!kube-*' }, { server: IN_CLUSTER.server, namespace: 'argocd' }] };
      const apps = (extra: RenderedApplication) => [app('root'), extra];
      expect(messages(platform({ spec, apps: apps(app('a', { namespace: 'team-blue', clusterName: 'in-cluster' })) }))).toEqual([]);
      expect(messages(platform({ spec, apps: apps(app('b', { namespace: 'anything' })) }))).toEqual([]);
      expect(messages(platform({ spec, apps: apps(app('c', { namespace: 'kube-system' })) }))).toEqual([expect.stringContaining('Application c: destination server https://kubernetes.default.svc namespace kube-system is not among')]);
    });

    it('reads gobwas globs as Argo CD does: {a,b} alternatives, [classes] and [!negated] ones, \\ escapes', () => {
      const spec = { ...BASE_SPEC, destinations: [{ server: IN_CLUSTER.server, namespace: '{argocd,velero}' }, { server: IN_CLUSTER.server, namespace: 'app-[0-9]' }, { server: IN_CLUSTER.server, namespace: 'db-[!a-z]' }, { server: IN_CLUSTER.server, namespace: 'odd\\*' }] };
      const to = (ns: string) => messages(platform({ spec, apps: [app('root'), app('x', { namespace: ns })] }));
      for (const ns of ['velero', 'app-7', 'db-1', 'odd*']) expect(to(ns)).toEqual([]);
      for (const ns of ['kured', 'app-77', 'db-a', 'oddity']) expect(to(ns)).toEqual([expect.stringContaining(`Application x: destination server https://kubernetes.default.svc namespace ${ns} is not among`)]);
    });

    it('refuses a destination cluster Argo CD does not know, unless a cluster Secret of the desired state declares it', () => {
      const remote = 'https://10.0.0.1:6443';
      const spec = { ...BASE_SPEC, destinations: [...BASE_SPEC.destinations, { server: remote, namespace: 'edge' }] };
      const apps = [app('root'), app('edge', { server: remote, namespace: 'edge' })];
      expect(messages(platform({ spec, apps }))).toEqual([expect.stringMatching(/^Application edge: its destination server https:\/\/10\.0\.0\.1:6443 is no cluster Argo CD knows .*; send it to server https:\/\/kubernetes\.default\.svc .*, or declare the cluster's Secret$/)]);
      const secret = object('root', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'edge', namespace: 'argocd', labels: { 'argocd.argoproj.io/secret-type': 'cluster' } }, stringData: { name: 'edge', server: remote } }, 'argocd');
      expect(messages(platform({ spec, apps, objects: [secret] }))).toEqual([]);
    });
  });

  describe('kinds', () => {
    it("refuses a cluster-scoped kind missing from clusterResourceWhitelist, naming the object and the list to add it to", () => {
      const state = platform({ objects: [object('network-cilium', storageClass('fast'))] });
      expect(checkProject(state).findings).toEqual([
        {
          file: 'charts-out/network-cilium/storageclass-fast.yaml',
          application: 'network-cilium',
          message: expect.stringMatching(/^StorageClass fast \(Application network-cilium\): AppProject keelson does not permit the cluster-scoped kind storage\.k8s\.io\/StorageClass: the sync fails \("resource storage\.k8s\.io:StorageClass is not permitted in project keelson"\); add \{group: 'storage\.k8s\.io', kind: StorageClass\} to AppProject keelson's clusterResourceWhitelist; declare it in the chart's clusterResources/),
        },
      ]);
    });

    it('matches clusterResourceWhitelist by glob and by name, and lets clusterResourceBlacklist win', () => {
      const withList = (extra: Record<string, unknown>) => platform({ spec: { ...BASE_SPEC, ...extra }, objects: [object('network-cilium', storageClass('fast'))] });
      expect(messages(withList({ clusterResourceWhitelist: [{ group: '*', kind: '*' }] }))).toEqual([]);
      expect(messages(withList({ clusterResourceWhitelist: [{ group: '*', kind: '*', name: 'cilium*' }] }))).toContainEqual(expect.stringContaining('StorageClass fast (Application network-cilium): AppProject keelson does not permit'));
      expect(messages(withList({ clusterResourceWhitelist: [{ group: '*', kind: '*' }], clusterResourceBlacklist: [{ group: 'storage.k8s.io', kind: 'Storage*' }] }))).toEqual([
        expect.stringMatching(/StorageClass fast .*; remove the entry matching \{group: 'storage\.k8s\.io', kind: StorageClass\} from AppProject keelson's clusterResourceBlacklist$/),
      ]);
    });

    it('takes the kinds of CRDs with scope: Cluster as cluster-scoped and those of namespaced CRDs as namespaced', () => {
      const objects = [
        object('network-cilium', crd('cilium.io', 'CiliumClusterwideNetworkPolicy', 'ciliumclusterwidenetworkpolicies', 'Cluster')),
        object('network-cilium', crd('cilium.io', 'CiliumNetworkPolicy', 'ciliumnetworkpolicies', 'Namespaced')),
        object('network-cilium', { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'host' } }),
        object('network-cilium', { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'dns', namespace: 'velero' } }, 'velero'),
      ];
      const spec = { ...BASE_SPEC, clusterResourceWhitelist: [...BASE_SPEC.clusterResourceWhitelist, { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }] };
      expect(messages(platform({ spec, objects }))).toEqual([
        expect.stringMatching(/^CiliumClusterwideNetworkPolicy host \(Application network-cilium\): AppProject keelson does not permit the cluster-scoped kind cilium\.io\/CiliumClusterwideNetworkPolicy/),
        expect.stringMatching(/^Application network-cilium puts CiliumNetworkPolicy velero\/dns into namespace velero, which Argo CD refuses \("namespace velero is not permitted in project 'keelson'"\); add namespace velero .* declare it as a namespace Application network-cilium deploys into$/),
      ]);
    });

    it('refuses a namespaced kind in namespaceResourceBlacklist, or missing from a namespaceResourceWhitelist that is set (an empty one permits none)', () => {
      expect(messages(platform({ spec: { ...BASE_SPEC, namespaceResourceBlacklist: [{ group: 'rbac.authorization.k8s.io', kind: '*' }] } }))).toEqual([
        expect.stringMatching(/^Role cilium-secrets\/cilium-tlsinterception-secrets \(Application network-cilium\): AppProject keelson does not permit the namespaced kind rbac\.authorization\.k8s\.io\/Role.*; remove the entry matching .* from AppProject keelson's namespaceResourceBlacklist$/),
      ]);
      expect(messages(platform({ spec: { ...BASE_SPEC, namespaceResourceWhitelist: [{ group: '', kind: 'ConfigMap' }, { group: 'argoproj.io', kind: 'A?p*' }] } }))).toEqual([expect.stringMatching(/^Role cilium-secrets\/cilium-tlsinterception-secrets .*; add \{group: 'rbac\.authorization\.k8s\.io', kind: Role\} to AppProject keelson's namespaceResourceWhitelist$/)]);
      const empty = messages(platform({ spec: { ...BASE_SPEC, namespaceResourceWhitelist: [] } }));
      expect(empty).toHaveLength(5);
      expect(empty).toContainEqual(expect.stringContaining("ConfigMap cilium-config (Application network-cilium): AppProject keelson does not permit the namespaced kind ConfigMap: the sync fails (\"resource :ConfigMap is not permitted in project keelson\"); AppProject keelson's namespaceResourceWhitelist is empty"));
    });
  });

  describe('namespaces', () => {
    it('refuses a namespace a chart creates and fills that is not among the destinations, in one finding naming the Namespace, its objects and the fix', () => {
      const spec = { ...BASE_SPEC, destinations: BASE_SPEC.destinations.filter((d) => d.namespace !== 'cilium-secrets') };
      expect(checkProject(platform({ spec })).findings).toEqual([
        {
          file: 'charts-out/network-cilium/namespace-cilium-secrets.yaml',
          application: 'network-cilium',
          message:
            "Application network-cilium creates Namespace cilium-secrets, which AppProject keelson does not list among its destinations (Argo CD checks a Namespace by its kind only, so the Namespace syncs, but every object later put into it is refused), and puts Role cilium-secrets/cilium-tlsinterception-secrets into namespace cilium-secrets, which Argo CD refuses (\"namespace cilium-secrets is not permitted in project 'keelson'\"); add namespace cilium-secrets (server https://kubernetes.default.svc) to AppProject keelson's destinations (charts-out/root/appproject-keelson.yaml): declare it as a namespace the chart of Application network-cilium creates (createsNamespaces)",
        },
      ]);
    });

    it('reports an empty Namespace an Application creates outside the destinations, though Argo CD itself would apply it', () => {
      const result = checkProject(platform({ objects: [object('network', namespace('scratch'))] }));
      expect(result.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^Application network creates Namespace scratch, which AppProject keelson does not list among its destinations .*; add namespace scratch .* declare it as a namespace Application network creates$/)]);
    });

    it('needs Namespace in clusterResourceWhitelist when CreateNamespace=true makes Argo CD create the destination', () => {
      const spec = { ...BASE_SPEC, clusterResourceWhitelist: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }] };
      const apps = [app('root'), app('tools', { namespace: 'argocd', syncOptions: ['CreateNamespace=true'] })];
      expect(messages(platform({ spec, apps }))).toContainEqual(expect.stringMatching(/^Application tools: CreateNamespace=true makes Argo CD create Namespace argocd, but AppProject keelson does not permit the cluster-scoped kind Namespace.*; add \{group: '', kind: Namespace\} to AppProject keelson's clusterResourceWhitelist$/));
      expect(messages(platform({ apps }))).toEqual([]);
    });

    it('refuses a namespaced object with no namespace in an Application without a destination namespace', () => {
      const apps = [app('root'), app('loose', { namespace: '' })];
      const spec = { ...BASE_SPEC, destinations: [...BASE_SPEC.destinations, { server: '*', namespace: '' }] };
      expect(messages(platform({ spec, apps, objects: [object('loose', configMap('settings'))] }))).toEqual([expect.stringMatching(/^ConfigMap settings \(Application loose\): a namespaced object with no namespace.*; set metadata\.namespace, or the Application's spec\.destination\.namespace$/)]);
    });
  });
});

