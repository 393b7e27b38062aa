import { renderCharts } from '@keelson/cluster-kit';
import { BOOTSTRAP_JOB_WAIT_SECONDS } from '@keelson/ignition';
import { configReferenceMarkdown, exampleConfig, parsePlatformConfig, type PlatformConfigInput } from '@keelson/platform-spec';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateManifest } from '@keelson/k8s-schemas';
import { nodeProviderFor } from '@keelson/infra-nodes';
import YAML from 'yaml';
import { whoamiApp } from './examples/whoami-app';
import { composePlatform } from './platform';
import { repoRoot } from './test-helpers';

const compose = (change: (c: PlatformConfigInput) => void = () => undefined, apps: Parameters<typeof composePlatform>[1]['apps'] = []) => {
  const config = exampleConfig();
  change(config);
  const spec = parsePlatformConfig(config);
  // The cloud's facts from its node provider, as synth passes them.
  const provider = nodeProviderFor(spec);
  return composePlatform(spec, { backupBucket: provider.backupBucket(spec), volumeDevicePathFilter: provider.volumeDevicePathFilter(spec), apps });
};
const render = (change?: (c: PlatformConfigInput) => void, apps?: Parameters<typeof compose>[1]) => new Map(renderCharts(compose(change, apps).app).map((f) => [f.path, f.content]));
const changedFiles = (a: Map<string, string>, b: Map<string, string>) => [...new Set([...a.keys(), ...b.keys()])].filter((p) => a.get(p) !== b.get(p)).sort();

