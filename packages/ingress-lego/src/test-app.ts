import { ApiObject, App, Testing } from 'cdk8s';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import { LayerChart } from '@keelson/cluster-kit';
import { exampleConfig, parsePlatformConfig, type PlatformConfigInput, type PlatformSpec, type ServiceRef } from '@keelson/platform-spec';
import { Ingress } from './ingress';

/** A platform spec from the example config, changed by `edit`. */
export function specWith(edit: (c: PlatformConfigInput) => void = () => undefined): PlatformSpec {
  const config = exampleConfig();
  edit(config);
  return parsePlatformConfig(config, 'test');
}

/** The website's Service, as an app layer would describe it. */
export const WEBSITE: ServiceRef = { namespace: 'website', name: 'website', port: 80, targetPort: 8080, podLabels: { 'app.kubernetes.io/name': 'website' } };

/**
 * A small apps layer: a Deployment and a Service for the website, made public
 * with one expose() call, the way an app package uses the ingress layer.
 */
export function renderPlatform(spec: PlatformSpec, host = 'www.example.com') {
  const app = new App();
  const ingress = new Ingress(app, 'ingress', { spec });
  const apps = new LayerChart(app, 'apps', { spec, layer: 'apps' });
  const deployment: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'website', namespace: WEBSITE.namespace },
    spec: {
      replicas: spec.budget.statelessReplicas,
      selector: { matchLabels: { ...WEBSITE.podLabels } },
      template: {
        metadata: { labels: { ...WEBSITE.podLabels } },
        spec: {
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'web',
              image: 'docker.io/nginxinc/nginx-unprivileged:1.29.1',
              ports: [{ containerPort: 8080 }],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
            },
          ],
        },
      },
    },
  };
  const service: IService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: WEBSITE.name, namespace: WEBSITE.namespace },
    spec: { selector: { ...WEBSITE.podLabels }, ports: [{ name: 'http', port: WEBSITE.port, targetPort: WEBSITE.targetPort }] },
  };
  new ApiObject(apps, 'deployment', deployment);
  new ApiObject(apps, 'service', service);
  const exposed = ingress.expose(apps, WEBSITE, host);
  return { app, ingress, apps, exposed, ingressObjects: Testing.synth(ingress), appObjects: Testing.synth(apps) };
}

/** Finds one object by kind and name, or fails the test saying which was missing. */
 
export function find(objects: readonly any[], kind: string, name: string): any {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  return found;
}
