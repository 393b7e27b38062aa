import type { NetworkLayerChoice } from '@keelson/platform-spec';

/** Which droplets a tag names: every node, controllers, or workers. */
export type TagRole = 'cluster' | 'controller' | 'worker';
/** The platform's two load balancers. */
export type LoadBalancerRole = 'api' | 'ingress';

/** One inbound rule of a cloud firewall, before cloud ids are known. */
export interface InboundRulePlan {
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  /** A port or `low-high`; absent for ICMP. */
  readonly ports?: string;
  readonly fromTags?: readonly TagRole[];
  readonly fromLoadBalancers?: readonly LoadBalancerRole[];
  readonly fromAddresses?: readonly string[];
  /** Why the port is open; rendered nowhere, read by people. */
  readonly why: string;
}

/** Ports the pod network uses between nodes, per network layer. */
const POD_NETWORK_RULES: Readonly<Record<NetworkLayerChoice, readonly InboundRulePlan[]>> = {
  // @see https://docs.cilium.io/en/stable/operations/system_requirements/#firewall-rules
  cilium: [
    { protocol: 'udp', ports: '51871', fromTags: ['cluster'], why: 'Cilium WireGuard: pod-to-pod traffic, encrypted' },
    { protocol: 'udp', ports: '8472', fromTags: ['cluster'], why: "Cilium VXLAN overlay: host-to-pod traffic such as the API server calling a webhook pod" },
    { protocol: 'tcp', ports: '4240', fromTags: ['cluster'], why: 'Cilium cluster health checks' },
    { protocol: 'tcp', ports: '4244', fromTags: ['cluster'], why: 'Hubble server, read by Hubble Relay' },
    { protocol: 'icmp', fromTags: ['cluster'], why: 'Cilium health checks (echo request/reply)' },
  ],
  // @see https://github.com/flannel-io/flannel/blob/master/Documentation/backends.md#wireguard
  flannel: [{ protocol: 'udp', ports: '51820', fromTags: ['cluster'], why: 'flannel WireGuard backend: pod-to-pod traffic, encrypted' }],
};

/**
 * Inbound rules of the firewall every node is in (tag `<cluster>`).
 *
 * Node-to-node ports are open to the cluster tag only, which DigitalOcean
 * resolves to exactly the platform's droplets; nothing else in the VPC (the
 * load balancers included) reaches them.
 */
export function nodeInboundRules(network: NetworkLayerChoice, ingressPorts: { readonly http: number; readonly https: number }): InboundRulePlan[] {
  return [
    { protocol: 'tcp', ports: String(ingressPorts.http), fromLoadBalancers: ['ingress'], why: 'HTTP from the ingress load balancer to the ingress controller' },
    { protocol: 'tcp', ports: String(ingressPorts.https), fromLoadBalancers: ['ingress'], why: 'HTTPS from the ingress load balancer to the ingress controller' },
    ...nodeToNodeRules(network),
  ];
}

/** Ports nodes use among themselves, open to the cluster tag only. */
export function nodeToNodeRules(network: NetworkLayerChoice): InboundRulePlan[] {
  return [
    { protocol: 'tcp', ports: '10250', fromTags: ['cluster'], why: 'kubelet API: the API server (logs, exec) and metrics' },
    ...POD_NETWORK_RULES[network],
    // @see https://docs.ceph.com/en/latest/rados/configuration/network-config-ref/
    { protocol: 'tcp', ports: '3300', fromTags: ['cluster'], why: 'Ceph monitors, msgr2' },
    { protocol: 'tcp', ports: '6789', fromTags: ['cluster'], why: 'Ceph monitors, msgr1 (kernel clients that predate msgr2)' },
    { protocol: 'tcp', ports: '6800-7300', fromTags: ['cluster'], why: 'Ceph OSDs, managers and metadata servers' },
  ];
}

/** Inbound rules of the firewall only controllers are in (tag `<cluster>-controller`). */
export function controllerInboundRules(adminCidrs: readonly string[]): InboundRulePlan[] {
  return [
    {
      protocol: 'tcp',
      ports: '6443',
      fromLoadBalancers: ['api'],
      fromAddresses: adminCidrs,
      // In-cluster clients reach the `kubernetes` Service, whose endpoints are
      // the controllers' own (private) addresses, not the load balancer.
      fromTags: ['cluster'],
      why: 'Kubernetes API: through its load balancer, from the admin CIDRs, and from nodes (the kubernetes Service endpoints)',
    },
    { protocol: 'tcp', ports: '2379-2380', fromTags: ['controller'], why: 'etcd client and peer traffic (mTLS), between controllers only' },
  ];
}

/** {@link splitLoadBalancerSources}: the rules of one firewall, split by whether a load balancer is their source. */
export interface InboundRuleSplit {
  /** Every rule, with its tag and address sources only; rules sourced only from load balancers are left out. */
  readonly base: InboundRulePlan[];
  /** Per load balancer, the rules with that balancer as their only source. */
  readonly fromLoadBalancer: Record<LoadBalancerRole, InboundRulePlan[]>;
}

/**
 * Splits rules into those that name no load balancer and those that do, one
 * rule per source kind: a rule open to a load balancer and to tags or
 * addresses becomes two. The union of what the parts let in is what the
 * rules let in.
 *
 * On DigitalOcean the base rules go into a firewall that exists before any
 * droplet boots, while a load balancer (and so a rule naming it) exists only
 * after the droplets it balances.
 */
export function splitLoadBalancerSources(rules: readonly InboundRulePlan[]): InboundRuleSplit {
  const split: InboundRuleSplit = { base: [], fromLoadBalancer: { api: [], ingress: [] } };
  for (const rule of rules) {
    if (!rule.fromLoadBalancers?.length) {
      split.base.push(rule);
      continue;
    }
    const { protocol, ports, why } = rule;
    const kept = { protocol, ...(ports !== undefined ? { ports } : {}), why };
    if (rule.fromTags?.length || rule.fromAddresses?.length) {
      split.base.push({
        ...kept,
        ...(rule.fromTags?.length ? { fromTags: rule.fromTags } : {}),
        ...(rule.fromAddresses?.length ? { fromAddresses: rule.fromAddresses } : {}),
      });
    }
    for (const lb of rule.fromLoadBalancers) split.fromLoadBalancer[lb].push({ ...kept, fromLoadBalancers: [lb] });
  }
  return split;
}
