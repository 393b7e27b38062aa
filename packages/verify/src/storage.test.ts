import { type DesiredObject, type DesiredState, type K8sObject } from '@keelson/upstream';
import { checkStorage } from './storage';

jest.setTimeout(300_000);

const RBD = 'rook-ceph.rbd.csi.ceph.com';
const CEPHFS = 'rook-ceph.cephfs.csi.ceph.com';
const messages = (state: DesiredState) => checkStorage(state).findings.map((f) => f.message);

/** An object of `application`, placed in `namespace` when it is namespaced (as the renderer does). */
const object = (application: string, o: K8sObject): DesiredObject => ({
  object: o,
  application,
  wave: 0,
  ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
  source: `charts-out/${application}/${String(o.kind).toLowerCase()}-${o.metadata?.name}.yaml`,
});

const storageClass = (name: string, provisioner: string, isDefault = false): K8sObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name, ...(isDefault ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}) },
  provisioner,
});
const snapshotClass = (name: string, driver: string): K8sObject => ({ apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshotClass', metadata: { name }, driver, deletionPolicy: 'Delete' });
const cephDriver = (name: string, namespace = 'rook-ceph'): K8sObject => ({ apiVersion: 'csi.ceph.io/v1', kind: 'Driver', metadata: { name, namespace }, spec: {} });
const csiDriver = (name: string): K8sObject => ({ apiVersion: 'storage.k8s.io/v1', kind: 'CSIDriver', metadata: { name }, spec: { attachRequired: false } });
const deployment = (name: string, namespace: string, image: string, env: Array<{ name: string; value: string }> = []): K8sObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: { replicas: 2, template: { spec: { containers: [{ name, image, env }] } } },
});
const crd = (plural: string): K8sObject => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.snapshot.storage.k8s.io` }, spec: { group: 'snapshot.storage.k8s.io', scope: 'Cluster' } });
const pvc = (name: string, namespace: string, storageClassName?: string): K8sObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...(storageClassName !== undefined ? { storageClassName } : {}) },
});

/**
 * Keelson's storage layer in small: Rook's chart deploying the
 * ceph-csi-operator, the ceph-csi-drivers chart's Drivers, the snapshot CRDs
 * and controller, the Ceph classes (block the default), and an app's PVC.
 */
function storage(options: { drop?: (o: K8sObject) => boolean; add?: DesiredObject[] } = {}): DesiredState {
  const objects = [
    object('storage-rook-ceph', deployment('ceph-csi-controller-manager', 'rook-ceph', 'quay.io/cephcsi/ceph-csi-operator:v1.0.4', [{ name: 'WATCH_NAMESPACE', value: '' }])),
    object('storage-ceph-csi-drivers', cephDriver(RBD)),
    object('storage-ceph-csi-drivers', cephDriver(CEPHFS)),
    ...['volumesnapshotclasses', 'volumesnapshots', 'volumesnapshotcontents'].map((p) => object('storage-snapshot-crds', crd(p))),
    object('storage-snapshot-controller', deployment('snapshot-controller', 'kube-system', 'registry.k8s.io/sig-storage/snapshot-controller:v8.5.0')),
    object('storage', storageClass('ceph-block', RBD, true)),
    object('storage', storageClass('ceph-filesystem', CEPHFS)),
    object('storage', snapshotClass('ceph-block-snapshot', RBD)),
    object('storage', snapshotClass('ceph-filesystem-snapshot', CEPHFS)),
    object('apps', pvc('nextcloud-html', 'nextcloud', 'ceph-filesystem')),
  ].filter((o) => !options.drop?.(o.object));
  return { applications: [], objects: [...objects, ...(options.add ?? [])] };
}

describe('checkStorage on hand-made desired states', () => {
  it('passes classes whose drivers a reconciled ceph-csi-operator Driver deploys, with the snapshot CRDs and controller, and counts what it checked', () => {
    const result = checkStorage(storage());
    expect(result.findings).toEqual([]);
    expect(result).toMatchObject({ check: 'storage', ok: true, summary: '2 StorageClasses and 2 VolumeSnapshotClasses checked for a deployed driver, 1 volume claims for a StorageClass that exists' });
  });

  describe('drivers', () => {
    it('refuses every StorageClass and VolumeSnapshotClass whose driver nothing deploys, naming the class, the driver and the chart to install', () => {
      const result = checkStorage(storage({ drop: (o) => o.kind === 'Driver' && o.metadata?.name === RBD }));
      expect(result.findings).toEqual([
        {
          file: 'charts-out/storage/storageclass-ceph-block.yaml',
          application: 'storage',
          message: `StorageClass ceph-block (Application storage): its provisioner ${RBD} is deployed by nothing in the desired state (no CSIDriver, no ceph-csi-operator Driver, no external provisioner of that name): every PVC of the class stays Pending; install the Ceph-CSI drivers' chart (ceph-csi-drivers from https://ceph.github.io/ceph-csi-operator, as Rook v1.20 requires) with a Driver named ${RBD}, next to the ceph-csi-operator the rook-ceph chart deploys`,
        },
        {
          file: 'charts-out/storage/volumesnapshotclass-ceph-block-snapshot.yaml',
          application: 'storage',
          message: expect.stringMatching(/^VolumeSnapshotClass ceph-block-snapshot \(Application storage\): its driver rook-ceph\.rbd\.csi\.ceph\.com is deployed by nothing .*: no snapshot of the class is ever taken; install the Ceph-CSI drivers' chart/),
        },
      ]);
    });

    it('takes a Driver as deployed only where a ceph-csi-operator Deployment watches its namespace (its own, or WATCH_NAMESPACE)', () => {
      const elsewhere = storage({ drop: (o) => o.kind === 'Driver', add: [object('storage-ceph-csi-drivers', cephDriver(RBD, 'ceph-csi')), object('storage-ceph-csi-drivers', cephDriver(CEPHFS, 'rook-ceph'))] });
      expect(messages(elsewhere)).toEqual([
        expect.stringMatching(/^StorageClass ceph-block \(Application storage\): its provisioner rook-ceph\.rbd\.csi\.ceph\.com has a ceph-csi-operator Driver ceph-csi\/rook-ceph\.rbd\.csi\.ceph\.com, but no ceph-csi-operator Deployment watches namespace ceph-csi, .*; install the Ceph-CSI drivers' chart/),
        expect.stringMatching(/^VolumeSnapshotClass ceph-block-snapshot .* no ceph-csi-operator Deployment watches namespace ceph-csi/),
      ]);
      const watching = storage({
        drop: (o) => o.kind === 'Driver' || o.kind === 'Deployment',
        add: [
          object('storage-rook-ceph', deployment('ceph-csi-controller-manager', 'rook-ceph', 'quay.io/cephcsi/ceph-csi-operator:v1.0.4', [{ name: 'WATCH_NAMESPACE', value: 'ceph-csi,other' }])),
          object('storage-snapshot-controller', deployment('snapshot-controller', 'kube-system', 'registry.k8s.io/sig-storage/snapshot-controller:v8.5.0')),
          object('storage-ceph-csi-drivers', cephDriver(RBD, 'ceph-csi')),
          object('storage-ceph-csi-drivers', cephDriver(CEPHFS, 'rook-ceph')),
        ],
      });
      expect(messages(watching)).toEqual([]);
    });

    it('refuses a Driver no ceph-csi-operator reconciles at all', () => {
      const found = messages(storage({ drop: (o) => o.metadata?.name === 'ceph-csi-controller-manager' }));
      expect(found).toEqual(['ceph-block', 'ceph-filesystem', 'ceph-block-snapshot', 'ceph-filesystem-snapshot'].map((name) => expect.stringMatching(new RegExp(`^(StorageClass|VolumeSnapshotClass) ${name} .* has a ceph-csi-operator Driver rook-ceph/\\S+, but no ceph-csi-operator Deployment watches namespace rook-ceph`))));
    });

    it('takes a CSIDriver, an external provisioner announcing its name, or kubernetes.io/no-provisioner as deployed', () => {
      const state = storage({
        drop: (o) => o.kind === 'Driver',
        add: [
          object('storage', csiDriver(RBD)),
          object('storage', csiDriver(CEPHFS)),
          object('local', storageClass('local-path', 'rancher.io/local-path')),
          object('local', deployment('local-path-provisioner', 'local-path-storage', 'rancher/local-path-provisioner:v0.0.31', [{ name: 'PROVISIONER_NAME', value: 'rancher.io/local-path' }])),
          object('local', storageClass('local-disks', 'kubernetes.io/no-provisioner')),
        ],
      });
      expect(messages(state)).toEqual([]);
    });

    it('names the generic fix for a driver outside Ceph', () => {
      expect(messages(storage({ add: [object('storage', storageClass('fast', 'ebs.csi.aws.com'))] }))).toEqual([
        "StorageClass fast (Application storage): its provisioner ebs.csi.aws.com is deployed by nothing in the desired state (no CSIDriver, no ceph-csi-operator Driver, no external provisioner of that name): every PVC of the class stays Pending; install the driver's chart so a CSIDriver named ebs.csi.aws.com is deployed (e.g. ceph-csi-drivers for Rook v1.20)",
      ]);
    });
  });

  describe('snapshots', () => {
    it('refuses VolumeSnapshotClasses without the snapshot CRDs, naming the missing CRDs and where to get them', () => {
      expect(messages(storage({ drop: (o) => o.kind === 'CustomResourceDefinition' && o.metadata?.name !== 'volumesnapshots.snapshot.storage.k8s.io' }))).toEqual([
        'VolumeSnapshotClass ceph-block-snapshot (Application storage) and 1 more snapshot object need the snapshot CRDs, but volumesnapshotclasses.snapshot.storage.k8s.io, volumesnapshotcontents.snapshot.storage.k8s.io are not in the desired state: the API server rejects every snapshot object; install the CRDs of kubernetes-csi/external-snapshotter (client/config/crd) from an Application at an earlier wave',
      ]);
    });

    it('refuses VolumeSnapshotClasses without a running snapshot controller (none, or scaled to zero)', () => {
      const expected = [expect.stringMatching(/^VolumeSnapshotClass ceph-block-snapshot \(Application storage\) and 1 more snapshot object need the snapshot controller, but no Deployment of the desired state runs registry\.k8s\.io\/sig-storage\/snapshot-controller: .*; deploy kubernetes-csi\/external-snapshotter's deploy\/kubernetes\/snapshot-controller$/)];
      expect(messages(storage({ drop: (o) => o.metadata?.name === 'snapshot-controller' }))).toEqual(expected);
      const scaledDown = deployment('snapshot-controller', 'kube-system', 'registry.k8s.io/sig-storage/snapshot-controller:v8.5.0');
      expect(messages(storage({ drop: (o) => o.metadata?.name === 'snapshot-controller', add: [object('storage-snapshot-controller', { ...scaledDown, spec: { ...(scaledDown.spec as object), replicas: 0 } })] }))).toEqual(expected);
    });

    it('needs neither when nothing uses snapshots', () => {
      expect(messages(storage({ drop: (o) => o.kind === 'VolumeSnapshotClass' || o.kind === 'CustomResourceDefinition' || o.metadata?.name === 'snapshot-controller' }))).toEqual([]);
    });

    it('refuses a VolumeSnapshot naming a class that does not exist', () => {
      const snapshot = (className?: string): K8sObject => ({ apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', metadata: { name: 'db', namespace: 'nextcloud' }, spec: { source: { persistentVolumeClaimName: 'data' }, ...(className ? { volumeSnapshotClassName: className } : {}) } });
      expect(messages(storage({ add: [object('apps', snapshot('ceph-block-snapshot'))] }))).toEqual([]);
      expect(messages(storage({ add: [object('apps', snapshot('fast-snapshot'))] }))).toEqual([expect.stringMatching(/^VolumeSnapshot nextcloud\/db \(Application apps\): its volumeSnapshotClassName fast-snapshot is no VolumeSnapshotClass of the desired state; name one of ceph-block-snapshot, ceph-filesystem-snapshot, or add VolumeSnapshotClass fast-snapshot$/)]);
      expect(messages(storage({ add: [object('apps', snapshot())] }))).toEqual([expect.stringContaining('VolumeSnapshot nextcloud/db (Application apps): it names no volumeSnapshotClassName and no VolumeSnapshotClass is marked')]);
    });
  });

  describe('claims', () => {
    it('refuses a PVC naming a StorageClass that does not exist, naming the claim, the class and the classes there are', () => {
      expect(checkStorage(storage({ add: [object('apps', pvc('media', 'emby', 'ceph-fs'))] })).findings).toEqual([
        {
          file: 'charts-out/apps/persistentvolumeclaim-media.yaml',
          application: 'apps',
          message: 'PersistentVolumeClaim emby/media (Application apps): its StorageClass ceph-fs is not in the desired state: the claim stays Pending; name one of ceph-block, ceph-filesystem, or add StorageClass ceph-fs',
        },
      ]);
    });

    it('refuses a StatefulSet volumeClaimTemplate, a generic ephemeral volume and a CloudNativePG Cluster naming a missing class', () => {
      const statefulSet: K8sObject = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'redis', namespace: 'argocd' }, spec: { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { storageClassName: 'gp2' } }], template: { spec: { containers: [] } } } };
      const job: K8sObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'scratch', namespace: 'apps' }, spec: { template: { spec: { containers: [], volumes: [{ name: 'tmp', ephemeral: { volumeClaimTemplate: { spec: { storageClassName: 'local' } } } }] } } } };
      const cluster: K8sObject = { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name: 'db', namespace: 'nextcloud' }, spec: { storage: { size: '10Gi', storageClass: 'ceph-block' }, walStorage: { size: '1Gi', storageClass: 'ssd' } } };
      expect(messages(storage({ add: [object('argocd', statefulSet), object('apps', job), object('apps', cluster)] }))).toEqual([
        expect.stringMatching(/^StatefulSet argocd\/redis \(Application argocd\), volumeClaimTemplate data: its StorageClass gp2 is not in the desired state/),
        expect.stringMatching(/^Job apps\/scratch \(Application apps\), ephemeral volume tmp: its StorageClass local is not in the desired state/),
        expect.stringMatching(/^Cluster nextcloud\/db \(Application apps\), spec\.walStorage: its StorageClass ssd is not in the desired state/),
      ]);
    });

    it('lets a claim without a class use the default class, and refuses it when no class is marked the default', () => {
      expect(messages(storage({ add: [object('apps', pvc('data', 'website'))] }))).toEqual([]);
      const noDefault = storage({ drop: (o) => o.metadata?.name === 'ceph-block', add: [object('storage', storageClass('ceph-block', RBD)), object('apps', pvc('data', 'website'))] });
      expect(messages(noDefault)).toEqual([
        'PersistentVolumeClaim website/data (Application apps): names no storageClassName and no StorageClass is marked storageclass.kubernetes.io/is-default-class: "true": the claim stays Pending; name a class (the desired state has StorageClasses ceph-block, ceph-filesystem), or mark one as the default',
      ]);
    });

    it('warns when several classes are marked the default', () => {
      const result = checkStorage(storage({ add: [object('storage', storageClass('other', RBD, true))] }));
      expect(result.ok).toBe(true);
      expect(result.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^2 StorageClasses are marked as the default \(ceph-block, other\)/)]);
    });

    it('refuses storageClassName "" unless a PersistentVolume without a class is there to bind', () => {
      expect(messages(storage({ add: [object('apps', pvc('static', 'website', ''))] }))).toEqual([expect.stringMatching(/^PersistentVolumeClaim website\/static \(Application apps\): storageClassName "" turns dynamic provisioning off, and no PersistentVolume without a class is in the desired state: .*; name a StorageClass/)]);
      const pv: K8sObject = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'static' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/srv' } } };
      expect(messages(storage({ add: [object('apps', pvc('static', 'website', '')), object('apps', pv)] }))).toEqual([]);
    });
  });
});

