import { ApiObject } from 'cdk8s';
import type { Construct, IConstruct } from 'constructs';
import YAML from 'yaml';
import { jellyfin, type MediaServerImplementation } from '@keelson/apps-nextcloud-emby-site';
import { LayerChart, renderCharts } from '@keelson/cluster-kit';
import { nodeProviderFor } from '@keelson/infra-nodes';
import { validateManifest } from '@keelson/k8s-schemas';
import {
  endpoints,
  exampleConfig,
  parsePlatformConfig,
  VELERO_SNAPSHOT_CLASS_LABEL,
  type BootstrapStep,
  type DeployTimeSecret,
  type ExposedService,
  type HealthGate,
  type IngressLayer,
  type PlatformSpec,
  type PodNetworkLayer,
  type ServiceRef,
  type StorageLayer,
  type TrafficEndpoint,
} from '@keelson/platform-spec';
import { composePlatform, type PlatformLayers } from './platform';

// Small layers of one's own, each implementing its platform-spec contract with
// real objects, its own namespace and its own declarations. Each is swapped in
// with one line of `layers`, and everything the app and the lifecycle read
// must follow it.

/** Storage on each node's local disk (Rancher's local-path provisioner), in place of Rook/Ceph. */
class LocalPathStorage extends LayerChart implements StorageLayer {
  public readonly blockClass = 'local-path';
  public readonly filesystemClass = 'local-path-shared';
  public readonly blockSnapshotClass = 'local-path-snapshot';
  public readonly filesystemSnapshotClass = 'local-path-shared-snapshot';
  public readonly overheadSummary = 'local-path: 1 copy on the node that wrote it, 1.0x raw per usable GiB';
  public readonly healthGates: readonly HealthGate[] = [
    {
      name: 'local-path provisioner Available',
      check: { kind: 'status', resource: 'deployments.apps', namespace: 'local-path-storage', field: 'status.conditions.0.status', healthy: 'True' },
      fix: 'see "kubectl -n local-path-storage describe deployment local-path-provisioner"',
    },
  ];

  constructor(scope: Construct, id: string, props: { readonly spec: PlatformSpec }) {
    super(scope, id, {
      spec: props.spec,
      layer: 'storage',
      implementation: 'local-path',
      namespaces: [{ name: 'local-path-storage', podSecurity: 'privileged', reason: "the provisioner's helper pods create volume folders on the host" }],
    });
    const labels = { app: 'local-path-provisioner' };
    new ApiObject(this, 'provisioner', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'local-path-provisioner', namespace: 'local-path-storage' },
      spec: {
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'provisioner', image: 'rancher/local-path-provisioner:v0.0.30', command: ['local-path-provisioner', 'start'] }] } },
      },
    });
    for (const [name, mode] of [
      [this.blockClass, 'ReadWriteOnce'],
      [this.filesystemClass, 'ReadWriteMany'],
    ] as const) {
      new ApiObject(this, `class-${name}`, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name, annotations: { 'keelson.dev/access-mode': mode } },
        provisioner: 'rancher.io/local-path',
        volumeBindingMode: 'WaitForFirstConsumer',
      });
    }
    for (const name of [this.blockSnapshotClass, this.filesystemSnapshotClass]) {
      new ApiObject(this, `snapshot-${name}`, {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: { name, labels: { [VELERO_SNAPSHOT_CLASS_LABEL]: 'true' } },
        driver: 'rancher.io/local-path',
        deletionPolicy: 'Delete',
      });
    }
  }
}

/** An ingress controller of one's own (Caddy) that publishes services with plain networking.k8s.io Ingresses. */
class CaddyIngress extends LayerChart implements IngressLayer {
  public override readonly namespace = 'caddy-system';
  public readonly loadBalancerTarget = { http: 31080, https: 31443, proxyProtocol: false };
  private readonly controller = { app: 'caddy' };

