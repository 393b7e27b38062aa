import type { PlatformConfig } from './config-schema';
import { assignFailureDomains } from './fault-budget';

/** What a node does. Controllers are etcd members and API servers and also run workloads. */
export type NodeRole = 'controller' | 'worker';

/** One node of the platform, with a name that never changes for its lifetime. */
export interface NodeSpec {
  /** Stable name: `<cluster>-controller-<i>` or `<cluster>-worker-<i>` (1-based). */
  readonly name: string;
  readonly role: NodeRole;
  /** 1-based index within its role. */
  readonly index: number;
  /** Droplet size slug. */
  readonly size: string;
  /** Whether this node runs an etcd member (every controller does). */
  readonly etcdMember: boolean;
  /** Failure domain (`zone-a`, ...) under the `failure-domains` model; the region otherwise. */
  readonly failureDomain: string;
  /** Kubernetes node labels the platform sets (role and zone). */
  readonly labels: Readonly<Record<string, string>>;
}

/** The node list derived from the config. */
export interface Topology {
  readonly nodes: readonly NodeSpec[];
  readonly controllers: readonly NodeSpec[];
  readonly workers: readonly NodeSpec[];
  /** Names of the failure domains, in order. */
  readonly failureDomains: readonly string[];
}

const domainName = (i: number) => `zone-${String.fromCharCode(97 + i)}`;

/**
 * Derives the node list from the config.
 *
 * Names depend only on role and index, so adding workers appends nodes and
 * never renames or moves an existing one.
 */
export function deriveTopology(config: PlatformConfig): Topology {
  const { controllers, workers } = config.nodes;
  const fm = config.faultModel;
  const domains = fm.type === 'failure-domains' ? fm.domains : 1;
  const placement = assignFailureDomains(controllers.count, workers.count, domains);
  const failureDomains =
    fm.type === 'failure-domains' ? Array.from({ length: domains }, (_, i) => domainName(i)) : [config.provider.region];

  const nodes: NodeSpec[] = placement.map((d, i) => {
    const role: NodeRole = i < controllers.count ? 'controller' : 'worker';
    const index = role === 'controller' ? i + 1 : i - controllers.count + 1;
    const failureDomain = failureDomains[d];
    return {
      name: `${config.cluster.name}-${role}-${index}`,
      role,
      index,
      size: role === 'controller' ? controllers.size : workers.size,
      etcdMember: role === 'controller',
      failureDomain,
      labels: {
        'keelson.dev/role': role,
        'topology.kubernetes.io/region': config.provider.region,
        'topology.kubernetes.io/zone': failureDomain,
      },
    };
  });
  return {
    nodes,
    controllers: nodes.filter((n) => n.role === 'controller'),
    workers: nodes.filter((n) => n.role === 'worker'),
    failureDomains,
  };
}
