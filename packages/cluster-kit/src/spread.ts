import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import type { FaultBudget } from '@keelson/platform-spec';

/** A required pod anti-affinity, as a pod spec's `affinity`. */
export interface RequiredAntiAffinity {
  readonly podAntiAffinity: {
    readonly requiredDuringSchedulingIgnoredDuringExecution: readonly { readonly labelSelector: { readonly matchLabels: Record<string, string> }; readonly topologyKey: string }[];
  };
}

/**
 * At most one of the selected pods per node (or per zone under the
 * failure-domains model), so losing k nodes takes at most k replicas.
 */
export function requiredAntiAffinity(budget: FaultBudget, matchLabels: Readonly<Record<string, string>>): RequiredAntiAffinity {
  return { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { ...matchLabels } }, topologyKey: budget.spreadTopologyKey }] } };
}

/** Unreachable and not-ready NoExecute tolerations: a singleton leaves a lost node after `seconds`, not the default 300. */
export function leaveLostNodeAfter(seconds: number): { key: string; operator: 'Exists'; effect: 'NoExecute'; tolerationSeconds: number }[] {
  return ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists' as const, effect: 'NoExecute' as const, tolerationSeconds: seconds }));
}

/**
 * A PodDisruptionBudget that lets a drain evict one of the selected pods at a
 * time, for an upstream workload whose chart or manifests render none.
 */
export function onePodAtATime(scope: Construct, id: string, props: { readonly namespace: string; readonly name: string; readonly matchLabels: Readonly<Record<string, string>> }): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: props.name, namespace: props.namespace },
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...props.matchLabels } } },
  });
}
