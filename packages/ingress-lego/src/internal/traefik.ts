import { endpoints, NODE_NETWORK_CIDR, type PlatformSpec } from '@keelson/platform-spec';
import { afterCrds, UpstreamHelmChart, type LayerChart } from '@keelson/cluster-kit';
import { INGRESS_IMAGES, TRAEFIK_CHART, type TraefikValues } from '../charts';
import { Middleware, TlsOption } from '../generated/traefik.io';
import { antiAffinity, CONTAINER_SECURITY, ONE_AT_A_TIME, POD_SECURITY } from './common';

/** Ports inside the Traefik pods (the chart's defaults, unprivileged). */
export const ENTRYPOINT_PORTS = { web: 8000, websecure: 8443 } as const;

/** Name of the IngressClass Traefik serves. */
export const INGRESS_CLASS = 'traefik';

/** Labels that select the Traefik pods in their namespace. */
export const TRAEFIK_POD_LABELS = { 'app.kubernetes.io/name': 'traefik' } as const;

/** How Traefik is deployed: which provider routes, and whether the entry point redirects HTTP itself. */
export interface TraefikMode {
  readonly namespace: string;
  readonly provider: 'ingress' | 'gateway';
  readonly nodePorts: { readonly http: number; readonly https: number };
}

/** The HSTS Middleware's name, and how an entry point refers to it. */
const HSTS = 'hsts';

export function traefikValues(spec: PlatformSpec, mode: TraefikMode): TraefikValues {
  const trusted = { trustedIPs: [NODE_NETWORK_CIDR] };
  return {
    image: { tag: INGRESS_IMAGES.traefik },
    deployment: { replicas: spec.budget.statelessReplicas },
    podDisruptionBudget: ONE_AT_A_TIME,
    affinity: antiAffinity(spec.budget, { ...TRAEFIK_POD_LABELS, 'app.kubernetes.io/instance': `traefik-${mode.namespace}` }),
    ingressClass: { enabled: mode.provider === 'ingress', isDefaultClass: false, name: INGRESS_CLASS },
    providers: {
      kubernetesCRD: { enabled: true, allowCrossNamespace: false },
      kubernetesIngress: { enabled: mode.provider === 'ingress' },
      kubernetesGateway: { enabled: mode.provider === 'gateway' },
    },
    gateway: { enabled: false },
    gatewayClass: { enabled: false },
    ports: {
      web: {
        nodePort: mode.nodePorts.http,
        proxyProtocol: trusted,
        // Under Gateway API the redirect is an HTTPRoute; with Ingresses the
        // entry point redirects. Priority 1 (the lowest) lets cert-manager's
        // HTTP-01 solver routes on this entry point answer first.
        ...(mode.provider === 'ingress' ? { http: { redirections: { entryPoint: { to: 'websecure', scheme: 'https', permanent: true, priority: 1 } } } } : {}),
      },
      websecure: {
        nodePort: mode.nodePorts.https,
        proxyProtocol: trusted,
        http: { middlewares: [`${mode.namespace}-${HSTS}@kubernetescrd`], tls: { enabled: true } },
      },
    },
    // The load balancer sends to every node and health-checks the HTTPS node
    // port; with `Local` only nodes running a Traefik pod accept the
    // connection, and the source address (the load balancer) is kept.
    service: { spec: { type: 'NodePort', externalTrafficPolicy: 'Local' } },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    podSecurityContext: { ...POD_SECURITY, runAsUser: 65532, runAsGroup: 65532 },
    securityContext: CONTAINER_SECURITY,
    global: { checkNewVersion: false, sendAnonymousUsage: false },
  };
}

/**
 * Installs Traefik with TLS 1.2 at least and HSTS on every HTTPS route, and
 * declares the controller's traffic.
 *
 * @see https://doc.traefik.io/traefik/v3.7/reference/routing-configuration/http/tls/tls-options/
 * @see https://doc.traefik.io/traefik/v3.7/reference/routing-configuration/http/middlewares/headers/
 */
export function installTraefik(chart: LayerChart, spec: PlatformSpec, mode: TraefikMode) {
  const release = new UpstreamHelmChart(chart, 'traefik', {
    ...TRAEFIK_CHART,
    namespace: mode.namespace,
    values: traefikValues(spec, mode),
    clusterResources: [
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ...(mode.provider === 'ingress' ? [{ group: 'networking.k8s.io', kind: 'IngressClass' }] : []),
    ],
  });

  // Traefik's CRDs come with its chart's Application in this folder.
  const afterTraefik = afterCrds(release);
  // A TLSOption named `default` is Traefik's default for every TLS router.
  new TlsOption(chart, 'tls-default', {
    metadata: { name: 'default', namespace: mode.namespace, annotations: { ...afterTraefik } },
    spec: { minVersion: 'VersionTLS12' },
  });
  new Middleware(chart, 'hsts', {
    metadata: { name: HSTS, namespace: mode.namespace, annotations: { ...afterTraefik } },
    spec: { headers: { stsSeconds: 31536000, stsIncludeSubdomains: true } },
  });

  const pods = endpoints.pods(mode.namespace, TRAEFIK_POD_LABELS);
  const ports = [{ port: ENTRYPOINT_PORTS.web }, { port: ENTRYPOINT_PORTS.websecure }];
  chart.allowTraffic({ from: endpoints.nodes, to: pods, ports, reason: 'the ingress load balancer (inside the node network, PROXY protocol) and its health checks reach Traefik through the node ports' });
  chart.allowTraffic({ from: endpoints.internet, to: pods, ports, reason: 'public HTTP and HTTPS clients, should a load balancer keep their addresses' });
  chart.allowTraffic({ from: pods, to: endpoints.kubeApiServer, ports: [{ port: 6443 }], reason: 'Traefik watches routes, Services, endpoints and Secrets' });
  return release;
}
