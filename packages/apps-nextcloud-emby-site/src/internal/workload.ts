import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import type { FaultBudget, PlatformSpec, ServiceRef } from '@keelson/platform-spec';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';

/** Standard label naming the app; every Service selects on it. */
export const NAME_LABEL = 'app.kubernetes.io/name';
/** Standard label naming the part of an app (web, cron, ...). */
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** Full host name for a host label from the config (`@` is the domain itself). */
export function publicHost(spec: PlatformSpec, host: string): string {
  return host === '@' ? spec.config.domain : `${host}.${spec.config.domain}`;
}

/** A container that runs as its pod's non-root user, drops every capability and writes nothing outside its volumes. */
export function restrictedContainer(): ISecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * A pod running as `uid`:`gid`, with volumes group-owned by `gid`.
 * `OnRootMismatch` keeps a large shared volume from being re-chowned at every start.
 */
export function nonRootPod(uid: number, gid: number): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * At most one replica per node (or per failure domain under the
 * `failure-domains` model): required anti-affinity on the budget's spread key,
 * so losing k nodes takes at most k replicas.
 */
export function onePerFailureDomain(budget: FaultBudget, podLabels: Readonly<Record<string, string>>): IAffinity {
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { ...podLabels } }, topologyKey: budget.spreadTopologyKey }],
    },
  };
}

/** A PodDisruptionBudget that lets voluntary disruptions (drains, kured) take one replica at a time. */
export function disruptionBudget(scope: Construct, namespace: string, name: string, podLabels: Readonly<Record<string, string>>): ApiObject {
  const pdb: IPodDisruptionBudget = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace },
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...podLabels } } },
  };
  return new ApiObject(scope, `${name}-pdb`, pdb);
}

/** A ClusterIP Service; returns the reference the ingress and network policies use. */
export function clusterService(scope: Construct, ref: ServiceRef): ServiceRef {
  const service: IService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: ref.name, namespace: ref.namespace },
    spec: {
      type: 'ClusterIP',
      selector: { ...ref.podLabels },
      ports: [{ name: 'http', port: ref.port, targetPort: ref.targetPort ?? ref.port, protocol: 'TCP' }],
    },
  };
  new ApiObject(scope, `${ref.name}-service`, service);
  return ref;
}

/** Props of {@link volumeClaim}. */
export interface VolumeClaimOptions {
  readonly namespace: string;
  readonly name: string;
  readonly storageClass: string;
  readonly accessMode: 'ReadWriteOnce' | 'ReadWriteMany';
  readonly sizeGiB: number;
}

/** A PersistentVolumeClaim with a stable name (part of the contract: renaming it loses the data). */
export function volumeClaim(scope: Construct, o: VolumeClaimOptions): ApiObject {
  const pvc: IPersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: o.name, namespace: o.namespace },
    spec: { accessModes: [o.accessMode], storageClassName: o.storageClass, resources: { requests: { storage: `${o.sizeGiB}Gi` } } },
  };
  return new ApiObject(scope, `${o.name}-pvc`, pvc);
}
