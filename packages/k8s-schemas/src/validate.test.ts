import { knownCustomResourceKinds, validateManifest } from './validate';

function deployment(spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = { name: 'web', namespace: 'apps' }) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 80 }] }] },
      },
      ...spec,
    },
  };
}

function argoApplication(syncPolicy: Record<string, unknown>) {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'platform', namespace: 'argocd', finalizers: ['resources-finalizer.argocd.argoproj.io'] },
    spec: {
      project: 'default',
      source: { repoURL: 'https://github.com/keelson-dev/keelson.git', targetRevision: 'main', path: 'charts-out', directory: { recurse: true } },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'apps' },
      syncPolicy,
    },
  };
}

function cephBlockPool(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'replicapool', namespace: 'rook-ceph' }) {
  return { apiVersion: 'ceph.rook.io/v1', kind: 'CephBlockPool', metadata, spec };
}

describe('validateManifest: built-in kinds', () => {
  it('accepts a valid Namespace', () => {
    expect(
      validateManifest({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rook-ceph', labels: { 'app.kubernetes.io/part-of': 'keelson' } } }),
    ).toEqual([]);
  });

  it('accepts a valid Deployment', () => {
    expect(validateManifest(deployment())).toEqual([]);
  });

  it('reports an unknown field with its path and the field it was probably meant to be', () => {
    const doc = deployment({ replicaz: 3 });
    delete (doc.spec as Partial<typeof doc.spec>).replicas;
    const problems = validateManifest(doc);
    expect(problems).toEqual([{ path: 'spec.replicaz', message: expect.stringMatching(/^unknown field "replicaz"; did you mean "replicas"\?/) }]);
  });

  it('reports an unknown field deep inside the pod template', () => {
    const doc = deployment();
    (doc.spec.template.spec.containers[0] as Record<string, unknown>).resources = { limitz: { memory: '1Gi' } };
    expect(validateManifest(doc)).toEqual([
      { path: 'spec.template.spec.containers[0].resources.limitz', message: expect.stringMatching(/unknown field "limitz"; did you mean "limits"/) },
    ]);
  });

  it('reports an unknown metadata field with its path', () => {
    const problems = validateManifest(deployment({}, { name: 'web', labelz: { app: 'web' } }));
    expect(problems).toEqual([{ path: 'metadata.labelz', message: expect.stringMatching(/unknown field "labelz"; did you mean "labels"/) }]);
  });

  it('rejects server-set metadata such as resourceVersion', () => {
    expect(validateManifest(deployment({}, { name: 'web', resourceVersion: '42' }))).toEqual([
      { path: 'metadata.resourceVersion', message: expect.stringMatching(/set by the API server/) },
    ]);
  });

  it('reports a value outside an enum with the value received and the allowed values', () => {
    const doc = deployment();
    doc.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
    expect(validateManifest(doc)).toEqual([
      { path: 'spec.template.spec.containers[0].imagePullPolicy', message: 'expected one of "Always", "IfNotPresent", "Never"; got "Sometimes"' },
    ]);
  });

  it('reports a wrong type with the value received', () => {
    const doc = deployment();
    (doc.spec.template.spec.containers[0].ports[0] as Record<string, unknown>).containerPort = '80';
    expect(validateManifest(doc)).toEqual([{ path: 'spec.template.spec.containers[0].ports[0].containerPort', message: 'expected integer; got "80"' }]);
  });

  it('reports a missing required field', () => {
    const doc = deployment();
    delete (doc.spec as Partial<typeof doc.spec>).selector;
    expect(validateManifest(doc)).toEqual([{ path: 'spec.selector', message: 'required field is missing' }]);
  });

  it('reports a beta API that Kubernetes has removed, with its replacement', () => {
    const cronJob = {
      apiVersion: 'batch/v1beta1',
      kind: 'CronJob',
      metadata: { name: 'nightly' },
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'busybox:1.36' }] } } } } },
    };
    expect(validateManifest(cronJob)).toEqual([{ path: 'apiVersion', message: 'CronJob in "batch/v1beta1" was removed in Kubernetes 1.25; use apiVersion "batch/v1"' }]);
    expect(validateManifest({ ...cronJob, apiVersion: 'batch/v1' })).toEqual([]);
  });

  it('accepts the description and x-kubernetes-* fields of a CustomResourceDefinition, which kubernetes-models does not model', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size', description: 'Widget size' }],
            schema: {
              openAPIV3Schema: {
                type: 'object',
                description: 'A widget.',
                'x-kubernetes-validations': [{ rule: 'self.spec.size > 0', message: 'size must be positive' }],
                properties: {
                  spec: {
                    type: 'object',
                    properties: {
                      size: { type: 'integer', default: 1 },
                      ports: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object' } },
                      raw: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, default: { anything: { goes: true } } },
                    },
                  },
                },
              },
            },
          },
        ],
      },
    };
    expect(validateManifest(crd)).toEqual([]);
    crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size = { type: 'integer', defualt: 1 } as never;
    expect(validateManifest(crd)).toEqual([
      { path: 'spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size.defualt', message: expect.stringMatching(/unknown field "defualt"; did you mean "default"/) },
    ]);
  });

  it('accepts the description of a PriorityClass', () => {
    expect(
      validateManifest({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'keelson-critical' }, value: 1000000, description: 'platform pods' }),
    ).toEqual([]);
  });
});

