// The storage check: every volume the platform asks for can really be made.
// A StorageClass whose provisioner nothing deploys, a VolumeSnapshotClass
// without the snapshot CRDs and controller, or a claim naming a class that
// does not exist are all valid YAML that leaves every PVC Pending forever.
import { apiGroup, type DesiredObject, type DesiredState } from '@keelson/upstream';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type K8sObject, type Loose } from './types';

const STORAGE_GROUP = 'storage.k8s.io';
const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
const CEPH_CSI_GROUP = 'csi.ceph.io';

/**
 * Provisioners the kubelet and controller-manager serve themselves: a class
 * naming one needs no driver deployed (`no-provisioner`: pre-created local
 * PersistentVolumes, bound on first consumer).
 *
 * @see https://kubernetes.io/docs/concepts/storage/storage-classes/#local
 */
export const IN_TREE_PROVISIONERS: ReadonlySet<string> = new Set(['kubernetes.io/no-provisioner']);

/**
 * The CRDs the snapshot controller and every CSI snapshotter sidecar need.
 *
 * @see https://github.com/kubernetes-csi/external-snapshotter#usage
 */
export const SNAPSHOT_CRDS: readonly string[] = ['volumesnapshotclasses.snapshot.storage.k8s.io', 'volumesnapshots.snapshot.storage.k8s.io', 'volumesnapshotcontents.snapshot.storage.k8s.io'];

/** The image of the common snapshot controller (any tag). */
export const SNAPSHOT_CONTROLLER_IMAGE = 'registry.k8s.io/sig-storage/snapshot-controller';

export const DEFAULT_CLASS = ['storageclass.kubernetes.io/is-default-class', 'storageclass.beta.kubernetes.io/is-default-class'];
const DEFAULT_SNAPSHOT_CLASS = 'snapshot.storage.kubernetes.io/is-default-class';

/** Pod templates of the workload kinds, where generic ephemeral volumes hide claims. */
const POD_SPEC_PATHS: Readonly<Record<string, (spec: Loose) => Loose>> = {
  Pod: (spec) => spec,
  Deployment: (spec) => spec?.template?.spec,
  StatefulSet: (spec) => spec?.template?.spec,
  DaemonSet: (spec) => spec?.template?.spec,
  ReplicaSet: (spec) => spec?.template?.spec,
  Job: (spec) => spec?.template?.spec,
  CronJob: (spec) => spec?.jobTemplate?.spec?.template?.spec,
};

/** The spec of an object: rendered YAML of any kind, read with guards. */
const specOf = (o: DesiredObject): Loose => o.object.spec;

/** One request for a volume of a class: a PVC, or a template the controller of its object turns into PVCs. */
export interface Claim {
  readonly holder: DesiredObject;
  /** `PersistentVolumeClaim x`, `volumeClaimTemplate data`, `ephemeral volume cache`, `spec.storage`. */
  readonly what: string;
  /** The class named; undefined when none is (the default class applies), `''` to turn dynamic provisioning off. */
  readonly storageClassName?: string;
}

/**
 * The `storage` check.
 *
 * - Every StorageClass's `provisioner` and every VolumeSnapshotClass's
 *   `driver` is deployed by the desired state: a `CSIDriver` of that name, a
 *   ceph-csi-operator `Driver` of that name in a namespace a
 *   ceph-csi-operator Deployment watches (the operator makes the CSIDriver
 *   and the plugin pods from it, under the Driver's name), an external
 *   provisioner workload announcing the name in `PROVISIONER_NAME`, or an
 *   in-tree provisioner that needs nothing (`kubernetes.io/no-provisioner`).
 * - When a VolumeSnapshotClass or VolumeSnapshot is present: the three
 *   snapshot CRDs are in the desired state and the snapshot controller runs
 *   (a Deployment with the `registry.k8s.io/sig-storage/snapshot-controller`
 *   image); each VolumeSnapshot names an existing class, or a default one is marked.
 * - Every claim (PersistentVolumeClaim, StatefulSet volumeClaimTemplate,
 *   generic ephemeral volume, CloudNativePG Cluster storage) names a
 *   StorageClass of the desired state, or names none while one class is
 *   marked `storageclass.kubernetes.io/is-default-class: "true"`;
 *   `storageClassName: ""` binds only to a pre-created PersistentVolume of no class.
 *
 * @see https://kubernetes.io/docs/concepts/storage/storage-classes/
 * @see https://kubernetes.io/docs/concepts/storage/persistent-volumes/#class-1
 * @see https://kubernetes.io/docs/concepts/storage/dynamic-provisioning/#defaulting-behavior
 * @see https://kubernetes.io/docs/concepts/storage/volume-snapshots/
 * @see https://kubernetes.io/docs/concepts/storage/ephemeral-volumes/#generic-ephemeral-volumes
 * @see https://kubernetes-csi.github.io/docs/csi-driver-object.html
 * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/internal/controller/driver_controller.go#L457-L459 (reconcileK8sCsiDriver: the CSIDriver is named after the Driver)
 * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/cmd/main.go#L153-L168 (the operator watches its own namespace and WATCH_NAMESPACE)
 * @see https://rook.io/docs/rook/latest-release/Helm-Charts/csi-drivers-chart/ (Rook v1.20: the drivers come from the ceph-csi-drivers chart)
 * @see https://cloudnative-pg.io/docs/1.30/storage
 */
