export { Ingress } from './ingress';
export type { IngressProps, IngressNodePorts } from './ingress';
export { CERT_MANAGER_CHART, TRAEFIK_CHART, GATEWAY_API_CRDS, INGRESS_IMAGES } from './charts';
export type { CertManagerValues, TraefikValues, TraefikEntryPointValues, RequiredAntiAffinity, ChartPdb } from './charts';
export { ISSUER_NAMES, ACME_SERVERS } from './internal/cert-manager';