describe('validateManifest: metadata', () => {
  it('rejects a Namespace label value that is not a valid label value', () => {
    const problems = validateManifest({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { tier: 'front end!' } } });
    expect(problems).toEqual([{ path: 'metadata.labels.tier', message: expect.stringMatching(/^invalid label value "front end!": must be empty or alphanumeric/) }]);
  });

  it('rejects a label value that is not a string and says how to fix it', () => {
    const problems = validateManifest({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { version: 3 } } });
    expect(problems).toEqual([{ path: 'metadata.labels.version', message: 'expected string; got 3 (quote it: "3")' }]);
  });

  it('rejects a label value longer than 63 characters', () => {
    const problems = validateManifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', labels: { id: 'a'.repeat(64) } } });
    expect(problems).toEqual([{ path: 'metadata.labels.id', message: expect.stringMatching(/at most 63 characters, got 64/) }]);
  });

  it('rejects invalid label and annotation keys, quoting keys that contain dots', () => {
    const problems = validateManifest({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', labels: { 'Example.COM/app': 'x' }, annotations: { 'a/b/c': 'x' } },
    });
    expect(problems).toEqual([
      { path: 'metadata.labels["Example.COM/app"]', message: expect.stringMatching(/^invalid label key "Example.COM\/app": prefix "Example.COM" must be a DNS-1123 subdomain/) },
      { path: 'metadata.annotations["a/b/c"]', message: expect.stringMatching(/^invalid annotation key "a\/b\/c"/) },
    ]);
  });

  it('rejects a name that is not a DNS-1123 subdomain', () => {
    const problems = validateManifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'My_Config' } });
    expect(problems).toEqual([{ path: 'metadata.name', message: expect.stringMatching(/^invalid name "My_Config" for ConfigMap: must be a DNS-1123 subdomain/) }]);
  });

  it('rejects a name longer than 253 characters', () => {
    const problems = validateManifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a'.repeat(254) } });
    expect(problems).toEqual([{ path: 'metadata.name', message: expect.stringMatching(/must be at most 253 characters, got 254/) }]);
  });

  it('applies the stricter DNS-1035 rule to Service names', () => {
    const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }] } });
    expect(validateManifest(service('web'))).toEqual([]);
    expect(validateManifest(service('1web'))).toEqual([{ path: 'metadata.name', message: expect.stringMatching(/must be a DNS-1035 label/) }]);
    expect(validateManifest(service('web.example'))).toEqual([{ path: 'metadata.name', message: expect.stringMatching(/must be a DNS-1035 label/) }]);
  });

  it('accepts RBAC names with colons, as Kubernetes does', () => {
    expect(validateManifest({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'keelson:aggregate-to-view' }, rules: [] })).toEqual([]);
  });

  it('requires apiVersion, kind and metadata.name', () => {
    expect(validateManifest({ metadata: {} })).toEqual([
      { path: 'apiVersion', message: 'required field is missing' },
      { path: 'kind', message: 'required field is missing' },
      { path: 'metadata.name', message: 'required field is missing' },
    ]);
    expect(validateManifest({ apiVersion: 'v1', kind: 'ConfigMap' })).toEqual([{ path: 'metadata', message: expect.stringMatching(/^required field is missing/) }]);
  });

  it('reports a document that is not an object', () => {
    expect(validateManifest(['not', 'an', 'object'])).toEqual([{ path: '(root)', message: expect.stringMatching(/expected a Kubernetes object.*got a list/) }]);
  });
});