export function checkStorage(desired: DesiredState): CheckResult {
  const findings: Finding[] = [];
  const warnings: Finding[] = [];
  const of = (group: string, kind: string) => desired.objects.filter((o) => o.object.kind === kind && apiGroup(String(o.object.apiVersion ?? '')) === group);
  const at = (o: DesiredObject, message: string): Finding => ({ file: o.source, application: o.application, message });

  // Drivers, and what deploys them.
  const drivers = deployedDrivers(desired.objects, of);

  const storageClasses = of(STORAGE_GROUP, 'StorageClass');
  for (const o of storageClasses) {
    const provisioner = String(o.object.provisioner ?? '');
    const missing = driverProblem(provisioner, drivers);
    if (missing) findings.push(at(o, `${describe(o.object as K8sObject)} (Application ${o.application}): its provisioner ${provisioner || '(none)'} ${missing}: every PVC of the class stays Pending; ${installDriver(provisioner)}`));
  }
  const snapshotClasses = of(SNAPSHOT_GROUP, 'VolumeSnapshotClass');
  for (const o of snapshotClasses) {
    const driver = String(o.object.driver ?? '');
    const missing = driverProblem(driver, drivers);
    if (missing) findings.push(at(o, `${describe(o.object as K8sObject)} (Application ${o.application}): its driver ${driver || '(none)'} ${missing}: no snapshot of the class is ever taken; ${installDriver(driver)}`));
  }

  // Snapshots: CRDs and the controller.
  const snapshots = of(SNAPSHOT_GROUP, 'VolumeSnapshot');
  const firstSnapshotUser = snapshotClasses[0] ?? snapshots[0];
  if (firstSnapshotUser) {
    const crds = new Set(desired.objects.filter((o) => o.object.kind === 'CustomResourceDefinition').map((o) => String(o.object.metadata?.name ?? '')));
    const missingCrds = SNAPSHOT_CRDS.filter((c) => !crds.has(c));
    const others = snapshotClasses.length + snapshots.length - 1;
    const users = `${describe(firstSnapshotUser.object as K8sObject)} (Application ${firstSnapshotUser.application})${others > 0 ? ` and ${others} more snapshot object${others > 1 ? 's' : ''}` : ''}`;
    if (missingCrds.length > 0) {
      findings.push(at(firstSnapshotUser, `${users} need the snapshot CRDs, but ${missingCrds.join(', ')} ${missingCrds.length === 1 ? 'is' : 'are'} not in the desired state: the API server rejects every snapshot object; install the CRDs of kubernetes-csi/external-snapshotter (client/config/crd) from an Application at an earlier wave`));
    }
    const controller = desired.objects.find((o) => o.object.kind === 'Deployment' && apiGroup(String(o.object.apiVersion ?? '')) === 'apps' && specOf(o)?.replicas !== 0 && containers(specOf(o)?.template?.spec).some((c) => imageName(c?.image) === SNAPSHOT_CONTROLLER_IMAGE));
    if (!controller) {
      findings.push(at(firstSnapshotUser, `${users} need the snapshot controller, but no Deployment of the desired state runs ${SNAPSHOT_CONTROLLER_IMAGE}: no VolumeSnapshot is ever bound to a VolumeSnapshotContent; deploy kubernetes-csi/external-snapshotter's deploy/kubernetes/snapshot-controller`));
    }
    const snapshotClassNames = new Set(snapshotClasses.map((c) => String(c.object.metadata?.name ?? '')));
    const defaultSnapshotClasses = snapshotClasses.filter((c) => c.object.metadata?.annotations?.[DEFAULT_SNAPSHOT_CLASS] === 'true');
    for (const o of snapshots) {
      const name = specOf(o)?.volumeSnapshotClassName;
      if (typeof name === 'string' && name !== '' && !snapshotClassNames.has(name)) {
        findings.push(at(o, `${describe(o.object as K8sObject)} (Application ${o.application}): its volumeSnapshotClassName ${name} is no VolumeSnapshotClass of the desired state; name one of ${[...snapshotClassNames].sort().join(', ') || '(none)'}, or add VolumeSnapshotClass ${name}`));
      } else if ((name === undefined || name === '') && defaultSnapshotClasses.length === 0) {
        findings.push(at(o, `${describe(o.object as K8sObject)} (Application ${o.application}): it names no volumeSnapshotClassName and no VolumeSnapshotClass is marked ${DEFAULT_SNAPSHOT_CLASS}: "true"; name a class, or mark one as the default`));
      }
    }
  }

  // Claims: a class that exists, or the default.
  const classNames = new Set(storageClasses.map((o) => String(o.object.metadata?.name ?? '')));
  const defaults = storageClasses.filter((o) => DEFAULT_CLASS.some((a) => o.object.metadata?.annotations?.[a] === 'true'));
  if (defaults.length > 1) {
    warnings.push(at(defaults[0], `${defaults.length} StorageClasses are marked as the default (${defaults.map((o) => o.object.metadata?.name).join(', ')}): Kubernetes gives a claim without a class the newest of them; mark one`));
  }
  const classless = desired.objects.filter((o) => o.object.kind === 'PersistentVolume' && !specOf(o)?.storageClassName);
  const claims = desired.objects.flatMap(claimsOf);
  for (const c of claims) {
    const who = `${describe(c.holder.object as K8sObject)} (Application ${c.holder.application})${c.what ? `, ${c.what}` : ''}`;
    const known = `the desired state has ${classNames.size === 0 ? 'no StorageClass' : `StorageClasses ${[...classNames].sort().join(', ')}`}`;
    if (c.storageClassName === undefined) {
      if (defaults.length === 0) findings.push(at(c.holder, `${who}: names no storageClassName and no StorageClass is marked storageclass.kubernetes.io/is-default-class: "true": the claim stays Pending; name a class (${known}), or mark one as the default`));
    } else if (c.storageClassName === '') {
      if (classless.length === 0) findings.push(at(c.holder, `${who}: storageClassName "" turns dynamic provisioning off, and no PersistentVolume without a class is in the desired state: the claim stays Pending; name a StorageClass (${known}), or drop the field to use the default`));
    } else if (!classNames.has(c.storageClassName)) {
      findings.push(at(c.holder, `${who}: its StorageClass ${c.storageClassName} is not in the desired state: the claim stays Pending; name one of ${[...classNames].sort().join(', ') || '(none)'}, or add StorageClass ${c.storageClassName}`));
    }
  }

  return check('storage', `${storageClasses.length} StorageClasses and ${snapshotClasses.length} VolumeSnapshotClasses checked for a deployed driver, ${claims.length} volume claims for a StorageClass that exists`, findings, warnings);
}

