export { LayerChart, namespaceManifest, PART_OF_LABEL, LAYER_LABEL } from './layer-chart';
export type { LayerChartProps } from './layer-chart';
export { renderCharts, writeTreeAtomically } from './render';
export type { RenderedObject, RenderedFile, OutputTree } from './render';
export { UpstreamHelmChart, ARGOCD_NAMESPACE, IN_CLUSTER, SYNC_WAVE } from './upstream-chart';
export type { UpstreamHelmChartProps, UpstreamDeclaration, ClusterResource } from './upstream-chart';
export { Application, AppProject } from './imports/argoproj.io';
export type { ApplicationProps, ApplicationSpec, AppProjectProps, AppProjectSpec } from './imports/argoproj.io';