  constructor(scope: Construct, id: string, props: { readonly spec: PlatformSpec }) {
    super(scope, id, { spec: props.spec, layer: 'ingress', implementation: 'caddy', namespaces: [{ name: 'caddy-system', podSecurity: 'restricted' }] });
    new ApiObject(this, 'controller', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'caddy', namespace: this.namespace },
      spec: {
        selector: { matchLabels: this.controller },
        template: {
          metadata: { labels: this.controller },
          spec: { containers: [{ name: 'caddy', image: 'caddy/ingress:v0.2.1', envFrom: [{ secretRef: { name: 'caddy-acme-account' } }] }] },
        },
      },
    });
  }

  public expose(scope: IConstruct, service: ServiceRef, host: string): ExposedService {
    const name = host.replace(/\./g, '-');
    new ApiObject(scope, `route-${name}`, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: service.namespace },
      spec: { ingressClassName: 'caddy', tls: [{ hosts: [host], secretName: `${name}-tls` }], rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service.name, port: { number: service.port } } } }] } }] },
    });
    LayerChart.containing(scope).allowTraffic({
      from: endpoints.pods(this.namespace, this.controller),
      to: endpoints.pods(service.namespace, service.podLabels),
      ports: [{ port: service.targetPort ?? service.port }],
      reason: `caddy forwards https://${host}/ to ${service.namespace}/${service.name}`,
    });
    return { host, url: `https://${host}/`, tlsSecretName: `${name}-tls` };
  }

  public deployTimeSecrets(): readonly DeployTimeSecret[] {
    return [{ namespace: this.namespace, name: 'caddy-acme-account', keys: { ACME_EMAIL: { kind: 'literal', value: this.spec.config.acme.email } }, purpose: "Caddy's ACME account" }];
  }
}

/** A pod network of one's own (Calico-like) that enforces the declared traffic as plain NetworkPolicies. */
class PlainPolicyNetwork extends LayerChart implements PodNetworkLayer<LayerChart> {
  constructor(scope: Construct, id: string, props: { readonly spec: PlatformSpec }) {
    super(scope, id, { spec: props.spec, layer: 'network', implementation: 'calico', namespaces: [{ name: 'calico-system', podSecurity: 'privileged', reason: 'the CNI agents program the host network' }] });
  }

  public bootstrapSteps(): readonly BootstrapStep[] {
    return [{ name: 'calico-node', manifests: YAML.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'calico-node', namespace: 'calico-system' } }) }];
  }

  /** `layers` is every layer of the platform, this one included (as composePlatform calls it). */
  public enforce(layers: readonly LayerChart[]): void {
    let n = 0;
    const peer = (e: TrafficEndpoint) =>
      e.kind === 'pods' ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': e.namespace } }, podSelector: { matchLabels: e.labels ?? {} } } : { ipBlock: { cidr: '0.0.0.0/0' } };
    const policy = (chart: LayerChart, namespace: string, spec: object) =>
      new ApiObject(chart, `policy-${++n}`, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `calico-${n}`, namespace }, spec });
    for (const chart of layers) {
      for (const ns of chart.namespaces.filter((x) => !x.preexisting)) policy(chart, ns.name, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      for (const rule of chart.trafficRules) {
        const ports = rule.ports?.map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' }));
        if (rule.to.kind === 'pods') policy(chart, rule.to.namespace, { podSelector: { matchLabels: rule.to.labels ?? {} }, policyTypes: ['Ingress'], ingress: [{ from: [peer(rule.from)], ports }] });
        if (rule.from.kind === 'pods') policy(chart, rule.from.namespace, { podSelector: { matchLabels: rule.from.labels ?? {} }, policyTypes: ['Egress'], egress: [{ to: [peer(rule.to)], ports }] });
      }
    }
  }
}

/** A media server of one's own (Navidrome, music), behind the apps layer's media-server seam. */
const navidrome: MediaServerImplementation = {
  ...jellyfin,
  id: 'navidrome',
  image: 'deluan/navidrome:0.53.3',
  port: 4533,
  readinessPath: '/ping',
  configPath: '/data',
  env: [{ name: 'ND_MUSICFOLDER', value: '/media' }],
  scratch: [{ name: 'tmp', mountPath: '/tmp', sizeLimit: '1Gi' }],
};

const spec = parsePlatformConfig(exampleConfig());
const provider = nodeProviderFor(spec);

/** The platform as synth composes it, with `layers` swapped in. */
function compose(layers?: PlatformLayers) {
  const platform = composePlatform(spec, { backupBucket: provider.backupBucket(spec), volumeDevicePathFilter: provider.volumeDevicePathFilter(spec), layers });
  const objects = renderCharts(platform.app).map((f) => ({ path: f.path, object: YAML.parse(f.content) }));
  const named = (kind: string) => objects.filter((o) => o.object.kind === kind);
  const applications = named('Application').map((o) => ({ name: o.object.metadata.name as string, namespace: o.object.spec.destination.namespace as string }));
  return {
    platform,
    objects,
    paths: objects.map((o) => o.path),
    namespaces: named('Namespace').map((o) => o.object.metadata.name as string),
    applications,
    projectDestinations: named('AppProject').flatMap((o) => o.object.spec.destinations.map((d: { namespace: string }) => d.namespace)),
    gates: platform.declarations.healthGates.map((g) => g.name),
    bootstrap: platform.bootstrap.map((s) => s.name),
    secrets: platform.declarations.deployTimeSecrets(provider).map((s) => `${s.namespace}/${s.name}`),
  };
}

