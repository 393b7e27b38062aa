export { LayerChart, namespaceManifest, PART_OF_LABEL, LAYER_LABEL } from './layer-chart';
export type { LayerChartProps } from './layer-chart';
export { renderCharts, writeTreeAtomically } from './render';
export type { RenderedObject, RenderedFile, OutputTree } from './render';
