export { PodNetwork, CILIUM_CHART, FLANNEL_CHART } from './pod-network';
export type { PodNetworkProps, CiliumValues, FlannelValues, CniInstall } from './pod-network';
export { bootstrapManifests, HELM_IMAGE, CNI_INSTALLER } from './bootstrap';
export type { BootstrapObject } from './bootstrap';
export { hostNetworkNamespaces } from './pod-security';
export { CoreDns, COREDNS_IMAGE, KUBE_DNS_LABELS } from './internal/coredns';
export { NON_INTERNET_RANGES, REASON_ANNOTATION, DECLARED_BY_ANNOTATION } from './internal/policies';
