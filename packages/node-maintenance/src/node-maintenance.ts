import type { Construct } from 'constructs';
import { LayerChart, leaveLostNodeAfter, onePodAtATime, requiredAntiAffinity, UpstreamHelmChart, type RequiredAntiAffinity } from '@keelson/cluster-kit';
import { endpoints, NODE_NETWORK_CIDR, RECOVERY, type PlatformSpec } from '@keelson/platform-spec';

/**
 * The kured chart, pinned (chart 6.0.0 ships kured 1.22.1).
 *
 * @see https://github.com/kubereboot/charts/tree/main/charts/kured
 */
export const KURED_CHART = { repoURL: 'https://kubereboot.github.io/charts', chart: 'kured', version: '6.0.0' } as const;

/** The part of the chart's values Keelson sets, typed. @see https://github.com/kubereboot/charts/blob/main/charts/kured/values.yaml */
export interface KuredValues {
  readonly configuration: {
    /** Nodes rebooting at once. */
    readonly concurrency: number;
    /** The file whose presence asks for a reboot (Flatcar's /var/run is /run). */
    readonly rebootSentinel: string;
    /** How often each node checks for the sentinel. */
    readonly period: string;
    /** Never reboot a node whose drain did not finish: a blocked drain means a PodDisruptionBudget is at its limit. */
    readonly forceReboot: false;
    /** Wait for the drain as long as it takes ("0" is no timeout). */
    readonly drainTimeout: string;
    /** Keep the lock a while after the node is back, so the next reboot waits for its pods to be ready again. */
    readonly lockReleaseDelay: string;
  };
  readonly resources: { readonly requests: { readonly cpu: string; readonly memory: string }; readonly limits: { readonly memory: string } };
}

/**
 * kubelet-csr-approver, pinned: approves kubelet serving-certificate requests
 * from this cluster's nodes only, so the API server can verify kubelets
 * against the cluster CA (`--kubelet-certificate-authority`).
 *
 * @see https://github.com/postfinance/kubelet-csr-approver
 */
export const KUBELET_CSR_APPROVER_CHART = { repoURL: 'https://postfinance.github.io/kubelet-csr-approver', chart: 'kubelet-csr-approver', version: '1.2.13' } as const;

/** The approver's values Keelson sets. */
export interface KubeletCsrApproverValues {
  /** Node names allowed to get a serving certificate. */
  readonly providerRegex: string;
  /** Addresses a certificate may name: the node network. */
  readonly providerIpPrefixes: readonly string[];
  /** Node names are not in DNS; the IP check above stands in. */
  readonly bypassDnsResolution: true;
  readonly podSecurityContext: { readonly seccompProfile: { readonly type: 'RuntimeDefault' } };
  /** k+1 replicas (one leads, through leader election): the chart's default of 2 is short of the fault budget. */
  readonly replicas: number;
  /** One replica per node (or zone): the chart sets no spread of its own. */
  readonly affinity: RequiredAntiAffinity;
  /**
   * It may run on controllers, and leaves an unreachable or not-ready node
   * after {@link APPROVER_FAILOVER_SECONDS}.
   */
  readonly tolerations: readonly { readonly key: string; readonly operator: 'Exists' | 'Equal'; readonly effect: 'NoSchedule' | 'NoExecute'; readonly tolerationSeconds?: number }[];
}

/**
 * The approver's pod labels, as the chart's `selectorLabels` make them for
 * the release `kubelet-csr-approver`.
 * @see https://github.com/postfinance/kubelet-csr-approver/blob/v1.2.13/charts/kubelet-csr-approver/templates/_helpers.tpl
 */
export const APPROVER_POD_LABELS = { 'app.kubernetes.io/name': 'kubelet-csr-approver', 'app.kubernetes.io/instance': 'kubelet-csr-approver' } as const;

/** Seconds kubelet-csr-approver stays on an unreachable or not-ready node (the platform's recovery bound). */
export const APPROVER_FAILOVER_SECONDS = RECOVERY.failoverTolerationSeconds;

export interface NodeMaintenanceProps {
  readonly spec: PlatformSpec;
  /**
   * How long the reboot lock is held after a node is back up.
   * @default '5m'
   */
  readonly lockReleaseDelay?: string;
}

/**
 * The maintenance layer.
 *
 * kured reboots nodes that flagged `/run/reboot-required` (staged Flatcar or
 * Kubernetes updates), one at a time. It drains through the eviction API, so a
 * drain that would break a PodDisruptionBudget waits, and it never forces a
 * reboot: a reboot cannot take the cluster past its fault budget.
 *
 * kubelet-csr-approver signs off kubelet serving certificates for this
 * cluster's nodes, so API server to kubelet TLS is verified.
 *
 * @see https://kured.dev/docs/
 */
export class NodeMaintenance extends LayerChart {
  public readonly kured: UpstreamHelmChart<KuredValues>;
  public readonly csrApprover: UpstreamHelmChart<KubeletCsrApproverValues>;

  constructor(scope: Construct, id: string, props: NodeMaintenanceProps) {
    super(scope, id, { spec: props.spec, layer: 'maintenance' });
    const values: KuredValues = {
      configuration: {
        concurrency: 1,
        rebootSentinel: '/var/run/reboot-required',
        period: '10m',
        forceReboot: false,
        drainTimeout: '0',
        lockReleaseDelay: props.lockReleaseDelay ?? '5m',
      },
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
    };
    this.kured = new UpstreamHelmChart(this, 'kured', {
      ...KURED_CHART,
      namespace: 'kured',
      values,
      // The chart's RBAC: it cordons, drains and labels nodes cluster-wide.
      clusterResources: [
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
    });
    this.csrApprover = new UpstreamHelmChart(this, 'kubelet-csr-approver', {
      ...KUBELET_CSR_APPROVER_CHART,
      namespace: 'kubelet-csr-approver',
      values: {
        providerRegex: `^${props.spec.config.cluster.name}-(controller|worker)-[0-9]+$`,
        providerIpPrefixes: [NODE_NETWORK_CIDR],
        bypassDnsResolution: true,
        podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        replicas: props.spec.budget.statelessReplicas,
        affinity: requiredAntiAffinity(props.spec.budget, APPROVER_POD_LABELS),
        tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }, ...leaveLostNodeAfter(APPROVER_FAILOVER_SECONDS)],
      },
      clusterResources: [
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
    });
    // The chart renders no PodDisruptionBudget: a drain takes one approver at a time.
    onePodAtATime(this, 'kubelet-csr-approver-pdb', { namespace: 'kubelet-csr-approver', name: 'kubelet-csr-approver', matchLabels: APPROVER_POD_LABELS });
    // Both only talk to the API server (everything else in their namespaces is denied).
    this.allowTraffic({ from: endpoints.pods('kured'), to: endpoints.kubeApiServer, ports: [{ port: 6443 }], reason: 'kured takes the reboot lock, cordons and drains through the API server' });
    this.allowTraffic({
      from: endpoints.pods('kubelet-csr-approver'),
      to: endpoints.kubeApiServer,
      ports: [{ port: 6443 }],
      reason: 'kubelet-csr-approver watches and approves certificate signing requests',
    });
  }
}