describe('composePlatform', () => {
  const files = render();

  it('renders every layer with one Argo CD Application per layer folder', () => {
    const folders = new Set([...files.keys()].map((p) => p.split('/')[0]));
    expect([...folders].sort()).toEqual(['apps', 'argocd', 'backups', 'ingress', 'maintenance', 'network', 'storage']);
    for (const folder of folders) expect(files.has(`argocd/application-argocd-${folder === 'argocd' ? 'root' : folder}.yaml`)).toBe(true);
  });

  it('renders objects that all pass the strict schema check', () => {
    const problems = [...files].flatMap(([path, content]) => validateManifest(YAML.parse(content)).map((p) => `${path} ${p.path}: ${p.message}`));
    expect(problems).toEqual([]);
  });

  it('gives every namespace the platform creates a default-deny policy and DNS, in its own layer folder', () => {
    const namespaces = [...files].filter(([p]) => p.includes('/namespace-')).map(([p, c]) => [p.split('/')[0], YAML.parse(c).metadata.name]);
    expect(namespaces.length).toBe(12);
    expect(namespaces).toContainEqual(['backups', 'nextcloud-restore-drill']);
    for (const [folder, ns] of namespaces) {
      expect(files.has(`${folder}/networkpolicy-${ns}-default-deny.yaml`)).toBe(true);
      expect(files.has(`${folder}/networkpolicy-${ns}-allow-dns.yaml`)).toBe(true);
    }
  });

  it('swapping the ingress changes the ingress layer and the route objects, never the apps\' Deployments and Services', () => {
    const b = render((c) => (c.layers = { ingress: 'gateway-api' }));
    const changed = changedFiles(files, b);
    expect(changed.filter((p) => /^apps\/(deployment|service|persistentvolumeclaim|cronjob)-/.test(p))).toEqual([]);
    expect(changed.filter((p) => p.startsWith('apps/') && !/^apps\/(ingress|httproute|networkpolicy)-/.test(p))).toEqual([]);
    expect(changed.some((p) => p.startsWith('apps/httproute-'))).toBe(true);
    // Besides: the policies that name the controller's namespace (in the apps'
    // namespaces, and Cilium's host-entity mirror of every declared rule).
    expect(changed.filter((p) => !/^(ingress|apps|argocd)\//.test(p))).toEqual(['network/ciliumclusterwidenetworkpolicy-keelson-allow-host-entities.yaml']);
  });

  it('swapping the pod network changes only the network folder and what Argo CD allows for it', () => {
    const b = render((c) => (c.layers = { network: 'flannel' }));
    const changed = changedFiles(files, b);
    expect(changed.filter((p) => !p.startsWith('network/'))).toEqual(['argocd/appproject-argocd-keelson.yaml']);
  });

  it('swapping the media server (Emby for Jellyfin) changes only the media objects in the apps folder, and its policies', () => {
    const b = render((c) => (c.apps = { ...c.apps, media: { ...c.apps?.media, server: 'jellyfin' } }));
    const changed = changedFiles(files, b);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.filter((p) => !p.startsWith('apps/') && !/^ingress\/networkpolicy-/.test(p))).toEqual([]);
    expect(changed.filter((p) => p.startsWith('apps/') && !/(emby|jellyfin)/.test(p))).toEqual([]);
  });

  it('takes the bootstrap, the deploy-time Secrets and the upgrade gates from what the layers declare', () => {
    const { declarations } = compose();
    expect(declarations.healthGates.map((g) => [g.name, g.check])).toEqual([
      ['Ceph HEALTH_OK', { kind: 'status', resource: 'cephclusters.ceph.rook.io', namespace: 'rook-ceph', field: 'status.ceph.health', healthy: 'HEALTH_OK' }],
      ['every Application Synced and Healthy', { kind: 'applications', namespace: 'argocd' }],
    ]);
    expect(declarations.deployTimeSecrets({ objectStoreCredentialVariables: ['A', 'B'] }).map((s) => `${s.namespace}/${s.name}`)).toEqual(['velero/cloud-credentials', 'velero/etcd-backup-client', 'nextcloud/nextcloud-admin']);
  });

  it('names each swappable layer in one composition line of the app, and nowhere else in its code', () => {
    const source = (file: string) => readFileSync(join(repoRoot, 'apps/platform/src', file), 'utf8');
    const code = ['platform.ts', 'synth.ts', 'lifecycle/secrets.ts', 'lifecycle/upgrade.ts', 'lifecycle/deploy.ts'].map((f) => [f, source(f)] as const);
    // The swappable ones as the shipped default of their factory, the others in their composition line.
    for (const [layer, line] of [
      ['PodNetwork', /^platform\.ts: network: \(scope, id, props\) => new /],
      ['RookStorage', /^platform\.ts: storage: \(scope, id, props\) => new /],
      ['Ingress', /^platform\.ts: ingress: \(scope, id, props\) => new /],
      ['VeleroBackups', /^platform\.ts: const \w+ = new /],
      ['PlatformApps', /^platform\.ts: const \w+ = new /],
    ] as const) {
      const uses = code.flatMap(([f, text]) => text.split('\n').filter((l) => new RegExp(`\\bnew ${layer}\\(`).test(l)).map((l) => `${f}: ${l.trim()}`));
      expect(uses).toHaveLength(1);
      expect(uses[0]).toMatch(line);
    }
    // composePlatform builds each swappable layer in one line, from the factory given or the shipped one.
    for (const layer of ['network', 'storage', 'ingress']) {
      expect(source('platform.ts')).toMatch(new RegExp(`^  const ${layer} = \\(chosen\\.${layer} \\?\\? SHIPPED_LAYERS\\.${layer}\\)\\(app, '${layer}', \\{[^\\n]*\\}\\);$`, 'm'));
    }
  });

  it('leaves the storage, ingress and pod network implementations out of synth and the lifecycle: they read what the layers declare', () => {
    const source = (file: string) => readFileSync(join(repoRoot, 'apps/platform/src', file), 'utf8');
    for (const file of ['synth.ts', 'lifecycle/cluster.ts', 'lifecycle/upgrade.ts', 'lifecycle/deploy.ts', 'lifecycle/secrets.ts', 'lifecycle/render.ts']) {
      expect([file, source(file).match(/@keelson\/(storage-rook|ingress-lego|network|apps-nextcloud-emby-site|gitops-argocd)\b|rook-ceph|cephclusters|cilium|traefik|cert-manager|'argocd'/g)]).toEqual([file, null]);
    }
  });

  it('hands the nodes their bootstrap: the pod network (its installer removed afterwards), then Argo CD', () => {
    const platform = compose();
    expect(platform.bootstrap.map((s) => s.name)).toEqual(['network', 'argocd-namespace', 'argocd-install', 'argocd-root']);
    const network = platform.bootstrap[0] as { manifests: string; cleanup?: { delete: readonly string[] } };
    const kinds = YAML.parseAllDocuments(network.manifests).map((d) => d.toJS().kind);
    expect(kinds).toEqual(expect.arrayContaining(['Deployment', 'Service', 'ConfigMap', 'Job', 'ClusterRoleBinding']));
    expect(network.cleanup?.delete).toContain('clusterrolebinding/keelson-cni-installer');
    // The installer Job gives up (with its own reason) before the first controller stops waiting for it.
    const job = YAML.parseAllDocuments(network.manifests).map((d) => d.toJS()).find((o) => o.kind === 'Job');
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    expect(job.spec.activeDeadlineSeconds).toBeLessThan(BOOTSTRAP_JOB_WAIT_SECONDS);
    expect(platform.replaceKubeadmAddons).toEqual(['coredns']);
    expect(platform.ingressTarget).toEqual({ http: 30080, https: 30443, proxyProtocol: true });
  });
});

describe('an app of your own, in one file (src/examples/whoami-app.ts)', () => {
  const before = render();
  const after = render(undefined, [whoamiApp]);
  const changed = changedFiles(before, after);

  it('renders its namespace, workload, route and policies, and lets Argo CD sync it', () => {
    expect(changed.filter((p) => p.startsWith('apps/'))).toEqual([
      'apps/deployment-whoami-whoami.yaml',
      'apps/ingress-whoami-whoami-example-com.yaml',
      'apps/namespace-whoami.yaml',
      'apps/networkpolicy-whoami-allow-dns.yaml',
      'apps/networkpolicy-whoami-allow-ingress-the-ingress-controller-forwards-https-whoami.yaml',
      'apps/networkpolicy-whoami-allow-ingress-the-ingress-controller-forwards-let-s-encrypt.yaml',
      'apps/networkpolicy-whoami-default-deny.yaml',
      'apps/poddisruptionbudget-whoami-whoami.yaml',
      'apps/service-whoami-whoami.yaml',
    ]);
    expect(YAML.parse(after.get('apps/namespace-whoami.yaml') ?? '').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const project = YAML.parse(after.get('argocd/appproject-argocd-keelson.yaml') ?? '');
    expect(project.spec.destinations.map((d: { namespace: string }) => d.namespace)).toContain('whoami');
    const problems = changed.flatMap((p) => validateManifest(YAML.parse(after.get(p) ?? '')).map((x) => `${p} ${x.path}: ${x.message}`));
    expect(problems).toEqual([]);
  });

  it('changes nothing else but the controller\'s egress allows and what Argo CD may sync into', () => {
    expect(changed.filter((p) => !p.startsWith('apps/'))).toEqual([
      'argocd/appproject-argocd-keelson.yaml',
      'ingress/networkpolicy-traefik-allow-egress-the-ingress-controller-forwards-https-whoami.yaml',
      'ingress/networkpolicy-traefik-allow-egress-the-ingress-controller-forwards-let-s-encrypt-4.yaml',
    ]);
  });

  it('refuses a namespace another layer already has', () => {
    expect(() => compose(undefined, [(chart) => chart.addNamespace({ name: 'velero', podSecurity: 'restricted' })])).toThrow(/addNamespace\("velero"\): layer backups already has it; pick another name/);
  });
});

describe('README', () => {
  it('carries the current config reference', () => {
    expect(readFileSync(join(repoRoot, 'README.md'), 'utf8')).toContain(configReferenceMarkdown());
  });
});