/** What makes each driver name real: CSIDriver objects, ceph-csi-operator Drivers (with whether an operator reconciles them), external provisioners. */
interface Drivers {
  readonly csiDrivers: ReadonlySet<string>;
  /** Driver name -> its namespace and whether a ceph-csi-operator Deployment watches it. */
  readonly cephDrivers: ReadonlyMap<string, { namespace: string; reconciled: boolean }>;
  readonly externalProvisioners: ReadonlySet<string>;
}

function deployedDrivers(objects: readonly DesiredObject[], of: (group: string, kind: string) => DesiredObject[]): Drivers {
  const csiDrivers = new Set(of(STORAGE_GROUP, 'CSIDriver').map((o) => String(o.object.metadata?.name ?? '')));
  // ceph-csi-operator Deployments and the namespaces each watches: its own, plus WATCH_NAMESPACE.
  const watched = new Set<string>();
  const externalProvisioners = new Set<string>();
  for (const o of objects) {
    const podSpec = POD_SPEC_PATHS[String(o.object.kind)]?.(o.object.spec);
    for (const c of containers(podSpec)) {
      const env = asArray<{ name?: string; value?: string }>(c?.env);
      const provisioner = env.find((e) => e?.name === 'PROVISIONER_NAME')?.value;
      if (typeof provisioner === 'string' && provisioner !== '') externalProvisioners.add(provisioner);
      if (o.object.kind !== 'Deployment' || !/(^|\/)ceph-csi-operator$/.test(imageName(c?.image))) continue;
      if (o.namespace) watched.add(o.namespace);
      for (const ns of String(env.find((e) => e?.name === 'WATCH_NAMESPACE')?.value ?? '').split(',')) if (ns.trim()) watched.add(ns.trim());
    }
  }
  const cephDrivers = new Map<string, { namespace: string; reconciled: boolean }>();
  for (const o of of(CEPH_CSI_GROUP, 'Driver')) {
    const namespace = o.namespace ?? '';
    cephDrivers.set(String(o.object.metadata?.name ?? ''), { namespace, reconciled: watched.has(namespace) });
  }
  return { csiDrivers, cephDrivers, externalProvisioners };
}

