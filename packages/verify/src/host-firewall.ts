// The host firewall part of the firewall check: every node's nftables
// ruleset (libnftables JSON in its Ignition), evaluated for sample packets.
import { CLUSTER_NETWORK, NODE_NETWORK_CIDR } from '@keelson/platform-spec';
import { decodeInlineContents, HOST_FIREWALL } from '@keelson/ignition';
import { cidrContains } from './network-policy';
import { asArray, isRecord, type Finding, type Loose, type NodeInfo, type ReportRow } from './types';

/** A packet arriving at the node: interface, IPv4 source, TCP destination port. */
interface Probe {
  readonly iif: string;
  readonly saddr: string;
  readonly dport: number;
}

/** The `inet keelson` table read from the JSON: its sets and its input chain. */
interface Ruleset {
  readonly sets: ReadonlyMap<string, readonly string[]>;
  readonly policy: string;
  readonly rules: readonly { readonly expr: readonly Loose[]; readonly comment?: string }[];
}

/** A probe address outside every private range: the internet. */
const PUBLIC = '203.0.113.7';
const ETCD = [2379, 2380];
const NODE_PORTS: ReadonlyArray<[number, string]> = [
  [10250, 'kubelet'],
  [3300, 'Ceph monitors (msgr2)'],
  [6789, 'Ceph monitors (msgr1)'],
  [6800, 'Ceph OSDs'],
  [7300, 'Ceph OSDs'],
];

const prefixText = (v: Loose): string | undefined => (typeof v === 'string' ? v : isRecord(v?.prefix) ? `${v.prefix.addr}/${v.prefix.len}` : undefined);
const inCidr = (cidr: string, addr: string) => cidrContains(cidr.includes('/') ? cidr : `${cidr}/32`, addr);

/** Reads the table from the ruleset's JSON, or says why it cannot. */
function readRuleset(text: string): Ruleset | string {
  let doc: Loose;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `${HOST_FIREWALL.path} is not JSON (${(e as Error).message})`;
  }
  const sets = new Map<string, string[]>();
  let chain: Loose;
  const rules: Array<{ expr: Loose[]; comment?: string }> = [];
  const own = (o: Loose) => o?.family === HOST_FIREWALL.family && o?.table === HOST_FIREWALL.table;
  for (const item of asArray<Loose>(doc?.nftables)) {
    const o = item?.add ?? item;
    if (isRecord(o.set) && own(o.set)) sets.set(String(o.set.name), asArray<Loose>(o.set.elem).map(prefixText).filter((x): x is string => x !== undefined));
    if (isRecord(o.chain) && own(o.chain) && o.chain.hook === 'input') chain = o.chain;
    if (isRecord(o.rule) && own(o.rule) && chain && o.rule.chain === chain.name) rules.push({ expr: asArray<Loose>(o.rule.expr), comment: o.rule.comment });
  }
  if (!chain) return `no input chain in table ${HOST_FIREWALL.family} ${HOST_FIREWALL.table}: nothing is filtered`;
  return { sets, policy: String(chain.policy ?? 'accept'), rules };
}

/** Whether one match expression holds for the probe; a string for an expression this reader does not know. */
function matches(m: Loose, p: Probe, sets: Ruleset['sets']): boolean | string {
  const left = m?.left;
  const right = m?.right;
  if (m?.op !== '==' && m?.op !== undefined) return `operator ${JSON.stringify(m.op)}`;
  if (left?.meta?.key === 'iifname') return right === p.iif;
  if (left?.payload?.protocol === 'tcp' && left.payload.field === 'dport') {
    if (typeof right === 'number') return right === p.dport;
    if (Array.isArray(right?.range)) return p.dport >= right.range[0] && p.dport <= right.range[1];
    if (Array.isArray(right?.set)) return right.set.some((x: Loose) => x === p.dport || (Array.isArray(x?.range) && p.dport >= x.range[0] && p.dport <= x.range[1]));
  }
  if (left?.payload?.protocol === 'ip' && left.payload.field === 'saddr') {
    if (typeof right === 'string' && right.startsWith('@')) return (sets.get(right.slice(1)) ?? []).some((c) => inCidr(c, p.saddr));
    const literal = prefixText(right);
    if (literal) return inCidr(literal, p.saddr);
    if (Array.isArray(right?.set)) return right.set.some((x: Loose) => { const c = prefixText(x); return c !== undefined && inCidr(c, p.saddr); });
  }
  return `match ${JSON.stringify(m).slice(0, 80)}`;
}

