// The encryption details the channel audit does not read: Ceph's kernel
// clients in secure mode, Secrets encrypted at rest, TLS floors, and joins
// that pin the cluster CA.
import YAML from 'yaml';
import { ignitionFileText } from './rendered';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type KubeadmDocument, type Loose, type Manifest, type NodeInfo } from './types';

/** A kubeadm `extraArgs` value (v1beta4 list or v1beta3 map). */
function arg(extraArgs: unknown, name: string): string | undefined {
  if (Array.isArray(extraArgs)) return (extraArgs.find((a) => isRecord(a) && a.name === name) as { value?: string } | undefined)?.value;
  return isRecord(extraArgs) ? (extraArgs[name] as string | undefined) : undefined;
}

/** The `ms_mode` of a comma-separated option string, or undefined. */
const msMode = (options: unknown) => String(options ?? '').split(',').map((o) => o.trim()).find((o) => o.startsWith('ms_mode='))?.slice('ms_mode='.length);

const GO_TLS = ['VersionTLS10', 'VersionTLS11', 'VersionTLS12', 'VersionTLS13'];
const ETCD_TLS = ['TLS1.0', 'TLS1.1', 'TLS1.2', 'TLS1.3'];
const below12 = (value: string | undefined, scale: string[]) => value !== undefined && scale.indexOf(value) < 2;

/**
 * Encryption details, on the desired state and the nodes:
 * - every RBD StorageClass maps with `ms_mode=secure` (`mapOptions`), and
 *   CephFS mounts with it (the StorageClass's `kernelMountOptions`, else the
 *   CephCluster's `csi.cephfs.kernelMountOptions`): the kernel clients
 *   otherwise talk msgr1 or crc mode, in plaintext;
 * - the API server encrypts Secrets at rest: `encryption-provider-config`
 *   names a file every controller writes, and its first provider for
 *   `secrets` is not `identity`;
 * - no TLS floor below 1.2 (API server `tls-min-version`, etcd
 *   `tls-min-version`, kubelet `tlsMinVersion`);
 * - every kubeadm join by bootstrap token pins the cluster CA
 *   (`caCertHashes`), never `unsafeSkipCAVerification`.
 *
 * @see https://rook.io/docs/rook/v1.20/CRDs/Cluster/ceph-cluster-crd/#network-configuration-settings
 * @see https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/
 * @see https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join/#token-based-discovery-with-ca-pinning
 */
