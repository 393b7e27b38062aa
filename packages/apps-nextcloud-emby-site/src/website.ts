import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { LayerChart } from '@keelson/cluster-kit';
import { endpoints, type ExposedService, type IngressLayer, type PlatformConfig, type PlatformSpec, type ServiceRef } from '@keelson/platform-spec';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { COMPONENT_LABEL, NAME_LABEL, clusterService, disruptionBudget, nonRootPod, onePerFailureDomain, restrictedContainer } from './internal/workload';

/**
 * nginx built to run unprivileged (uid 101, port 8080, temporary files in /tmp), pinned.
 *
 * @see https://github.com/nginx/docker-nginx-unprivileged
 */
export const WEBSITE_NGINX_IMAGE = 'nginxinc/nginx-unprivileged:1.29.8-alpine';
/** git for the `git` content source, pinned. @see https://hub.docker.com/r/alpine/git */
export const WEBSITE_GIT_IMAGE = 'alpine/git:v2.52.0';
/** Namespace the website runs in (planned by platform-spec). */
export const WEBSITE_NAMESPACE = 'website';

/** Where the website content comes from (the config's `apps.website.source`). */
export type WebsiteSource = PlatformConfig['apps']['website']['source'];

const NGINX_UID = 101;
const PORT = 8080;
const ROOT = '/usr/share/nginx/html';

/**
 * The server block: ETag and Last-Modified on everything, HTML revalidated
 * on every visit (`no-cache`), static assets cached for a day, dotfiles
 * hidden, and a health endpoint for the probes.
 *
 * @see https://nginx.org/en/docs/http/ngx_http_headers_module.html
 */
export const WEBSITE_NGINX_CONFIG = `server {
    listen ${PORT};
    server_name _;
    root ${ROOT};
    index index.html;
    server_tokens off;
    etag on;

    location = /healthz {
        access_log off;
        default_type text/plain;
        return 200 "ok\\n";
    }

    location ~ /\\. {
        deny all;
    }

    location ~* \\.(?:css|js|mjs|json|xml|txt|woff2?|ttf|otf|eot|svg|png|jpe?g|gif|webp|avif|ico|mp4|webm|pdf)$ {
        add_header Cache-Control "public, max-age=86400" always;
        add_header X-Content-Type-Options nosniff always;
        try_files $uri =404;
    }

    location / {
        add_header Cache-Control "no-cache" always;
        add_header X-Content-Type-Options nosniff always;
        try_files $uri $uri/ =404;
    }
}
`;

/** Props for {@link Website}. */
export interface WebsiteProps {
  readonly spec: PlatformSpec;
  readonly ingress: IngressLayer;
  /** Public host name, e.g. `www.example.com`. */
  readonly host: string;
  /**
   * Where the content comes from.
   * @default { type: 'builtin' } — a placeholder page from a ConfigMap
   */
  readonly source?: WebsiteSource;
}

/**
 * A static website: k+1 unprivileged nginx replicas at most one per node,
 * a PodDisruptionBudget, a read-only root filesystem and caching headers.
 *
 * Content is fixed at pod start: the built-in page, a content image whose
 * site folder an init container copies out (the image needs `cp`), or a Git
 * revision an init container clones. Roll the Deployment to pick up a new
 * revision of a moving branch.
 */
export class Website extends Construct {
  public readonly service: ServiceRef;
  public readonly exposed: ExposedService;

