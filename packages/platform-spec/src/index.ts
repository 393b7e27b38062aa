export {
  DIGITALOCEAN_REGIONS,
  HETZNER_LOCATIONS,
  SUPPORTED_KUBERNETES_VERSIONS,
  FLATCAR_CHANNELS,
  NETWORK_LAYERS,
  INGRESS_LAYERS,
  STORAGE_LAYERS,
  BACKUP_LAYERS,
  MAX_ETCD_MEMBERS,
  MAX_CEPH_MONITORS,
  NODE_NETWORK_CIDR,
  CLUSTER_NETWORK,
} from './catalogue';
export type {
  DigitalOceanRegion,
  HetznerLocation,
  KubernetesVersion,
  FlatcarChannel,
  NetworkLayerChoice,
  IngressLayerChoice,
  StorageLayerChoice,
  BackupLayerChoice,
} from './catalogue';
export { platformConfigSchema, SHIPPED_CLUSTER_IDS } from './config-schema';
export type { PlatformConfig, PlatformConfigInput, FaultModel } from './config-schema';
export { computeFaultBudget, nodesAllowedToFail, assignFailureDomains } from './fault-budget';
export type { FaultBudget, FaultBudgetInput, FaultBudgetResult, BudgetProblem } from './fault-budget';
export { RECOVERY } from './recovery';
export { deriveTopology } from './topology';
export type { NodeSpec, NodeRole, Topology } from './topology';
export { collectDeclarations, planLayers, VELERO_SNAPSHOT_CLASS_LABEL } from './layers';
export type {
  LayerId,
  LayerInfo,
  NamespacePlan,
  PodSecurityLevel,
  ServiceRef,
  SecretRef,
  ExposeOptions,
  ExposedService,
  IngressLayer,
  StorageLayer,
  BackupTarget,
  BootstrapStep,
  SecretSource,
  DeployTimeSecret,
  DeployTimeSecretContext,
  HealthGate,
  HealthCheck,
  PodNetworkLayer,
  LayerDeclarations,
  PlatformDeclarations,
  ObjectBucket,
  PemPair,
  ClusterSecrets,
  NodeBootConfig,
  InfraInput,
  TerraformDocument,
  NodeProvider,
  ServerSize,
  CostKind,
  CostLine,
  MonthlyCost,
  CloudPower,
  CloudApiOptions,
  CloudApiRequest,
  ObjectStoreCredentials,
} from './layers';
export { loadPlatformSpec, parsePlatformConfig, parseConfigText, PlatformConfigError } from './load';
export type { PlatformSpec, ConfigProblem } from './load';
export { exampleConfig } from './example';
export { configReference, configReferenceMarkdown } from './reference';
export type { ConfigKey } from './reference';
export { endpoints, checkTrafficRule } from './traffic';
export type {
  TrafficRule,
  TrafficEndpoint,
  TrafficPort,
  PodsEndpoint,
  KubeApiServerEndpoint,
  NodesEndpoint,
  InternetEndpoint,
} from './traffic';
