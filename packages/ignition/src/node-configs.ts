import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import YAML from 'yaml';
import { NODE_NETWORK_CIDR, type BootstrapStep, type ClusterSecrets, type NodeSpec, type PlatformSpec } from '@keelson/platform-spec';
import { IgnitionConfig, ignitionHash } from './builder';
import { caCertHash, renderKubeadmConfig, type ClusterConfiguration, type InitConfiguration, type JoinConfiguration, type KubeletConfiguration } from './kubeadm';
import { BOOTSTRAP_SCRIPTS } from './generated/bootstrap-scripts';
import { HOST_FIREWALL, hostFirewallModel, renderHostFirewall } from './host-firewall';
import { CLUSTER_NETWORK, ETCD_RESTORE_IMAGE, KUBERNETES_RELEASES, SYSEXT_ARCH, SYSEXT_BASE_URL, kubernetesSysextImage } from './pins';
import { memoize } from './internal/memo';

/**
 * The YAML of a document, written once per distinct document in a process:
 * the nodes of a render carry the same audit policy, admission and encryption
 * documents, so the second node on reads them from here.
 */
const yamlOf = memoize((document: object) => JSON.stringify(document), (document: object): string => YAML.stringify(document));

/** Placeholder the bootstrap script replaces with the node's private address from the metadata service. */
export const NODE_IP = '@NODE_IP@';

/** How long the first controller waits for a bootstrap step's installer Job (the CNI install) before it reports the step failed. */
export const BOOTSTRAP_JOB_WAIT_SECONDS = 600;
/**
 * How many runs of the first controller's bootstrap step list (keelson-bootstrap-manifests.service,
 * each step bounded) systemd allows within 3 hours; the node publishes a failure in the last one as final.
 */
export const BOOTSTRAP_MANIFESTS_MAX_RUNS = 6;

/** Where things live on a node. */
export const NODE_PATHS = {
  bootstrapScript: '/opt/keelson/bin/kubeadm-bootstrap',
  /** Helpers the first-boot scripts source (journal lines, status, backoff). */
  bootstrapLib: '/opt/keelson/lib/bootstrap-lib.sh',
  /** One step of the first controller's pod network / CoreDNS / Argo CD bootstrap (keelson-bootstrap-manifests.service). */
  bootstrapManifestsScript: '/opt/keelson/bin/bootstrap-manifests',
  /** What differs between nodes for the first-boot script: role, init or join, the API endpoint (public). */
  bootstrapEnv: '/etc/keelson/bootstrap.env',
  /** The cluster CA's certificate (public), which joiners check the API endpoint with while they wait for it. */
  clusterCa: '/etc/keelson/cluster-ca.crt',
  /** Where a controller keeps the Ignition-provided CAs and keys; `kubeadm reset` does not clean it. */
  keptPki: '/var/lib/keelson/pki',
  /** The first boot's last step, state and error (KEY=value lines), also published as Lease keelson-boot/status-<node>. */
  bootstrapStatus: '/var/lib/keelson/bootstrap-status',
  joinedStamp: '/var/lib/keelson/kubeadm-joined',
  sysextStamp: '/var/lib/keelson/kubernetes-sysext-installed',
  kubeadmInit: '/etc/keelson/kubeadm-init.yaml',
  /**
   * On controllers that join: the cluster-wide kubeadm documents
   * (ClusterConfiguration, KubeletConfiguration) this render creates the
   * cluster with, for verify and rehearse. No secret in it, and kubeadm
   * join never reads it: a joining controller takes them from the cluster's
   * kubeadm-config and kubelet-config ConfigMaps.
   */
  kubeadmCluster: '/etc/keelson/kubeadm-cluster.yaml',
  kubeadmJoin: '/etc/keelson/kubeadm-join.yaml',
  encryptionConfig: '/etc/kubernetes/encryption/config.yaml',
  auditPolicy: '/etc/kubernetes/audit/policy.yaml',
  auditLogDir: '/var/log/kubernetes/audit',
  authenticationConfig: '/etc/kubernetes/authn/config.yaml',
  admissionConfig: '/etc/kubernetes/admission/config.yaml',
  bootstrapDir: '/etc/keelson/bootstrap',
  initializedStamp: '/var/lib/keelson/cluster-initialized',
  bootstrappedStamp: '/var/lib/keelson/bootstrap-manifests-applied',
  pki: '/etc/kubernetes/pki',
  sysextDir: '/opt/extensions/kubernetes',
  sysupdateDir: '/etc/sysupdate.kubernetes.d',
  /** The presigned link to the etcd snapshot the first controller restores (secret part only). */
  etcdRestoreUrl: '/etc/keelson/etcd-restore-url',
  /** Where that snapshot is downloaded to, under /var/lib so the etcd container sees it; removed after the restore. */
  etcdRestoreSnapshot: '/var/lib/keelson/etcd-restore.db',
  /** etcd's data directory (kubeadm's `etcd.local.dataDir`). */
  etcdDataDir: '/var/lib/etcd',
  /** Static names: `api.<domain>` at the private API address, when the cloud needs one (`apiPrivateAddress`). */
  hosts: '/etc/hosts',
} as const;

