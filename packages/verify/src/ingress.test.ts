import { checkIngress } from './ingress';
import type { K8sObject, Loose } from './types';
import { manifest } from './test-fixtures';

// The Gateway API shape the ingress layer renders (packages/ingress-lego
// internal/gateway.ts): one Gateway with a plain-HTTP listener that only the
// redirect uses, one HTTPS listener per exposed host, an HTTPRoute per host.
const issuer: K8sObject = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt' }, spec: { acme: { server: 'https://acme-v02.api.letsencrypt.org/directory' } } };
const gateway = (): Loose => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'keelson', namespace: 'traefik', annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' } },
  spec: {
    gatewayClassName: 'traefik',
    listeners: [
      { name: 'http', port: 8000, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } },
      {
        name: 'cloud-example-com',
        hostname: 'cloud.example.com',
        port: 8443,
        protocol: 'HTTPS',
        tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'cloud-example-com-tls' }] },
        allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'nextcloud' } } } },
      },
    ],
  },
});
const redirect: K8sObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'https-redirect', namespace: 'traefik' },
  spec: { parentRefs: [{ name: 'keelson', sectionName: 'http' }], rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }] },
};
const route = (): Loose => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'nextcloud', namespace: 'nextcloud' },
  spec: {
    parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'keelson', namespace: 'traefik', sectionName: 'cloud-example-com' }],
    hostnames: ['cloud.example.com'],
    rules: [{ backendRefs: [{ name: 'nextcloud', port: 8080 }] }],
  },
});
const run = (g: Loose, r: Loose, extra: K8sObject[] = [issuer]) => checkIngress([g, r, redirect, ...extra].map((o) => manifest(o as K8sObject)));
const messages = (result: ReturnType<typeof checkIngress>) => result.findings.map((f) => f.message);

describe('ingress through the Gateway API', () => {
  it('passes routes attached only to the HTTPS listener of their host, on a Gateway that names a rendered issuer', () => {
    const result = run(gateway(), route());
    expect(messages(result)).toEqual([]);
    expect(result.summary).toMatch(/^0 Ingresses, 2 HTTPRoutes, 1 public hosts on TLS through 1 cert-manager issuers/);
  });

  it('refuses a serving route on the plain-HTTP listener', () => {
    const r = route();
    r.metadata.namespace = 'traefik';
    r.spec.parentRefs = [{ name: 'keelson' }];
    expect(messages(run(gateway(), r))).toContainEqual(expect.stringMatching(/^HTTPRoute traefik\/nextcloud: attached to plain-HTTP listener Gateway traefik\/keelson\/http with backends: cloud.example.com is served without TLS/));
  });

  it('refuses a host no HTTPS listener covers, and a route no listener accepts', () => {
    const other = route();
    other.spec.hostnames = ['files.example.com'];
    expect(messages(run(gateway(), other))).toEqual([expect.stringMatching(/^HTTPRoute nextcloud\/nextcloud: host files.example.com is covered by no HTTPS listener it attaches to \(cloud-example-com for cloud.example.com\)/)]);
    const elsewhere = route();
    elsewhere.metadata.namespace = 'website';
    expect(messages(run(gateway(), elsewhere))).toEqual([expect.stringMatching(/^HTTPRoute website\/nextcloud: no listener of a rendered Gateway accepts it/)]);
  });

  it('refuses an HTTPS listener without a certificate or hostname, and a Gateway without a rendered issuer', () => {
    const passthrough = gateway();
    passthrough.spec.listeners[1].tls = { mode: 'Passthrough' };
    expect(messages(run(passthrough, route()))).toEqual([expect.stringMatching(/^Gateway traefik\/keelson: HTTPS listener cloud-example-com passes TLS through/)]);
    const anyName = gateway();
    delete anyName.spec.listeners[1].hostname;
    expect(messages(run(anyName, route()))).toContainEqual(expect.stringMatching(/^Gateway traefik\/keelson: HTTPS listener cloud-example-com has no hostname/));
    const unissued = gateway();
    delete unissued.metadata.annotations;
    expect(messages(run(unissued, route()))).toEqual([expect.stringMatching(/^Gateway traefik\/keelson: no cert-manager.io\/cluster-issuer .* annotation: cert-manager's gateway-shim issues no certificate for its HTTPS listeners \(cloud.example.com\)/)]);
    expect(messages(run(gateway(), route(), []))).toEqual([expect.stringMatching(/^Gateway traefik\/keelson: ClusterIssuer letsencrypt is not in the desired state/)]);
  });
});
