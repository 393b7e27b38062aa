import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { apiGroup, crdApiVersions, DesiredStateError, renderDesiredState, type DesiredState, type K8sObject } from './desired-state';

jest.setTimeout(300_000);

// The committed render of the default platform (kept fresh by CI).
const chartsOut = resolve(__dirname, '../../../charts-out');
const gitops = { repoURL: 'https://github.com/keelson-dev/keelson.git', revision: 'main', path: 'charts-out' };
// One cache for the file: the first render fills it with real helm runs; a later render runs helm again only for a chart
// whose inputs changed (the refusals' edits), and the determinism test renders once more without any cache.
let sharedCache: string;
const render = (dir = chartsOut, cacheDir: string | false = sharedCache) => renderDesiredState({ dir, gitops, kubeVersion: '1.36.2', cacheDir });
const find = (state: DesiredState, kind: string, name: string) => state.objects.filter((o) => o.object.kind === kind && o.object.metadata?.name === name);

let state: DesiredState;
beforeAll(() => {
  sharedCache = mkdtempSync(join(tmpdir(), 'render-'));
  state = render();
});

describe('renderDesiredState on the default platform', () => {
  it('walks the app of apps from the root: every layer, Argo CD itself, and every child Application', () => {
    const byName = new Map(state.applications.map((a) => [a.name, a]));
    expect(byName.get('root')).toMatchObject({ type: 'directory', chartOrPath: 'charts-out/argocd' });
    expect(byName.get('argocd')).toMatchObject({ parent: 'root', wave: -50, type: 'kustomize', chartOrPath: 'manifests/ha/cluster-install', revision: 'v3.5.1' });
    expect(byName.get('network-cilium')).toMatchObject({ parent: 'network', type: 'helm', chartOrPath: 'cilium', revision: '1.19.4', digest: expect.stringMatching(/^sha256:/) });
    expect([...byName.keys()].filter((n) => byName.get(n)?.parent === 'root').sort()).toEqual(['apps', 'argocd', 'backups', 'ingress', 'maintenance', 'network', 'storage']);
    for (const a of state.applications) expect(a.objectCount).toBeGreaterThan(0);
  });

  it("renders each chart with the real helm: the objects the chart makes, tagged with their Application and template, in the destination namespace", () => {
    const agent = find(state, 'DaemonSet', 'cilium');
    expect(agent).toHaveLength(1);
    expect(agent[0]).toMatchObject({ application: 'network-cilium', namespace: 'kube-system', source: expect.stringMatching(/^helm cilium 1\.19\.4: cilium\/templates\/cilium-agent\/daemonset\.yaml$/) });
    const operator = find(state, 'Deployment', 'rook-ceph-operator');
    expect(operator[0]).toMatchObject({ application: 'storage-rook-ceph', namespace: 'rook-ceph' });
    // CRDs are rendered as Argo CD renders them (--include-crds), cluster-scoped.
    const crd = find(state, 'CustomResourceDefinition', 'cephclusters.ceph.rook.io');
    expect(crd).toHaveLength(1);
    expect(crd[0].namespace).toBeUndefined();
  });

  it("builds Argo CD's install with the real kustomize and the Application's patch applied", () => {
    const cm = find(state, 'ConfigMap', 'argocd-cm');
    expect(cm).toHaveLength(1);
    expect(cm[0]).toMatchObject({ application: 'argocd', namespace: 'argocd' });
    expect(String((cm[0].object.data as Record<string, string>)['resource.customizations.health.argoproj.io_Application'])).toContain('hs.status = obj.status.health.status');
    expect(find(state, 'StatefulSet', 'argocd-application-controller')).toHaveLength(1);
  });

  it('reads the waves Argo CD orders by', () => {
    const namespaceWaves = state.objects.filter((o) => o.object.kind === 'Namespace' && o.application === 'apps').map((o) => o.wave);
    expect(namespaceWaves.length).toBeGreaterThan(0);
    const child = state.applications.find((a) => a.name === 'apps-cloudnative-pg');
    expect(child?.wave).toBe(Number(child?.manifest.metadata?.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0));
  });

  it('is deterministic, and a warm render reads the cache without changing the result', () => {
    // state: the cold render that filled the cache.
    const warm = render(chartsOut, sharedCache);
    expect(JSON.stringify(warm)).toBe(JSON.stringify(state));
    expect(JSON.stringify(render(chartsOut, false).objects.map((o) => [o.application, o.object.kind, o.object.metadata?.name]))).toBe(
      JSON.stringify(state.objects.map((o) => [o.application, o.object.kind, o.object.metadata?.name])),
    );
  });

  it('passes every CRD of the desired state to helm as --api-versions', () => {
    const versions = crdApiVersions(state.objects.map((o) => o.object));
    expect(versions).toEqual(expect.arrayContaining(['ceph.rook.io/v1', 'ceph.rook.io/v1/CephCluster', 'cert-manager.io/v1', 'cert-manager.io/v1/ClusterIssuer', 'argoproj.io/v1alpha1/Application']));
  });

  it("renders a chart that asks for a built-in kind's API version as the cluster would (Argo CD passes every served group/version/Kind)", () => {
    // traefik 41.1.0 picks policy/v1 only when .Capabilities.APIVersions has policy/v1/PodDisruptionBudget; Helm's own default set has no Kind entries.
    const pdb = state.objects.find((o) => o.application === 'ingress-traefik' && o.object.kind === 'PodDisruptionBudget');
    expect(pdb?.object.apiVersion).toBe('policy/v1');
    expect(state.objects.filter((o) => String(o.object.apiVersion).endsWith('v1beta1') && apiGroup(String(o.object.apiVersion)) === 'policy')).toEqual([]);
  });
});

describe('renderDesiredState refusals', () => {
  const copy = () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'out-')), 'charts-out');
    cpSync(chartsOut, dir, { recursive: true });
    return dir;
  };
  const edit = (file: string, change: (o: K8sObject) => void) => {
    const o = YAML.parse(readFileSync(file, 'utf8')) as K8sObject;
    change(o);
    writeFileSync(file, YAML.stringify(o));
  };

  it('refuses a render without its root Application', () => {
    const dir = copy();
    edit(join(dir, 'argocd/application-argocd-root.yaml'), (o) => ((o.spec as { source: { path: string } }).source.path = 'elsewhere'));
    expect(() => render(dir)).toThrow(DesiredStateError);
    expect(() => render(dir)).toThrow(/no Application in .*argocd syncs charts-out\/argocd from https:\/\/github\.com\/keelson-dev\/keelson\.git/);
  });

  it('refuses a chart pinned to a version the lock does not know, naming it', () => {
    const dir = copy();
    edit(join(dir, 'network/application-argocd-network-cilium.yaml'), (o) => ((o.spec as { source: { targetRevision: string } }).source.targetRevision = '1.19.5'));
    expect(() => render(dir)).toThrow(/chart cilium 1\.19\.5 from https:\/\/helm\.cilium\.io has no digest/);
  });

  it("surfaces helm's own refusal of a value, naming the chart", () => {
    const dir = copy();
    edit(join(dir, 'network/application-argocd-network-cilium.yaml'), (o) => {
      ((o.spec as { source: { helm: { valuesObject: Record<string, unknown> } } }).source.helm.valuesObject.operator as Record<string, unknown>).replicas = 'three';
    });
    expect(() => render(dir)).toThrow(/helm template cilium .* failed: [\s\S]*replicas/);
  });
});
