// The host firewall every node loads before the kubelet starts: one nftables
// table of its own (`inet keelson`), written as libnftables JSON from a small
// model so `verify` reads it without an nft parser.
import { CLUSTER_NETWORK, NODE_NETWORK_CIDR, type NodeSpec } from '@keelson/platform-spec';
import { memoize } from './internal/memo';

/** Where the ruleset lives on a node, and the unit that loads it. */
export const HOST_FIREWALL = {
  path: '/etc/keelson/host-firewall.json',
  unit: 'keelson-host-firewall.service',
  family: 'inet',
  table: 'keelson',
  chain: 'input',
  /** The named set of addresses etcd (2379-2380) accepts peers and clients from. */
  controllersSet: 'controllers',
} as const;

/** Where an accepted packet may come from: a CIDR, or the controllers' named set. */
export type HostFirewallSource = { readonly cidr: string } | { readonly set: typeof HOST_FIREWALL.controllersSet };

/** One closed port range: accepted from `allowFrom` (and loopback), dropped from anywhere else. */
export interface HostPortRule {
  readonly protocol: 'tcp';
  /** First and last port, inclusive. */
  readonly ports: readonly [number, number];
  readonly allowFrom: readonly HostFirewallSource[];
  /** Who listens there and who needs to reach it: the rule's comment on the node. */
  readonly why: string;
}

/** The model a node's ruleset is rendered from. */
export interface HostFirewallModel {
  /** Elements of the controllers' set: addresses or CIDRs. */
  readonly controllers: readonly string[];
  readonly rules: readonly HostPortRule[];
}

const NODES: HostFirewallSource = { cidr: NODE_NETWORK_CIDR };
const PODS: HostFirewallSource = { cidr: CLUSTER_NETWORK.podSubnet };
const CONTROLLERS: HostFirewallSource = { set: HOST_FIREWALL.controllersSet };

/**
 * The host firewall of one node.
 *
 * Closed (accepted from the sources named, and from loopback; dropped, not
 * rejected, from anywhere else, the private network included):
 * - etcd 2379-2380: from the controllers' set only; on a worker nothing
 *   listens there and nothing is accepted. 2379 also from the pod range on
 *   controllers: the etcd snapshot CronJob (backups-velero) reads the local
 *   member from a pod at `status.hostIP:2379`.
 * - kubelet 10250: from the node network (the API server on the
 *   controllers: logs, exec, port-forward) and the pod range (in-cluster
 *   metrics scrapers).
 * - Ceph 3300, 6789, 6800-7300: from the node network (kernel RBD/CephFS
 *   clients and the host-network CSI node plugins) and the pod range. Rook
 *   runs Ceph on the pod network today, so nothing listens on the host there;
 *   the rule keeps it closed if Ceph ever moves to host networking.
 *
 * Everything else is accepted (chain policy `accept`): the cloud firewall
 * stays the outer wall, and the pod network's own ports stay open between
 * nodes — Cilium WireGuard 51871/udp, VXLAN 8472/udp, health 4240/tcp and
 * ICMP, Hubble 4244/tcp, flannel WireGuard 51820/udp — as do the API server
 * (6443) and the ingress ports. The table never touches Cilium's or
 * kube-proxy's tables, and it filters only the input hook, so traffic to
 * pods (forwarded, or handled by eBPF) is not affected.
 *
 * The controllers' set: `controllerAddresses` where the infrastructure pins
 * them (Hetzner, `NodeProvider.controllerPrivateAddresses`); otherwise the
 * node network (DigitalOcean does not let a droplet choose its VPC address).
 *
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Quick_reference-nftables_in_10_minutes
 */
