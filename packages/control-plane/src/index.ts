export { LocalControlPlane, SIMULATED_NODE_ANNOTATION, apiRequest } from './local-control-plane';
export type { LocalControlPlaneOptions, ComponentArg, KubectlResult, ApiRequestOptions } from './local-control-plane';
export { controlPlaneOptionsFromIgnition } from './from-ignition';
