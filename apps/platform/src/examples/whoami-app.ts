// An app of your own, in one file: the recipe the README shows, kept here so
// a test proves it works end to end (composed, policies, Argo CD, verify).
import { ApiObject } from 'cdk8s';
import type { LayerChart } from '@keelson/cluster-kit';
import type { AppContext } from '../platform';

/** traefik/whoami: answers HTTP with what it received. @see https://github.com/traefik/whoami */
export function whoamiApp(chart: LayerChart, { spec, ingress }: AppContext): void {
  const namespace = chart.addNamespace({ name: 'whoami', podSecurity: 'restricted' });
  const labels = { 'app.kubernetes.io/name': 'whoami' };
  const replicas = spec.budget.statelessReplicas; // k+1, one per node
  new ApiObject(chart, 'whoami-deployment', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'whoami', namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' }] } },
          securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'whoami',
              image: 'docker.io/traefik/whoami:v1.11.0',
              args: ['--port', '8080'],
              ports: [{ name: 'http', containerPort: 8080 }],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
              readinessProbe: { httpGet: { path: '/health', port: 'http' } },
              livenessProbe: { httpGet: { path: '/health', port: 'http' } },
            },
          ],
        },
      },
    },
  });
  new ApiObject(chart, 'whoami-pdb', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'whoami', namespace }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } });
  new ApiObject(chart, 'whoami-service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'whoami', namespace },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  // The route, the certificate and the allow from the ingress controller.
  ingress.expose(chart, { namespace, name: 'whoami', port: 80, targetPort: 8080, podLabels: labels }, `whoami.${spec.config.domain}`);
  // Anything else it needs is declared the same way, e.g.
  // chart.allowTraffic({ from: endpoints.pods(namespace), to: endpoints.internet, ports: [{ port: 443 }], reason: '...' });
  // whoami needs nothing more: every other connection to or from it is denied.
}
