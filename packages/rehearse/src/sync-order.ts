import type { DesiredObject, K8sObject } from '@keelson/upstream';

/**
 * Argo CD's order of kinds within one sync wave (gitops-engine's
 * `kindOrder`, itself Helm's install order): lower first; any kind not
 * listed (custom resources, Applications) comes last.
 *
 * @see https://github.com/argoproj/gitops-engine/blob/master/pkg/sync/sync_tasks.go
 */
export const KIND_ORDER: readonly string[] = [
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
];

/** A kind's place in `KIND_ORDER`: negative for listed kinds, 0 for every other kind. */
export function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? 0 : i - KIND_ORDER.length;
}

/** The sync phases a first sync runs, in order. @see https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/ */
export type SyncPhase = 'PreSync' | 'Sync' | 'PostSync';
const PHASE_ORDER: Readonly<Record<SyncPhase, number>> = { PreSync: -1, Sync: 0, PostSync: 1 };

/** One object to apply in a phase and wave. */
export interface SyncTask {
  readonly item: DesiredObject;
  readonly phase: SyncPhase;
  readonly wave: number;
  /** A resource hook (Argo CD's or a Helm hook Argo CD maps): run to completion in its phase, not kept in sync. */
  readonly hook: boolean;
  /** `HookSucceeded` (`hook-succeeded` for Helm): deleted once it succeeds. */
  readonly deleteOnSuccess: boolean;
}

/** An object a first sync does not apply, and why. */
export interface IgnoredObject {
  readonly item: DesiredObject;
  readonly reason: string;
}

const HOOK = 'argocd.argoproj.io/hook';
const HOOK_DELETE = 'argocd.argoproj.io/hook-delete-policy';
const HELM_HOOK = 'helm.sh/hook';
const HELM_HOOK_DELETE = 'helm.sh/hook-delete-policy';
const HELM_WEIGHT = 'helm.sh/hook-weight';
const WAVE = 'argocd.argoproj.io/sync-wave';

const csv = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Helm hooks Argo CD runs, and the phase each becomes; the others (test, rollback, delete) it ignores. @see https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#helm-hooks */
const HELM_HOOK_PHASES: Readonly<Record<string, SyncPhase>> = { 'pre-install': 'PreSync', 'pre-upgrade': 'PreSync', 'post-install': 'PostSync', 'post-upgrade': 'PostSync' };

/**
 * The sync wave of an object: `argocd.argoproj.io/sync-wave`, else
 * `helm.sh/hook-weight`, else 0 (gitops-engine's `syncwaves.Wave`).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 */
export function waveOf(object: K8sObject): number {
  const annotations = object.metadata?.annotations ?? {};
  for (const key of [WAVE, HELM_WEIGHT]) {
    const raw = annotations[key];
    if (raw !== undefined && /^-?\d+$/.test(raw.trim())) return Number.parseInt(raw, 10);
  }
  return 0;
}

/**
 * An Application's objects as Argo CD's first sync runs them: plain
 * resources in the Sync phase, resource hooks (Argo CD's annotation, or a
 * Helm hook Argo CD maps) in their phases, and the objects it skips: hooks
 * that run only when a sync fails or on deletion, Helm test and rollback
 * hooks, and `Skip`.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#helm-hooks
 */
export function syncTasks(objects: readonly DesiredObject[]): { tasks: SyncTask[]; ignored: IgnoredObject[] } {
  const tasks: SyncTask[] = [];
  const ignored: IgnoredObject[] = [];
  for (const item of objects) {
    const annotations = item.object.metadata?.annotations ?? {};
    const wave = waveOf(item.object);
    const argoHooks = csv(annotations[HOOK]);
    if (argoHooks.length > 0) {
      if (argoHooks.length === 1 && argoHooks[0] === 'Skip') {
        ignored.push({ item, reason: 'argocd.argoproj.io/hook: Skip' });
        continue;
      }
      const policies = csv(annotations[HOOK_DELETE]);
      const phases = argoHooks.filter((h): h is SyncPhase => h === 'PreSync' || h === 'Sync' || h === 'PostSync');
      if (phases.length === 0) ignored.push({ item, reason: `a ${argoHooks.join(',')} hook: it runs only when a sync fails or the Application is deleted` });
      for (const phase of phases) tasks.push({ item, phase, wave, hook: true, deleteOnSuccess: policies.includes('HookSucceeded') });
      continue;
    }
    const helmHooks = csv(annotations[HELM_HOOK]);
    if (helmHooks.length > 0 && !(helmHooks.length === 1 && helmHooks[0] === 'crd-install')) {
      const phases = [...new Set(helmHooks.map((h) => HELM_HOOK_PHASES[h]).filter((p): p is SyncPhase => p !== undefined))];
      if (phases.length === 0) ignored.push({ item, reason: `Helm hook "${helmHooks.join(',')}": Argo CD does not run it` });
      const deleteOnSuccess = csv(annotations[HELM_HOOK_DELETE]).includes('hook-succeeded');
      for (const phase of phases) tasks.push({ item, phase, wave, hook: true, deleteOnSuccess });
      continue;
    }
    tasks.push({ item, phase: 'Sync', wave, hook: false, deleteOnSuccess: false });
  }
  return { tasks: tasks.sort(compareTasks), ignored };
}

/** gitops-engine's task order: phase, wave, kind, name. */
export function compareTasks(a: SyncTask, b: SyncTask): number {
  return (
    PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase] ||
    a.wave - b.wave ||
    kindRank(String(a.item.object.kind)) - kindRank(String(b.item.object.kind)) ||
    String(a.item.object.metadata?.name ?? '').localeCompare(String(b.item.object.metadata?.name ?? ''))
  );
}

/** Tasks grouped by phase and wave, in sync order; Argo CD applies one group at a time. */
export function phaseWaveGroups(tasks: readonly SyncTask[]): SyncTask[][] {
  const groups: SyncTask[][] = [];
  for (const t of [...tasks].sort(compareTasks)) {
    const last = groups[groups.length - 1];
    if (last && last[0].phase === t.phase && last[0].wave === t.wave) last.push(t);
    else groups.push([t]);
  }
  return groups;
}

/** Within a group, consecutive tasks of one kind: gitops-engine applies one kind at a time, the tasks of a kind concurrently. */
export function kindRuns(group: readonly SyncTask[]): SyncTask[][] {
  const runs: SyncTask[][] = [];
  for (const t of group) {
    const last = runs[runs.length - 1];
    if (last && last[0].item.object.kind === t.item.object.kind) last.push(t);
    else runs.push([t]);
  }
  return runs;
}

/** `Deployment nextcloud/nextcloud`, `ClusterRole cilium`. */
export function describeObject(object: K8sObject, namespace?: string): string {
  const ns = namespace ?? object.metadata?.namespace;
  return `${object.kind} ${ns ? `${ns}/` : ''}${object.metadata?.name ?? '?'}`;
}
