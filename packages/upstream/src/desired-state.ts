import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import YAML from 'yaml';
import { BUILT_IN_API_VERSIONS } from './built-in-api-versions';
import { helmTemplate } from './helm';
import { canonicalJson, sameRepo } from './internal/compare';
import { requirePeer } from './peers';
import { resolveChart, resolveGitSource, type ResolveOptions } from './sources';

/** A Kubernetes object as read from YAML. */
export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}

/** One object the cluster gets, with where it comes from. */
export interface DesiredObject {
  readonly object: K8sObject;
  /** The Argo CD Application that syncs it. */
  readonly application: string;
  /** Its sync wave within that Application (`argocd.argoproj.io/sync-wave`, default 0). */
  readonly wave: number;
  /** The namespace it lands in: its own, else the Application's destination (namespaced kinds only). */
  readonly namespace?: string;
  /** Where it was read: a file under the GitOps folder, or `helm <chart> <version>: <template>`, or `<repo>@<tag>: <path>`. */
  readonly source: string;
}

/** One Application of the app of apps, as rendered. */
export interface RenderedApplication {
  readonly name: string;
  /** The Application whose objects include this one (undefined for the root). */
  readonly parent?: string;
  /** Its sync wave in the parent. */
  readonly wave: number;
  /** The Application manifest as rendered. */
  readonly manifest: K8sObject;
  /** Where the manifest is. */
  readonly file: string;
  readonly project: string;
  readonly destinationNamespace: string;
  /** `directory`: this repository's folder; `helm`: a pinned chart; `kustomize`/`git-directory`: a pinned Git tag. */
  readonly type: 'directory' | 'helm' | 'kustomize' | 'git-directory';
  readonly repoURL: string;
  /** The chart (helm) or the path (the others). */
  readonly chartOrPath: string;
  readonly revision: string;
  /** Content digest of the chart or Git files. */
  readonly digest?: string;
  /** `spec.syncPolicy.syncOptions`. */
  readonly syncOptions: readonly string[];
  readonly objectCount: number;
}

/** Everything the cluster gets from the app of apps. */
export interface DesiredState {
  readonly applications: readonly RenderedApplication[];
  readonly objects: readonly DesiredObject[];
}

export interface RenderDesiredStateOptions {
  /** The folder the GitOps path points at in this checkout (`charts-out/`). */
  readonly dir: string;
  /** Where Argo CD reads this repository: Applications with this repoURL and a path under `path` are folders of `dir`. */
  readonly gitops: { readonly repoURL: string; readonly revision: string; readonly path: string };
  /** The cluster's Kubernetes version (`1.36.2`), for `helm template --kube-version`. */
  readonly kubeVersion: string;
  /** Resolution of charts and Git sources. */
  readonly sources?: ResolveOptions;
  /**
   * Cache of `helm template` output, by chart digest and every input.
   * @default `$KEELSON_CACHE_DIR/render` or `~/.cache/keelson/render`; `false` to turn it off
   */
  readonly cacheDir?: string | false;
}

/** Thrown when an Application cannot be rendered; names the Application and why. */
export class DesiredStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DesiredStateError';
  }
}

const WAVE = 'argocd.argoproj.io/sync-wave';

/**
 * Kinds the API server serves cluster-scoped, besides CRDs of `scope: Cluster`
 * (checked against a real kube-apiserver's `api-resources` in the tests).
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'APIService',
  'CSIDriver',
  'CSINode',
  'CertificateSigningRequest',
  'ClusterRole',
  'ClusterRoleBinding',
  'ClusterTrustBundle',
  'ComponentStatus',
  'CustomResourceDefinition',
  'DeviceClass',
  'FlowSchema',
  'IngressClass',
  'IPAddress',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'MutatingWebhookConfiguration',
  'Namespace',
  'Node',
  'PersistentVolume',
  'PriorityClass',
  'PriorityLevelConfiguration',
  'ResourceSlice',
  'RuntimeClass',
  'SelfSubjectAccessReview',
  'SelfSubjectReview',
  'SelfSubjectRulesReview',
  'ServiceCIDR',
  'StorageClass',
  'StorageVersion',
  'StorageVersionMigration',
  'SubjectAccessReview',
  'TokenReview',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration',
  'VolumeAttachment',
  'VolumeAttributesClass',
]);

/**
 * API groups a Kubernetes 1.36 API server serves by itself (`""` is the core
 * group); any other group is a custom resource whose CRD must exist first
 * (checked against a real kube-apiserver's `api-versions` in the tests).
 */
