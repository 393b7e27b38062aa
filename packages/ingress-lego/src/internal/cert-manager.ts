import { endpoints, type PlatformSpec } from '@keelson/platform-spec';
import { afterCrds, UpstreamHelmChart, type LayerChart } from '@keelson/cluster-kit';
import { CERT_MANAGER_CHART, INGRESS_IMAGES, type CertManagerValues } from '../charts';
import { ClusterIssuer, type ClusterIssuerSpecAcmeSolversHttp01 } from '../generated/cert-manager.io';
import { antiAffinity, CONTAINER_SECURITY, ONE_AT_A_TIME, POD_SECURITY } from './common';

export const CERT_MANAGER_NAMESPACE = 'cert-manager';

/** Let's Encrypt ACME directories. @see https://letsencrypt.org/docs/staging-environment/ */
export const ACME_SERVERS = {
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
  production: 'https://acme-v02.api.letsencrypt.org/directory',
} as const;

/** ClusterIssuer names, one per Let's Encrypt environment. */
export const ISSUER_NAMES = { staging: 'letsencrypt-staging', production: 'letsencrypt-production' } as const;

/** Labels the chart puts on each component's pods (release `cert-manager`). */
const COMPONENT_LABELS = {
  controller: { 'app.kubernetes.io/name': 'cert-manager', 'app.kubernetes.io/instance': 'cert-manager', 'app.kubernetes.io/component': 'controller' },
  webhook: { 'app.kubernetes.io/name': 'webhook', 'app.kubernetes.io/instance': 'cert-manager', 'app.kubernetes.io/component': 'webhook' },
  cainjector: { 'app.kubernetes.io/name': 'cainjector', 'app.kubernetes.io/instance': 'cert-manager', 'app.kubernetes.io/component': 'cainjector' },
} as const;

/** Port the webhook serves on (the chart's `webhook.securePort`). */
const WEBHOOK_PORT = 10250;

/** The cert-manager values for this platform: HA where it matters, restricted pods. */
export function certManagerValues(spec: PlatformSpec, enableGatewayAPI: boolean): CertManagerValues {
  const { budget } = spec;
  const component = (labels: Readonly<Record<string, string>>, replicaCount: number, memory: string) => ({
    replicaCount,
    podDisruptionBudget: ONE_AT_A_TIME,
    affinity: antiAffinity(budget, labels),
    resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '500m', memory } },
    securityContext: POD_SECURITY,
    containerSecurityContext: CONTAINER_SECURITY,
    image: { tag: INGRESS_IMAGES.certManager },
  });
  return {
    crds: { enabled: true, keep: true },
    global: { leaderElection: { namespace: CERT_MANAGER_NAMESPACE } },
    config: { enableGatewayAPI },
    // Every component runs k+1 replicas, one per node: the webhook serves
    // every API call on cert-manager resources; the controller and cainjector
    // elect a leader, and k+1 of them leave a standby after any k failures.
    ...component(COMPONENT_LABELS.controller, budget.statelessReplicas, '256Mi'),
    webhook: component(COMPONENT_LABELS.webhook, budget.statelessReplicas, '128Mi'),
    cainjector: component(COMPONENT_LABELS.cainjector, budget.statelessReplicas, '256Mi'),
    acmesolver: { image: { tag: INGRESS_IMAGES.certManager } },
    startupapicheck: { enabled: false },
  };
}

/** Installs cert-manager and the two Let's Encrypt ClusterIssuers; declares cert-manager's traffic. */
export function installCertManager(chart: LayerChart, spec: PlatformSpec, http01: ClusterIssuerSpecAcmeSolversHttp01, enableGatewayAPI: boolean) {
  const release = new UpstreamHelmChart(chart, 'cert-manager', {
    ...CERT_MANAGER_CHART,
    namespace: CERT_MANAGER_NAMESPACE,
    values: certManagerValues(spec, enableGatewayAPI),
    clusterResources: [
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' },
      { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' },
    ],
  });

  for (const environment of ['staging', 'production'] as const) {
    new ClusterIssuer(chart, `issuer-${environment}`, {
      // cert-manager's Application in this folder installs the CRD and the webhook that admits it.
      metadata: { name: ISSUER_NAMES[environment], annotations: afterCrds(release) },
      spec: {
        acme: {
          server: ACME_SERVERS[environment],
          email: spec.config.acme.email,
          privateKeySecretRef: { name: `${ISSUER_NAMES[environment]}-account` },
          // HTTP-01 through the ingress controller, for every name: the
          // platform exposes exact host names only (expose() refuses
          // wildcards), so no DNS-01 solver and no DNS API token are needed,
          // whatever cloud holds the zone.
          // @see https://cert-manager.io/docs/configuration/acme/http01/
          solvers: [{ http01 }],
        },
      },
    });
  }

  const pods = endpoints.pods(CERT_MANAGER_NAMESPACE);
  chart.allowTraffic({ from: pods, to: endpoints.kubeApiServer, ports: [{ port: 6443 }], reason: 'cert-manager controller, webhook and cainjector watch and write the Kubernetes API' });
  chart.allowTraffic({
    from: endpoints.kubeApiServer,
    to: endpoints.pods(CERT_MANAGER_NAMESPACE, COMPONENT_LABELS.webhook),
    ports: [{ port: WEBHOOK_PORT }],
    reason: 'the API server calls the cert-manager admission webhook',
  });
  const controller = endpoints.pods(CERT_MANAGER_NAMESPACE, COMPONENT_LABELS.controller);
  chart.allowTraffic({ from: controller, to: endpoints.internet, ports: [{ port: 443 }], reason: "ACME with Let's Encrypt" });
  chart.allowTraffic({ from: controller, to: endpoints.internet, ports: [{ port: 80 }], reason: 'HTTP-01 self-check: cert-manager fetches the challenge through the public load balancer' });
  return release;
}
