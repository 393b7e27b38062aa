// The ingress check: every public host is served over TLS with a certificate
// cert-manager issues through ACME over HTTPS, HTTP redirects to HTTPS, and
// browsers are told to stay on HTTPS (HSTS).
import { containersOf, neverApplied } from './objects';
import { asArray, check, describe, type CheckResult, type Finding, type Loose, type Manifest } from './types';

const CLUSTER_ISSUER = 'cert-manager.io/cluster-issuer';
const ISSUER = 'cert-manager.io/issuer';
const ENTRYPOINTS = 'traefik.ingress.kubernetes.io/router.entrypoints';
/** HSTS max-age of at least six months. @see https://infosec.mozilla.org/guidelines/web_security#http-strict-transport-security */
export const MIN_HSTS_SECONDS = 15768000;
const TLS_VERSIONS = ['VersionTLS10', 'VersionTLS11', 'VersionTLS12', 'VersionTLS13'];

/** Whether a TLS host entry (`*.example.com` or exact) covers `host`. */
const covers = (pattern: string, host: string) => pattern === host || (pattern.startsWith('*.') && host.endsWith(pattern.slice(1)) && !host.slice(0, -pattern.length + 1).includes('.'));

/**
 * Ingress on the desired state:
 * - every host of every Ingress is in its `spec.tls` and the Ingress names a
 *   cert-manager issuer (`cert-manager.io/cluster-issuer` or `issuer`) that
 *   the desired state holds; an issuer of Let's Encrypt's staging
 *   environment is a warning (browsers do not trust it);
 * - every ACME issuer talks to its server over `https://`;
 * - with the Gateway API, every HTTPRoute that serves (has backends) is
 *   attached only to HTTPS listeners whose hostname covers its hostnames,
 *   each listener terminating TLS with a certificate, on a Gateway that
 *   names an issuer the desired state holds (cert-manager's gateway-shim);
 * - Traefik routes of an Ingress only on the TLS entry point (`websecure`),
 *   its `web` entry point redirects to HTTPS, the `websecure` entry point
 *   applies a Middleware that sends HSTS for at least six months, and no
 *   TLSOption allows a version below TLS 1.2.
 *
 * @see https://cert-manager.io/docs/usage/ingress/
 * @see https://letsencrypt.org/docs/staging-environment/
 * @see https://doc.traefik.io/traefik/routing/providers/kubernetes-ingress/#annotations
 * @see https://doc.traefik.io/traefik/middlewares/http/headers/#stsseconds
 * @see https://cert-manager.io/docs/usage/gateway/
 * @see https://gateway-api.sigs.k8s.io/reference/spec/#gateway.networking.k8s.io/v1.Listener
 */
