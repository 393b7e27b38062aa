import { App, Testing } from 'cdk8s';
import { exampleConfig, parsePlatformConfig, type PlatformConfigInput, type PlatformSpec, type TrafficRule } from '@keelson/platform-spec';
import { validateManifest } from '@keelson/k8s-schemas';
import { PlatformApps } from './platform-apps';
import { MEDIA_RECOVERY_BOUND_SECONDS, MEDIA_START_ALLOWANCE_SECONDS, NODE_MONITOR_GRACE_PERIOD_SECONDS, jellyfin } from './media-server';
import { RecordingIngress, TEST_CONTROLLER_LABELS, TEST_STORAGE } from './test-ingress';

function specFor(nodes: 3 | 6 | 9, change: (c: PlatformConfigInput) => void = () => {}): PlatformSpec {
  const config = exampleConfig();
  const [controllers, workers] = { 3: [3, 0], 6: [5, 1], 9: [7, 2] }[nodes];
  config.nodes = { controllers: { count: controllers }, workers: { count: workers } };
  change(config);
  return parsePlatformConfig(config, 'test');
}

function render(spec: PlatformSpec, props: Partial<ConstructorParameters<typeof PlatformApps>[2]> = {}) {
  const ingress = new RecordingIngress();
  const chart = new PlatformApps(new App(), 'apps', { spec, ingress, storage: TEST_STORAGE, ...props });
  const objects: any[] = Testing.synth(chart);
  const find = (kind: string, name: string, namespace?: string): any => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
    if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
    return found;
  };
  return { chart, ingress, objects, find };
}

const problemsIn = (objects: any[]) => objects.flatMap((o) => validateManifest(o).map((p) => `${o.kind} ${o.metadata.name} ${p.path}: ${p.message}`));
const podSpec = (deployment: any) => deployment.spec.template.spec;
const container = (deployment: any) => podSpec(deployment).containers[0];

describe.each([3, 6, 9] as const)('PlatformApps on %i nodes', (nodes) => {
  const spec = specFor(nodes);
  const { k } = spec.budget;
  const { find, objects } = render(spec);

  it(`runs k+1 = ${k + 1} Nextcloud and website replicas, at most one per node, each under a PodDisruptionBudget`, () => {
    for (const [ns, name] of [
      ['nextcloud', 'nextcloud'],
      ['website', 'website'],
    ]) {
      const deployment = find('Deployment', name, ns);
      expect(deployment.spec.replicas).toBe(k + 1);
      const labels = deployment.spec.template.metadata.labels;
      expect(podSpec(deployment).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
        { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' },
      ]);
      const pdb = find('PodDisruptionBudget', name, ns);
      expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: labels } });
      // Worst case: the k dead nodes each held a replica; one per node leaves k+1-k >= 1 serving.
      expect(deployment.spec.replicas - k).toBeGreaterThanOrEqual(1);
    }
  });

  it(`runs k+1 = ${k + 1} PostgreSQL instances, one per node, committing synchronously to the other ${k}`, () => {
    const db = find('Cluster', 'nextcloud-db', 'nextcloud');
    expect(db.spec.instances).toBe(k + 1);
    expect(db.spec.affinity).toEqual({ enablePodAntiAffinity: true, podAntiAffinityType: 'required', topologyKey: 'kubernetes.io/hostname' });
    expect(db.spec.postgresql.synchronous).toEqual({ method: 'any', number: k, dataDurability: 'preferred' });
    expect(db.spec.enablePDB).toBe(true);
  });

  it(`runs k+1 = ${k + 1} leader-elected CloudNativePG operators, one per node`, () => {
    const values = find('Application', 'apps-cloudnative-pg').spec.source.helm.valuesObject;
    expect(values.replicaCount).toBe(k + 1);
    expect(values.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
    // The chart has no PDB value (a dead key does nothing on the cluster): the layer renders the PDB itself.
    expect(values.podDisruptionBudget).toBeUndefined();
    const pdb = find('PodDisruptionBudget', 'cloudnative-pg', 'cnpg-system');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'cloudnative-pg', 'app.kubernetes.io/instance': 'cloudnative-pg' } } });
  });

  it(`moves Emby off a dead node within ${MEDIA_RECOVERY_BOUND_SECONDS} s`, () => {
    const emby = find('Deployment', 'emby', 'emby');
    expect(emby.spec.replicas).toBe(1);
    expect(emby.spec.strategy).toEqual({ type: 'Recreate' });
    const tolerations = podSpec(emby).tolerations;
    expect(tolerations.map((t: any) => t.key).sort()).toEqual(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);
    for (const t of tolerations) {
      expect(t).toMatchObject({ operator: 'Exists', effect: 'NoExecute' });
      expect(NODE_MONITOR_GRACE_PERIOD_SECONDS + t.tolerationSeconds + MEDIA_START_ALLOWANCE_SECONDS).toBeLessThanOrEqual(MEDIA_RECOVERY_BOUND_SECONDS);
    }
    expect(container(emby).readinessProbe.httpGet).toEqual({ path: '/emby/System/Ping', port: 8096 });
    for (const claim of podSpec(emby).volumes.filter((v: any) => v.persistentVolumeClaim)) {
      expect(find('PersistentVolumeClaim', claim.persistentVolumeClaim.claimName, 'emby').spec.accessModes).toEqual(['ReadWriteMany']);
    }
  });

  it('renders objects that validate against their schemas', () => {
    expect(problemsIn(objects)).toEqual([]);
  });
});