export interface NodeConfigsProps {
  readonly spec: PlatformSpec;
  readonly secrets: ClusterSecrets;
  /**
   * The URL each node fetches its secret part from, once, at first boot
   * (an expiring link to a private bucket, made by the infrastructure layer).
   */
  readonly secretPartUrl: (node: NodeSpec) => string;
  /**
   * The largest user-data the cloud's servers accept, in bytes
   * (`NodeProvider.userDataLimitBytes`): a pointer that does not fit is
   * refused with its size and the fix.
   * @default - not checked here; the node provider refuses user-data over its cloud's limit when it renders
   */
  readonly userDataLimitBytes?: number;
  /**
   * Whether this render creates the cluster: `true` only for the very first
   * deploy, when no cluster exists yet. Then the first controller runs
   * `kubeadm init` (unless anything already answers HTTP on the API endpoint
   * within 30 s: then a cluster exists and it joins). With `false` every node,
   * the first controller included, is a joiner: it waits for the API behind
   * the load balancer and never creates a cluster, however long the API is
   * silent. Every render after the first deploy (scale-up, replacing any
   * controller) must pass `false`. Required, so no caller creates a second
   * cluster by forgetting it; `keelson synth` passes `true` only while
   * `infra-out/cluster-created.json` does not exist.
   */
  readonly initialize: boolean;
  /**
   * What the first controller applies, in order, right after it created the
   * cluster, before any pod network exists: the pod network and CoreDNS,
   * Argo CD and its root Application, which then take over. Public content
   * only (no secret). Applied with server-side apply; the whole list is
   * retried until it succeeds once.
   * @default - nothing is applied
   */
  readonly bootstrap?: readonly (BootstrapStep | PinnedUrlStep)[];
  /**
   * kubeadm addons the platform installs itself (from `bootstrapManifests`),
   * so kubeadm skips them at init.
   * @default - none: kubeadm installs CoreDNS and kube-proxy
   */
  readonly replaceKubeadmAddons?: readonly ('coredns' | 'kube-proxy')[];
  /**
   * An etcd snapshot the first controller restores into `/var/lib/etcd`
   * before `kubeadm init`, when it creates the cluster (nothing answered on
   * the API endpoint for three minutes); a first controller that joins never
   * restores. Only with `initialize: true`. The cluster must be
   * rendered from the same secrets bundle the snapshot was taken under: its
   * Secrets are encrypted with the bundle's key.
   * @default - no restore: the first controller creates an empty cluster
   */
  readonly restoreEtcdSnapshot?: EtcdSnapshotSource;
  /**
   * The pinned Kubernetes release's system extension image, pinned by its
   * SHA-256: the entry for `versions.kubernetes` in
   * `kubernetes-sysext.lock.json`, which `keelson lock` makes from the
   * bakery's SHA256SUMS. Ignition downloads it in the initramfs to
   * `/opt/extensions/kubernetes/<file>` and fails the first boot on any other
   * hash; `keelson-kubernetes-sysext.service` then has nothing to fetch.
   * Later patch releases still come through systemd-sysupdate, checked
   * against SHA256SUMS. Public: it goes into the pointer.
   * @default - not pinned here: the first boot fetches the image with systemd-sysupdate, checked against the bakery's SHA256SUMS over HTTPS
   */
  readonly kubernetesSysext?: KubernetesSysextImage;
  /**
   * The controllers' private addresses (or CIDRs), when the infrastructure
   * pins them: the host firewall accepts etcd (2379-2380) only from them.
   * @default - the node network: the clouds assign addresses at creation
   */
  readonly controllerAddresses?: readonly string[];
  /**
   * The private IPv4 address every node reaches the API server at, when
   * public DNS gives `api.<domain>` another one (`NodeProvider.apiPrivateAddress`:
   * on Hetzner the name resolves to the controllers' public addresses, for
   * admins, and nodes use the private API load balancer). Each node's
   * `/etc/hosts` then maps `api.<domain>` to it (with the usual localhost
   * lines), so kubelet, kubeadm, the boot scripts and host-network pods
   * (which get the node's `/etc/hosts`) reach the API privately. Public.
   * @see https://github.com/kubernetes/kubernetes/blob/v1.36.0/pkg/kubelet/kubelet_pods.go (`nodeHostsFileContent`: host-network pods get the node's file)
   * @see https://coreos.github.io/ignition/configuration-v3_3/ (`storage.files[].overwrite`: the image's file is replaced)
   * @default - no `/etc/hosts` is written: nodes resolve `api.<domain>` through DNS
   */
  readonly apiPrivateAddress?: string;
}

/**
 * A bootstrap step fetched from an upstream URL and applied only when the
 * download's SHA-256 is the pinned one (a moved tag or a changed file stops
 * the step, with both hashes in the node's status).
 */
export interface PinnedUrlStep {
  readonly name: string;
  /** The upstream manifest, https. */
  readonly url: string;
  /** Namespace for objects that name none. @default - none */
  readonly namespace?: string;
  /** SHA-256 of the file at `url`, 64 lower-case hex digits. */
  readonly sha256: string;
}

/** A Kubernetes system extension image Ignition downloads and checks by hash. */
export interface KubernetesSysextImage {
  /**
   * Where the image is downloaded from: https (plain http only to 127.0.0.1
   * or localhost, for tests). Its file name must be the pinned release's
   * image (`kubernetes-v<release>-x86-64.raw`, see `KUBERNETES_RELEASES`).
   */
  readonly url: string;
  /** SHA-256 of the image, 64 lower-case hex digits, as the bakery's SHA256SUMS lists it. */
  readonly sha256: string;
}

/** Where the first controller downloads an etcd snapshot from, and how it checks it. */
export interface EtcdSnapshotSource {
  /**
   * An https link the node can GET without credentials: a presigned,
   * expiring link to the private object (`NodeProvider.backupObjectUrl`).
   * It is a credential for its lifetime, so it is written only into the
   * node's secret part ({@link NODE_PATHS}`.etcdRestoreUrl`), never into the
   * public pointer.
   */
  readonly url: string;
  /**
   * SHA-256 of the snapshot file, 64 hex digits (`sha256sum <file>.db`):
   * the node refuses to restore a download with another hash.
   * @default - not checked (etcdutl still checks the snapshot's own integrity hash)
   */
  readonly sha256?: string;
}

export type { BootstrapStep };

/** One node's Ignition, in the three forms the platform needs. */
export interface NodeIgnition {
  readonly node: NodeSpec;
  /**
   * The server's user-data: only public content, plus an `ignition.config.merge`
   * of the secret part pinned by its SHA-512. No key material.
   */
  readonly pointer: string;
  /** Keys, certificates and the kubeadm config with its bootstrap token: served once, then gone. */
  readonly secretPart: string;
  /** sha512 of `secretPart`, as the pointer pins it (`sha512-<hex>`). */
  readonly secretPartHash: string;
  /** Everything in one config (what the node ends up with), for inspection: `infra-out/ignition/<node>.ign`. */
  readonly full: string;
}

/** The API server endpoint nodes join through: the load balancer's DNS name. */
export function apiEndpoint(spec: PlatformSpec): string {
  return `api.${spec.config.domain}:6443`;
}

/**
 * Renders every node's Ignition: Flatcar with Kubernetes from the sysext
 * bakery, kubeadm init/join with the cluster's CAs and a pinned CA hash,
 * etcd with mTLS, Secrets encrypted at rest, audit logging, and no SSH.
 */
