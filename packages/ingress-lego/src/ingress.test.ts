import { App, Testing } from 'cdk8s';
import { LayerChart } from '@keelson/cluster-kit';
import { endpoints, type PlatformSpec } from '@keelson/platform-spec';
import { validateManifest } from '@keelson/k8s-schemas';
import { Ingress } from './ingress';
import { find, renderPlatform, specWith, WEBSITE } from './test-app';

 
const problems = (objects: readonly any[]) => objects.flatMap((o) => validateManifest(o).map((p) => `${o.kind} ${o.metadata?.name} ${p.path}: ${p.message}`));
const gatewaySpec = () => specWith((c) => (c.layers = { ingress: 'gateway-api' }));
const wave = (o: any) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
const skipsDryRun = (o: any) => o.metadata.annotations?.['argocd.argoproj.io/sync-options'] === 'SkipDryRunOnMissingResource=true';
/** Where each custom resource kind of the ingress folder gets its CRD: the Application that installs it. */
const CRD_SOURCE: Record<string, string> = {
  'cert-manager.io': 'ingress-cert-manager',
  'traefik.io': 'ingress-traefik',
  'gateway.networking.k8s.io': 'ingress-gateway-api-crds',
};
/**
 * Argo CD's order inside one folder: every custom resource syncs after the
 * child Application that installs its CRD and skips the dry run until then;
 * every namespace syncs before every child Application.
 */
function syncOrderProblems(objects: readonly any[]): string[] {
  const problems: string[] = [];
  const applications = objects.filter((o) => o.kind === 'Application');
  for (const o of objects) {
    const group = o.apiVersion.split('/')[0];
    if (!(group in CRD_SOURCE)) continue;
    const installer = find(objects, 'Application', CRD_SOURCE[group]);
    if (!(wave(o) > wave(installer)) || !skipsDryRun(o)) problems.push(`${o.kind} ${o.metadata.name}: wave ${wave(o)}, dry run ${skipsDryRun(o) ? 'skipped' : 'not skipped'}; ${installer.metadata.name} is at wave ${wave(installer)}`);
  }
  for (const ns of objects.filter((o) => o.kind === 'Namespace')) {
    for (const a of applications) if (!(wave(ns) < wave(a))) problems.push(`Namespace ${ns.metadata.name} (wave ${wave(ns)}) is not before ${a.metadata.name} (wave ${wave(a)})`);
  }
  return problems;
}
const nodes = (n: 3 | 6 | 9) => specWith((c) => (c.nodes = { 3: { controllers: { count: 3 }, workers: { count: 0 } }, 6: { controllers: { count: 5 }, workers: { count: 1 } }, 9: { controllers: { count: 7 }, workers: { count: 2 } } }[n]));

