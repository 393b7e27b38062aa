export { PodNetwork, CILIUM_CHART, FLANNEL_CHART, NODE_ENCRYPTION_OPT_OUT_LABELS } from './pod-network';
export type { PodNetworkProps, CiliumValues, FlannelValues, CniInstall } from './pod-network';
export { CoreDns, COREDNS_IMAGE, KUBE_DNS_LABELS } from './core-dns';
export { bootstrapManifests, networkBootstrapStep, HELM_IMAGE, CNI_INSTALLER, CNI_INSTALLER_DEADLINE_SECONDS, CNI_INSTALLER_BACKOFF_LIMIT } from './bootstrap';
export type { BootstrapObject } from './bootstrap';
export { hostNetworkNamespaces } from './pod-security';