export function renderNodeConfigs(props: NodeConfigsProps): NodeIgnition[] {
  // Fails closed for callers without the type (JavaScript, a spread of an untyped object).
  if (typeof props.initialize !== 'boolean') {
    throw new Error(`renderNodeConfigs: initialize is ${JSON.stringify(props.initialize) ?? 'undefined'}, not true or false; pass true only for the very first deploy (no cluster exists yet) and false for every later render`);
  }
  checkApiPrivateAddress(props);
  checkRestore(props);
  checkKubernetesSysext(props);
  return props.spec.topology.nodes.map((node) => renderNode(props, node));
}

/** The private ranges (RFC 1918) an `apiPrivateAddress` must be in, as [first address, prefix length]. */
const PRIVATE_RANGES: ReadonlyArray<readonly [first: string, bits: number]> = [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
];
const ipv4Number = (address: string) => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const inRange = (address: string, [first, bits]: readonly [string, number]) =>
  Math.floor(ipv4Number(address) / 2 ** (32 - bits)) === ipv4Number(first) / 2 ** (32 - bits);

function checkApiPrivateAddress({ apiPrivateAddress: address }: NodeConfigsProps): void {
  if (address === undefined) return;
  if (!isIPv4(address) || !PRIVATE_RANGES.some((range) => inRange(address, range))) {
    throw new Error(
      `renderNodeConfigs: apiPrivateAddress ${JSON.stringify(address)} is not a private IPv4 address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); pass NodeProvider.apiPrivateAddress(spec), e.g. "10.10.15.254", or leave it out to resolve api.<domain> through DNS`,
    );
  }
}

function checkRestore({ restoreEtcdSnapshot: restore, initialize }: NodeConfigsProps): void {
  if (!restore) return;
  if (initialize === false) {
    throw new Error('renderNodeConfigs: restoreEtcdSnapshot is set with initialize: false; only a first controller that may create the cluster restores etcd. Drop restoreEtcdSnapshot when rendering node replacements');
  }
  // The link itself is a credential: name only its scheme.
  if (!/^https:\/\/\S+$/.test(restore.url)) {
    throw new Error(`renderNodeConfigs: restoreEtcdSnapshot.url (starting ${JSON.stringify(restore.url.slice(0, 8))}) is not a single-line https URL; pass the presigned link from NodeProvider.backupObjectUrl`);
  }
  if (restore.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(restore.sha256)) {
    throw new Error(`renderNodeConfigs: restoreEtcdSnapshot.sha256 ${JSON.stringify(restore.sha256)} is not 64 lower-case hex digits; pass the first field of \`sha256sum <snapshot>.db\`, or leave it out`);
  }
}

