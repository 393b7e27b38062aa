// The values check: every key Keelson sets for an upstream chart is a key
// that chart reads. Helm ignores unknown values without a word, so a dead key
// is a setting that silently does nothing on the cluster.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { RenderedApplication } from '@keelson/upstream';
import { check, isRecord, type CheckResult, type Finding, type Loose } from './types';

/**
 * Keys whose content is free-form by Kubernetes or Helm convention: the chart
 * copies the whole map or list into an object (`toYaml .Values.x`), so any
 * key below them is fine.
 */
const FREE_FORM = new Set([
  'labels',
  'annotations',
  'podLabels',
  'podAnnotations',
  'commonLabels',
  'commonAnnotations',
  'deploymentAnnotations',
  'serviceAnnotations',
  'nodeSelector',
  'tolerations',
  'affinity',
  'topologySpreadConstraints',
  'resources',
  'securityContext',
  'podSecurityContext',
  'containerSecurityContext',
  'extraArgs',
  'extraEnv',
  'extraEnvVars',
  'env',
  'envFrom',
  'extraVolumes',
  'extraVolumeMounts',
  'extraObjects',
  'extraContainers',
  'initContainers',
  // A chart's `spec` values are merged into the object's spec (Traefik's `service.spec`).
  'spec',
]);

/** One chart as the values check reads it: defaults, schema, the text of its templates, its subcharts by the key their values live under. */
interface ChartModel {
  readonly defaults: Record<string, unknown>;
  readonly schema?: Loose;
  readonly templates: string;
  readonly subcharts: ReadonlyMap<string, ChartModel>;
}

function readYamlFile(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const parsed = YAML.parse(readFileSync(file, 'utf8'));
  return isRecord(parsed) ? parsed : {};
}

function templateText(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ya?ml|tpl|txt|json)$/.test(e.name))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

/**
 * Reads an unpacked chart: `values.yaml`, `values.schema.json`, `templates/`
 * and each subchart under `charts/`, keyed by its alias in `Chart.yaml`'s
 * dependencies (else its name), as Helm passes a subchart its values.
 *
 * @see https://helm.sh/docs/chart_template_guide/subcharts_and_globals/
 */
export function readChartModel(dir: string): ChartModel {
  const chart = readYamlFile(join(dir, 'Chart.yaml'));
  const aliases = new Map<string, string>();
  for (const d of Array.isArray(chart.dependencies) ? chart.dependencies : []) {
    if (isRecord(d) && typeof d.name === 'string') aliases.set(d.name, typeof d.alias === 'string' ? d.alias : d.name);
  }
  const subcharts = new Map<string, ChartModel>();
  const chartsDir = join(dir, 'charts');
  if (existsSync(chartsDir)) {
    for (const e of readdirSync(chartsDir, { withFileTypes: true }).filter((x) => x.isDirectory())) {
      const sub = readYamlFile(join(chartsDir, e.name, 'Chart.yaml'));
      const name = typeof sub.name === 'string' ? sub.name : e.name;
      subcharts.set(aliases.get(name) ?? name, readChartModel(join(chartsDir, e.name)));
    }
  }
  const schemaFile = join(dir, 'values.schema.json');
  return {
    defaults: readYamlFile(join(dir, 'values.yaml')),
    ...(existsSync(schemaFile) ? { schema: JSON.parse(readFileSync(schemaFile, 'utf8')) } : {}),
    templates: templateText(join(dir, 'templates')),
    subcharts,
  };
}

