import type { DesiredObject, K8sObject } from '@keelson/upstream';
import { healthOf } from './health';
import { kindRank, kindRuns, phaseWaveGroups, syncTasks, waveOf } from './sync-order';

const item = (kind: string, name: string, annotations: Record<string, string> = {}, apiVersion = 'v1'): DesiredObject => ({
  object: { apiVersion, kind, metadata: { name, annotations } },
  application: 'app',
  wave: 0,
  source: 'test',
});

const names = (tasks: ReturnType<typeof syncTasks>['tasks']) => tasks.map((t) => `${t.phase}:${t.wave}:${t.item.object.kind}/${t.item.object.metadata?.name}`);

describe('the sync order', () => {
  it("puts Namespaces first and CRDs before custom resources within a wave, as gitops-engine's kindOrder does", () => {
    expect(kindRank('Namespace')).toBeLessThan(kindRank('CustomResourceDefinition'));
    expect(kindRank('CustomResourceDefinition')).toBeLessThan(kindRank('Deployment'));
    expect(kindRank('Deployment')).toBeLessThan(kindRank('Application'));
    expect(kindRank('CephCluster')).toBe(0);
    const { tasks } = syncTasks([item('Widget', 'w', {}, 'example.com/v1'), item('Deployment', 'd', {}, 'apps/v1'), item('CustomResourceDefinition', 'c', {}, 'apiextensions.k8s.io/v1'), item('Namespace', 'n')]);
    expect(names(tasks)).toEqual(['Sync:0:Namespace/n', 'Sync:0:CustomResourceDefinition/c', 'Sync:0:Deployment/d', 'Sync:0:Widget/w']);
  });

  it('orders by phase, then wave (sync-wave, else helm.sh/hook-weight), then kind, then name', () => {
    const { tasks } = syncTasks([
      item('ConfigMap', 'late', { 'argocd.argoproj.io/sync-wave': '2' }),
      item('ConfigMap', 'b'),
      item('ConfigMap', 'a'),
      item('ConfigMap', 'early', { 'argocd.argoproj.io/sync-wave': '-1' }),
      item('Job', 'migrate', { 'argocd.argoproj.io/hook': 'PreSync' }, 'batch/v1'),
      item('Job', 'smoke', { 'argocd.argoproj.io/hook': 'PostSync', 'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded' }, 'batch/v1'),
    ]);
    expect(names(tasks)).toEqual(['PreSync:0:Job/migrate', 'Sync:-1:ConfigMap/early', 'Sync:0:ConfigMap/a', 'Sync:0:ConfigMap/b', 'Sync:2:ConfigMap/late', 'PostSync:0:Job/smoke']);
    expect(tasks.find((t) => t.item.object.metadata?.name === 'smoke')?.deleteOnSuccess).toBe(true);
    expect(waveOf({ metadata: { annotations: { 'helm.sh/hook-weight': '-5' } } } as K8sObject)).toBe(-5);
  });

  it('maps Helm hooks the way Argo CD does and ignores the ones it does not run', () => {
    const { tasks, ignored } = syncTasks([
      item('Job', 'upgrade-crds', { 'helm.sh/hook': 'pre-install,pre-upgrade,pre-rollback', 'helm.sh/hook-weight': '5', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' }, 'batch/v1'),
      item('Pod', 'test-connection', { 'helm.sh/hook': 'test' }),
      item('CustomResourceDefinition', 'old-style', { 'helm.sh/hook': 'crd-install' }, 'apiextensions.k8s.io/v1'),
      item('ConfigMap', 'skipped', { 'argocd.argoproj.io/hook': 'Skip' }),
      item('Job', 'on-failure', { 'argocd.argoproj.io/hook': 'SyncFail' }, 'batch/v1'),
    ]);
    expect(names(tasks)).toEqual(['PreSync:5:Job/upgrade-crds', 'Sync:0:CustomResourceDefinition/old-style']);
    expect(tasks[0]).toMatchObject({ hook: true, deleteOnSuccess: true });
    expect(ignored.map((i) => i.item.object.metadata?.name)).toEqual(['test-connection', 'skipped', 'on-failure']);
    expect(ignored[0].reason).toMatch(/Helm hook "test": Argo CD does not run it/);
  });

  it('groups tasks by phase and wave, and a group into runs of one kind', () => {
    const { tasks } = syncTasks([item('ConfigMap', 'a'), item('ConfigMap', 'b'), item('Service', 's'), item('ConfigMap', 'w1', { 'argocd.argoproj.io/sync-wave': '1' })]);
    const groups = phaseWaveGroups(tasks);
    expect(groups.map((g) => g.length)).toEqual([3, 1]);
    expect(kindRuns(groups[0]).map((r) => r.map((t) => t.item.object.metadata?.name))).toEqual([['a', 'b'], ['s']]);
  });
});

describe("Argo CD's health rules", () => {
  it('counts a Deployment Healthy only when every replica is available and updated', () => {
    const d = (status: Record<string, number>) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation: 2 }, spec: { replicas: 3 }, status: { observedGeneration: 2, ...status } });
    expect(healthOf(d({ updatedReplicas: 3, availableReplicas: 2 }))).toEqual({ status: 'Progressing', message: '2 of 3 replicas available' });
    expect(healthOf(d({ updatedReplicas: 3, availableReplicas: 3 })).status).toBe('Healthy');
    expect(healthOf({ ...d({}), status: { observedGeneration: 1 } }).status).toBe('Progressing');
  });

  it('reads Jobs, PVCs and CRDs from their conditions and phase', () => {
    expect(healthOf({ kind: 'Job', metadata: { name: 'j' }, status: { conditions: [{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }] } })).toEqual({ status: 'Degraded', message: 'BackoffLimitExceeded' });
    expect(healthOf({ kind: 'PersistentVolumeClaim', metadata: { name: 'p' }, status: { phase: 'Pending' } }).status).toBe('Progressing');
    expect(healthOf({ kind: 'CustomResourceDefinition', metadata: { name: 'c' }, status: { conditions: [{ type: 'Established', status: 'True' }] } }).status).toBe('Healthy');
    expect(healthOf(undefined).status).toBe('Missing');
  });
});