function checkKubernetesSysext({ kubernetesSysext: image, spec }: NodeConfigsProps): void {
  if (!image) return;
  const fix = 'pass the entry of kubernetes-sysext.lock.json for this release (run keelson lock on a machine with internet)';
  if (!/^(https:\/\/|http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/)\S+$/.test(image.url)) {
    throw new Error(`renderNodeConfigs: kubernetesSysext.url ${JSON.stringify(image.url)} is not a single-line https URL (plain http only to 127.0.0.1 or localhost, for tests); ${fix}`);
  }
  const expected = kubernetesSysextImage(kubernetesRelease(spec));
  const named = new URL(image.url).pathname.split('/').pop();
  if (named !== expected) {
    throw new Error(
      `renderNodeConfigs: kubernetesSysext.url ${JSON.stringify(image.url)} names ${JSON.stringify(named)}, but versions.kubernetes ${spec.config.versions.kubernetes} is pinned to ${expected} (KUBERNETES_RELEASES); ${fix}`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(image.sha256)) {
    throw new Error(`renderNodeConfigs: kubernetesSysext.sha256 ${JSON.stringify(image.sha256)} is not 64 lower-case hex digits; ${fix}`);
  }
}

/** Where the first controller keeps bootstrap step `index` (0-based) named `name`. */
const bootstrapStepPath = (index: number, name: string) => `${NODE_PATHS.bootstrapDir}/${String(index + 1).padStart(2, '0')}-${name}.yaml`;

/** A carried step's digest is the digest of what it carries (synth checked it on the file it read; this checks what reaches the config). */
function checkCarried(step: { readonly name: string; readonly url: string; readonly sha256: string; readonly contents: string }): void {
  if (!/^[0-9a-f]{64}$/.test(step.sha256)) {
    throw new Error(`renderNodeConfigs: bootstrap step ${step.name}: sha256 ${JSON.stringify(step.sha256)} is not 64 lower-case hex digits; pass the first field of \`sha256sum\` of ${step.url}`);
  }
  const actual = createHash('sha256').update(step.contents, 'utf8').digest('hex');
  if (actual !== step.sha256) {
    throw new Error(`renderNodeConfigs: bootstrap step ${step.name}: the carried contents have sha256 ${actual}, not the pinned ${step.sha256}; carry the exact file of ${step.url} (read as UTF-8, unchanged), or correct the pin`);
  }
}

function renderNode(props: NodeConfigsProps, node: NodeSpec): NodeIgnition {
  const publicPart = new IgnitionConfig();
  const secret = new IgnitionConfig();
  addPublicContent(publicPart, props, node);
  addSecretContent(secret, props, node);
  // Both parts' content in one config, their checks repeated (a path in both is refused), built once.
  const full = new IgnitionConfig().addContentOf(publicPart).addContentOf(secret);

  const secretPart = secret.render();
  const secretPartHash = ignitionHash(secretPart);
  publicPart.mergeConfig({ source: props.secretPartUrl(node), hash: secretPartHash });
  const pointer = publicPart.render({ maxBytes: props.userDataLimitBytes });
  return { node, pointer, secretPart, secretPartHash, full: full.render() };
}

const kubernetesRelease = (spec: PlatformSpec) => KUBERNETES_RELEASES[spec.config.versions.kubernetes];
const isFirstController = (node: NodeSpec) => node.role === 'controller' && node.index === 1;
/** The snapshot this node restores when it creates the cluster: only the first controller, only when it may initialize. */
const restoreFor = (props: NodeConfigsProps, node: NodeSpec) => (isFirstController(node) && props.initialize ? props.restoreEtcdSnapshot : undefined);

/** Content with no secret in it: units, scripts, policies, the sysext transfer. */
function addPublicContent(cfg: IgnitionConfig, props: NodeConfigsProps, node: NodeSpec): void {
  addNodeIdentity(cfg, props, node);
  addHostLockdown(cfg, props, node);
  addOsServices(cfg);
  addKubernetesSysext(cfg, props);
  addKubeadmBootstrap(cfg, props, node);
  addBootstrapManifests(cfg, props, node);
  if (node.role === 'controller') addControlPlanePolicies(cfg, props.spec);
}

/** The hostname, and `/etc/hosts` pointing `api.<domain>` at the private API address when there is one. */
function addNodeIdentity(cfg: IgnitionConfig, props: NodeConfigsProps, node: NodeSpec): void {
  cfg.addFile({ path: '/etc/hostname', contents: { text: `${node.name}\n` }, mode: 0o644 });
  if (props.apiPrivateAddress !== undefined) {
    // Replaces the image's file (overwrite), so it keeps the localhost lines
    // of Flatcar's baselayout; host-network pods get this file from the kubelet.
    cfg.addFile({ path: NODE_PATHS.hosts, mode: 0o644, overwrite: true, contents: { text: hostsFile(props.spec, props.apiPrivateAddress) } });
  }
}

/** No SSH, no self-decided reboots, and the host firewall in front of etcd, kubelet and Ceph. */
function addHostLockdown(cfg: IgnitionConfig, props: NodeConfigsProps, node: NodeSpec): void {
  // No way in: sshd never runs, and no key is ever fetched from the metadata service.
  for (const unit of ['sshd.service', 'sshd.socket', 'coreos-metadata-sshkeys@core.service']) cfg.addUnit({ name: unit, mask: true });
  // Reboots are coordinated in the cluster (one node at a time, draining
  // within the PodDisruptionBudgets); locksmith would reboot on its own.
  cfg.addUnit({ name: 'locksmithd.service', mask: true });
  // The host firewall: etcd, kubelet and Ceph ports closed to all but their
  // clients, loaded before the kubelet (Hetzner's firewall does not filter
  // the private network). Its own unit, so it never flushes Cilium's tables.
  cfg.addFile({ path: HOST_FIREWALL.path, mode: 0o644, contents: { text: renderHostFirewall(hostFirewallModel(node, props.controllerAddresses)) } });
  cfg.addUnit({
    name: HOST_FIREWALL.unit,
    enabled: true,
    contents: unit({
      Unit: ['Description=Keelson host firewall (nftables table inet keelson): etcd, kubelet and Ceph ports', 'DefaultDependencies=no', 'Wants=network-pre.target', 'Before=network-pre.target kubelet.service keelson-kubeadm.service', 'After=local-fs.target'],
      Service: ['Type=oneshot', 'RemainAfterExit=yes', `ExecStart=/usr/sbin/nft -j -f ${HOST_FIREWALL.path}`],
      Install: ['WantedBy=multi-user.target'],
    }),
  });
}

/** Flatcar's update engine and containerd, and the unit that flags a staged OS update for the reboot coordinator. */
function addOsServices(cfg: IgnitionConfig): void {
  cfg.addUnit({ name: 'update-engine.service', enabled: true });
  cfg.addUnit({ name: 'containerd.service', enabled: true });
  cfg.addUnit({
    name: 'keelson-os-reboot-flag.service',
    enabled: true,
    contents: unit({
      Unit: ['Description=Flag a pending Flatcar update for the cluster reboot coordinator', 'After=update-engine.service', 'Requires=update-engine.service'],
      Service: [
        'Type=simple',
        // Blocks until update_engine has staged an update that needs a reboot.
        'ExecStart=/usr/bin/update_engine_client -block_until_reboot_is_needed',
        'ExecStartPost=/usr/bin/touch /run/reboot-required',
        'Restart=on-failure',
        'RestartSec=60',
      ],
      Install: ['WantedBy=multi-user.target'],
    }),
  });

}

/** Kubernetes as a system extension: the pinned image (or its fetch unit) and the patch-update unit and timer. */
function addKubernetesSysext(cfg: IgnitionConfig, props: NodeConfigsProps): void {
  const minor = props.spec.config.versions.kubernetes;
  const release = kubernetesRelease(props.spec);
  // Kubernetes from the sysext bakery: the pinned release at first boot,
  // newer patches of the same minor later, each verified against SHA256SUMS.
  cfg.addDirectory({ path: NODE_PATHS.sysextDir, mode: 0o755 });
  cfg.addFile({
    path: `${NODE_PATHS.sysupdateDir}/kubernetes-v${minor}.conf`,
    mode: 0o644,
    contents: { text: sysupdateTransfer(minor) },
  });
  const image = `${NODE_PATHS.sysextDir}/${kubernetesSysextImage(release)}`;
  cfg.addLink({ path: '/etc/extensions/kubernetes.raw', target: image });
  if (props.kubernetesSysext) {
    // Pinned by hash: Ignition downloads the image in the initramfs and fails
    // the boot on another hash; systemd-sysext merges it at boot through the
    // link above. Ignition writes the stamp as well, so the unit below, which
    // would fetch the image with sysupdate, never runs.
    const { url, sha256 } = props.kubernetesSysext;
    cfg.addFile({ path: image, mode: 0o644, contents: { source: url, hash: `sha256-${sha256}` } });
    cfg.addFile({ path: NODE_PATHS.sysextStamp, mode: 0o644, contents: { text: `${kubernetesSysextImage(release)} sha256 ${sha256}, written by Ignition\n` } });
  }
  cfg.addUnit({
    name: 'keelson-kubernetes-sysext.service',
    enabled: true,
    contents: unit({
      Unit: [
        `Description=Fetch the pinned Kubernetes v${release} system extension`,
        'Wants=network-online.target',
        'After=network-online.target',
        // A stamp, not the image file: sysupdate deletes old images after patch updates.
        `ConditionPathExists=!${NODE_PATHS.sysextStamp}`,
      ],
      Service: [
        'Type=oneshot',
        'RemainAfterExit=yes',
        // The transfer's @v is the patch number within the minor release.
        `ExecStart=/usr/lib/systemd/systemd-sysupdate --definitions=${NODE_PATHS.sysupdateDir} update ${release.split('.')[2]}`,
        'ExecStartPost=/usr/bin/systemctl restart systemd-sysext.service',
        'ExecStartPost=/usr/bin/systemctl daemon-reload',
        `ExecStartPost=/usr/bin/mkdir -p ${NODE_PATHS.sysextStamp.replace(/\/[^/]+$/, '')}`,
        `ExecStartPost=/usr/bin/touch ${NODE_PATHS.sysextStamp}`,
        'Restart=on-failure',
        'RestartSec=30',
      ],
      Install: ['WantedBy=multi-user.target'],
    }),
  });
  cfg.addUnit({
    name: 'keelson-kubernetes-update.service',
    contents: unit({
      Unit: ['Description=Stage the newest Kubernetes patch release of this minor', 'Wants=network-online.target', 'After=network-online.target'],
      Service: [
        'Type=oneshot',
        'ExecStart=/usr/bin/sh -c "readlink -f /etc/extensions/kubernetes.raw > /run/keelson-kubernetes.before"',
        `ExecStart=/usr/lib/systemd/systemd-sysupdate --definitions=${NODE_PATHS.sysupdateDir} update`,
        // A new image only takes effect after a reboot, which the cluster coordinates.
        'ExecStartPost=/usr/bin/sh -c "readlink -f /etc/extensions/kubernetes.raw | cmp -s - /run/keelson-kubernetes.before || touch /run/reboot-required"',
      ],
    }),
  });
  cfg.addUnit({
    name: 'keelson-kubernetes-update.timer',
    enabled: true,
    contents: unit({
      Unit: ['Description=Look for Kubernetes patch releases every few hours'],
      Timer: ['OnBootSec=1h', 'OnUnitActiveSec=6h', 'RandomizedDelaySec=2h'],
      Install: ['WantedBy=timers.target'],
    }),
  });

}

/** The kubeadm bootstrap scripts, this node's bootstrap.env and the unit that runs them on first boot. */
function addKubeadmBootstrap(cfg: IgnitionConfig, props: NodeConfigsProps, node: NodeSpec): void {
  // First boot: init or join with kubeadm once the extension is in place.
  // The scripts are the same on every node (packages/ignition/scripts, embedded at build time); what differs is bootstrap.env.
  cfg.addFile({ path: NODE_PATHS.bootstrapScript, mode: 0o755, contents: { text: BOOTSTRAP_SCRIPTS['kubeadm-bootstrap.sh'].text } });
  cfg.addFile({ path: NODE_PATHS.bootstrapLib, mode: 0o644, contents: { text: BOOTSTRAP_SCRIPTS['bootstrap-lib.sh'].text } });
  cfg.addFile({ path: NODE_PATHS.bootstrapEnv, mode: 0o644, contents: { text: bootstrapEnv(props, node) } });
  cfg.addUnit({
    name: 'keelson-kubeadm.service',
    enabled: true,
    contents: unit({
      Unit: [
        `Description=Bring this node into the Kubernetes cluster (${node.role})`,
        'Wants=network-online.target',
        'Requires=coreos-metadata.service keelson-kubernetes-sysext.service containerd.service',
        'After=network-online.target coreos-metadata.service keelson-kubernetes-sysext.service containerd.service',
        // Keyed on success, not on kubelet.conf: kubeadm writes that file before
        // the etcd step, so a failed control-plane join would otherwise stop here.
        `ConditionPathExists=!${NODE_PATHS.joinedStamp}`,
        // The script counts its attempts itself and gives up with exit 75 after the last.
        'StartLimitIntervalSec=0',
      ],
      Service: [
        'Type=oneshot',
        'RemainAfterExit=yes',
        `ExecStart=${NODE_PATHS.bootstrapScript}`,
        'Restart=on-failure',
        'RestartSec=20',
        'RestartPreventExitStatus=75',
        // A backstop above the sum of the script's own bounds (about 2 h with the join lock's hour).
        'TimeoutStartSec=9000',
      ],
      Install: ['WantedBy=multi-user.target'],
    }),
  });

}

/** On the node that creates the cluster: the bootstrap manifests (pod network, CoreDNS, Argo CD) and the unit that applies them in order. */
function addBootstrapManifests(cfg: IgnitionConfig, props: NodeConfigsProps, node: NodeSpec): void {
  const steps = props.bootstrap ?? [];
  if (!(isFirstController(node) && props.initialize && steps.length > 0)) return;
  cfg.addFile({ path: NODE_PATHS.bootstrapManifestsScript, mode: 0o755, contents: { text: BOOTSTRAP_SCRIPTS['bootstrap-manifests.sh'].text } });
  const run = `ExecStart=${NODE_PATHS.bootstrapManifestsScript}`;
  const execs = bootstrapStepExecs(cfg, steps, run);
  cfg.addUnit({
    name: 'keelson-bootstrap-manifests.service',
    enabled: true,
    contents: unit({
      Unit: [
        'Description=Give the cluster this node created its pod network, CoreDNS and Argo CD',
        'Requires=keelson-kubeadm.service',
        'After=keelson-kubeadm.service',
        // Only on the node that ran kubeadm init, and only until it worked once.
        `ConditionPathExists=${NODE_PATHS.initializedStamp}`,
        `ConditionPathExists=!${NODE_PATHS.bootstrappedStamp}`,
        // At most 6 runs of the whole list (each step bounded) within 3 hours; then the unit stays
        // failed, and the node's status (keelson-boot/status-<node>) keeps the step and its error.
        'StartLimitIntervalSec=3h',
        `StartLimitBurst=${BOOTSTRAP_MANIFESTS_MAX_RUNS}`,
      ],
      Service: [
        'Type=oneshot',
        'RemainAfterExit=yes',
        // The script publishes it as the node's max-attempts: a failed last run ends keelson deploy's wait at once.
        `Environment=KEELSON_MAX_ATTEMPTS=${BOOTSTRAP_MANIFESTS_MAX_RUNS}`,
        `ExecStartPre=${NODE_PATHS.bootstrapManifestsScript} begin`,
        // In order; server-side apply is idempotent, so a retry after a partial
        // apply (a custom resource before its CRD is served) converges.
        ...execs,
        `${run} done`,
        `ExecStartPost=/usr/bin/touch ${NODE_PATHS.bootstrappedStamp}`,
        'Restart=on-failure',
        'RestartSec=15',
      ],
      Install: ['WantedBy=multi-user.target'],
    }),
  });
}

/** The unit's ExecStart lines, one or more a step, after checking each step; inline manifests are written as files on the way. */
function bootstrapStepExecs(cfg: IgnitionConfig, steps: NonNullable<NodeConfigsProps['bootstrap']>, run: string): string[] {
  return steps.map((step, i) => {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(step.name)) {
      throw new Error(`renderNodeConfigs: bootstrap step name ${JSON.stringify(step.name)} is not lower-case letters, digits and dashes; it names the file on the node`);
    }
    if ('url' in step) {
      if (!/^https:\/\/\S+$/.test(step.url)) throw new Error(`renderNodeConfigs: bootstrap step ${step.name}: url ${JSON.stringify(step.url)} is not an https URL; pin an upstream manifest by its tag`);
      const sha256 = 'sha256' in step ? step.sha256 : undefined;
      if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`renderNodeConfigs: bootstrap step ${step.name}: sha256 ${JSON.stringify(sha256)} is not 64 lower-case hex digits; pass the first field of \`sha256sum\` of the file at the URL`);
      if ('contents' in step) {
        // Carried: the file is in the secret part (addSecretContent); the node checks its digest again before applying it.
        checkCarried(step);
        return [`${run} apply ${step.name} ${bootstrapStepPath(i, step.name)} ${step.namespace ?? '-'} ${step.sha256}`];
      }
      // `-` for no namespace keeps the digest in its place.
      return [`${run} apply-url ${step.name} ${step.url} ${step.namespace ?? '-'}${sha256 ? ` ${sha256}` : ''}`];
    }
    const path = bootstrapStepPath(i, step.name);
    cfg.addFile({ path, mode: 0o644, contents: { text: step.manifests } });
    const apply = `${run} apply ${step.name} ${path}`;
    if (!step.cleanup) return [apply];
    const { job } = step.cleanup;
    return [apply, `${run} wait-job ${job.namespace} ${job.name} ${BOOTSTRAP_JOB_WAIT_SECONDS}`, `${run} delete ${job.namespace} ${step.cleanup.delete.join(' ')}`];
  }).flat();
}

