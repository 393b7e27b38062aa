import { ApiObject } from 'cdk8s';
import type { Construct, IConstruct } from 'constructs';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { afterCrds, LayerChart, type UpstreamHelmChart, type UpstreamManifests } from '@keelson/cluster-kit';
import { endpoints, type ExposedService, type ExposeOptions, type IngressLayer, type IngressLayerChoice, type PlatformSpec, type ServiceRef } from '@keelson/platform-spec';
import type { CertManagerValues, TraefikValues } from './charts';
import { HttpRoute, HttpRouteSpecRulesMatchesPathType } from './generated/gateway.networking.k8s.io';
import { CERT_MANAGER_NAMESPACE, installCertManager, ISSUER_NAMES } from './internal/cert-manager';
import { HTTP01_SOLVER_LABELS, HTTP01_SOLVER_PORT, slug } from './internal/common';
import { GATEWAY_NAME, HTTP_LISTENER, installGatewayApiCrds, listenerName, MAX_HTTPS_LISTENERS, renderGateway, type HostListener } from './internal/gateway';
import { INGRESS_CLASS, installTraefik, TRAEFIK_POD_LABELS } from './internal/traefik';

/** Node ports the ingress load balancer forwards 80 and 443 to. */
export interface IngressNodePorts {
  readonly http: number;
  readonly https: number;
}

/** Props for {@link Ingress}. */
export interface IngressProps {
  /** The checked platform spec; `config.layers.ingress` picks the implementation. */
  readonly spec: PlatformSpec;
  /**
   * Node ports of the controller's Service, which the cloud's ingress load
   * balancer targets on every node (pass {@link Ingress.loadBalancerTarget}
   * to the node provider).
   * @default { http: 30080, https: 30443 }
   */
  readonly nodePorts?: IngressNodePorts;
}

const DEFAULT_NODE_PORTS: IngressNodePorts = { http: 30080, https: 30443 };
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The ingress layer: every public service behind Let's Encrypt TLS with one
 * call to {@link Ingress.expose}.
 *
 * Installs cert-manager with ClusterIssuers for Let's Encrypt staging and
 * production (HTTP-01 through the controller for every exposed host; no
 * wildcard names, so no DNS API) and Traefik as the controller, in one of two shapes chosen
 * by `config.layers.ingress`:
 *
 * - `traefik`: Kubernetes Ingress objects with the `traefik` IngressClass;
 *   cert-manager's ingress-shim issues each host's certificate.
 * - `gateway-api`: the Gateway API (standard channel) with Traefik as its
 *   implementation: one `public` Gateway with an HTTPS listener per exposed
 *   host, HTTPRoutes in the apps' namespaces, and cert-manager's
 *   gateway-shim issuing each listener's certificate.
 *
 * Apps call only expose(), so switching one line of config changes this
 * layer and the route objects, nothing else. Either way Traefik runs k+1
 * replicas at most one per node, behind NodePorts with
 * `externalTrafficPolicy: Local` that the load balancer health-checks,
 * redirects HTTP to HTTPS, refuses TLS below 1.2, sends HSTS and reads the
 * client address from PROXY protocol.
 *
 * @see https://cert-manager.io/docs/usage/ingress/
 * @see https://cert-manager.io/docs/usage/gateway/
 */
