import YAML from 'yaml';
import { NODE_NETWORK_CIDR, type BootstrapStep, type ClusterSecrets, type NodeSpec, type PlatformSpec } from '@keelson/platform-spec';
import { DIGITALOCEAN_USER_DATA_LIMIT, IgnitionConfig, ignitionHash } from './builder';
import { caCertHash, renderKubeadmConfig, type ClusterConfiguration, type InitConfiguration, type JoinConfiguration, type KubeletConfiguration } from './kubeadm';
import { CLUSTER_NETWORK, ETCD_RESTORE_IMAGE, KUBERNETES_RELEASES, SYSEXT_ARCH, SYSEXT_BASE_URL, kubernetesSysextImage } from './pins';

/** Placeholder the bootstrap script replaces with the node's private address from the metadata service. */
export const NODE_IP = '@NODE_IP@';

/** Where things live on a node. */
export const NODE_PATHS = {
  bootstrapScript: '/opt/keelson/bin/kubeadm-bootstrap',
  joinedStamp: '/var/lib/keelson/kubeadm-joined',
  sysextStamp: '/var/lib/keelson/kubernetes-sysext-installed',
  kubeadmInit: '/etc/keelson/kubeadm-init.yaml',
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
   * Whether the first controller may create a new cluster (`kubeadm init`)
   * when no API server answers. Node replacements render with `false`, so a
   * replaced first controller always joins.
   * @default true
   */
  readonly initialize?: boolean;
  /**
   * What the first controller applies, in order, right after it created the
   * cluster, before any pod network exists: the pod network and CoreDNS,
   * Argo CD and its root Application, which then take over. Public content
   * only (no secret). Applied with server-side apply; the whole list is
   * retried until it succeeds once.
   * @default - nothing is applied
   */
  readonly bootstrap?: readonly BootstrapStep[];
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
   * restores. Only with `initialize` left `true`. The cluster must be
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
   * The droplet's user-data: only public content, plus an `ignition.config.merge`
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
  checkRestore(props);
  checkKubernetesSysext(props);
  return props.spec.topology.nodes.map((node) => renderNode(props, node));
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

function renderNode(props: NodeConfigsProps, node: NodeSpec): NodeIgnition {
  const publicPart = new IgnitionConfig();
  const secret = new IgnitionConfig();
  addPublicContent(publicPart, props, node);
  addSecretContent(secret, props, node);

  const secretPart = secret.render();
  const secretPartHash = ignitionHash(secretPart);
  publicPart.mergeConfig({ source: props.secretPartUrl(node), hash: secretPartHash });
  const pointer = publicPart.render({ maxBytes: DIGITALOCEAN_USER_DATA_LIMIT });

  const full = new IgnitionConfig();
  addPublicContent(full, props, node);
  addSecretContent(full, props, node);
  return { node, pointer, secretPart, secretPartHash, full: full.render() };
}

const kubernetesRelease = (spec: PlatformSpec) => KUBERNETES_RELEASES[spec.config.versions.kubernetes];
const isFirstController = (node: NodeSpec) => node.role === 'controller' && node.index === 1;
/** The snapshot this node restores when it creates the cluster: only the first controller, only when it may initialize. */
const restoreFor = (props: NodeConfigsProps, node: NodeSpec) => (isFirstController(node) && props.initialize !== false ? props.restoreEtcdSnapshot : undefined);

/** Content with no secret in it: units, scripts, policies, the sysext transfer. */
function addPublicContent(cfg: IgnitionConfig, props: NodeConfigsProps, node: NodeSpec): void {
  const { spec } = props;
  const minor = spec.config.versions.kubernetes;
  const release = kubernetesRelease(spec);

  cfg.addFile({ path: '/etc/hostname', contents: { text: `${node.name}\n` }, mode: 0o644 });

  // No way in: sshd never runs, and no key is ever fetched from the metadata service.
  for (const unit of ['sshd.service', 'sshd.socket', 'coreos-metadata-sshkeys@core.service']) cfg.addUnit({ name: unit, mask: true });
  // Reboots are coordinated in the cluster (one node at a time, draining
  // within the PodDisruptionBudgets); locksmith would reboot on its own.
  cfg.addUnit({ name: 'locksmithd.service', mask: true });
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

  // First boot: init or join with kubeadm once the extension is in place.
  cfg.addFile({ path: NODE_PATHS.bootstrapScript, mode: 0o755, contents: { text: bootstrapScript(props, node) } });
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
      ],
      Service: ['Type=oneshot', 'RemainAfterExit=yes', `ExecStart=${NODE_PATHS.bootstrapScript}`, 'Restart=on-failure', 'RestartSec=20'],
      Install: ['WantedBy=multi-user.target'],
    }),
  });

  const steps = props.bootstrap ?? [];
  if (isFirstController(node) && props.initialize !== false && steps.length > 0) {
    const kubectlBase = '/usr/bin/kubectl --kubeconfig=/etc/kubernetes/admin.conf';
    const kubectl = `${kubectlBase} apply --server-side --force-conflicts --field-manager=keelson-bootstrap`;
    const execs = steps.map((step, i) => {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(step.name)) {
        throw new Error(`renderNodeConfigs: bootstrap step name ${JSON.stringify(step.name)} is not lower-case letters, digits and dashes; it names the file on the node`);
      }
      if ('url' in step) {
        if (!/^https:\/\/\S+$/.test(step.url)) throw new Error(`renderNodeConfigs: bootstrap step ${step.name}: url ${JSON.stringify(step.url)} is not an https URL; pin an upstream manifest by its tag`);
        return [`ExecStart=${kubectl}${step.namespace ? ` --namespace=${step.namespace}` : ''} -f ${step.url}`];
      }
      const path = `${NODE_PATHS.bootstrapDir}/${String(i + 1).padStart(2, '0')}-${step.name}.yaml`;
      cfg.addFile({ path, mode: 0o644, contents: { text: step.manifests } });
      const apply = `ExecStart=${kubectl} -f ${path}`;
      if (!step.cleanup) return [apply];
      const { job } = step.cleanup;
      return [
        apply,
        `ExecStart=${kubectlBase} wait --namespace=${job.namespace} --for=condition=complete job/${job.name} --timeout=30m`,
        `ExecStart=${kubectlBase} delete --ignore-not-found --wait=false --namespace=${job.namespace} ${step.cleanup.delete.join(' ')}`,
      ];
    }).flat();
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
        ],
        Service: [
          'Type=oneshot',
          'RemainAfterExit=yes',
          // In order; server-side apply is idempotent, so a retry after a partial
          // apply (a custom resource before its CRD is served) converges.
          ...execs,
          `ExecStartPost=/usr/bin/touch ${NODE_PATHS.bootstrappedStamp}`,
          'Restart=on-failure',
          'RestartSec=15',
        ],
        Install: ['WantedBy=multi-user.target'],
      }),
    });
  }

  if (node.role === 'controller') {
    cfg.addFile({ path: NODE_PATHS.auditPolicy, mode: 0o644, contents: { text: auditPolicy() } });
    cfg.addFile({ path: NODE_PATHS.authenticationConfig, mode: 0o644, contents: { text: authenticationConfig() } });
    cfg.addFile({ path: NODE_PATHS.admissionConfig, mode: 0o644, contents: { text: admissionConfig(spec) } });
    cfg.addDirectory({ path: NODE_PATHS.auditLogDir, mode: 0o700 });
  }
}

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
    if (isFirstController(node) && props.initialize !== false) secretFile(NODE_PATHS.kubeadmInit, initConfig(props, node));
    const restore = restoreFor(props, node);
    if (restore) secretFile(NODE_PATHS.etcdRestoreUrl, `${restore.url}\n`);
  }
  secretFile(NODE_PATHS.kubeadmJoin, joinConfig(spec, secrets, node));
}