export function checkEncryptionDetails(manifests: readonly Manifest[], nodes: readonly NodeInfo[]): CheckResult {
  const findings: Finding[] = [];
  const cephCluster = manifests.find((m) => m.object.kind === 'CephCluster');
  const classes = manifests.filter((m) => m.object.kind === 'StorageClass' && /\.(rbd|cephfs)\.csi\.ceph\.com$/.test(String((m.object as Loose).provisioner)));
  for (const { file, object } of classes) {
    const params = ((object as Loose).parameters ?? {}) as Record<string, string>;
    if (String((object as Loose).provisioner).endsWith('.rbd.csi.ceph.com')) {
      const mode = msMode(params.mapOptions);
      if (mode !== 'secure') findings.push({ file, message: `${describe(object)}: parameters.mapOptions ${mode ? `sets ms_mode=${mode}` : 'sets no ms_mode'}: the kernel RBD client ${mode ? 'does not use msgr2 secure mode' : 'defaults to msgr1 (legacy)'}, in plaintext; set mapOptions: ms_mode=secure` });
    } else if (params.mounter !== 'fuse') {
      const own = msMode(params.kernelMountOptions);
      const cluster = msMode((cephCluster?.object.spec as Loose)?.csi?.cephfs?.kernelMountOptions);
      const mode = own ?? cluster;
      if (mode !== 'secure') findings.push({ file: own ? file : (cephCluster?.file ?? file), message: `${describe(object)}: CephFS kernel mounts ${mode ? `use ms_mode=${mode}${own ? '' : ` (${cephCluster ? describe(cephCluster.object) : 'the CephCluster'} csi.cephfs.kernelMountOptions)`}` : `set no ms_mode (neither its kernelMountOptions nor ${cephCluster ? describe(cephCluster.object) : 'the CephCluster'} csi.cephfs.kernelMountOptions)`}: file traffic is not in msgr2 secure mode; set csi.cephfs.kernelMountOptions: ms_mode=secure on the CephCluster` });
    }
  }

  const docs = (kind: string) => nodes.flatMap((n) => n.kubeadm.filter((d) => d.kind === kind).map((d) => ({ node: n, doc: d as KubeadmDocument & Record<string, Loose> })));
  const controllers = nodes.filter((n) => n.role === 'controller');
  const cluster = docs('ClusterConfiguration')[0];
  if (cluster) {
    const file = cluster.node.file;
    const configPath = arg(cluster.doc.apiServer?.extraArgs, 'encryption-provider-config');
    if (!configPath) findings.push({ file, message: 'ClusterConfiguration apiServer.extraArgs has no encryption-provider-config: Secrets are stored in etcd (and its snapshots) in plaintext; render an EncryptionConfiguration and pass it' });
    else {
      for (const n of controllers) {
        const text = ignitionFileText(n.ignition, configPath);
        if (text === undefined) {
          findings.push({ file: n.file, message: `node ${n.name}: the API server reads ${configPath} (encryption-provider-config), which its Ignition does not write: the API server does not start; write it on every controller` });
          continue;
        }
        const config = YAML.parse(text) as Loose;
        const forSecrets = asArray<Loose>(config?.resources).find((r) => asArray<string>(r?.resources).includes('secrets'));
        const first = Object.keys(asArray<Loose>(forSecrets?.providers)[0] ?? {})[0];
        if (!first || first === 'identity') findings.push({ file: n.file, message: `node ${n.name}: ${configPath} ${forSecrets ? `lists ${first ?? 'no provider'} first for secrets` : 'does not cover secrets'}: new Secrets are written to etcd in plaintext; put secretbox (or aescbc, kms) first and identity last` });
      }
    }
    const apiTls = arg(cluster.doc.apiServer?.extraArgs, 'tls-min-version');
    if (below12(apiTls, GO_TLS)) findings.push({ file, message: `ClusterConfiguration apiServer tls-min-version ${apiTls} allows TLS below 1.2; set VersionTLS12` });
    const etcdTls = arg(cluster.doc.etcd?.local?.extraArgs, 'tls-min-version');
    if (below12(etcdTls, ETCD_TLS)) findings.push({ file, message: `ClusterConfiguration etcd.local tls-min-version ${etcdTls} allows TLS below 1.2; set TLS1.2 or TLS1.3` });
  }
  for (const { node, doc } of docs('KubeletConfiguration')) {
    if (below12(doc.tlsMinVersion, GO_TLS)) findings.push({ file: node.file, message: `node ${node.name}: KubeletConfiguration tlsMinVersion ${doc.tlsMinVersion} allows TLS below 1.2; set VersionTLS12` });
  }
  for (const { node, doc } of docs('JoinConfiguration')) {
    const token = doc.discovery?.bootstrapToken;
    if (!isRecord(token)) continue;
    const hashes = asArray<string>(token.caCertHashes).filter((h) => /^sha256:[0-9a-f]{64}$/.test(h));
    if (token.unsafeSkipCAVerification === true || hashes.length === 0) findings.push({ file: node.file, message: `node ${node.name}: its kubeadm JoinConfiguration ${token.unsafeSkipCAVerification === true ? 'sets discovery.bootstrapToken.unsafeSkipCAVerification' : 'pins no CA (discovery.bootstrapToken.caCertHashes is empty)'}: it would join whatever answers at ${String(token.apiServerEndpoint ?? 'the endpoint')}; pin the cluster CA's sha256 hash` });
  }
  return check('encryption-details', `${classes.length} Ceph StorageClasses in msgr2 secure mode; Secrets encrypted at rest on ${controllers.length} controllers; TLS 1.2 or later; every join pins the cluster CA`, findings);
}
