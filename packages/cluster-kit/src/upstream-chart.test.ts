import { App, Testing } from 'cdk8s';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { LayerChart } from './layer-chart';
import { UpstreamHelmChart } from './upstream-chart';
import { UpstreamManifests } from './upstream-manifests';
import { validateManifest } from '@keelson/k8s-schemas';

const spec = parsePlatformConfig(exampleConfig());
const props = { repoURL: 'https://charts.example.com', chart: 'thing', version: '1.2.3', namespace: 'rook-ceph', values: { replicas: 3 }, clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }] };

describe('UpstreamHelmChart', () => {
  it('renders an Argo CD Application of the pinned chart with its typed values, in the layer folder', () => {
    const layer = new LayerChart(new App(), 'storage', { spec, layer: 'storage' });
    new UpstreamHelmChart(layer, 'thing', { ...props, syncWave: -1 });
    const app = Testing.synth(layer).find((o) => o.kind === 'Application');
    expect(app.metadata).toMatchObject({ name: 'storage-thing', namespace: 'argocd', annotations: { 'argocd.argoproj.io/sync-wave': '-1' } });
    expect(app.spec.source).toEqual({ repoURL: 'https://charts.example.com', chart: 'thing', targetRevision: '1.2.3', helm: { releaseName: 'thing', valuesObject: { replicas: 3 } } });
    expect(app.spec.destination.namespace).toBe('rook-ceph');
    expect(layer.upstreamDeclarations).toEqual([{ repoURL: 'https://charts.example.com', namespace: 'rook-ceph', clusterResources: props.clusterResources }]);
  });

  it('fails on a version that is not an exact release', () => {
    const layer = new LayerChart(new App(), 'storage', { spec, layer: 'storage' });
    expect(() => new UpstreamHelmChart(layer, 'thing', { ...props, version: '1.x' })).toThrow(/version "1\.x" is not an exact release; pin one such as "1\.2\.3"/);
  });

  it('fails on a namespace the layer does not own', () => {
    const layer = new LayerChart(new App(), 'storage', { spec, layer: 'storage' });
    expect(() => new UpstreamHelmChart(layer, 'thing', { ...props, namespace: 'velero' })).toThrow(/namespace "velero" is not one of layer storage's \(rook-ceph, kube-system\); add it to the layer plan in platform-spec/);
  });

  it('declares the namespaces the chart creates itself, and lets it create Namespaces', () => {
    const layer = new LayerChart(new App(), 'network', { spec, layer: 'network' });
    new UpstreamHelmChart(layer, 'cni', { ...props, namespace: 'kube-system', createsNamespaces: ['cni-secrets', 'cni-secrets'] });
    expect(layer.upstreamDeclarations).toEqual([
      { repoURL: props.repoURL, namespace: 'kube-system', createsNamespaces: ['cni-secrets'], clusterResources: [...props.clusterResources, { group: '', kind: 'Namespace' }] },
    ]);
  });

  it('refuses to declare a namespace the chart creates that is not a name, or that a layer already renders', () => {
    const layer = new LayerChart(new App(), 'network', { spec, layer: 'network' });
    expect(() => new UpstreamHelmChart(layer, 'a', { ...props, namespace: 'kube-system', createsNamespaces: ['Secrets'] })).toThrow(
      /UpstreamHelmChart thing: createsNamespaces "Secrets" is not a namespace name/,
    );
    expect(() => new UpstreamHelmChart(layer, 'b', { ...props, namespace: 'kube-system', createsNamespaces: ['velero'] })).toThrow(
      /createsNamespaces "velero" is also a namespace of layer backups; two owners would fight over it/,
    );
  });
});

describe('UpstreamManifests', () => {
  const manifests = { repoURL: 'https://github.com/kubernetes-csi/external-snapshotter.git', version: 'v8.6.0', path: 'client/config/crd', namespace: 'rook-ceph', clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }] };

  it('renders an Argo CD Application of a folder of the repository at a release tag, and declares it for the AppProject', () => {
    const layer = new LayerChart(new App(), 'storage', { spec, layer: 'storage' });
    new UpstreamManifests(layer, 'snapshot-crds', { ...manifests, syncWave: -2 });
    const app = Testing.synth(layer).find((o) => o.kind === 'Application');
    expect(app.metadata).toMatchObject({ name: 'storage-snapshot-crds', annotations: { 'argocd.argoproj.io/sync-wave': '-2' } });
    expect(app.spec.source).toEqual({ repoURL: manifests.repoURL, targetRevision: 'v8.6.0', path: 'client/config/crd' });
    expect(validateManifest(app)).toEqual([]);
    expect(layer.upstreamDeclarations).toEqual([{ repoURL: manifests.repoURL, namespace: 'rook-ceph', clusterResources: manifests.clusterResources }]);
  });

  it('refuses a branch, a plain-http repository and a namespace the layer does not plan', () => {
    const layer = new LayerChart(new App(), 'storage', { spec, layer: 'storage' });
    expect(() => new UpstreamManifests(layer, 'a', { ...manifests, version: 'master' })).toThrow(/version "master" is not a release tag; pin one such as "v1\.2\.3"/);
    expect(() => new UpstreamManifests(layer, 'b', { ...manifests, repoURL: 'http://example.com/x.git' })).toThrow(/repoURL "http:\/\/example.com\/x.git" is not an https Git URL/);
    expect(() => new UpstreamManifests(layer, 'c', { ...manifests, namespace: 'velero' })).toThrow(/namespace "velero" is not one of layer storage's/);
  });

  it('syncs only the included files and never prunes when told (CRDs others depend on)', () => {
    const layer = new LayerChart(new App(), 'storage', { spec, layer: 'storage' });
    new UpstreamManifests(layer, 'crds', { ...manifests, include: '*.yaml', prune: false });
    const app = Testing.synth(layer).find((o) => o.kind === 'Application');
    expect(app.spec.source.directory).toEqual({ include: '*.yaml' });
    expect(app.spec.syncPolicy.automated).toEqual({ prune: false, selfHeal: true });
    expect(validateManifest(app)).toEqual([]);
  });

  it('accepts chart versions with a v prefix (Rook publishes v1.20.6)', () => {
    const layer = new LayerChart(new App(), 'storage', { spec, layer: 'storage' });
    expect(() => new UpstreamHelmChart(layer, 'rook', { ...props, version: 'v1.20.6' })).not.toThrow();
  });
});
