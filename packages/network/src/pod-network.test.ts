import { App } from 'cdk8s';
import { LayerChart, renderCharts, type RenderedFile } from '@keelson/cluster-kit';
import { CLUSTER_NETWORK, NODE_NETWORK_CIDR, endpoints, exampleConfig, parsePlatformConfig, type LayerId, type PlatformSpec, type TrafficRule } from '@keelson/platform-spec';
import { validateManifest } from '@keelson/k8s-schemas';
import { bootstrapManifests, CNI_INSTALLER, HELM_IMAGE } from './bootstrap';
import { nthAddress } from './internal/cidr';
import { CILIUM_CHART, FLANNEL_CHART, NODE_ENCRYPTION_OPT_OUT_LABELS, PodNetwork } from './pod-network';
import { hostNetworkNamespaces } from './pod-security';

type Obj = any;

function specFor(nodes: 3 | 6 | 9, network: 'cilium' | 'flannel' = 'cilium'): PlatformSpec {
  const config = exampleConfig() as Obj;
  config.nodes = { 3: { controllers: { count: 3 }, workers: { count: 0 } }, 6: { controllers: { count: 5 }, workers: { count: 1 } }, 9: { controllers: { count: 7 }, workers: { count: 2 } } }[nodes];
  config.layers = { network };
  return parsePlatformConfig(config, 'test');
}

/** The connections the other layers declare (or will): enough to cover every endpoint kind and a cross-layer rule. */
const DECLARED: Partial<Record<LayerId, TrafficRule[]>> = {
  gitops: [
    { from: endpoints.pods('argocd'), to: endpoints.kubeApiServer, ports: [{ port: 6443 }], reason: 'Argo CD applies manifests' },
    { from: endpoints.pods('argocd', { 'app.kubernetes.io/name': 'argocd-repo-server' }), to: endpoints.internet, ports: [{ port: 443 }], reason: 'Argo CD fetches charts and Git' },
    { from: endpoints.pods('argocd'), to: endpoints.pods('argocd'), reason: 'Argo CD components talk to each other' },
  ],
  maintenance: [{ from: endpoints.pods('kured'), to: endpoints.kubeApiServer, ports: [{ port: 6443 }], reason: 'kured drains nodes' }],
  storage: [
    { from: endpoints.pods('rook-ceph'), to: endpoints.kubeApiServer, ports: [{ port: 6443 }], reason: 'the Rook operator watches its resources' },
    { from: endpoints.nodes, to: endpoints.pods('rook-ceph', { app: 'rook-ceph-mon' }), ports: [{ port: 3300 }, { port: 6789 }], reason: 'kernel clients reach the Ceph monitors' },
  ],
  ingress: [
    { from: endpoints.kubeApiServer, to: endpoints.pods('cert-manager', { 'app.kubernetes.io/name': 'webhook' }), ports: [{ port: 10250 }], reason: 'the API server calls the cert-manager webhook' },
    { from: endpoints.pods('cert-manager'), to: endpoints.internet, ports: [{ port: 443 }], reason: "cert-manager talks to Let's Encrypt" },
  ],
  backups: [{ from: endpoints.pods('velero'), to: endpoints.internet, ports: [{ port: 443 }], reason: 'Velero writes backups to the bucket' }],
  apps: [
    // Declared by the apps layer; its egress half lands in the ingress layer's namespace.
    { from: endpoints.pods('traefik', { 'app.kubernetes.io/name': 'traefik' }), to: endpoints.pods('website', { app: 'website' }), ports: [{ port: 8080 }], reason: 'traefik routes to the website' },
    { from: endpoints.pods('nextcloud'), to: endpoints.pods('cnpg-system'), ports: [{ port: 5432 }, { port: 9000, endPort: 9010 }], reason: 'Nextcloud reaches its database' },
    // A duplicate declaration (the ingress layer's expose() would make the same one): counted once.
    { from: endpoints.pods('traefik', { 'app.kubernetes.io/name': 'traefik' }), to: endpoints.pods('website', { app: 'website' }), ports: [{ port: 8080 }], reason: 'traefik routes to the website' },
    { from: endpoints.pods('website'), to: endpoints.pods('kube-system', { 'k8s-app': 'metrics' }), ports: [{ port: 443 }], reason: 'website reads metrics' },
  ],
};

