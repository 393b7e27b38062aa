import { NODE_NETWORK_CIDR, type TrafficEndpoint, type TrafficPort, type TrafficRule } from '@keelson/platform-spec';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import { KUBE_DNS_LABELS } from '../core-dns';

/** Annotation carrying the declared reason of an allow. */
export const REASON_ANNOTATION = 'keelson.dev/reason';
/** Annotation naming the layer that declared the allow. */
export const DECLARED_BY_ANNOTATION = 'keelson.dev/declared-by';

/**
 * What "internet" excludes: private ranges (the node network, pods and
 * Services are inside 10.0.0.0/8), carrier-grade NAT and link-local, which
 * holds the cloud metadata service (169.254.169.254).
 */
export const NON_INTERNET_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'] as const;

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The peer of a policy for one end of a rule. */
export function peerOf(endpoint: TrafficEndpoint): INetworkPolicyPeer {
  switch (endpoint.kind) {
    case 'pods':
      return {
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: endpoint.namespace } },
        podSelector: endpoint.labels ? { matchLabels: { ...endpoint.labels } } : {},
      };
    // The API server and kubelets listen on the nodes' private addresses.
    // Policies see them after Service translation (kubernetes.default ->
    // controller:6443); Cilium matches node addresses by CIDR only with
    // `policyCIDRMatchMode: [nodes]`, which the Cilium values set.
    case 'kube-apiserver':
    case 'nodes':
      return { ipBlock: { cidr: NODE_NETWORK_CIDR } };
    case 'internet':
      return { ipBlock: { cidr: '0.0.0.0/0', except: [...NON_INTERNET_RANGES] } };
  }
}

function portsOf(ports: readonly TrafficPort[] | undefined): INetworkPolicyPort[] | undefined {
  if (!ports || ports.length === 0) return undefined;
  return ports.map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port, ...(p.endPort !== undefined ? { endPort: p.endPort } : {}) }));
}

function metadata(namespace: string, name: string, annotations?: Record<string, string>): INetworkPolicy['metadata'] {
  return { name, namespace, ...(annotations ? { annotations } : {}) };
}

/** Denies everything in and out of every pod of `namespace`; allows add to it. */
export function defaultDeny(namespace: string): INetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(namespace, 'default-deny', { [REASON_ANNOTATION]: 'deny all traffic not declared by a layer' }),
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  };
}

/** Lets every pod of `namespace` ask the cluster DNS (CoreDNS in kube-system). */
export function allowDns(namespace: string): INetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(namespace, 'allow-dns', { [REASON_ANNOTATION]: 'name resolution through the cluster DNS' }),
    spec: {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } }, podSelector: { matchLabels: { ...KUBE_DNS_LABELS } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    },
  };
}

/** One end of a declared rule that lands in a namespace the platform default-denies. */
export interface RuleEnd {
  readonly direction: 'egress' | 'ingress';
  readonly namespace: string;
  readonly rule: TrafficRule;
  /** Layer id that declared the rule. */
  readonly declaredBy: string;
}

/** Lower-case, dash-separated words of `text`, at most `max` characters, cut at a dash. */
export function slug(text: string, max: number): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (s.length <= max) return s;
  const cut = s.slice(0, max);
  const dash = cut.lastIndexOf('-');
  return (dash > max / 2 ? cut.slice(0, dash) : cut).replace(/-+$/g, '');
}

/** The policy for one end of a rule: egress at the `from` side, ingress at the `to` side. */
export function allowFor(end: RuleEnd, name: string): INetworkPolicy {
  const { rule } = end;
  const own = end.direction === 'egress' ? rule.from : rule.to;
  const peer = end.direction === 'egress' ? rule.to : rule.from;
  const podSelector = own.kind === 'pods' && own.labels ? { matchLabels: { ...own.labels } } : {};
  const ports = portsOf(rule.ports);
  const annotations = { [REASON_ANNOTATION]: rule.reason, [DECLARED_BY_ANNOTATION]: end.declaredBy };
  const spec: INetworkPolicy['spec'] =
    end.direction === 'egress'
      ? { podSelector, policyTypes: ['Egress'], egress: [{ to: [peerOf(peer)], ...(ports ? { ports } : {}) }] }
      : { podSelector, policyTypes: ['Ingress'], ingress: [{ from: [peerOf(peer)], ...(ports ? { ports } : {}) }] };
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: metadata(end.namespace, name, annotations), spec };
}

/** A key that is equal for two declarations of the same connection. */
export function ruleKey(rule: TrafficRule): string {
  const ep = (e: TrafficEndpoint) => (e.kind === 'pods' ? { k: e.kind, n: e.namespace, l: Object.entries(e.labels ?? {}).sort() } : { k: e.kind });
  const ports = (rule.ports ?? []).map((p) => [p.protocol ?? 'TCP', p.port, p.endPort ?? p.port].join(':')).sort();
  return JSON.stringify([ep(rule.from), ep(rule.to), ports]);
}