export const BUILT_IN_API_GROUPS: ReadonlySet<string> = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
]);

/** The API group of an `apiVersion` (`apps/v1` -> `apps`, `v1` -> `""`). */
export const apiGroup = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '');

/**
 * Renders the desired state the way Argo CD's repo server does: from the
 * root Application (the one that syncs `<path>/argocd`) down through every
 * Application it finds. A folder of this repository is read as a directory
 * source; a Helm source is rendered with the real `helm template` (the
 * pinned chart, `valuesObject`/`values`, release name, the destination
 * namespace, `--kube-version`, `--api-versions` of every built-in kind and
 * every CRD in the desired state, as Argo CD passes the cluster's, CRDs included); a Git source with a kustomization is built with the
 * real kustomize (`kubectl kustomize`) with the Application's patches and
 * namespace, otherwise read as a directory. Deterministic: Applications and
 * objects come out in a stable order.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/helm/
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/kustomize/
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/directory/
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/cluster-bootstrapping/
 */
export function renderDesiredState(options: RenderDesiredStateOptions): DesiredState {
  const root = findRoot(options);
  // Pass 1 with the built-in API versions finds every CRD; pass 2 renders charts as the cluster would (CRDs installed).
  const first = walk(options, root, BUILT_IN_API_VERSIONS);
  const crds = crdApiVersions(first.objects.map((o) => o.object));
  if (crds.length === 0) return first;
  return walk(options, root, [...BUILT_IN_API_VERSIONS, ...crds]);
}

interface RootApplication {
  readonly manifest: K8sObject;
  readonly file: string;
}

function findRoot(options: RenderDesiredStateOptions): RootApplication {
  const folder = join(options.dir, 'argocd');
  if (!existsSync(folder)) throw new DesiredStateError(`${options.dir} has no argocd/ folder: the app of apps starts there; run keelson synth`);
  const want = `${trimSlashes(options.gitops.path)}/argocd`;
  for (const { object, file } of readFolder(options.dir, 'argocd')) {
    const spec = object.spec as { source?: { repoURL?: string; path?: string } } | undefined;
    if (object.kind === 'Application' && sameRepo(spec?.source?.repoURL, options.gitops.repoURL) && trimSlashes(spec?.source?.path ?? '') === want) return { manifest: object, file };
  }
  throw new DesiredStateError(`no Application in ${folder} syncs ${want} from ${options.gitops.repoURL}: the root of the app of apps is missing; run keelson synth`);
}

function walk(options: RenderDesiredStateOptions, root: RootApplication, apiVersions: readonly string[]): DesiredState {
  const applications: RenderedApplication[] = [];
  const objects: DesiredObject[] = [];
  const seen = new Map<string, K8sObject>();
  const queue: Array<{ manifest: K8sObject; file: string; parent?: string; wave: number }> = [{ ...root, wave: waveOf(root.manifest) }];
  while (queue.length > 0) {
    const next = queue.shift() as (typeof queue)[number];
    const name = next.manifest.metadata?.name ?? '?';
    if (seen.has(name)) {
      // The root manages its own manifest (it lies in the folder it syncs): the same object, rendered once.
      if (canonicalJson(seen.get(name)) === canonicalJson(next.manifest)) continue;
      throw new DesiredStateError(`Application ${name} (${next.file}) is rendered twice with different specs: two Applications of one name overwrite each other in Argo CD`);
    }
    seen.set(name, next.manifest);
    const rendered = renderApplication(options, next.manifest, next.file, apiVersions);
    applications.push({ ...rendered.info, name, ...(next.parent ? { parent: next.parent } : {}), wave: next.wave, manifest: next.manifest, file: next.file, objectCount: rendered.objects.length });
    for (const o of rendered.objects) {
      objects.push(o);
      if (o.object.apiVersion === 'argoproj.io/v1alpha1' && o.object.kind === 'Application') queue.push({ manifest: o.object, file: o.source, parent: name, wave: waveOf(o.object) });
    }
  }
  return placeObjects({ applications, objects });
}

interface Rendered {
  readonly info: Pick<RenderedApplication, 'project' | 'destinationNamespace' | 'type' | 'repoURL' | 'chartOrPath' | 'revision' | 'syncOptions'> & { digest?: string };
  readonly objects: DesiredObject[];
}

