import { App, Testing } from 'cdk8s';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { LayerChart } from './layer-chart';
import { UpstreamHelmChart } from './upstream-chart';

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
    expect(() => new UpstreamHelmChart(layer, 'thing', { ...props, namespace: 'velero' })).toThrow(/namespace "velero" is not one of layer storage's \(rook-ceph\); add it to the layer plan in platform-spec/);
  });
});
