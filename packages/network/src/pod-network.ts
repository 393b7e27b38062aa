import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import { afterCrds, LayerChart, requiredAntiAffinity, UpstreamHelmChart, type ClusterResource, type RequiredAntiAffinity } from '@keelson/cluster-kit';
import { CLUSTER_NETWORK, type BootstrapStep, type LayerDeclarations, type PodNetworkLayer, type PlatformSpec, type TrafficEndpoint, type TrafficPort } from '@keelson/platform-spec';
import {
  CiliumClusterwideNetworkPolicy,
  type CiliumClusterwideNetworkPolicySpecs,
  type CiliumClusterwideNetworkPolicySpecsEgressToEntities,
  type CiliumClusterwideNetworkPolicySpecsEgressToPortsPortsProtocol,
  type CiliumClusterwideNetworkPolicySpecsIngressFromEntities,
  type CiliumClusterwideNetworkPolicySpecsIngressToPortsPortsProtocol,
} from './generated/cilium.io';
import { CoreDns } from './core-dns';
import { networkBootstrapStep } from './bootstrap';
import { allowDns, allowFor, defaultDeny, ruleKey, slug, type RuleEnd } from './internal/policies';

/**
 * The Cilium chart, pinned: 1.19.4, the release the committed Cilium policy
 * CRDs (CiliumClusterwideNetworkPolicy, CiliumNetworkPolicy) come from.
 *
 * @see https://github.com/cilium/cilium/tree/v1.19.4/install/kubernetes/cilium
 */
export const CILIUM_CHART = { repoURL: 'https://helm.cilium.io', chart: 'cilium', version: '1.19.4' } as const;

/**
 * The flannel chart, pinned (ships flannel v0.28.9 and, as its `netpol`
 * sidecar, kube-network-policies v1.0.0), spelt as the repository lists
 * it (`v0.28.9`).
 *
 * @see https://github.com/flannel-io/flannel/tree/master/chart/kube-flannel
 */
export const FLANNEL_CHART = { repoURL: 'https://flannel-io.github.io/flannel', chart: 'flannel', version: 'v0.28.9' } as const;

/**
 * The Cilium values Keelson sets, typed. Everything else keeps the chart's
 * default.
 *
 * @see https://github.com/cilium/cilium/blob/v1.19.4/install/kubernetes/cilium/values.yaml
 * @see https://docs.cilium.io/en/stable/security/network/encryption-wireguard/
 */
/**
 * The label selector of nodes Cilium leaves out of WireGuard node
 * encryption: a label no node carries, so every node, controllers
 * included, encrypts its host traffic.
 *
 * Not the empty string: Cilium parses the value with Kubernetes'
 * `labels.Parse`, and an empty selector matches every node (checked with
 * k8s.io/apimachinery: `labels.Parse("").Matches(...)` is true for any
 * labels), so "" would opt every node out, whatever Cilium's docs say.
 * Constellation overrides the default the same way, with a label no node
 * has. Cilium keeps the control plane out by default so a worker whose
 * WireGuard key changed can still reach the API server to publish the new
 * key; Keelson's nodes reach the API server through the cloud load balancer
 * (`k8sServiceHost`), whose connections come from the balancer's address,
 * not a node's, so they never ride the node-to-node tunnel and a new key is
 * always published.
 *
 * @see https://docs.cilium.io/en/stable/security/network/encryption-wireguard/ (Node-to-node encryption: the opt-out and why)
 * @see https://github.com/cilium/cilium/blob/v1.19.4/pkg/defaults/defaults.go (NodeEncryptionOptOutLabels)
 * @see https://github.com/cilium/cilium/blob/v1.19.4/pkg/wireguard/agent/agent.go (initLocalNodeFromWireGuard: k8sLabels.Parse, sel.Matches)
 * @see https://github.com/edgelesssys/constellation (its Cilium values: `--node-encryption-opt-out-labels=invalid.label`)
 */
export const NODE_ENCRYPTION_OPT_OUT_LABELS = 'keelson.dev/no-node-encryption';

