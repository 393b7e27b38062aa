import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateManifest } from '@keelson/k8s-schemas';
import { helmTemplate, resolveChart, resolveGitSource } from '@keelson/upstream';
import YAML from 'yaml';
import { find, render, specFor } from './test-support';
import { CEPH_CSI_DRIVERS_CHART, ROOK_CEPH_CHART } from './versions';

// The values we set, against the pinned charts themselves (KEELSON_CHARTS_DIR,
// which the jest global setup points at ../shared/charts) and the real helm.
jest.setTimeout(120_000);

type Values = Record<string, unknown>;
const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A chart's default values, each dependency's own under its alias (or name), as helm merges them. */
function chartValues(dir: string): Values {
  const values = (YAML.parse(readFileSync(join(dir, 'values.yaml'), 'utf8')) ?? {}) as Values;
  const chart = YAML.parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as { dependencies?: { name: string; alias?: string }[] };
  for (const dep of chart.dependencies ?? []) {
    const sub = join(dir, 'charts', dep.name);
    if (!existsSync(join(sub, 'values.yaml'))) continue;
    const key = dep.alias ?? dep.name;
    values[key] = merge(chartValues(sub), isMap(values[key]) ? values[key] : {});
  }
  return values;
}

function merge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isMap(v) && isMap(out[k]) ? merge(out[k] as Values, v) : v;
  return out;
}

/**
 * Paths we set that the chart's values do not have. A list, or a map the
 * chart leaves empty (tolerations, nodeSelector, annotations, labels), is
 * free-form: what is inside it is not checked.
 */
function unknownKeys(set: Values, known: Values, path = ''): string[] {
  return Object.entries(set).flatMap(([key, value]) => {
    const at = path ? `${path}.${key}` : key;
    if (!(key in known)) return [at];
    const chartValue = known[key];
    return isMap(value) && isMap(chartValue) && Object.keys(chartValue).length > 0 ? unknownKeys(value, chartValue, at) : [];
  });
}

const valuesOf = (objects: any[], application: string) => find(objects, 'Application', application).spec.source.helm.valuesObject as Values;
const templateOf = (objects: any[], application: string, chartDir: string, kubeVersion: string) => {
  const app = find(objects, 'Application', application);
  const out = helmTemplate({ chartDir, releaseName: app.spec.source.helm.releaseName, namespace: app.spec.destination.namespace, values: app.spec.source.helm.valuesObject, kubeVersion });
  return YAML.parseAllDocuments(out).map((d) => d.toJS()).filter((o) => isMap(o)) as any[];
};

const rookChart = resolveChart(ROOK_CEPH_CHART).dir;
const driversChart = resolveChart(CEPH_CSI_DRIVERS_CHART).dir;

describe('the rook-ceph chart values', () => {
  const spec = specFor(5, 1);
  const { objects } = render(spec);
  const known = chartValues(rookChart);

  it("sets only keys the chart's values.yaml has (its ceph-csi-operator subchart's under the alias)", () => {
    expect(unknownKeys(valuesOf(objects, 'storage-rook-ceph'), known)).toEqual([]);
  });

  it('reports the keys Keelson set before Rook 1.20, which the chart silently ignores', () => {
    const stale = {
      'ceph-csi-operator': { enabled: true, controllerManager: { tolerations: [] } },
      csi: { installCsiOperator: true, rookUseCsiOperator: true, enableRbdDriver: true, enableCSIHostNetwork: true, provisionerReplicas: 3, nfs: { enabled: false } },
    };
    expect(unknownKeys(stale, known)).toEqual(['ceph-csi-operator.enabled', 'csi.rookUseCsiOperator', 'csi.enableRbdDriver', 'csi.enableCSIHostNetwork', 'csi.provisionerReplicas', 'csi.nfs']);
  });

  it('renders the csi.ceph.io CRDs, the ceph-csi-operator leaving lost nodes after 30 s, and the image set the drivers name', () => {
    const rendered = templateOf(objects, 'storage-rook-ceph', rookChart, spec.config.versions.kubernetes);
    const names = rendered.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['drivers.csi.ceph.io', 'operatorconfigs.csi.ceph.io', 'cephclusters.ceph.rook.io']));
    const operator = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'ceph-csi-controller-manager');
    expect(operator.spec.template.spec.tolerations).toEqual([
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
    ]);
    const imageSet = valuesOf(objects, 'storage-ceph-csi-drivers').operatorConfig as any;
    expect(rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name === imageSet.driverSpecDefaults.imageSet.name)?.metadata.namespace).toBe('rook-ceph');
  });
});

