export { LocalControlPlane, SIMULATED_NODE_ANNOTATION } from './local-control-plane';
export type { LocalControlPlaneOptions, ComponentArg, KubectlResult } from './local-control-plane';
export { controlPlaneOptionsFromIgnition } from './from-ignition';
