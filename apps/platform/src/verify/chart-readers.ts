import { isRecord } from './types';

/**
 * How the fault-tolerance proof reads upstream charts: one reader per chart
 * (by `spec.source.chart` of the Argo CD Application), turning its
 * `valuesObject` into the workloads the chart renders, with the chart's own
 * defaults where a value is not set. A chart missing here is reported as
 * "not analysed" (a warning), never passed silently: add a reader.
 *
 * Kept in one table so a chart upgrade that renames a value is one edit.
 */

/** A workload an upstream chart renders, as the proof needs it. */
export interface ChartWorkload {
  /** The component, e.g. `webhook`; the proof names it `<Application>/<component>`. */
  readonly component: string;
  /** Replicas, or `daemon` for a DaemonSet (one per eligible node). */
  readonly replicas: number | 'daemon';
  /** The pod's `affinity` (anti-affinity decides how many replicas share a node). */
  readonly affinity?: unknown;
  readonly topologySpreadConstraints?: unknown;
  readonly nodeSelector?: unknown;
  readonly tolerations?: unknown;
  /** Whether the chart renders a PodDisruptionBudget for it. */
  readonly pdb: boolean;
  /** Where the reader took the chart's defaults from. */
  readonly source: string;
}

export type ChartReader = (values: Record<string, unknown>) => ChartWorkload[];

const get = (values: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, key) => (isRecord(v) ? v[key] : undefined), values);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : fallback);
const on = (v: unknown, fallback = false): boolean => (typeof v === 'boolean' ? v : fallback);

/** A component whose values sit under `prefix` with the usual names (`replicaCount`, `affinity`, `podDisruptionBudget.enabled`, ...). */
function component(values: unknown, name: string, prefix: string, replicasKey: string, source: string, defaults: Partial<ChartWorkload> = {}): ChartWorkload {
  const at = (key: string) => get(values, prefix ? `${prefix}.${key}` : key);
  return {
    component: name,
    replicas: num(at(replicasKey), typeof defaults.replicas === 'number' ? defaults.replicas : 1),
    affinity: at('affinity') ?? defaults.affinity,
    topologySpreadConstraints: at('topologySpreadConstraints'),
    nodeSelector: at('nodeSelector'),
    tolerations: at('tolerations') ?? defaults.tolerations,
    pdb: on(at('podDisruptionBudget.enabled'), defaults.pdb ?? false),
    source,
  };
}

/** The unreachable/not-ready tolerations the rook-ceph chart gives its operator (`unreachableNodeTolerationSeconds`, default 5). */
const rookTolerations = (seconds: number) => [
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds },
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds },
];

/**
 * The readers, by chart name. Each cites the values file it follows.
 */
export const CHART_READERS: Readonly<Record<string, ChartReader>> = {
  /** @see https://github.com/traefik/traefik-helm-chart/blob/v41.1.0/traefik/values.yaml (`deployment.kind`, `deployment.replicas`, `affinity`, `podDisruptionBudget`) */
  traefik: (v) => {
    const daemon = get(v, 'deployment.kind') === 'DaemonSet';
    const w = component(v, 'traefik', '', 'deployment.replicas', 'traefik values.yaml');
    return [{ ...w, replicas: daemon ? 'daemon' : w.replicas }];
  },
  /** @see https://github.com/cert-manager/cert-manager/blob/v1.21.1/deploy/charts/cert-manager/values.yaml (`replicaCount`, `webhook.*`, `cainjector.*`; PDBs off by default) */
  'cert-manager': (v) => [
    component(v, 'controller', '', 'replicaCount', 'cert-manager values.yaml'),
    component(v, 'webhook', 'webhook', 'replicaCount', 'cert-manager values.yaml'),
    ...(on(get(v, 'cainjector.enabled'), true) ? [component(v, 'cainjector', 'cainjector', 'replicaCount', 'cert-manager values.yaml')] : []),
  ],
  /**
   * The agent is a DaemonSet; the operator defaults to 2 replicas with a
   * required anti-affinity on the hostname.
   * @see https://github.com/cilium/cilium/blob/main/Documentation/helm-values.rst (`operator.replicas`, `operator.affinity`, `operator.podDisruptionBudget.enabled`)
   */
  cilium: (v) => [
    { component: 'agent', replicas: 'daemon', pdb: false, nodeSelector: get(v, 'nodeSelector'), source: 'cilium helm-values' },
    component(v, 'operator', 'operator', 'replicas', 'cilium helm-values', {
      replicas: 2,
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'io.cilium/app': 'operator' } }, topologyKey: 'kubernetes.io/hostname' }] } },
    }),
  ],
  /** @see https://github.com/flannel-io/flannel/blob/master/chart/kube-flannel/values.yaml (a DaemonSet only) */
  flannel: () => [{ component: 'flannel', replicas: 'daemon', pdb: false, source: 'flannel values.yaml' }],
  /**
   * The operator is one replica that leaves an unreachable node after
   * `unreachableNodeTolerationSeconds` (default 5); the Ceph daemons it runs
   * are read from the CephCluster itself.
   * @see https://github.com/rook/rook/blob/v1.20.6/deploy/charts/rook-ceph/values.yaml
   */
  'rook-ceph': (v) => [
    { component: 'operator', replicas: 1, pdb: false, nodeSelector: get(v, 'nodeSelector'), tolerations: [...rookTolerations(num(get(v, 'unreachableNodeTolerationSeconds'), 5)), ...((get(v, 'tolerations') as unknown[]) ?? [])], source: 'rook-ceph values.yaml' },
  ],
  /**
   * One server replica (the chart has no replica count), and the node agent
   * as a DaemonSet when `deployNodeAgent`.
   * @see https://github.com/vmware-tanzu/helm-charts/blob/main/charts/velero/values.yaml
   */
  velero: (v) => [
    component(v, 'server', '', 'replicas', 'velero values.yaml'),
    ...(on(get(v, 'deployNodeAgent')) ? [{ component: 'node-agent', replicas: 'daemon' as const, pdb: false, nodeSelector: get(v, 'nodeAgent.nodeSelector'), source: 'velero values.yaml' }] : []),
  ],
  /** @see https://github.com/cloudnative-pg/charts/blob/main/charts/cloudnative-pg/values.yaml (`replicaCount`, `affinity`, `podDisruptionBudget`) */
  'cloudnative-pg': (v) => [component(v, 'operator', '', 'replicaCount', 'cloudnative-pg values.yaml')],
  /** @see https://github.com/kubereboot/charts/blob/main/charts/kured/values.yaml (a DaemonSet) */
  kured: (v) => [{ component: 'kured', replicas: 'daemon', pdb: false, nodeSelector: get(v, 'nodeSelector'), source: 'kured values.yaml' }],
  /** @see https://github.com/postfinance/kubelet-csr-approver/blob/main/charts/kubelet-csr-approver/values.yaml (`replicaCount`, default 1) */
  'kubelet-csr-approver': (v) => [component(v, 'approver', '', 'replicaCount', 'kubelet-csr-approver values.yaml')],
};
