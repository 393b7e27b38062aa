import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import { afterCrds, LayerChart, leaveLostNodeAfter, onePodAtATime, requiredAntiAffinity, SYNC_WAVE, UpstreamHelmChart, UpstreamManifests } from '@keelson/cluster-kit';
import { endpoints, RECOVERY, VELERO_SNAPSHOT_CLASS_LABEL, type HealthGate, type LayerDeclarations, type PlatformSpec, type StorageLayer } from '@keelson/platform-spec';
import type { IStorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import {
  CephBlockPool,
  CephCluster,
  CephClusterSpecResourcesLimits,
  CephClusterSpecResourcesRequests,
  CephFilesystem,
  CephFilesystemSpecMetadataServerResourcesLimits,
  CephFilesystemSpecMetadataServerResourcesRequests,
  type CephClusterSpecPlacement,
} from './generated/ceph.rook.io';
import { VolumeSnapshotClass, VolumeSnapshotClassDeletionPolicy } from './generated/snapshot.storage.k8s.io';
import { cephCsiDriversValues, controllerPluginName, csiDriverName, type CephCsiDriversValues } from './internal/csi-drivers';
import { planStorage, type StoragePlan } from './internal/plan';
import { storageOverhead } from './overhead';
import { CEPH_CSI_DRIVERS_CHART, CEPH_IMAGE, CSI_SNAPSHOTTER, ROOK_CEPH_CHART } from './versions';

/** Namespace of the operator, the CephCluster and the CSI drivers (planned in platform-spec). */
export const ROOK_NAMESPACE = 'rook-ceph';

/** Requests and memory limit of one kind of Ceph daemon. */
export interface CephDaemonResources {
  readonly cpu: string;
  readonly memory: string;
  /** Memory limit; Rook derives the OSD memory target and MDS cache size from it. */
  readonly memoryLimit: string;
}

/** Resources of every Ceph daemon Keelson sizes. */
export interface CephResources {
  readonly mon: CephDaemonResources;
  readonly mgr: CephDaemonResources;
  readonly osd: CephDaemonResources;
  readonly mds: CephDaemonResources;
}

/**
 * Default daemon resources for 4 vCPU / 8 GiB nodes: every node runs a mon
 * (2k+1 of N) and an OSD, some a mgr or an MDS.
 *
 * @see https://rook.io/docs/rook/v1.20/CRDs/Cluster/ceph-cluster-crd/#cluster-wide-resources-configuration-settings
 */
export const DEFAULT_CEPH_RESOURCES: CephResources = {
  mon: { cpu: '250m', memory: '1Gi', memoryLimit: '2Gi' },
  mgr: { cpu: '250m', memory: '512Mi', memoryLimit: '1Gi' },
  osd: { cpu: '500m', memory: '2Gi', memoryLimit: '4Gi' },
  mds: { cpu: '250m', memory: '1Gi', memoryLimit: '2Gi' },
};

/**
 * The part of the rook-ceph chart's values Keelson sets, typed: every key
 * exists in the chart's `values.yaml` (the subchart's under
 * `ceph-csi-operator`). The chart has no values schema, so a key it does not
 * know would be ignored without a word; the tests check each one.
 *
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/charts/rook-ceph/values.yaml
 * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/deploy/charts/ceph-csi-operator/values.yaml
 */
export interface RookCephOperatorValues {
  /** The chart creates and upgrades the Rook CRDs. */
  readonly crds: { readonly enabled: true };
  readonly resources: { readonly requests: { readonly cpu: string; readonly memory: string }; readonly limits: { readonly memory: string } };
  readonly priorityClassName: string;
  /** OSDs are selected by a by-id path filter, so the device discovery DaemonSet is not needed. */
  readonly enableDiscoveryDaemon: false;
  readonly monitoring: { readonly enabled: false };
  /**
   * The operator leaves an unreachable node after the chart's
   * `unreachableNodeTolerationSeconds` (5); this adds the same bound for a
   * not-ready node, which would otherwise keep it for the default 300 s.
   */
  readonly tolerations: readonly IToleration[];
  /** The ceph-csi-operator subchart (named by its alias). */
  readonly 'ceph-csi-operator': {
    /** The ceph-csi-operator is a leader-elected singleton: it leaves a lost node within the failover bound. */
    readonly controllerManager: { readonly tolerations: readonly IToleration[] };
  };
  readonly csi: {
    /**
     * Installs the ceph-csi-operator subchart, which brings the `csi.ceph.io`
     * CRDs the drivers chart needs (the chart's default; stated so it is not lost).
     */
    readonly installCsiOperator: true;
  };
}

/** Props for {@link RookStorage}. */
export interface RookStorageProps {
  /** The checked platform spec: its fault budget sizes mons and pools. */
  readonly spec: PlatformSpec;
  /**
   * Regular expression over device paths (udev links included) that selects
   * the OSD devices on every node, anchored at `^/dev/`: the by-id link of
   * the raw volume the node provider attaches
   * (`NodeProvider.volumeDevicePathFilter(spec)`). Never `useAllDevices`.
   */
  readonly devicePathFilter: string;
  /**
   * Adds the erasure-coded block class `ceph-block-ec` with this many data
   * chunks and k+1 coding chunks (one chunk per failure domain), when the
   * arithmetic allows: dataChunks >= 2 and dataChunks + k + 1 <= failure domains.
   * @default - no erasure-coded class
   */
  readonly erasureCoded?: { readonly dataChunks: number };
  /**
   * Requests and memory limits of the Ceph daemons.
   * @default DEFAULT_CEPH_RESOURCES
   */
  readonly resources?: Partial<CephResources>;
  /**
   * Seconds before the mgr and MDS pods, the ceph-csi-operator and the CSI
   * controller plugins leave a node that is unreachable or not ready (they
   * hold no local state and restart elsewhere).
   * @default 10 (platform-spec's RECOVERY.failoverTolerationSeconds: back within the recovery bound)
   */
  readonly failoverSeconds?: number;
}

/** The rook-ceph chart's `unreachableNodeTolerationSeconds` default, used for not-ready too. */
const ROOK_OPERATOR_FAILOVER_SECONDS = 5;

/**
 * Sync waves inside the storage folder, in the order Rook's upgrade guide
 * gives: the operator chart (with the namespace, the Rook and `csi.ceph.io`
 * CRDs), the CSI drivers chart, then the cluster, its pools and the classes.
 * Argo CD starts a wave once the Applications of the wave before are healthy.
 *
 * @see https://github.com/rook/rook/blob/v1.20.6/Documentation/Upgrade/rook-upgrade.md
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 */
const WAVE = { operator: 0, csiDrivers: 1, cluster: 2, pools: 3, classes: 4 } as const;

/** Label Velero selects VolumeSnapshotClasses by (one per CSI driver): the storage/backups contract in platform-spec. */
export { VELERO_SNAPSHOT_CLASS_LABEL };

const RBD_DRIVER = csiDriverName(ROOK_NAMESPACE, 'rbd');
const CEPHFS_DRIVER = csiDriverName(ROOK_NAMESPACE, 'cephfs');

/**
 * The storage layer: Rook and Ceph sized by the fault budget.
 *
 * - the rook-ceph operator chart (pinned) through an Argo CD Application;
 * - the ceph-csi-drivers chart (pinned) with Rook's values, its CSI
 *   controller plugins k+1 one per node (or zone) with a PodDisruptionBudget;
 * - a CephCluster with 2k+1 monitors one per node, two managers, an OSD on
 *   the raw volume of every node, msgr2 only and encrypted on the wire, the
 *   dashboard over TLS and PodDisruptionBudgets managed by Rook;
 * - a replicated CephBlockPool behind the default StorageClass `ceph-block`
 *   and a CephFilesystem behind `ceph-filesystem` (ReadWriteMany), each
 *   keeping k+2 copies on distinct hosts (3 on distinct zones under the
 *   failure-domains model) with min_size 2;
 * - VolumeSnapshotClasses for both, labelled for Velero.
 *
 * @see https://rook.io/docs/rook/v1.20/CRDs/Cluster/ceph-cluster-crd/
 */
export class RookStorage extends LayerChart implements StorageLayer, LayerDeclarations {
  /** Between nodes of an upgrade: Ceph must have recovered (every placement group clean) before the next node leaves. */
  public readonly healthGates: readonly HealthGate[] = [
    {
      name: 'Ceph HEALTH_OK',
      // The CephCluster's own status, no exec into a toolbox.
      check: { kind: 'status', resource: 'cephclusters.ceph.rook.io', namespace: ROOK_NAMESPACE, field: 'status.ceph.health', healthy: 'HEALTH_OK' },
      fix: `see "kubectl -n ${ROOK_NAMESPACE} get cephcluster" (status.ceph.details); recovery after a node replacement can take a while`,
    },
  ];
  public readonly blockClass = 'ceph-block';
  public readonly filesystemClass = 'ceph-filesystem';
  public readonly blockSnapshotClass = 'ceph-block-snapshot';
  public readonly filesystemSnapshotClass = 'ceph-filesystem-snapshot';
  /** The erasure-coded block class, when `erasureCoded` is set. */
  public readonly erasureCodedBlockClass?: string;
  /** What the pools' copies cost in raw space (storageOverhead), for synth's summary. */
  public readonly overheadSummary: string;
  /** What the layer derived from the fault budget. */
  public readonly plan: StoragePlan;
  public readonly operator: UpstreamHelmChart<RookCephOperatorValues>;
  /** The RBD and CephFS CSI drivers (Driver CRs the ceph-csi-operator runs). */
  public readonly csiDrivers: UpstreamHelmChart<CephCsiDriversValues>;
  /** The VolumeSnapshot CRDs, from the pinned external-snapshotter release. */
  public readonly snapshotCrds: UpstreamManifests;
  /** The CSI snapshot controller (kube-system), from the same release. */
  public readonly snapshotController: UpstreamManifests;

  constructor(scope: Construct, id: string, props: RookStorageProps) {
    super(scope, id, { spec: props.spec, layer: 'storage' });
    const { spec } = props;
    const failoverSeconds = props.failoverSeconds ?? RECOVERY.failoverTolerationSeconds;
    if (!Number.isInteger(failoverSeconds) || failoverSeconds < 0) {
      throw new Error(`RookStorage: failoverSeconds is ${failoverSeconds}; use a whole number of seconds (0 or more), e.g. 30`);
    }
    // Fails closed for callers without the type: no filter would give Ceph no OSD.
    if (typeof props.devicePathFilter !== 'string') {
      throw new Error(`RookStorage: devicePathFilter is ${JSON.stringify(props.devicePathFilter) ?? 'undefined'}; pass the by-id link of the volume the node provider attaches, NodeProvider.volumeDevicePathFilter(spec)`);
    }
    const plan = planStorage(spec, { devicePathFilter: props.devicePathFilter, erasureCodedDataChunks: props.erasureCoded?.dataChunks });
    this.plan = plan;
    this.erasureCodedBlockClass = plan.erasureCoded ? `${this.blockClass}-ec` : undefined;
    this.overheadSummary = storageOverhead(spec, { erasureCodedDataChunks: props.erasureCoded?.dataChunks });
    const resources = { ...DEFAULT_CEPH_RESOURCES, ...props.resources };

    this.operator = new UpstreamHelmChart<RookCephOperatorValues>(this, 'rook-ceph', {
      ...ROOK_CEPH_CHART,
      namespace: ROOK_NAMESPACE,
      syncWave: WAVE.operator,
      values: {
        crds: { enabled: true },
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        priorityClassName: 'system-cluster-critical',
        enableDiscoveryDaemon: false,
        monitoring: { enabled: false },
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: ROOK_OPERATOR_FAILOVER_SECONDS }],
        'ceph-csi-operator': { controllerManager: { tolerations: leaveLostNodeAfter(failoverSeconds) } },
        csi: { installCsiOperator: true },
      },
      // The Rook CRDs and the csi.ceph.io CRDs of the subchart, and the
      // cluster roles of both operators.
      clusterResources: [
        { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
    });

    // Rook 1.20 installs no CSI driver itself: this chart's Driver CRs and
    // OperatorConfig (whose CRDs the rook-ceph Application brings, a wave
    // earlier) are what the ceph-csi-operator turns into the controller
    // Deployments and node DaemonSets. Node plugins are DaemonSet pods: the
    // DaemonSet controller lets them stay on a lost node, where they serve
    // that node only, so they need no tolerations of ours.
    // https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#taints-and-tolerations
    this.csiDrivers = new UpstreamHelmChart<CephCsiDriversValues>(this, 'ceph-csi-drivers', {
      ...CEPH_CSI_DRIVERS_CHART,
      namespace: ROOK_NAMESPACE,
      syncWave: WAVE.csiDrivers,
      values: cephCsiDriversValues(ROOK_NAMESPACE, spec.budget, failoverSeconds),
      // The drivers' ClusterRoles and their bindings.
      clusterResources: [
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
    });
    // The ceph-csi-operator renders no PodDisruptionBudget for the
    // controller plugins (its driver controller owns Deployments,
    // DaemonSets, Services and ConfigMaps only): one of our own per driver,
    // selecting the `app` label it gives the pods.
    // https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/internal/controller/driver_controller.go#L176-L209
    for (const [kind, driver] of [['rbd', RBD_DRIVER], ['cephfs', CEPHFS_DRIVER]] as const) {
      const app = controllerPluginName(driver);
      onePodAtATime(this, `csi-${kind}-ctrlplugin-pdb`, { namespace: ROOK_NAMESPACE, name: app, matchLabels: { app } });
    }

    // VolumeSnapshot CRDs and the snapshot controller: Kubernetes ships
    // neither, Rook's CSI drivers need both for snapshots (and Velero for
    // its data mover). The controller is a singleton with leader election;
    // while it is being rescheduled only new snapshots wait.
    this.snapshotCrds = new UpstreamManifests(this, 'snapshot-crds', {
      repoURL: CSI_SNAPSHOTTER.repoURL,
      version: CSI_SNAPSHOTTER.version,
      path: CSI_SNAPSHOTTER.crdPath,
      namespace: ROOK_NAMESPACE,
      syncWave: WAVE.operator,
      clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }],
    });
    // Upstream runs 2 replicas with no spread and no PodDisruptionBudget: k+1, one per node, one evicted at a time.
    const snapshotLabels = { 'app.kubernetes.io/name': 'snapshot-controller' };
    this.snapshotController = new UpstreamManifests(this, 'snapshot-controller', {
      repoURL: CSI_SNAPSHOTTER.repoURL,
      version: CSI_SNAPSHOTTER.version,
      path: CSI_SNAPSHOTTER.controllerPath,
      namespace: 'kube-system',
      syncWave: WAVE.operator,
      patches: [
        {
          target: { kind: 'Deployment', name: 'snapshot-controller' },
          patch: JSON.stringify([
            { op: 'replace', path: '/spec/replicas', value: spec.budget.statelessReplicas },
            { op: 'add', path: '/spec/template/spec/affinity', value: requiredAntiAffinity(spec.budget, snapshotLabels) },
          ]),
        },
      ],
      clusterResources: [
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
    });

    onePodAtATime(this, 'snapshot-controller-pdb', { namespace: 'kube-system', name: 'snapshot-controller', matchLabels: snapshotLabels });

    this.renderCluster(plan, resources, failoverSeconds);
    this.renderPoolsAndClasses(plan, resources.mds, failoverSeconds);
    this.declareTraffic();
  }

  private renderCluster(plan: StoragePlan, resources: CephResources, failoverSeconds: number): void {
    const keepApart = (app: string, topologyKey: string) => ({
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey }],
    });
    const failover = quickFailover(failoverSeconds);
    // Under failure-domains, at most ceil(m/D) monitors per zone (maxSkew 1),
    // so losing a zone never takes a quorum. Rook places each monitor once
    // with a canary pod carrying this placement (all canaries at once, so they
    // count each other and the running monitors), then pins the monitor to
    // that node with a nodeSelector and the same constraint. minDomains and
    // nodeAffinityPolicy stay at their defaults on purpose: a pinned monitor
    // then sees only its own zone and always fits. With minDomains it would
    // see fewer zones than asked (global minimum 0), with Ignore zones it
    // cannot reach; either way the second monitor of a zone could not start
    // while Rook brings the monitors up one by one.
    // @see https://rook.io/docs/rook/v1.20/CRDs/Cluster/ceph-cluster-crd/#mon-settings (failureDomainLabel: an alternative to a topologySpreadConstraints rule)
    const monPlacement: CephClusterSpecPlacement = {
      podAntiAffinity: keepApart('rook-ceph-mon', 'kubernetes.io/hostname'),
      ...(plan.failureDomain === 'zone'
        ? {
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'rook-ceph-mon' } } },
            ],
          }
        : {}),
    };
    const daemon = (r: CephDaemonResources) => ({
      requests: { cpu: CephClusterSpecResourcesRequests.fromString(r.cpu), memory: CephClusterSpecResourcesRequests.fromString(r.memory) },
      limits: { memory: CephClusterSpecResourcesLimits.fromString(r.memoryLimit) },
    });

    new CephCluster(this, 'ceph-cluster', {
      metadata: { name: ROOK_NAMESPACE, namespace: ROOK_NAMESPACE, annotations: afterCrds(this.operator, WAVE.cluster) },
      spec: {
        cephVersion: { image: CEPH_IMAGE, allowUnsupported: false },
        dataDirHostPath: '/var/lib/rook',
        skipUpgradeChecks: false,
        continueUpgradeAfterChecksEvenIfNotHealthy: false,
        mon: { count: plan.monitors, allowMultiplePerNode: false },
        mgr: { count: plan.managers, allowMultiplePerNode: false },
        dashboard: { enabled: true, ssl: true },
        network: {
          connections: {
            encryption: { enabled: true },
            compression: { enabled: false },
            requireMsgr2: true,
          },
        },
        // The kernel CephFS client must ask for msgr2 secure mode too.
        csi: { cephfs: { kernelMountOptions: 'ms_mode=secure' } },
        crashCollector: { disable: false },
        disruptionManagement: { managePodBudgets: true, osdMaintenanceTimeout: 30 },
        placement: {
          mon: monPlacement,
          mgr: { podAntiAffinity: keepApart('rook-ceph-mgr', plan.spreadTopologyKey), tolerations: failover },
        },
        priorityClassNames: { mon: 'system-node-critical', osd: 'system-node-critical', mgr: 'system-cluster-critical' },
        resources: { mon: daemon(resources.mon), mgr: daemon(resources.mgr), osd: daemon(resources.osd) },
        storage: { useAllNodes: true, useAllDevices: false, devicePathFilter: plan.devicePathFilter },
      },
    });
  }

  private renderPoolsAndClasses(plan: StoragePlan, mds: CephDaemonResources, failoverSeconds: number): void {
    const replicated = { size: plan.poolSize, requireSafeReplicaSize: true };
    // Ceph's default min_size is size - floor(size/2) (3 of 5): too high to
    // keep writing after losing k of k+2 copies.
    const parameters = { min_size: String(plan.poolMinSize) };
    const failureDomain = plan.failureDomain;

    new CephBlockPool(this, 'block-pool', {
      metadata: { name: this.blockClass, namespace: ROOK_NAMESPACE, annotations: afterCrds(this.operator, WAVE.pools) },
      spec: { failureDomain, replicated, parameters },
    });

    const fsName = this.filesystemClass;
    new CephFilesystem(this, 'filesystem', {
      metadata: { name: fsName, namespace: ROOK_NAMESPACE, annotations: afterCrds(this.operator, WAVE.pools) },
      spec: {
        metadataPool: { failureDomain, replicated, parameters },
        dataPools: [{ name: 'data0', failureDomain, replicated, parameters }],
        preserveFilesystemOnDelete: true,
        metadataServer: {
          activeCount: 1,
          activeStandby: true,
          placement: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: { app: 'rook-ceph-mds', rook_file_system: fsName } }, topologyKey: plan.spreadTopologyKey },
              ],
            },
            tolerations: quickFailover(failoverSeconds),
          },
          priorityClassName: 'system-cluster-critical',
          resources: {
            requests: {
              cpu: CephFilesystemSpecMetadataServerResourcesRequests.fromString(mds.cpu),
              memory: CephFilesystemSpecMetadataServerResourcesRequests.fromString(mds.memory),
            },
            limits: { memory: CephFilesystemSpecMetadataServerResourcesLimits.fromString(mds.memoryLimit) },
          },
        },
      },
    });

    const rbdSecrets = csiSecrets('rbd');
    const storageClass = (id: string, manifest: Omit<IStorageClass, 'apiVersion' | 'kind'>) =>
      new ApiObject(this, id, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', ...manifest });
    const block = (name: string, pools: Record<string, string>, isDefault: boolean) =>
      storageClass(`storage-class-${name}`, {
        metadata: {
          name,
          annotations: { [SYNC_WAVE]: String(WAVE.classes), ...(isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {}) },
        },
        provisioner: RBD_DRIVER,
        parameters: {
          clusterID: ROOK_NAMESPACE,
          ...pools,
          imageFormat: '2',
          // Flatcar's kernel (>= 5.4) maps every feature; exclusive-lock and
          // object-map make snapshots and fast-diff backups cheap.
          imageFeatures: 'layering,fast-diff,object-map,deep-flatten,exclusive-lock',
          // The kernel RBD client must use msgr2 secure mode: the cluster encrypts every connection.
          mapOptions: 'ms_mode=secure',
          'csi.storage.k8s.io/fstype': 'ext4',
          ...rbdSecrets,
        },
        reclaimPolicy: 'Retain',
        allowVolumeExpansion: true,
        volumeBindingMode: 'Immediate',
      });
    block(this.blockClass, { pool: this.blockClass }, true);

    storageClass('storage-class-filesystem', {
      metadata: { name: this.filesystemClass, annotations: { [SYNC_WAVE]: String(WAVE.classes) } },
      provisioner: CEPHFS_DRIVER,
      parameters: { clusterID: ROOK_NAMESPACE, fsName, pool: `${fsName}-data0`, ...csiSecrets('cephfs') },
      reclaimPolicy: 'Retain',
      allowVolumeExpansion: true,
      volumeBindingMode: 'Immediate',
    });

    if (plan.erasureCoded) {
      const ec = plan.erasureCoded;
      const dataPool = `${this.blockClass}-ec-data`;
      new CephBlockPool(this, 'block-pool-ec', {
        metadata: { name: dataPool, namespace: ROOK_NAMESPACE, annotations: afterCrds(this.operator, WAVE.pools) },
        spec: {
          failureDomain,
          erasureCoded: { dataChunks: ec.dataChunks, codingChunks: ec.codingChunks },
          parameters: { min_size: String(ec.minSize) },
        },
      });
      // RBD keeps image metadata in a replicated pool and data in the EC pool.
      block(`${this.blockClass}-ec`, { pool: this.blockClass, dataPool }, false);
    }

    // Delete, not Retain: Velero sets the snapshot contents it needs to
    // Retain itself, and its data mover deletes its temporary snapshots;
    // Retain here would leak RBD snapshots inside Ceph.
    const snapshotClass = (id: string, name: string, driver: string, kind: 'rbd' | 'cephfs') =>
      new VolumeSnapshotClass(this, id, {
        metadata: { name, labels: { [VELERO_SNAPSHOT_CLASS_LABEL]: 'true' }, annotations: afterCrds(this.snapshotCrds, WAVE.classes) },
        driver,
        deletionPolicy: VolumeSnapshotClassDeletionPolicy.DELETE,
        parameters: {
          clusterID: ROOK_NAMESPACE,
          'csi.storage.k8s.io/snapshotter-secret-name': `rook-csi-${kind}-provisioner`,
          'csi.storage.k8s.io/snapshotter-secret-namespace': ROOK_NAMESPACE,
        },
      });
    snapshotClass('snapshot-class-block', this.blockSnapshotClass, RBD_DRIVER, 'rbd');
    snapshotClass('snapshot-class-filesystem', this.filesystemSnapshotClass, CEPHFS_DRIVER, 'cephfs');
  }

  private declareTraffic(): void {
    const rook = endpoints.pods(ROOK_NAMESPACE);
    this.allowTraffic({ from: rook, to: rook, reason: 'Ceph daemons, the Rook operator and the CSI controllers talk to each other (mons, OSDs, mgr, MDS, dashboard)' });
    this.allowTraffic({ from: rook, to: endpoints.kubeApiServer, ports: [{ port: 6443 }], reason: 'Rook, the ceph-csi-operator, the CSI provisioners and the mgr watch and update the Kubernetes API' });
    // The kernel RBD and CephFS clients and the host-network CSI node plugins
    // reach the mons (msgr2 only: 3300) and OSDs/MDS (6800-7300) from the node's address.
    this.allowTraffic({
      from: endpoints.nodes,
      to: rook,
      ports: [{ port: 3300 }, { port: 6800, endPort: 7300 }],
      reason: 'kernel Ceph clients and CSI node plugins on each node mount volumes from the mons, OSDs and MDS',
    });
  }
}