export function hostFirewallModel(node: NodeSpec, controllerAddresses?: readonly string[]): HostFirewallModel {
  const controller = node.role === 'controller';
  return {
    controllers: controllerAddresses && controllerAddresses.length > 0 ? [...controllerAddresses] : [NODE_NETWORK_CIDR],
    rules: [
      controller
        ? { protocol: 'tcp', ports: [2379, 2379], allowFrom: [CONTROLLERS, PODS], why: 'etcd clients: the other controllers (kubeadm join adds members) and the etcd snapshot CronJob (a pod on this node)' }
        : { protocol: 'tcp', ports: [2379, 2380], allowFrom: [], why: 'etcd: nothing listens on a worker' },
      ...(controller ? [{ protocol: 'tcp', ports: [2380, 2380], allowFrom: [CONTROLLERS], why: 'etcd peers: the other controllers' } satisfies HostPortRule] : []),
      { protocol: 'tcp', ports: [10250, 10250], allowFrom: [NODES, PODS], why: 'kubelet API: the API server on the controllers (logs, exec) and in-cluster metrics scrapers' },
      { protocol: 'tcp', ports: [3300, 3300], allowFrom: [NODES, PODS], why: 'Ceph monitors (msgr2): kernel clients and CSI node plugins on the nodes, Ceph pods' },
      { protocol: 'tcp', ports: [6789, 6789], allowFrom: [NODES, PODS], why: 'Ceph monitors (msgr1): older kernel clients' },
      { protocol: 'tcp', ports: [6800, 7300], allowFrom: [NODES, PODS], why: 'Ceph OSDs, managers and MDS: kernel clients, CSI node plugins, Ceph pods' },
    ],
  };
}

/** `10.10.0.0/16` -> nftables JSON `{ prefix: { addr, len } }`; a bare address stays a string. */
function address(cidr: string): unknown {
  const [addr, len] = cidr.split('/');
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(addr) || (len !== undefined && !(Number(len) >= 0 && Number(len) <= 32))) {
    throw new Error(`hostFirewall: ${JSON.stringify(cidr)} is not an IPv4 address or CIDR; pass addresses such as 10.10.0.5 or 10.10.0.0/24`);
  }
  return len === undefined ? addr : { prefix: { addr, len: Number(len) } };
}

const dport = (ports: readonly [number, number]) => ({ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: ports[0] === ports[1] ? ports[0] : { range: [ports[0], ports[1]] } } });
const portsText = (ports: readonly [number, number]) => (ports[0] === ports[1] ? String(ports[0]) : `${ports[0]}-${ports[1]}`);

/**
 * The node's ruleset as libnftables JSON, loaded with `nft -j -f`: it
 * creates `table inet keelson` if missing and deletes it, then builds it
 * again, all in one transaction, so a reload replaces only this table.
 *
 * @see https://manpages.debian.org/bookworm/libnftables1/libnftables-json.5.en.html
 */
export function renderHostFirewall(model: HostFirewallModel): string {
  return rulesetOf(model);
}

// Nodes of one role share their model: each ruleset is written once per process.
const rulesetOf = memoize((model: HostFirewallModel) => JSON.stringify(model), renderHostFirewallUncached);

function renderHostFirewallUncached(model: HostFirewallModel): string {
  const { family, table, chain, controllersSet } = HOST_FIREWALL;
  const ref = { family, table };
  const tableRef = { family, name: table };
  const out: unknown[] = [
    { metainfo: { json_schema_version: 1 } },
    { add: { table: tableRef } },
    { delete: { table: tableRef } },
    { add: { table: tableRef } },
    { add: { set: { ...ref, name: controllersSet, type: 'ipv4_addr', flags: ['interval'], elem: model.controllers.map(address) } } },
    // Policy accept: only the ports below are closed; the cloud firewall is the outer wall.
    { add: { chain: { ...ref, name: chain, type: 'filter', hook: 'input', prio: 0, policy: 'accept' } } },
    { add: { rule: { ...ref, chain, comment: 'loopback: local clients (the API server to its etcd, kubelet probes)', expr: [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'lo' } }, { accept: null }] } } },
  ];
  for (const rule of model.rules) {
    for (const source of rule.allowFrom) {
      const right = 'set' in source ? `@${source.set}` : address(source.cidr);
      out.push({ add: { rule: { ...ref, chain, comment: `${rule.protocol} ${portsText(rule.ports)} from ${'set' in source ? `@${source.set}` : source.cidr}`.slice(0, 128), expr: [dport(rule.ports), { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right } }, { accept: null }] } } });
    }
    out.push({ add: { rule: { ...ref, chain, comment: `${rule.protocol} ${portsText(rule.ports)}: ${rule.why}`.slice(0, 128), expr: [dport(rule.ports), { drop: null }] } } });
  }
  return `${JSON.stringify({ nftables: out })}\n`;
}