const shipped = compose();
const schemaProblems = (c: ReturnType<typeof compose>) => c.objects.flatMap(({ path, object }) => validateManifest(object).map((p) => `${path} ${p.path}: ${p.message}`));

describe('swapping a layer in one line', () => {
  it('swaps storage: its namespace, classes, gate and price replace Rook/Ceph, and backups and apps use its classes', () => {
    const swapped = compose({ storage: (scope, id, props) => new LocalPathStorage(scope, id, props) });
    expect(swapped.namespaces).toContain('local-path-storage');
    expect(swapped.namespaces).not.toContain('rook-ceph');
    expect(swapped.objects.filter((o) => /^Ceph/.test(o.object.kind) || o.object.metadata.namespace === 'rook-ceph')).toEqual([]);
    expect(swapped.paths.filter((p) => p.startsWith('storage/')).sort()).toEqual(expect.arrayContaining(['storage/deployment-local-path-storage-local-path-provisioner.yaml', 'storage/storageclass-local-path.yaml']));
    // The other layers read the classes through the contract.
    const claims = swapped.objects.filter((o) => o.object.kind === 'PersistentVolumeClaim' || o.object.kind === 'Cluster');
    expect(claims.length).toBeGreaterThan(0);
    expect(JSON.stringify(claims)).not.toMatch(/ceph/);
    expect(claims.map((c) => c.object.spec.storageClassName ?? c.object.spec.storage?.storageClass)).toEqual(expect.arrayContaining(['local-path', 'local-path-shared']));
    expect(JSON.stringify(swapped.objects.filter((o) => o.path.startsWith('backups/')).map((o) => o.object))).toMatch(/local-path-snapshot/);
    expect(swapped.platform.storage.overheadSummary).toBe('local-path: 1 copy on the node that wrote it, 1.0x raw per usable GiB');
    // The lifecycle's lists follow the layer: its gate, no Ceph gate; the others' bootstrap and Secrets as shipped.
    expect(swapped.gates).toEqual(['local-path provisioner Available', 'every Application Synced and Healthy']);
    expect(swapped.platform.declarations.healthGates[0].check).toMatchObject({ resource: 'deployments.apps', namespace: 'local-path-storage' });
    expect(swapped.bootstrap).toEqual(shipped.bootstrap);
    expect(swapped.secrets).toEqual(shipped.secrets);
    // Argo CD: the storage Application targets its namespace, the project allows it, no Rook child Application is left.
    expect(swapped.applications).toContainEqual({ name: 'storage', namespace: 'local-path-storage' });
    expect(swapped.applications.map((a) => a.name).filter((n) => /rook|ceph/.test(n))).toEqual([]);
    expect(swapped.projectDestinations).toContain('local-path-storage');
    expect(swapped.projectDestinations).not.toContain('rook-ceph');
    expect(schemaProblems(swapped)).toEqual([]);
  });

  it("swaps ingress: its namespace, routes, load balancer ports and Secret replace Traefik's and cert-manager's", () => {
    const swapped = compose({ ingress: (scope, id, props) => new CaddyIngress(scope, id, props) });
    expect(swapped.namespaces).toContain('caddy-system');
    expect(swapped.namespaces.filter((n) => n === 'traefik' || n === 'cert-manager')).toEqual([]);
    expect(swapped.objects.filter((o) => /traefik|cert-manager/.test(JSON.stringify(o.object)))).toEqual([]);
    // The apps are published through its expose(), and the network layer allows its controller in.
    const routes = swapped.objects.filter((o) => o.object.kind === 'Ingress');
    expect(routes.map((r) => r.object.spec.ingressClassName)).toEqual(['caddy', 'caddy', 'caddy']);
    const fromCaddy = swapped.objects.filter((o) => o.object.kind === 'NetworkPolicy' && JSON.stringify(o.object.spec.ingress ?? []).includes('"kubernetes.io/metadata.name":"caddy-system"'));
    expect(fromCaddy.map((o) => o.object.metadata.namespace).sort()).toEqual(['emby', 'nextcloud', 'website']);
    expect(swapped.platform.ingressTarget).toEqual({ http: 31080, https: 31443, proxyProtocol: false });
    // In layer order: the ingress layer comes before backups and apps.
    expect(swapped.secrets).toEqual(['caddy-system/caddy-acme-account', ...shipped.secrets]);
    expect(swapped.gates).toEqual(shipped.gates);
    expect(swapped.bootstrap).toEqual(shipped.bootstrap);
    expect(swapped.applications).toContainEqual({ name: 'ingress', namespace: 'caddy-system' });
    expect(swapped.applications.map((a) => a.name).filter((n) => /traefik|cert-manager|gateway/.test(n))).toEqual([]);
    expect(swapped.projectDestinations).toContain('caddy-system');
    expect(schemaProblems(swapped)).toEqual([]);
  });

  it("swaps the pod network: its namespace, bootstrap and policies replace Cilium's, and kubeadm keeps its CoreDNS", () => {
    const swapped = compose({ network: (scope, id, props) => new PlainPolicyNetwork(scope, id, props) });
    expect(swapped.namespaces).toContain('calico-system');
    expect(swapped.objects.filter((o) => /cilium/i.test(o.object.kind) || /cilium/.test(o.object.metadata.name))).toEqual([]);
    // Its enforce() got every layer's declared traffic: a default deny in every namespace the platform creates, and the allows.
    const policies = swapped.objects.filter((o) => o.object.kind === 'NetworkPolicy');
    const denied = policies.filter((p) => p.object.spec.policyTypes.length === 2).map((p) => p.object.metadata.namespace);
    expect(denied.sort()).toEqual(swapped.namespaces.filter((n) => n !== 'kube-system').sort());
    expect(policies.some((p) => p.path.startsWith('apps/') && JSON.stringify(p.object.spec.ingress ?? []).includes('"kubernetes.io/metadata.name":"traefik"'))).toBe(true);
    // Its bootstrap step in place of the shipped network layer's one (the CNI and CoreDNS install); Argo CD's after it.
    expect(swapped.bootstrap).toEqual(['calico-node', ...shipped.bootstrap.slice(1)]);
    expect(swapped.bootstrap).not.toContain(shipped.bootstrap[0]);
    expect(shipped.platform.replaceKubeadmAddons).toEqual(['coredns']);
    expect(swapped.platform.replaceKubeadmAddons).toEqual([]);
    expect(swapped.gates).toEqual(shipped.gates);
    expect(swapped.secrets).toEqual(shipped.secrets);
    expect(swapped.applications).toContainEqual({ name: 'network', namespace: 'calico-system' });
    expect(swapped.applications.map((a) => a.name).filter((n) => /cilium/.test(n))).toEqual([]);
    expect(schemaProblems(swapped)).toEqual([]);
  });

  it('swaps the media server: its Deployment, claim and route replace Emby, on the storage layer\'s shared class, keeping the library', () => {
    const swapped = compose({ mediaServer: navidrome });
    const media = swapped.objects.filter((o) => o.object.metadata.namespace === 'emby').map((o) => `${o.object.kind}/${o.object.metadata.name}`);
    expect(media).toEqual(expect.arrayContaining(['Deployment/navidrome', 'Service/navidrome', 'PersistentVolumeClaim/navidrome-config', 'PersistentVolumeClaim/media-library']));
    expect(media.filter((m) => /emby|jellyfin/.test(m.split('/')[1]))).toEqual([]);
    const deployment = swapped.objects.find((o) => o.object.kind === 'Deployment' && o.object.metadata.name === 'navidrome')!.object;
    expect(deployment.spec.template.spec.containers[0]).toMatchObject({ image: 'deluan/navidrome:0.53.3', readinessProbe: { httpGet: { path: '/ping', port: 4533 } } });
    const claim = swapped.objects.find((o) => o.object.kind === 'PersistentVolumeClaim' && o.object.metadata.name === 'navidrome-config')!.object;
    expect(claim.spec.storageClassName).toBe(shipped.platform.storage.filesystemClass);
    expect(swapped.objects.some((o) => o.object.kind === 'Ingress' && o.object.spec.rules[0].http.paths[0].backend.service.name === 'navidrome')).toBe(true);
    // Nothing else changes: the other layers' folders, and the lifecycle's lists.
    const outside = (c: ReturnType<typeof compose>) => c.objects.filter((o) => !o.path.startsWith('apps/') && !/^(ingress|network)\/.*policy/.test(o.path)).map((o) => YAML.stringify(o.object));
    expect(outside(swapped)).toEqual(outside(shipped));
    expect([swapped.gates, swapped.bootstrap, swapped.secrets]).toEqual([shipped.gates, shipped.bootstrap, shipped.secrets]);
    expect(swapped.applications).toEqual(shipped.applications);
    expect(schemaProblems(swapped)).toEqual([]);
  });

  it('composes the shipped layers when none is swapped, and the same when a swap names them', () => {
    const again = compose({ storage: undefined, ingress: undefined, network: undefined, mediaServer: undefined });
    expect(again.objects).toEqual(shipped.objects);
    expect([again.gates, again.bootstrap, again.secrets]).toEqual([shipped.gates, shipped.bootstrap, shipped.secrets]);
  });
});