/** Tolerations that let a stateless Ceph daemon leave a failed node after `seconds`. */
function quickFailover(seconds: number) {
  return ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds }));
}

/** The Secrets Rook creates for a CSI driver, as StorageClass parameters. @see https://github.com/rook/rook/blob/v1.20.6/deploy/examples/csi/rbd/storageclass.yaml */
function csiSecrets(driver: 'rbd' | 'cephfs'): Record<string, string> {
  const provisioner = `rook-csi-${driver}-provisioner`;
  return {
    ...(driver === 'rbd'
      ? { 'csi.storage.k8s.io/controller-publish-secret-name': provisioner, 'csi.storage.k8s.io/controller-publish-secret-namespace': ROOK_NAMESPACE }
      : {}),
    'csi.storage.k8s.io/provisioner-secret-name': provisioner,
    'csi.storage.k8s.io/provisioner-secret-namespace': ROOK_NAMESPACE,
    'csi.storage.k8s.io/controller-expand-secret-name': provisioner,
    'csi.storage.k8s.io/controller-expand-secret-namespace': ROOK_NAMESPACE,
    'csi.storage.k8s.io/node-stage-secret-name': `rook-csi-${driver}-node`,
    'csi.storage.k8s.io/node-stage-secret-namespace': ROOK_NAMESPACE,
  };
}