export class Ingress extends LayerChart implements IngressLayer {
  /** Which implementation the config chose. */
  public readonly implementation: IngressLayerChoice;
  /**
   * Namespace of the controller (Traefik) pods.
   *
   * This is also cdk8s' default namespace for objects of this chart; it is
   * set once every object here is created, each with its namespace stated.
   */
  public override readonly namespace: string;
  public readonly loadBalancerTarget: { readonly http: number; readonly https: number; readonly proxyProtocol: boolean };
  /** The ClusterIssuer certificates use: `letsencrypt-staging` until `acme.environment` says production. */
  public readonly issuer: string;
  public readonly certManager: UpstreamHelmChart<CertManagerValues>;
  public readonly traefik: UpstreamHelmChart<TraefikValues>;
  /** The Gateway API CRDs' Application, under `gateway-api`. */
  public readonly gatewayApiCrds?: UpstreamManifests;
  private readonly domain: string;
  private readonly controllerNamespace: string;
  private readonly hosts = new Map<string, HostListener>();
  private readonly solverAllowed = new Set<string>();

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id, { spec: props.spec, layer: 'ingress' });
    const { spec } = props;
    const nodePorts = props.nodePorts ?? DEFAULT_NODE_PORTS;
    for (const which of ['http', 'https'] as const) {
      const port = nodePorts[which];
      if (!Number.isInteger(port) || port < 30000 || port > 32767) {
        throw new Error(`Ingress: nodePorts.${which} is ${port}; use a port in the NodePort range 30000-32767 (default ${DEFAULT_NODE_PORTS[which]})`);
      }
    }
    if (nodePorts.http === nodePorts.https) {
      throw new Error(`Ingress: nodePorts.http and nodePorts.https are both ${nodePorts.http}; give HTTP and HTTPS their own node port`);
    }

    this.implementation = spec.config.layers.ingress;
    this.domain = spec.config.domain;
    this.issuer = ISSUER_NAMES[spec.config.acme.environment];
    const controllerNamespace = this.layer.namespaces.find((n) => n.name !== CERT_MANAGER_NAMESPACE);
    if (!controllerNamespace) {
      throw new Error(`Ingress: the ingress layer plan has no namespace besides ${CERT_MANAGER_NAMESPACE}; platform-spec's planLayers must give the controller one`);
    }
    const namespace = controllerNamespace.name;
    this.loadBalancerTarget = { http: nodePorts.http, https: nodePorts.https, proxyProtocol: true };

    const gateway = this.implementation === 'gateway-api';
    this.controllerNamespace = namespace;
    this.certManager = installCertManager(
      this,
      spec,
      gateway
        ? { gatewayHttpRoute: { parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: GATEWAY_NAME, namespace, sectionName: HTTP_LISTENER }] } }
        : { ingress: { ingressClassName: INGRESS_CLASS } },
      gateway,
    );
    this.traefik = installTraefik(this, spec, { namespace, provider: gateway ? 'gateway' : 'ingress', nodePorts });
    if (gateway) {
      this.gatewayApiCrds = installGatewayApiCrds(this, namespace);
      renderGateway(this, namespace, this.issuer, () => [...this.hosts.values()].sort((a, b) => a.host.localeCompare(b.host)), [this.gatewayApiCrds, this.traefik]);
      // cert-manager runs the HTTP-01 solver next to the Certificate, which
      // the gateway-shim creates in the Gateway's namespace.
      this.allowSolver(this, namespace);
    }
    this.namespace = namespace;
  }

  /** Hosts exposed so far, in call order. */
  public get exposedHosts(): readonly string[] {
    return [...this.hosts.keys()];
  }

  /**
   * Makes `service` public at `https://host/`: creates the route object in
   * `scope` (the calling layer's chart, in the service's namespace), has
   * cert-manager issue the host's certificate, and declares the traffic from
   * the controller to the service's pods.
   *
   * Under `traefik` the route is an Ingress and the certificate's Secret is
   * in the service's namespace; under `gateway-api` it is an HTTPRoute on the
   * `public` Gateway and the Secret is in the controller's namespace. Each
   * host can be exposed once.
   */
  public expose(scope: IConstruct, service: ServiceRef, host: string, options: ExposeOptions = {}): ExposedService {
    const path = options.path ?? '/';
    const where = `Ingress.expose(${service.namespace}/${service.name})`;
    if (!host.split('.').every((label) => LABEL.test(label)) || host.length > 253) {
      throw new Error(`${where}: host "${host}" is not a lower-case DNS name; use letters, digits and hyphens, e.g. "cloud.${this.domain}" (wildcards are not exposed)`);
    }
    if (host !== this.domain && !host.endsWith(`.${this.domain}`)) {
      throw new Error(`${where}: host "${host}" is outside config.domain "${this.domain}"; use "${this.domain}" or a name under it such as "${host.split('.')[0]}.${this.domain}", or change config.domain`);
    }
    if (!path.startsWith('/')) {
      throw new Error(`${where}: path "${path}" must start with "/"; e.g. "/${path}"`);
    }
    const existing = this.hosts.get(host);
    if (existing) {
      throw new Error(`${where}: host "${host}" is already exposed for namespace ${existing.namespace}; expose each host once and route paths inside the service`);
    }
    if (this.implementation === 'gateway-api' && this.hosts.size >= MAX_HTTPS_LISTENERS) {
      throw new Error(`${where}: the Gateway already has ${MAX_HTTPS_LISTENERS} HTTPS listeners, the most Gateway API allows besides HTTP; expose fewer hosts or split them over a second Gateway`);
    }
    const chart = LayerChart.containing(scope);
    if (!chart.namespaces.some((n) => n.name === service.namespace)) {
      throw new Error(
        `${where}: namespace "${service.namespace}" is not one of layer ${chart.layer.id}'s (${chart.namespaces.map((n) => n.name).join(', ')}); call expose() from the chart of the layer that owns the service`,
      );
    }

    // An HTTPRoute needs the Gateway API CRDs this layer installs: in this
    // layer's own folder it syncs after their Application; in a later layer
    // they are in place (the layer's Application is healthy first); an
    // earlier layer would wait for them forever.
    if (this.implementation === 'gateway-api' && chart !== this && chart.layer.syncWave <= this.layer.syncWave) {
      throw new Error(
        `${where}: layer ${chart.layer.id} syncs at wave ${chart.layer.syncWave}, not after the ingress layer (wave ${this.layer.syncWave}) that installs the Gateway API CRDs its HTTPRoute needs; expose the service from a layer that syncs later, such as apps`,
      );
    }

    const name = slug(host);
    const secretName = `${name}-tls`;
    const backendPort = service.port;
    if (this.implementation === 'gateway-api') {
      this.hosts.set(host, { host, namespace: service.namespace, name: listenerName(host), secretName });
      new HttpRoute(scope, `route-${name}`, {
        metadata: { name, namespace: service.namespace, ...(chart === this && this.gatewayApiCrds ? { annotations: afterCrds([this.gatewayApiCrds, this.traefik]) } : {}) },
        spec: {
          parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: GATEWAY_NAME, namespace: this.controllerNamespace, sectionName: listenerName(host) }],
          hostnames: [host],
          rules: [{ matches: [{ path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: path } }], backendRefs: [{ name: service.name, port: backendPort }] }],
        },
      });
    } else {
      this.hosts.set(host, { host, namespace: service.namespace, name, secretName });
      const ingress: IIngress = {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: {
          name,
          namespace: service.namespace,
          annotations: {
            // cert-manager's ingress-shim issues the certificate for the TLS hosts below.
            'cert-manager.io/cluster-issuer': this.issuer,
            // HTTPS only: plain HTTP is redirected by the entry point, and
            // keeping app routes off it lets HTTP-01 solver routes answer.
            'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
          },
        },
        spec: {
          ingressClassName: INGRESS_CLASS,
          tls: [{ hosts: [host], secretName }],
          rules: [{ host, http: { paths: [{ path, pathType: 'Prefix', backend: { service: { name: service.name, port: { number: backendPort } } } }] } }],
        },
      };
      new ApiObject(scope, `route-${name}`, ingress);
      // The solver pods run in the app's namespace, next to the Certificate.
      this.allowSolver(chart, service.namespace);
    }
    chart.allowTraffic({
      from: endpoints.pods(this.controllerNamespace, TRAEFIK_POD_LABELS),
      to: endpoints.pods(service.namespace, service.podLabels),
      ports: [{ port: service.targetPort ?? service.port }],
      reason: `the ingress controller forwards https://${host}${path} to ${service.namespace}/${service.name}`,
    });
    return { host, url: `https://${host}${path}`, tlsSecretName: secretName };
  }

  /** Lets the controller reach cert-manager's HTTP-01 solver pods in `namespace` (declared once per chart and namespace). */
  private allowSolver(chart: LayerChart, namespace: string): void {
    const key = `${chart.node.path}/${namespace}`;
    if (this.solverAllowed.has(key)) return;
    this.solverAllowed.add(key);
    chart.allowTraffic({
      from: endpoints.pods(this.controllerNamespace, TRAEFIK_POD_LABELS),
      to: endpoints.pods(namespace, HTTP01_SOLVER_LABELS),
      ports: [{ port: HTTP01_SOLVER_PORT }],
      reason: "the ingress controller forwards Let's Encrypt HTTP-01 challenges to cert-manager's solver",
    });
  }
}