/** The verdict of the input chain for a probe: `accept`, `drop`, or a problem reading a rule. */
export function verdict(rules: Ruleset, p: Probe): { verdict: 'accept' | 'drop' } | { unreadable: string } {
  for (const rule of rules.rules) {
    let all = true;
    let final: string | undefined;
    for (const e of rule.expr) {
      if (e?.match) {
        const r = matches(e.match, p, rules.sets);
        if (typeof r === 'string') return { unreadable: r };
        if (!r) {
          all = false;
          break;
        }
      } else if ('accept' in (e ?? {})) final = 'accept';
      else if ('drop' in (e ?? {}) || 'reject' in (e ?? {})) final = 'drop';
      else if (!('counter' in (e ?? {}))) return { unreadable: `statement ${JSON.stringify(e).slice(0, 80)}` };
    }
    if (all && final) return { verdict: final as 'accept' | 'drop' };
  }
  return { verdict: rules.policy === 'drop' ? 'drop' : 'accept' };
}

/** A node-network address outside every given CIDR, if one of a few samples is. */
function outsider(cidrs: readonly string[]): string | undefined {
  return ['10.10.255.254', '10.10.128.1', '10.10.15.254', '10.10.0.254', '10.10.0.3'].find((a) => inCidr(NODE_NETWORK_CIDR, a) && !cidrs.some((c) => inCidr(c, a)));
}

/**
 * Every node's host firewall (`/etc/keelson/host-firewall.json`, loaded by
 * `keelson-host-firewall.service` with `nft -j -f`), evaluated for sample
 * packets from its input chain's rules in order:
 * - the ruleset and its enabled unit are in the node's Ignition;
 * - the input chain's policy is `accept` (a `drop` policy would drop what the
 *   cluster needs and the ruleset does not name: Cilium's ports, the API
 *   server, the ingress ports);
 * - etcd 2379-2380 drops a packet from the internet and, on a worker, from
 *   any node address; on a controller from any node address outside the
 *   controllers' set, and no rule accepts etcd from a literal node-network
 *   range (name controllers in the set);
 * - the kubelet (10250) and Ceph (3300, 6789, 6800-7300) drop a packet from
 *   the internet and accept one from the node network (the API server and
 *   the kernel Ceph clients need them).
 *
 * The controllers' set: the pinned addresses where the cloud pins them
 * (Hetzner: `NodeProvider.controllerPrivateAddresses`), otherwise the node
 * network (DigitalOcean assigns droplet addresses at creation); a
 * controller's row says which.
 */
