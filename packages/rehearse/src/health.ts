import type { K8sObject } from '@keelson/upstream';

/** Argo CD's health states for one resource. */
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing';

export interface Health {
  readonly status: HealthStatus;
  readonly message: string;
}

/** Kinds whose health the rehearsal reads from the live object, as Argo CD's built-in checks do. */
export const KINDS_WITH_HEALTH: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'Pod', 'PersistentVolumeClaim', 'CustomResourceDefinition']);

type Live = K8sObject & {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
};

const condition = (o: Live, type: string) => o.status?.conditions?.find((c) => c.type === type);
const num = (v: unknown, fallback = 0) => (typeof v === 'number' ? v : fallback);

/**
 * The health of a live object by Argo CD's rules for the kinds Keelson
 * renders: a Deployment is Healthy once its rollout is complete and every
 * replica is available, a StatefulSet once every replica is ready and
 * updated, a DaemonSet once every scheduled pod is available, a Job once it
 * completes, a PVC once it is Bound, a CRD once it is Established. Any other
 * kind has no health check and is Healthy once it exists.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/health/
 */
export function healthOf(live: K8sObject | undefined): Health {
  if (!live) return { status: 'Missing', message: 'not in the cluster' };
  const o = live as Live;
  const generation = num(o.metadata?.generation as unknown, 0);
  const observed = num(o.status?.observedGeneration, -1);
  const waitingFor = (what: string): Health => ({ status: 'Progressing', message: what });
  switch (o.kind) {
    case 'Deployment': {
      if (o.spec?.paused) return { status: 'Healthy', message: 'paused (Suspended)' };
      const progressing = condition(o, 'Progressing');
      if (progressing?.reason === 'ProgressDeadlineExceeded') return { status: 'Degraded', message: `Deployment "${o.metadata?.name}" exceeded its progress deadline` };
      const replicas = num(o.spec?.replicas, 1);
      if (observed < generation) return waitingFor('waiting for the rollout to be observed');
      const updated = num(o.status?.updatedReplicas);
      const available = num(o.status?.availableReplicas);
      if (updated < replicas) return waitingFor(`${updated} of ${replicas} updated replicas`);
      if (available < replicas) return waitingFor(`${available} of ${replicas} replicas available`);
      return { status: 'Healthy', message: `${available}/${replicas} available` };
    }
    case 'StatefulSet': {
      const replicas = num(o.spec?.replicas, 1);
      if (observed < generation) return waitingFor('waiting for the rollout to be observed');
      const ready = num(o.status?.readyReplicas);
      if (ready < replicas) return waitingFor(`${ready} of ${replicas} pods ready`);
      const strategy = (o.spec?.updateStrategy as { type?: string } | undefined)?.type ?? 'RollingUpdate';
      if (strategy === 'RollingUpdate' && o.status?.updateRevision !== o.status?.currentRevision && num(o.status?.updatedReplicas) < replicas) return waitingFor('rolling update in progress');
      return { status: 'Healthy', message: `${ready}/${replicas} ready` };
    }
    case 'DaemonSet': {
      if (observed < generation) return waitingFor('waiting for the rollout to be observed');
      const desired = num(o.status?.desiredNumberScheduled);
      const available = num(o.status?.numberAvailable);
      const updated = num(o.status?.updatedNumberScheduled);
      if (updated < desired) return waitingFor(`${updated} of ${desired} updated pods`);
      if (available < desired) return waitingFor(`${available} of ${desired} pods available`);
      return { status: 'Healthy', message: `${available}/${desired} available` };
    }
    case 'ReplicaSet': {
      const replicas = num(o.spec?.replicas, 1);
      const available = num(o.status?.availableReplicas);
      return available >= replicas ? { status: 'Healthy', message: `${available}/${replicas} available` } : waitingFor(`${available} of ${replicas} replicas available`);
    }
    case 'Job': {
      const failed = condition(o, 'Failed');
      if (failed?.status === 'True') return { status: 'Degraded', message: failed.message ?? 'Job failed' };
      const complete = condition(o, 'Complete');
      if (complete?.status === 'True') return { status: 'Healthy', message: 'complete' };
      if (o.spec?.suspend) return { status: 'Healthy', message: 'suspended' };
      return waitingFor('Job running');
    }
    case 'Pod': {
      const phase = o.status?.phase;
      if (phase === 'Succeeded') return { status: 'Healthy', message: 'succeeded' };
      if (phase === 'Failed') return { status: 'Degraded', message: String(o.status?.message ?? 'pod failed') };
      if (phase === 'Running' && condition(o, 'Ready')?.status === 'True') return { status: 'Healthy', message: 'running' };
      const scheduled = condition(o, 'PodScheduled');
      return waitingFor(scheduled?.status === 'False' ? `not scheduled: ${scheduled.message ?? scheduled.reason}` : `pod ${phase ?? 'Pending'}`);
    }
    case 'PersistentVolumeClaim': {
      const phase = o.status?.phase;
      if (phase === 'Bound') return { status: 'Healthy', message: 'Bound' };
      if (phase === 'Lost') return { status: 'Degraded', message: 'Lost' };
      return waitingFor(`PVC ${phase ?? 'Pending'}`);
    }
    case 'CustomResourceDefinition': {
      const established = condition(o, 'Established');
      if (established?.status === 'True') return { status: 'Healthy', message: 'Established' };
      const names = condition(o, 'NamesAccepted');
      if (names?.status === 'False') return { status: 'Degraded', message: names.message ?? 'names not accepted' };
      return waitingFor('not Established yet');
    }
    default:
      return { status: 'Healthy', message: 'exists' };
  }
}
