import { terraformServers } from './rendered';
import { asArray, check, describe, isRecord, type CheckResult, type KubeadmDocument, type Loose, type Manifest, type NodeInfo, type ReportRow, type TerraformDocument } from './types';

/** A kubeadm `extraArgs` value (v1beta4 list of {name, value}, or a v1beta3 map). */
function arg(extraArgs: unknown, name: string): string | undefined {
  if (Array.isArray(extraArgs)) return (extraArgs.find((a) => isRecord(a) && a.name === name) as { value?: string } | undefined)?.value;
  return isRecord(extraArgs) ? (extraArgs[name] as string | undefined) : undefined;
}

/** Hosts that are inside the node (loopback) or the cluster (services, resolved inside the WireGuard-encrypted pod network). */
const IN_CLUSTER = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|[a-z0-9-]+|[a-z0-9.-]+\.svc(\.cluster\.local)?)(:\d+)?$/i;

/** Every URL in a container's command, args and env values. */
function containerUrls(o: Manifest['object']): { container: string; url: string }[] {
  const pod = o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec;
  const out: { container: string; url: string }[] = [];
  for (const c of [...asArray<Loose>(pod?.initContainers), ...asArray<Loose>(pod?.containers)]) {
    const texts = [...asArray<string>(c.command), ...asArray<string>(c.args), ...asArray<Loose>(c.env).map((e) => e?.value)].filter((t): t is string => typeof t === 'string');
    for (const t of texts) for (const m of t.matchAll(/\b(https?|s3):\/\/[^\s'"]+/g)) out.push({ container: String(c.name), url: m[0] });
  }
  return out;
}

/**
 * The labels a node carries once it joined: its kubelet `node-labels`, the
 * kubelet's own well-known labels, and on controllers the labels
 * `kubeadm init`/`join --control-plane` add.
 *
 * @see https://kubernetes.io/docs/reference/labels-annotations-taints/
 * @see https://kubernetes.io/docs/reference/setup-tools/kubeadm/implementation-details/#mark-the-node-as-control-plane
 */
function liveLabels(node: NodeInfo): Record<string, string> {
  return {
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': node.name,
    ...node.labels,
    ...(node.role === 'controller' ? { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } : {}),
  };
}

type Requirement = { key: string; op: 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin'; values: string[] };

/**
 * A Kubernetes label selector string (`a`, `!a`, `a=b`, `a==b`, `a!=b`,
 * `a in (b,c)`, `a notin (b,c)`, joined by commas), as `labels.Parse` of
 * k8s.io/apimachinery reads it; undefined when it is none of these.
 *
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
 */
function parseSelector(selector: string): Requirement[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  if (parts.length === 1 && parts[0].trim() === '') return [];
  const key = '([A-Za-z0-9][-A-Za-z0-9_./]*)';
  const requirements: Requirement[] = [];
  for (const raw of parts.map((p) => p.trim())) {
    let m: RegExpMatchArray | null;
    if ((m = raw.match(new RegExp(`^${key}\\s+(in|notin)\\s*\\(([^)]*)\\)$`)))) requirements.push({ key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) });
    else if ((m = raw.match(new RegExp(`^${key}\\s*(!=|==|=)\\s*([-A-Za-z0-9_.]*)$`)))) requirements.push({ key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] });
    else if ((m = raw.match(new RegExp(`^!\\s*${key}$`)))) requirements.push({ key: m[1], op: '!exists', values: [] });
    else if ((m = raw.match(new RegExp(`^${key}$`)))) requirements.push({ key: m[1], op: 'exists', values: [] });
    else return undefined;
  }
  return requirements;
}

/** Whether every requirement holds for `labels`: an empty selector matches every node, as in `labels.Parse("")`. */
function selects(requirements: readonly Requirement[], labels: Readonly<Record<string, string>>): boolean {
  return requirements.every(({ key, op, values }) => {
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    switch (op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
      case 'in':
        return has && values.includes(labels[key]);
      case '!=':
      case 'notin':
        return !has || !values.includes(labels[key]);
    }
  });
}

/**
 * The label selector of nodes Cilium leaves out of WireGuard node encryption
 * when `cilium-config` does not set `node-encryption-opt-out-labels`.
 *
 * @see https://github.com/cilium/cilium/blob/v1.19.4/pkg/defaults/defaults.go (NodeEncryptionOptOutLabels)
 * @see https://docs.cilium.io/en/stable/security/network/encryption-wireguard/
 */
export const CILIUM_DEFAULT_NODE_ENCRYPTION_OPT_OUT = 'node-role.kubernetes.io/control-plane';

/**
 * Why Cilium's node-encryption opt-out leaves nodes' host traffic in
 * plaintext, or undefined when it selects none of `nodes`. An absent key is
 * the agent's default (control-plane nodes); an empty value selects every
 * node (Kubernetes' `labels.Parse("")` matches all labels).
 */
export function nodeEncryptionOptOutProblem(data: Readonly<Record<string, unknown>>, nodes: readonly NodeInfo[]): string | undefined {
  const set = Object.prototype.hasOwnProperty.call(data, 'node-encryption-opt-out-labels');
  const selector = set ? String(data['node-encryption-opt-out-labels']) : CILIUM_DEFAULT_NODE_ENCRYPTION_OPT_OUT;
  const where = set ? `node-encryption-opt-out-labels ${JSON.stringify(selector)}` : `no node-encryption-opt-out-labels (the agent's default, ${JSON.stringify(selector)})`;
  const fix = 'set the chart value extraConfig["node-encryption-opt-out-labels"] to a label no node carries (Keelson sets "keelson.dev/no-node-encryption")';
  const requirements = parseSelector(selector);
  if (!requirements) return `ConfigMap kube-system/cilium-config has ${where}, which is not a label selector: the agent refuses to start; ${fix}`;
  const out = nodes.filter((n) => selects(requirements, liveLabels(n)));
  if (out.length === 0) return undefined;
  const controllers = out.filter((n) => n.role === 'controller').length;
  const whom = selector.trim() === '' ? 'an empty selector, which selects every node' : `it selects ${out.length} of ${nodes.length} nodes${controllers > 0 ? ` (${controllers} control-plane)` : ''}`;
  return `ConfigMap kube-system/cilium-config has ${where}: ${whom} (${out.map((n) => n.name).join(', ')}), whose host traffic (Ceph, kubelet, etcd's network) leaves without WireGuard; ${fix}`;
}

interface Channel {
  readonly name: string;
  readonly file: string;
  /** What encrypts it, or undefined with the problem when nothing does. */
  readonly by?: string;
  readonly problem?: string;
}

/**
 * The encryption audit: every channel between nodes (and from nodes to the
 * bucket), what encrypts it per the rendered output, and a failure for any
 * channel that is plaintext or that the output does not show encrypted.
 */
export function auditEncryption(manifests: readonly Manifest[], nodes: readonly NodeInfo[], terraform: TerraformDocument, terraformFile: string): CheckResult {
  const channels: Channel[] = [];
  const docs = (kind: string) => nodes.flatMap((n) => n.kubeadm.filter((d) => d.kind === kind).map((d) => ({ node: n, doc: d as KubeadmDocument & Record<string, Loose> })));
  const cluster = docs('ClusterConfiguration')[0];
  const ccFile = cluster?.node.file ?? 'infra-out/ignition/';

  // etcd, stacked by kubeadm: https with client-certificate authentication on both ports unless overridden.
  const local = cluster?.doc.etcd?.local;
  const external = cluster?.doc.etcd?.external;
  if (!cluster) {
    channels.push({ name: 'etcd peer', file: ccFile, problem: 'no kubeadm ClusterConfiguration found on any node: cannot show etcd is encrypted' });
    channels.push({ name: 'API server -> etcd', file: ccFile, problem: 'no kubeadm ClusterConfiguration found on any node' });
  } else if (local) {
    const a = (n: string) => arg(local.extraArgs, n);
    const plainPeer = ['listen-peer-urls', 'initial-advertise-peer-urls'].filter((n) => a(n)?.includes('http://'));
    const peerProblem =
      plainPeer.length > 0 ? `etcd.local.extraArgs ${plainPeer.join(', ')} use http://` : a('peer-client-cert-auth') === 'false' ? 'etcd.local.extraArgs peer-client-cert-auth is false: peers are not authenticated' : a('peer-auto-tls') === 'true' ? 'etcd.local.extraArgs peer-auto-tls is true: peer certificates are self-signed and unverified' : undefined;
    channels.push({ name: 'etcd peer (2380)', file: ccFile, ...(peerProblem ? { problem: peerProblem } : { by: `mTLS with per-member certificates from the etcd CA (kubeadm stacked etcd${a('tls-min-version') ? `, ${a('tls-min-version')}` : ''})` }) });
    const plainClient = ['listen-client-urls', 'advertise-client-urls'].filter((n) => a(n)?.includes('http://'));
    const apiEtcd = arg(cluster.doc.apiServer?.extraArgs, 'etcd-servers');
    const clientProblem =
      plainClient.length > 0 ? `etcd.local.extraArgs ${plainClient.join(', ')} use http://` : a('client-cert-auth') === 'false' ? 'etcd.local.extraArgs client-cert-auth is false' : apiEtcd?.includes('http://') ? `apiServer etcd-servers ${apiEtcd} uses http://` : undefined;
    channels.push({ name: 'API server -> etcd (2379)', file: ccFile, ...(clientProblem ? { problem: clientProblem } : { by: 'mTLS: the API server\'s etcd client certificate, verified against the etcd CA' }) });
  } else if (external) {
    const plain = asArray<string>(external.endpoints).filter((e) => !e.startsWith('https://'));
    channels.push({ name: 'etcd peer (2380)', file: ccFile, problem: 'etcd is external: its peer channel is not in this output' });
    channels.push({ name: 'API server -> etcd (2379)', file: ccFile, ...(plain.length > 0 || !external.certFile ? { problem: `etcd.external endpoints ${plain.join(', ') || '(https)'}${external.certFile ? '' : ' without a client certificate'}` } : { by: 'mTLS to the external endpoints' }) });
  }

  // API server <-> kubelets.
  if (cluster) {
    const ca = arg(cluster.doc.apiServer?.extraArgs, 'kubelet-certificate-authority');
    const kubelets = docs('KubeletConfiguration');
    const bootstrap = kubelets.length > 0 && kubelets.every((k) => k.doc.serverTLSBootstrap === true);
    const anonymous = kubelets.some((k) => k.doc.authentication?.anonymous?.enabled !== false);
    const problem = !ca
      ? 'the API server has no kubelet-certificate-authority: it does not verify kubelets\' serving certificates'
      : !bootstrap
        ? 'KubeletConfiguration serverTLSBootstrap is not true: kubelets serve self-signed certificates the API server cannot verify'
        : anonymous
          ? 'KubeletConfiguration allows anonymous requests (authentication.anonymous.enabled is not false)'
          : undefined;
    channels.push({ name: 'API server -> kubelets (10250)', file: ccFile, ...(problem ? { problem } : { by: 'TLS: kubelet serving certificates from the cluster CA (serverTLSBootstrap), verified by the API server; anonymous access off' }) });
    const endpoint = String(cluster.doc.controlPlaneEndpoint ?? '');
    channels.push({ name: 'nodes -> API server (6443)', file: ccFile, ...(endpoint.startsWith('http://') ? { problem: `controlPlaneEndpoint ${endpoint} is http` } : { by: `TLS to ${endpoint || 'the API server'}, verified against the cluster CA (kubeadm discovery pins its hash)` }) });
  }

  // Pod to pod: the CNI's transparent encryption, read from the config its chart renders.
  // @see https://docs.cilium.io/en/stable/security/network/encryption-wireguard/ (enable-wireguard, encrypt-node in cilium-config)
  // @see https://github.com/flannel-io/flannel/blob/master/Documentation/backends.md#wireguard (net-conf.json Backend.Type)
  const configMap = (name: string) => manifests.find((m) => m.object.apiVersion === 'v1' && m.object.kind === 'ConfigMap' && m.object.metadata?.name === name);
  const cilium = configMap('cilium-config');
  const flannel = configMap('kube-flannel-cfg');
  const cni = cilium ?? flannel;
  let podNetwork: string | undefined;
  if (!cni) {
    channels.push({ name: 'pod to pod', file: 'charts-out/', problem: "no pod network's config (Cilium's cilium-config or flannel's kube-flannel-cfg ConfigMap) is in the desired state: cannot show pod traffic is encrypted" });
  } else {
    const data: Record<string, unknown> = (cni.object as Loose).data ?? {};
    let problem: string | undefined;
    if (cni === cilium) {
      const wireguard = data['enable-wireguard'] === 'true';
      if (!wireguard && data['enable-ipsec'] !== 'true') problem = 'ConfigMap kube-system/cilium-config (rendered by the Cilium chart) has neither enable-wireguard nor enable-ipsec "true": pod traffic between nodes is plaintext; set the chart values encryption.enabled: true, encryption.type: wireguard';
      else if (data['encrypt-node'] !== 'true') problem = 'ConfigMap kube-system/cilium-config has encrypt-node not "true": traffic from host-network pods (Ceph, CSI) leaves unencrypted; set the chart value encryption.nodeEncryption: true';
      else {
        // The opt-out applies to WireGuard node encryption only (IPsec has none).
        problem = wireguard ? nodeEncryptionOptOutProblem(data, nodes) : undefined;
        if (!problem) podNetwork = `Cilium ${wireguard ? 'WireGuard' : 'IPsec'} (pods and nodes${wireguard ? ', control-plane nodes included' : ''})`;
      }
    } else {
      let backend: unknown;
      try {
        backend = JSON.parse(String(data['net-conf.json'] ?? '{}'))?.Backend?.Type;
      } catch {
        backend = undefined;
      }
      if (backend === 'wireguard') podNetwork = 'flannel WireGuard backend';
      else problem = `ConfigMap kube-flannel-cfg (rendered by the flannel chart) sets net-conf.json Backend.Type ${JSON.stringify(backend)}, not "wireguard": pod traffic between nodes is plaintext; set the chart value flannel.backend: wireguard`;
    }
    channels.push({ name: 'pod to pod', file: cni.file, ...(problem ? { problem } : { by: podNetwork }) });
  }
  channels.push({ name: 'ingress -> apps', file: cni?.file ?? 'charts-out/', ...(podNetwork ? { by: `inside the pod network: ${podNetwork}` } : { problem: 'rides the pod network, which is not shown encrypted' }) });

  // Ceph: msgr2 in secure mode.
  for (const { file, object } of manifests.filter((m) => m.object.kind === 'CephCluster')) {
    const c = object.spec?.network?.connections ?? {};
    const problem = c.encryption?.enabled !== true ? 'network.connections.encryption.enabled is not true (msgr2 crc mode is plaintext)' : c.requireMsgr2 !== true ? 'network.connections.requireMsgr2 is not true: clients may use the plaintext v1 protocol' : undefined;
    channels.push({ name: `Ceph (${describe(object)})`, file, ...(problem ? { problem } : { by: 'msgr2 secure mode, v1 refused' }) });
  }

  // Backups to the bucket.
  const bsls = manifests.filter((m) => m.object.kind === 'BackupStorageLocation');
  for (const { file, object } of bsls) {
    const url = object.spec?.config?.s3Url;
    const problem = url !== undefined && !String(url).startsWith('https://') ? `spec.config.s3Url ${url} is not https` : object.spec?.config?.insecureSkipTLSVerify === 'true' ? 'spec.config.insecureSkipTLSVerify is "true": the bucket is not authenticated' : undefined;
    channels.push({ name: `backups -> bucket (${describe(object)})`, file, ...(problem ? { problem } : { by: `HTTPS to ${url ?? 'the S3 default endpoint'}` }) });
  }
  const veleroServer = manifests.some((m) => m.object.kind === 'Deployment' && m.object.metadata?.name === 'velero' && /velero\/velero:/.test(JSON.stringify(m.object.spec?.template?.spec?.containers ?? [])));
  if (bsls.length === 0 && veleroServer) {
    channels.push({ name: 'backups -> bucket', file: 'charts-out/', problem: 'Velero is installed but no BackupStorageLocation is rendered: cannot show where backups go or how' });
  }

  // Every URL a rendered workload calls: etcd snapshots, uploads.
  for (const { file, object } of manifests.filter((m) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(String(m.object.kind)))) {
    const urls = containerUrls(object);
    if (urls.length === 0) continue;
    const plain = urls.filter((u) => u.url.startsWith('http://') && !IN_CLUSTER.test(u.url.slice('http://'.length).split('/')[0]));
    const label = /etcd/.test(JSON.stringify(object.spec ?? {})) && /snapshot/.test(JSON.stringify(object.spec ?? {})) ? `etcd snapshots (${describe(object)})` : `${describe(object)} outbound`;
    channels.push({ name: label, file, ...(plain.length > 0 ? { problem: `container ${plain[0].container} calls ${plain[0].url} over plain HTTP` } : { by: `HTTPS (${[...new Set(urls.map((u) => u.url.split('/').slice(0, 3).join('/')))].join(', ')})` }) });
  }

  // First boot: the secret part of each node's Ignition.
  for (const s of terraformServers(terraform)) {
    let pointer: Loose;
    try {
      pointer = JSON.parse(String(s.attributes.user_data ?? ''));
    } catch {
      continue;
    }
    const refs = [...asArray<Loose>(pointer?.ignition?.config?.merge), ...(pointer?.ignition?.config?.replace ? [pointer.ignition.config.replace] : [])];
    const bad = refs.find((r) => !String(r?.source ?? '').startsWith('https://') || !r?.verification?.hash);
    if (refs.length === 0) continue;
    channels.push({ name: `${s.name} first boot -> secret part`, file: terraformFile, ...(bad ? { problem: `Ignition fetches ${String(bad.source).split('?')[0]} ${String(bad.source).startsWith('https://') ? 'without a verification hash' : 'over plain HTTP'}` } : { by: 'HTTPS, pinned by sha512' }) });
  }

  const findings = channels.filter((c) => c.problem).map((c) => ({ file: c.file, message: `${c.name}: ${c.problem}` }));
  const rows: ReportRow[] = channels.map((c) => ({ name: c.name, ok: !c.problem, detail: c.problem ?? c.by ?? '', file: c.file }));
  return check('encryption', `${channels.length} channels between nodes and to the bucket: ${channels.length - findings.length} encrypted`, findings, [], rows);
}