/** Why nothing deploys driver `name`, or undefined when something does. */
function driverProblem(name: string, drivers: Drivers): string | undefined {
  if (IN_TREE_PROVISIONERS.has(name) || drivers.csiDrivers.has(name) || drivers.externalProvisioners.has(name)) return undefined;
  const ceph = drivers.cephDrivers.get(name);
  if (ceph?.reconciled) return undefined;
  if (ceph) return `has a ceph-csi-operator Driver ${ceph.namespace}/${name}, but no ceph-csi-operator Deployment watches namespace ${ceph.namespace}, so nothing makes its CSIDriver and plugin pods`;
  return 'is deployed by nothing in the desired state (no CSIDriver, no ceph-csi-operator Driver, no external provisioner of that name)';
}

/** The fix for a missing driver, in the words of its upstream. */
function installDriver(name: string): string {
  if (/\.(rbd|cephfs|nfs|nvmeof)\.csi\.ceph\.com$/.test(name)) {
    return `install the Ceph-CSI drivers' chart (ceph-csi-drivers from https://ceph.github.io/ceph-csi-operator, as Rook v1.20 requires) with a Driver named ${name}, next to the ceph-csi-operator the rook-ceph chart deploys`;
  }
  return `install the driver's chart so a CSIDriver named ${name} is deployed (e.g. ceph-csi-drivers for Rook v1.20)`;
}

/** The claims an object makes: itself (a PVC), its volumeClaimTemplates, its generic ephemeral volumes, a CloudNativePG Cluster's volumes. */
export function claimsOf(o: DesiredObject): Claim[] {
  const kind = String(o.object.kind ?? '');
  const group = apiGroup(String(o.object.apiVersion ?? ''));
  const spec: Loose = o.object.spec;
  const className = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const out: Claim[] = [];
  if (kind === 'PersistentVolumeClaim' && group === '') out.push({ holder: o, what: '', storageClassName: className(spec?.storageClassName) });
  if (kind === 'StatefulSet' && group === 'apps') {
    for (const t of asArray<Loose>(spec?.volumeClaimTemplates)) out.push({ holder: o, what: `volumeClaimTemplate ${t?.metadata?.name ?? '?'}`, storageClassName: className(t?.spec?.storageClassName) });
  }
  const podSpec = POD_SPEC_PATHS[kind]?.(spec);
  for (const v of asArray<Loose>(podSpec?.volumes)) {
    const template = v?.ephemeral?.volumeClaimTemplate;
    if (isRecord(template)) out.push({ holder: o, what: `ephemeral volume ${v?.name ?? '?'}`, storageClassName: className((template.spec as Loose)?.storageClassName) });
  }
  if (kind === 'Cluster' && group === 'postgresql.cnpg.io') {
    for (const field of ['storage', 'walStorage'] as const) {
      const s = spec?.[field];
      if (!isRecord(s)) continue;
      out.push({ holder: o, what: `spec.${field}`, storageClassName: className(s.storageClass) ?? className((s.pvcTemplate as Loose)?.storageClassName) });
    }
  }
  return out;
}

function containers(podSpec: Loose): Loose[] {
  return [...asArray<Loose>(podSpec?.initContainers), ...asArray<Loose>(podSpec?.containers)];
}

/** An image reference without its tag or digest: `registry.k8s.io/sig-storage/snapshot-controller`. */
function imageName(image: unknown): string {
  const ref = typeof image === 'string' ? image.split('@')[0] : '';
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}
