// The mutation suite's table: small changes to a good render, each keeping
// every file valid and breaking exactly one promise of the platform. The test
// (mutations.test.ts) applies each to a copy of the committed charts-out and
// infra-out (or to the rendered objects of an upstream chart) and asserts
// verify refuses it, naming the changed object.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { decodeInlineContents } from '@keelson/ignition';
import type { DesiredObject } from '@keelson/upstream';
import type { Loose } from './types';

/** The promise a mutation breaks, as README's "What verify proves" groups them. */
export type Area =
  | 'network-policy'
  | 'rbac'
  | 'ingress'
  | 'argocd'
  | 'images'
  | 'backups'
  | 'firewall'
  | 'encryption'
  | 'fault-tolerance'
  | 'pod-security'
  | 'secrets'
  | 'gitops';

/** The areas of the first part of the suite (what the cluster gets); the rest run in the second, in parallel. */
export const CLUSTER_AREAS: ReadonlySet<Area> = new Set(['network-policy', 'rbac', 'ingress', 'argocd', 'gitops', 'images']);

export interface Mutation {
  readonly area: Area;
  /** Unique, short: what changes. */
  readonly name: string;
  /** One line: why the change breaks a promise. */
  readonly reason: string;
  /** Text a finding of a failing check must hold: the changed object (its name or address). */
  readonly names: string;
  /** Edits the copy of charts-out (the desired state is then rendered again, as Argo CD would). */
  readonly charts?: (dir: string) => void;
  /** Edits the copy of infra-out. */
  readonly infra?: (dir: string) => void;
  /** Edits the rendered objects of an upstream chart or Git source (a promise that lives in what the chart renders). */
  readonly desired?: (objects: DesiredObject[]) => DesiredObject[];
}

/** Edits the one YAML object of `file` under `dir`. */
export function edit(dir: string, file: string, change: (o: Loose) => void): void {
  const path = join(dir, file);
  const o = YAML.parse(readFileSync(path, 'utf8'));
  change(o);
  writeFileSync(path, YAML.stringify(o));
}

/** Edits an upstream Application's Helm values. */
const values = (file: string, change: (v: Loose) => void) => (dir: string) => edit(dir, file, (o) => change(o.spec.source.helm.valuesObject));
const remove = (file: string) => (dir: string) => rmSync(join(dir, file));
const add = (file: string, object: object) => (dir: string) => writeFileSync(join(dir, file), YAML.stringify(object));
const yaml = (file: string, change: (o: Loose) => void) => (dir: string) => edit(dir, file, change);

/** Edits the Terraform JSON of the infra-out copy. */
const terraform = (change: (tf: Loose) => void) => (dir: string) => {
  const path = join(dir, 'main.tf.json');
  const tf = JSON.parse(readFileSync(path, 'utf8'));
  change(tf);
  writeFileSync(path, JSON.stringify(tf, null, 2));
};

/** Edits a node's user-data as synth writes it: its `<node>.pointer.ign` and the server's `user_data` in the Terraform JSON alike. */
const userData = (node: string, change: (pointer: Loose) => void) => (dir: string) => {
  const path = join(dir, 'ignition', `${node}.pointer.ign`);
  const pointer = JSON.parse(readFileSync(path, 'utf8'));
  change(pointer);
  const text = JSON.stringify(pointer);
  writeFileSync(path, text);
  terraform((tf) => (Object.values<Loose>(tf.resource.digitalocean_droplet).find((d) => d.name === node).user_data = text))(dir);
};

/** Edits one node's full Ignition config. */
const ignition = (node: string, change: (ign: Loose) => void) => (dir: string) => {
  const path = join(dir, 'ignition', `${node}.ign`);
  const ign = JSON.parse(readFileSync(path, 'utf8'));
  change(ign);
  writeFileSync(path, JSON.stringify(ign));
};

/** Rewrites a file an Ignition config writes (decoded, changed, stored as plain data). */
function ignitionFile(ign: Loose, path: string, change: (text: string) => string): void {
  const file = ign.storage.files.find((f: Loose) => f.path === path);
  const text = decodeInlineContents(file.contents)?.toString('utf8') ?? '';
  file.contents = { source: `data:,${encodeURIComponent(change(text))}` };
}

/** Changes a node's host firewall ruleset (nftables JSON). */
const hostFirewall = (node: string, change: (items: Loose[]) => Loose[]) =>
  ignition(node, (ign) => ignitionFile(ign, '/etc/keelson/host-firewall.json', (text) => JSON.stringify({ nftables: change(JSON.parse(text).nftables) })));

/** Changes every YAML document of a kubeadm file of a node. */
const kubeadm = (node: string, file: string, change: (doc: Loose) => void) =>
  ignition(node, (ign) =>
    ignitionFile(ign, file, (text) =>
      YAML.parseAllDocuments(text)
        .map((d) => {
          const o = d.toJS();
          change(o);
          return YAML.stringify(o);
        })
        .join('---\n'),
    ),
  );

/** Changes the rendered objects of kind/name (deep copies; the rest untouched). */
const rendered = (kind: string, name: string, change: (o: Loose) => void) => (objects: DesiredObject[]) =>
  objects.map((d) => {
    if (d.object.kind !== kind || d.object.metadata?.name !== name) return d;
    const object = structuredClone(d.object) as Loose;
    change(object);
    return { ...d, object };
  });

const container = (o: Loose, i = 0) => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec).containers[i];
const app = (folder: string, name: string) => `${folder}/application-argocd-${name}.yaml`;
const PUBLIC = ['0.0.0.0/0', '::/0'];

// Files of the committed charts-out the mutations change.
const F = {
  websiteIngress: 'apps/ingress-website-www-example-com.yaml',
  cloudIngress: 'apps/ingress-nextcloud-cloud-example-com.yaml',
  mediaIngress: 'apps/ingress-emby-media-example-com.yaml',
  prodIssuer: 'ingress/clusterissuer-letsencrypt-production.yaml',
  stagingIssuer: 'ingress/clusterissuer-letsencrypt-staging.yaml',
  hsts: 'ingress/middleware-traefik-hsts.yaml',
  tlsOption: 'ingress/tlsoption-traefik-default.yaml',
  traefik: app('ingress', 'ingress-traefik'),
  certManager: app('ingress', 'ingress-cert-manager'),
  cilium: app('network', 'network-cilium'),
  velero: app('backups', 'backups-velero'),
  kured: app('maintenance', 'maintenance-kured'),
  rook: app('storage', 'storage-rook-ceph'),
  denyLinkLocal: 'network/ciliumclusterwidenetworkpolicy-keelson-deny-link-local.yaml',
  hostEntities: 'network/ciliumclusterwidenetworkpolicy-keelson-allow-host-entities.yaml',
  project: 'argocd/appproject-argocd-keelson.yaml',
  cephCluster: 'storage/cephcluster-rook-ceph-rook-ceph.yaml',
  blockPool: 'storage/cephblockpool-rook-ceph-ceph-block.yaml',
  filesystem: 'storage/cephfilesystem-rook-ceph-ceph-filesystem.yaml',
  pgCluster: 'apps/cluster-nextcloud-nextcloud-db.yaml',
  website: 'apps/deployment-website-website.yaml',
  nextcloud: 'apps/deployment-nextcloud-nextcloud.yaml',
  emby: 'apps/deployment-emby-emby.yaml',
  cron: 'apps/cronjob-nextcloud-nextcloud-cron.yaml',
  etcdSnapshot: 'backups/cronjob-velero-etcd-snapshot.yaml',
  drill: 'backups/cronjob-velero-restore-drill.yaml',
  bsl: 'backups/backupstoragelocation-velero-default.yaml',
  daily: 'backups/schedule-velero-platform-daily.yaml',
  hourly: 'backups/schedule-velero-databases-hourly.yaml',
  weekly: 'backups/schedule-velero-platform-weekly.yaml',
  drillRole: 'backups/clusterrole-keelson-restore-drill.yaml',
  drillBinding: 'backups/clusterrolebinding-keelson-restore-drill.yaml',
  drillNsRole: 'backups/role-velero-restore-drill.yaml',
  drillNsBinding: 'backups/rolebinding-velero-restore-drill.yaml',
  corednsRole: 'network/clusterrole-system:coredns.yaml',
  corednsBinding: 'network/clusterrolebinding-system:coredns.yaml',
  blockClass: 'storage/storageclass-ceph-block.yaml',
  fsClass: 'storage/storageclass-ceph-filesystem.yaml',
  blockSnapshotClass: 'storage/volumesnapshotclass-ceph-block-snapshot.yaml',
};

