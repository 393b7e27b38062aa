import { App, Testing } from 'cdk8s';
import { LayerChart, namespaceManifest } from './layer-chart';
import { UpstreamHelmChart } from './upstream-chart';
import { Construct } from 'constructs';
import { endpoints, exampleConfig, parsePlatformConfig, type PlatformConfigInput } from '@keelson/platform-spec';

const exampleSpec = (change: (c: PlatformConfigInput) => void = () => undefined) => {
  const config = exampleConfig();
  change(config);
  return parsePlatformConfig(config, 'test config');
};

describe('LayerChart', () => {
  it('renders each namespace of the layer with its Pod Security level enforced and restricted audited', () => {
    const chart = new LayerChart(new App(), 'apps', { spec: exampleSpec(), layer: 'apps' });
    const namespaces = Testing.synth(chart).filter((o) => o.kind === 'Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual(['cnpg-system', 'nextcloud', 'emby', 'website']);
    const nextcloud = namespaces.find((n) => n.metadata.name === 'nextcloud');
    expect(nextcloud.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/enforce-version': 'v1.36',
      'pod-security.kubernetes.io/audit': 'restricted',
      'app.kubernetes.io/part-of': 'keelson',
      'keelson.dev/layer': 'apps',
    });
    expect(nextcloud.metadata.annotations['keelson.dev/pod-security-reason']).toMatch(/Apache as root/);
    const website = namespaces.find((n) => n.metadata.name === 'website');
    expect(website.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(Object.keys(website.metadata.annotations)).toEqual(['argocd.argoproj.io/sync-wave']);
  });

  it('syncs its namespaces in a wave before every other object of the folder, child Applications included', () => {
    const chart = new LayerChart(new App(), 'apps', { spec: exampleSpec(), layer: 'apps' });
    // A child Application at -1 (the CloudNativePG operator's), and an object added after the namespaces at -3.
    new UpstreamHelmChart(chart, 'operator', { repoURL: 'https://charts.example.com', chart: 'operator', version: '1.0.0', namespace: 'cnpg-system', values: {}, clusterResources: [], syncWave: -1 });
    const wave = (o: { metadata: { annotations?: Record<string, string> } }) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    let objects = Testing.synth(chart);
    const application = objects.find((o) => o.kind === 'Application');
    expect(objects.filter((o) => o.kind === 'Namespace').map(wave)).toEqual([-2, -2, -2, -2]);
    expect(wave(application)).toBe(-1);
    const later = chart.addNamespace({ name: 'extra', podSecurity: 'restricted' });
    new UpstreamHelmChart(chart, 'early', { repoURL: 'https://charts.example.com', chart: 'early', version: '1.0.0', namespace: later, values: {}, clusterResources: [], syncWave: -3 });
    objects = Testing.synth(chart);
    expect(objects.filter((o) => o.kind === 'Namespace').map((n) => [n.metadata.name, wave(n)])).toEqual([
      ['cnpg-system', -4],
      ['nextcloud', -4],
      ['emby', -4],
      ['website', -4],
      ['extra', -4],
    ]);
    expect(chart.namespaceSyncWave).toBe(-4);
  });

  it('puts the namespaces of a folder without waves in wave -1, before the default wave 0', () => {
    const chart = new LayerChart(new App(), 'backups', { spec: exampleSpec(), layer: 'backups' });
    expect(Testing.synth(chart).find((o) => o.kind === 'Namespace').metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-1');
  });

  it('renders to the layer folder whatever its id', () => {
    const chart = new LayerChart(new App(), 'my-storage', { spec: exampleSpec(), layer: 'storage' });
    expect(chart.node.id).toBe('my-storage');
    expect(chart.outputFolder).toBe('storage');
    expect(chart.layer.namespaces.map((n) => n.name)).toEqual(['rook-ceph', 'kube-system']);
  });

  it('pins the Pod Security version to the Kubernetes version in the config', () => {
    const chart = new LayerChart(new App(), 'storage', { spec: exampleSpec((c) => (c.versions = { kubernetes: '1.35' })), layer: 'storage' });
    expect(Testing.synth(chart)[0].metadata.labels['pod-security.kubernetes.io/enforce-version']).toBe('v1.35');
  });

  it('fails on a layer the spec does not plan', () => {
    expect(() => new LayerChart(new App(), 'x', { spec: exampleSpec(), layer: 'nope' as never })).toThrow(
      /LayerChart: no layer "nope" in the platform spec; known layers: gitops, network/,
    );
  });

  it('fails on a namespace looser than restricted without a reason', () => {
    expect(() => namespaceManifest({ name: 'x', podSecurity: 'privileged' }, '1.36')).toThrow(
      /namespace x: Pod Security "privileged" needs a reason; say why it cannot be "restricted"/,
    );
  });
});

describe('LayerChart traffic declarations', () => {
  it('keeps checked rules in order and finds the chart of a nested construct', () => {
    const spec = exampleSpec();
    const chart = new LayerChart(new App(), 'storage', { spec, layer: 'storage' });
    const inner = new Construct(new Construct(chart, 'a'), 'b');
    expect(LayerChart.containing(inner)).toBe(chart);
    chart.allowTraffic({ from: endpoints.pods('rook-ceph'), to: endpoints.kubeApiServer, ports: [{ port: 6443 }], reason: 'operator watches the API' });
    expect(chart.trafficRules).toEqual([{ from: { kind: 'pods', namespace: 'rook-ceph' }, to: { kind: 'kube-apiserver' }, ports: [{ port: 6443 }], reason: 'operator watches the API' }]);
    expect(() => chart.allowTraffic({ from: endpoints.internet, to: endpoints.nodes, ports: [{ port: 80 }], reason: 'x' })).toThrow(/selects no pods; one end must be pods/);
    expect(() => chart.allowTraffic({ from: endpoints.pods('a'), to: endpoints.pods('b'), reason: 'y' })).toThrow(/no ports given/);
    expect(() => chart.allowTraffic({ from: endpoints.pods('a'), to: endpoints.internet, ports: [{ port: 443, endPort: 80 }], reason: 'z' })).toThrow(/443-80 is not a port or an ordered range/);
    expect(() => LayerChart.containing(new Construct(new App(), 'loose'))).toThrow(/not inside a LayerChart/);
  });
});

describe('LayerChart namespaces of a layer of your own', () => {
  it('renders the namespaces it declares instead of the planned ones', () => {
    const chart = new LayerChart(new App(), 'storage', { spec: exampleSpec(), layer: 'storage', namespaces: [{ name: 'local-path-storage', podSecurity: 'restricted' }], implementation: 'local-path' });
    expect(chart.layer).toMatchObject({ id: 'storage', folder: 'storage', implementation: 'local-path' });
    expect(Testing.synth(chart).filter((o) => o.kind === 'Namespace').map((n) => n.metadata.name)).toEqual(['local-path-storage']);
  });

  it("refuses a bad name and another layer's namespace", () => {
    expect(() => new LayerChart(new App(), 'storage', { spec: exampleSpec(), layer: 'storage', namespaces: [{ name: 'Local', podSecurity: 'restricted' }] })).toThrow(
      /LayerChart storage: namespaces: "Local" is not a namespace name/,
    );
    expect(() => new LayerChart(new App(), 'storage', { spec: exampleSpec(), layer: 'storage', namespaces: [{ name: 'velero', podSecurity: 'restricted' }] })).toThrow(
      /"velero" is layer backups's; a layer owns its own namespaces/,
    );
  });
});

describe('LayerChart.addNamespace', () => {
  it('renders an added namespace with its Pod Security labels and owns it', () => {
    const chart = new LayerChart(new App(), 'apps', { spec: exampleSpec(), layer: 'apps' });
    expect(chart.addNamespace({ name: 'wiki', podSecurity: 'restricted' })).toBe('wiki');
    expect(chart.namespaces.map((n) => n.name)).toContain('wiki');
    const ns = Testing.synth(chart).find((o) => o.kind === 'Namespace' && o.metadata.name === 'wiki');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('refuses a preexisting one, a bad name, and a name a layer already has', () => {
    const chart = new LayerChart(new App(), 'apps', { spec: exampleSpec(), layer: 'apps' });
    expect(() => chart.addNamespace({ name: 'x', podSecurity: 'restricted', preexisting: true })).toThrow(/addNamespace\("x"\) with preexisting; only namespaces the layer creates/);
    expect(() => chart.addNamespace({ name: 'Wiki', podSecurity: 'restricted' })).toThrow(/addNamespace\("Wiki"\): not a namespace name/);
    expect(() => chart.addNamespace({ name: 'rook-ceph', podSecurity: 'restricted' })).toThrow(/layer storage already has it/);
    chart.addNamespace({ name: 'wiki', podSecurity: 'restricted' });
    expect(() => chart.addNamespace({ name: 'wiki', podSecurity: 'restricted' })).toThrow(/layer apps already has it/);
  });
});
