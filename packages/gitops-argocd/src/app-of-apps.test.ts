import { ApiObject, App, Testing } from 'cdk8s';
import { LayerChart, UpstreamHelmChart } from '@keelson/cluster-kit';
import { Construct } from 'constructs';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { validateManifest } from '@keelson/k8s-schemas';
import YAML from 'yaml';
import { ArgoCdAppOfApps, ARGOCD_RELEASE } from './app-of-apps';

const spec = parsePlatformConfig(exampleConfig());

function render(extra?: (layers: LayerChart[]) => void) {
  const app = new App();
  const layers = [new LayerChart(app, 'storage', { spec, layer: 'storage' }), new LayerChart(app, 'apps', { spec, layer: 'apps' })];
  extra?.(layers);
  const gitops = new ArgoCdAppOfApps(app, 'gitops', { spec, layers });
  return { gitops, objects: Testing.synth(gitops) };
}

/** The example platform on 9 nodes in `domains` failure domains. */
function specWithDomains(domains: number) {
  const config = exampleConfig();
  return parsePlatformConfig({ ...config, nodes: { controllers: { count: 5 }, workers: { count: 4 } }, faultModel: { type: 'failure-domains', domains } }, 'test');
}

/** The JSON patches of the Argo CD Application's kustomize source, by target name. */
function fleetPatches(argocd: any): Map<string, { target: { kind: string; name: string }; ops: any[] }> {
  const json = argocd.spec.source.kustomize.patches.filter((p: any) => p.patch.trimStart().startsWith('['));
  return new Map(json.map((p: any) => [p.target.name, { target: p.target, ops: JSON.parse(p.patch) }]));
}
const replicasOf = (patches: ReturnType<typeof fleetPatches>, name: string) => patches.get(name)?.ops.find((o) => o.path === '/spec/replicas')?.value;
const keysOf = (patches: ReturnType<typeof fleetPatches>, name: string) =>
  patches.get(name)?.ops.find((o) => o.path.endsWith('/requiredDuringSchedulingIgnoredDuringExecution'))?.value.map((t: any) => t.topologyKey);

