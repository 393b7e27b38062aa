import { ApiObject, Lazy } from 'cdk8s';
import { afterCrds, UpstreamManifests, type CrdInstaller, type LayerChart } from '@keelson/cluster-kit';
import { GATEWAY_API_CRDS } from '../charts';
import {
  GatewayClass,
  GatewaySpecListenersAllowedRoutesNamespacesFrom,
  GatewaySpecListenersTlsMode,
  HttpRoute,
  HttpRouteSpecRulesFiltersRequestRedirectScheme,
  HttpRouteSpecRulesFiltersRequestRedirectStatusCode,
  HttpRouteSpecRulesFiltersType,
  toJson_GatewaySpecListeners,
  type GatewaySpecListeners,
} from '../generated/gateway.networking.k8s.io';
import { slug } from './common';
import { ENTRYPOINT_PORTS } from './traefik';

/** The one public Gateway every exposed host attaches to. */
export const GATEWAY_NAME = 'public';
/** Listener for plain HTTP: the redirect and cert-manager's HTTP-01 solver routes. */
export const HTTP_LISTENER = 'http';
/** Traefik's Gateway API controller name. @see https://doc.traefik.io/traefik/v3.7/reference/install-configuration/providers/kubernetes/kubernetes-gateway/ */
export const TRAEFIK_GATEWAY_CONTROLLER = 'traefik.io/gateway-controller';
/** Gateway API allows at most 64 listeners on a Gateway; one is the HTTP listener. */
export const MAX_HTTPS_LISTENERS = 63;

/** One HTTPS listener: a host, the namespace allowed to attach routes to it, and its certificate's Secret. */
export interface HostListener {
  readonly host: string;
  readonly namespace: string;
  readonly name: string;
  readonly secretName: string;
}

/** The HTTPS listener name for a host. */
export function listenerName(host: string): string {
  return `https-${slug(host)}`;
}

/**
 * The Gateway API CRDs: an Argo CD Application of the upstream tag, before
 * the charts (Traefik's Gateway provider and cert-manager's gateway-shim
 * need the CRDs at start).
 */
export function installGatewayApiCrds(chart: LayerChart, namespace: string): UpstreamManifests {
  return new UpstreamManifests(chart, 'gateway-api-crds', {
    repoURL: GATEWAY_API_CRDS.repoURL,
    version: GATEWAY_API_CRDS.revision,
    path: GATEWAY_API_CRDS.path,
    include: GATEWAY_API_CRDS.include,
    namespace,
    // Before the charts: Traefik's Gateway provider and cert-manager's gateway-shim need the CRDs at start.
    syncWave: -1,
    // Never prune CRDs: deleting one deletes every route of that kind.
    prune: false,
    clusterResources: [
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
      // The standard install's safe-upgrades policy (refuses downgrades to experimental CRDs).
      { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicy' },
      { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicyBinding' },
    ],
  });
}

/**
 * Renders the Gateway API objects of the ingress layer: the GatewayClass, the
 * `public` Gateway (its HTTPS listeners are filled in at synth, one per
 * exposed host, so apps can call expose() after the layer exists) and the
 * HTTP to HTTPS redirect. They sync after `installers`: the CRDs'
 * Application and Traefik's, which implements the GatewayClass.
 */
export function renderGateway(chart: LayerChart, namespace: string, issuer: string, listeners: () => readonly HostListener[], installers: readonly CrdInstaller[]): void {
  const afterCharts = afterCrds(installers);
  new GatewayClass(chart, 'gateway-class', {
    metadata: { name: 'traefik', annotations: { ...afterCharts } },
    spec: { controllerName: TRAEFIK_GATEWAY_CONTROLLER },
  });

  const http: GatewaySpecListeners = {
    name: HTTP_LISTENER,
    port: ENTRYPOINT_PORTS.web,
    protocol: 'HTTP',
    // Only the redirect and cert-manager's solver routes (both in this namespace).
    allowedRoutes: { namespaces: { from: GatewaySpecListenersAllowedRoutesNamespacesFrom.SAME } },
  };
  const https = (l: HostListener): GatewaySpecListeners => ({
    name: l.name,
    hostname: l.host,
    port: ENTRYPOINT_PORTS.websecure,
    protocol: 'HTTPS',
    tls: { mode: GatewaySpecListenersTlsMode.TERMINATE, certificateRefs: [{ kind: 'Secret', name: l.secretName }] },
    // Only the namespace that exposed the host may attach routes to it.
    allowedRoutes: {
      namespaces: {
        from: GatewaySpecListenersAllowedRoutesNamespacesFrom.SELECTOR,
        selector: { matchLabels: { 'kubernetes.io/metadata.name': l.namespace } },
      },
    },
  });
  new ApiObject(chart, 'gateway', {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: {
      name: GATEWAY_NAME,
      namespace,
      // cert-manager's gateway-shim issues a Certificate for each HTTPS listener.
      // @see https://cert-manager.io/docs/usage/gateway/
      annotations: { ...afterCharts, 'cert-manager.io/cluster-issuer': issuer },
    },
    spec: {
      gatewayClassName: 'traefik',
      listeners: Lazy.any({ produce: () => [http, ...listeners().map(https)].map((l) => toJson_GatewaySpecListeners(l)) }),
    },
  });

  new HttpRoute(chart, 'https-redirect', {
    metadata: { name: 'https-redirect', namespace, annotations: { ...afterCharts } },
    spec: {
      parentRefs: [{ name: GATEWAY_NAME, sectionName: HTTP_LISTENER }],
      rules: [
        {
          filters: [
            {
              type: HttpRouteSpecRulesFiltersType.REQUEST_REDIRECT,
              requestRedirect: { scheme: HttpRouteSpecRulesFiltersRequestRedirectScheme.HTTPS, statusCode: HttpRouteSpecRulesFiltersRequestRedirectStatusCode.VALUE_301 },
            },
          ],
        },
      ],
    },
  });
}
