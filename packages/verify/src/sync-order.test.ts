import type { DesiredObject, DesiredState, K8sObject, RenderedApplication } from '@keelson/upstream';
import { AppTree, checkSyncOrder, SKIP_DRY_RUN_OPTION } from './sync-order';

const app = (name: string, parent: string | undefined, wave: number, options: { namespace?: string; syncOptions?: string[] } = {}): RenderedApplication => ({
  name,
  ...(parent ? { parent } : {}),
  wave,
  manifest: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: 'argocd' } },
  file: `charts-out/${parent ?? 'argocd'}/application-${name}.yaml`,
  project: 'keelson',
  destinationNamespace: options.namespace ?? 'argocd',
  type: 'directory',
  repoURL: 'https://example.com/repo.git',
  chartOrPath: `charts-out/${name}`,
  revision: 'main',
  syncOptions: options.syncOptions ?? [],
  objectCount: 0,
});

const object = (application: string, wave: number, o: K8sObject, namespace?: string): DesiredObject => ({
  object: o,
  application,
  wave,
  ...(namespace ? { namespace } : {}),
  source: `charts-out/${application}/${String(o.kind).toLowerCase()}-${o.metadata?.name}.yaml`,
});

const crd = (group: string, kind: string, plural: string): K8sObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: { group, names: { kind, plural }, scope: 'Namespaced' },
});
const namespace = (name: string): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const cluster = (annotations: Record<string, string> = {}): K8sObject => ({
  apiVersion: 'postgresql.cnpg.io/v1',
  kind: 'Cluster',
  metadata: { name: 'db', namespace: 'nextcloud', annotations },
});
const skip = { 'argocd.argoproj.io/sync-options': SKIP_DRY_RUN_OPTION };

/**
 * The shape of Keelson's apps layer: root -> apps (wave 30) -> the CNPG operator
 * as a child Application installing its CRD into cnpg-system, and a CNPG
 * Cluster in the apps folder itself.
 */
function appsLayer(options: { childWave?: number; clusterWave?: number; clusterAnnotations?: Record<string, string>; namespaceWave?: number; childSyncOptions?: string[] } = {}): DesiredState {
  const childWave = options.childWave ?? -1;
  return {
    applications: [app('root', undefined, -10), app('apps', 'root', 30, { namespace: 'nextcloud' }), app('apps-cnpg', 'apps', childWave, { namespace: 'cnpg-system', syncOptions: options.childSyncOptions ?? [] })],
    objects: [
      object('root', 0, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'apps', namespace: 'argocd' } }, 'argocd'),
      object('apps', options.namespaceWave ?? -2, namespace('cnpg-system')),
      object('apps', options.namespaceWave ?? -2, namespace('nextcloud')),
      object('apps', childWave, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'apps-cnpg', namespace: 'argocd' } }, 'argocd'),
      object('apps', options.clusterWave ?? 0, cluster(options.clusterAnnotations ?? skip), 'nextcloud'),
      object('apps-cnpg', 0, crd('postgresql.cnpg.io', 'Cluster', 'clusters')),
      object('apps-cnpg', 0, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cnpg' } }, 'cnpg-system'),
    ],
  };
}

describe('AppTree: what is in place before an Application starts', () => {
  const tree = new AppTree(appsLayer().applications);

  it('puts an object in an ancestor before the branch only when its wave is lower (or equal, for kinds applied before Applications)', () => {
    expect(tree.before('apps', -2, 'apps-cnpg')).toBe(true);
    expect(tree.before('apps', -1, 'apps-cnpg')).toBe(false);
    expect(tree.before('apps', -1, 'apps-cnpg', true)).toBe(true);
    expect(tree.before('apps', 0, 'apps-cnpg', true)).toBe(false);
  });

  it('orders sibling branches by their waves in the common ancestor, never an Application before itself', () => {
    const siblings = new AppTree([app('root', undefined, 0), app('a', 'root', -5), app('b', 'root', 10), app('b-child', 'b', 0)]);
    expect(siblings.before('a', 99, 'b-child')).toBe(true);
    expect(siblings.before('b-child', 0, 'a')).toBe(false);
    expect(siblings.before('b', -100, 'b')).toBe(false);
  });
});