export function checkIngress(manifests: readonly Manifest[]): CheckResult {
  const findings: Finding[] = [];
  const warnings: Finding[] = [];
  const applied = manifests.filter((m) => !neverApplied(m.object));
  const ofKind = (kind: string) => applied.filter((m) => m.object.kind === kind);
  const issuers = [...ofKind('ClusterIssuer'), ...ofKind('Issuer')].filter((m) => String(m.object.apiVersion).startsWith('cert-manager.io/'));
  const ingresses = ofKind('Ingress');
  let hosts = 0;

  for (const { file, object } of issuers) {
    const server = (object.spec as Loose)?.acme?.server;
    if (server !== undefined && !String(server).startsWith('https://')) findings.push({ file, message: `${describe(object)}: spec.acme.server ${String(server)} is not https: the ACME account key and orders travel in the clear; use the https:// directory URL` });
  }

  for (const { file, object } of ingresses) {
    const annotations = object.metadata?.annotations ?? {};
    const ruleHosts = asArray<Loose>(object.spec?.rules).map((r) => r?.host).filter((h): h is string => typeof h === 'string' && h !== '');
    hosts += ruleHosts.length;
    const tlsHosts = asArray<Loose>(object.spec?.tls).flatMap((t) => asArray<string>(t?.hosts));
    const plain = ruleHosts.filter((h) => !tlsHosts.some((p) => covers(p, h)));
    if (plain.length > 0) findings.push({ file, message: `${describe(object)}: host ${plain.join(', ')} is not in spec.tls: it is served without a certificate; add it to spec.tls[].hosts with a secretName` });
    if (ruleHosts.length === 0) findings.push({ file, message: `${describe(object)}: a rule without a host answers every name, and no certificate covers it; set spec.rules[].host` });
    const clusterIssuer = annotations[CLUSTER_ISSUER];
    const issuer = annotations[ISSUER];
    const named = clusterIssuer ?? issuer;
    if (!named) {
      findings.push({ file, message: `${describe(object)}: no ${CLUSTER_ISSUER} (or ${ISSUER}) annotation: cert-manager issues no certificate for ${ruleHosts.join(', ') || 'it'}; annotate it with the platform's ClusterIssuer` });
    } else {
      const found = issuers.find((i) => (clusterIssuer ? i.object.kind === 'ClusterIssuer' : i.object.kind === 'Issuer' && i.object.metadata?.namespace === object.metadata?.namespace) && i.object.metadata?.name === named);
      if (!found) findings.push({ file, message: `${describe(object)}: ${clusterIssuer ? 'ClusterIssuer' : 'Issuer'} ${named} is not in the desired state: no certificate is issued for ${ruleHosts.join(', ')}; name one the platform renders (${issuers.map((i) => i.object.metadata?.name).join(', ') || 'none is rendered'})` });
      else if (/acme-staging/.test(String((found.object.spec as Loose)?.acme?.server)) || /staging/.test(named)) {
        warnings.push({ file, message: `${describe(object)}: ${describe(found.object)} is Let's Encrypt's staging environment: browsers do not trust its certificates; set acme.environment: production once the DNS is right` });
      }
    }
    const className = object.spec?.ingressClassName ?? annotations['kubernetes.io/ingress.class'];
    if (className === 'traefik') {
      const entry = annotations[ENTRYPOINTS];
      const list = String(entry ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      if (list.length === 0 || list.some((e) => e !== 'websecure')) {
        findings.push({ file, message: `${describe(object)}: ${entry === undefined ? `no ${ENTRYPOINTS} annotation: Traefik routes it on every entry point, plain HTTP included` : `${ENTRYPOINTS} is "${entry}": routed on ${list.filter((e) => e !== 'websecure').join(', ')}, not only TLS`}; set it to websecure` });
      }
    }
  }

  const gateway = checkGatewayRoutes(ofKind, issuers);
  findings.push(...gateway.findings);
  warnings.push(...gateway.warnings);
  hosts += gateway.hosts;

  // Traefik: the HTTP redirect, the HSTS middleware and the TLS floor.
  const traefik = applied.find((m) => m.object.kind === 'Deployment' || m.object.kind === 'DaemonSet' ? containersOf(m.object).some((c) => /(^|\/)traefik:/.test(String(c?.image ?? ''))) : false);
  let traefikSummary = '';
  if (traefik) {
    const args = containersOf(traefik.object).flatMap((c) => asArray<string>(c?.args));
    const arg = (name: string) => args.find((a) => a.toLowerCase().startsWith(`--${name.toLowerCase()}=`))?.split('=').slice(1).join('=');
    if (arg('entryPoints.web.address') !== undefined && arg('entryPoints.web.http.redirections.entryPoint.scheme') !== 'https' && !gatewayRedirectsHttp(ofKind)) {
      findings.push({ file: traefik.file, message: `${describe(traefik.object)}: the web entry point (plain HTTP) does not redirect to HTTPS (no --entryPoints.web.http.redirections.entryPoint.scheme=https); set the chart value ports.web.redirections.entryPoint (to: websecure, scheme: https)` });
    }
    const refs = String(arg('entryPoints.websecure.http.middlewares') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const middlewares = ofKind('Middleware').filter((m) => String(m.object.apiVersion).startsWith('traefik.'));
    const hsts = refs.map((ref) => middlewares.find((m) => `${m.object.metadata?.namespace}-${m.object.metadata?.name}@kubernetescrd` === ref)).filter((m): m is Manifest => m !== undefined);
    const sts = (m: Manifest) => Number((m.object.spec as Loose)?.headers?.stsSeconds ?? 0);
    const good = hsts.find((m) => sts(m) >= MIN_HSTS_SECONDS);
    if (!good) {
      const near = hsts[0] ?? middlewares.find((m) => (m.object.spec as Loose)?.headers?.stsSeconds !== undefined);
      findings.push({
        file: near?.file ?? traefik.file,
        message: `${describe(traefik.object)}: the websecure entry point sends no HSTS of at least ${MIN_HSTS_SECONDS} s (${refs.length === 0 ? 'no --entryPoints.websecure.http.middlewares' : `its middlewares ${refs.join(', ')} ${hsts.length === 0 ? 'are not in the desired state' : hsts.map((m) => `${describe(m.object)} sets headers.stsSeconds ${sts(m)}`).join(', ')}`}${near && hsts.length === 0 ? `; ${describe(near.object)} exists but is not applied` : ''}); apply a Middleware with headers.stsSeconds >= ${MIN_HSTS_SECONDS} through the chart value ports.websecure.middlewares`,
      });
    }
    traefikSummary = `; Traefik redirects HTTP and sends HSTS${good ? ` (${describe(good.object)}, ${sts(good)} s)` : ''}`;
  }
  for (const { file, object } of ofKind('TLSOption')) {
    const min = String((object.spec as Loose)?.minVersion ?? 'VersionTLS12');
    if (TLS_VERSIONS.indexOf(min) < TLS_VERSIONS.indexOf('VersionTLS12')) findings.push({ file, message: `${describe(object)}: spec.minVersion ${min} allows TLS below 1.2; set VersionTLS12 or VersionTLS13` });
  }
  return check('ingress', `${ingresses.length} Ingresses${gateway.routes > 0 ? `, ${gateway.routes} HTTPRoutes` : ''}, ${hosts} public hosts on TLS through ${issuers.length} cert-manager issuers${traefikSummary}`, findings, warnings);
}

/**
 * With the Gateway API, HTTP is redirected by the routes rather than by an
 * entry point: an HTTPRoute attached to each plain-HTTP listener of every
 * Gateway whose one catch-all rule (no matches, no backends) redirects to
 * scheme https.
 *
 * @see https://gateway-api.sigs.k8s.io/guides/http-redirect-rewrite/
 */
function gatewayRedirectsHttp(ofKind: (kind: string) => readonly Manifest[]): boolean {
  const gateways = ofKind('Gateway').filter((g) => String(g.object.apiVersion).startsWith('gateway.networking.k8s.io/'));
  const listeners = gateways.flatMap((g) =>
    asArray<Loose>((g.object.spec as Loose)?.listeners)
      .filter((l) => l?.protocol === 'HTTP')
      .map((l) => ({ gateway: String(g.object.metadata?.name), namespace: String(g.object.metadata?.namespace ?? ''), listener: String(l.name) })),
  );
  if (listeners.length === 0) return false;
  const redirects = ofKind('HTTPRoute').filter((r) => {
    const rules = asArray<Loose>((r.object.spec as Loose)?.rules);
    return rules.length > 0 && rules.every((rule) => asArray(rule?.matches).length === 0 && asArray(rule?.backendRefs).length === 0 && asArray<Loose>(rule?.filters).some((f) => f?.type === 'RequestRedirect' && f?.requestRedirect?.scheme === 'https'));
  });
  return listeners.every((l) =>
    redirects.some((r) =>
      asArray<Loose>((r.object.spec as Loose)?.parentRefs).some((ref) => ref?.name === l.gateway && (ref?.namespace ?? r.object.metadata?.namespace) === l.namespace && (ref?.sectionName === undefined || ref.sectionName === l.listener)),
    ),
  );
}

interface GatewayListener {
  readonly gateway: Manifest;
  readonly name: string;
  readonly protocol: string;
  readonly hostname?: string;
  readonly raw: Loose;
}

/** Whether `listener` lets a route of `namespace` attach (allowedRoutes.namespaces; Same by default). */
function admits(listener: GatewayListener, namespace: string): boolean {
  const from = listener.raw?.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Same') return namespace === String(listener.gateway.object.metadata?.namespace ?? '');
  // Selector: the namespace-name label is the one Keelson uses; any other selector may admit it.
  const byName = listener.raw?.allowedRoutes?.namespaces?.selector?.matchLabels?.['kubernetes.io/metadata.name'];
  return byName === undefined || byName === namespace;
}

/**
 * The Gateway API half of the ingress check: HTTPRoutes that serve are only
 * reachable over TLS with a certificate cert-manager issues.
 */
function checkGatewayRoutes(ofKind: (kind: string) => readonly Manifest[], issuers: readonly Manifest[]): { findings: Finding[]; warnings: Finding[]; hosts: number; routes: number } {
  const findings: Finding[] = [];
  const warnings: Finding[] = [];
  const gateways = ofKind('Gateway').filter((g) => String(g.object.apiVersion).startsWith('gateway.networking.k8s.io/'));
  const listeners: GatewayListener[] = gateways.flatMap((g) =>
    asArray<Loose>((g.object.spec as Loose)?.listeners).map((l) => ({ gateway: g, name: String(l?.name), protocol: String(l?.protocol), ...(typeof l?.hostname === 'string' ? { hostname: l.hostname } : {}), raw: l })),
  );
  for (const g of gateways) {
    const mine = listeners.filter((l) => l.gateway === g);
    const secure = mine.filter((l) => l.protocol === 'HTTPS');
    for (const l of secure) {
      const tls = l.raw?.tls;
      if ((tls?.mode ?? 'Terminate') !== 'Terminate' || asArray(tls?.certificateRefs).length === 0) {
        findings.push({ file: g.file, message: `${describe(g.object)}: HTTPS listener ${l.name} ${tls?.mode === 'Passthrough' ? 'passes TLS through: no certificate of the platform covers it' : 'names no certificate (tls.certificateRefs)'}; terminate TLS with a Secret cert-manager issues` });
      }
      if (!l.hostname) findings.push({ file: g.file, message: `${describe(g.object)}: HTTPS listener ${l.name} has no hostname: cert-manager issues no certificate for it and it answers every name; set listeners[].hostname` });
    }
    if (secure.length === 0) continue;
    const annotations = g.object.metadata?.annotations ?? {};
    const clusterIssuer = annotations[CLUSTER_ISSUER];
    const named = clusterIssuer ?? annotations[ISSUER];
    if (!named) {
      findings.push({ file: g.file, message: `${describe(g.object)}: no ${CLUSTER_ISSUER} (or ${ISSUER}) annotation: cert-manager's gateway-shim issues no certificate for its HTTPS listeners (${secure.map((l) => l.hostname ?? l.name).join(', ')}); annotate it with the platform's ClusterIssuer` });
      continue;
    }
    const found = issuers.find((i) => (clusterIssuer ? i.object.kind === 'ClusterIssuer' : i.object.kind === 'Issuer' && i.object.metadata?.namespace === g.object.metadata?.namespace) && i.object.metadata?.name === named);
    if (!found) findings.push({ file: g.file, message: `${describe(g.object)}: ${clusterIssuer ? 'ClusterIssuer' : 'Issuer'} ${named} is not in the desired state: no certificate is issued for its listeners; name one the platform renders (${issuers.map((i) => i.object.metadata?.name).join(', ') || 'none is rendered'})` });
    else if (/acme-staging/.test(String((found.object.spec as Loose)?.acme?.server)) || /staging/.test(named)) {
      warnings.push({ file: g.file, message: `${describe(g.object)}: ${describe(found.object)} is Let's Encrypt's staging environment: browsers do not trust its certificates; set acme.environment: production once the DNS is right` });
    }
  }

  const routes = ofKind('HTTPRoute').filter((r) => String(r.object.apiVersion).startsWith('gateway.networking.k8s.io/'));
  let hosts = 0;
  for (const { file, object } of routes) {
    const spec = (object.spec as Loose) ?? {};
    const serves = asArray<Loose>(spec.rules).some((rule) => asArray(rule?.backendRefs).length > 0);
    if (!serves) continue;
    const namespace = String(object.metadata?.namespace ?? '');
    const names = asArray<string>(spec.hostnames);
    hosts += names.length;
    const attached = asArray<Loose>(spec.parentRefs)
      .filter((ref) => (ref?.kind ?? 'Gateway') === 'Gateway' && (ref?.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io')
      .flatMap((ref) =>
        listeners.filter(
          (l) =>
            l.gateway.object.metadata?.name === ref?.name &&
            String(l.gateway.object.metadata?.namespace ?? '') === String(ref?.namespace ?? namespace) &&
            (ref?.sectionName === undefined || ref.sectionName === l.name) &&
            (ref?.port === undefined || ref.port === l.raw?.port) &&
            admits(l, namespace),
        ),
      );
    const plain = attached.filter((l) => l.protocol === 'HTTP');
    if (plain.length > 0) {
      findings.push({ file, message: `${describe(object)}: attached to plain-HTTP listener ${plain.map((l) => `${describe(l.gateway.object)}/${l.name}`).join(', ')} with backends: ${names.join(', ') || 'it'} is served without TLS; attach it to the HTTPS listener of its host (parentRefs[].sectionName)` });
    }
    const secure = attached.filter((l) => l.protocol === 'HTTPS');
    if (attached.length === 0) {
      findings.push({ file, message: `${describe(object)}: no listener of a rendered Gateway accepts it (parentRefs ${asArray<Loose>(spec.parentRefs).map((r) => `${r?.namespace ?? namespace}/${r?.name}${r?.sectionName ? `/${r.sectionName}` : ''}`).join(', ')}): it serves nothing, or through a Gateway the platform does not judge; attach it to the platform's Gateway` });
      continue;
    }
    if (names.length === 0 && secure.some((l) => !l.hostname)) {
      findings.push({ file, message: `${describe(object)}: no hostnames, on a listener without a hostname: it answers every name and no certificate covers it; set spec.hostnames` });
    }
    const uncovered = names.filter((h) => !secure.some((l) => l.hostname !== undefined && covers(l.hostname, h)));
    if (uncovered.length > 0) {
      findings.push({ file, message: `${describe(object)}: host ${uncovered.join(', ')} is covered by no HTTPS listener it attaches to (${secure.map((l) => `${l.name}${l.hostname ? ` for ${l.hostname}` : ''}`).join(', ') || 'none'}): no certificate is issued for it; expose the host through the ingress layer so it gets its own listener` });
    }
  }
  return { findings, warnings, hosts, routes: routes.length };
}