interface Platform {
  readonly app: App;
  readonly network: PodNetwork;
  readonly charts: Map<LayerId, LayerChart>;
}

function buildPlatform(spec: PlatformSpec): Platform {
  const app = new App();
  const charts = new Map<LayerId, LayerChart>();
  const network = new PodNetwork(app, 'network', { spec });
  charts.set('network', network);
  for (const layer of spec.layers.filter((l) => l.id !== 'network')) {
    const chart = new LayerChart(app, layer.id, { spec, layer: layer.id });
    for (const rule of DECLARED[layer.id] ?? []) chart.allowTraffic(rule);
    charts.set(layer.id, chart);
  }
  network.enforce([...charts.values()]);
  return { app, network, charts };
}

const objectsOf = (chart: LayerChart): Obj[] => chart.toJson();
const allObjects = (p: Platform): Obj[] => [...p.charts.values()].flatMap(objectsOf);
const find = (objects: Obj[], kind: string, name: string, namespace?: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
const problems = (objects: Obj[]) => objects.flatMap((o) => validateManifest(o).map((p) => `${o.kind} ${o.metadata?.name} ${p.path}: ${p.message}`));

/** Whether IPv4 `ip` lies in `cidr`. */
function contains(cidr: string, ip: string): boolean {
  const toInt = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

const METADATA_IP = '169.254.169.254';

describe('PodNetwork with Cilium (the default)', () => {
  const spec = specFor(6);
  const platform = buildPlatform(spec);
  const objects = objectsOf(platform.network);
  const application = find(objects, 'Application', 'network-cilium');
  const values = application.spec.source.helm.valuesObject;

  it('installs the pinned Cilium chart into kube-system through an Argo CD Application', () => {
    expect(application.spec.source).toMatchObject({ repoURL: 'https://helm.cilium.io', chart: 'cilium', targetRevision: '1.19.4', helm: { releaseName: 'cilium' } });
    expect(application.spec.destination.namespace).toBe('kube-system');
  });

  it('encrypts pod-to-pod and node-to-node traffic with WireGuard', () => {
    expect(values.encryption).toEqual({ enabled: true, type: 'wireguard', nodeEncryption: true });
  });

  it('leaves no node out of node encryption, control-plane nodes included', () => {
    // The agent's default opts out node-role.kubernetes.io/control-plane; "" would opt out every node.
    expect(values.extraConfig).toEqual({ 'node-encryption-opt-out-labels': 'keelson.dev/no-node-encryption' });
    expect(NODE_ENCRYPTION_OPT_OUT_LABELS).toBe('keelson.dev/no-node-encryption');
    for (const node of spec.topology.nodes) expect(Object.keys(node.labels)).not.toContain('keelson.dev/no-node-encryption');
  });

  it('reaches the API through its load balancer, keeps kube-proxy and lets ipBlock rules select nodes', () => {
    expect(values).toMatchObject({ k8sServiceHost: 'api.example.com', k8sServicePort: 6443, kubeProxyReplacement: 'false', policyCIDRMatchMode: ['nodes'] });
    expect(values.ipam).toEqual({ mode: 'kubernetes' });
  });

  it('runs k+1 operators, one per node, with a PodDisruptionBudget', () => {
    expect(values.operator).toMatchObject({ replicas: spec.budget.k + 1, podDisruptionBudget: { enabled: true, maxUnavailable: 1 } });
    expect(values.operator.affinity).toEqual({
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'io.cilium/app': 'operator' } }, topologyKey: 'kubernetes.io/hostname' }] },
    });
  });

  it('runs 2 operators in distinct zones under failure-domains, in the Application and the bootstrap install alike', () => {
    const config = exampleConfig() as Obj;
    const zoned = parsePlatformConfig({ ...config, nodes: { controllers: { count: 5 }, workers: { count: 4 } }, faultModel: { type: 'failure-domains', domains: 3 } }, 'test');
    const network = new PodNetwork(new App(), 'network', { spec: zoned });
    const operator = find(objectsOf(network), 'Application', 'network-cilium').spec.source.helm.valuesObject.operator;
    expect(operator.replicas).toBe(2);
    // The chart's default keeps one operator per node: both could share the zone that fails.
    expect(operator.affinity).toEqual({
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'io.cilium/app': 'operator' } }, topologyKey: 'topology.kubernetes.io/zone' }] },
    });
    expect(network.cniInstall.values).toMatchObject({ operator: { affinity: operator.affinity } });
  });

  it('denies every pod endpoint the link-local range, metadata service included, without turning on default-deny', () => {
    const block = find(objects, 'CiliumClusterwideNetworkPolicy', 'keelson-deny-link-local');
    expect(block.spec.endpointSelector).toEqual({});
    expect(block.spec.enableDefaultDeny).toEqual({ ingress: false, egress: false });
    expect(block.spec.egressDeny).toEqual([{ toCIDRSet: [{ cidr: '169.254.0.0/16' }] }]);
    expect(contains(block.spec.egressDeny[0].toCIDRSet[0].cidr, METADATA_IP)).toBe(true);
    expect(block.spec.egress).toBeUndefined();
  });

  it('allows the API server and node ends again by Cilium entity, for exactly the declared pods and ports', () => {
    const host = find(objects, 'CiliumClusterwideNetworkPolicy', 'keelson-allow-host-entities');
    const webhook = host.specs.find((s: Obj) => s.endpointSelector.matchLabels['k8s:io.kubernetes.pod.namespace'] === 'cert-manager');
    expect(webhook).toMatchObject({
      endpointSelector: { matchLabels: { 'app.kubernetes.io/name': 'webhook' } },
      enableDefaultDeny: { ingress: false, egress: false },
      ingress: [{ fromEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '10250', protocol: 'TCP' }] }] }],
    });
    const kured = host.specs.find((s: Obj) => s.endpointSelector.matchLabels['k8s:io.kubernetes.pod.namespace'] === 'kured');
    expect(kured.egress).toEqual([{ toEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '6443', protocol: 'TCP' }] }] }]);
    const mons = host.specs.find((s: Obj) => s.endpointSelector.matchLabels['k8s:io.kubernetes.pod.namespace'] === 'rook-ceph' && s.ingress);
    expect(mons.ingress[0].fromEntities).toEqual(['host', 'remote-node']);
    // One entity spec per host end: 4 egress to the API server, 2 ingress from it or the nodes.
    expect(host.specs).toHaveLength(5);
  });

  it('syncs its Cilium policies after the Cilium Application, whose operator registers their CRDs, with the dry run skipped until then', () => {
    const wave = (o: Obj) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    const policies = objects.filter((o: Obj) => o.apiVersion.startsWith('cilium.io/'));
    expect(policies.map((p: Obj) => p.metadata.name).sort()).toEqual(['keelson-allow-host-entities', 'keelson-deny-link-local']);
    for (const p of policies) {
      expect(wave(p)).toBeGreaterThan(wave(application));
      expect(p.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('SkipDryRunOnMissingResource=true');
    }
  });

  it('declares the cilium-secrets namespace the chart creates, so the AppProject lets the Application deploy into it', () => {
    expect(values.tls).toEqual({ secretsNamespace: { create: true, name: 'cilium-secrets' } });
    expect(platform.network.upstreamDeclarations).toEqual([
      expect.objectContaining({ namespace: 'kube-system', createsNamespaces: ['cilium-secrets'], clusterResources: expect.arrayContaining([{ group: '', kind: 'Namespace' }]) }),
    ]);
  });

  it('renders objects that validate against their schemas (every kind but Cilium\'s)', () => {
    const all = allObjects(platform);
    expect(all.filter((o) => o.kind.startsWith('Cilium'))).toHaveLength(2);
    expect(problems(all.filter((o) => !o.kind.startsWith('Cilium')))).toEqual([]);
  });

  // Known issue in @keelson/k8s-schemas, not here: the Cilium CRDs carry Go's
  // pattern `^\PC*$` (spec.log.value), which Ajv compiles as a JavaScript
  // /u regular expression and rejects, so validateManifest throws for every
  // Cilium kind. This test starts failing (as it should) once k8s-schemas
  // translates the pattern (`\PC` -> `\P{C}`); then make it a plain `it`.
  it('renders Cilium policies that validate against the Cilium CRDs', () => {
    expect(problems(allObjects(platform).filter((o) => o.kind.startsWith('Cilium')))).toEqual([]);
  });
});

