import { App, Chart } from 'cdk8s';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  const files: RenderedFile[] = [];
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
      files.push({ path, object, content: YAML.stringify(object, { aliasDuplicateObjects: false, lineWidth: 0 }) });
    }
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Objects as one multi-document YAML text (what `kubectl apply -f` takes), without anchors. */
export function yamlDocuments(objects: readonly object[]): string {
  return objects.map((o) => YAML.stringify(o, { aliasDuplicateObjects: false })).join('---\n');
}

/** A folder to replace as a whole: `name` under `parent`, with its files. */
export interface OutputTree {
  readonly parent: string;
  readonly name: string;
  readonly files: ReadonlyArray<{ readonly path: string; readonly content: string; readonly mode?: number }>;
  /** Mode of the folder itself. @default 0o755 */
  readonly mode?: number;
  /**
   * Entries of the existing folder (top-level names) to carry over into the
   * new one, such as Terraform's state next to the configuration it renders.
   * They are hard-linked into the new tree before the swap, so no moment
   * exists where they are in neither.
   * @default - nothing is kept: the folder holds exactly `files`
   */
  readonly keep?: (name: string) => boolean;
}

/**
 * Replaces `parent/name` with exactly `files`, all or nothing.
 *
 * Files are written to a temporary sibling folder first and swapped in with
 * renames, so a failure while writing leaves the previous output untouched
 * and a reader never sees a half-written tree.
 */
export function writeTreeAtomically(tree: OutputTree): void {
  mkdirSync(tree.parent, { recursive: true });
  const target = join(tree.parent, tree.name);
  const staging = mkdtempSync(join(tree.parent, `.${tree.name}.new-`));
  try {
    for (const f of tree.files) {
      const path = join(staging, f.path);
      mkdirSync(dirname(path), { recursive: true, mode: tree.mode ?? 0o755 });
      writeFileSync(path, f.content, { mode: f.mode ?? 0o644 });
    }
    if (tree.keep && existsSync(target)) {
      const generated = new Set(tree.files.map((f) => f.path.split('/')[0]));
      for (const name of readdirSync(target)) {
        if (!generated.has(name) && tree.keep(name)) linkTree(join(target, name), join(staging, name));
      }
    }
    // mkdtemp creates 0700: set the mode asked for.
    chmodSync(staging, tree.mode ?? 0o755);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  const old = existsSync(target) ? `${staging}.old` : undefined;
  if (old) renameSync(target, old);
  try {
    renameSync(staging, target);
  } catch (e) {
    if (old) renameSync(old, target);
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  if (old) rmSync(old, { recursive: true, force: true });
}

/** Hard-links a file, or recreates a folder (same mode) and links what it holds; symlinks are copied as links. */
function linkTree(from: string, to: string): void {
  const stat = lstatSync(from);
  if (stat.isDirectory()) {
    mkdirSync(to, { mode: stat.mode & 0o7777 });
    for (const name of readdirSync(from)) linkTree(join(from, name), join(to, name));
  } else if (stat.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to);
  } else {
    linkSync(from, to);
  }
}