describe('the ceph-csi-drivers chart values', () => {
  const spec = specFor(5, 1);
  const { objects } = render(spec);
  const values = valuesOf(objects, 'storage-ceph-csi-drivers');
  const rendered = templateOf(objects, 'storage-ceph-csi-drivers', driversChart, spec.config.versions.kubernetes);
  const driver = (name: string) => rendered.find((o) => o.kind === 'Driver' && o.metadata.name === name);

  it("include every value of Rook's recommended values file", () => {
    const rook = resolveGitSource({ repoURL: 'https://github.com/rook/rook.git', revision: 'v1.20.6', path: 'deploy/charts/ceph-csi-drivers' }).dir;
    expect(values).toMatchObject(YAML.parse(readFileSync(join(rook, 'values.yaml'), 'utf8')));
  });

  it("sets only keys the chart's values.yaml has, or that its templates read though values.yaml leaves them out", () => {
    // values.yaml lists neither, but the templates read both (and Rook's own values set the second).
    const readByTemplates: Record<string, [template: string, reads: string]> = {
      'drivers.rbd.controllerPlugin.affinity': ['driver.yaml', 'affinity: {{ $driver.controllerPlugin.affinity | toYaml'],
      'drivers.cephfs.controllerPlugin.affinity': ['driver.yaml', 'affinity: {{ $driver.controllerPlugin.affinity | toYaml'],
      'operatorConfig.driverSpecDefaults.controllerPlugin.priorityClassName': ['operatorConfig.yaml', 'priorityClassName: {{ $config.driverSpecDefaults.controllerPlugin.priorityClassName }}'],
    };
    expect(unknownKeys(values, chartValues(driversChart)).sort()).toEqual(Object.keys(readByTemplates).sort());
    for (const [template, reads] of Object.values(readByTemplates)) expect(readFileSync(join(driversChart, 'templates', template), 'utf8')).toContain(reads);
  });

  it('renders an RBD and a CephFS Driver with Rook\'s names, snapshots on, and the OperatorConfig in rook-ceph', () => {
    expect(rendered.filter((o) => o.kind === 'Driver').map((o) => o.metadata.name).sort()).toEqual(['rook-ceph.cephfs.csi.ceph.com', 'rook-ceph.rbd.csi.ceph.com']);
    for (const name of ['rook-ceph.rbd.csi.ceph.com', 'rook-ceph.cephfs.csi.ceph.com']) {
      expect(driver(name).metadata.namespace).toBe('rook-ceph');
      // The chart's default for RBD is `none`: no csi-snapshotter sidecar, so no RBD VolumeSnapshot.
      expect(driver(name).spec.snapshotPolicy).toBe('volumeSnapshot');
    }
    const config = rendered.find((o) => o.kind === 'OperatorConfig');
    expect(config.metadata).toEqual({ name: 'ceph-csi-operator-config', namespace: 'rook-ceph' });
    expect(config.spec.driverSpecDefaults).toMatchObject({
      imageSet: { name: 'rook-csi-operator-image-set-configmap' },
      nodePlugin: { priorityClassName: 'system-node-critical' },
      controllerPlugin: { priorityClassName: 'system-cluster-critical' },
    });
  });

  it('renders Driver and OperatorConfig objects that validate against the csi.ceph.io CRDs', () => {
    const custom = rendered.filter((o) => ['Driver', 'OperatorConfig'].includes(o.kind));
    expect(custom).toHaveLength(3);
    expect(custom.flatMap((o) => validateManifest(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path}: ${p.message}`))).toEqual([]);
  });

  it.each([
    { n: 3, model: 'any-third', controllers: 3, workers: 0, domains: 0, replicas: 2, topologyKey: 'kubernetes.io/hostname' },
    { n: 6, model: 'any-third', controllers: 5, workers: 1, domains: 0, replicas: 3, topologyKey: 'kubernetes.io/hostname' },
    { n: 9, model: 'any-third', controllers: 7, workers: 2, domains: 0, replicas: 4, topologyKey: 'kubernetes.io/hostname' },
    { n: 9, model: '3 failure domains', controllers: 3, workers: 6, domains: 3, replicas: 2, topologyKey: 'topology.kubernetes.io/zone' },
  ])('runs $replicas controller plugins per driver, one per $topologyKey, leaving lost nodes after 30 s (N = $n, $model)', ({ controllers, workers, domains, replicas, topologyKey }) => {
    const s = specFor(controllers, workers, domains > 0 ? { domains } : {});
    const out = templateOf(render(s).objects, 'storage-ceph-csi-drivers', driversChart, s.config.versions.kubernetes);
    for (const name of ['rook-ceph.rbd.csi.ceph.com', 'rook-ceph.cephfs.csi.ceph.com']) {
      const plugin = out.find((o) => o.kind === 'Driver' && o.metadata.name === name).spec.controllerPlugin;
      expect(plugin.replicas).toBe(replicas);
      expect(plugin.replicas).toBe(s.budget.statelessReplicas);
      // The operator selects and labels the controller pods `app: <driver>-ctrlplugin`.
      expect(plugin.affinity).toEqual({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: `${name}-ctrlplugin` } }, topologyKey }] } });
      expect(plugin.tolerations).toEqual([
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
      ]);
      expect(plugin.deploymentStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    }
  });

  it('follows failoverSeconds in the controller plugin tolerations', () => {
    const s = specFor(3, 0);
    const out = templateOf(render(s, { failoverSeconds: 10 }).objects, 'storage-ceph-csi-drivers', driversChart, s.config.versions.kubernetes);
    const plugin = out.find((o) => o.kind === 'Driver' && o.metadata.name === 'rook-ceph.rbd.csi.ceph.com').spec.controllerPlugin;
    expect(plugin.tolerations.map((t: any) => t.tolerationSeconds)).toEqual([10, 10]);
  });
});
