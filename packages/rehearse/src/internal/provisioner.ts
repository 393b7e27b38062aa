import { apiGroup, BUILT_IN_API_GROUPS, type DesiredState, type K8sObject } from '@keelson/upstream';
import type { ApiClient } from './api';

type Pvc = K8sObject & {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> };
  spec: { storageClassName?: string; accessModes?: string[]; volumeMode?: string; volumeName?: string; resources?: { requests?: { storage?: string } } };
  status?: { phase?: string };
};
type StorageClass = K8sObject & { provisioner?: string; volumeBindingMode?: string; reclaimPolicy?: string; metadata: { name: string; annotations?: Record<string, string> } };

/** What the stand-in did for one claim. */
export interface VolumeOutcome {
  /** `namespace/name`. */
  readonly claim: string;
  readonly storageClass: string;
  /** `bound` by the stand-in, or `pending` with the reason. */
  readonly state: 'bound' | 'pending';
  readonly detail: string;
}

/**
 * A stand-in for the CSI provisioners that do not run here: it binds a
 * PersistentVolumeClaim to a new PersistentVolume only when the claim's
 * StorageClass exists and its provisioner is deployed (a CSIDriver of that
 * name, or an object of the desired state named after the driver that
 * registers it, such as ceph-csi's `Driver`), after the scheduler picked a
 * node for `WaitForFirstConsumer` classes. Everything else stays Pending, as
 * it would on the cluster.
 *
 * @see https://kubernetes.io/docs/concepts/storage/persistent-volumes/#binding
 */
export class StandInProvisioner {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly outcomes = new Map<string, VolumeOutcome>();

  constructor(
    private readonly api: ApiClient,
    private readonly desired: DesiredState,
  ) {}

  start(intervalMs = 1000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.tick()
        .catch(() => undefined)
        .finally(() => {
          this.busy = false;
        });
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every claim seen, with what happened to it. */
  results(): VolumeOutcome[] {
    return [...this.outcomes.values()].sort((a, b) => a.claim.localeCompare(b.claim));
  }

  /** One pass over the pending claims. */
  async tick(): Promise<void> {
    const pvcs = (await this.api.list<Pvc>('/api/v1/persistentvolumeclaims')).filter((p) => p.status?.phase === 'Pending' && !p.spec.volumeName);
    if (pvcs.length === 0) return;
    const classes = await this.api.list<StorageClass>('/apis/storage.k8s.io/v1/storageclasses');
    const drivers = new Set((await this.api.list('/apis/storage.k8s.io/v1/csidrivers')).map((d) => String(d.metadata?.name)));
    for (const pvc of pvcs) {
      const claim = `${pvc.metadata.namespace}/${pvc.metadata.name}`;
      const defaultClass = classes.find((c) => c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
      const className = pvc.spec.storageClassName ?? defaultClass?.metadata.name ?? '';
      const sc = classes.find((c) => c.metadata.name === className);
      const pending = (detail: string) => this.outcomes.set(claim, { claim, storageClass: className, state: 'pending', detail });
      if (!sc) {
        pending(className ? `no StorageClass ${className} in the cluster` : 'no storageClassName and no default StorageClass');
        continue;
      }
      const driver = String(sc.provisioner ?? '');
      const registrar = drivers.has(driver) ? `CSIDriver ${driver}` : await this.registeredBy(driver);
      if (!registrar) {
        pending(`StorageClass ${className}'s provisioner ${driver} is not deployed (no CSIDriver, nothing in the desired state registers it)`);
        continue;
      }
      const node = pvc.metadata.annotations?.['volume.kubernetes.io/selected-node'];
      if (sc.volumeBindingMode === 'WaitForFirstConsumer' && !node) {
        pending(`WaitForFirstConsumer: waiting for a pod that uses it to be scheduled`);
        continue;
      }
      const pv = {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `pvc-${pvc.metadata.uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': driver, 'keelson.dev/simulated': 'the rehearsal stand-in provisioner' } },
        spec: {
          capacity: { storage: pvc.spec.resources?.requests?.storage ?? '1Gi' },
          accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
          storageClassName: className,
          volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
          csi: { driver, volumeHandle: `rehearsal-${pvc.metadata.uid}` },
        },
      };
      const res = await this.api.create('/api/v1/persistentvolumes', pv);
      if (res.ok || res.status === 409) this.outcomes.set(claim, { claim, storageClass: className, state: 'bound', detail: `PersistentVolume from the stand-in for ${driver} (registered by ${registrar})` });
      else pending(`the stand-in could not create its PersistentVolume: ${res.message}`);
    }
  }

  /** An object of the desired state, in the cluster, named after the driver (an operator's CR that registers the CSIDriver). */
  private async registeredBy(driver: string): Promise<string | undefined> {
    for (const o of this.desired.objects) {
      if (o.object.metadata?.name !== driver) continue;
      const group = apiGroup(String(o.object.apiVersion ?? ''));
      if (BUILT_IN_API_GROUPS.has(group) && o.object.kind !== 'CSIDriver') continue;
      const served = await this.api.resolve(String(o.object.apiVersion), String(o.object.kind));
      if ('missing' in served) continue;
      if (await this.api.get(this.api.objectPath(String(o.object.apiVersion), served, driver, served.namespaced ? o.namespace : undefined))) return `${o.object.kind} ${driver} of Application ${o.application}`;
    }
    return undefined;
  }
}
