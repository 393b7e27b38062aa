/**
 * The traffic contract between layers: every layer declares the connections
 * its workloads need, and the network layer turns them into policies. A
 * namespace the platform creates denies everything else, in and out.
 *
 * One declaration covers both ends: a rule from pods in `traefik` to pods in
 * `website` becomes an egress allow in `traefik` and an ingress allow in
 * `website`. DNS to the cluster resolver is allowed for every namespace and
 * need not be declared.
 */

/** Pods in one namespace, optionally narrowed by labels. */
export interface PodsEndpoint {
  readonly kind: 'pods';
  readonly namespace: string;
  /**
   * Labels the pods carry.
   * @default - every pod in the namespace
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The Kubernetes API server (host network on the controllers, port 6443). */
export interface KubeApiServerEndpoint {
  readonly kind: 'kube-apiserver';
}

/** Host-network endpoints on the node network (kubelets, host-network agents, the load balancer's health checks). */
export interface NodesEndpoint {
  readonly kind: 'nodes';
}

/**
 * Public addresses: everything outside the private ranges (RFC 1918, the
 * cluster's pod and service ranges) and link-local (the metadata service is
 * never reachable, whatever is declared).
 */
export interface InternetEndpoint {
  readonly kind: 'internet';
}

/** Where traffic comes from or goes to. */
export type TrafficEndpoint = PodsEndpoint | KubeApiServerEndpoint | NodesEndpoint | InternetEndpoint;

/** A port or a port range. */
export interface TrafficPort {
  readonly port: number;
  /** Last port of a range, inclusive. */
  readonly endPort?: number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

/** One allowed connection, declared by the layer whose workloads need it. */
export interface TrafficRule {
  /** The side that opens the connection. */
  readonly from: TrafficEndpoint;
  /** The side that accepts it. */
  readonly to: TrafficEndpoint;
  /**
   * Destination ports.
   * @default - every port (only for pods talking to pods of the same namespace)
   */
  readonly ports?: readonly TrafficPort[];
  /** Why the connection exists, in a few words: it lands in the policy's annotation and in `verify`. */
  readonly reason: string;
}

/** Helpers to write endpoints tersely. */
export const endpoints = {
  pods: (namespace: string, labels?: Readonly<Record<string, string>>): PodsEndpoint =>
    labels ? { kind: 'pods', namespace, labels } : { kind: 'pods', namespace },
  kubeApiServer: { kind: 'kube-apiserver' } as KubeApiServerEndpoint,
  nodes: { kind: 'nodes' } as NodesEndpoint,
  internet: { kind: 'internet' } as InternetEndpoint,
} as const;

/**
 * Checks a rule and returns it, or throws naming what is wrong: at least one
 * end must be pods (a policy selects pods), ports are 1-65535 with ranges in
 * order, and only same-namespace pod rules may leave ports open.
 */
export function checkTrafficRule(rule: TrafficRule): TrafficRule {
  const where = `traffic rule "${rule.reason}"`;
  if (!rule.reason.trim()) throw new Error('traffic rule: reason is empty; say in a few words why the connection exists');
  if (rule.from.kind !== 'pods' && rule.to.kind !== 'pods') {
    throw new Error(`${where}: from ${rule.from.kind} to ${rule.to.kind} selects no pods; one end must be pods in a namespace`);
  }
  for (const p of rule.ports ?? []) {
    const bad = (n: number) => !Number.isInteger(n) || n < 1 || n > 65535;
    if (bad(p.port) || (p.endPort !== undefined && (bad(p.endPort) || p.endPort < p.port))) {
      throw new Error(`${where}: port ${p.port}${p.endPort !== undefined ? `-${p.endPort}` : ''} is not a port or an ordered range in 1-65535`);
    }
  }
  const sameNamespace = rule.from.kind === 'pods' && rule.to.kind === 'pods' && rule.from.namespace === rule.to.namespace;
  if (!sameNamespace && (rule.ports === undefined || rule.ports.length === 0)) {
    throw new Error(`${where}: no ports given; list the ports the connection uses (every port is allowed only between pods of one namespace)`);
  }
  return rule;
}