describe('PodNetwork with flannel', () => {
  const spec = specFor(6, 'flannel');
  const platform = buildPlatform(spec);
  const objects = objectsOf(platform.network);
  const application = find(objects, 'Application', 'network-flannel');

  it('installs the pinned flannel chart into kube-flannel with the WireGuard backend and a policy enforcer', () => {
    expect(application.spec.source).toMatchObject({ repoURL: 'https://flannel-io.github.io/flannel', chart: 'flannel', targetRevision: 'v0.28.9' });
    expect(application.spec.destination.namespace).toBe('kube-flannel');
    expect(application.spec.source.helm.valuesObject).toEqual({
      podCidr: CLUSTER_NETWORK.podSubnet,
      flannel: { backend: 'wireguard', backendPort: 51820 },
      netpol: { enabled: true },
    });
  });

  it('renders the privileged kube-flannel namespace and no Cilium policy', () => {
    expect(find(objects, 'Namespace', 'kube-flannel').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(objects.filter((o) => o.kind.startsWith('Cilium'))).toEqual([]);
  });

  it('closes the metadata service by default-deny egress in every platform namespace, no allow reaching it', () => {
    const all = allObjects(platform);
    for (const layer of spec.layers) {
      for (const ns of layer.namespaces.filter((n) => !n.preexisting)) {
        expect(find(all, 'NetworkPolicy', 'default-deny', ns.name)?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      }
    }
    const internet = all.filter((o) => o.kind === 'NetworkPolicy').flatMap((o) => (o.spec.egress ?? []).flatMap((e: Obj) => e.to ?? []).filter((p: Obj) => p.ipBlock));
    expect(internet.length).toBeGreaterThan(0);
  });

  it('renders objects that validate against their schemas', () => {
    expect(problems(allObjects(platform))).toEqual([]);
  });
});

describe('no allow reaches the metadata service', () => {
  it.each(['cilium', 'flannel'] as const)('with %s, every ipBlock that covers 169.254.169.254 excepts it', (network) => {
    const platform = buildPlatform(specFor(6, network));
    const blocks = allObjects(platform)
      .filter((o) => o.kind === 'NetworkPolicy')
      .flatMap((o) => [...(o.spec.egress ?? []).flatMap((e: Obj) => e.to ?? []), ...(o.spec.ingress ?? []).flatMap((i: Obj) => i.from ?? [])])
      .filter((p: Obj) => p.ipBlock)
      .map((p: Obj) => p.ipBlock);
    expect(blocks.some((b: Obj) => b.cidr === '0.0.0.0/0')).toBe(true);
    const reaching = blocks.filter((b: Obj) => contains(b.cidr, METADATA_IP) && !(b.except ?? []).some((e: string) => contains(e, METADATA_IP)));
    expect(reaching).toEqual([]);
  });
});

describe('PodNetwork.enforce', () => {
  const spec = specFor(6);
  const platform = buildPlatform(spec);
  const policiesIn = (chart: LayerChart) => objectsOf(chart).filter((o) => o.kind === 'NetworkPolicy');

  it('gives every namespace the platform creates default-deny, allow-dns and one policy per declared rule end, in the chart that owns it', () => {
    // Expected ends, counted from the declarations: distinct rules, pod ends outside preexisting namespaces.
    const distinct = new Map<string, TrafficRule>();
    for (const rules of Object.values(DECLARED)) for (const r of rules ?? []) distinct.set(JSON.stringify(r), r);
    const expected = new Map<string, number>();
    for (const r of distinct.values()) {
      for (const e of [r.from, r.to]) if (e.kind === 'pods' && e.namespace !== 'kube-system') expected.set(e.namespace, (expected.get(e.namespace) ?? 0) + 1);
    }
    for (const [id, chart] of platform.charts) {
      const layer = spec.layers.find((l) => l.id === id)!;
      const owned = layer.namespaces.filter((n) => !n.preexisting).map((n) => n.name);
      const policies = policiesIn(chart);
      expect([...new Set(policies.map((p) => p.metadata.namespace))].sort()).toEqual([...owned].sort());
      for (const ns of owned) {
        const names = policies.filter((p) => p.metadata.namespace === ns).map((p) => p.metadata.name);
        expect(names.slice(0, 2)).toEqual(['default-deny', 'allow-dns']);
        expect(names.filter((n) => n.startsWith('allow-egress-') || n.startsWith('allow-ingress-'))).toHaveLength(expected.get(ns) ?? 0);
        expect(new Set(names).size).toBe(names.length);
      }
    }
  });

  it('lets every pod ask CoreDNS on port 53', () => {
    const dns = find(policiesIn(platform.charts.get('apps')!), 'NetworkPolicy', 'allow-dns', 'website');
    expect(dns.spec.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
  });

  it('splits a rule declared by the apps layer into an egress allow in the ingress chart and an ingress allow in the apps chart', () => {
    const egress = find(policiesIn(platform.charts.get('ingress')!), 'NetworkPolicy', 'allow-egress-traefik-routes-to-the-website', 'traefik');
    expect(egress.metadata.annotations).toEqual({ 'keelson.dev/reason': 'traefik routes to the website', 'keelson.dev/declared-by': 'apps' });
    expect(egress.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'website' } }, podSelector: { matchLabels: { app: 'website' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
    });
    const ingress = find(policiesIn(platform.charts.get('apps')!), 'NetworkPolicy', 'allow-ingress-traefik-routes-to-the-website', 'website');
    expect(ingress.spec).toEqual({
      podSelector: { matchLabels: { app: 'website' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
    });
  });

  it('maps the API server and nodes to the node network, the internet to public addresses, and keeps port ranges', () => {
    const rook = find(policiesIn(platform.charts.get('storage')!), 'NetworkPolicy', 'allow-egress-the-rook-operator-watches-its-resources', 'rook-ceph');
    expect(rook.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: NODE_NETWORK_CIDR } }], ports: [{ protocol: 'TCP', port: 6443 }] }]);
    const velero = find(policiesIn(platform.charts.get('backups')!), 'NetworkPolicy', 'allow-egress-velero-writes-backups-to-the-bucket', 'velero');
    expect(velero.spec.egress[0].to).toEqual([{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'] } }]);
    const db = find(policiesIn(platform.charts.get('apps')!), 'NetworkPolicy', 'allow-ingress-nextcloud-reaches-its-database', 'cnpg-system');
    expect(db.spec.ingress[0].ports).toEqual([
      { protocol: 'TCP', port: 5432 },
      { protocol: 'TCP', port: 9000, endPort: 9010 },
    ]);
  });

  it('allows every port between pods of one namespace when the rule lists none', () => {
    const peers = find(policiesIn(platform.charts.get('gitops')!), 'NetworkPolicy', 'allow-ingress-argo-cd-components-talk-to-each-other', 'argocd');
    expect(peers.spec.ingress).toEqual([{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'argocd' } }, podSelector: {} }] }]);
  });

  it('leaves preexisting namespaces (kube-system) without policies', () => {
    expect(allObjects(platform).filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'kube-system')).toEqual([]);
  });

  it('fails when a rule names a namespace no layer owns', () => {
    const s = specFor(3);
    const app = new App();
    const network = new PodNetwork(app, 'network', { spec: s });
    const apps = new LayerChart(app, 'apps', { spec: s, layer: 'apps' });
    apps.allowTraffic({ from: endpoints.pods('website'), to: endpoints.pods('shop'), ports: [{ port: 80 }], reason: 'website calls the shop' });
    expect(() => network.enforce([apps])).toThrow(/traffic rule "website calls the shop" \(declared by layer apps\) names namespace "shop", which no layer owns/);
  });

  it('fails when called twice', () => {
    const s = specFor(3);
    const network = new PodNetwork(new App(), 'network', { spec: s });
    network.enforce([]);
    expect(() => network.enforce([])).toThrow(/already called; call it once/);
  });

  it('fails when two charts own the same namespace', () => {
    const s = specFor(3);
    const app = new App();
    const network = new PodNetwork(app, 'network', { spec: s });
    const one = new LayerChart(app, 'apps-1', { spec: s, layer: 'apps' });
    const two = new LayerChart(app, 'apps-2', { spec: s, layer: 'apps' });
    expect(() => network.enforce([one, two])).toThrow(/namespace "cnpg-system" is owned by both layer apps and layer apps; give it to one layer/);
  });
});

