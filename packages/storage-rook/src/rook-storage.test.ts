import { validateManifest } from '@keelson/k8s-schemas';
import type { PlatformSpec } from '@keelson/platform-spec';
import { CEPH_IMAGE } from './versions';
import { find, render, specFor } from './test-support';
import { worstCaseStorageLoss } from './worst-case';

const problemsOf = (objects: any[]) => objects.flatMap((o) => validateManifest(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path}: ${p.message}`));
const withBudget = (spec: PlatformSpec, budget: Partial<PlatformSpec['budget']>): PlatformSpec => ({ ...spec, budget: { ...spec.budget, ...budget } });

describe.each([
  { n: 3, controllers: 3, workers: 0, k: 1, mons: 3, size: 3 },
  { n: 6, controllers: 5, workers: 1, k: 2, mons: 5, size: 4 },
  { n: 9, controllers: 7, workers: 2, k: 3, mons: 7, size: 5 },
])('RookStorage for N = $n (any-third, k = $k)', ({ controllers, workers, k, mons, size }) => {
  const spec = specFor(controllers, workers);
  const { objects } = render(spec);
  const cluster = find(objects, 'CephCluster', 'rook-ceph');
  const pool = find(objects, 'CephBlockPool', 'ceph-block');
  const fs = find(objects, 'CephFilesystem', 'ceph-filesystem');

  it(`runs ${mons} monitors (2k+1), one per node, and two managers`, () => {
    expect(cluster.spec.mon).toEqual({ count: mons, allowMultiplePerNode: false });
    expect(cluster.spec.placement.mon.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: { app: 'rook-ceph-mon' } }, topologyKey: 'kubernetes.io/hostname' },
    ]);
    expect(cluster.spec.mgr).toEqual({ count: 2, allowMultiplePerNode: false });
  });

  it(`sizes every pool to k+2 = ${size} copies on distinct hosts with min_size 2`, () => {
    for (const p of [pool.spec, fs.spec.metadataPool, ...fs.spec.dataPools]) {
      expect(p).toMatchObject({ failureDomain: 'host', replicated: { size, requireSafeReplicaSize: true }, parameters: { min_size: '2' } });
    }
  });

  it('runs one active and one standby MDS, never on the same node, leaving failed nodes after 30 s', () => {
    expect(fs.spec.metadataServer).toMatchObject({ activeCount: 1, activeStandby: true });
    expect(fs.spec.metadataServer.placement.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: { app: 'rook-ceph-mds', rook_file_system: 'ceph-filesystem' } }, topologyKey: 'kubernetes.io/hostname' },
    ]);
    expect(fs.spec.metadataServer.placement.tolerations).toContainEqual({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 });
  });

  it(`keeps mon quorum and min_size in every pool for every choice of ${k} failed nodes (from the rendered objects)`, () => {
    const report = worstCaseStorageLoss(objects, spec.topology.nodes, { model: 'any-third', k });
    expect(report.quorumAndPoolsOk).toBe(true);
    const monitors = report.checks.find((c) => c.what === 'monitors');
    expect(monitors).toMatchObject({ total: mons, needed: k + 1, lost: k, left: k + 1, ok: true });
    const pools = report.checks.filter((c) => c.what === 'pool');
    expect(pools.map((p) => p.pool)).toEqual(['ceph-block', 'ceph-filesystem-metadata', 'ceph-filesystem-data0']);
    for (const p of pools) expect(p).toMatchObject({ total: size, needed: 2, lost: k, left: 2, ok: true });
    expect(pools[0].failedNodes).toHaveLength(k);
  });

  it('renders objects that validate against their schemas', () => {
    expect(problemsOf(objects)).toEqual([]);
  });
});

describe('RookStorage on the default platform (6 nodes)', () => {
  const spec = specFor(5, 1);
  const { chart, objects } = render(spec);
  const cluster = find(objects, 'CephCluster', 'rook-ceph');
  const operator = find(objects, 'Application', 'storage-rook-ceph');

  it('exposes its class names through the StorageLayer interface', () => {
    expect({ ...chart.plan, devicePathFilter: undefined }).toMatchObject({ monitors: 5, poolSize: 4 });
    expect([chart.blockClass, chart.filesystemClass, chart.blockSnapshotClass, chart.filesystemSnapshotClass]).toEqual([
      'ceph-block',
      'ceph-filesystem',
      'ceph-block-snapshot',
      'ceph-filesystem-snapshot',
    ]);
    expect(chart.erasureCodedBlockClass).toBeUndefined();
  });

  it('installs the pinned rook-ceph chart with its CRDs and the ceph-csi-operator subchart, before the cluster', () => {
    expect(operator.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('0');
    expect(operator.spec.source).toMatchObject({ repoURL: 'https://charts.rook.io/release', chart: 'rook-ceph', targetRevision: 'v1.20.6' });
    expect(operator.spec.destination.namespace).toBe('rook-ceph');
    expect(operator.spec.source.helm.valuesObject).toEqual({
      crds: { enabled: true },
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
      priorityClassName: 'system-cluster-critical',
      enableDiscoveryDaemon: false,
      monitoring: { enabled: false },
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }],
      'ceph-csi-operator': {
        controllerManager: {
          tolerations: [
            { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
            { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
          ],
        },
      },
      csi: { installCsiOperator: true },
    });
    expect(chart.upstreamDeclarations[0]).toMatchObject({
      repoURL: 'https://charts.rook.io/release',
      namespace: 'rook-ceph',
      clusterResources: [
        { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
    });
  });

  it('installs the pinned ceph-csi-drivers chart with Rook\'s values after the operator and before the cluster', () => {
    const drivers = find(objects, 'Application', 'storage-ceph-csi-drivers');
    const wave = (o: any) => Number(o.metadata.annotations['argocd.argoproj.io/sync-wave']);
    expect(drivers.spec.source).toMatchObject({ repoURL: 'https://ceph.github.io/ceph-csi-operator', chart: 'ceph-csi-drivers', targetRevision: '1.0.4' });
    expect(drivers.spec.destination.namespace).toBe('rook-ceph');
    expect(wave(drivers)).toBeGreaterThan(wave(operator));
    expect(wave(drivers)).toBeLessThan(wave(cluster));
    const values = drivers.spec.source.helm.valuesObject;
    expect(values.operatorConfig).toEqual({
      namespace: 'rook-ceph',
      driverSpecDefaults: {
        imageSet: { name: 'rook-csi-operator-image-set-configmap' },
        nodePlugin: { priorityClassName: 'system-node-critical' },
        controllerPlugin: { priorityClassName: 'system-cluster-critical' },
      },
    });
    expect(values.drivers.nfs).toEqual({ enabled: false, name: 'rook-ceph.nfs.csi.ceph.com' });
    expect(values.drivers.nvmeof).toEqual({ enabled: false, name: 'rook-ceph.nvmeof.csi.ceph.com' });
    for (const kind of ['rbd', 'cephfs']) {
      const app = `rook-ceph.${kind}.csi.ceph.com-ctrlplugin`;
      expect(values.drivers[kind]).toMatchObject({ enabled: true, name: `rook-ceph.${kind}.csi.ceph.com`, snapshotPolicy: 'volumeSnapshot', controllerPlugin: { replicas: 3 } });
      // The operator labels the controller pods `app: <driver>-ctrlplugin` and makes no PodDisruptionBudget.
      expect(values.drivers[kind].controllerPlugin.affinity).toEqual({
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey: 'kubernetes.io/hostname' }] },
      });
      expect(find(objects, 'PodDisruptionBudget', app)).toMatchObject({ metadata: { namespace: 'rook-ceph' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app } } } });
    }
    expect(chart.upstreamDeclarations[1]).toMatchObject({
      repoURL: 'https://ceph.github.io/ceph-csi-operator',
      namespace: 'rook-ceph',
      clusterResources: [
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
    });
  });

  it('installs the VolumeSnapshot CRDs and the snapshot controller from the pinned external-snapshotter release, with the operator', () => {
    const crds = find(objects, 'Application', 'storage-snapshot-crds');
    const controller = find(objects, 'Application', 'storage-snapshot-controller');
    const repoURL = 'https://github.com/kubernetes-csi/external-snapshotter.git';
    expect(crds.spec.source).toEqual({ repoURL, targetRevision: 'v8.6.0', path: 'client/config/crd' });
    expect(controller.spec.source).toMatchObject({ repoURL, targetRevision: 'v8.6.0', path: 'deploy/kubernetes/snapshot-controller' });
    // Upstream's 2 unspread replicas, patched to k+1 = 3 one per node, with a PodDisruptionBudget of our own.
    const [patch] = controller.spec.source.kustomize.patches;
    expect(patch.target).toEqual({ kind: 'Deployment', name: 'snapshot-controller' });
    expect(JSON.parse(patch.patch)).toEqual([
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/spec/template/spec/affinity', value: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'snapshot-controller' } }, topologyKey: 'kubernetes.io/hostname' }] } } },
    ]);
    expect(objects.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'snapshot-controller')?.spec.maxUnavailable).toBe(1);
    expect(controller.spec.destination.namespace).toBe('kube-system');
    for (const app of [crds, controller]) expect(app.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('0');
    const snapshotClasses = objects.filter((o) => o.kind === 'VolumeSnapshotClass');
    expect(snapshotClasses.every((o) => Number(o.metadata.annotations['argocd.argoproj.io/sync-wave']) > 0)).toBe(true);
    expect(chart.upstreamDeclarations.map((u) => `${u.repoURL} ${u.namespace}`)).toEqual([
      'https://charts.rook.io/release rook-ceph',
      'https://ceph.github.io/ceph-csi-operator rook-ceph',
      `${repoURL} rook-ceph`,
      `${repoURL} kube-system`,
    ]);
  });

  it('syncs custom resources after the operator and the CSI drivers, without a dry run before their CRDs exist', () => {
    const custom = objects.filter((o) => ['CephCluster', 'CephBlockPool', 'CephFilesystem', 'VolumeSnapshotClass'].includes(o.kind));
    expect(custom).toHaveLength(5);
    const wave = (kind: string, name: string) => Number(find(objects, kind, name).metadata.annotations['argocd.argoproj.io/sync-wave']);
    const latestInstaller = Math.max(...['storage-rook-ceph', 'storage-ceph-csi-drivers', 'storage-snapshot-crds'].map((name) => wave('Application', name)));
    for (const o of custom) {
      expect(o.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('SkipDryRunOnMissingResource=true');
      expect(Number(o.metadata.annotations['argocd.argoproj.io/sync-wave'])).toBeGreaterThan(latestInstaller);
    }
    expect(wave('Application', 'storage-rook-ceph')).toBeLessThan(wave('Application', 'storage-ceph-csi-drivers'));
    expect(wave('Application', 'storage-ceph-csi-drivers')).toBeLessThan(wave('CephCluster', 'rook-ceph'));
    expect(wave('CephCluster', 'rook-ceph')).toBeLessThan(wave('CephBlockPool', 'ceph-block'));
    expect(wave('CephBlockPool', 'ceph-block')).toBeLessThan(wave('StorageClass', 'ceph-block'));
  });

  it('encrypts every Ceph connection over msgr2 only, serves the dashboard over TLS and lets Rook manage disruption budgets', () => {
    expect(cluster.spec.network.connections).toEqual({ encryption: { enabled: true }, compression: { enabled: false }, requireMsgr2: true });
    expect(cluster.spec.csi.cephfs.kernelMountOptions).toBe('ms_mode=secure');
    expect(cluster.spec.dashboard).toEqual({ enabled: true, ssl: true });
    expect(cluster.spec.disruptionManagement.managePodBudgets).toBe(true);
  });

  it('runs a pinned Ceph image with requests and memory limits for every daemon', () => {
    expect(cluster.spec.cephVersion).toEqual({ image: CEPH_IMAGE, allowUnsupported: false });
    expect(CEPH_IMAGE).toMatch(/^quay\.io\/ceph\/ceph:v\d+\.\d+\.\d+$/);
    for (const d of ['mon', 'mgr', 'osd']) {
      expect(Object.keys(cluster.spec.resources[d].requests).sort()).toEqual(['cpu', 'memory']);
      expect(cluster.spec.resources[d].limits.memory).toMatch(/Gi$/);
    }
    expect(find(objects, 'CephFilesystem', 'ceph-filesystem').spec.metadataServer.resources).toEqual({ requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '2Gi' } });
  });

  it('takes OSDs only from the DigitalOcean volumes infra-nodes attaches (<node>-osd), never every device', () => {
    expect(cluster.spec.storage).toEqual({
      useAllNodes: true,
      useAllDevices: false,
      devicePathFilter: '^/dev/disk/by-id/scsi-0DO_Volume_keelson-(controller|worker)-[0-9]+-osd$',
    });
    const filter = new RegExp(cluster.spec.storage.devicePathFilter);
    expect(filter.test('/dev/disk/by-id/scsi-0DO_Volume_keelson-worker-1-osd')).toBe(true);
    expect(filter.test('/dev/disk/by-id/scsi-0DO_Volume_other-worker-1-osd')).toBe(false);
    expect(filter.test('/dev/sda')).toBe(false);
  });

  it('selects Hetzner volumes by their by-id link on Hetzner', () => {
    const hetzner = render(specFor(3, 0, { provider: 'hetzner' })).objects;
    const filter = new RegExp(find(hetzner, 'CephCluster', 'rook-ceph').spec.storage.devicePathFilter);
    expect(filter.test('/dev/disk/by-id/scsi-0HC_Volume_102030')).toBe(true);
    expect(filter.test('/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi0')).toBe(false);
  });

  it('makes ceph-block the default class and keeps volumes (Retain) with expansion on', () => {
    const block = find(objects, 'StorageClass', 'ceph-block');
    const file = find(objects, 'StorageClass', 'ceph-filesystem');
    expect(block.metadata.annotations['storageclass.kubernetes.io/is-default-class']).toBe('true');
    expect(file.metadata.annotations['storageclass.kubernetes.io/is-default-class']).toBeUndefined();
    for (const sc of [block, file]) expect(sc).toMatchObject({ reclaimPolicy: 'Retain', allowVolumeExpansion: true });
    expect(block).toMatchObject({ provisioner: 'rook-ceph.rbd.csi.ceph.com', parameters: { clusterID: 'rook-ceph', pool: 'ceph-block', mapOptions: 'ms_mode=secure' } });
    expect(block.parameters['csi.storage.k8s.io/node-stage-secret-name']).toBe('rook-csi-rbd-node');
    // The filesystem class names the pool Rook creates for the CephFilesystem's data pool.
    const fs = find(objects, 'CephFilesystem', 'ceph-filesystem');
    expect(file).toMatchObject({ provisioner: 'rook-ceph.cephfs.csi.ceph.com', parameters: { fsName: fs.metadata.name, pool: `${fs.metadata.name}-${fs.spec.dataPools[0].name}` } });
  });

  it('labels both snapshot classes for Velero, on the same drivers as the storage classes', () => {
    const block = find(objects, 'VolumeSnapshotClass', 'ceph-block-snapshot');
    const file = find(objects, 'VolumeSnapshotClass', 'ceph-filesystem-snapshot');
    for (const c of [block, file]) {
      expect(c.metadata.labels['velero.io/csi-volumesnapshot-class']).toBe('true');
      expect(c.deletionPolicy).toBe('Delete');
    }
    expect(block.driver).toBe(find(objects, 'StorageClass', 'ceph-block').provisioner);
    expect(file.driver).toBe(find(objects, 'StorageClass', 'ceph-filesystem').provisioner);
    expect(block.parameters['csi.storage.k8s.io/snapshotter-secret-name']).toBe('rook-csi-rbd-provisioner');
  });

  it('declares its traffic: inside rook-ceph, to the API server, and from nodes to the Ceph ports only', () => {
    const rook = { kind: 'pods', namespace: 'rook-ceph' };
    expect(chart.trafficRules.map(({ from, to, ports }) => ({ from, to, ports }))).toEqual([
      { from: rook, to: rook, ports: undefined },
      { from: rook, to: { kind: 'kube-apiserver' }, ports: [{ port: 6443 }] },
      { from: { kind: 'nodes' }, to: rook, ports: [{ port: 3300 }, { port: 6800, endPort: 7300 }] },
    ]);
  });

  it('reports a CephCluster with a misspelt field (schemas reject unknown fields)', () => {
    const misspelt = { ...cluster, spec: { ...cluster.spec, mon: { cuont: 5, allowMultiplePerNode: false } } };
    expect(validateManifest(misspelt).map((p) => p.path).join(' ')).toMatch(/cuont/);
  });
});

describe('RookStorage under the failure-domains model', () => {
  const spec = specFor(3, 6, { domains: 3 });
  const { objects } = render(spec);
  const cluster = find(objects, 'CephCluster', 'rook-ceph');
  const fs = find(objects, 'CephFilesystem', 'ceph-filesystem');

  it('keeps 3 copies on distinct zones and spreads 5 monitors over the zones', () => {
    expect(find(objects, 'CephBlockPool', 'ceph-block').spec).toMatchObject({ failureDomain: 'zone', replicated: { size: 3 }, parameters: { min_size: '2' } });
    expect(cluster.spec.mon.count).toBe(5);
    expect(cluster.spec.placement.mon.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'rook-ceph-mon' } } },
    ]);
  });

  it('keeps the two MDS and the two managers in distinct zones', () => {
    expect(fs.spec.metadataServer.placement.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('topology.kubernetes.io/zone');
    expect(cluster.spec.placement.mgr.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('topology.kubernetes.io/zone');
  });

  it('survives the loss of any one zone, MDS included (from the rendered objects)', () => {
    const report = worstCaseStorageLoss(objects, spec.topology.nodes, { model: 'failure-domains' });
    const zoneA = spec.topology.nodes.filter((n) => n.failureDomain === 'zone-a').map((n) => n.name);
    expect(zoneA).toEqual(['keelson-controller-1', 'keelson-worker-1', 'keelson-worker-4']);
    expect(report.scenarios).toBe(3);
    expect(report).toMatchObject({ quorumAndPoolsOk: true, metadataServersOk: true });
    expect(report.checks.find((c) => c.what === 'monitors')).toMatchObject({ total: 5, lost: 2, left: 3 });
    expect(report.checks.find((c) => c.pool === 'ceph-block')).toMatchObject({ total: 3, lost: 1, left: 2, failedNodes: zoneA });
    expect(problemsOf(objects)).toEqual([]);
  });
});

describe('RookStorage erasure coding', () => {
  it('adds ceph-block-ec with k+1 coding chunks where the arithmetic allows, and it survives k failures', () => {
    const spec = specFor(5, 1);
    const { chart, objects } = render(spec, { erasureCoded: { dataChunks: 3 } });
    expect(chart.erasureCodedBlockClass).toBe('ceph-block-ec');
    expect(chart.overheadSummary).toMatch(/^block, erasure-coded \(ceph-block-ec\): 3\+3 chunks/m);
    expect(find(objects, 'CephBlockPool', 'ceph-block-ec-data').spec).toEqual({ failureDomain: 'host', erasureCoded: { dataChunks: 3, codingChunks: 3 }, parameters: { min_size: '4' } });
    expect(find(objects, 'StorageClass', 'ceph-block-ec').parameters).toMatchObject({ pool: 'ceph-block', dataPool: 'ceph-block-ec-data' });
    const report = worstCaseStorageLoss(objects, spec.topology.nodes, { model: 'any-third', k: 2 });
    expect(report.checks.find((c) => c.pool === 'ceph-block-ec-data')).toMatchObject({ total: 6, needed: 4, lost: 2, left: 4, ok: true });
    expect(problemsOf(objects)).toEqual([]);
  });

  it('refuses erasure coding that needs more chunks than nodes, with the arithmetic', () => {
    expect(() => render(specFor(5, 1), { erasureCoded: { dataChunks: 4 } })).toThrow(
      'RookStorage: erasureCoded.dataChunks is 4: surviving the loss of 2 needs 3 coding chunks (k+1), so 4+3 = 7 chunks on distinct nodes, but there are only 6. Use dataChunks <= 3',
    );
    expect(() => render(specFor(3, 0), { erasureCoded: { dataChunks: 2 } })).toThrow(/needs 2 coding chunks .* only 3\. Erasure coding needs at least 4 nodes; leave erasureCoded unset/);
  });

  it('refuses a single data chunk', () => {
    expect(() => render(specFor(5, 1), { erasureCoded: { dataChunks: 1 } })).toThrow(/erasureCoded.dataChunks is 1; use an integer of at least 2/);
  });
});

describe('RookStorage refusals', () => {
  const six = specFor(5, 1);

  it('refuses more monitors than Ceph runs', () => {
    expect(() => render(withBudget(six, { cephMonitors: 11 }))).toThrow(/budget.cephMonitors is 11 \(2k\+1 with k = 2\); Ceph runs at most 9 monitors/);
  });

  it('refuses an even monitor count', () => {
    expect(() => render(withBudget(six, { cephMonitors: 4 }))).toThrow(/budget.cephMonitors is 4; Ceph monitors need an odd count.*Use 5 or 3/);
  });

  it('refuses more monitors than nodes', () => {
    expect(() => render(withBudget(specFor(3, 0), { cephMonitors: 5 }))).toThrow(/cephMonitors is 5 but there are only 3 nodes; monitors run one per node/);
  });

  it('refuses a pool that would drop below min_size after k failures', () => {
    expect(() => render(withBudget(six, { poolSize: 3 }))).toThrow('RookStorage: budget.poolSize is 3; losing 2 failure domains would leave 1 copy, below min_size 2. Use poolSize 4 (k+2)');
  });

  it('refuses a min_size of 1', () => {
    expect(() => render(withBudget(six, { poolMinSize: 1 }))).toThrow(/poolMinSize is 1; a pool must never accept writes with a single copy/);
  });

  it('refuses more copies than nodes', () => {
    expect(() => render(withBudget(specFor(3, 0), { poolSize: 5 }))).toThrow(/pools keep 5 copies on distinct nodes \(failure domain host\) but there are only 3 nodes/);
  });

  it('refuses more copies than zones', () => {
    expect(() => render(withBudget(specFor(3, 6, { domains: 3 }), { poolSize: 4 }))).toThrow(/pools keep 4 copies on distinct zones \(failure domain zone\) but there are only 3 zones/);
  });

  it('refuses monitors that cannot spread evenly over the zones', () => {
    const spec = specFor(7, 1, { domains: 3 });
    // 8 nodes dealt 4/3/1 instead of round-robin: zone-c cannot hold its 2 of 7 monitors.
    const zones = ['zone-a', 'zone-a', 'zone-a', 'zone-a', 'zone-b', 'zone-b', 'zone-b', 'zone-c'];
    const nodes = spec.topology.nodes.map((n, i) => ({ ...n, failureDomain: zones[i] }));
    const skewed = withBudget({ ...spec, topology: { ...spec.topology, nodes } }, { cephMonitors: 7 });
    expect(() => render(skewed)).toThrow('RookStorage: 7 monitors spread evenly over 3 zones need at least 2 nodes in every zone; zone-c has 1. Add workers');
  });

  it('refuses monitors whose quorum one zone can take', () => {
    expect(() => render(withBudget(specFor(3, 6, { domains: 3 }), { cephMonitors: 1 }))).toThrow(/1 monitors over 3 zones put up to 1 in one zone; losing it leaves 0, short of quorum \(1\)/);
  });

  it('refuses a device filter that is not an anchored device path or not a regular expression', () => {
    expect(() => render(six, { devicePathFilter: 'sd[b-z]' })).toThrow(/devicePathFilter "sd\[b-z\]" must be anchored at a device path/);
    expect(() => render(six, { devicePathFilter: undefined as unknown as string })).toThrow(/devicePathFilter is undefined; pass the by-id link of the volume the node provider attaches/);
    expect(() => render(six, { devicePathFilter: '^/dev/(' })).toThrow(/devicePathFilter "\^\/dev\/\(" is not a regular expression/);
  });

  it('refuses a negative failover delay', () => {
    expect(() => render(six, { failoverSeconds: -1 })).toThrow(/failoverSeconds is -1; use a whole number of seconds/);
  });
});

describe('RookStorage declarations', () => {
  it('declares the Ceph health gate on the CephCluster it renders, at the field Rook reports health in', () => {
    const { chart, objects } = render(specFor(5, 1));
    const [gate] = chart.healthGates;
    expect(gate.check).toEqual({ kind: 'status', resource: 'cephclusters.ceph.rook.io', namespace: 'rook-ceph', field: 'status.ceph.health', healthy: 'HEALTH_OK' });
    const { resource, namespace } = gate.check as { resource: string; namespace: string };
    const [plural, ...group] = resource.split('.');
    const cluster = find(objects, 'CephCluster', 'rook-ceph');
    expect([`${cluster.kind.toLowerCase()}s`, cluster.apiVersion.split('/')[0], cluster.metadata.namespace]).toEqual([plural, group.join('.'), namespace]);
  });

  it("states its raw-space price as the storage layer's overhead summary", () => {
    const spec = specFor(5, 1);
    expect(render(spec).chart.overheadSummary).toMatch(/^raw: 6 volumes of \d+ GiB[^]*block \(ceph-block\): 4 copies on distinct nodes/);
  });
});