export function checkHostFirewalls(nodes: readonly NodeInfo[]): { findings: Finding[]; rows: ReportRow[]; wholeNetwork: number } {
  const findings: Finding[] = [];
  const rows: ReportRow[] = [];
  let wholeNetwork = 0;
  for (const n of nodes) {
    const problems: string[] = [];
    const notes: string[] = [];
    const file = asArray<Loose>(n.ignition.storage?.files).find((f) => f?.path === HOST_FIREWALL.path);
    const unit = asArray<Loose>(n.ignition.systemd?.units).find((u) => u?.name === HOST_FIREWALL.unit);
    const text = file?.contents ? decodeInlineContents(file.contents)?.toString('utf8') : undefined;
    if (text === undefined) problems.push(`no host firewall (${HOST_FIREWALL.path}) in its Ignition: etcd, the kubelet and Ceph are open to every server in the private network, which a cloud firewall need not filter; render it with keelson synth`);
    else if (unit?.enabled !== true || !String(unit?.contents ?? '').includes(`nft -j -f ${HOST_FIREWALL.path}`)) problems.push(`${HOST_FIREWALL.unit} is not enabled with \`nft -j -f ${HOST_FIREWALL.path}\`: the ruleset is never loaded`);
    const rules = text === undefined ? undefined : readRuleset(text);
    if (typeof rules === 'string') problems.push(rules);
    else if (rules) {
      if (rules.policy !== 'accept') problems.push(`the input chain's policy is ${rules.policy}: it would drop what the cluster needs and the ruleset does not name (Cilium's WireGuard, VXLAN and health ports, the API server, the ingress ports); keep policy accept and drop only the named ports`);
      const probe = (saddr: string, dport: number, iif = 'eth1') => {
        const v = verdict(rules, { iif, saddr, dport });
        if ('unreadable' in v) {
          problems.push(`cannot evaluate ${v.unreadable}: the check reads only the rules Keelson renders`);
          return 'unreadable';
        }
        return v.verdict;
      };
      const controllers = rules.sets.get(HOST_FIREWALL.controllersSet) ?? [];
      const wide = controllers.filter((c) => !inCidr(NODE_NETWORK_CIDR, c.split('/')[0]) || Number(c.split('/')[1] ?? 32) < Number(NODE_NETWORK_CIDR.split('/')[1]));
      if (wide.length > 0) problems.push(`the controllers' set holds ${wide.join(', ')}, beyond the node network ${NODE_NETWORK_CIDR}: etcd would accept them`);
      for (const port of ETCD) {
        if (probe(PUBLIC, port) !== 'drop') problems.push(`etcd ${port} accepts a packet from the internet (${PUBLIC}); drop it`);
        const other = n.role === 'worker' ? '10.10.0.3' : outsider(controllers);
        if (other && probe(other, port) !== 'drop') problems.push(`etcd ${port} accepts ${other}, a node-network address ${n.role === 'worker' ? 'on a worker, where no etcd runs' : "outside the controllers' set"}: accept etcd only from @${HOST_FIREWALL.controllersSet}`);
        if (n.role === 'controller' && controllers[0] && probe(controllers[0].split('/')[0], port) !== 'accept') problems.push(`etcd ${port} drops ${controllers[0]}, in the controllers' set: the other members could not reach it`);
      }
      // A literal node-network range accepted on etcd: the set is where controllers are named.
      for (const rule of rules.rules) {
        const ports = rule.expr.find((e) => e?.match?.left?.payload?.field === 'dport')?.match?.right;
        const etcdRule = ETCD.some((p) => ports === p || (Array.isArray(ports?.range) && p >= ports.range[0] && p <= ports.range[1]));
        const saddr = prefixText(rule.expr.find((e) => e?.match?.left?.payload?.field === 'saddr')?.match?.right);
        const accepts = rule.expr.some((e) => 'accept' in (e ?? {}));
        if (etcdRule && accepts && saddr && !saddr.startsWith('@') && inCidr(NODE_NETWORK_CIDR, saddr.split('/')[0]) && !inCidr(CLUSTER_NETWORK.podSubnet, saddr.split('/')[0])) {
          problems.push(`a rule accepts etcd from ${saddr} (${rule.comment ?? 'no comment'}), a node-network range instead of @${HOST_FIREWALL.controllersSet}: workers could reach etcd`);
        }
      }
      for (const [port, what] of NODE_PORTS) {
        if (probe(PUBLIC, port) !== 'drop') problems.push(`${what} ${port} accepts a packet from the internet (${PUBLIC}); accept it only from the node network and the pod range`);
        if (probe('10.10.0.3', port) !== 'accept') problems.push(`${what} ${port} drops a packet from the node network: the API server and the nodes' Ceph clients need it`);
      }
      if (n.role === 'controller' && controllers.length === 1 && controllers[0] === NODE_NETWORK_CIDR) {
        wholeNetwork++;
        notes.push(`controllers' set is the node network (addresses not pinned)`);
      } else if (n.role === 'controller' && controllers.length > 0) {
        notes.push(`controllers' set is the pinned addresses ${controllers.join(', ')}`);
      }
    }
    for (const message of problems) findings.push({ file: n.file, message: `node ${n.name}: host firewall: ${message}` });
    rows.push({
      name: n.name,
      ok: problems.length === 0,
      detail: problems[0] ?? `etcd ${n.role === 'worker' ? 'closed' : 'from the controllers only'}, kubelet and Ceph from the node network and pods, policy accept${notes.length ? `; ${notes.join('; ')}` : ''}`,
      file: n.file,
    });
  }
  return { findings, rows, wholeNetwork };
}
