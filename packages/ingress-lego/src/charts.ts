/**
 * Upstream software the ingress layer installs, pinned in one place, with
 * the part of each chart's values Keelson sets, typed.
 */

/**
 * cert-manager, pinned to the release whose CRDs the bindings in
 * `src/generated/cert-manager.io.ts` were generated from, spelt as the
 * Jetstack repository lists it (`v1.21.1`).
 *
 * @see https://github.com/cert-manager/cert-manager/blob/v1.21.1/deploy/charts/cert-manager/values.yaml
 */
export const CERT_MANAGER_CHART = { repoURL: 'https://charts.jetstack.io', chart: 'cert-manager', version: 'v1.21.1' } as const;

/**
 * Traefik Proxy: chart 41.1.0 ships Traefik v3.7.9, the release whose CRDs
 * the bindings in `src/generated/traefik.io.ts` were generated from. Since
 * chart 41 the Gateway API CRDs are no longer in the chart (see
 * {@link GATEWAY_API_CRDS}).
 *
 * @see https://github.com/traefik/traefik-helm-chart/pull/1947 (publish 41.1.0: Traefik v3.7.9)
 * @see https://github.com/traefik/traefik-helm-chart/pull/1850 (Gateway API CRDs removed from the chart)
 */
export const TRAEFIK_CHART = { repoURL: 'https://traefik.github.io/charts', chart: 'traefik', version: '41.1.0' } as const;

/** Image tags, pinned even though each chart defaults to them, so an image never changes without a diff here. */
export const INGRESS_IMAGES = { certManager: 'v1.21.1', traefik: 'v3.7.9' } as const;

/**
 * Gateway API standard-channel CRDs v1.6.1 (the ones the bindings in
 * `src/generated/gateway.networking.k8s.io.ts` come from), applied by Argo CD
 * straight from the upstream repository's tag: plain manifests, no chart.
 *
 * @see https://github.com/kubernetes-sigs/gateway-api/tree/v1.6.1/config/crd/standard
 */
export const GATEWAY_API_CRDS = {
  repoURL: 'https://github.com/kubernetes-sigs/gateway-api.git',
  revision: 'v1.6.1',
  path: 'config/crd/standard',
  include: 'gateway.networking.k8s.io_*.yaml',
} as const;

interface Resources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

interface PodSecurity {
  readonly runAsNonRoot: true;
  readonly seccompProfile: { readonly type: 'RuntimeDefault' };
}

interface ContainerSecurity {
  readonly allowPrivilegeEscalation: false;
  readonly capabilities: { readonly drop: readonly ['ALL'] };
  readonly readOnlyRootFilesystem: true;
}

/** A required pod anti-affinity: at most one replica per node (or zone). */
export interface RequiredAntiAffinity {
  readonly podAntiAffinity: {
    readonly requiredDuringSchedulingIgnoredDuringExecution: readonly {
      readonly labelSelector: { readonly matchLabels: Readonly<Record<string, string>> };
      readonly topologyKey: string;
    }[];
  };
}

/** A PodDisruptionBudget as the charts take it. */
export interface ChartPdb {
  readonly enabled: true;
  readonly maxUnavailable: number;
}

/** One cert-manager component (controller, webhook, cainjector) as the chart takes it. */
interface CertManagerComponent {
  readonly replicaCount: number;
  readonly podDisruptionBudget: ChartPdb;
  readonly affinity: RequiredAntiAffinity;
  readonly resources: Resources;
  readonly securityContext: PodSecurity;
  readonly containerSecurityContext: ContainerSecurity;
  readonly image: { readonly tag: string };
}

/**
 * The cert-manager chart values Keelson sets.
 *
 * @see https://github.com/cert-manager/cert-manager/blob/v1.21.1/deploy/charts/cert-manager/values.yaml
 */
export interface CertManagerValues extends CertManagerComponent {
  /** CRDs installed and kept by the chart (uninstalling the chart must not delete every Certificate). */
  readonly crds: { readonly enabled: true; readonly keep: true };
  /** Leader election in cert-manager's own namespace rather than kube-system. */
  readonly global: { readonly leaderElection: { readonly namespace: string } };
  /** Controller configuration; `enableGatewayAPI` turns on the gateway-shim and the gatewayHTTPRoute solver. */
  readonly config: { readonly enableGatewayAPI: boolean };
  readonly webhook: CertManagerComponent;
  readonly cainjector: CertManagerComponent;
  readonly acmesolver: { readonly image: { readonly tag: string } };
  /** The post-install hook Job is off: Argo CD's health checks already wait for the webhook. */
  readonly startupapicheck: { readonly enabled: false };
}

/** One Traefik entry point's settings Keelson sets. */
export interface TraefikEntryPointValues {
  readonly nodePort: number;
  /** PROXY protocol v1/v2 accepted only from these sources (the load balancer, inside the node network). */
  readonly proxyProtocol: { readonly trustedIPs: readonly string[] };
  readonly http?: {
    readonly redirections?: { readonly entryPoint: { readonly to: string; readonly scheme: 'https'; readonly permanent: true; readonly priority: number } };
    readonly middlewares?: readonly string[];
    readonly tls?: { readonly enabled: true };
  };
}

/**
 * The Traefik chart values Keelson sets.
 *
 * @see https://github.com/traefik/traefik-helm-chart/blob/v41.1.0/traefik/values.yaml
 */
export interface TraefikValues {
  readonly image: { readonly tag: string };
  readonly deployment: { readonly replicas: number };
  readonly podDisruptionBudget: ChartPdb;
  readonly affinity: RequiredAntiAffinity;
  readonly ingressClass: { readonly enabled: boolean; readonly isDefaultClass: false; readonly name: string };
  readonly providers: {
    readonly kubernetesCRD: { readonly enabled: true; readonly allowCrossNamespace: false };
    readonly kubernetesIngress: { readonly enabled: boolean };
    readonly kubernetesGateway: { readonly enabled: boolean };
  };
  /** The chart's own Gateway and GatewayClass are off: Keelson renders its own. */
  readonly gateway: { readonly enabled: false };
  readonly gatewayClass: { readonly enabled: false };
  readonly ports: { readonly web: TraefikEntryPointValues; readonly websecure: TraefikEntryPointValues };
  /** Since chart 40 the Service takes Kubernetes' own spec syntax. */
  readonly service: { readonly spec: { readonly type: 'NodePort'; readonly externalTrafficPolicy: 'Local' } };
  readonly resources: Resources;
  readonly podSecurityContext: PodSecurity & { readonly runAsUser: number; readonly runAsGroup: number };
  readonly securityContext: ContainerSecurity;
  readonly global: { readonly checkNewVersion: false; readonly sendAnonymousUsage: false };
}