describe('Ingress with Traefik (the default)', () => {
  const { ingress, ingressObjects, appObjects, apps, exposed } = renderPlatform(specWith());
  const certManager = find(ingressObjects, 'Application', 'ingress-cert-manager');
  const traefik = find(ingressObjects, 'Application', 'ingress-traefik');
  const values = traefik.spec.source.helm.valuesObject;

  it('installs the pinned cert-manager chart with its CRDs, and Traefik 41.1.0 (Traefik v3.7.9)', () => {
    expect(certManager.spec.source).toMatchObject({ repoURL: 'https://charts.jetstack.io', chart: 'cert-manager', targetRevision: 'v1.21.1' });
    expect(certManager.spec.destination.namespace).toBe('cert-manager');
    expect(certManager.spec.source.helm.valuesObject.crds).toEqual({ enabled: true, keep: true });
    expect(certManager.spec.source.helm.valuesObject.image.tag).toBe('v1.21.1');
    expect(traefik.spec.source).toMatchObject({ repoURL: 'https://traefik.github.io/charts', chart: 'traefik', targetRevision: '41.1.0' });
    expect(traefik.spec.destination.namespace).toBe('traefik');
    expect(values.image.tag).toBe('v3.7.9');
  });

  it('publishes Traefik on node ports with Local traffic policy and PROXY protocol trusted from the node network only', () => {
    expect(values.service).toEqual({ spec: { type: 'NodePort', externalTrafficPolicy: 'Local' } });
    expect(values.ports.web).toMatchObject({ nodePort: 30080, proxyProtocol: { trustedIPs: ['10.10.0.0/16'] } });
    expect(values.ports.websecure).toMatchObject({ nodePort: 30443, proxyProtocol: { trustedIPs: ['10.10.0.0/16'] } });
    expect(ingress.loadBalancerTarget).toEqual({ http: 30080, https: 30443, proxyProtocol: true });
    expect(ingress.namespace).toBe('traefik');
  });

  it('redirects HTTP to HTTPS at the lowest priority, so HTTP-01 solver routes still answer', () => {
    expect(values.ports.web.http.redirections).toEqual({ entryPoint: { to: 'websecure', scheme: 'https', permanent: true, priority: 1 } });
  });

  it('sends HSTS on every HTTPS route and refuses TLS below 1.2', () => {
    expect(values.ports.websecure.http).toEqual({ middlewares: ['traefik-hsts@kubernetescrd'], tls: { enabled: true } });
    const hsts = find(ingressObjects, 'Middleware', 'hsts');
    expect(hsts.metadata.namespace).toBe('traefik');
    expect(hsts.spec.headers).toEqual({ stsSeconds: 31536000, stsIncludeSubdomains: true });
    const tls = find(ingressObjects, 'TLSOption', 'default');
    expect(tls.metadata.namespace).toBe('traefik');
    expect(tls.spec.minVersion).toBe('VersionTLS12');
  });

  it('serves Ingress objects of class traefik only, without the Gateway provider', () => {
    expect(values.providers).toEqual({
      kubernetesCRD: { enabled: true, allowCrossNamespace: false },
      kubernetesIngress: { enabled: true },
      kubernetesGateway: { enabled: false },
    });
    expect(values.ingressClass).toEqual({ enabled: true, isDefaultClass: false, name: 'traefik' });
    expect(ingressObjects.filter((o) => o.apiVersion.startsWith('gateway.networking.k8s.io'))).toEqual([]);
  });

  it('runs Traefik as restricted, non-root pods with requests and limits', () => {
    expect(values.podSecurityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(values.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
    expect(values.resources.requests).toBeDefined();
    expect(values.resources.limits).toEqual({ cpu: '1', memory: '512Mi' });
  });

  it("issues from Let's Encrypt staging until the config says production: HTTP-01 through the ingress class for every host, no DNS API", () => {
    const staging = find(ingressObjects, 'ClusterIssuer', 'letsencrypt-staging');
    expect(staging.metadata.namespace).toBeUndefined();
    expect(staging.spec.acme).toMatchObject({ server: 'https://acme-staging-v02.api.letsencrypt.org/directory', email: 'ops@example.com', privateKeySecretRef: { name: 'letsencrypt-staging-account' } });
    expect(staging.spec.acme.solvers).toEqual([{ http01: { ingress: { ingressClassName: 'traefik' } } }]);
    expect(find(ingressObjects, 'ClusterIssuer', 'letsencrypt-production').spec.acme.server).toBe('https://acme-v02.api.letsencrypt.org/directory');
    expect(ingress.issuer).toBe('letsencrypt-staging');
    expect(ingressObjects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('syncs its namespaces first, then the charts, then its own custom resources with the dry run skipped until their CRDs exist', () => {
    expect(ingressObjects.filter((o) => o.apiVersion !== 'argoproj.io/v1alpha1' && o.apiVersion.includes('.')).map((o) => o.kind).sort()).toEqual(
      expect.arrayContaining(['ClusterIssuer', 'ClusterIssuer', 'Middleware', 'TLSOption']),
    );
    expect(syncOrderProblems(ingressObjects)).toEqual([]);
    expect([wave(certManager), wave(traefik)]).toEqual([0, 0]);
    expect(ingressObjects.filter((o) => o.kind === 'Namespace').map(wave)).toEqual([-1, -1]);
  });

  it('expose() renders an Ingress for the host with the issuer annotation, TLS secret and HTTPS-only router', () => {
    const route = find(appObjects, 'Ingress', 'www-example-com');
    expect(route.metadata.namespace).toBe('website');
    expect(route.metadata.annotations).toEqual({
      'cert-manager.io/cluster-issuer': 'letsencrypt-staging',
      'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
    });
    expect(route.spec).toEqual({
      ingressClassName: 'traefik',
      tls: [{ hosts: ['www.example.com'], secretName: 'www-example-com-tls' }],
      rules: [{ host: 'www.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'website', port: { number: 80 } } } }] } }],
    });
    expect(exposed).toEqual({ host: 'www.example.com', url: 'https://www.example.com/', tlsSecretName: 'www-example-com-tls' });
    expect(ingress.exposedHosts).toEqual(['www.example.com']);
  });

  it("expose() declares, in the app's layer, the controller's traffic to the service's pods and to the HTTP-01 solver", () => {
    expect(apps.trafficRules).toEqual([
      {
        from: endpoints.pods('traefik', { 'app.kubernetes.io/name': 'traefik' }),
        to: endpoints.pods('website', { 'acme.cert-manager.io/http01-solver': 'true' }),
        ports: [{ port: 8089 }],
        reason: expect.stringMatching(/HTTP-01/),
      },
      {
        from: endpoints.pods('traefik', { 'app.kubernetes.io/name': 'traefik' }),
        to: endpoints.pods('website', { 'app.kubernetes.io/name': 'website' }),
        ports: [{ port: 8080 }],
        reason: 'the ingress controller forwards https://www.example.com/ to website/website',
      },
    ]);
  });

  it('declares the traffic its own pods need: load balancer in, API server, webhook, ACME out (no DNS API)', () => {
    const rules = ingress.trafficRules.map((r) => ({ from: r.from, to: r.to, ports: r.ports }));
    const traefikPods = endpoints.pods('traefik', { 'app.kubernetes.io/name': 'traefik' });
    const controller = endpoints.pods('cert-manager', { 'app.kubernetes.io/name': 'cert-manager', 'app.kubernetes.io/instance': 'cert-manager', 'app.kubernetes.io/component': 'controller' });
    expect(rules).toEqual(
      expect.arrayContaining([
        { from: endpoints.nodes, to: traefikPods, ports: [{ port: 8000 }, { port: 8443 }] },
        { from: endpoints.internet, to: traefikPods, ports: [{ port: 8000 }, { port: 8443 }] },
        { from: traefikPods, to: endpoints.kubeApiServer, ports: [{ port: 6443 }] },
        { from: endpoints.pods('cert-manager'), to: endpoints.kubeApiServer, ports: [{ port: 6443 }] },
        { from: endpoints.kubeApiServer, to: endpoints.pods('cert-manager', expect.objectContaining({ 'app.kubernetes.io/component': 'webhook' })), ports: [{ port: 10250 }] },
        { from: controller, to: endpoints.internet, ports: [{ port: 443 }] },
        { from: controller, to: endpoints.internet, ports: [{ port: 80 }] },
      ]),
    );
    expect(rules).toHaveLength(7);
  });

  it('declares the chart repositories and cluster-scoped kinds for the AppProject', () => {
    expect(ingress.upstreamDeclarations.map((d) => [d.repoURL, d.namespace])).toEqual([
      ['https://charts.jetstack.io', 'cert-manager'],
      ['https://traefik.github.io/charts', 'traefik'],
    ]);
    expect(ingress.upstreamDeclarations[1].clusterResources).toContainEqual({ group: 'networking.k8s.io', kind: 'IngressClass' });
  });

  it('renders objects that validate against their schemas', () => {
    expect(problems([...ingressObjects, ...appObjects])).toEqual([]);
  });
});

describe('Ingress fault budget', () => {
  it.each([
    [3, 2],
    [6, 3],
    [9, 4],
  ] as const)('runs k+1 Traefik and webhook replicas at most one per node, each with a PodDisruptionBudget, at N = %i', (n, replicas) => {
    const spec = nodes(n);
    expect(spec.budget.statelessReplicas).toBe(replicas);
    const { ingressObjects } = renderPlatform(spec);
    const traefik = find(ingressObjects, 'Application', 'ingress-traefik').spec.source.helm.valuesObject;
    expect(traefik.deployment.replicas).toBe(replicas);
    expect(traefik.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
    expect(traefik.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik', 'app.kubernetes.io/instance': 'traefik-traefik' } }, topologyKey: 'kubernetes.io/hostname' },
    ]);
    const cm = find(ingressObjects, 'Application', 'ingress-cert-manager').spec.source.helm.valuesObject;
    expect(cm.webhook.replicaCount).toBe(replicas);
    expect(cm.webhook.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
    expect(cm.webhook.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]).toEqual({
      labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'webhook', 'app.kubernetes.io/instance': 'cert-manager', 'app.kubernetes.io/component': 'webhook' } },
      topologyKey: 'kubernetes.io/hostname',
    });
    // Leader-elected components too: k+1, so a standby survives any k failures.
    expect([cm.replicaCount, cm.cainjector.replicaCount]).toEqual([replicas, replicas]);
    expect(cm.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
    expect(cm.cainjector.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
  });
});

describe('Ingress in production', () => {
  it('issues certificates from the production ClusterIssuer when acme.environment is production', () => {
    const spec = specWith((c) => (c.acme = { email: 'ops@example.com', environment: 'production' }));
    const { ingress, appObjects } = renderPlatform(spec);
    expect(ingress.issuer).toBe('letsencrypt-production');
    expect(find(appObjects, 'Ingress', 'www-example-com').metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt-production');
  });
});

describe('Ingress with the Gateway API', () => {
  const { ingress, ingressObjects, appObjects, apps, exposed } = renderPlatform(gatewaySpec());
  const values = find(ingressObjects, 'Application', 'ingress-traefik').spec.source.helm.valuesObject;
  const cm = find(ingressObjects, 'Application', 'ingress-cert-manager').spec.source.helm.valuesObject;
  const gateway = find(ingressObjects, 'Gateway', 'public');

  it('runs Traefik as the Gateway API implementation in gateway-system, with Ingress support off', () => {
    expect(ingress.namespace).toBe('gateway-system');
    expect(find(ingressObjects, 'Application', 'ingress-traefik').spec.destination.namespace).toBe('gateway-system');
    expect(values.providers).toEqual({
      kubernetesCRD: { enabled: true, allowCrossNamespace: false },
      kubernetesIngress: { enabled: false },
      kubernetesGateway: { enabled: true },
    });
    expect(values.ingressClass.enabled).toBe(false);
    expect(values.ports.websecure.http.middlewares).toEqual(['gateway-system-hsts@kubernetescrd']);
    expect(find(ingressObjects, 'GatewayClass', 'traefik').spec).toEqual({ controllerName: 'traefik.io/gateway-controller' });
  });

  it('syncs its namespaces before the CRDs, and the Gateway, its class, routes, issuers and Traefik resources after the Applications that install their CRDs', () => {
    const custom = ingressObjects.filter((o) => o.apiVersion.split('/')[0] in CRD_SOURCE).map((o) => o.kind);
    expect([...new Set(custom)].sort()).toEqual(['ClusterIssuer', 'Gateway', 'GatewayClass', 'HTTPRoute', 'Middleware', 'TLSOption']);
    expect(syncOrderProblems(ingressObjects)).toEqual([]);
    // After Traefik too: it implements the GatewayClass.
    expect(wave(gateway)).toBeGreaterThan(wave(find(ingressObjects, 'Application', 'ingress-traefik')));
    expect(ingressObjects.filter((o) => o.kind === 'Namespace').map((n) => [n.metadata.name, wave(n)])).toEqual([
      ['cert-manager', -2],
      ['gateway-system', -2],
    ]);
  });

  it('installs the standard-channel Gateway API CRDs v1.6.1 before the charts', () => {
    const crds = find(ingressObjects, 'Application', 'ingress-gateway-api-crds');
    expect(crds.spec.source).toEqual({
      repoURL: 'https://github.com/kubernetes-sigs/gateway-api.git',
      targetRevision: 'v1.6.1',
      path: 'config/crd/standard',
      directory: { include: 'gateway.networking.k8s.io_*.yaml' },
    });
    expect(crds.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-1');
    expect(crds.spec.syncPolicy.automated.prune).toBe(false);
    expect(ingress.upstreamDeclarations.map((d) => d.repoURL)).toContain('https://github.com/kubernetes-sigs/gateway-api.git');
  });

  it("turns on cert-manager's Gateway API support and solves HTTP-01 through the Gateway's HTTP listener", () => {
    expect(cm.config).toEqual({ enableGatewayAPI: true });
    expect(find(ingressObjects, 'ClusterIssuer', 'letsencrypt-staging').spec.acme.solvers[0]).toEqual({
      http01: { gatewayHTTPRoute: { parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateway-system', sectionName: 'http' }] } },
    });
  });

  it('gives each exposed host its own HTTPS listener with a certificate from the issuer annotation, open only to its namespace', () => {
    expect(gateway.metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt-staging');
    expect(gateway.spec.listeners).toEqual([
      { name: 'http', port: 8000, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } },
      {
        name: 'https-www-example-com',
        hostname: 'www.example.com',
        port: 8443,
        protocol: 'HTTPS',
        tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'www-example-com-tls' }] },
        allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'website' } } } },
      },
    ]);
  });

  it('redirects plain HTTP to HTTPS with an HTTPRoute on the HTTP listener', () => {
    expect(values.ports.web.http).toBeUndefined();
    expect(find(ingressObjects, 'HTTPRoute', 'https-redirect').spec).toEqual({
      parentRefs: [{ name: 'public', sectionName: 'http' }],
      rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
    });
  });

  it("expose() renders an HTTPRoute on the host's listener", () => {
    const route = find(appObjects, 'HTTPRoute', 'www-example-com');
    expect(route.metadata.namespace).toBe('website');
    expect(route.spec).toEqual({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateway-system', sectionName: 'https-www-example-com' }],
      hostnames: ['www.example.com'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'website', port: 80 }] }],
    });
    expect(exposed).toEqual({ host: 'www.example.com', url: 'https://www.example.com/', tlsSecretName: 'www-example-com-tls' });
  });

  it('declares the controller traffic to the service in the app layer, and to the solver next to the Gateway', () => {
    expect(apps.trafficRules).toEqual([
      {
        from: endpoints.pods('gateway-system', { 'app.kubernetes.io/name': 'traefik' }),
        to: endpoints.pods('website', { 'app.kubernetes.io/name': 'website' }),
        ports: [{ port: 8080 }],
        reason: 'the ingress controller forwards https://www.example.com/ to website/website',
      },
    ]);
    expect(ingress.trafficRules).toContainEqual(
      expect.objectContaining({
        from: endpoints.pods('gateway-system', { 'app.kubernetes.io/name': 'traefik' }),
        to: endpoints.pods('gateway-system', { 'acme.cert-manager.io/http01-solver': 'true' }),
        ports: [{ port: 8089 }],
      }),
    );
  });

  it('renders objects that validate against their schemas', () => {
    expect(problems([...ingressObjects, ...appObjects])).toEqual([]);
  });

  it("leaves the apps' HTTPRoutes in the default wave: the ingress layer's Application, CRDs included, is healthy before the apps folder syncs", () => {
    const route = find(appObjects, 'HTTPRoute', 'www-example-com');
    expect(route.metadata.annotations).toBeUndefined();
    expect(apps.layer.syncWave).toBeGreaterThan(ingress.layer.syncWave);
  });

  it('expose() from the ingress layer itself puts the HTTPRoute after the CRDs, with the dry run skipped', () => {
    const spec = gatewaySpec();
    const own = new Ingress(new App(), 'ingress', { spec });
    own.expose(own, { namespace: 'gateway-system', name: 'dashboard', port: 8080, podLabels: { 'app.kubernetes.io/name': 'traefik' } }, 'traefik.example.com');
    const objects = Testing.synth(own);
    expect(find(objects, 'HTTPRoute', 'traefik-example-com').metadata.namespace).toBe('gateway-system');
    expect(syncOrderProblems(objects)).toEqual([]);
  });
});

describe('swapping Traefik for the Gateway API', () => {
  const traefik = renderPlatform(specWith());
  const gateway = renderPlatform(gatewaySpec());
  const routeKinds = ['Ingress', 'HTTPRoute'];

  it("leaves the apps' Deployments and Services byte-identical", () => {
    for (const kind of ['Deployment', 'Service', 'Namespace']) {
      const a = traefik.appObjects.filter((o) => o.kind === kind);
      const b = gateway.appObjects.filter((o) => o.kind === kind);
      expect(a.length).toBeGreaterThan(0);
      expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    }
  });

  it('changes only the route objects in the apps layer', () => {
    const rest = (objects: readonly { kind: string }[]) => JSON.stringify(objects.filter((o) => !routeKinds.includes(o.kind)));
    expect(rest(gateway.appObjects)).toBe(rest(traefik.appObjects));
    expect(traefik.appObjects.filter((o) => routeKinds.includes(o.kind)).map((o) => o.kind)).toEqual(['Ingress']);
    expect(gateway.appObjects.filter((o) => routeKinds.includes(o.kind)).map((o) => o.kind)).toEqual(['HTTPRoute']);
  });

  it('returns the same host, URL and secret name to the app', () => {
    expect(gateway.exposed).toEqual(traefik.exposed);
  });
});

describe('Ingress errors', () => {
  const setup = (spec: PlatformSpec = specWith()) => {
    const app = new App();
    const ingress = new Ingress(app, 'ingress', { spec });
    const apps = new LayerChart(app, 'apps', { spec, layer: 'apps' });
    return { app, ingress, apps };
  };

  it('refuses a host outside config.domain', () => {
    const { ingress, apps } = setup();
    expect(() => ingress.expose(apps, WEBSITE, 'www.example.org')).toThrow(/host "www.example.org" is outside config.domain "example.com"; use "example.com" or a name under it such as "www.example.com"/);
    expect(() => ingress.expose(apps, WEBSITE, 'notexample.com')).toThrow(/outside config.domain/);
  });

  it('refuses a host that is not a lower-case DNS name, wildcards included', () => {
    const { ingress, apps } = setup();
    expect(() => ingress.expose(apps, WEBSITE, '*.example.com')).toThrow(/host "\*.example.com" is not a lower-case DNS name/);
    expect(() => ingress.expose(apps, WEBSITE, 'WWW.example.com')).toThrow(/not a lower-case DNS name/);
  });

  it('refuses a path that does not start with a slash', () => {
    const { ingress, apps } = setup();
    expect(() => ingress.expose(apps, WEBSITE, 'www.example.com', { path: 'blog' })).toThrow(/path "blog" must start with "\/"; e.g. "\/blog"/);
  });

  it('refuses to expose a host twice', () => {
    const { ingress, apps } = setup();
    ingress.expose(apps, WEBSITE, 'www.example.com');
    expect(() => ingress.expose(apps, { ...WEBSITE, name: 'other' }, 'www.example.com')).toThrow(/host "www.example.com" is already exposed for namespace website; expose each host once/);
  });

  it("refuses a service in a namespace the calling layer does not own", () => {
    const { ingress, apps } = setup();
    expect(() => ingress.expose(apps, { ...WEBSITE, namespace: 'velero' }, 'www.example.com')).toThrow(/namespace "velero" is not one of layer apps's .*call expose\(\) from the chart of the layer that owns the service/);
  });

  it('refuses node ports outside the NodePort range, or equal', () => {
    expect(() => new Ingress(new App(), 'ingress', { spec: specWith(), nodePorts: { http: 80, https: 30443 } })).toThrow(/nodePorts.http is 80; use a port in the NodePort range 30000-32767/);
    expect(() => new Ingress(new App(), 'ingress', { spec: specWith(), nodePorts: { http: 30443, https: 30443 } })).toThrow(/nodePorts.http and nodePorts.https are both 30443/);
  });

  it('uses the node ports it is given as the load balancer target', () => {
    const ingress = new Ingress(new App(), 'ingress', { spec: specWith(), nodePorts: { http: 31080, https: 31443 } });
    expect(ingress.loadBalancerTarget).toEqual({ http: 31080, https: 31443, proxyProtocol: true });
    expect(Testing.synth(ingress).find((o) => o.metadata.name === 'ingress-traefik').spec.source.helm.valuesObject.ports.websecure.nodePort).toBe(31443);
  });

  it('refuses a layer plan without a controller namespace', () => {
    const spec = specWith();
    const broken: PlatformSpec = { ...spec, layers: spec.layers.map((l) => (l.id === 'ingress' ? { ...l, namespaces: l.namespaces.filter((n) => n.name === 'cert-manager') } : l)) };
    expect(() => new Ingress(new App(), 'ingress', { spec: broken })).toThrow(/the ingress layer plan has no namespace besides cert-manager/);
  });

  it('refuses, under the Gateway API, to expose from a layer that syncs before the ingress layer installs the CRDs', () => {
    const { app, ingress } = setup(gatewaySpec());
    const storage = new LayerChart(app, 'storage', { spec: gatewaySpec(), layer: 'storage' });
    expect(() => ingress.expose(storage, { namespace: 'rook-ceph', name: 'dashboard', port: 8443, podLabels: { app: 'rook-ceph-mgr' } }, 'ceph.example.com')).toThrow(
      /Ingress.expose\(rook-ceph\/dashboard\): layer storage syncs at wave 0, not after the ingress layer \(wave 10\) that installs the Gateway API CRDs its HTTPRoute needs; expose the service from a layer that syncs later/,
    );
    // An Ingress is a built-in kind: under Traefik the same call is fine.
    const traefik = setup();
    const early = new LayerChart(traefik.app, 'storage', { spec: specWith(), layer: 'storage' });
    expect(() => traefik.ingress.expose(early, { namespace: 'rook-ceph', name: 'dashboard', port: 8443, podLabels: { app: 'rook-ceph-mgr' } }, 'ceph.example.com')).not.toThrow();
  });

  it('refuses more hosts than a Gateway has listeners', () => {
    const { ingress, apps } = setup(gatewaySpec());
    for (let i = 0; i < 63; i++) ingress.expose(apps, { ...WEBSITE, name: `site-${i}` }, `site-${i}.example.com`);
    expect(() => ingress.expose(apps, WEBSITE, 'one-more.example.com')).toThrow(/the Gateway already has 63 HTTPS listeners/);
  });
});