describe('PlatformApps on the example platform', () => {
  const spec = specFor(6);
  const { chart, ingress, objects, find } = render(spec);

  it('renders the apps namespaces with their Pod Security levels', () => {
    const levels = Object.fromEntries(objects.filter((o) => o.kind === 'Namespace').map((o) => [o.metadata.name, o.metadata.labels['pod-security.kubernetes.io/enforce']]));
    expect(levels).toEqual({ 'cnpg-system': 'restricted', nextcloud: 'baseline', emby: 'baseline', website: 'restricted' });
  });

  it('exposes each app through the ingress with the Service it renders', () => {
    expect(ingress.calls.map((c) => [c.host, c.service.namespace, c.service.name])).toEqual([
      ['cloud.example.com', 'nextcloud', 'nextcloud'],
      ['media.example.com', 'emby', 'emby'],
      ['www.example.com', 'website', 'website'],
    ]);
    for (const { service: ref } of ingress.calls) {
      const service = find('Service', ref.name, ref.namespace);
      expect(service.spec.selector).toEqual(ref.podLabels);
      expect(service.spec.ports).toEqual([{ name: 'http', port: ref.port, targetPort: ref.targetPort, protocol: 'TCP' }]);
      const deployment = find('Deployment', ref.name, ref.namespace);
      expect(deployment.spec.template.metadata.labels).toEqual(ref.podLabels);
      expect(container(deployment).ports.map((p: any) => p.containerPort)).toEqual([ref.targetPort]);
    }
    expect(objects.filter((o) => o.kind === 'Ingress' || o.kind === 'HTTPRoute')).toEqual([]);
  });

  it('declares every connection the apps need, and nothing else', () => {
    const show = (r: TrafficRule) => {
      const end = (e: TrafficRule['from']) => (e.kind === 'pods' ? `${e.namespace}${e.labels ? `[${Object.values(e.labels).join(',')}]` : ''}` : e.kind);
      return `${end(r.from)} -> ${end(r.to)} : ${(r.ports ?? []).map((p) => p.port).join(',')}`;
    };
    expect(chart.trafficRules.map(show)).toEqual([
      'cnpg-system[cloudnative-pg,cloudnative-pg] -> kube-apiserver : 6443',
      'kube-apiserver -> cnpg-system[cloudnative-pg,cloudnative-pg] : 9443',
      'cnpg-system[cloudnative-pg,cloudnative-pg] -> nextcloud[nextcloud-db] : 8000,5432',
      'nextcloud[nextcloud-db] -> kube-apiserver : 6443',
      'nextcloud[nextcloud-db] -> nextcloud[nextcloud-db] : 5432,8000',
      'traefik[traefik] -> nextcloud[nextcloud,web] : 80',
      'nextcloud[nextcloud] -> nextcloud[nextcloud-db] : 5432',
      'nextcloud[nextcloud] -> internet : 443',
      'traefik[traefik] -> emby[emby,media-server] : 8096',
      'emby[emby,media-server] -> internet : 443',
      'traefik[traefik] -> website[website,web] : 8080',
    ]);
    expect(chart.trafficRules[5].from).toEqual({ kind: 'pods', namespace: 'traefik', labels: TEST_CONTROLLER_LABELS });
  });

  it('installs the pinned CloudNativePG chart with its CRDs before the database, and declares it for the AppProject', () => {
    const app = find('Application', 'apps-cloudnative-pg');
    expect(app.spec.source).toMatchObject({ repoURL: 'https://cloudnative-pg.github.io/charts', chart: 'cloudnative-pg', targetRevision: '0.29.0' });
    expect(app.spec.destination.namespace).toBe('cnpg-system');
    expect(app.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-1');
    expect(app.spec.source.helm.valuesObject.crds).toEqual({ create: true });
    expect(chart.upstreamDeclarations).toEqual([
      expect.objectContaining({
        repoURL: 'https://cloudnative-pg.github.io/charts',
        namespace: 'cnpg-system',
        clusterResources: expect.arrayContaining([
          { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
          { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' },
        ]),
      }),
    ]);
  });

  it('syncs the namespaces first, then the CloudNativePG operator, then its Cluster with the dry run skipped until the CRD exists', () => {
    const wave = (o: any) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    const operator = wave(find('Application', 'apps-cloudnative-pg'));
    const db = find('Cluster', 'nextcloud-db', 'nextcloud');
    expect(wave(db)).toBeGreaterThan(operator);
    expect(db.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('SkipDryRunOnMissingResource=true');
    // cnpg-system is the operator Application's destination: it must exist before that wave, or the folder waits forever.
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toContain('cnpg-system');
    for (const n of namespaces) expect(wave(n)).toBeLessThan(operator);
  });

  it('bootstraps the database with an owner whose secret CloudNativePG generates, on block storage, labelled for hourly backups', () => {
    const db = find('Cluster', 'nextcloud-db', 'nextcloud');
    expect(db.spec.bootstrap).toEqual({ initdb: { database: 'nextcloud', owner: 'nextcloud' } });
    expect(db.spec.storage).toEqual({ storageClass: 'ceph-block', size: '10Gi' });
    expect(db.spec.imageName).toMatch(/^ghcr\.io\/cloudnative-pg\/postgresql:17\.\d+-/);
    expect(db.metadata.labels['keelson.dev/backup']).toBe('database');
    expect(db.spec.inheritedMetadata.labels).toEqual({ 'keelson.dev/backup': 'database' });
    expect(db.spec.monitoring).toEqual({ enablePodMonitor: false });
  });

  it('configures Nextcloud for the ingress and its database, with credentials referenced by name only', () => {
    const nextcloud = find('Deployment', 'nextcloud', 'nextcloud');
    const env = Object.fromEntries(container(nextcloud).env.map((e: any) => [e.name, e.value ?? e.valueFrom.secretKeyRef]));
    expect(env).toEqual({
      POSTGRES_HOST: 'nextcloud-db-rw',
      POSTGRES_DB: 'nextcloud',
      POSTGRES_USER: { name: 'nextcloud-db-app', key: 'username' },
      POSTGRES_PASSWORD: { name: 'nextcloud-db-app', key: 'password' },
      NEXTCLOUD_ADMIN_USER: { name: 'nextcloud-admin', key: 'username' },
      NEXTCLOUD_ADMIN_PASSWORD: { name: 'nextcloud-admin', key: 'password' },
      NEXTCLOUD_TRUSTED_DOMAINS: 'cloud.example.com',
      TRUSTED_PROXIES: '10.244.0.0/16 10.10.0.0/16',
      OVERWRITEHOST: 'cloud.example.com',
      OVERWRITEPROTOCOL: 'https',
      OVERWRITECLIURL: 'https://cloud.example.com',
    });
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(chart.requiredSecrets).toEqual([{ namespace: 'nextcloud', name: 'nextcloud-admin' }]);
    expect(container(nextcloud).image).toBe('nextcloud:32.0.15-apache');
    expect(container(nextcloud).readinessProbe.httpGet).toEqual({ path: '/status.php', port: 80 });
    expect(container(nextcloud).livenessProbe.httpGet).toEqual({ path: '/status.php', port: 80 });
  });

  it('runs Nextcloud as www-data with a read-only root filesystem, listening on 80 through a safe sysctl', () => {
    const pod = podSpec(find('Deployment', 'nextcloud', 'nextcloud'));
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 33, runAsGroup: 33, fsGroup: 33, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }]);
    expect(pod.containers[0].securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0].resources.limits).toEqual({ cpu: '2', memory: '2Gi' });
  });

  it('shares code, files and PHP sessions between replicas on ReadWriteMany volumes', () => {
    const html = find('PersistentVolumeClaim', 'nextcloud-html', 'nextcloud');
    expect(html.spec).toEqual({ accessModes: ['ReadWriteMany'], storageClassName: 'ceph-filesystem', resources: { requests: { storage: '100Gi' } } });
    expect(find('PersistentVolumeClaim', 'nextcloud-sessions', 'nextcloud').spec.accessModes).toEqual(['ReadWriteMany']);
    expect(find('ConfigMap', 'nextcloud-php', 'nextcloud').data['zz-keelson.ini']).toContain('session.save_path = "/var/lib/php/sessions"');
    const mounts = Object.fromEntries(container(find('Deployment', 'nextcloud', 'nextcloud')).volumeMounts.map((m: any) => [m.mountPath, m.name]));
    expect(mounts).toMatchObject({ '/var/www/html': 'html', '/var/lib/php/sessions': 'sessions' });
  });

  it('runs background jobs every five minutes as www-data, never two at once', () => {
    const cron = find('CronJob', 'nextcloud-cron', 'nextcloud');
    expect(cron.spec).toMatchObject({ schedule: '*/5 * * * *', concurrencyPolicy: 'Forbid' });
    const pod = cron.spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].command).toEqual(['php', '-f', '/var/www/html/cron.php']);
    expect(pod.containers[0].image).toBe('nextcloud:32.0.15-apache');
    expect(pod.securityContext).toMatchObject({ runAsUser: 33, runAsNonRoot: true });
    expect(pod.volumes.find((v: any) => v.name === 'html')).toEqual({ name: 'html', persistentVolumeClaim: { claimName: 'nextcloud-html' } });
    expect(cron.spec.jobTemplate.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('nextcloud');
  });

  it('runs the website pods at the restricted level with caching headers', () => {
    const pod = podSpec(find('Deployment', 'website', 'website'));
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 101, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of pod.containers) {
      expect(c.securityContext).toEqual({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits).toBeDefined();
    }
    expect(pod.containers[0].image).toBe('nginxinc/nginx-unprivileged:1.29.8-alpine');
    expect(pod.containers[0].readinessProbe.httpGet).toEqual({ path: '/healthz', port: 8080 });
    const conf = find('ConfigMap', 'website-nginx', 'website').data['site.conf'];
    expect(conf).toContain('listen 8080;');
    expect(conf).toContain('add_header Cache-Control "public, max-age=86400" always;');
    expect(conf).toContain('add_header Cache-Control "no-cache" always;');
    expect(conf).toContain('etag on;');
  });

  it('serves the built-in page from a ConfigMap by default, with no init container and no internet access', () => {
    const pod = podSpec(find('Deployment', 'website', 'website'));
    expect(pod.initContainers).toBeUndefined();
    expect(pod.volumes.find((v: any) => v.name === 'content')).toEqual({ name: 'content', configMap: { name: 'website-content' } });
    expect(find('ConfigMap', 'website-content', 'website').data['index.html']).toContain('<h1>www.example.com</h1>');
  });

  it('pins every image by an exact tag', () => {
    const images = objects.flatMap((o) => {
      const pod = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec?.template?.spec;
      return pod ? [...(pod.initContainers ?? []), ...pod.containers].map((c: any) => c.image) : o.kind === 'Cluster' ? [o.spec.imageName] : [];
    });
    expect(images.length).toBeGreaterThanOrEqual(5);
    for (const image of images) expect(image).toMatch(/:(\d+\.\d+[\w.-]*|v\d+\.\d+\.\d+)$/);
  });
});

