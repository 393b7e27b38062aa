import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RenderedApplication } from '@keelson/upstream';
import { applicationValues, checkValues, deadKeys, readChartModel } from './values';

const chartsDir = process.env.KEELSON_CHARTS_DIR ?? join(__dirname, '../../../../shared/charts');
const rook = readChartModel(join(chartsDir, 'rook-ceph/v1.20.6'));
const paths = (values: Record<string, unknown>, chart = rook) => deadKeys(chart, values).map((d) => d.path);

describe('deadKeys on the pinned charts', () => {
  it("finds the Ceph-CSI keys Rook v1.20 dropped, and passes the ones it reads (the defect of issue 18)", () => {
    expect(paths({ csi: { enableRbdDriver: true, provisionerReplicas: 3, installCsiOperator: true, cephcsi: { repository: 'quay.io/cephcsi/cephcsi' } } })).toEqual(['csi.enableRbdDriver', 'csi.provisionerReplicas']);
  });

  it('judges a subchart under its name or alias against the subchart, and names the keys the chart does have', () => {
    const dead = deadKeys(rook, { 'ceph-csi-operator': { enabled: true, controllerManager: { manager: { resources: { requests: { cpu: '1' } } } } } });
    expect(dead).toEqual([{ path: 'ceph-csi-operator.enabled', siblings: expect.arrayContaining(['controllerManager', 'serviceAccount']) }]);
    const cnpg = readChartModel(join(chartsDir, 'cloudnative-pg/0.29.0'));
    expect(paths({ monitoring: { grafanaDashboard: { create: false } } }, cnpg)).toEqual([]);
    expect(paths({ monitoring: { grafanaDashbord: { create: false } } }, cnpg)).toEqual(['monitoring.grafanaDashbord']);
  });

  it('accepts anything under free-form maps (resources, tolerations, annotations, a spec copied whole) and keys only a template reads', () => {
    const traefik = readChartModel(join(chartsDir, 'traefik/41.1.0'));
    expect(paths({ service: { spec: { externalTrafficPolicy: 'Local' } }, podDisruptionBudget: { enabled: true, maxUnavailable: 1 } }, traefik)).toEqual([]);
    const kured = readChartModel(join(chartsDir, 'kured/6.0.0'));
    // fullnameOverride is not in kured's values.yaml, but its helpers read it.
    expect(paths({ fullnameOverride: 'kured', tolerations: [{ operator: 'Exists' }], configuration: { period: '1h' } }, kured)).toEqual([]);
    expect(paths({ configuration: { perod: '1h' } }, kured)).toEqual(['configuration.perod']);
  });

  it('finds keys a template reads through a variable (range over drivers, $config := .Values.operatorConfig), and still refuses misspelt ones', () => {
    const drivers = readChartModel(join(chartsDir, 'ceph-csi-drivers/1.0.4'));
    const values = (affinityKey: string) => ({
      operatorConfig: { driverSpecDefaults: { controllerPlugin: { priorityClassName: 'system-cluster-critical' } } },
      drivers: { rbd: { controllerPlugin: { replicas: 3, [affinityKey]: { podAntiAffinity: {} } } } },
    });
    expect(paths(values('affinity'), drivers)).toEqual([]);
    expect(paths(values('afinity'), drivers)).toEqual(['drivers.rbd.controllerPlugin.afinity']);
  });

  it('reads the values.schema.json: declared properties and open maps pass, unlisted keys do not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelson-values-'));
    try {
      mkdirSync(join(dir, 'templates'));
      writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 1.0.0\n');
      writeFileSync(join(dir, 'values.yaml'), 'server:\n  replicas: 1\n');
      writeFileSync(join(dir, 'templates/deploy.yaml'), 'replicas: {{ .Values.server.replicas }}\n');
      writeFileSync(
        join(dir, 'values.schema.json'),
        JSON.stringify({
          type: 'object',
          properties: { server: { $ref: '#/$defs/server' }, extra: { type: 'object' } },
          $defs: { server: { type: 'object', properties: { replicas: { type: 'integer' }, port: { type: 'integer' } }, patternProperties: { '^x-': {} } } },
        }),
      );
      const demo = readChartModel(dir);
      expect(paths({ server: { replicas: 3, port: 80, 'x-note': 1 }, extra: { anything: { at: 'all' } } }, demo)).toEqual([]);
      expect(paths({ server: { replica: 3 } }, demo)).toEqual(['server.replica']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('applicationValues', () => {
  it('merges values, valuesObject and parameters the way Argo CD passes them to helm', () => {
    const manifest = {
      spec: {
        source: {
          helm: {
            values: 'a: 1\nb:\n  c: 2\n',
            valuesObject: { b: { d: 3 } },
            parameters: [
              { name: 'e.f', value: '4' },
              { name: 'g\\.h', value: '5' },
              { name: 'list[0]', value: '6' },
            ],
          },
        },
      },
    };
    expect(applicationValues(manifest)).toEqual({ a: 1, b: { c: 2, d: 3 }, e: { f: '4' }, 'g.h': '5', list: '6' });
  });
});

describe('checkValues', () => {
  const rookApp = (valuesObject: Record<string, unknown>): RenderedApplication => ({
    name: 'storage-rook-ceph',
    parent: 'storage',
    wave: 0,
    manifest: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'storage-rook-ceph' }, spec: { source: { chart: 'rook-ceph', helm: { valuesObject } } } },
    file: 'charts-out/storage/application-argocd-storage-rook-ceph.yaml',
    project: 'keelson',
    destinationNamespace: 'rook-ceph',
    type: 'helm',
    repoURL: 'https://charts.rook.io/release',
    chartOrPath: 'rook-ceph',
    revision: 'v1.20.6',
    syncOptions: [],
    objectCount: 0,
  });

  it('refuses a dead key with a message naming the Application, the chart, the key and the fix', () => {
    const result = checkValues([rookApp({ csi: { rookUseCsiOperator: true } })], () => join(chartsDir, 'rook-ceph/v1.20.6'));
    expect(result.ok).toBe(false);
    expect(result.findings).toEqual([
      {
        file: 'charts-out/storage/application-argocd-storage-rook-ceph.yaml',
        application: 'storage-rook-ceph',
        message: expect.stringMatching(/^Application storage-rook-ceph \(chart rook-ceph v1.20.6\): value csi.rookUseCsiOperator is not a key of the chart .* silently does nothing; remove it or set the chart's real key \(the chart's keys under csi are: .*installCsiOperator/),
      },
    ]);
  });

  it('passes an Application whose every key the chart reads', () => {
    const result = checkValues([rookApp({ csi: { installCsiOperator: true }, resources: { requests: { cpu: '100m' } } })], () => join(chartsDir, 'rook-ceph/v1.20.6'));
    expect(result.findings).toEqual([]);
    expect(result.summary).toBe('5 value keys set for 1 upstream charts, each read by its chart');
  });
});
