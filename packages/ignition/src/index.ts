export { IgnitionConfig, IgnitionConfigError, IGNITION_SPEC_VERSION, SYSTEMD_UNIT_SUFFIXES, ignitionHash, decodeInlineContents } from './builder';
export type {
  IgnitionHash,
  InlineContents,
  RemoteContents,
  FileContents,
  Owner,
  FileProps,
  DirectoryProps,
  LinkProps,
  DropinProps,
  DefinedUnitProps,
  MaskedUnitProps,
  UnitProps,
  ConfigReference,
  RenderOptions,
} from './builder';
export { validateIgnitionConfig, findLoginCredentials } from './validate';
export type * as IgnitionV3_3 from './generated/ignition-v3_3';
export { renderNodeConfigs, apiEndpoint, NODE_IP, NODE_PATHS, BOOTSTRAP_JOB_WAIT_SECONDS } from './node-configs';
export type { NodeConfigsProps, NodeIgnition, BootstrapStep, PinnedUrlStep, EtcdSnapshotSource, KubernetesSysextImage } from './node-configs';
export { HOST_FIREWALL, hostFirewallModel, renderHostFirewall } from './host-firewall';
export type { HostFirewallModel, HostPortRule, HostFirewallSource } from './host-firewall';
export { validateKubeadmConfig, caCertHash } from './kubeadm';
export type { InitConfiguration, ClusterConfiguration, JoinConfiguration, KubeletConfiguration } from './kubeadm';
export { KUBERNETES_RELEASES, SYSEXT_BASE_URL, CLUSTER_NETWORK, ETCD_RESTORE_IMAGE, kubernetesSysextImage } from './pins';
export { BOOT_NAMESPACE, bootGaveUp, bootStatusFromLeases, bootRbacManifest } from './boot-status';
export type { NodeBootStatus } from './boot-status';