const kubeletConfig = (): KubeletConfiguration => ({
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
    // The CAs, service-account keys and encryption key come from the secrets bundle.
    skipPhases: ['upload-certs', ...(props.replaceKubeadmAddons ?? []).map((a) => `addon/${a}`)],
  };
  return renderKubeadmConfig([init, clusterConfig(spec), kubeletConfig()]);
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
  return YAML.stringify({
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
  return YAML.stringify({
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
  return YAML.stringify({
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
  return YAML.stringify({
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

/** The first-boot script: which kubeadm command runs, with the node's address filled in. */
function bootstrapScript(props: NodeConfigsProps, node: NodeSpec): string {
  const mayInit = isFirstController(node) && props.initialize !== false;
  const restore = restoreFor(props, node);
  const endpoint = apiEndpoint(props.spec);
  // Controllers join one after another: concurrent control-plane joins race on
  // etcd member changes (etcd refuses a reconfiguration until it has been
  // healthy for a while). Each later controller waits its turn.
  const turnDelaySeconds = node.role === 'controller' ? (node.index - 1) * 90 : 0;
  return [
    '#!/bin/bash',
    `# Keelson first boot for ${node.name} (${node.role}): join the cluster${mayInit ? `, or create it${restore ? ' from an etcd snapshot' : ''} when no API server has ever answered` : ''}.`,
    '# Runs until it succeeds (keelson-kubeadm.service restarts it); a failed attempt is reset before the next.',
    'set -euo pipefail',
    'umask 077',
    `done_stamp=${NODE_PATHS.joinedStamp}`,
    'work=/run/keelson/kubeadm.yaml',
    'trap \'rm -f "${work}"\' EXIT',
    '# The private address: from the metadata coreos-metadata.service writes on DigitalOcean,',
    `# else the node's address in the private network (${NODE_NETWORK_CIDR}; Hetzner's metadata has none).`,
    'if [ -f /run/metadata/flatcar ]; then source /run/metadata/flatcar; fi',
    'ip="${COREOS_DIGITALOCEAN_IPV4_PRIVATE_0:-}"',
    `[ -n "\${ip}" ] || ip=$(ip -4 -o addr show to ${NODE_NETWORK_CIDR} | awk '{ split($4, a, "/"); print a[1]; exit }')`,
    '[ -n "${ip}" ] || { echo "kubeadm-bootstrap: coreos-metadata wrote no private IPv4 address and no interface is in the node network" >&2; exit 1; }',
    'mkdir -p /run/keelson',
    `config=${NODE_PATHS.kubeadmJoin}`,
    ...(mayInit ? ['command=join'] : []),
    ...(mayInit
      ? [
          '# A new cluster is created only when, for three minutes, nothing at all answers on the API',
          '# endpoint: any HTTP status (even 401 or 500) means a cluster exists and this node joins it.',
          'answered=no',
          'for attempt in $(seq 1 18); do',
          `  code=$(curl --silent --insecure --output /dev/null --max-time 5 --write-out '%{http_code}' https://${endpoint}/livez || true)`,
          '  if [ "${code}" != "000" ]; then answered=yes; break; fi',
          '  sleep 10',
          'done',
          'if [ "${answered}" = no ]; then',
          `  config=${NODE_PATHS.kubeadmInit}`,
          '  command=init',
          'fi',
        ]
      : []),
    ...(turnDelaySeconds > 0 ? [`[ -e /run/keelson/waited ] || { sleep ${turnDelaySeconds}; touch /run/keelson/waited; }`] : []),
    `sed "s/${NODE_IP}/\${ip}/g" "\${config}" > "\${work}"`,
    '# On failure, kubeadm reset undoes the attempt (and removes an etcd member it added) before the retry.',
    ...(mayInit
      ? [
          'if [ "${command}" = init ]; then',
          ...(restore
            ? [
                ...etcdRestoreLines(node, restore).map((line) => `  ${line}`),
                // kubeadm init's preflight refuses a non-empty /var/lib/etcd; told to ignore that
                // one check, it starts etcd on the restored data.
                // @see https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-init/#options (--ignore-preflight-errors)
                // @see https://kubernetes.io/docs/reference/setup-tools/kubeadm/implementation-details/#preflight-checks
                `  kubeadm init --config "\${work}" --skip-token-print --ignore-preflight-errors=DirAvailable--var-lib-etcd || { kubeadm reset --force; rm -rf ${NODE_PATHS.etcdDataDir}; exit 1; }`,
              ]
            : ['  kubeadm init --config "${work}" --skip-token-print || { kubeadm reset --force; exit 1; }']),
          `  mkdir -p "$(dirname ${NODE_PATHS.initializedStamp})" && touch ${NODE_PATHS.initializedStamp}`,
          'else',
          '  kubeadm join --config "${work}" || { kubeadm reset --force; exit 1; }',
          'fi',
        ]
      : ['kubeadm join --config "${work}" || { kubeadm reset --force; exit 1; }']),
    '# Joined: the configs with the bootstrap token are not needed any more.',
    `rm -f ${NODE_PATHS.kubeadmInit} ${NODE_PATHS.kubeadmJoin}${restore ? ` ${NODE_PATHS.etcdRestoreUrl}` : ''}`,
    'mkdir -p "$(dirname "${done_stamp}")"',
    'touch "${done_stamp}"',
    '',
  ].join('\n');
}

/** The container `etcdutl` runs in; `ctr run --rm` removes it, a left-over from a crash is removed first. */
const ETCD_RESTORE_CONTAINER = 'keelson-etcd-restore';

/**
 * Script lines that put an etcd snapshot into `/var/lib/etcd` as a new
 * single-member cluster of this node, for `kubeadm init` to start etcd on:
 * download (retrying), check the SHA-256 when given, then `etcdutl snapshot
 * restore` with the member name and peer URL kubeadm's etcd uses (the node
 * name, `https://<ip>:2380`). Flatcar has no etcd tools, so etcdutl runs from
 * the pinned etcd image through containerd's `ctr`, with /var/lib mounted.
 * Every failure removes what it left (the download, a half-restored data
 * directory) and exits 1, so the unit's retry starts clean.
 *
 * @see https://etcd.io/docs/v3.6/op-guide/recovery/#restoring-a-cluster
 * @see https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/#restoring-an-etcd-cluster
 * @see https://github.com/containerd/containerd/blob/main/cmd/ctr/commands/run/run.go (ctr run [flags] IMAGE ID COMMAND...)
 */
function etcdRestoreLines(node: NodeSpec, restore: EtcdSnapshotSource): string[] {
  const { etcdDataDir: dataDir, etcdRestoreSnapshot: snapshot, etcdRestoreUrl: urlFile } = NODE_PATHS;
  const peer = 'https://${ip}:2380';
  return [
    '# Restore etcd from the snapshot first; kubeadm init then finds etcd\'s data in place.',
    `restore_failed() { echo "kubeadm-bootstrap: $1" >&2; rm -rf ${dataDir} ${snapshot}; exit 1; }`,
    `rm -rf ${dataDir} ${snapshot}`,
    `mkdir -p "$(dirname ${snapshot})"`,
    `snapshot_url=$(cat ${urlFile})`,
    `curl --fail --silent --show-error --location --retry 10 --retry-delay 10 --retry-all-errors --connect-timeout 10 --output ${snapshot} "\${snapshot_url}" || restore_failed "could not download the etcd snapshot from the link in ${urlFile} (links expire 7 days after keelson synth; synth with --restore-etcd again and redeploy)"`,
    ...(restore.sha256
      ? [
          `actual=$(sha256sum ${snapshot} | cut -d ' ' -f 1)`,
          `[ "\${actual}" = ${restore.sha256} ] || restore_failed "the etcd snapshot's sha256 is \${actual}, not ${restore.sha256} (--restore-etcd-sha256); refusing to restore it: check the object key and the hash, synth again and redeploy"`,
        ]
      : []),
    `ctr -n k8s.io image pull ${ETCD_RESTORE_IMAGE} >/dev/null || restore_failed "could not pull ${ETCD_RESTORE_IMAGE} for etcdutl"`,
    `ctr -n k8s.io containers delete ${ETCD_RESTORE_CONTAINER} >/dev/null 2>&1 || true`,
    [
      `ctr -n k8s.io run --rm --mount type=bind,src=/var/lib,dst=/var/lib,options=rbind:rw ${ETCD_RESTORE_IMAGE} ${ETCD_RESTORE_CONTAINER}`,
      `etcdutl snapshot restore ${snapshot} --data-dir ${dataDir} --name ${node.name} --initial-cluster "${node.name}=${peer}" --initial-advertise-peer-urls "${peer}"`,
      `|| restore_failed "etcdutl could not restore the snapshot into ${dataDir}"`,
    ].join(' '),
    `rm -f ${snapshot}`,
  ];
}

/** Renders an INI-style systemd file from sections of `Key=value` lines. */
function ini(sections: Record<string, readonly string[]>): string {
  return `${Object.entries(sections)
    .map(([name, lines]) => `[${name}]\n${lines.join('\n')}\n`)
    .join('\n')}`;
}

const unit = ini;