/** A controller's API server policies: audit, authentication and admission, and the audit log folder. */
function addControlPlanePolicies(cfg: IgnitionConfig, spec: PlatformSpec): void {
  cfg.addFile({ path: NODE_PATHS.auditPolicy, mode: 0o644, contents: { text: auditPolicy() } });
  cfg.addFile({ path: NODE_PATHS.authenticationConfig, mode: 0o644, contents: { text: authenticationConfig() } });
  cfg.addFile({ path: NODE_PATHS.admissionConfig, mode: 0o644, contents: { text: admissionConfig(spec) } });
  cfg.addDirectory({ path: NODE_PATHS.auditLogDir, mode: 0o700 });
}

/** `/etc/hosts` with `api.<domain>` at the private API address. */
const hostsFile = (spec: PlatformSpec, address: string): string =>
  [
    '# Written by Ignition (Keelson): nodes reach the API server privately; public DNS gives api.<domain> to admins.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost',
    `${address}\t${apiEndpoint(spec).split(':')[0]}`,
    '',
  ].join('\n');

/** Keys, certificates and the bootstrap token. */
function addSecretContent(cfg: IgnitionConfig, props: NodeConfigsProps, node: NodeSpec): void {
  const { spec, secrets } = props;
  const secretFile = (path: string, text: string) => cfg.addFile({ path, mode: 0o600, contents: { text } });
  if (node.role === 'controller') {
    // kubeadm issues this node's own certificates (etcd server and peer, API
    // server, kubelet client) from these CAs, with the node's address in them:
    // etcd accepts a peer only when its certificate names the peer's address.
    const pki = NODE_PATHS.pki;
    secretFile(`${pki}/ca.crt`, secrets.kubernetesCa.certPem);
    secretFile(`${pki}/ca.key`, secrets.kubernetesCa.keyPem);
    secretFile(`${pki}/front-proxy-ca.crt`, secrets.frontProxyCa.certPem);
    secretFile(`${pki}/front-proxy-ca.key`, secrets.frontProxyCa.keyPem);
    secretFile(`${pki}/etcd/ca.crt`, secrets.etcdCa.certPem);
    secretFile(`${pki}/etcd/ca.key`, secrets.etcdCa.keyPem);
    secretFile(`${pki}/sa.key`, secrets.serviceAccount.privateKeyPem);
    secretFile(`${pki}/sa.pub`, secrets.serviceAccount.publicKeyPem);
    secretFile(NODE_PATHS.encryptionConfig, encryptionConfig(secrets.encryptionKey));
    if (isFirstController(node) && props.initialize) {
      secretFile(NODE_PATHS.kubeadmInit, initConfig(props, node));
    } else {
      // A reference for verify and rehearse, not an input: on a real cluster a joining controller takes its
      // ClusterConfiguration from the kubeadm-config ConfigMap (what kubeadm init uploaded), never from a file.
      // Public, but kept out of the size-limited pointer.
      cfg.addFile({ path: NODE_PATHS.kubeadmCluster, mode: 0o644, contents: { text: clusterReference(spec) } });
    }
    const restore = restoreFor(props, node);
    if (restore) secretFile(NODE_PATHS.etcdRestoreUrl, `${restore.url}\n`);
  }
  if (isFirstController(node) && props.initialize) {
    // Public, but large (the Argo CD install is about 2 MB, some 200 KB gzip-compressed at level 2): it goes with the
    // secret part, which has no size limit, never into the pointer (user-data: 32 or 64 KiB).
    (props.bootstrap ?? []).forEach((step, i) => {
      if ('contents' in step) cfg.addFile({ path: bootstrapStepPath(i, step.name), mode: 0o644, contents: { text: step.contents } });
    });
  }
  secretFile(NODE_PATHS.kubeadmJoin, joinConfig(spec, secrets, node));
  // Public, but kept out of the size-limited pointer: joiners check the API endpoint against it while they wait.
  cfg.addFile({ path: NODE_PATHS.clusterCa, mode: 0o644, contents: { text: secrets.kubernetesCa.certPem } });
}