export interface CiliumValues {
  /** The API server as nodes reach it (the load balancer), not the `kubernetes` Service: Cilium makes Services work. */
  readonly k8sServiceHost: string;
  readonly k8sServicePort: number;
  /** kube-proxy stays (kubeadm installs it); Cilium still balances ClusterIP traffic from pods itself. */
  readonly kubeProxyReplacement: 'false';
  /** VXLAN between nodes (the firewall opens UDP 8472 between nodes only), inside WireGuard. */
  readonly routingMode: 'tunnel';
  readonly tunnelProtocol: 'vxlan';
  /** Each node's pod range is the one the controller manager allocated from kubeadm's `podSubnet` (CLUSTER_NETWORK). */
  readonly ipam: { readonly mode: 'kubernetes' };
  readonly k8s: { readonly requireIPv4PodCIDR: true };
  readonly encryption: {
    readonly enabled: true;
    readonly type: 'wireguard';
    /** Node-to-node, pod-to-node and node-to-pod traffic too, not only pod-to-pod. */
    readonly nodeEncryption: boolean;
  };
  /**
   * Keys added to the `cilium-config` ConfigMap as they are. Only
   * `node-encryption-opt-out-labels`: the 1.19 chart has no value of its own
   * for it (its `encryption.wireguard` holds only `persistentKeepalive`, and
   * `templates/cilium-configmap.yaml` never writes the key), so the agent
   * keeps its default, `node-role.kubernetes.io/control-plane`, and every
   * controller (most nodes of a small Keelson cluster) opts out of node
   * encryption. See {@link NODE_ENCRYPTION_OPT_OUT_LABELS}.
   */
  readonly extraConfig: { readonly 'node-encryption-opt-out-labels': string };
  /** Lets `ipBlock` rules select nodes (the API server, kubelets), which Cilium otherwise only selects by entity. */
  readonly policyCIDRMatchMode: readonly 'nodes'[];
  /** Restart agents and operators when their configuration changes (Argo CD applies it). */
  readonly rollOutCiliumPods: true;
  readonly operator: {
    /** The fault budget's stateless replicas. */
    readonly replicas: number;
    /**
     * One operator per node (`any-third`, as the chart's default) or per zone
     * (`failure-domains`): a required anti-affinity on the budget's topology key.
     */
    readonly affinity: RequiredAntiAffinity;
    readonly rollOutPods: true;
    readonly podDisruptionBudget: { readonly enabled: true; readonly maxUnavailable: 1 };
  };
  /** Hubble's TLS certificates from a CronJob rather than generated at render time, so Argo CD sees no diff on every render. */
  readonly hubble: { readonly tls: { readonly auto: { readonly method: 'cronJob' } } };
  /**
   * The namespace the agents read TLS secrets of network policies from,
   * which the chart creates (its default, stated so the AppProject's
   * allowance follows the value).
   */
  readonly tls: { readonly secretsNamespace: { readonly create: true; readonly name: string } };
}

/**
 * The labels the Cilium chart gives its operator's pods (and selects them by).
 *
 * @see https://github.com/cilium/cilium/blob/v1.19.4/install/kubernetes/cilium/templates/cilium-operator/deployment.yaml
 */
const CILIUM_OPERATOR_LABELS = { 'io.cilium/app': 'operator' } as const;

/**
 * The namespace the Cilium chart creates for policy TLS secrets (with a Role
 * and RoleBinding for the agent and the operator in it).
 *
 * @see https://github.com/cilium/cilium/blob/v1.19.4/install/kubernetes/cilium/templates/cilium-secrets-namespace.yaml
 */
export const CILIUM_SECRETS_NAMESPACE = 'cilium-secrets';

/**
 * The flannel values Keelson sets, typed.
 *
 * @see https://github.com/flannel-io/flannel/blob/master/chart/kube-flannel/values.yaml
 * @see https://github.com/flannel-io/flannel/blob/master/Documentation/backends.md#wireguard
 */
export interface FlannelValues {
  /** Must equal kubeadm's `podSubnet`: flannel reads each node's range from the Node (`--kube-subnet-mgr`). */
  readonly podCidr: string;
  readonly flannel: {
    /** The in-kernel WireGuard backend (k3s calls it wireguard-native). */
    readonly backend: 'wireguard';
    /** UDP port of the WireGuard interface; the node firewall opens it between nodes only. */
    readonly backendPort: number;
  };
  /** kube-network-policies as a sidecar: flannel alone does not enforce NetworkPolicy. */
  readonly netpol: { readonly enabled: true };
}