/** Resolves a local `$ref` (`#/$defs/x`, `#/definitions/x`) against the schema's root. */
function deref(root: Loose, node: Loose): Loose {
  let n = node;
  for (let i = 0; i < 16 && isRecord(n) && typeof n.$ref === 'string' && n.$ref.startsWith('#/'); i++) {
    n = n.$ref
      .slice(2)
      .split('/')
      .reduce((at: Loose, part: string) => (isRecord(at) ? at[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), root);
  }
  return n;
}

/**
 * Whether the chart's JSON schema declares `path`: a listed property, a
 * matching pattern property, or an object schema that lists no properties
 * (free-form). A schema that lists properties but does not forbid others
 * still counts as not declaring an unlisted key: it would render, and do nothing.
 *
 * @see https://helm.sh/docs/topics/charts/#schema-files
 */
function schemaDeclares(root: Loose, path: readonly string[]): boolean {
  const walk = (node: Loose, i: number): boolean => {
    const n = deref(root, node);
    if (!isRecord(n)) return false;
    if (i === path.length) return true;
    const branches = ['allOf', 'anyOf', 'oneOf'].flatMap((k) => (Array.isArray(n[k]) ? (n[k] as Loose[]) : []));
    if (branches.some((b) => walk(b, i))) return true;
    const key = path[i];
    if (isRecord(n.properties) && key in n.properties) return walk(n.properties[key], i + 1);
    if (isRecord(n.patternProperties)) {
      for (const [pattern, sub] of Object.entries(n.patternProperties)) if (new RegExp(pattern).test(key)) return walk(sub, i + 1);
    }
    if (n.additionalProperties === true || isRecord(n.additionalProperties)) return true;
    const listsNothing = !isRecord(n.properties) && !isRecord(n.patternProperties) && branches.length === 0 && n.additionalProperties === undefined;
    return listsNothing && (n.type === 'object' || n.type === undefined || (Array.isArray(n.type) && n.type.includes('object')));
  };
  return root !== undefined && walk(root, 0);
}

const escape = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether a template reads the key at `path`: `.Values.a.b.c` (or `index
 * .Values "a" "b" "c"`), or the key's last two or more segments through a
 * variable or a `with`/`range` context (`$driver.controllerPlugin.affinity`
 * inside `range $name, $driver := .Values.drivers`). Keys a chart documents
 * only as comments are found this way.
 */
function templatesRead(templates: string, path: readonly string[]): boolean {
  if (new RegExp(`\\.Values\\.${path.map(escape).join('\\.')}(?![\\w-])`).test(templates)) return true;
  if (new RegExp(`index\\s+\\$?\\.Values\\s+${path.map((p) => `"${escape(p)}"`).join('\\s+')}(?![\\w-])`).test(templates)) return true;
  for (let k = 1; k <= path.length - 2; k++) {
    if (new RegExp(`(?:\\$\\w+|[\\s({])\\.${path.slice(k).map(escape).join('\\.')}(?![\\w-])`).test(templates)) return true;
  }
  return false;
}

/** The values an Application passes: `values` (a YAML string), then `valuesObject`, then `parameters`, merged as Argo CD merges them. */
export function applicationValues(manifest: Loose): Record<string, unknown> {
  const helm = manifest?.spec?.source?.helm ?? {};
  const fromString = typeof helm.values === 'string' ? YAML.parse(helm.values) : isRecord(helm.values) ? helm.values : {};
  const merged: Record<string, unknown> = deepMerge(isRecord(fromString) ? fromString : {}, isRecord(helm.valuesObject) ? helm.valuesObject : {});
  for (const p of Array.isArray(helm.parameters) ? helm.parameters : []) {
    if (!isRecord(p) || typeof p.name !== 'string') continue;
    // `--set` syntax: dots separate keys unless escaped; list indices are not keys.
    const keys = p.name
      .split(/(?<!\\)\./)
      .map((k) => k.replace(/\\\./g, '.').replace(/\[\d+\]$/, ''));
    let at: Record<string, unknown> = merged;
    keys.forEach((k, i) => {
      if (i === keys.length - 1) at[k] = p.value;
      else at = (at[k] = isRecord(at[k]) ? at[k] : {}) as Record<string, unknown>;
    });
  }
  return merged;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isRecord(v) && isRecord(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** One key set for a chart that the chart does not read. */
export interface DeadKey {
  /** Dotted path from the top of the Application's values (`csi.enableRbdDriver`). */
  readonly path: string;
  /** The keys the chart does have at that level, to suggest the right one. */
  readonly siblings: readonly string[];
}

/** Every key in `values` that `chart` does not read (not in its values.yaml, schema or templates; free-form maps excepted). */
export function deadKeys(chart: ChartModel, values: Record<string, unknown>): DeadKey[] {
  const dead: DeadKey[] = [];
  const walk = (model: ChartModel, prefix: readonly string[], ours: Record<string, unknown>, defaults: unknown, at: readonly string[]): void => {
    for (const [key, value] of Object.entries(ours)) {
      const path = [...at, key];
      const full = [...prefix, ...path];
      if (at.length === 0 && model.subcharts.has(key) && isRecord(value)) {
        // A subchart's values: judged against the subchart, with the parent's overrides as its defaults.
        const sub = model.subcharts.get(key) as ChartModel;
        const subDefaults = deepMerge(sub.defaults, isRecord(model.defaults[key]) ? (model.defaults[key] as Record<string, unknown>) : {});
        walk(sub, [...prefix, key], value, subDefaults, []);
        continue;
      }
      const d = isRecord(defaults) ? defaults : {};
      if (key in d) {
        const def = d[key];
        // Only a non-empty map is a list of keys; an empty map, null, a list or a scalar holds whatever is given.
        if (isRecord(value) && isRecord(def) && Object.keys(def).length > 0 && !FREE_FORM.has(key)) walk(model, prefix, value, def, path);
        continue;
      }
      if (templatesRead(model.templates, path) || schemaDeclares(model.schema, path)) continue;
      if (path[0] === 'global' && [model, ...model.subcharts.values()].some((m) => templatesRead(m.templates, path))) continue;
      dead.push({ path: full.join('.'), siblings: Object.keys(d).sort() });
    }
  };
  walk(chart, [], values, chart.defaults, []);
  return dead;
}

/**
 * The `values` check: for every Application of an upstream Helm chart, every
 * key Keelson sets exists in the chart (its `values.yaml`, subcharts under
 * their alias, its `values.schema.json`, or read by a template).
 *
 * @param chartDir where the pinned chart is unpacked (as the desired state resolved it)
 */
export function checkValues(applications: readonly RenderedApplication[], chartDir: (app: RenderedApplication) => string): CheckResult {
  const findings: Finding[] = [];
  let keys = 0;
  const helmApps = applications.filter((a) => a.type === 'helm');
  for (const app of helmApps) {
    const values = applicationValues(app.manifest);
    keys += countKeys(values);
    for (const dead of deadKeys(chartModelOf(chartDir(app)), values)) {
      const level = dead.path.split('.').slice(0, -1).join('.');
      const hint = dead.siblings.length > 0 ? `the chart's keys${level ? ` under ${level}` : ''} are: ${dead.siblings.slice(0, 12).join(', ')}${dead.siblings.length > 12 ? ', ...' : ''}` : `the chart has no keys${level ? ` under ${level}` : ''}`;
      findings.push({
        file: app.file,
        application: app.name,
        message: `Application ${app.name} (chart ${app.chartOrPath} ${app.revision}): value ${dead.path} is not a key of the chart (not in its values.yaml, values.schema.json or templates), so on the cluster it silently does nothing; remove it or set the chart's real key (${hint})`,
      });
    }
  }
  return check('values', `${keys} value keys set for ${helmApps.length} upstream charts, each read by its chart`, findings);
}

/**
 * Each pinned chart read once per process (verify runs again in `keelson
 * rehearse` and the mutation suite), read again when its `Chart.yaml` or
 * `values.yaml` changed.
 */
const chartModels = new Map<string, { readonly stamp: string; readonly model: ChartModel }>();
function chartModelOf(dir: string): ChartModel {
  const stamp = ['Chart.yaml', 'values.yaml'].map((f) => statSync(join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? '-').join(' ');
  const known = chartModels.get(dir);
  if (known?.stamp === stamp) return known.model;
  if (chartModels.size >= 256) chartModels.clear();
  const model = readChartModel(dir);
  chartModels.set(dir, { stamp, model });
  return model;
}

function countKeys(v: unknown): number {
  return isRecord(v) ? Object.values(v).reduce<number>((n, x) => n + 1 + countKeys(x), 0) : 0;
}