interface AppSource {
  repoURL?: string;
  path?: string;
  chart?: string;
  targetRevision?: string;
  helm?: { releaseName?: string; valuesObject?: unknown; values?: string; parameters?: Array<{ name: string; value: string }>; valueFiles?: string[] };
  kustomize?: { namespace?: string; patches?: unknown[]; namePrefix?: string; commonLabels?: Record<string, string>; images?: string[] };
  directory?: { recurse?: boolean; include?: string; exclude?: string };
}

function renderApplication(options: RenderDesiredStateOptions, app: K8sObject, file: string, apiVersions: readonly string[]): Rendered {
  const name = app.metadata?.name ?? '?';
  const spec = (app.spec ?? {}) as { project?: string; destination?: { namespace?: string }; source?: AppSource; sources?: AppSource[]; syncPolicy?: { syncOptions?: string[] } };
  if (spec.sources) throw new DesiredStateError(`Application ${name} (${file}) has several sources (spec.sources); Keelson renders one source per Application`);
  const source = spec.source;
  if (!source?.repoURL) throw new DesiredStateError(`Application ${name} (${file}) has no spec.source.repoURL`);
  const destinationNamespace = spec.destination?.namespace ?? '';
  const base = { project: spec.project ?? 'default', destinationNamespace, repoURL: source.repoURL, revision: source.targetRevision ?? 'HEAD', syncOptions: spec.syncPolicy?.syncOptions ?? [] };
  const tag = (object: K8sObject, from: string): DesiredObject => ({ object, application: name, wave: waveOf(object), source: from });

  if (source.chart) {
    const chart = resolveChart({ repoURL: source.repoURL, chart: source.chart, version: base.revision }, options.sources);
    const values = helmValues(name, file, source.helm);
    const parsed = cachedHelmTemplate(options, chart.digest, `helm ${source.chart} ${base.revision}`, {
      chartDir: chart.dir,
      releaseName: source.helm?.releaseName ?? name,
      namespace: destinationNamespace,
      values,
      kubeVersion: options.kubeVersion,
      apiVersions,
    });
    const objects = parsed.map(({ object, from }) => tag(object, from));
    return { info: { ...base, type: 'helm', chartOrPath: source.chart, digest: chart.digest }, objects };
  }

  const path = trimSlashes(source.path ?? '');
  const own = trimSlashes(options.gitops.path);
  if (sameRepo(source.repoURL, options.gitops.repoURL)) {
    if (path !== own && !path.startsWith(`${own}/`)) throw new DesiredStateError(`Application ${name} (${file}) syncs ${path} of this repository, outside the GitOps folder ${own}`);
    const folder = path.slice(own.length).replace(/^\//, '');
    if (!existsSync(join(options.dir, folder))) throw new DesiredStateError(`Application ${name} (${file}) syncs ${path}, which is not in ${options.dir}; run keelson synth`);
    const objects = readFolder(options.dir, folder, source.directory).map(({ object, file: f }) => tag(object, f));
    return { info: { ...base, type: 'directory', chartOrPath: path }, objects };
  }

  const git = resolveGitSource({ repoURL: source.repoURL, revision: base.revision, path }, options.sources);
  const label = `${source.repoURL.replace(/^https:\/\/github\.com\//, '').replace(/\.git$/, '')}@${base.revision}`;
  if (existsSync(join(git.dir, 'kustomization.yaml')) || existsSync(join(git.dir, 'kustomization.yml')) || existsSync(join(git.dir, 'Kustomization'))) {
    const parsed = cached(options, [git.digest, path, canonicalJson(source.kustomize ?? {}), 'kubectl v1.36.3 kustomize'], `${label}: ${path}`, () => kustomize(git.dir, source.kustomize, `Application ${name} (${file})`));
    const objects = parsed.map(({ object, from }) => tag(object, from));
    return { info: { ...base, type: 'kustomize', chartOrPath: path, digest: git.digest }, objects };
  }
  const objects = readTree(git.dir, source.directory).map(({ object, rel }) => tag(object, `${label}: ${path}/${rel}`));
  return { info: { ...base, type: 'git-directory', chartOrPath: path, digest: git.digest }, objects };
}

/** Argo CD merges `values` (a YAML string) under `valuesObject`, and applies `parameters` on top. */
function helmValues(name: string, file: string, helm: AppSource['helm']): unknown {
  if (helm?.valueFiles && helm.valueFiles.length > 0) throw new DesiredStateError(`Application ${name} (${file}) uses helm.valueFiles; Keelson sets values inline (valuesObject)`);
  if (helm?.parameters && helm.parameters.length > 0) throw new DesiredStateError(`Application ${name} (${file}) uses helm.parameters; Keelson sets values inline (valuesObject)`);
  const fromString = helm?.values ? (YAML.parse(helm.values) as unknown) : undefined;
  return deepMerge(fromString ?? {}, helm?.valuesObject ?? {});
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? deepMerge(out[k], v) : v;
    return out;
  }
  return b;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function cachedHelmTemplate(options: RenderDesiredStateOptions, digest: string, label: string, args: Parameters<typeof helmTemplate>[0]): Array<{ object: K8sObject; from: string }> {
  return cached(options, [digest, args.releaseName, args.namespace, args.kubeVersion, [...(args.apiVersions ?? [])].sort().join(','), canonicalJson(args.values), 'helm v4.3.2 --include-crds'], label, () =>
    helmTemplate({ ...args, helm: options.sources?.helm ?? requirePeer('helm', 'rendering the desired state', options.sources?.env) }),
  );
}

/**
 * The parsed output of a render step, kept on disk as JSON by the hash of
 * everything that decides it (a source's digest first), so a warm run
 * neither runs helm or kustomize nor parses YAML.
 */
function cached(options: RenderDesiredStateOptions, inputs: readonly string[], label: string, make: () => string): Array<{ object: K8sObject; from: string }> {
  const cacheRoot = options.cacheDir === false ? undefined : (options.cacheDir ?? defaultRenderCache(options.sources?.env ?? process.env));
  const key = createHash('sha256').update(JSON.stringify([...inputs, label])).digest('hex');
  const hit = cacheRoot ? join(cacheRoot, `${key}.json`) : undefined;
  if (hit && existsSync(hit)) return JSON.parse(readFileSync(hit, 'utf8')) as Array<{ object: K8sObject; from: string }>;
  const parsed = parseDocuments(make(), label);
  if (hit && cacheRoot) {
    mkdirSync(cacheRoot, { recursive: true });
    const partial = `${hit}.${process.pid}.partial`;
    writeFileSync(partial, JSON.stringify(parsed));
    renameSync(partial, hit);
  }
  return parsed;
}

function defaultRenderCache(env: NodeJS.ProcessEnv): string {
  const set = env.KEELSON_CACHE_DIR;
  return set && set.length > 0 ? join(set, 'render') : join(env.HOME && env.HOME.length > 0 ? env.HOME : homedir(), '.cache', 'keelson', 'render');
}

/** Builds a kustomization with the Application's kustomize options, as Argo CD does (`kustomize edit` on a copy). */
function kustomize(dir: string, options: AppSource['kustomize'], who: string): string {
  const kubectl = requirePeer('kubectl', 'kustomize (kubectl kustomize)');
  const work = mkdtempSync(join(tmpdir(), 'keelson-kustomize-'));
  try {
    const overlay: Record<string, unknown> = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [relative(work, dir)] };
    if (options?.namespace) overlay.namespace = options.namespace;
    if (options?.namePrefix) overlay.namePrefix = options.namePrefix;
    if (options?.commonLabels) overlay.labels = [{ pairs: options.commonLabels, includeSelectors: true }];
    if (options?.images && options.images.length > 0) throw new DesiredStateError(`${who}: kustomize.images is not rendered by Keelson; pin images in the source`);
    if (options?.patches && options.patches.length > 0) overlay.patches = options.patches;
    writeFileSync(join(work, 'kustomization.yaml'), YAML.stringify(overlay));
    const run = spawnSync(kubectl, ['kustomize', work, '--load-restrictor', 'LoadRestrictionsNone'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
    if (run.error || run.status !== 0) throw new DesiredStateError(`${who}: kustomize build of ${dir} failed: ${run.error?.message ?? run.stderr.trim()}`);
    return run.stdout;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function parseDocuments(text: string, label: string): Array<{ object: K8sObject; from: string }> {
  const out: Array<{ object: K8sObject; from: string }> = [];
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new DesiredStateError(`${label}: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
    const object = doc.toJS() as K8sObject | null;
    if (!object || typeof object !== 'object') continue;
    // helm marks each document `# Source: <chart>/templates/<file>`.
    const contents = doc.contents as { commentBefore?: string | null } | null;
    const comment = `${doc.commentBefore ?? ''}\n${contents?.commentBefore ?? ''}`;
    const template = /Source: (\S+)/.exec(comment)?.[1];
    if (object.kind === 'List' && Array.isArray(object.items)) {
      for (const item of object.items as K8sObject[]) out.push({ object: item, from: template ? `${label}: ${template}` : label });
    } else {
      out.push({ object, from: template ? `${label}: ${template}` : label });
    }
  }
  return out;
}

/** The YAML objects of a folder of this repository's render, with their files relative to its parent (`charts-out/apps/x.yaml`). */
function readFolder(dir: string, folder: string, directory?: AppSource['directory']): Array<{ object: K8sObject; file: string }> {
  return readTree(join(dir, folder), directory).map(({ object, rel }) => ({ object, file: [relative(join(dir, '..'), join(dir, folder)), rel].join('/') }));
}

/** YAML and JSON files of a directory source (recursing only when asked, as Argo CD does), parsed. */
function readTree(root: string, directory?: AppSource['directory']): Array<{ object: K8sObject; rel: string }> {
  const include = directory?.include ? globs(directory.include) : undefined;
  const exclude = directory?.exclude ? globs(directory.exclude) : [];
  const out: Array<{ object: K8sObject; rel: string }> = [];
  const visit = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const full = join(d, entry);
      const rel = relative(root, full).split(sep).join('/');
      if (statSync(full).isDirectory()) {
        if (directory?.recurse) visit(full);
        continue;
      }
      if (!/\.(ya?ml|json)$/.test(entry)) continue;
      if (include && !include.some((g) => g.test(rel))) continue;
      if (exclude.some((g) => g.test(rel))) continue;
      const text = readFileSync(full, 'utf8');
      const parsed = entry.endsWith('.json') ? [{ object: JSON.parse(text) as K8sObject, from: rel }] : parseDocuments(text, rel);
      for (const { object } of parsed) out.push({ object, rel });
    }
  };
  visit(root);
  return out;
}

/** Argo CD's include/exclude: a glob, or `{a,b}` of globs. */
function globs(pattern: string): RegExp[] {
  const list = pattern.startsWith('{') && pattern.endsWith('}') ? pattern.slice(1, -1).split(',') : [pattern];
  return list.map((g) => new RegExp(`^${g.trim().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(?:.*/)?').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`));
}

/** `group/version` and `group/version/Kind` of every CRD's served versions, for `helm template --api-versions`. */
export function crdApiVersions(objects: readonly K8sObject[]): string[] {
  const out = new Set<string>();
  for (const o of objects) {
    if (o.kind !== 'CustomResourceDefinition') continue;
    const spec = o.spec as { group?: string; names?: { kind?: string }; versions?: Array<{ name: string; served?: boolean }> } | undefined;
    for (const v of spec?.versions ?? []) {
      if (v.served === false || !spec?.group) continue;
      out.add(`${spec.group}/${v.name}`);
      if (spec.names?.kind) out.add(`${spec.group}/${v.name}/${spec.names.kind}`);
    }
  }
  return [...out].sort();
}

/**
 * Where each object lands: its own namespace, else its Application's
 * destination, unless its kind is cluster-scoped (built in, or a CRD of the
 * render with `scope: Cluster`).
 */
function placeObjects(state: DesiredState): DesiredState {
  const custom = new Set<string>();
  for (const { object } of state.objects) {
    const spec = object.spec as { scope?: string; group?: string; names?: { kind?: string } } | undefined;
    if (object.kind === 'CustomResourceDefinition' && spec?.scope === 'Cluster' && spec.names?.kind) custom.add(`${spec.group}/${spec.names.kind}`);
  }
  const destination = new Map(state.applications.map((a) => [a.name, a.destinationNamespace]));
  const objects = state.objects.map((o) => {
    const own = o.object.metadata?.namespace;
    const group = (o.object.apiVersion ?? '').includes('/') ? (o.object.apiVersion ?? '').split('/')[0] : '';
    const clusterScoped = CLUSTER_SCOPED_KINDS.has(o.object.kind ?? '') || custom.has(`${group}/${o.object.kind ?? ''}`);
    const namespace = clusterScoped ? undefined : own || destination.get(o.application) || undefined;
    return namespace ? { ...o, namespace } : o;
  });
  return { applications: state.applications, objects };
}

function waveOf(object: K8sObject): number {
  const raw = object.metadata?.annotations?.[WAVE];
  const n = raw === undefined ? 0 : Number.parseInt(raw, 10);
  return Number.isFinite(n) ? n : 0;
}

function trimSlashes(p: string): string {
  return p.replace(/^\.?\/+/, '').replace(/\/+$/, '');
}