/** The default-deny NetworkPolicy of each namespace, by the folder that renders it. */
const DEFAULT_DENY: readonly [string, string][] = [
  ['apps', 'website'],
  ['apps', 'nextcloud'],
  ['apps', 'emby'],
  ['apps', 'cnpg-system'],
  ['argocd', 'argocd'],
  ['backups', 'velero'],
  ['ingress', 'cert-manager'],
  ['ingress', 'traefik'],
  ['maintenance', 'kured'],
  ['maintenance', 'kubelet-csr-approver'],
  ['storage', 'rook-ceph'],
];
const denyFile = (folder: string, ns: string) => `${folder}/networkpolicy-${ns}-default-deny.yaml`;

const clusterRoleBinding = (name: string, role: string, subjects: object[]) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name, labels: { 'app.kubernetes.io/part-of': 'keelson' } },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects,
});

const CONTROLLER = 'keelson-controller-1';
const JOINING = 'keelson-controller-2';

export const MUTATIONS: readonly Mutation[] = [
  // --- network policy ---------------------------------------------------------
  ...DEFAULT_DENY.map(([folder, ns]): Mutation => ({
    area: 'network-policy',
    name: `no default-deny in ${ns}`,
    reason: `every pod of ${ns} is reachable from, and reaches, anything`,
    names: `namespace ${ns}`,
    charts: remove(denyFile(folder, ns)),
  })),
  { area: 'network-policy', name: 'website default-deny covers ingress only', reason: 'egress of website is open', names: 'namespace website', charts: yaml(denyFile('apps', 'website'), (o) => (o.spec.policyTypes = ['Ingress'])) },
  { area: 'network-policy', name: 'nextcloud default-deny covers egress only', reason: 'ingress to nextcloud is open', names: 'namespace nextcloud', charts: yaml(denyFile('apps', 'nextcloud'), (o) => (o.spec.policyTypes = ['Egress'])) },
  { area: 'network-policy', name: 'emby default-deny selects one app', reason: 'pods without the label are not denied', names: 'namespace emby', charts: yaml(denyFile('apps', 'emby'), (o) => (o.spec.podSelector = { matchLabels: { 'app.kubernetes.io/name': 'emby' } })) },
  { area: 'network-policy', name: 'cnpg-system default-deny allows all ingress', reason: 'the deny policy itself lets everything in', names: 'cnpg-system', charts: yaml(denyFile('apps', 'cnpg-system'), (o) => (o.spec.ingress = [{}])) },
  {
    area: 'network-policy',
    name: 'website ingress rule loses its peers and ports',
    reason: 'anything may reach the website pods on any port',
    names: 'allow-ingress-the-ingress-controller-forwards-https-www',
    charts: yaml('apps/networkpolicy-website-allow-ingress-the-ingress-controller-forwards-https-www.yaml', (o) => (o.spec.ingress = [{}])),
  },
  {
    area: 'network-policy',
    name: 'emby internet egress loses its port',
    reason: 'emby may reach the whole internet on every port',
    names: 'allow-egress-emby-fetches-metadata',
    charts: yaml('apps/networkpolicy-emby-allow-egress-emby-fetches-metadata-and-artwork-for-the.yaml', (o) => delete o.spec.egress[0].ports),
  },
  {
    area: 'network-policy',
    name: 'an allow-everything policy in nextcloud',
    reason: 'a policy selecting every pod with an empty rule undoes the default-deny',
    names: 'allow-everything',
    charts: add('apps/networkpolicy-nextcloud-allow-everything.yaml', { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-everything', namespace: 'nextcloud' }, spec: { podSelector: {}, ingress: [{}], egress: [{}], policyTypes: ['Ingress', 'Egress'] } }),
  },
  {
    area: 'network-policy',
    name: 'velero egress to every namespace on every port',
    reason: 'velero pods may reach any pod in the cluster',
    names: 'allow-egress-backups-and-etcd-snapshots',
    charts: yaml('backups/networkpolicy-velero-allow-egress-backups-and-etcd-snapshots-go-to-the-s3.yaml', (o) => (o.spec.egress = [{ to: [{ namespaceSelector: {} }] }])),
  },
  { area: 'network-policy', name: 'no metadata-service block', reason: 'pods read droplet user-data from 169.254.169.254', names: '169.254.169.254', charts: remove(F.denyLinkLocal) },
  { area: 'network-policy', name: 'metadata block selects one namespace', reason: 'pods of other namespaces reach the metadata service', names: 'keelson-deny-link-local', charts: yaml(F.denyLinkLocal, (o) => (o.spec.endpointSelector = { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'nextcloud' } })) },
  { area: 'network-policy', name: 'metadata block covers 169.254.0.0/24 only', reason: '169.254.169.254 is outside the denied range', names: 'keelson-deny-link-local', charts: yaml(F.denyLinkLocal, (o) => (o.spec.egressDeny[0].toCIDRSet[0].cidr = '169.254.0.0/24')) },
  {
    area: 'network-policy',
    name: 'metadata block is an allow rule',
    reason: 'egress (allow) instead of egressDeny lets pods reach the metadata service',
    names: 'keelson-deny-link-local',
    charts: yaml(F.denyLinkLocal, (o) => {
      o.spec.egress = o.spec.egressDeny;
      delete o.spec.egressDeny;
    }),
  },
  { area: 'network-policy', name: 'metadata block excepts the metadata address', reason: 'the one address that matters is carved out', names: 'keelson-deny-link-local', charts: yaml(F.denyLinkLocal, (o) => (o.spec.egressDeny[0].toCIDRSet[0].except = ['169.254.169.254/32'])) },
  { area: 'network-policy', name: 'metadata block denies port 80 only', reason: 'the metadata service is reachable on other ports', names: 'keelson-deny-link-local', charts: yaml(F.denyLinkLocal, (o) => (o.spec.egressDeny[0].toPorts = [{ ports: [{ port: '80', protocol: 'TCP' }] }])) },
  { area: 'network-policy', name: 'a host-entities rule opens the world', reason: 'argocd pods may reach the whole world on every port', names: 'keelson-allow-host-entities', charts: yaml(F.hostEntities, (o) => (o.specs[0].egress = [{ toEntities: ['world'] }])) },
  { area: 'network-policy', name: 'Cilium enforces no policy', reason: 'policyEnforcementMode never turns every NetworkPolicy off', names: 'enable-policy', charts: values(F.cilium, (v) => (v.policyEnforcementMode = 'never')) },

  // --- RBAC -------------------------------------------------------------------
  { area: 'rbac', name: 'restore drill ClusterRole gets every verb', reason: 'the drill could delete any namespace', names: 'keelson-restore-drill', charts: yaml(F.drillRole, (o) => (o.rules[0].verbs = ['*'])) },
  { area: 'rbac', name: 'restore drill ClusterRole gets every resource', reason: 'the drill could read every Secret kind', names: 'keelson-restore-drill', charts: yaml(F.drillRole, (o) => (o.rules[0].resources = ['*'])) },
  { area: 'rbac', name: 'restore drill bound to cluster-admin', reason: 'a drill pod owns the cluster', names: 'keelson-restore-drill', charts: yaml(F.drillBinding, (o) => (o.roleRef.name = 'cluster-admin')) },
  { area: 'rbac', name: 'restore drill RoleBinding to cluster-admin', reason: 'the drill owns the velero namespace and its credentials', names: 'velero/restore-drill', charts: yaml(F.drillNsBinding, (o) => (o.roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' })) },
  { area: 'rbac', name: 'restore drill Role gets */*/*', reason: 'a wildcard Role in velero reaches the bucket credentials', names: 'velero/restore-drill', charts: yaml(F.drillNsRole, (o) => (o.rules = [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])) },
  { area: 'rbac', name: 'CoreDNS bound to cluster-admin', reason: 'CoreDNS needs only to list Services and endpoints', names: 'system:coredns', charts: yaml(F.corednsBinding, (o) => (o.roleRef.name = 'cluster-admin')) },
  { area: 'rbac', name: 'CoreDNS ClusterRole gets every verb', reason: 'CoreDNS could write every object it reads', names: 'system:coredns', charts: yaml(F.corednsRole, (o) => (o.rules[0].verbs = ['*'])) },
  { area: 'rbac', name: 'cluster-admin for unauthenticated users', reason: 'anyone reaching the API server owns the cluster', names: 'system:unauthenticated', charts: add('network/clusterrolebinding-open.yaml', clusterRoleBinding('open', 'cluster-admin', [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:unauthenticated' }])) },
  { area: 'rbac', name: 'view for the anonymous user', reason: 'anonymous requests read the cluster', names: 'system:anonymous', charts: add('network/clusterrolebinding-peek.yaml', clusterRoleBinding('peek', 'view', [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:anonymous' }])) },
  { area: 'rbac', name: "cluster-admin for nextcloud's default ServiceAccount", reason: 'a compromised app pod owns the cluster', names: 'nextcloud/default', charts: add('apps/clusterrolebinding-nextcloud-admin.yaml', clusterRoleBinding('nextcloud-admin', 'cluster-admin', [{ kind: 'ServiceAccount', name: 'default', namespace: 'nextcloud' }])) },
  { area: 'rbac', name: "Traefik's chart ClusterRole gets a wildcard", reason: 'the ingress controller could write every object', names: 'traefik-traefik', desired: rendered('ClusterRole', 'traefik-traefik', (o) => o.rules.push({ apiGroups: ['*'], resources: ['*'], verbs: ['*'] })) },
  { area: 'rbac', name: "kured's chart binding to cluster-admin", reason: 'the reboot daemon on every node owns the cluster', names: 'kured', desired: rendered('ClusterRoleBinding', 'kured', (o) => (o.roleRef.name = 'cluster-admin')) },
  { area: 'rbac', name: 'restore drill ClusterRole may escalate', reason: 'the drill could write a role with rights it lacks, then use it', names: 'keelson-restore-drill', charts: yaml(F.drillRole, (o) => o.rules.push({ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['escalate'] })) },
  { area: 'rbac', name: 'CoreDNS ClusterRole may bind', reason: 'CoreDNS could bind cluster-admin to itself', names: 'system:coredns', charts: yaml(F.corednsRole, (o) => o.rules.push({ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'] })) },
  { area: 'rbac', name: "kured's chart ClusterRole may impersonate", reason: 'the reboot daemon could act as any user', names: 'kured', desired: rendered('ClusterRole', 'kured', (o) => o.rules.push({ apiGroups: [''], resources: ['users', 'groups', 'serviceaccounts'], verbs: ['impersonate'] })) },
  { area: 'rbac', name: "cert-manager's chart binding names unauthenticated users", reason: 'anonymous requests may issue certificates', names: 'system:unauthenticated', desired: rendered('ClusterRoleBinding', 'cert-manager-controller-certificates', (o) => o.subjects.push({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:unauthenticated' })) },

  // --- ingress ----------------------------------------------------------------
  { area: 'ingress', name: 'website Ingress without TLS', reason: 'www is served over plain HTTP', names: 'www-example-com', charts: yaml(F.websiteIngress, (o) => delete o.spec.tls) },
  { area: 'ingress', name: 'nextcloud TLS for another host', reason: 'cloud.example.com has no certificate', names: 'cloud-example-com', charts: yaml(F.cloudIngress, (o) => (o.spec.tls[0].hosts = ['other.example.com'])) },
  { area: 'ingress', name: 'emby Ingress without an issuer', reason: 'cert-manager issues no certificate for media', names: 'media-example-com', charts: yaml(F.mediaIngress, (o) => delete o.metadata.annotations['cert-manager.io/cluster-issuer']) },
  { area: 'ingress', name: 'website names an issuer that does not exist', reason: 'no certificate is ever issued', names: 'www-example-com', charts: yaml(F.websiteIngress, (o) => (o.metadata.annotations['cert-manager.io/cluster-issuer'] = 'letsencrypt-prod')) },
  { area: 'ingress', name: 'nextcloud routed on the web entry point too', reason: 'cloud is served over plain HTTP beside HTTPS', names: 'cloud-example-com', charts: yaml(F.cloudIngress, (o) => (o.metadata.annotations['traefik.ingress.kubernetes.io/router.entrypoints'] = 'web,websecure')) },
  { area: 'ingress', name: 'emby without an entry point', reason: 'Traefik routes it on every entry point, plain HTTP included', names: 'media-example-com', charts: yaml(F.mediaIngress, (o) => delete o.metadata.annotations['traefik.ingress.kubernetes.io/router.entrypoints']) },
  { area: 'ingress', name: 'website rule without a host', reason: 'a catch-all route answers every name without a certificate', names: 'www-example-com', charts: yaml(F.websiteIngress, (o) => delete o.spec.rules[0].host) },
  { area: 'ingress', name: 'production ACME over http', reason: 'the ACME account and orders travel in the clear', names: 'letsencrypt-production', charts: yaml(F.prodIssuer, (o) => (o.spec.acme.server = 'http://acme-v02.api.letsencrypt.org/directory')) },
  { area: 'ingress', name: 'staging ACME over http', reason: 'the ACME account and orders travel in the clear', names: 'letsencrypt-staging', charts: yaml(F.stagingIssuer, (o) => (o.spec.acme.server = 'http://acme-staging-v02.api.letsencrypt.org/directory')) },
  { area: 'ingress', name: 'HSTS middleware removed', reason: 'browsers are not told to stay on HTTPS', names: 'traefik-hsts', charts: remove(F.hsts) },
  { area: 'ingress', name: 'HSTS max-age 0', reason: 'max-age 0 tells browsers to forget HSTS', names: 'Middleware traefik/hsts', charts: yaml(F.hsts, (o) => (o.spec.headers.stsSeconds = 0)) },
  { area: 'ingress', name: 'HSTS max-age five minutes', reason: 'HSTS lapses between visits', names: 'Middleware traefik/hsts', charts: yaml(F.hsts, (o) => (o.spec.headers.stsSeconds = 300)) },
  { area: 'ingress', name: 'websecure entry point without the HSTS middleware', reason: 'the middleware exists but is applied to nothing', names: 'Deployment traefik/traefik', charts: values(F.traefik, (v) => delete v.ports.websecure.http.middlewares) },
  { area: 'ingress', name: 'web entry point without the HTTPS redirect', reason: 'plain HTTP is answered, not redirected', names: 'Deployment traefik/traefik', charts: values(F.traefik, (v) => delete v.ports.web.http.redirections) },
  { area: 'ingress', name: 'TLS 1.0 allowed', reason: 'clients may negotiate a broken protocol version', names: 'TLSOption traefik/default', charts: yaml(F.tlsOption, (o) => (o.spec.minVersion = 'VersionTLS10')) },

  // --- Argo CD ----------------------------------------------------------------
  ...(['apps', 'backups', 'network', 'storage', 'maintenance', 'ingress'] as const).map(
    (name): Mutation => ({ area: 'argocd', name: `${name} not synced automatically`, reason: 'Git is no longer what runs', names: `Application ${name}:`, charts: yaml(`argocd/application-argocd-${name}.yaml`, (o) => delete o.spec.syncPolicy.automated) }),
  ),
  { area: 'argocd', name: 'storage without prune', reason: 'objects removed from Git stay in the cluster', names: 'Application storage:', charts: yaml('argocd/application-argocd-storage.yaml', (o) => (o.spec.syncPolicy.automated.prune = false)) },
  { area: 'argocd', name: 'apps without self-heal', reason: 'a hand edit in the cluster is never undone', names: 'Application apps:', charts: yaml('argocd/application-argocd-apps.yaml', (o) => (o.spec.syncPolicy.automated.selfHeal = false)) },
  { area: 'argocd', name: 'traefik chart not synced automatically', reason: 'the ingress controller drifts from Git', names: 'Application ingress-traefik:', charts: yaml(F.traefik, (o) => delete o.spec.syncPolicy.automated) },
  { area: 'argocd', name: 'kured chart without self-heal', reason: 'a hand edit of the reboot daemon is never undone', names: 'Application maintenance-kured:', charts: yaml(F.kured, (o) => (o.spec.syncPolicy.automated.selfHeal = false)) },
  { area: 'argocd', name: 'Argo CD itself not synced automatically', reason: 'the exception covers prune only, not manual sync', names: 'Application argocd:', charts: yaml('argocd/application-argocd-argocd.yaml', (o) => delete o.spec.syncPolicy.automated) },
  { area: 'argocd', name: 'maintenance in the default project', reason: 'the default project allows any repository, destination and kind', names: 'Application maintenance:', charts: yaml('argocd/application-argocd-maintenance.yaml', (o) => (o.spec.project = 'default')) },
  { area: 'argocd', name: 'AppProject trusts every repository', reason: 'any repository may be synced into the cluster', names: 'AppProject keelson', charts: yaml(F.project, (o) => o.spec.sourceRepos.push('*')) },
  { area: 'argocd', name: 'AppProject allows every namespace', reason: 'Applications may deploy anywhere', names: 'AppProject keelson', charts: yaml(F.project, (o) => o.spec.destinations.push({ namespace: '*', server: 'https://kubernetes.default.svc' })) },
  { area: 'argocd', name: 'AppProject allows every cluster-scoped kind', reason: 'Applications may create any cluster-scoped object', names: 'AppProject keelson', charts: yaml(F.project, (o) => o.spec.clusterResourceWhitelist.push({ group: '*', kind: '*' })) },
  { area: 'argocd', name: 'AppProject whitelists every namespaced kind with *', reason: 'the project lists kinds with a wildcard', names: 'AppProject keelson', charts: yaml(F.project, (o) => (o.spec.namespaceResourceWhitelist = [{ group: '*', kind: '*' }])) },
  { area: 'argocd', name: 'database Cluster without SkipDryRunOnMissingResource', reason: "the apps layer's dry-run fails until the CNPG CRD exists, forever", names: 'Cluster nextcloud/nextcloud-db', charts: yaml(F.pgCluster, (o) => delete o.metadata.annotations['argocd.argoproj.io/sync-options']) },
  {
    area: 'argocd',
    name: 'CNPG operator before its namespace',
    reason: 'the parent waits forever for a child whose namespace comes later',
    names: 'apps-cloudnative-pg',
    charts: (dir) => {
      edit(dir, app('apps', 'apps-cloudnative-pg'), (o) => (o.metadata.annotations['argocd.argoproj.io/sync-wave'] = '-1'));
      edit(dir, 'apps/namespace-cnpg-system.yaml', (o) => (o.metadata.annotations = { ...o.metadata.annotations, 'argocd.argoproj.io/sync-wave': '0' }));
    },
  },
  {
    area: 'argocd',
    name: "CNPG operator at the database Cluster's wave",
    reason: 'the Cluster is created before the CNPG CRD and its admission webhooks exist',
    names: 'Cluster nextcloud/nextcloud-db',
    charts: yaml(app('apps', 'apps-cloudnative-pg'), (o) => (o.metadata.annotations['argocd.argoproj.io/sync-wave'] = '0')),
  },
  {
    area: 'argocd',
    name: "ClusterIssuers at cert-manager's wave",
    reason: 'the issuers are created before cert-manager, its CRDs and its webhook run',
    names: 'ClusterIssuer letsencrypt-production',
    charts: (dir) => {
      for (const f of [F.prodIssuer, F.stagingIssuer]) edit(dir, f, (o) => (o.metadata.annotations['argocd.argoproj.io/sync-wave'] = '0'));
    },
  },
  {
    area: 'argocd',
    name: "a Certificate beside cert-manager's webhook",
    reason: 'created in the wave that starts the webhook, it fails with "failed calling webhook" until retries',
    names: 'Certificate cert-manager/webhook-probe',
    desired: (objects) => [
      ...objects,
      {
        application: 'ingress-cert-manager',
        wave: 0,
        namespace: 'cert-manager',
        source: 'cert-manager/templates/certificate.yaml',
        object: {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: { name: 'webhook-probe', namespace: 'cert-manager' },
          spec: { secretName: 'webhook-probe-tls', dnsNames: ['probe.example.com'], issuerRef: { kind: 'ClusterIssuer', name: 'letsencrypt-production' } },
        },
      },
    ],
  },
  { area: 'argocd', name: 'AppProject without the cilium-secrets destination', reason: 'the network layer fails to sync', names: 'cilium-secrets', charts: yaml(F.project, (o) => (o.spec.destinations = o.spec.destinations.filter((d: Loose) => d.namespace !== 'cilium-secrets'))) },
  { area: 'argocd', name: 'AppProject without ClusterIssuer', reason: 'the ingress layer fails to sync its issuers', names: 'ClusterIssuer', charts: yaml(F.project, (o) => (o.spec.clusterResourceWhitelist = o.spec.clusterResourceWhitelist.filter((k: Loose) => k.kind !== 'ClusterIssuer'))) },
  { area: 'argocd', name: 'Rook chart value that does not exist', reason: 'a dead key is a silent no-op: the setting never applies', names: 'csi.enableRbdDriver', charts: values(F.rook, (v) => (v.csi = { ...v.csi, enableRbdDriver: true })) },
  { area: 'gitops', name: 'cert-manager chart at a version range', reason: 'the chart installed is whatever matches at sync time', names: 'cert-manager >=1.0.0', charts: yaml(F.certManager, (o) => (o.spec.source.targetRevision = '>=1.0.0')) },
  { area: 'gitops', name: 'Argo CD install from a branch', reason: 'the install changes with every push upstream', names: 'argo-cd.git at stable', charts: yaml('argocd/application-argocd-argocd.yaml', (o) => (o.spec.source.targetRevision = 'stable')) },
  { area: 'gitops', name: 'snapshot CRDs at HEAD', reason: 'the CRDs change with every push upstream', names: 'external-snapshotter.git at HEAD', charts: yaml(app('storage', 'storage-snapshot-crds'), (o) => (o.spec.source.targetRevision = 'HEAD')) },
  { area: 'gitops', name: 'apps folder synced from another branch', reason: 'the cluster follows a branch the config does not name', names: 'Application apps', charts: yaml('argocd/application-argocd-apps.yaml', (o) => (o.spec.source.targetRevision = 'develop')) },

  // --- images -----------------------------------------------------------------
  { area: 'images', name: 'Ceph image latest', reason: 'every OSD restart may run another Ceph release', names: 'CephCluster rook-ceph/rook-ceph', charts: yaml(F.cephCluster, (o) => (o.spec.cephVersion.image = 'quay.io/ceph/ceph:latest')) },
  { area: 'images', name: 'Ceph image untagged', reason: 'an untagged image is latest', names: 'CephCluster rook-ceph/rook-ceph', charts: yaml(F.cephCluster, (o) => (o.spec.cephVersion.image = 'quay.io/ceph/ceph')) },
  { area: 'images', name: 'PostgreSQL image latest', reason: 'a failover may start another PostgreSQL major', names: 'Cluster nextcloud/nextcloud-db', charts: yaml(F.pgCluster, (o) => (o.spec.imageName = 'ghcr.io/cloudnative-pg/postgresql:latest')) },
  { area: 'images', name: 'website image latest', reason: 'replicas may run different builds', names: 'Deployment website/website', charts: yaml(F.website, (o) => (container(o).image = 'nginxinc/nginx-unprivileged:latest')) },
  { area: 'images', name: 'nextcloud cron image untagged', reason: 'the cron job runs whatever latest is', names: 'CronJob nextcloud/nextcloud-cron', charts: yaml(F.cron, (o) => (container(o).image = 'nextcloud')) },
  { area: 'images', name: 'etcd snapshot image untagged', reason: 'the etcdctl used for snapshots changes under us', names: 'CronJob velero/etcd-snapshot', charts: yaml(F.etcdSnapshot, (o) => (o.spec.jobTemplate.spec.template.spec.initContainers[0].image = 'registry.k8s.io/etcd')) },
  { area: 'images', name: 'cert-manager chart image latest', reason: "the chart's value reaches the rendered Deployment", names: 'Deployment cert-manager/cert-manager', charts: values(F.certManager, (v) => (v.image = { ...v.image, tag: 'latest' })) },
  { area: 'images', name: 'ACME solver image latest', reason: 'the solver pods cert-manager starts run latest', names: 'acme-http01-solver-image', charts: values(F.certManager, (v) => (v.acmesolver.image.tag = 'latest')) },
  { area: 'images', name: 'Velero AWS plugin latest', reason: "the plugin init container's value reaches the Deployment", names: 'Deployment velero/velero', charts: values(F.velero, (v) => (v.initContainers[0].image = 'velero/velero-plugin-for-aws:latest')) },
  { area: 'images', name: 'kured image latest', reason: 'the reboot daemon changes with every push', names: 'DaemonSet kured/kured', charts: values(F.kured, (v) => (v.image = { ...v.image, tag: 'latest' })) },
  { area: 'images', name: 'Velero image latest', reason: 'the backup server changes with every push', names: 'Deployment velero/velero', charts: values(F.velero, (v) => (v.image = { ...v.image, tag: 'latest' })) },
  { area: 'images', name: 'Argo CD server image latest in the install', reason: 'the pinned install is only as pinned as its images', names: 'Deployment argocd/argocd-server', desired: rendered('Deployment', 'argocd-server', (o) => (container(o).image = 'quay.io/argoproj/argocd:latest')) },
  { area: 'images', name: 'emby image untagged', reason: 'the media server changes with every push', names: 'Deployment emby/emby', charts: yaml(F.emby, (o) => (container(o).image = 'emby/embyserver')) },

  // --- backups ----------------------------------------------------------------
  { area: 'backups', name: 'daily backups expire at once', reason: 'ttl 0s keeps nothing', names: 'Schedule velero/platform-daily', charts: yaml(F.daily, (o) => (o.spec.template.ttl = '0s')) },
  { area: 'backups', name: 'hourly backups ttl 0', reason: 'ttl 0 keeps nothing', names: 'Schedule velero/databases-hourly', charts: yaml(F.hourly, (o) => (o.spec.template.ttl = '0h0m0s')) },
  { area: 'backups', name: 'weekly backups to a location that does not exist', reason: 'every weekly backup fails', names: 'Schedule velero/platform-weekly', charts: yaml(F.weekly, (o) => (o.spec.template.storageLocation = 'offsite')) },
  { area: 'backups', name: 'daily backups without volume data', reason: 'only the objects are saved, not the files', names: 'Schedule velero/platform-daily', charts: yaml(F.daily, (o) => (o.spec.template.snapshotVolumes = false)) },
  { area: 'backups', name: 'hourly snapshots stay in the cluster', reason: 'losing the cluster loses the database snapshots', names: 'Schedule velero/databases-hourly', charts: yaml(F.hourly, (o) => (o.spec.template.snapshotMoveData = false)) },
  { area: 'backups', name: 'weekly backups paused', reason: 'the schedule never runs', names: 'Schedule velero/platform-weekly', charts: yaml(F.weekly, (o) => (o.spec.paused = true)) },
  { area: 'backups', name: 'daily schedule empty', reason: 'the schedule never runs', names: 'Schedule velero/platform-daily', charts: yaml(F.daily, (o) => (o.spec.schedule = '')) },
  { area: 'backups', name: 'backup location read-only', reason: 'no backup can be written', names: 'ReadOnly', charts: yaml(F.bsl, (o) => (o.spec.accessMode = 'ReadOnly')) },
  { area: 'backups', name: 'backup location removed', reason: 'every schedule writes nowhere', names: 'BackupStorageLocation', charts: remove(F.bsl) },
  {
    area: 'backups',
    name: 'nextcloud excluded from every schedule',
    reason: "the files and database of nextcloud are never backed up",
    names: 'nextcloud',
    charts: (dir) => {
      for (const f of [F.daily, F.hourly, F.weekly]) edit(dir, f, (o) => (o.spec.template.excludedNamespaces = [...(o.spec.template.excludedNamespaces ?? []), 'nextcloud']));
    },
  },
  {
    area: 'backups',
    name: 'every schedule removed',
    reason: 'Velero is installed and backs up nothing',
    names: 'Schedule',
    charts: (dir) => [F.daily, F.hourly, F.weekly].forEach((f) => remove(f)(dir)),
  },
  { area: 'backups', name: 'ceph-block snapshots not offered to Velero', reason: 'Velero finds no VolumeSnapshotClass for rbd volumes', names: 'StorageClass ceph-block', charts: yaml(F.blockSnapshotClass, (o) => delete o.metadata.labels['velero.io/csi-volumesnapshot-class']) },
  { area: 'backups', name: 'etcd snapshot CronJob removed', reason: "the cluster's own state has no off-cluster copy", names: 'etcd', charts: remove(F.etcdSnapshot) },
  { area: 'backups', name: 'etcd snapshots suspended', reason: 'the snapshot job never runs', names: 'CronJob velero/etcd-snapshot', charts: yaml(F.etcdSnapshot, (o) => (o.spec.suspend = true)) },
  { area: 'backups', name: 'restore drill removed', reason: 'nothing proves the backups restore', names: 'restore drill', charts: remove(F.drill) },
  { area: 'backups', name: 'restore drill suspended', reason: 'the drill never runs', names: 'CronJob velero/restore-drill', charts: yaml(F.drill, (o) => (o.spec.suspend = true)) },
  {
    area: 'backups',
    name: 'restore drill checks only the phase',
    reason: 'a backup without volume data restores as empty volumes and still completes',
    names: 'CronJob velero/restore-drill',
    charts: yaml(F.drill, (o) => {
      const c = o.spec.jobTemplate.spec.template.spec.containers[0];
      c.command[2] = String(c.command[2]).split('\n').filter((l) => !/datauploads|persistentVolumeClaim|kubectl logs/.test(l)).join('\n');
    }),
  },
  { area: 'backups', name: 'backup bucket force-destroyable', reason: 'terraform destroy deletes every backup', names: 'digitalocean_spaces_bucket.backups', infra: terraform((tf) => (tf.resource.digitalocean_spaces_bucket.backups.force_destroy = true)) },

  // --- firewall and buckets ---------------------------------------------------
  { area: 'firewall', name: 'kubelet port open to the internet', reason: 'anyone may probe every kubelet', names: 'digitalocean_firewall.nodes', infra: terraform((tf) => tf.resource.digitalocean_firewall.nodes.inbound_rule.push({ port_range: '10250', protocol: 'tcp', source_addresses: PUBLIC })) },
  {
    area: 'firewall',
    name: 'etcd allowed from the node network on a controller',
    reason: 'every server in the private network (a compromised worker) reaches etcd; Hetzner does not filter it',
    names: `${JOINING}: host firewall: a rule accepts etcd from 10.10.0.0/16`,
    infra: hostFirewall(JOINING, (items) => {
      const at = items.findIndex((i) => i.add?.rule) + 1;
      const rule = { add: { rule: { family: 'inet', table: 'keelson', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { range: [2379, 2380] } } }, { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.10.0.0', len: 16 } } } }, { accept: null }] } } };
      return [...items.slice(0, at), rule, ...items.slice(at)];
    }),
  },
  {
    area: 'firewall',
    name: 'host firewall missing on a worker',
    reason: "the worker's kubelet and Ceph ports are open to every server in the private network",
    names: 'keelson-worker-1: host firewall: no host firewall',
    infra: ignition('keelson-worker-1', (ign) => (ign.storage.files = ign.storage.files.filter((f: Loose) => f.path !== '/etc/keelson/host-firewall.json'))),
  },
  {
    area: 'firewall',
    name: 'host firewall input policy drop',
    reason: "the node drops Cilium's tunnel, health and WireGuard traffic, the API server and the ingress ports: the cluster breaks",
    names: `${CONTROLLER}: host firewall: the input chain's policy is drop`,
    infra: hostFirewall(CONTROLLER, (items) => items.map((i) => (i.add?.chain ? { add: { chain: { ...i.add.chain, policy: 'drop' } } } : i))),
  },
  { area: 'firewall', name: 'API server open to the internet', reason: 'the API server is reachable beyond the admin ranges', names: 'digitalocean_firewall.controllers', infra: terraform((tf) => (tf.resource.digitalocean_firewall.controllers.inbound_rule[0].source_addresses = ['0.0.0.0/0'])) },
  { area: 'firewall', name: 'etcd open to the internet', reason: 'etcd peers and clients are reachable from anywhere', names: 'digitalocean_firewall.controllers', infra: terraform((tf) => (tf.resource.digitalocean_firewall.controllers.inbound_rule[1].source_addresses = PUBLIC)) },
  { area: 'firewall', name: 'every TCP port open on the ingress firewall', reason: 'every node port is reachable from anywhere', names: 'digitalocean_firewall.ingress_lb', infra: terraform((tf) => tf.resource.digitalocean_firewall.ingress_lb.inbound_rule.push({ port_range: '1-65535', protocol: 'tcp', source_addresses: ['::/0'] })) },
  { area: 'firewall', name: 'VXLAN open to the internet', reason: 'anyone may inject pod-network packets', names: 'digitalocean_firewall.nodes', infra: terraform((tf) => (tf.resource.digitalocean_firewall.nodes.inbound_rule[2].source_addresses = PUBLIC)) },
  { area: 'firewall', name: 'API load balancer allows everyone', reason: "the load balancer's own firewall no longer limits the API", names: 'digitalocean_loadbalancer.api', infra: terraform((tf) => tf.resource.digitalocean_loadbalancer.api.firewall.allow.push('cidr:0.0.0.0/0')) },
  { area: 'firewall', name: 'Ignition bucket public', reason: "the nodes' secret parts are world-readable", names: 'digitalocean_spaces_bucket.ignition', infra: terraform((tf) => (tf.resource.digitalocean_spaces_bucket.ignition.acl = 'public-read')) },
  { area: 'firewall', name: 'a secret part public', reason: "one node's secret part is world-readable", names: `digitalocean_spaces_bucket_object.${CONTROLLER}`, infra: terraform((tf) => (tf.resource.digitalocean_spaces_bucket_object[CONTROLLER].acl = 'public-read')) },
  { area: 'firewall', name: 'backup bucket public', reason: 'the backups are world-readable', names: 'digitalocean_spaces_bucket.backups', infra: terraform((tf) => (tf.resource.digitalocean_spaces_bucket.backups.acl = 'public-read')) },
  { area: 'firewall', name: 'Ignition bucket without expiry', reason: 'the secret parts stay in the bucket forever', names: 'digitalocean_spaces_bucket.ignition', infra: terraform((tf) => delete tf.resource.digitalocean_spaces_bucket.ignition.lifecycle_rule) },
  { area: 'firewall', name: 'Ignition bucket expiry disabled', reason: 'the expiry rule never runs', names: 'digitalocean_spaces_bucket.ignition', infra: terraform((tf) => (tf.resource.digitalocean_spaces_bucket.ignition.lifecycle_rule[0].enabled = false)) },
  { area: 'firewall', name: 'SSH open to the internet', reason: 'port 22 reachable from anywhere', names: 'digitalocean_firewall.nodes', infra: terraform((tf) => tf.resource.digitalocean_firewall.nodes.inbound_rule.push({ port_range: '22', protocol: 'tcp', source_addresses: PUBLIC })) },

  // --- encryption -------------------------------------------------------------
  { area: 'encryption', name: 'Ceph msgr2 without encryption', reason: 'Ceph traffic between nodes is plaintext (crc mode)', names: 'CephCluster rook-ceph/rook-ceph', charts: yaml(F.cephCluster, (o) => (o.spec.network.connections.encryption.enabled = false)) },
  { area: 'encryption', name: 'Ceph accepts msgr v1', reason: 'clients may fall back to the plaintext v1 protocol', names: 'CephCluster rook-ceph/rook-ceph', charts: yaml(F.cephCluster, (o) => (o.spec.network.connections.requireMsgr2 = false)) },
  { area: 'encryption', name: 'Cilium without WireGuard', reason: 'pod traffic between nodes is plaintext', names: 'cilium-config', charts: values(F.cilium, (v) => (v.encryption.enabled = false)) },
  { area: 'encryption', name: 'Cilium without node encryption', reason: 'host-network traffic (Ceph, CSI) leaves in plaintext', names: 'cilium-config', charts: values(F.cilium, (v) => (v.encryption.nodeEncryption = false)) },
  { area: 'encryption', name: 'backups to the bucket over http', reason: 'backups travel in the clear', names: 'velero/default', charts: yaml(F.bsl, (o) => (o.spec.config.s3Url = 'http://fra1.digitaloceanspaces.com')) },
  { area: 'encryption', name: 'backup bucket certificate not verified', reason: 'anyone on the path can read the backups', names: 'velero/default', charts: yaml(F.bsl, (o) => (o.spec.config.insecureSkipTLSVerify = 'true')) },
  {
    area: 'encryption',
    name: 'etcd snapshots uploaded over http',
    reason: 'the etcd snapshot (every Secret) travels in the clear',
    names: 'etcd-snapshot',
    charts: yaml(F.etcdSnapshot, (o) => {
      const c = container(o);
      c.command = c.command.map((s: string) => s.replace(/https:\/\/fra1\.digitaloceanspaces\.com/g, 'http://fra1.digitaloceanspaces.com'));
    }),
  },
  { area: 'encryption', name: 'etcd peers over http', reason: 'etcd replication is plaintext', names: 'etcd peer', infra: kubeadm(CONTROLLER, '/etc/keelson/kubeadm-init.yaml', (d) => d.kind === 'ClusterConfiguration' && (d.etcd.local.extraArgs = [...(d.etcd.local.extraArgs ?? []), { name: 'listen-peer-urls', value: 'http://0.0.0.0:2380' }])) },
  { area: 'encryption', name: 'kubelets allow anonymous requests', reason: "the kubelet API answers anyone who reaches it", names: 'API server -> kubelets', infra: kubeadm(CONTROLLER, '/etc/keelson/kubeadm-init.yaml', (d) => d.kind === 'KubeletConfiguration' && (d.authentication.anonymous.enabled = true)) },
  {
    area: 'encryption',
    name: 'first boot fetches the secret part over http',
    reason: "a node's secrets travel in the clear at first boot",
    names: `${CONTROLLER} first boot`,
    infra: userData(CONTROLLER, (pointer) => (pointer.ignition.config.merge[0].source = String(pointer.ignition.config.merge[0].source).replace(/^https:/, 'http:'))),
  },
  {
    area: 'encryption',
    name: 'first boot does not check the secret part',
    reason: 'a swapped secret part would be booted',
    names: `${JOINING} first boot`,
    infra: userData(JOINING, (pointer) => delete pointer.ignition.config.merge[0].verification),
  },

  // --- fault tolerance --------------------------------------------------------
  { area: 'fault-tolerance', name: 'website PDB allows no disruption', reason: 'node drains never finish', names: 'website', charts: yaml('apps/poddisruptionbudget-website-website.yaml', (o) => (o.spec.maxUnavailable = 0)) },
  { area: 'fault-tolerance', name: 'website one replica', reason: 'losing its node takes the website down', names: 'Deployment website/website', charts: yaml(F.website, (o) => (o.spec.replicas = 1)) },
  { area: 'fault-tolerance', name: 'nextcloud replicas may stack', reason: 'all replicas may land on the failed nodes', names: 'Deployment nextcloud/nextcloud', charts: yaml(F.nextcloud, (o) => delete o.spec.template.spec.affinity) },
  { area: 'fault-tolerance', name: 'block pool keeps 2 copies', reason: 'losing 2 nodes may lose both copies', names: 'CephBlockPool rook-ceph/ceph-block', charts: yaml(F.blockPool, (o) => (o.spec.replicated.size = 2)) },
  { area: 'fault-tolerance', name: 'block pool failure domain osd', reason: 'copies may share a node', names: 'CephBlockPool rook-ceph/ceph-block', charts: yaml(F.blockPool, (o) => (o.spec.failureDomain = 'osd')) },
  { area: 'fault-tolerance', name: 'four monitors', reason: 'an even monitor count survives no more failures', names: 'CephCluster rook-ceph/rook-ceph', charts: yaml(F.cephCluster, (o) => (o.spec.mon.count = 4)) },
  { area: 'fault-tolerance', name: 'three monitors', reason: 'losing 2 of 3 monitors loses quorum', names: 'CephCluster rook-ceph/rook-ceph', charts: yaml(F.cephCluster, (o) => (o.spec.mon.count = 3)) },
  { area: 'fault-tolerance', name: 'emby without short tolerations', reason: 'the media server waits 5 minutes to move', names: 'Deployment emby/emby', charts: yaml(F.emby, (o) => delete o.spec.template.spec.tolerations) },
  { area: 'fault-tolerance', name: 'emby tolerates a dead node for a minute', reason: 'the media server comes back after 140 s, over its stated 90 s', names: 'Deployment emby/emby', charts: yaml(F.emby, (o) => o.spec.template.spec.tolerations.forEach((t: Loose) => (t.tolerationSeconds = 60))) },
  { area: 'fault-tolerance', name: 'node controller waits 5 minutes', reason: 'a dead node is tainted after 300 s: no singleton is back within its bound', names: 'Deployment emby/emby', infra: kubeadm(CONTROLLER, '/etc/keelson/kubeadm-init.yaml', (d) => d.kind === 'ClusterConfiguration' && ((d.controllerManager ??= {}).extraArgs = [...(d.controllerManager.extraArgs ?? []), { name: 'node-monitor-grace-period', value: '5m' }])) },
  { area: 'fault-tolerance', name: 'one database instance', reason: 'losing its node takes the database down', names: 'nextcloud-db', charts: yaml(F.pgCluster, (o) => (o.spec.instances = 1)) },
  { area: 'fault-tolerance', name: 'traefik one replica', reason: 'losing its node takes every site down', names: 'Deployment traefik/traefik', charts: values(F.traefik, (v) => (v.deployment.replicas = 1)) },
  { area: 'fault-tolerance', name: 'CoreDNS one replica', reason: 'losing its node stops name resolution', names: 'Deployment kube-system/coredns', charts: yaml('network/deployment-kube-system-coredns.yaml', (o) => (o.spec.replicas = 1)) },

  { area: 'fault-tolerance', name: 'website PDB lets every pod go', reason: 'a drain may evict all website replicas at once', names: 'PodDisruptionBudget website/website', charts: yaml('apps/poddisruptionbudget-website-website.yaml', (o) => (o.spec.maxUnavailable = 3)) },
  { area: 'fault-tolerance', name: 'nextcloud PDB maxUnavailable 100%', reason: 'a drain may evict every nextcloud pod', names: 'PodDisruptionBudget nextcloud/nextcloud', charts: yaml('apps/poddisruptionbudget-nextcloud-nextcloud.yaml', (o) => (o.spec.maxUnavailable = '100%')) },
  {
    area: 'fault-tolerance',
    name: 'CoreDNS PDB minAvailable 0',
    reason: 'a drain may evict every DNS server',
    names: 'PodDisruptionBudget kube-system/coredns',
    charts: yaml('network/poddisruptionbudget-kube-system-coredns.yaml', (o) => {
      delete o.spec.maxUnavailable;
      o.spec.minAvailable = 0;
    }),
  },
  { area: 'fault-tolerance', name: 'block pool min_size 1', reason: 'writes are accepted with one copy; one more failure loses them', names: 'CephBlockPool rook-ceph/ceph-block', charts: yaml(F.blockPool, (o) => (o.spec.parameters.min_size = '1')) },
  { area: 'fault-tolerance', name: 'filesystem metadata pool min_size 1', reason: 'metadata writes are accepted with one copy', names: 'ceph-filesystem metadata pool', charts: yaml(F.filesystem, (o) => (o.spec.metadataPool.parameters.min_size = '1')) },
  { area: 'fault-tolerance', name: 'filesystem data pool min_size 3', reason: 'after losing 2 of 4 copies the pool stops taking writes', names: 'ceph-filesystem data pool', charts: yaml(F.filesystem, (o) => (o.spec.dataPools[0].parameters.min_size = '3')) },
  { area: 'fault-tolerance', name: "Rook does not guard its daemons' disruptions", reason: 'a drain may take more OSDs or monitors than the budget', names: 'CephCluster rook-ceph/rook-ceph', charts: yaml(F.cephCluster, (o) => (o.spec.disruptionManagement.managePodBudgets = false)) },
  { area: 'fault-tolerance', name: 'kured reboots two nodes at once', reason: 'two reboots plus a failure exceed the fault budget', names: 'DaemonSet kured/kured', charts: values(F.kured, (v) => (v.configuration.concurrency = 2)) },
  { area: 'fault-tolerance', name: 'kured forces reboots', reason: 'a node whose drain is blocked reboots anyway', names: 'DaemonSet kured/kured', charts: values(F.kured, (v) => (v.configuration.forceReboot = true)) },
  {
    area: 'fault-tolerance',
    name: 'locksmithd left running on a node',
    reason: 'Flatcar reboots the node for updates without draining it',
    names: `node ${JOINING}: locksmithd`,
    infra: ignition(JOINING, (ign) => (ign.systemd.units = ign.systemd.units.filter((u: Loose) => u.name !== 'locksmithd.service'))),
  },
  { area: 'fault-tolerance', name: 'database replication asynchronous', reason: 'a failover loses the commits not yet shipped', names: 'Cluster nextcloud/nextcloud-db', charts: yaml(F.pgCluster, (o) => delete o.spec.postgresql.synchronous) },

  // --- encryption details -----------------------------------------------------
  { area: 'encryption', name: 'RBD maps in crc mode', reason: 'block volumes travel unencrypted between nodes', names: 'StorageClass ceph-block', charts: yaml(F.blockClass, (o) => (o.parameters.mapOptions = 'ms_mode=crc')) },
  { area: 'encryption', name: 'RBD maps without ms_mode', reason: 'the kernel client defaults to msgr1, in plaintext', names: 'StorageClass ceph-block', charts: yaml(F.blockClass, (o) => delete o.parameters.mapOptions) },
  { area: 'encryption', name: 'CephFS kernel mounts prefer crc', reason: 'file traffic may travel unencrypted', names: 'CephCluster rook-ceph/rook-ceph', charts: yaml(F.cephCluster, (o) => (o.spec.csi.cephfs.kernelMountOptions = 'ms_mode=prefer-crc')) },
  { area: 'encryption', name: 'CephFS StorageClass mounts legacy', reason: "the StorageClass's own options override the cluster's", names: 'StorageClass ceph-filesystem', charts: yaml(F.fsClass, (o) => (o.parameters.kernelMountOptions = 'ms_mode=legacy')) },
  {
    area: 'encryption',
    name: 'Secrets at rest with identity first',
    reason: 'new Secrets are written to etcd in plaintext',
    names: `node ${JOINING}`,
    infra: ignition(JOINING, (ign) =>
      ignitionFile(ign, '/etc/kubernetes/encryption/config.yaml', (text) => {
        const config = YAML.parse(text);
        config.resources[0].providers.reverse();
        return YAML.stringify(config);
      }),
    ),
  },
  { area: 'encryption', name: 'API server without encryption at rest', reason: 'Secrets are stored in etcd and its snapshots in plaintext', names: 'encryption-provider-config', infra: kubeadm(CONTROLLER, '/etc/keelson/kubeadm-init.yaml', (d) => d.kind === 'ClusterConfiguration' && (d.apiServer.extraArgs = d.apiServer.extraArgs.filter((a: Loose) => a.name !== 'encryption-provider-config'))) },
  { area: 'encryption', name: 'API server accepts TLS 1.0', reason: 'clients may negotiate a broken protocol version', names: 'apiServer tls-min-version', infra: kubeadm(CONTROLLER, '/etc/keelson/kubeadm-init.yaml', (d) => d.kind === 'ClusterConfiguration' && (d.apiServer.extraArgs.find((a: Loose) => a.name === 'tls-min-version').value = 'VersionTLS10')) },
  { area: 'encryption', name: 'etcd accepts TLS 1.1', reason: 'etcd clients may negotiate a broken protocol version', names: 'etcd.local tls-min-version', infra: kubeadm(CONTROLLER, '/etc/keelson/kubeadm-init.yaml', (d) => d.kind === 'ClusterConfiguration' && (d.etcd.local.extraArgs.find((a: Loose) => a.name === 'tls-min-version').value = 'TLS1.1')) },
  { area: 'encryption', name: 'kubelet accepts TLS 1.1', reason: 'the kubelet API may negotiate a broken protocol version', names: 'tlsMinVersion', infra: kubeadm(CONTROLLER, '/etc/keelson/kubeadm-init.yaml', (d) => d.kind === 'KubeletConfiguration' && (d.tlsMinVersion = 'VersionTLS11')) },
  { area: 'encryption', name: 'join without the CA hash', reason: 'the node joins whatever answers at the endpoint', names: `node ${JOINING}`, infra: kubeadm(JOINING, '/etc/keelson/kubeadm-join.yaml', (d) => d.kind === 'JoinConfiguration' && (d.discovery.bootstrapToken.caCertHashes = [])) },
  { area: 'encryption', name: 'join skips CA verification', reason: 'the node trusts any API server', names: 'node keelson-worker-1', infra: kubeadm('keelson-worker-1', '/etc/keelson/kubeadm-join.yaml', (d) => d.kind === 'JoinConfiguration' && (d.discovery.bootstrapToken.unsafeSkipCAVerification = true)) },

  // --- secrets on the nodes -----------------------------------------------------
  {
    area: 'secrets',
    name: "the cluster CA key inlined in a node's user-data",
    reason: 'anything reaching the metadata service reads the CA key',
    names: `${CONTROLLER}: private-key`,
    infra: (dir) => {
      const full = JSON.parse(readFileSync(join(dir, 'ignition', `${CONTROLLER}.ign`), 'utf8'));
      const key = full.storage.files.find((f: Loose) => f.path === '/etc/kubernetes/pki/ca.key');
      userData(CONTROLLER, (pointer) => (pointer.storage = { ...(pointer.storage ?? {}), files: [...(pointer.storage?.files ?? []), key] }))(dir);
    },
  },
  {
    area: 'secrets',
    name: "a private key under a harmless path in a worker's user-data",
    reason: 'key material is readable through the metadata service whatever the file is called',
    names: 'keelson-worker-1: private-key',
    infra: userData('keelson-worker-1', (pointer) => {
      const pem = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oQ9vjZXqW4ShoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n';
      pointer.storage = { ...(pointer.storage ?? {}), files: [...(pointer.storage?.files ?? []), { path: '/etc/motd', mode: 420, contents: { source: `data:,${encodeURIComponent(pem)}` } }] };
    }),
  },
  {
    area: 'secrets',
    name: 'a DigitalOcean token in the Terraform JSON',
    reason: 'the API token sits in the plan and the state',
    names: 'digitalocean-token',
    infra: terraform((tf) => (tf.provider.digitalocean = [{ token: `dop_v1_${'5f'.repeat(32)}` }])),
  },

  // --- pod security -----------------------------------------------------------
  { area: 'pod-security', name: 'website namespace baseline without a reason', reason: 'a weaker Pod Security level with no reason stated', names: 'Namespace website', charts: yaml('apps/namespace-website.yaml', (o) => (o.metadata.labels['pod-security.kubernetes.io/enforce'] = 'baseline')) },
  { area: 'pod-security', name: 'nextcloud namespace without a level', reason: 'no Pod Security level is enforced', names: 'Namespace nextcloud', charts: yaml('apps/namespace-nextcloud.yaml', (o) => delete o.metadata.labels['pod-security.kubernetes.io/enforce']) },
  { area: 'pod-security', name: 'website privileged', reason: 'the container has every capability and device of the node', names: 'Deployment website/website', charts: yaml(F.website, (o) => (container(o).securityContext.privileged = true)) },
  { area: 'pod-security', name: 'website runs as root', reason: 'root in the container', names: 'Deployment website/website', charts: yaml(F.website, (o) => (container(o).securityContext.runAsUser = 0)) },
  { area: 'pod-security', name: 'nextcloud adds SYS_ADMIN', reason: 'a capability that is nearly root', names: 'Deployment nextcloud/nextcloud', charts: yaml(F.nextcloud, (o) => (container(o).securityContext.capabilities.add = ['SYS_ADMIN'])) },
  { area: 'pod-security', name: 'website on the host network', reason: "the pod shares the node's network namespace", names: 'Deployment website/website', charts: yaml(F.website, (o) => (o.spec.template.spec.hostNetwork = true)) },
  { area: 'pod-security', name: 'website may escalate privileges', reason: 'setuid binaries regain privileges', names: 'Deployment website/website', charts: yaml(F.website, (o) => (container(o).securityContext.allowPrivilegeEscalation = true)) },
  { area: 'pod-security', name: 'website writable root filesystem', reason: 'an attacker may change the container image files', names: 'Deployment website/website', charts: yaml(F.website, (o) => (container(o).securityContext.readOnlyRootFilesystem = false)) },
  { area: 'pod-security', name: 'cron job seccomp unconfined', reason: 'every syscall is allowed', names: 'CronJob nextcloud/nextcloud-cron', charts: yaml(F.cron, (o) => (container(o).securityContext.seccompProfile = { type: 'Unconfined' })) },

  {
    area: 'pod-security',
    name: 'API server default level privileged',
    reason: 'a namespace without a label runs privileged pods',
    names: 'default enforce level "privileged"',
    infra: ignition(JOINING, (ign) => ignitionFile(ign, '/etc/kubernetes/admission/config.yaml', (text) => text.replace('enforce: baseline', 'enforce: privileged'))),
  },
  {
    area: 'pod-security',
    name: 'Pod Security exempts nextcloud',
    reason: 'nextcloud pods skip every Pod Security level',
    names: 'namespace nextcloud',
    infra: ignition(JOINING, (ign) => ignitionFile(ign, '/etc/kubernetes/admission/config.yaml', (text) => text.replace('- kube-system', '- kube-system\n          - nextcloud'))),
  },
  {
    area: 'pod-security',
    name: 'Pod Security exempts a user',
    reason: "that user's pods skip every Pod Security level",
    names: 'user ops',
    infra: ignition(JOINING, (ign) => ignitionFile(ign, '/etc/kubernetes/admission/config.yaml', (text) => text.replace('usernames: []', 'usernames: [ops]'))),
  },
  { area: 'pod-security', name: 'API server without the admission config', reason: 'Pod Security enforces privileged by default', names: 'admission-control-config-file', infra: kubeadm(CONTROLLER, '/etc/keelson/kubeadm-init.yaml', (d) => d.kind === 'ClusterConfiguration' && (d.apiServer.extraArgs = d.apiServer.extraArgs.filter((a: Loose) => a.name !== 'admission-control-config-file'))) },
  {
    area: 'pod-security',
    name: 'anonymous requests reach every path',
    reason: 'the API server answers anyone on every path RBAC allows anonymous users',
    names: 'anonymous',
    infra: ignition(JOINING, (ign) =>
      ignitionFile(ign, '/etc/kubernetes/authn/config.yaml', (text) => {
        const config = YAML.parse(text);
        delete config.anonymous.conditions;
        return YAML.stringify(config);
      }),
    ),
  },
  { area: 'pod-security', name: 'website mounts the node root', reason: "the pod reads and writes the node's files", names: 'Deployment website/website', charts: yaml(F.website, (o) => o.spec.template.spec.volumes.push({ name: 'host', hostPath: { path: '/' } })) },
  { area: 'pod-security', name: "Traefik's chart mounts the node root", reason: "the internet-facing proxy reads and writes the node's files", names: 'Deployment traefik/traefik', desired: rendered('Deployment', 'traefik', (o) => o.spec.template.spec.volumes.push({ name: 'host', hostPath: { path: '/' } })) },
  { area: 'pod-security', name: "Cilium's agent mounts /etc beyond its exception", reason: 'the exception lists the CNI paths, not the node configuration', names: 'DaemonSet kube-system/cilium', desired: rendered('DaemonSet', 'cilium', (o) => o.spec.template.spec.volumes.push({ name: 'host-etc', hostPath: { path: '/etc' } })) },

  // --- secrets ----------------------------------------------------------------
  { area: 'secrets', name: 'a Secret with data in git', reason: 'a credential committed to the repository', names: 'secret-', charts: add('apps/secret-nextcloud-admin.yaml', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'nextcloud-admin', namespace: 'nextcloud' }, stringData: { password: 'hunter2-correct-horse' } }) },
  {
    area: 'secrets',
    name: 'a private key in a ConfigMap',
    reason: 'key material committed to the repository',
    names: 'configmap-website-website-content',
    charts: yaml('apps/configmap-website-website-content.yaml', (o) => (o.data['key.pem'] = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n')),
  },
];