const find = (objects: any[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};

describe('ArgoCdAppOfApps', () => {
  it('renders a root Application for its own folder and one Application per layer folder', () => {
    const { gitops, objects } = render();
    expect(gitops.applicationNames).toEqual(['root', 'storage', 'apps']);
    expect(find(objects, 'Application', 'root').spec.source).toEqual({
      repoURL: 'https://github.com/keelson-dev/keelson.git',
      targetRevision: 'main',
      path: 'charts-out/argocd',
    });
    expect(find(objects, 'Application', 'storage').spec.source.path).toBe('charts-out/storage');
    expect(find(objects, 'Namespace', 'argocd').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('orders layers by sync wave, the project before everything', () => {
    const { objects } = render();
    const wave = (kind: string, name: string) => Number(find(objects, kind, name).metadata.annotations['argocd.argoproj.io/sync-wave']);
    expect(wave('AppProject', 'keelson')).toBeLessThan(wave('Application', 'root'));
    expect(wave('Application', 'storage')).toBeLessThan(wave('Application', 'apps'));
  });

  it('syncs automatically with prune, self-heal and retries with backoff, and never creates bare namespaces', () => {
    const policy = find(render().objects, 'Application', 'apps').spec.syncPolicy;
    expect(policy.automated).toEqual({ prune: true, selfHeal: true });
    expect(policy.syncOptions).toContain('CreateNamespace=false');
    expect(policy.retry).toEqual({ limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '300s' } });
  });

  it('keeps a deletion finalizer on layer Applications but not on the root', () => {
    const { objects } = render();
    expect(find(objects, 'Application', 'storage').metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
    expect(find(objects, 'Application', 'root').metadata.finalizers).toBeUndefined();
  });

  it('limits the AppProject to the platform repository, its namespaces and the cluster-scoped kinds it renders', () => {
    const { objects } = render((layers) => {
      new ApiObject(layers[0], 'sc', { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'ceph-block' } });
    });
    const project = find(objects, 'AppProject', 'keelson').spec;
    expect(project.sourceRepos).toEqual(['https://github.com/keelson-dev/keelson.git', 'https://github.com/argoproj/argo-cd.git']);
    expect(project.destinations.map((d: any) => d.namespace)).toEqual(['argocd', 'cnpg-system', 'emby', 'kube-system', 'nextcloud', 'rook-ceph', 'website']);
    expect(project.clusterResourceWhitelist).toEqual([
      { group: '', kind: 'Namespace' },
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      { group: 'storage.k8s.io', kind: 'StorageClass' },
    ]);
  });

  it('lets an Application deploy into the namespaces its chart creates, and allows the cluster-scoped kinds of nested components', () => {
    const { objects } = render((layers) => {
      const network = new LayerChart(layers[0].node.scope as App, 'network', { spec, layer: 'network' });
      new UpstreamHelmChart(network, 'cni', {
        repoURL: 'https://charts.example.com',
        chart: 'cni',
        version: '1.0.0',
        namespace: 'kube-system',
        values: {},
        clusterResources: [],
        createsNamespaces: ['cni-secrets'],
      });
      // A cluster-scoped object inside a component, not a direct child of the chart.
      new ApiObject(new Construct(layers[1], 'component'), 'role', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'nested' } });
      new ApiObject(new Construct(layers[1], 'other'), 'class', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'nested' }, value: 1 });
      layers.push(network);
    });
    const project = find(objects, 'AppProject', 'keelson').spec;
    expect(project.destinations.map((d: any) => d.namespace)).toContain('cni-secrets');
    expect(project.clusterResourceWhitelist).toContainEqual({ group: '', kind: 'Namespace' });
    expect(project.clusterResourceWhitelist).toContainEqual({ group: 'scheduling.k8s.io', kind: 'PriorityClass' });
  });

  it('syncs the argocd namespace before everything else in its folder, the AppProject included', () => {
    const { objects } = render();
    const wave = (o: any) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    const namespace = find(objects, 'Namespace', 'argocd');
    expect(wave(namespace)).toBeLessThan(Math.min(...objects.filter((o) => o !== namespace).map(wave)));
    expect(wave(namespace)).toBeLessThan(wave(find(objects, 'AppProject', 'keelson')));
  });

  it('renders objects that validate against the Argo CD CRDs with unknown fields refused', () => {
    const { objects } = render();
    const problems = objects.flatMap((o) => validateManifest(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path}: ${p.message}`));
    expect(problems).toEqual([]);
    expect(objects.filter((o) => o.apiVersion === 'argoproj.io/v1alpha1')).toHaveLength(5);
  });

  it('targets each Application at a namespace its AppProject allows', () => {
    const { objects } = render((layers) => layers.push(new LayerChart(layers[0].node.scope as App, 'network', { spec, layer: 'network' })));
    const allowed = find(objects, 'AppProject', 'keelson').spec.destinations.map((d: any) => d.namespace);
    const apps = objects.filter((o) => o.kind === 'Application');
    expect(Object.fromEntries(apps.map((a) => [a.metadata.name, a.spec.destination.namespace]))).toEqual({
      root: 'argocd',
      argocd: 'argocd',
      network: 'kube-system',
      storage: 'rook-ceph',
      apps: 'cnpg-system',
    });
    for (const a of apps) expect(allowed).toContain(a.spec.destination.namespace);
  });

  it('fails when given its own chart as a layer', () => {
    const app = new App();
    const gitops = new LayerChart(app, 'other-gitops', { spec, layer: 'gitops' });
    expect(() => new ArgoCdAppOfApps(app, 'gitops', { spec, layers: [gitops] })).toThrow(
      /layers must not include the gitops chart itself \("other-gitops"\); the root Application syncs it/,
    );
  });

  it('fails when a layer folder is given twice', () => {
    const app = new App();
    const storage = new LayerChart(app, 'storage', { spec, layer: 'storage' });
    expect(() => new ArgoCdAppOfApps(app, 'gitops', { spec, layers: [storage, storage] })).toThrow(/layer folder "storage" is given twice/);
  });
});

describe('Argo CD managing itself', () => {
  it('renders an Application of the pinned HA install with Application health turned on, before every layer', () => {
    const { objects } = render();
    const argocd = find(objects, 'Application', 'argocd');
    expect(argocd.spec.source).toMatchObject({ repoURL: ARGOCD_RELEASE.repoURL, targetRevision: 'v3.5.1', path: 'manifests/ha/cluster-install' });
    const patch = YAML.parse(argocd.spec.source.kustomize.patches[0].patch);
    expect(argocd.spec.source.kustomize.patches[0].target).toEqual({ kind: 'ConfigMap', name: 'argocd-cm' });
    expect(patch.data['resource.customizations.health.argoproj.io_Application']).toContain('obj.status.health.status');
    expect(argocd.spec.syncPolicy.automated).toEqual({ prune: false, selfHeal: true });
    const wave = (name: string) => Number(find(objects, 'Application', name).metadata.annotations['argocd.argoproj.io/sync-wave']);
    expect(wave('argocd')).toBeLessThan(Math.min(wave('storage'), wave('apps')));
    expect(validateManifest(argocd)).toEqual([]);
  });

  it('lets the AppProject install Argo CD itself: its repository, CRDs and cluster RBAC', () => {
    const project = find(render().objects, 'AppProject', 'keelson');
    expect(project.spec.sourceRepos).toContain('https://github.com/argoproj/argo-cd.git');
    expect(project.spec.clusterResourceWhitelist).toEqual(
      expect.arrayContaining([
        { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ]),
    );
  });

  it('gives the first controller its namespace, the install pinned by digest, then the project and root Application, in that order', () => {
    const { gitops, objects } = render();
    const steps = gitops.bootstrapSteps();
    expect(steps.map((s) => s.name)).toEqual(['argocd-namespace', 'argocd-install', 'argocd-root']);
    expect(steps[1]).toEqual({
      name: 'argocd-install',
      url: 'https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml',
      namespace: 'argocd',
      sha256: '1d7b6baa0769ff8a5757c61e2c677ae0939a15e86e149f64df6b12435db5c4b2',
      gitSource: { repoURL: 'https://github.com/argoproj/argo-cd.git', revision: 'v3.5.1', path: 'manifests/ha/install.yaml' },
    });
    const docs = (i: number) => YAML.parseAllDocuments((steps[i] as { manifests: string }).manifests).map((d) => d.toJS());
    // The rendered namespace, less its sync wave (kubectl applies the bootstrap; Argo CD adopts it later).
    const { annotations, ...rendered } = find(objects, 'Namespace', 'argocd').metadata;
    expect(Object.keys(annotations)).toEqual(['argocd.argoproj.io/sync-wave']);
    expect(docs(0)).toEqual([{ apiVersion: 'v1', kind: 'Namespace', metadata: { ...rendered, labels: expect.objectContaining({ 'pod-security.kubernetes.io/enforce': 'restricted' }) } }]);
    expect(docs(2)).toEqual([find(objects, 'AppProject', 'keelson'), find(objects, 'Application', 'argocd'), find(objects, 'Application', 'root')]);
    for (const o of [...docs(0), ...docs(2)]) expect(validateManifest(o)).toEqual([]);
  });

  it('runs k+1 API servers, repo servers and Redis proxies, and three Redis servers, one per node (any-third)', () => {
    const patches = fleetPatches(find(render().objects, 'Application', 'argocd'));
    expect(spec.budget.statelessReplicas).toBe(3);
    for (const [name, replicas] of [['argocd-server', 3], ['argocd-repo-server', 3], ['argocd-redis-ha-haproxy', 3], ['argocd-redis-ha-server', undefined]] as const) {
      expect(replicasOf(patches, name)).toBe(replicas);
      expect(keysOf(patches, name)).toEqual(['kubernetes.io/hostname']);
    }
  });

  it('keeps every replicated Argo CD part one per zone under failure-domains, the Deployments at 2 replicas', () => {
    const zoned = specWithDomains(3);
    const app = new App();
    const objects = Testing.synth(new ArgoCdAppOfApps(app, 'gitops', { spec: zoned, layers: [new LayerChart(app, 'storage', { spec: zoned, layer: 'storage' })] }));
    const patches = fleetPatches(find(objects, 'Application', 'argocd'));
    for (const [kind, name, labels, replicas] of [
      ['Deployment', 'argocd-server', { 'app.kubernetes.io/name': 'argocd-server' }, 2],
      ['Deployment', 'argocd-repo-server', { 'app.kubernetes.io/name': 'argocd-repo-server' }, 2],
      ['Deployment', 'argocd-redis-ha-haproxy', { 'app.kubernetes.io/name': 'argocd-redis-ha-haproxy' }, 2],
      // Its HAProxy and Sentinel configuration name three servers: three zones, one each.
      ['StatefulSet', 'argocd-redis-ha-server', { 'app.kubernetes.io/name': 'argocd-redis-ha' }, undefined],
    ] as const) {
      expect(patches.get(name)?.target).toEqual({ kind, name });
      expect(replicasOf(patches, name)).toBe(replicas);
      // Replaces upstream's hostname-only term: hostname spread lets every replica share the zone that fails.
      expect(patches.get(name)?.ops).toContainEqual({
        op: 'add',
        path: '/spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution',
        value: [{ labelSelector: { matchLabels: labels }, topologyKey: 'topology.kubernetes.io/zone' }],
      });
      // The PodDisruptionBudget selects the same pods.
      const pdb = objects.find((o: any) => o.kind === 'PodDisruptionBudget' && o.spec.selector.matchLabels['app.kubernetes.io/name'] === labels['app.kubernetes.io/name']);
      expect(pdb?.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: labels } });
    }
  });

  it('declares the connections Argo CD needs: itself, the API server and Git/Helm over HTTPS', () => {
    expect(render().gitops.trafficRules.map((r) => `${r.from.kind}->${r.to.kind}:${(r.ports ?? []).map((p) => p.port).join(',')}`)).toEqual([
      'pods->pods:',
      'pods->kube-apiserver:6443',
      'pods->internet:443',
    ]);
  });
});