/** Which chart the bootstrap Job and the Argo CD Application install, with the same values. */
export interface CniInstall {
  readonly repoURL: string;
  readonly chart: string;
  readonly version: string;
  readonly namespace: string;
  /** Helm release name: the one Argo CD's Application renders with. */
  readonly releaseName: string;
  readonly values: CiliumValues | FlannelValues;
}

/** Props for {@link PodNetwork}. */
export interface PodNetworkProps {
  /** The checked platform spec; `config.layers.network` picks Cilium or flannel. */
  readonly spec: PlatformSpec;
  /**
   * The API server address the CNI agents use before Services work.
   * @default - `api.<config.domain>` port 6443, the API load balancer
   */
  readonly apiServer?: { readonly host: string; readonly port: number };
}

/** WireGuard UDP port of flannel's backend (the node firewall opens it). */
const FLANNEL_WIREGUARD_PORT = 51820;

const RBAC: readonly ClusterResource[] = [
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
];

/**
 * The network layer: the pod network with WireGuard between nodes, the
 * cloud metadata service closed to pods, default-deny policies with the
 * allows every layer declared, and CoreDNS sized by the fault budget.
 *
 * The CNI is installed twice with the same values: once at bootstrap by a
 * Job (see {@link bootstrapManifests}; the cluster has no pod network
 * before it, so Argo CD cannot run first), then adopted and upgraded by an
 * Argo CD Application of the same pinned chart.
 *
 * Call {@link PodNetwork.enforce} once every layer is built.
 */
export class PodNetwork extends LayerChart implements LayerDeclarations, PodNetworkLayer<LayerChart> {
  /** `cilium` or `flannel`, from `config.layers.network`. */
  public readonly implementation: 'cilium' | 'flannel';
  /** The CNI's Argo CD Application. */
  public readonly cni: UpstreamHelmChart<CiliumValues | FlannelValues>;
  /** What the bootstrap Job installs: the same chart, version, release and values as {@link cni}. */
  public readonly cniInstall: CniInstall;
  public readonly coreDns: CoreDns;
  /** The layer ships CoreDNS (its bootstrap applies it), so `kubeadm init` skips its own. */
  public readonly replacesKubeadmAddons: readonly 'coredns'[] = ['coredns'];
  /**
   * The cluster-wide block of link-local addresses (the metadata service)
   * for every pod (Cilium only; with flannel the block is the default-deny
   * egress of the platform's namespaces).
   */
  public readonly metadataBlock?: CiliumClusterwideNetworkPolicy;
  private enforced = false;
  private readonly props: PodNetworkProps;

  constructor(scope: Construct, id: string, props: PodNetworkProps) {
    super(scope, id, { spec: props.spec, layer: 'network' });
    this.props = props;
    const { spec } = props;
    this.implementation = spec.config.layers.network;
    const api = props.apiServer ?? { host: `api.${spec.config.domain}`, port: 6443 };

    if (this.implementation === 'cilium') {
      const values: CiliumValues = {
        k8sServiceHost: api.host,
        k8sServicePort: api.port,
        kubeProxyReplacement: 'false',
        routingMode: 'tunnel',
        tunnelProtocol: 'vxlan',
        ipam: { mode: 'kubernetes' },
        k8s: { requireIPv4PodCIDR: true },
        encryption: { enabled: true, type: 'wireguard', nodeEncryption: true },
        extraConfig: { 'node-encryption-opt-out-labels': NODE_ENCRYPTION_OPT_OUT_LABELS },
        policyCIDRMatchMode: ['nodes'],
        rollOutCiliumPods: true,
        operator: {
          replicas: spec.budget.statelessReplicas,
          affinity: requiredAntiAffinity(spec.budget, CILIUM_OPERATOR_LABELS),
          rollOutPods: true,
          podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
        },
        hubble: { tls: { auto: { method: 'cronJob' } } },
        tls: { secretsNamespace: { create: true, name: CILIUM_SECRETS_NAMESPACE } },
      };
      this.cniInstall = { ...CILIUM_CHART, namespace: 'kube-system', releaseName: CILIUM_CHART.chart, values };
      this.cni = new UpstreamHelmChart<CiliumValues | FlannelValues>(this, 'cilium', {
        ...CILIUM_CHART,
        namespace: 'kube-system',
        values,
        clusterResources: RBAC,
        // The chart renders it and a Role and RoleBinding in it: the AppProject must allow both.
        createsNamespaces: [values.tls.secretsNamespace.name],
      });
      this.metadataBlock = new CiliumClusterwideNetworkPolicy(this, 'metadata-block', {
        metadata: { name: 'keelson-deny-link-local', annotations: this.afterCiliumCrds() },
        spec: {
          description:
            "Pods never reach link-local addresses, where the cloud metadata service (169.254.169.254) serves every server's user-data. Host-network components are not endpoints and keep their access.",
          // Every pod endpoint in every namespace.
          endpointSelector: {},
          // A deny rule alone must not put any pod into default-deny.
          // @see https://docs.cilium.io/en/stable/security/policy/language/#deny-policies
          enableDefaultDeny: { ingress: false, egress: false },
          egressDeny: [{ toCidrSet: [{ cidr: '169.254.0.0/16' }] }],
        },
      });
    } else {
      const values: FlannelValues = {
        podCidr: CLUSTER_NETWORK.podSubnet,
        flannel: { backend: 'wireguard', backendPort: FLANNEL_WIREGUARD_PORT },
        netpol: { enabled: true },
      };
      this.cniInstall = { ...FLANNEL_CHART, namespace: 'kube-flannel', releaseName: FLANNEL_CHART.chart, values };
      this.cni = new UpstreamHelmChart<CiliumValues | FlannelValues>(this, 'flannel', {
        ...FLANNEL_CHART,
        namespace: 'kube-flannel',
        values,
        clusterResources: RBAC,
      });
    }
    this.coreDns = new CoreDns(this, 'coredns', spec);
  }

