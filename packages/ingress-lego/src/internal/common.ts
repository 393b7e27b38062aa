import type { FaultBudget } from '@keelson/platform-spec';
import type { ChartPdb, RequiredAntiAffinity } from '../charts';

/** Label cert-manager puts on its HTTP-01 solver pods. @see https://cert-manager.io/docs/configuration/acme/http01/ */
export const HTTP01_SOLVER_LABELS = { 'acme.cert-manager.io/http01-solver': 'true' } as const;
/** Port the HTTP-01 solver pods listen on. */
export const HTTP01_SOLVER_PORT = 8089;

/** At most one replica per node (or per zone, under the failure-domains model). */
export function antiAffinity(budget: FaultBudget, matchLabels: Readonly<Record<string, string>>): RequiredAntiAffinity {
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { ...matchLabels } }, topologyKey: budget.spreadTopologyKey }],
    },
  };
}

/** A voluntary disruption takes one replica at a time. */
export const ONE_AT_A_TIME: ChartPdb = { enabled: true, maxUnavailable: 1 };

export const POD_SECURITY = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } as const;
export const CONTAINER_SECURITY = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true } as const;

/** `cloud.example.com` -> `cloud-example-com`: a DNS label usable in object and listener names. */
export function slug(host: string): string {
  return host.replace(/\./g, '-');
}
