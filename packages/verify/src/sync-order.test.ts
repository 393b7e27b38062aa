import type { DesiredObject, DesiredState, K8sObject, RenderedApplication } from '@keelson/upstream';
import { AppTree, checkSyncOrder, podReferences, resourceOf, SKIP_DRY_RUN_OPTION } from './sync-order';

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

/** A workload whose pod template carries `labels` and `pod` (its volumes, containers). */
const workload = (name: string, namespace: string, labels: Record<string, string>, pod: Record<string, unknown> = {}): K8sObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name, image: 'registry.example/x:1.0.0' }], ...pod } } },
});

describe('checkSyncOrder: objects created through an admission webhook after its server', () => {
  const issuer = (labels: Record<string, string> = {}): K8sObject => ({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt', labels, annotations: skip } });
  const webhookConfiguration = (webhook: Record<string, unknown> = {}): K8sObject => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'cert-manager-webhook' },
    webhooks: [
      {
        name: 'webhook.cert-manager.io',
        clientConfig: { service: { name: 'cert-manager-webhook', namespace: 'cert-manager', path: '/validate' } },
        rules: [{ apiGroups: ['cert-manager.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['*/*'] }],
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        ...webhook,
      },
    ],
  });
  /**
   * cert-manager's shape: Application `certs` (wave `operatorWave` in root)
   * runs the webhook Deployment behind its Service with the CRD and the
   * configuration; the issuer sits in Application `issuerApp` at `issuerWave`.
   */
  function certs(options: { operatorWave?: number; issuerApp?: string; issuerWave?: number; webhook?: Record<string, unknown>; issuerLabels?: Record<string, string>; service?: boolean } = {}): DesiredState {
    const webhookLabels = { 'app.kubernetes.io/component': 'webhook' };
    return {
      applications: [app('root', undefined, -10), app('certs', 'root', options.operatorWave ?? -5, { namespace: 'cert-manager' }), app('issuers', 'root', 0)],
      objects: [
        object('root', -20, namespace('cert-manager')),
        object('certs', 0, crd('cert-manager.io', 'ClusterIssuer', 'clusterissuers')),
        object('certs', 0, workload('cert-manager-webhook', 'cert-manager', webhookLabels), 'cert-manager'),
        ...(options.service === false ? [] : [object('certs', 0, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cert-manager-webhook', namespace: 'cert-manager' }, spec: { selector: webhookLabels } }, 'cert-manager')]),
        object('certs', 0, webhookConfiguration(options.webhook)),
        object(options.issuerApp ?? 'issuers', options.issuerWave ?? 0, issuer(options.issuerLabels)),
      ],
    };
  }

  it('passes an issuer in an Application that syncs after the webhook server is healthy', () => {
    const result = checkSyncOrder(certs());
    expect(result.findings).toEqual([]);
    expect(result.summary).toMatch(/1 objects created through admission webhooks after their servers/);
  });

  it('refuses an issuer applied in the wave that starts the webhook server (the first sync fails with "failed calling webhook")', () => {
    const result = checkSyncOrder(certs({ issuerApp: 'certs', issuerWave: 0 }));
    expect(result.ok).toBe(false);
    expect(result.findings.map((f) => f.message)).toEqual([
      'ClusterIssuer letsencrypt (Application certs, wave 0): its creation goes through the ValidatingWebhookConfiguration cert-manager-webhook webhook webhook.cert-manager.io (failurePolicy Fail), served by Deployment cert-manager/cert-manager-webhook (Application certs, wave 0) through Service cert-manager/cert-manager-webhook, which is not healthy before the object is applied: the first sync fails with "failed calling webhook" until retries; give ClusterIssuer letsencrypt an argocd.argoproj.io/sync-wave above 0, after Deployment cert-manager/cert-manager-webhook',
    ]);
    expect(checkSyncOrder(certs({ issuerApp: 'certs', issuerWave: 1 })).findings).toEqual([]);
  });

  it('refuses an issuer in an Application at the same wave as the webhook server\'s (siblings sync at once)', () => {
    const result = checkSyncOrder(certs({ operatorWave: 0 }));
    expect(result.findings.map((f) => f.message)).toContainEqual(expect.stringMatching(/^ClusterIssuer letsencrypt \(Application issuers, wave 0\): its creation goes through .*; sync Application certs at an earlier wave than issuers, or move ClusterIssuer letsencrypt to a later one$/));
  });

  it('leaves alone what the webhook does not intercept: failurePolicy Ignore, no CREATE, another group, an objectSelector that does not match, matchPolicy Exact with another version', () => {
    const same = { issuerApp: 'certs', issuerWave: 0 };
    expect(checkSyncOrder(certs({ ...same, webhook: { failurePolicy: 'Ignore' } })).findings).toEqual([]);
    expect(checkSyncOrder(certs({ ...same, webhook: { rules: [{ apiGroups: ['cert-manager.io'], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['*'] }] } })).findings).toEqual([]);
    expect(checkSyncOrder(certs({ ...same, webhook: { rules: [{ apiGroups: ['acme.cert-manager.io'], apiVersions: ['*'], operations: ['*'], resources: ['*'] }] } })).findings).toEqual([]);
    expect(checkSyncOrder(certs({ ...same, webhook: { objectSelector: { matchLabels: { validate: 'yes' } } } })).findings).toEqual([]);
    expect(checkSyncOrder(certs({ ...same, issuerLabels: { validate: 'yes' }, webhook: { objectSelector: { matchLabels: { validate: 'yes' } } } })).ok).toBe(false);
    expect(checkSyncOrder(certs({ ...same, webhook: { matchPolicy: 'Exact', rules: [{ apiGroups: ['cert-manager.io'], apiVersions: ['v1beta1'], operations: ['CREATE'], resources: ['clusterissuers'] }] } })).findings).toEqual([]);
    expect(checkSyncOrder(certs({ ...same, webhook: { rules: [{ apiGroups: ['cert-manager.io'], apiVersions: ['v1beta1'], operations: ['CREATE'], resources: ['clusterissuers'] }] } })).ok).toBe(false);
  });

  it('warns, without judging the order, when the webhook\'s Service is not in the desired state', () => {
    const result = checkSyncOrder(certs({ issuerApp: 'certs', service: false }));
    expect(result.findings).toEqual([]);
    expect(result.warnings.map((w) => w.message)).toEqual([expect.stringContaining('webhook webhook.cert-manager.io calls Service cert-manager/cert-manager-webhook, which is not in the desired state: its order against the objects it intercepts is not judged')]);
  });

  it('names the REST resource of built-in and custom kinds as the API server does', () => {
    const plurals = new Map([['cert-manager.io/ClusterIssuer', 'clusterissuers']]);
    expect(['NetworkPolicy', 'Ingress', 'ConfigMap', 'Endpoints', 'StorageClass'].map((k) => resourceOf('', k, plurals))).toEqual(['networkpolicies', 'ingresses', 'configmaps', 'endpoints', 'storageclasses']);
    expect(resourceOf('cert-manager.io', 'ClusterIssuer', plurals)).toBe('clusterissuers');
  });
});

describe('checkSyncOrder: Secrets, ConfigMaps, ServiceAccounts and StorageClasses before what names them (warnings)', () => {
  const secret = (name: string): K8sObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'web' } });
  const pod = {
    serviceAccountName: 'web',
    volumes: [{ name: 'certs', secret: { secretName: 'tls' } }, { name: 'maybe', secret: { secretName: 'extra', optional: true } }],
    containers: [{ name: 'web', image: 'registry.example/x:1.0.0', envFrom: [{ configMapRef: { name: 'settings' } }] }],
  };
  /** The workload in Application `web` (wave 0 in root); a Secret `tls` in Application `holder` at `wave`. */
  const state = (holder: string, wave: number, extra: DesiredObject[] = []): DesiredState => ({
    applications: [app('root', undefined, -10), app('web', 'root', 0, { namespace: 'web' }), app('secrets', 'root', 5, { namespace: 'web' }), app('early', 'root', -5, { namespace: 'web' })],
    objects: [object('root', -20, namespace('web')), object('web', 0, workload('web', 'web', { app: 'web' }, pod), 'web'), object(holder, wave, secret('tls'), 'web'), object('web', 0, secret('extra'), 'web'), ...extra],
  });

  it('lists what a pod names, leaving out optional references and the default ServiceAccount', () => {
    expect(podReferences(pod).map((r) => `${r.kind} ${r.name} (${r.where})`)).toEqual(['ServiceAccount web (serviceAccountName)', 'Secret tls (volume certs)', 'ConfigMap settings (container web envFrom)']);
    expect(podReferences({ serviceAccountName: 'default' })).toEqual([]);
  });

  it('warns, without failing, when another Application creates the Secret later; passes when it comes first or in the same wave', () => {
    const late = checkSyncOrder(state('secrets', 0));
    expect(late.ok).toBe(true);
    expect(late.warnings.map((w) => w.message)).toEqual([
      'Deployment web/web (Application web, wave 0) names Secret web/tls (volume certs), which Application secrets creates at wave 0, not before it: its pods do not start until it exists, and the waves after it wait; sync Application secrets at an earlier wave than web, or move Deployment web/web to a later one',
    ]);
    expect(checkSyncOrder(state('early', 0)).warnings).toEqual([]);
    expect(checkSyncOrder(state('web', 0)).warnings).toEqual([]);
    expect(checkSyncOrder(state('web', 1)).warnings.map((w) => w.message)).toEqual([expect.stringContaining('give Deployment web/web an argocd.argoproj.io/sync-wave of at least 1, after Secret web/tls')]);
  });

  it('warns when a claim\'s StorageClass (named, or the default) comes later: the claim stays Pending', () => {
    const storageClass = (name: string, annotations: Record<string, string> = {}): K8sObject => ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name, annotations }, provisioner: 'rbd.csi.ceph.com' });
    const claim = (name: string, storageClassName?: string): K8sObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'web' }, spec: { ...(storageClassName ? { storageClassName } : {}), accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    const result = checkSyncOrder(state('web', 0, [object('secrets', 0, storageClass('ceph-block', { 'storageclass.kubernetes.io/is-default-class': 'true' })), object('web', 0, claim('data', 'ceph-block'), 'web'), object('web', 0, claim('cache'), 'web')]));
    expect(result.warnings.map((w) => w.message)).toEqual([
      'PersistentVolumeClaim web/data (Application web, wave 0) claims StorageClass ceph-block, which Application secrets creates at wave 0, not before it: the claim stays Pending until it exists, and the waves after it wait; sync Application secrets at an earlier wave than web, or move PersistentVolumeClaim web/data to a later one',
      expect.stringMatching(/^PersistentVolumeClaim web\/cache \(Application web, wave 0\) claims StorageClass ceph-block \(the default\), which Application secrets creates/),
    ]);
    expect(checkSyncOrder(state('web', 0, [object('early', 0, storageClass('ceph-block')), object('web', 0, claim('data', 'ceph-block'), 'web')])).warnings).toEqual([]);
  });
});