  constructor(scope: Construct, id: string, props: WebsiteProps) {
    super(scope, id);
    const layer = LayerChart.containing(this);
    const { budget } = props.spec;
    const ns = WEBSITE_NAMESPACE;
    const source: WebsiteSource = props.source ?? { type: 'builtin' };
    const labels = { [NAME_LABEL]: 'website', [COMPONENT_LABEL]: 'web' };

    const nginx: IConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'website-nginx', namespace: ns }, data: { 'site.conf': WEBSITE_NGINX_CONFIG } };
    new ApiObject(this, 'nginx-config', nginx);

    const volumes: IVolume[] = [
      { name: 'nginx-config', configMap: { name: 'website-nginx' } },
      { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    ];
    const initContainers: IContainer[] = [];
    const small = { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '500m', memory: '128Mi' } };
    if (source.type === 'builtin') {
      const content: IConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'website-content', namespace: ns },
        data: { 'index.html': placeholderPage(props.host) },
      };
      new ApiObject(this, 'content', content);
      volumes.push({ name: 'content', configMap: { name: 'website-content' } });
    } else {
      volumes.push({ name: 'content', emptyDir: { sizeLimit: '1Gi' } });
      if (source.type === 'image') {
        initContainers.push({
          name: 'content',
          image: source.image,
          command: ['cp', '-R', `${source.path.replace(/\/+$/, '')}/.`, '/content/'],
          securityContext: restrictedContainer(),
          volumeMounts: [{ name: 'content', mountPath: '/content' }],
          resources: small,
        });
      } else {
        volumes.push({ name: 'git', emptyDir: { sizeLimit: '1Gi' } });
        initContainers.push({
          name: 'content',
          image: WEBSITE_GIT_IMAGE,
          command: ['sh', '-c', GIT_FETCH_SCRIPT],
          env: [
            { name: 'REPO_URL', value: source.repoURL },
            { name: 'REVISION', value: source.revision },
            { name: 'SITE_PATH', value: source.path },
            { name: 'HOME', value: '/git' },
          ],
          securityContext: restrictedContainer(),
          volumeMounts: [
            { name: 'git', mountPath: '/git' },
            { name: 'content', mountPath: '/content' },
          ],
          resources: small,
        });
        layer.allowTraffic({ from: endpoints.pods(ns, labels), to: endpoints.internet, ports: [{ port: 443 }], reason: 'website fetches its content from Git over https' });
      }
    }

    const probe = (periodSeconds: number, failureThreshold: number) => ({ httpGet: { path: '/healthz', port: PORT }, periodSeconds, timeoutSeconds: 2, failureThreshold });
    const deployment: IDeployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'website', namespace: ns },
      spec: {
        replicas: budget.statelessReplicas,
        selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels },
          spec: {
            securityContext: nonRootPod(NGINX_UID, NGINX_UID),
            affinity: onePerFailureDomain(budget, labels),
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            ...(initContainers.length > 0 ? { initContainers } : {}),
            containers: [
              {
                name: 'nginx',
                image: WEBSITE_NGINX_IMAGE,
                ports: [{ name: 'http', containerPort: PORT, protocol: 'TCP' }],
                // The entrypoint's optional scripts skip what they cannot write.
                env: [{ name: 'NGINX_ENTRYPOINT_QUIET_LOGS', value: '1' }],
                securityContext: restrictedContainer(),
                volumeMounts: [
                  { name: 'nginx-config', mountPath: '/etc/nginx/conf.d', readOnly: true },
                  { name: 'content', mountPath: ROOT, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
                resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '500m', memory: '64Mi' } },
                readinessProbe: probe(5, 2),
                livenessProbe: probe(10, 3),
              },
            ],
            volumes,
          },
        },
      },
    };
    new ApiObject(this, 'deployment', deployment);
    disruptionBudget(this, ns, 'website', labels);
    this.service = clusterService(this, { namespace: ns, name: 'website', port: 80, targetPort: PORT, podLabels: labels });
    this.exposed = props.ingress.expose(this, this.service, props.host);
  }
}

/**
 * Fetches one revision (branch, tag or commit) without history and copies
 * its site folder, without Git metadata, into the served volume.
 */
const GIT_FETCH_SCRIPT = [
  'set -eu',
  'git init -q /git/repo',
  'cd /git/repo',
  'git remote add origin "$REPO_URL"',
  'git fetch -q --depth 1 origin "$REVISION"',
  'git checkout -q FETCH_HEAD',
  'cp -R "./$SITE_PATH/." /content/',
  'rm -rf /content/.git',
].join('\n');

function placeholderPage(host: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${host}</title></head>
<body>
<h1>${host}</h1>
<p>This site runs on Keelson. Set <code>apps.website.source</code> in the platform config to serve your own content.</p>
</body>
</html>
`;
}