/** The kubelet configuration every node gets (the last document of its kubeadm config). */
export const kubeletConfig = (): KubeletConfiguration => ({
  apiVersion: 'kubelet.config.k8s.io/v1beta1',
  kind: 'KubeletConfiguration',
  cgroupDriver: 'systemd',
  authentication: { anonymous: { enabled: false }, webhook: { enabled: true } },
  authorization: { mode: 'Webhook' },
  rotateCertificates: true,
  // The kubelet asks the cluster CA for its serving certificate; the maintenance
  // layer's approver signs off requests from this cluster's nodes only.
  serverTLSBootstrap: true,
  tlsMinVersion: 'VersionTLS12',
  protectKernelDefaults: false,
});

const nodeRegistration = (node: NodeSpec) => ({
  name: node.name,
  criSocket: 'unix:///run/containerd/containerd.sock',
  // Controllers also run workloads (DESIGN.md: most small-cluster nodes are etcd members).
  taints: [],
  kubeletExtraArgs: [
    { name: 'node-ip', value: NODE_IP },
    { name: 'node-labels', value: Object.entries(node.labels).map(([k, v]) => `${k}=${v}`).join(',') },
  ],
});

function clusterConfig(spec: PlatformSpec): ClusterConfiguration {
  const endpoint = apiEndpoint(spec);
  const vol = (name: string, path: string, readOnly: boolean, pathType: 'File' | 'Directory' | 'DirectoryOrCreate') => ({ name, hostPath: path, mountPath: path, readOnly, pathType });
  return {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'ClusterConfiguration',
    clusterName: spec.config.cluster.name,
    kubernetesVersion: `v${kubernetesRelease(spec)}`,
    controlPlaneEndpoint: endpoint,
    certificatesDir: '/etc/kubernetes/pki',
    encryptionAlgorithm: spec.config.pki.keyAlgorithm === 'ecdsa-p384' ? 'ECDSA-P384' : 'ECDSA-P256',
    // The node's own certificates follow the same lifetime as the bundle's leaves (pki.leafValidityDays).
    certificateValidityPeriod: `${spec.config.pki.leafValidityDays * 24}h`,
    networking: { ...CLUSTER_NETWORK },
    etcd: {
      local: {
        dataDir: '/var/lib/etcd',
        // kubeadm already turns on client and peer certificate authentication.
        extraArgs: [{ name: 'tls-min-version', value: 'TLS1.3' }],
      },
    },
    apiServer: {
      certSANs: [endpoint.split(':')[0]],
      extraArgs: [
        { name: 'encryption-provider-config', value: NODE_PATHS.encryptionConfig },
        { name: 'audit-policy-file', value: NODE_PATHS.auditPolicy },
        { name: 'audit-log-path', value: `${NODE_PATHS.auditLogDir}/audit.log` },
        { name: 'audit-log-maxage', value: '30' },
        { name: 'audit-log-maxbackup', value: '10' },
        { name: 'audit-log-maxsize', value: '100' },
        // Anonymous requests only for health checks (the load balancer's and kubelet probes).
        { name: 'authentication-config', value: NODE_PATHS.authenticationConfig },
        // Pod Security for namespaces that carry no label: baseline (no host network, ports or paths).
        { name: 'admission-control-config-file', value: NODE_PATHS.admissionConfig },
        { name: 'tls-min-version', value: 'VersionTLS12' },
        { name: 'profiling', value: 'false' },
        // Verify kubelets' serving certificates (issued through serverTLSBootstrap).
        { name: 'kubelet-certificate-authority', value: `${NODE_PATHS.pki}/ca.crt` },
      ],
      extraVolumes: [
        vol('encryption', '/etc/kubernetes/encryption', true, 'Directory'),
        vol('audit-policy', '/etc/kubernetes/audit', true, 'Directory'),
        vol('audit-log', NODE_PATHS.auditLogDir, false, 'DirectoryOrCreate'),
        vol('authn', '/etc/kubernetes/authn', true, 'Directory'),
        vol('admission', '/etc/kubernetes/admission', true, 'Directory'),
      ],
    },
    controllerManager: { extraArgs: [{ name: 'profiling', value: 'false' }] },
    scheduler: { extraArgs: [{ name: 'profiling', value: 'false' }] },
  };
}