describe('CoreDNS', () => {
  it.each([
    [3, 2],
    [6, 3],
    [9, 4],
  ] as const)('runs k+1 replicas on N = %i nodes (%i), at most one per node, with a budget that survives k losses', (n, replicas) => {
    const spec = specFor(n);
    const objects = objectsOf(new PodNetwork(new App(), 'network', { spec }));
    const deployment = find(objects, 'Deployment', 'coredns', 'kube-system');
    expect(deployment.spec.replicas).toBe(replicas);
    expect(replicas).toBe(spec.budget.k + 1);
    expect(deployment.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
    ]);
    const pdb = find(objects, 'PodDisruptionBudget', 'coredns', 'kube-system');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'k8s-app': 'kube-dns' } } });
    // A drain takes at most one; the k that stay cover k-1 further node losses.
    expect(replicas - pdb.spec.maxUnavailable).toBe(spec.budget.k);
  });

  const objects = objectsOf(new PodNetwork(new App(), 'network', { spec: specFor(6) }));
  const deployment = find(objects, 'Deployment', 'coredns', 'kube-system');
  const pod = deployment.spec.template.spec;

  it('keeps the kubeadm names and the Service address kubelets resolve through', () => {
    expect(deployment.spec.selector.matchLabels).toEqual({ 'k8s-app': 'kube-dns' });
    const service = find(objects, 'Service', 'kube-dns', 'kube-system');
    expect(service.spec.clusterIP).toBe('10.96.0.10');
    expect(service.spec.ports.map((p: Obj) => `${p.port}/${p.protocol}`)).toEqual(['53/UDP', '53/TCP', '9153/TCP']);
    expect(find(objects, 'ConfigMap', 'coredns', 'kube-system').data.Corefile).toMatch(/kubernetes cluster\.local in-addr\.arpa ip6\.arpa/);
  });

  it('runs a pinned image as non-root with a read-only root, NET_BIND_SERVICE only, probes and limits', () => {
    const [c] = pod.containers;
    expect(c.image).toBe('registry.k8s.io/coredns/coredns:v1.13.1');
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health', port: 8080, scheme: 'HTTP' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 8181, scheme: 'HTTP' });
    expect(c.resources.limits.memory).toBe('170Mi');
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.tolerations).toContainEqual({ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' });
  });
});

