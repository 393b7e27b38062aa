import { leaveLostNodeAfter, requiredAntiAffinity, type RequiredAntiAffinity } from '@keelson/cluster-kit';
import type { FaultBudget } from '@keelson/platform-spec';
import type { IToleration } from 'kubernetes-models/v1/Toleration';

/**
 * The controller plugin (provisioner, attacher, resizer, snapshotter) of one
 * CSI driver, as the ceph-csi-drivers chart copies it into the Driver CR's
 * `spec.controllerPlugin` (`templates/driver.yaml`).
 *
 * Set per driver, not in `operatorConfig.driverSpecDefaults`: the chart
 * writes `replicas` (its default 1) and `tolerations` (its default `[]`) into
 * every Driver, and the operator fills a Driver field from the defaults only
 * when it is unset, so defaults would never reach these two.
 *
 * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/deploy/charts/ceph-csi-drivers/templates/driver.yaml
 * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/internal/controller/driver_controller.go#L1760-L1936 (mergeDriverSpecs)
 */
export interface CsiControllerPluginValues {
  /** Replicas of the controller Deployment: the budget's stateless replicas (k+1). */
  readonly replicas: number;
  /**
   * At most one controller pod per node (per zone under the failure-domains
   * model). A pod anti-affinity here replaces the operator's own, which is
   * hostname only.
   * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/internal/controller/driver_controller.go#L1716-L1737
   */
  readonly affinity: RequiredAntiAffinity;
  /** A controller pod leaves an unreachable or not-ready node after `failoverSeconds`, not the default 300. */
  readonly tolerations: readonly IToleration[];
  /**
   * One pod at a time on an update, like a drain under the
   * PodDisruptionBudget; the operator's default is `Recreate`, which stops
   * every provisioner at once.
   * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/internal/controller/defaults.go#L62-L64
   */
  readonly deploymentStrategy: { readonly type: 'RollingUpdate'; readonly rollingUpdate: { readonly maxUnavailable: number; readonly maxSurge: number } };
}

/** One CSI driver the chart renders a Driver CR for. */
export interface CephCsiDriverValues {
  readonly enabled: true;
  /** The CSI driver name Rook's StorageClasses use: `<operator namespace>.<rbd|cephfs>.csi.ceph.com`. */
  readonly name: string;
  /**
   * Deploys the `csi-snapshotter` sidecar. The chart's default for RBD is
   * `none` (no sidecar, so no RBD VolumeSnapshot would ever be taken); Rook's
   * values do not change it.
   */
  readonly snapshotPolicy: 'volumeSnapshot';
  readonly controllerPlugin: CsiControllerPluginValues;
}

/** A driver Keelson does not use, named as Rook names it. */
export interface DisabledCsiDriverValues {
  readonly enabled: false;
  readonly name: string;
}

/**
 * The part of the ceph-csi-drivers chart's values Keelson sets, typed: Rook's
 * recommended values ("the drivers will fail if only configured with the
 * chart defaults") plus the fault budget of the controller plugins.
 *
 * @see https://github.com/rook/rook/blob/v1.20.6/deploy/charts/ceph-csi-drivers/values.yaml
 * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/deploy/charts/ceph-csi-drivers/values.yaml
 */
export interface CephCsiDriversValues {
  readonly operatorConfig: {
    /** The OperatorConfig goes where the ceph-csi-operator runs (it reads it from its own namespace). */
    readonly namespace: string;
    readonly driverSpecDefaults: {
      /** The image set the rook-ceph chart renders from its `csi.*` image values. */
      readonly imageSet: { readonly name: string };
      readonly nodePlugin: { readonly priorityClassName: string };
      readonly controllerPlugin: { readonly priorityClassName: string };
    };
  };
  readonly drivers: {
    readonly rbd: CephCsiDriverValues;
    readonly cephfs: CephCsiDriverValues;
    readonly nfs: DisabledCsiDriverValues;
    readonly nvmeof: DisabledCsiDriverValues;
  };
}

/** CSI driver names as Rook expects them (its StorageClasses' provisioners), for an operator in `namespace`. */
export const csiDriverName = (namespace: string, kind: 'rbd' | 'cephfs' | 'nfs' | 'nvmeof') => `${namespace}.${kind}.csi.ceph.com`;

/**
 * Name of the controller plugin Deployment the ceph-csi-operator makes for a
 * Driver, which is also the `app` label of its pods and its selector.
 *
 * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/internal/controller/driver_controller.go#L529-L546
 * @see https://github.com/ceph/ceph-csi-operator/blob/v1.0.4/internal/controller/driver_controller.go#L1676-L1678
 */
export const controllerPluginName = (driver: string) => `${driver}-ctrlplugin`;

/** Rook's recommended values with the controller plugins sized and placed by the fault budget. */
export function cephCsiDriversValues(namespace: string, budget: FaultBudget, failoverSeconds: number): CephCsiDriversValues {
  const driver = (kind: 'rbd' | 'cephfs'): CephCsiDriverValues => {
    const name = csiDriverName(namespace, kind);
    return {
      enabled: true,
      name,
      snapshotPolicy: 'volumeSnapshot',
      controllerPlugin: {
        replicas: budget.statelessReplicas,
        affinity: requiredAntiAffinity(budget, { app: controllerPluginName(name) }),
        tolerations: leaveLostNodeAfter(failoverSeconds),
        deploymentStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      },
    };
  };
  return {
    operatorConfig: {
      namespace,
      driverSpecDefaults: {
        imageSet: { name: 'rook-csi-operator-image-set-configmap' },
        nodePlugin: { priorityClassName: 'system-node-critical' },
        controllerPlugin: { priorityClassName: 'system-cluster-critical' },
      },
    },
    drivers: {
      rbd: driver('rbd'),
      cephfs: driver('cephfs'),
      nfs: { enabled: false, name: csiDriverName(namespace, 'nfs') },
      nvmeof: { enabled: false, name: csiDriverName(namespace, 'nvmeof') },
    },
  };
}