function initConfig(props: NodeConfigsProps, node: NodeSpec): string {
  const { spec, secrets } = props;
  const init: InitConfiguration = {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'InitConfiguration',
    bootstrapTokens: [
      {
        token: secrets.bootstrapToken,
        description: 'Keelson node bootstrap (secrets bundle kubeadm/bootstrap-token)',
        // Valid a day after the cluster is made; keelson deploy and upgrade
        // re-apply it (the same token, a new expiration) before nodes join, so
        // the token in every node's Ignition is useless a day after a rollout.
        // It only ever lets a node ask for a kubelet certificate.
        ttl: '24h',
        usages: ['signing', 'authentication'],
        groups: ['system:bootstrappers:kubeadm:default-node-token'],
      },
    ],
    nodeRegistration: nodeRegistration(node),
    localAPIEndpoint: { advertiseAddress: NODE_IP, bindPort: 6443 },
    // The CAs, service-account keys and encryption key come from the secrets bundle, so
    // nothing is uploaded: upload-certs is a no-op without --upload-certs. It is not
    // skipped by name, because kubeadm 1.36 refuses to skip it ("missing [upload-certs]
    // phase(s) needed by show-join-command"), as the kubeadm init --dry-run test shows.
    skipPhases: (props.replaceKubeadmAddons ?? []).map((a) => `addon/${a}`),
  };
  return renderKubeadmConfig([init, clusterConfig(spec), kubeletConfig()]);
}

/**
 * The cluster-wide documents of {@link initConfig}, from the same functions,
 * so verify and rehearse read the control plane's flags from a render where
 * every node joins exactly as kubeadm init would have used them.
 */
function clusterReference(spec: PlatformSpec): string {
  return renderKubeadmConfig([clusterConfig(spec), kubeletConfig()]);
}

function joinConfig(spec: PlatformSpec, secrets: ClusterSecrets, node: NodeSpec): string {
  const join: JoinConfiguration = {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'JoinConfiguration',
    nodeRegistration: nodeRegistration(node),
    discovery: {
      bootstrapToken: {
        token: secrets.bootstrapToken,
        apiServerEndpoint: apiEndpoint(spec),
        caCertHashes: [caCertHash(secrets.kubernetesCa.certPem)],
      },
    },
    ...(node.role === 'controller' ? { controlPlane: { localAPIEndpoint: { advertiseAddress: NODE_IP, bindPort: 6443 } } } : {}),
  };
  return renderKubeadmConfig([join]);
}