describe('swapping the CNI', () => {
  const render = (network: 'cilium' | 'flannel'): Map<string, string> => {
    const { app } = buildPlatform(specFor(6, network));
    return new Map(renderCharts(app).map((f: RenderedFile) => [f.path, f.content]));
  };
  const cilium = render('cilium');
  const flannel = render('flannel');

  it('changes only the network folder', () => {
    const outside = (files: Map<string, string>) => [...files].filter(([path]) => !path.startsWith('network/'));
    expect(outside(flannel)).toEqual(outside(cilium));
    expect(outside(cilium).length).toBeGreaterThan(20);
  });

  it('changes the network folder: another Application and no Cilium policy', () => {
    const folder = (files: Map<string, string>) => [...files.keys()].filter((p) => p.startsWith('network/'));
    expect(folder(cilium)).toContain('network/application-argocd-network-cilium.yaml');
    expect(folder(flannel)).toContain('network/application-argocd-network-flannel.yaml');
    expect(folder(flannel).filter((p) => p.includes('cilium'))).toEqual([]);
    // CoreDNS does not depend on the CNI.
    expect(flannel.get('network/deployment-kube-system-coredns.yaml')).toBe(cilium.get('network/deployment-kube-system-coredns.yaml'));
  });
});

describe('bootstrapManifests', () => {
  it.each(['cilium', 'flannel'] as const)('with %s, applies CoreDNS as rendered and installs the CNI with the Application\'s release and values', (network) => {
    const spec = specFor(6, network);
    const boot = bootstrapManifests(spec) as Obj[];
    const rendered = objectsOf(new PodNetwork(new App(), 'network', { spec }));
    for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Service', 'Deployment', 'PodDisruptionBudget']) {
      const name = kind === 'Service' ? 'kube-dns' : kind.startsWith('Cluster') ? 'system:coredns' : 'coredns';
      expect(find(boot, kind, name)).toEqual(find(rendered, kind, name));
    }
    const application = rendered.find((o) => o.kind === 'Application');
    const job = find(boot, 'Job', CNI_INSTALLER.job, 'kube-system');
    const pod = job.spec.template.spec;
    const [c] = pod.containers;
    const chart = network === 'cilium' ? CILIUM_CHART : FLANNEL_CHART;
    expect(c.image).toBe(HELM_IMAGE);
    expect(c.args.slice(0, 10)).toEqual([
      'upgrade',
      '--install',
      application.spec.source.helm.releaseName,
      chart.chart,
      '--repo',
      application.spec.source.repoURL,
      '--version',
      application.spec.source.targetRevision,
      '--namespace',
      application.spec.destination.namespace,
    ]);
    const values = find(boot, 'ConfigMap', CNI_INSTALLER.configMap, 'kube-system');
    expect(JSON.parse(values.data['values.yaml'])).toEqual(application.spec.source.helm.valuesObject);
    expect(pod).toMatchObject({ hostNetwork: true, dnsPolicy: 'Default', serviceAccountName: CNI_INSTALLER.serviceAccount });
    expect(pod.tolerations.map((t: Obj) => t.key)).toEqual(expect.arrayContaining(['node.kubernetes.io/not-ready', 'node.cloudprovider.kubernetes.io/uninitialized', 'node-role.kubernetes.io/control-plane']));
    expect(find(boot, 'ClusterRoleBinding', CNI_INSTALLER.clusterRoleBinding).roleRef.name).toBe('cluster-admin');
    expect(problems(boot)).toEqual([]);
    // The network layer's own namespaces come first, exactly as rendered (kube-flannel with flannel, none with Cilium).
    expect(boot.filter((o) => o.kind === 'Namespace')).toEqual(rendered.filter((o) => o.kind === 'Namespace'));
    expect(boot.slice(0, rendered.filter((o) => o.kind === 'Namespace').length).every((o) => o.kind === 'Namespace')).toBe(true);
  });
});

