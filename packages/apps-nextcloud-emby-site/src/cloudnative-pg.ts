import { Construct } from 'constructs';
import { LayerChart, onePodAtATime, UpstreamHelmChart } from '@keelson/cluster-kit';
import { endpoints, type PlatformSpec } from '@keelson/platform-spec';
import { onePerFailureDomain } from './internal/workload';

/**
 * The CloudNativePG operator chart, pinned: chart 0.29.0 ships operator
 * 1.30.0, the version of the CRDs the `Cluster` binding is generated from.
 *
 * @see https://github.com/cloudnative-pg/charts/tree/main/charts/cloudnative-pg
 * @see https://github.com/cloudnative-pg/cloudnative-pg/releases/tag/v1.30.0
 */
export const CLOUDNATIVE_PG_CHART = { repoURL: 'https://cloudnative-pg.github.io/charts', chart: 'cloudnative-pg', version: '0.29.0' } as const;

/** Namespace the operator runs in (planned by platform-spec). */
export const CNPG_NAMESPACE = 'cnpg-system';

/** Labels of the operator pods: the chart's selector labels for release `cloudnative-pg`. */
export const CNPG_OPERATOR_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': 'cloudnative-pg',
  'app.kubernetes.io/instance': 'cloudnative-pg',
};

/** Port of the operator's admission webhooks (the chart's `webhook.port`). */
export const CNPG_WEBHOOK_PORT = 9443;
/** Port of the instance manager's status endpoint in every PostgreSQL pod. */
export const CNPG_STATUS_PORT = 8000;
/** PostgreSQL. */
export const POSTGRES_PORT = 5432;
/** The Kubernetes API server's port. */
export const KUBE_API_PORT = 6443;

/**
 * The part of the chart's values Keelson sets, typed.
 *
 * @see https://github.com/cloudnative-pg/charts/blob/main/charts/cloudnative-pg/values.yaml
 */
export interface CloudNativePgValues {
  /** Operator replicas; one leader is elected (`--leader-elect`), the others take over within seconds. */
  readonly replicaCount: number;
  /** Install the chart's CRDs (Cluster, Backup, Pooler, ...). */
  readonly crds: { readonly create: true };
  readonly affinity: object;
  readonly resources: { readonly requests: { readonly cpu: string; readonly memory: string }; readonly limits: { readonly cpu: string; readonly memory: string } };
  readonly monitoring: { readonly podMonitorEnabled: false; readonly grafanaDashboard: { readonly create: false } };
  readonly webhook: { readonly port: number };
}

/** Props for {@link CloudNativePgOperator}. */
export interface CloudNativePgOperatorProps {
  readonly spec: PlatformSpec;
  /**
   * Sync wave of the operator's Application inside the apps folder: before
   * the `Cluster` that needs its CRDs and webhooks.
   * @default -1
   */
  readonly syncWave?: number;
}

/**
 * The CloudNativePG operator from its pinned upstream chart, in
 * `cnpg-system`, with the traffic it needs declared on the layer.
 *
 * The operator performs PostgreSQL failover, so it runs k+1 leader-elected
 * replicas, one per node: losing the operator's node must not delay a
 * failover by the five minutes Kubernetes takes to evict a pod.
 *
 * @see https://cloudnative-pg.io/documentation/current/installation_upgrade/
 */
export class CloudNativePgOperator extends Construct {
  public readonly chart: UpstreamHelmChart<CloudNativePgValues>;

  constructor(scope: Construct, id: string, props: CloudNativePgOperatorProps) {
    super(scope, id);
    const layer = LayerChart.containing(this);
    const { budget } = props.spec;
    this.chart = new UpstreamHelmChart<CloudNativePgValues>(layer, `${id}-chart`, {
      ...CLOUDNATIVE_PG_CHART,
      namespace: CNPG_NAMESPACE,
      syncWave: props.syncWave ?? -1,
      values: {
        replicaCount: budget.statelessReplicas,
        crds: { create: true },
        affinity: onePerFailureDomain(budget, CNPG_OPERATOR_LABELS),
        resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
        monitoring: { podMonitorEnabled: false, grafanaDashboard: { create: false } },
        webhook: { port: CNPG_WEBHOOK_PORT },
      },
      // The chart's CRDs, its cluster-wide RBAC and its admission webhooks.
      clusterResources: [
        { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
        { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' },
        { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' },
      ],
    });
    // The chart renders no PodDisruptionBudget (it has no such value): a drain takes one operator replica at a time.
    onePodAtATime(layer, `${id}-pdb`, { namespace: CNPG_NAMESPACE, name: 'cloudnative-pg', matchLabels: CNPG_OPERATOR_LABELS });
    const operator = endpoints.pods(CNPG_NAMESPACE, CNPG_OPERATOR_LABELS);
    layer.allowTraffic({ from: operator, to: endpoints.kubeApiServer, ports: [{ port: KUBE_API_PORT }], reason: 'CloudNativePG operator watches and manages its resources' });
    layer.allowTraffic({ from: endpoints.kubeApiServer, to: operator, ports: [{ port: CNPG_WEBHOOK_PORT }], reason: 'API server calls the CloudNativePG admission webhooks' });
  }

  /**
   * Declares what a `Cluster` named `clusterName` in `namespace` needs: the
   * operator reaching its instances, the instances reaching the API server
   * (their instance manager) and each other (streaming replication, status).
   */
  public allowClusterTraffic(namespace: string, clusterName: string): void {
    const layer = LayerChart.containing(this);
    const instances = endpoints.pods(namespace, { 'cnpg.io/cluster': clusterName });
    const operator = endpoints.pods(CNPG_NAMESPACE, CNPG_OPERATOR_LABELS);
    layer.allowTraffic({
      from: operator,
      to: instances,
      ports: [{ port: CNPG_STATUS_PORT }, { port: POSTGRES_PORT }],
      reason: `CloudNativePG operator checks and manages ${clusterName} instances`,
    });
    layer.allowTraffic({ from: instances, to: endpoints.kubeApiServer, ports: [{ port: KUBE_API_PORT }], reason: `${clusterName} instance managers read their Cluster and hold the primary lease` });
    layer.allowTraffic({
      from: instances,
      to: instances,
      ports: [{ port: POSTGRES_PORT }, { port: CNPG_STATUS_PORT }],
      reason: `${clusterName} streaming replication and instance status between instances`,
    });
  }
}