describe('PlatformApps options', () => {
  it('serves a content image copied by an init container running as the web server user', () => {
    const spec = specFor(3, (c) => (c.apps = { website: { source: { type: 'image', image: 'ghcr.io/you/site:1.4.0', path: '/srv/site/' } } }));
    const { find, objects, chart } = render(spec);
    const pod = podSpec(find('Deployment', 'website', 'website'));
    expect(pod.initContainers).toEqual([expect.objectContaining({ image: 'ghcr.io/you/site:1.4.0', command: ['cp', '-R', '/srv/site/.', '/content/'] })]);
    expect(pod.volumes.find((v: any) => v.name === 'content')).toEqual({ name: 'content', emptyDir: { sizeLimit: '1Gi' } });
    expect(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === 'website-content')).toBe(false);
    expect(chart.trafficRules.filter((r) => r.from.kind === 'pods' && r.from.namespace === 'website')).toEqual([]);
    expect(problemsIn(objects)).toEqual([]);
  });

  it('clones a Git revision with a pinned git image, and may then reach the internet on 443 only', () => {
    const spec = specFor(3, (c) => (c.apps = { website: { source: { type: 'git', repoURL: 'https://github.com/you/site.git', revision: 'v2.0.0', path: 'public' } } }));
    const { find, objects, chart } = render(spec);
    const init = podSpec(find('Deployment', 'website', 'website')).initContainers[0];
    expect(init.image).toBe('alpine/git:v2.52.0');
    expect(Object.fromEntries(init.env.map((e: any) => [e.name, e.value]))).toMatchObject({ REPO_URL: 'https://github.com/you/site.git', REVISION: 'v2.0.0', SITE_PATH: 'public' });
    expect(init.command[2]).toContain('git fetch -q --depth 1 origin "$REVISION"');
    expect(init.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(chart.trafficRules.filter((r) => r.from.kind === 'pods' && r.from.namespace === 'website')).toEqual([
      { from: { kind: 'pods', namespace: 'website', labels: { 'app.kubernetes.io/name': 'website', 'app.kubernetes.io/component': 'web' } }, to: { kind: 'internet' }, ports: [{ port: 443 }], reason: 'website fetches its content from Git over https' },
    ]);
    expect(problemsIn(objects)).toEqual([]);
  });

  it('serves an app at the apex domain when its host is "@"', () => {
    const { ingress } = render(specFor(3, (c) => (c.apps = { website: { host: '@' } })));
    expect(ingress.calls.find((c) => c.service.name === 'website')?.host).toBe('example.com');
  });

  it.each([
    ['nextcloud', ['cnpg-system', 'nextcloud']],
    ['media', ['emby']],
    ['website', ['website']],
  ] as const)('switching %s off removes its objects, namespaces, exposure and traffic', (app, namespaces) => {
    const spec = specFor(6, (c) => (c.apps = { [app]: { enabled: false } }));
    const { objects, ingress, chart } = render(spec);
    for (const ns of namespaces) {
      expect(objects.filter((o) => o.metadata.namespace === ns || (o.kind === 'Namespace' && o.metadata.name === ns))).toEqual([]);
      expect(ingress.calls.filter((c) => c.service.namespace === ns)).toEqual([]);
      expect(chart.trafficRules.filter((r) => [r.from, r.to].some((e) => e.kind === 'pods' && e.namespace === ns))).toEqual([]);
    }
    expect(objects.some((o) => o.kind === 'Application')).toBe(app !== 'nextcloud');
    expect(ingress.calls).toHaveLength(2);
    expect(problemsIn(objects)).toEqual([]);
  });

  it('swapping Emby for Jellyfin in one config line changes only the media server objects and keeps the library', () => {
    const emby = render(specFor(6)).objects;
    const swapped = render(specFor(6, (c) => (c.apps = { media: { server: 'jellyfin' } })));
    // The emby Namespace itself changes too: Pod Security baseline for Emby, restricted for Jellyfin.
    const outside = (objs: any[]) => objs.filter((o) => o.metadata.namespace !== 'emby' && !(o.kind === 'Namespace' && o.metadata.name === 'emby'));
    expect(outside(swapped.objects)).toEqual(outside(emby));
    const names = (objs: any[]) => objs.filter((o) => o.metadata.namespace === 'emby').map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names(emby)).toEqual(['PersistentVolumeClaim/emby-config', 'PersistentVolumeClaim/media-library', 'Deployment/emby', 'Service/emby']);
    expect(names(swapped.objects)).toEqual(['PersistentVolumeClaim/jellyfin-config', 'PersistentVolumeClaim/media-library', 'Deployment/jellyfin', 'Service/jellyfin']);
    const library = (objs: any[]) => objs.find((o) => o.metadata.name === 'media-library');
    expect(library(swapped.objects)).toEqual(library(emby));
    const deployment = swapped.find('Deployment', 'jellyfin', 'emby');
    expect(container(deployment).image).toBe('jellyfin/jellyfin:10.11.11');
    expect(container(deployment).readinessProbe.httpGet).toEqual({ path: '/health', port: 8096 });
    expect(podSpec(deployment).tolerations.map((t: any) => t.tolerationSeconds)).toEqual([10, 10]);
    expect(swapped.ingress.calls.find((c) => c.service.namespace === 'emby')?.service.name).toBe('jellyfin');
    expect(problemsIn(swapped.objects)).toEqual([]);
  });

  it('takes the media server as a prop too, overriding the config', () => {
    const { find } = render(specFor(3), { mediaServer: jellyfin });
    expect(container(find('Deployment', 'jellyfin', 'emby')).image).toBe('jellyfin/jellyfin:10.11.11');
  });

  it('runs Jellyfin as a non-root user with a read-only root filesystem', () => {
    const pod = podSpec(render(specFor(3), { mediaServer: jellyfin }).find('Deployment', 'jellyfin', 'emby'));
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 2000 });
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  it('enforces Pod Security restricted on the media namespace when Jellyfin runs, baseline only for Emby', () => {
    const level = (objects: any[]) => objects.find((o) => o.kind === 'Namespace' && o.metadata.name === 'emby').metadata;
    const jellyfinNs = level(render(specFor(3, (c) => (c.apps = { media: { server: 'jellyfin' } }))).objects);
    expect(jellyfinNs.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(jellyfinNs.annotations?.['keelson.dev/pod-security-reason']).toBeUndefined();
    const embyNs = level(render(specFor(3)).objects);
    expect(embyNs.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect(embyNs.annotations['keelson.dev/pod-security-reason']).toMatch(/Emby image starts as root/);
  });

  it.each<[string, PlatformConfigInput['apps']]>([
    ['every app', {}],
    ['Nextcloud off', { nextcloud: { enabled: false } }],
    ['Jellyfin', { media: { server: 'jellyfin' } }],
    ['only the website', { nextcloud: { enabled: false }, media: { enabled: false } }],
  ])('renders volume claims in exactly the namespaces platform-spec plans with volumes (%s), which the restore drill picks from', (_name, apps) => {
    const spec = specFor(6, (c) => (c.apps = apps));
    const planned = spec.layers.find((l) => l.id === 'apps')!.namespaces.filter((n) => n.volumes).map((n) => n.name);
    const { objects } = render(spec);
    const claimed = [...new Set(objects.filter((o) => o.kind === 'PersistentVolumeClaim' || o.kind === 'Cluster').map((o) => o.metadata.namespace))];
    expect(claimed.sort()).toEqual([...planned].sort());
  });

  it('keeps Emby to the capabilities it needs to switch user, without privilege escalation', () => {
    const c = container(render(specFor(3)).find('Deployment', 'emby', 'emby'));
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '4', memory: '4Gi' } });
  });

  it('spreads over failure domains, two replicas each, under the failure-domains model', () => {
    const spec = specFor(6, (c) => (c.faultModel = { type: 'failure-domains', domains: 3 }));
    const { find } = render(spec);
    const web = find('Deployment', 'website', 'website');
    expect(web.spec.replicas).toBe(2);
    expect(podSpec(web).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('topology.kubernetes.io/zone');
    const db = find('Cluster', 'nextcloud-db', 'nextcloud');
    expect(db.spec).toMatchObject({ instances: 2, affinity: { topologyKey: 'topology.kubernetes.io/zone' }, postgresql: { synchronous: { number: 1 } } });
  });
});
