import { App, Chart } from 'cdk8s';
import YAML from 'yaml';

/** A Kubernetes object as rendered. */
export interface RenderedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** One output file, relative to the output folder. */
export interface RenderedFile {
  /** `<folder>/<kind>-<name>.yaml` or `<folder>/<kind>-<namespace>-<name>.yaml`. */
  readonly path: string;
  readonly object: RenderedObject;
  readonly content: string;
}

/** The folder a chart renders to: its `outputFolder` when it has one (a LayerChart), else its id. */
function outputFolderOf(chart: Chart): string {
  const folder = (chart as Chart & { outputFolder?: unknown }).outputFolder;
  return typeof folder === 'string' ? folder : chart.node.id;
}

/**
 * Renders every top-level Chart of `app` to one YAML file per object, in the
 * chart's output folder (a LayerChart's layer folder, else the chart's id).
 *
 * One object per file keeps diffs of `charts-out/` readable. Shared objects
 * are written out in full (`aliasDuplicateObjects: false`), never as anchors.
 */
export function renderCharts(app: App): RenderedFile[] {
  return chartObjects(app).map(({ path, object }) => ({ path, object, content: toYaml(object) }));
}

const YAML_OPTIONS = { aliasDuplicateObjects: false, lineWidth: 0 } as const;
const toYaml = (object: RenderedObject) => YAML.stringify(object, YAML_OPTIONS);

/** Every object of every top-level Chart with its file path, sorted by path; throws when two would share a file. */
function chartObjects(app: App): { readonly path: string; readonly object: RenderedObject }[] {
  const out: { path: string; object: RenderedObject }[] = [];
  const seen = new Map<string, string>();
  const charts = app.node.children.filter((c): c is Chart => Chart.isChart(c));
  for (const chart of charts) {
    const folder = outputFolderOf(chart);
    for (const object of chart.toJson() as RenderedObject[]) {
      const { kind, metadata } = object;
      const base = [kind.toLowerCase(), metadata.namespace, metadata.name].filter(Boolean).join('-');
      const path = `${folder}/${base}.yaml`;
      const where = `${chart.node.path}: ${kind} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name}`;
      const clash = seen.get(path);
      if (clash) throw new Error(`renderCharts: ${where} and ${clash} would both be written to ${path}; give one a different metadata.name`);
      seen.set(path, where);
      out.push({ path, object });
    }
  }
  // By code unit (paths are lower-case ASCII): localeCompare would load ICU's collation data for it.
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Objects as one multi-document YAML text (what `kubectl apply -f` takes), without anchors. */
export function yamlDocuments(objects: readonly object[]): string {
  return objects.map((o) => YAML.stringify(o, { aliasDuplicateObjects: false })).join('---\n');
}