  /** The CNI install the first controller runs before Argo CD exists (see {@link networkBootstrapStep}). */
  public bootstrapSteps(): readonly BootstrapStep[] {
    const { spec, ...props } = this.props;
    return [networkBootstrapStep(spec, props)];
  }

  /**
   * Renders default-deny networking for every namespace the given layers
   * create (preexisting ones such as kube-system are left open), and the
   * allows every layer declared with `allowTraffic`.
   *
   * Each policy goes into the chart that owns its namespace, so it syncs
   * with the namespace and a CNI swap touches no other folder: a
   * `default-deny`, an `allow-dns`, and one policy per declared rule end in
   * that namespace (egress at the `from` side, ingress at the `to` side),
   * named `allow-<egress|ingress>-<reason>` and annotated with the reason.
   * Identical declarations count once. Call it once, after every layer is
   * built; this layer is included even if not listed.
   */
  public enforce(layers: readonly LayerChart[]): void {
    if (this.enforced) throw new Error('PodNetwork.enforce: already called; call it once, with every layer');
    this.enforced = true;
    const charts = [...new Set<LayerChart>([this, ...layers])];

    const owners = new Map<string, LayerChart>();
    const preexisting = new Set<string>();
    for (const chart of charts) {
      for (const ns of chart.namespaces) {
        if (ns.preexisting) {
          preexisting.add(ns.name);
          continue;
        }
        const other = owners.get(ns.name);
        if (other && other !== chart) {
          throw new Error(`PodNetwork.enforce: namespace "${ns.name}" is owned by both layer ${other.layer.id} and layer ${chart.layer.id}; give it to one layer in platform-spec's planLayers`);
        }
        owners.set(ns.name, chart);
      }
    }
    const known = [...owners.keys(), ...preexisting].sort();

    const ends = new Map<string, RuleEnd[]>([...owners.keys()].map((ns) => [ns, []]));
    const seen = new Set<string>();
    for (const chart of charts) {
      for (const rule of chart.trafficRules) {
        const key = ruleKey(rule);
        if (seen.has(key)) continue;
        seen.add(key);
        for (const [direction, endpoint] of [['egress', rule.from], ['ingress', rule.to]] as const) {
          if (endpoint.kind !== 'pods') continue;
          if (!owners.has(endpoint.namespace) && !preexisting.has(endpoint.namespace)) {
            throw new Error(
              `PodNetwork.enforce: traffic rule "${rule.reason}" (declared by layer ${chart.layer.id}) names namespace "${endpoint.namespace}", which no layer owns (known: ${known.join(', ')}); fix the rule or add the namespace to a layer in platform-spec's planLayers`,
            );
          }
          if (preexisting.has(endpoint.namespace)) continue;
          ends.get(endpoint.namespace)?.push({ direction, namespace: endpoint.namespace, rule, declaredBy: chart.layer.id });
        }
      }
    }

    const hostSpecs: CiliumClusterwideNetworkPolicySpecs[] = [];
    for (const [namespace, owner] of owners) {
      new ApiObject(owner, `policy-${namespace}-default-deny`, defaultDeny(namespace));
      new ApiObject(owner, `policy-${namespace}-allow-dns`, allowDns(namespace));
      const names = new Set(['default-deny', 'allow-dns']);
      for (const end of ends.get(namespace) ?? []) {
        const base = `allow-${end.direction}-${slug(end.rule.reason, 48) || 'rule'}`;
        let name = base;
        for (let i = 2; names.has(name); i++) name = `${base}-${i}`;
        names.add(name);
        new ApiObject(owner, `policy-${namespace}-${name}`, allowFor(end, name));
        const host = hostSpec(end);
        if (host) hostSpecs.push(host);
      }
    }
    // Cilium also gets the host ends by entity: the same allows, matched on
    // the identity Cilium gives the API server and nodes, whatever address
    // the traffic carries through the tunnel.
    if (this.implementation === 'cilium' && hostSpecs.length > 0) {
      new CiliumClusterwideNetworkPolicy(this, 'host-allows', {
        metadata: { name: 'keelson-allow-host-entities', annotations: this.afterCiliumCrds() },
        specs: hostSpecs,
      });
    }
  }

