import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { CLUSTER_SCOPED_KINDS, crdApiVersions, helmTemplate, resolveChart, type DesiredObject, type DesiredState, type K8sObject } from '@keelson/upstream';
import type { ApiClient } from './api';

/**
 * Every API version the API server serves, as Argo CD hands them to
 * `helm template --api-versions`: `group/version` and `group/version/Kind`.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#helm-api-versions
 */
export async function servedApiVersions(api: ApiClient): Promise<string[]> {
  const out = new Set<string>();
  const add = async (groupVersion: string, path: string) => {
    out.add(groupVersion);
    const res = await api.get<{ resources?: Array<{ name: string; kind: string }> }>(path);
    for (const r of res?.resources ?? []) if (!r.name.includes('/')) out.add(`${groupVersion}/${r.kind}`);
  };
  const core = await api.get<{ versions?: string[] }>('/api');
  for (const v of core?.versions ?? []) await add(v, `/api/${v}`);
  const groups = await api.get<{ groups?: Array<{ versions: Array<{ groupVersion: string }> }> }>('/apis');
  for (const g of groups?.groups ?? []) for (const v of g.versions) await add(v.groupVersion, `/apis/${v.groupVersion}`);
  return [...out].sort();
}

/** Whether any template of a chart reads the cluster's API versions. */
function readsApiVersions(dir: string): boolean {
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) {
      if (readsApiVersions(full)) return true;
    } else if (/\.(ya?ml|tpl|txt)$/.test(entry) && readFileSync(full, 'utf8').includes('Capabilities.APIVersions')) return true;
  }
  return false;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(a: unknown, b: unknown): unknown {
  if (isRecord(a) && isRecord(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  }
  return b;
}

const key = (o: K8sObject, ns?: string) => `${o.kind} ${ns ?? o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

/** What re-rendering changed. */
export interface Rerender {
  readonly desired: DesiredState;
  /** Applications rendered again. */
  readonly applications: readonly string[];
  /** `PodDisruptionBudget traefik/traefik: policy/v1beta1 -> policy/v1`, and objects that appear or vanish (random values such as generated certificates do not count). */
  readonly changes: readonly string[];
}

/**
 * Renders again the Helm Applications whose charts read
 * `.Capabilities.APIVersions`, with the API versions this API server serves
 * (and those of every CRD of the desired state), as Argo CD's repo server
 * renders a chart for its destination cluster; keeps every other object as
 * it was rendered.
 */
export function rerenderWithClusterApiVersions(desired: DesiredState, served: readonly string[], kubeVersion: string): Rerender {
  const apiVersions = [...new Set([...served, ...crdApiVersions(desired.objects.map((o) => o.object))])].sort();
  const clusterScopedCustom = new Set<string>();
  for (const { object } of desired.objects) {
    const spec = object.spec as { scope?: string; group?: string; names?: { kind?: string } } | undefined;
    if (object.kind === 'CustomResourceDefinition' && spec?.scope === 'Cluster' && spec.names?.kind) clusterScopedCustom.add(`${spec.group}/${spec.names.kind}`);
  }
  const replaced = new Map<string, DesiredObject[]>();
  const changes: string[] = [];
  for (const app of desired.applications) {
    if (app.type !== 'helm') continue;
    const source = (app.manifest.spec as { source?: { helm?: { releaseName?: string; valuesObject?: unknown; values?: string } } } | undefined)?.source;
    const chart = resolveChart({ repoURL: app.repoURL, chart: app.chartOrPath, version: app.revision });
    if (!readsApiVersions(chart.dir)) continue;
    const values = merge(source?.helm?.values ? (YAML.parse(source.helm.values) as unknown) : {}, source?.helm?.valuesObject ?? {});
    const text = helmTemplate({ chartDir: chart.dir, releaseName: source?.helm?.releaseName ?? app.name, namespace: app.destinationNamespace, values, kubeVersion, apiVersions });
    const objects: DesiredObject[] = [];
    for (const doc of YAML.parseAllDocuments(text)) {
      const object = doc.toJS() as K8sObject | null;
      if (!object || typeof object !== 'object') continue;
      const contents = doc.contents as { commentBefore?: string | null } | null;
      const template = /Source: (\S+)/.exec(`${doc.commentBefore ?? ''}\n${contents?.commentBefore ?? ''}`)?.[1];
      const items = object.kind === 'List' && Array.isArray(object.items) ? (object.items as K8sObject[]) : [object];
      for (const item of items) {
        const group = (item.apiVersion ?? '').includes('/') ? (item.apiVersion ?? '').split('/')[0] : '';
        const clusterScoped = CLUSTER_SCOPED_KINDS.has(item.kind ?? '') || clusterScopedCustom.has(`${group}/${item.kind ?? ''}`);
        const namespace = clusterScoped ? undefined : item.metadata?.namespace || app.destinationNamespace || undefined;
        const raw = item.metadata?.annotations?.['argocd.argoproj.io/sync-wave'];
        const wave = raw !== undefined && Number.isFinite(Number.parseInt(raw, 10)) ? Number.parseInt(raw, 10) : 0;
        objects.push({ object: item, application: app.name, wave, ...(namespace ? { namespace } : {}), source: `helm ${app.chartOrPath} ${app.revision}${template ? `: ${template}` : ''}` });
      }
    }
    const before = new Map(desired.objects.filter((o) => o.application === app.name).map((o) => [key(o.object, o.namespace), o]));
    const after = new Map(objects.map((o) => [key(o.object, o.namespace), o]));
    const found: string[] = [];
    for (const [k, o] of after) {
      const was = before.get(k);
      if (!was) found.push(`${k}: new with the cluster's API versions`);
      else if (was.object.apiVersion !== o.object.apiVersion) found.push(`${k}: ${was.object.apiVersion} -> ${o.object.apiVersion}`);
    }
    for (const k of before.keys()) if (!after.has(k)) found.push(`${k}: not rendered with the cluster's API versions`);
    if (found.length === 0) continue;
    replaced.set(app.name, objects);
    changes.push(...found.map((f) => `${app.name}: ${f}`));
  }
  if (replaced.size === 0) return { desired, applications: [], changes: [] };
  const objects: DesiredObject[] = [];
  const done = new Set<string>();
  for (const o of desired.objects) {
    const again = replaced.get(o.application);
    if (!again) objects.push(o);
    else if (!done.has(o.application)) {
      objects.push(...again);
      done.add(o.application);
    }
  }
  return { desired: { applications: desired.applications, objects }, applications: [...replaced.keys()], changes };
}