describe('validateManifest: custom resources', () => {
  it('accepts a valid Argo CD Application', () => {
    const app = argoApplication({
      automated: { prune: true, selfHeal: true },
      syncOptions: ['CreateNamespace=true', 'ServerSideApply=true'],
      retry: { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } },
    });
    expect(validateManifest(app)).toEqual([]);
  });

  it('reports an unknown field under an Argo CD Application spec', () => {
    const problems = validateManifest(argoApplication({ automated: { prunez: true, selfHeal: true } }));
    expect(problems).toEqual([
      { path: 'spec.syncPolicy.automated.prunez', message: 'unknown field "prunez"; did you mean "prune"? (allowed: allowEmpty, enabled, prune, selfHeal)' },
    ]);
  });

  it('reports a custom resource that violates its CRD with the value received', () => {
    expect(validateManifest(cephBlockPool({ failureDomain: 'host', replicated: { size: 'three' } }))).toEqual([
      { path: 'spec.replicated.size', message: 'expected integer; got "three"' },
    ]);
  });

  it('accepts a valid CephBlockPool and treats null fields as absent, like the API server', () => {
    expect(validateManifest(cephBlockPool({ failureDomain: 'host', replicated: { size: 3 }, erasureCoded: null }))).toEqual([]);
  });

  it('reports a missing required field of a custom resource', () => {
    expect(validateManifest(cephBlockPool({ replicated: {} }))).toEqual([{ path: 'spec.replicated.size', message: 'required field is missing' }]);
  });

  it('checks the metadata of custom resources, which CRD schemas leave open', () => {
    const problems = validateManifest(cephBlockPool({ replicated: { size: 3 } }, { name: 'Replica_Pool', labelz: {}, labels: { tier: 'a b' } }));
    expect(problems).toEqual([
      { path: 'metadata.labelz', message: expect.stringMatching(/^unknown field "labelz"; did you mean "labels"/) },
      { path: 'metadata.name', message: expect.stringMatching(/^invalid name "Replica_Pool" for CephBlockPool/) },
      { path: 'metadata.labels.tier', message: expect.stringMatching(/^invalid label value "a b"/) },
    ]);
  });

  it('does not change the document it checks when it applies CRD defaults', () => {
    const pool = cephBlockPool({ replicated: { size: 3 } });
    const before = JSON.stringify(pool);
    expect(validateManifest(pool)).toEqual([]);
    expect(JSON.stringify(pool)).toBe(before);
  });

  it('lists the committed CRD kinds, served versions only', () => {
    const kinds = knownCustomResourceKinds();
    expect(kinds).toEqual(expect.arrayContaining(['argoproj.io/v1alpha1/Application', 'ceph.rook.io/v1/CephBlockPool', 'gateway.networking.k8s.io/v1/HTTPRoute', 'traefik.io/v1alpha1/Middleware']));
    expect(kinds).not.toContain('snapshot.storage.k8s.io/v1beta1/VolumeSnapshot');
    expect([...kinds].sort()).toEqual(kinds);
  });
});

describe('validateManifest: unknown kinds', () => {
  it('fails on a kind that has no schema instead of passing it unchecked', () => {
    expect(validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toEqual([
      { path: 'kind', message: expect.stringMatching(/^unknown kind "Widget" in apiVersion "example.com\/v1"; no schema for it/) },
    ]);
  });

  it('names the known versions when only the version of a custom resource is wrong', () => {
    expect(validateManifest({ apiVersion: 'gateway.networking.k8s.io/v2', kind: 'HTTPRoute', metadata: { name: 'web' } })).toEqual([
      { path: 'kind', message: expect.stringMatching(/no schema for it; known versions: gateway\.networking\.k8s\.io\/v1, gateway\.networking\.k8s\.io\/v1beta1$/) },
    ]);
  });

  it('does not take a spec type exported by kubernetes-models for a kind', () => {
    expect(validateManifest({ apiVersion: 'apps/v1', kind: 'DeploymentSpec', metadata: { name: 'x' } })).toEqual([
      { path: 'kind', message: expect.stringMatching(/^unknown kind "DeploymentSpec"/) },
    ]);
  });
});

describe('Go regular expressions in CRD patterns', () => {
  const policy = (value: string) => ({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'p', namespace: 'default' },
    spec: { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }] }], log: { value } },
  });

  it('compiles RE2 Unicode classes such as \\PC (Cilium) and applies them', () => {
    expect(validateManifest(policy('dns-egress'))).toEqual([]);
    expect(validateManifest(policy('bell\u0007')).map((p) => p.path)).toEqual(['spec.log.value']);
  });
});