describe('Pod Security', () => {
  it.each(['cilium', 'flannel'] as const)('with %s, only the privileged namespaces may use the host network; every other one enforces baseline or restricted', (network) => {
    const spec = specFor(6, network);
    const privileged = hostNetworkNamespaces(spec);
    expect(privileged).toEqual(expect.arrayContaining(['kube-system', 'kured', 'rook-ceph', 'velero']));
    expect(privileged.includes('kube-flannel')).toBe(network === 'flannel');
    const namespaces = allObjects(buildPlatform(spec)).filter((o) => o.kind === 'Namespace');
    expect(namespaces.length).toBe(spec.layers.flatMap((l) => l.namespaces.filter((n) => !n.preexisting)).length);
    const levels = namespaces.map((ns) => [ns.metadata.name, ns.metadata.labels['pod-security.kubernetes.io/enforce']]);
    expect(levels.filter(([name]) => privileged.includes(name)).every(([, level]) => level === 'privileged')).toBe(true);
    expect(levels.filter(([name]) => !privileged.includes(name)).filter(([, level]) => level !== 'baseline' && level !== 'restricted')).toEqual([]);
    expect(levels.filter(([, level]) => level === 'baseline' || level === 'restricted').length).toBeGreaterThan(0);
  });
});

describe('nthAddress', () => {
  it('picks the 10th address of the service range, as kubeadm does', () => {
    expect(nthAddress(CLUSTER_NETWORK.serviceSubnet, 10)).toBe('10.96.0.10');
    expect(nthAddress('10.96.0.0/16', 300)).toBe('10.96.1.44');
  });
  it('fails on a range that is not IPv4', () => {
    expect(() => nthAddress('fd00::/108', 10)).toThrow(/"fd00::\/108" is not an IPv4 range/);
  });
  it('fails on an address outside the range', () => {
    expect(() => nthAddress('10.96.0.0/30', 10)).toThrow(/address 10 is outside 10\.96\.0\.0\/30 \(4 addresses\)/);
  });
});