describe('checkSyncOrder: custom resources after their CRDs', () => {
  it('passes the apps layer done right: Cluster after the operator child, with SkipDryRunOnMissingResource', () => {
    const result = checkSyncOrder(appsLayer());
    expect(result.findings).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('refuses a CR whose CRD comes from a child Application in the same folder without SkipDryRunOnMissingResource (the dry-run fails forever)', () => {
    const result = checkSyncOrder(appsLayer({ clusterAnnotations: {} }));
    expect(result.ok).toBe(false);
    expect(result.findings).toEqual([
      expect.objectContaining({ application: 'apps', message: expect.stringMatching(/^Cluster nextcloud\/db \(Application apps, wave 0\): its CRD clusters.postgresql.cnpg.io comes from child Application apps-cnpg: it lacks argocd.argoproj.io\/sync-options: SkipDryRunOnMissingResource=true/) }),
    ]);
  });

  it('refuses a CR that skips the dry-run but sits at or before the wave of the child that installs its CRD', () => {
    const result = checkSyncOrder(appsLayer({ clusterWave: -1 }));
    expect(result.findings.map((f) => f.message)).toEqual([expect.stringContaining('it is at wave -1, not after the child Application apps-cnpg (wave -1) that installs the CRD; give it a wave above -1')]);
  });

  it('accepts the SkipDryRunOnMissingResource sync option on the whole Application', () => {
    const state = appsLayer({ clusterAnnotations: {} });
    const apps = state.applications.map((a) => (a.name === 'apps' ? { ...a, syncOptions: [SKIP_DRY_RUN_OPTION] } : a));
    expect(checkSyncOrder({ ...state, applications: apps }).findings).toEqual([]);
  });

  it('accepts a CRD from an Application at an earlier wave of the app of apps, refuses one from a later wave', () => {
    const state = (crdWave: number): DesiredState => ({
      applications: [app('root', undefined, -10), app('operators', 'root', crdWave), app('apps', 'root', 0, { namespace: 'nextcloud' })],
      objects: [object('root', 0, namespace('nextcloud')), object('operators', 0, crd('postgresql.cnpg.io', 'Cluster', 'clusters')), object('apps', 0, cluster({}), 'nextcloud')],
    });
    expect(checkSyncOrder(state(-5)).findings).toEqual([]);
    expect(checkSyncOrder(state(5)).findings.map((f) => f.message)).toEqual([
      expect.stringContaining('its CRD clusters.postgresql.cnpg.io comes from Application operators, which does not finish before apps starts; put operators at an earlier sync wave'),
    ]);
  });

  it('accepts a CRD in the same Application at the same or an earlier wave (Argo CD skips the dry-run for it), refuses a later one', () => {
    const state = (crdWave: number): DesiredState => ({
      applications: [app('root', undefined, -10), app('apps', 'root', 0, { namespace: 'nextcloud' })],
      objects: [object('root', 0, namespace('nextcloud')), object('apps', crdWave, crd('postgresql.cnpg.io', 'Cluster', 'clusters')), object('apps', 0, cluster({}), 'nextcloud')],
    });
    expect(checkSyncOrder(state(0)).findings).toEqual([]);
    expect(checkSyncOrder(state(1)).findings.map((f) => f.message)).toEqual([expect.stringContaining('is applied later, at wave 1; give the resource a wave of at least 1')]);
  });

  it('refuses a CR whose CRD is nowhere in the desired state unless it skips the dry-run (then it warns: an operator registers it at runtime)', () => {
    const policy = (annotations: Record<string, string>): DesiredState => ({
      applications: [app('root', undefined, -10), app('network', 'root', -5, { namespace: 'kube-system' })],
      objects: [object('network', 1, { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'deny', annotations } })],
    });
    const without = checkSyncOrder(policy({}));
    expect(without.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^CiliumClusterwideNetworkPolicy deny \(Application network, wave 1\): no CustomResourceDefinition for cilium.io\/CiliumClusterwideNetworkPolicy .* add the annotation/)]);
    const withSkip = checkSyncOrder(policy(skip));
    expect(withSkip.ok).toBe(true);
    expect(withSkip.warnings.map((f) => f.message)).toEqual([expect.stringContaining('it skips the dry-run, so the sync waits for the CRD')]);
  });
});

describe('checkSyncOrder: namespaces before the Applications that deploy into them', () => {
  it('refuses a child Application at a wave before the Namespace it installs into (the parent waits for the child forever)', () => {
    const result = checkSyncOrder(appsLayer({ namespaceWave: 0 }));
    expect(result.findings.map((f) => f.message)).toEqual([
      'Application apps-cnpg deploys Deployment cnpg into namespace cnpg-system, but Namespace cnpg-system is created by Application apps at wave 0, which is not done before apps-cnpg (wave -1) starts: the sync fails or waits forever; create the Namespace at a wave lower than apps-cnpg\'s, or set CreateNamespace=true on it',
    ]);
  });

  it('accepts the Namespace at the same wave as the child (Argo CD applies Namespaces before Applications within a wave), or CreateNamespace=true', () => {
    expect(checkSyncOrder(appsLayer({ namespaceWave: -1 })).findings).toEqual([]);
    expect(checkSyncOrder({ ...appsLayer({ namespaceWave: 0 }), objects: appsLayer().objects.filter((o) => o.object.metadata?.name !== 'cnpg-system') }).ok).toBe(false);
    const created = appsLayer({ namespaceWave: 5, childSyncOptions: ['CreateNamespace=true'] });
    expect(checkSyncOrder(created).findings.filter((f) => f.application === 'apps-cnpg')).toEqual([]);
  });

  it('accepts the namespaces every cluster has and the one Argo CD runs in', () => {
    const state: DesiredState = {
      applications: [app('root', undefined, -10), app('network', 'root', -5, { namespace: 'kube-system' })],
      objects: [object('network', 0, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, 'kube-system'), object('root', 0, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'y' } }, 'argocd')],
    };
    expect(checkSyncOrder(state).findings).toEqual([]);
  });
});