/**
 * Secrets encrypted at rest with `secretbox` (XSalsa20-Poly1305); `identity`
 * last so Secrets written before encryption stay readable.
 *
 * @see https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/
 */
function encryptionConfig(key: string): string {
  return yamlOf({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: [{ resources: ['secrets'], providers: [{ secretbox: { keys: [{ name: 'keelson-1', secret: key }] } }, { identity: {} }] }],
  });
}

/**
 * Audit policy: metadata of every request, never the bodies of Secrets,
 * nothing for health checks and the noisy read-only system watches.
 *
 * @see https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
 */
function auditPolicy(): string {
  return yamlOf({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [
      { level: 'None', nonResourceURLs: ['/healthz*', '/livez*', '/readyz*', '/version'] },
      { level: 'None', users: ['system:kube-proxy'], verbs: ['watch'] },
      // Bodies that carry credentials are logged as metadata only.
      {
        level: 'Metadata',
        resources: [
          { group: '', resources: ['secrets', 'configmaps', 'serviceaccounts/token'] },
          { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
          { group: 'certificates.k8s.io', resources: ['certificatesigningrequests'] },
        ],
      },
      { level: 'Request', verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] },
      { level: 'Metadata' },
    ],
  });
}

/**
 * Anonymous access only to the health endpoints (the load balancer's check
 * and kubeadm's probes) and to kube-public/cluster-info, which kubeadm's
 * token discovery reads before a joining node has credentials; every other
 * anonymous request is refused.
 *
 * @see https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join/#token-based-discovery-with-ca-pinning
 * @see https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-authenticator-configuration
 */
function authenticationConfig(): string {
  return yamlOf({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AuthenticationConfiguration',
    anonymous: {
      enabled: true,
      conditions: [
        { path: '/livez' },
        { path: '/readyz' },
        { path: '/healthz' },
        // kubeadm join's token discovery reads the signed cluster-info ConfigMap anonymously.
        { path: '/api/v1/namespaces/kube-public/configmaps/cluster-info' },
      ],
    },
  });
}

/**
 * The API server's admission configuration: Pod Security Admission enforces
 * `baseline` on every namespace without its own label (so `hostNetwork`,
 * host ports and host paths are refused there) and audits and warns against
 * `restricted`. Namespaces the platform creates carry their own level;
 * `kube-system` (control plane, CNI agents) is exempt.
 *
 * @see https://kubernetes.io/docs/tasks/configure-pod-container/enforce-standards-admission-controller/
 */
function admissionConfig(spec: PlatformSpec): string {
  const version = `v${spec.config.versions.kubernetes}`;
  return yamlOf({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins: [
      {
        name: 'PodSecurity',
        configuration: {
          apiVersion: 'pod-security.admission.config.k8s.io/v1',
          kind: 'PodSecurityConfiguration',
          defaults: { enforce: 'baseline', 'enforce-version': version, audit: 'restricted', 'audit-version': version, warn: 'restricted', 'warn-version': version },
          exemptions: { usernames: [], runtimeClasses: [], namespaces: ['kube-system'] },
        },
      },
    ],
  });
}

/**
 * A systemd-sysupdate transfer for the bakery's Kubernetes images of one
 * minor release; sysupdate verifies each download against SHA256SUMS.
 *
 * @see https://www.freedesktop.org/software/systemd/man/latest/sysupdate.d.html
 */
function sysupdateTransfer(minor: string): string {
  // @v is the patch number: the transfer never leaves its minor release.
  const pattern = `MatchPattern=kubernetes-v${minor}.@v-${SYSEXT_ARCH}.raw`;
  return ini({
    // The bakery does not sign SHA256SUMS; the hash list comes over HTTPS.
    Transfer: ['Verify=false'],
    Source: ['Type=url-file', `Path=${SYSEXT_BASE_URL}/`, pattern],
    Target: ['InstancesMax=2', 'Type=regular-file', `Path=${NODE_PATHS.sysextDir}`, pattern, 'CurrentSymlink=/etc/extensions/kubernetes.raw'],
  });
}

/**
 * The first-boot script's per-node facts (`/etc/keelson/bootstrap.env`):
 * public values only, each `: "${NAME:=value}"` so a test can override it.
 * The script itself (`scripts/kubeadm-bootstrap.sh`) is the same on every node.
 */
function bootstrapEnv(props: NodeConfigsProps, node: NodeSpec): string {
  const init = isFirstController(node) && props.initialize;
  const restore = restoreFor(props, node);
  const values: Array<[string, string]> = [
    ['KEELSON_NODE', node.name],
    ['KEELSON_ROLE', node.role],
    ['KEELSON_ACTION', init ? 'init' : 'join'],
    ['KEELSON_API_ENDPOINT', apiEndpoint(props.spec)],
    ['KEELSON_NODE_NETWORK', NODE_NETWORK_CIDR],
    ['KEELSON_ETCD_RESTORE', restore ? 'yes' : 'no'],
    ...(restore ? ([['KEELSON_ETCD_RESTORE_IMAGE', ETCD_RESTORE_IMAGE], ['KEELSON_ETCD_RESTORE_SHA256', restore.sha256 ?? '']] as Array<[string, string]>) : []),
  ];
  for (const [name, value] of values) {
    if (!/^[A-Za-z0-9.:/@_-]*$/.test(value)) throw new Error(`renderNodeConfigs: ${name} ${JSON.stringify(value)} for ${node.name} has characters the first-boot script does not take`);
  }
  return [
    `# Keelson first boot of ${node.name}: read by ${NODE_PATHS.bootstrapScript}.`,
    init
      ? '# KEELSON_ACTION=init: this render creates the cluster (the first deploy); the node still joins if an API server already answers.'
      : '# KEELSON_ACTION=join: the node waits for the cluster behind the load balancer and never creates one.',
    ...values.map(([name, value]) => `: "\${${name}:=${value}}"`),
    '',
  ].join('\n');
}

/** Renders an INI-style systemd file from sections of `Key=value` lines. */
function ini(sections: Record<string, readonly string[]>): string {
  return `${Object.entries(sections)
    .map(([name, lines]) => `[${name}]\n${lines.join('\n')}\n`)
    .join('\n')}`;
}

const unit = ini;