  /**
   * Annotations of Keelson's Cilium policies. Their CRDs are not in the
   * chart: the Cilium operator registers them when it starts, and the agents
   * wait for them before they turn ready. So the policies sync after the
   * Cilium Application is healthy, and Argo CD skips their dry run while the
   * CRDs are missing (a cluster whose Cilium is not yet running).
   *
   * @see https://docs.cilium.io/en/stable/internals/cilium_operator/#crd-registration
   * @see https://github.com/cilium/cilium/blob/v1.19.4/install/kubernetes/cilium/values.yaml (`operator.skipCRDCreation`, `crdWaitTimeout`)
   */
  private afterCiliumCrds(): Record<string, string> {
    return afterCrds(this.cni);
  }
}

type Entity = 'kube-apiserver' | 'host' | 'remote-node';
const HOST_ENTITIES: Record<'kube-apiserver' | 'nodes', readonly Entity[]> = {
  'kube-apiserver': ['kube-apiserver'],
  nodes: ['host', 'remote-node'],
};

/** The Cilium entity rule for an end whose peer is the API server or the nodes, if it is one. */
function hostSpec(end: RuleEnd): CiliumClusterwideNetworkPolicySpecs | undefined {
  const own = end.direction === 'egress' ? end.rule.from : end.rule.to;
  const peer: TrafficEndpoint = end.direction === 'egress' ? end.rule.to : end.rule.from;
  if (own.kind !== 'pods' || (peer.kind !== 'kube-apiserver' && peer.kind !== 'nodes')) return undefined;
  const entities = HOST_ENTITIES[peer.kind];
  const ports = (end.rule.ports ?? []).map((p: TrafficPort) => ({
    port: String(p.port),
    ...(p.endPort !== undefined ? { endPort: p.endPort } : {}),
    protocol: p.protocol ?? 'TCP',
  }));
  const common = {
    description: `${end.direction} ${end.namespace}: ${end.rule.reason}`,
    endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': own.namespace, ...own.labels } },
    // Allows only: the namespace's NetworkPolicies already deny the rest.
    enableDefaultDeny: { ingress: false, egress: false },
  };
  return end.direction === 'egress'
    ? {
        ...common,
        egress: [
          {
            toEntities: entities.map((e) => e as CiliumClusterwideNetworkPolicySpecsEgressToEntities),
            toPorts: [{ ports: ports.map((p) => ({ ...p, protocol: p.protocol as CiliumClusterwideNetworkPolicySpecsEgressToPortsPortsProtocol })) }],
          },
        ],
      }
    : {
        ...common,
        ingress: [
          {
            fromEntities: entities.map((e) => e as CiliumClusterwideNetworkPolicySpecsIngressFromEntities),
            toPorts: [{ ports: ports.map((p) => ({ ...p, protocol: p.protocol as CiliumClusterwideNetworkPolicySpecsIngressToPortsPortsProtocol })) }],
          },
        ],
      };
}
