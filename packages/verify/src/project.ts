// The project check: every object of the app of apps is one its AppProject
// lets Argo CD apply. A project that forgets one namespace or one
// cluster-scoped kind fails a real sync ("resource :Namespace is not
// permitted", "namespace cilium-secrets is not permitted in project") while
// every file is valid, so verify applies Argo CD's own rules to the desired state.
import { apiGroup, CLUSTER_SCOPED_KINDS, type DesiredObject, type DesiredState, type RenderedApplication } from '@keelson/upstream';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type K8sObject, type Loose } from './types';

const ARGOCD_GROUP = 'argoproj.io';
const CREATE_NAMESPACE = 'CreateNamespace=true';
const CLUSTER_SECRET_LABEL = 'argocd.argoproj.io/secret-type';
/** How many objects a finding lists before "and N more". */
const LISTED = 6;

/**
 * The cluster Argo CD runs in, known without a cluster Secret.
 *
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/pkg/apis/application/v1alpha1/application_defaults.go#L31-L34
 */
export const IN_CLUSTER = { server: 'https://kubernetes.default.svc', name: 'in-cluster' } as const;

/** A destination cluster as Argo CD resolves it: its server, its name, and the project it is scoped to. */
interface Cluster {
  readonly server: string;
  readonly name: string;
  readonly project?: string;
}

interface GroupKindItem {
  readonly group?: string;
  readonly kind?: string;
  readonly name?: string;
}

/** The fields of an AppProject's spec the permission checks read. */
interface ProjectSpec {
  readonly sourceRepos?: readonly string[];
  readonly destinations?: ReadonlyArray<{ readonly server?: string; readonly name?: string; readonly namespace?: string }>;
  readonly clusterResourceWhitelist?: readonly GroupKindItem[];
  readonly clusterResourceBlacklist?: readonly GroupKindItem[];
  readonly namespaceResourceWhitelist?: readonly GroupKindItem[] | null;
  readonly namespaceResourceBlacklist?: readonly GroupKindItem[];
  readonly permitOnlyProjectScopedClusters?: boolean;
}

interface Project {
  readonly name: string;
  readonly spec: ProjectSpec;
  /** Where it is declared; undefined for the `default` project Argo CD creates itself. */
  readonly source?: string;
}

/**
 * The `default` project argocd-server creates at start when none exists:
 * any repository, any destination, any kind.
 *
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/server/server.go#L292-L310 (initializeDefaultProject)
 */
const DEFAULT_PROJECT: Project = {
  name: 'default',
  spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] },
};

/**
 * The `project` check: Argo CD's AppProject permission checks, run on every
 * Application and every object it would apply.
 *
 * - Every Application's `spec.project` is an AppProject of the desired state
 *   (or `default`, which Argo CD creates); otherwise Argo CD refuses it
 *   ("Application referencing project P which does not exist").
 * - Its `spec.source.repoURL` (and each of `spec.sources`) matches the
 *   project's `sourceRepos` (`IsSourcePermitted`: Git URLs normalized, globs
 *   with `/` as separator, `!` denies).
 * - Its `spec.destination` resolves to a known cluster (in-cluster, or a
 *   cluster Secret of the desired state) and matches the project's
 *   `destinations` (`IsDestinationPermitted`: globs, `!` denies).
 * - Every object passes the permission validator Argo CD hands the sync:
 *   its group/kind is permitted (`IsGroupKindNamePermitted`: a cluster-scoped
 *   kind must be in `clusterResourceWhitelist`, matching an optional name,
 *   and not in `clusterResourceBlacklist`; a namespaced kind must not be in
 *   `namespaceResourceBlacklist` nor, when it is set, missing from
 *   `namespaceResourceWhitelist`; kinds and groups match as Go's
 *   `filepath.Match`), and a namespaced object's namespace is a permitted
 *   destination. With `CreateNamespace=true` the Namespace Argo CD creates
 *   goes through the same validator.
 * - Argo CD checks a Namespace object by its kind only (it is
 *   cluster-scoped), never its name against `destinations`; but every
 *   object later put into that namespace is refused unless it is a
 *   destination, so a Namespace an Application creates outside its project's
 *   destinations is reported too (the chart's own objects there, if any, in
 *   the same finding).
 *
 * Whether a kind is namespaced follows the API server: the built-in
 * cluster-scoped kinds, and the kinds of CRDs of the desired state with
 * `scope: Cluster`.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/projects/
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/project-specification/
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/controller/sync.go#L306-L310 (WithPermissionValidator) and #L643-L671 (validateSyncPermissions)
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/gitops-engine/pkg/sync/sync_context.go#L1027-L1093 (the auto-created Namespace among the tasks; the validator called for every task)
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/pkg/apis/application/v1alpha1/app_project_types.go#L398-L533 (IsGroupKindNamePermitted, globMatch, IsSourcePermitted, IsDestinationPermitted, isDestinationMatched)
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/pkg/apis/application/v1alpha1/types.go#L3843-L3874 (isResourceInList, isNamedResourceInList: filepath.Match)
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/util/argo/argo.go#L641-L719 (ValidatePermissions) and #L1089-L1130 (GetDestinationServer, GetDestinationCluster)
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/util/git/git.go#L59-L80 (NormalizeGitURL)
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/controller/appcontroller.go#L2739-L2751 (a missing project)
 */
export function checkProject(desired: DesiredState): CheckResult {
  const findings: Finding[] = [];
  const projects = readProjects(desired.objects);
  const clusters = readClusters(desired.objects);
  const clusterScoped = clusterScopedKinds(desired.objects);
  const byApplication = new Map<string, DesiredObject[]>();
  for (const o of desired.objects) byApplication.set(o.application, [...(byApplication.get(o.application) ?? []), o]);

  let applications = 0;
  let objects = 0;
  for (const app of desired.applications) {
    const spec = (app.manifest.spec ?? {}) as Loose;
    const projectName = typeof spec.project === 'string' && spec.project.length > 0 ? spec.project : app.project;
    const project = projects.get(projectName) ?? (projectName === DEFAULT_PROJECT.name ? DEFAULT_PROJECT : undefined);
    const at = (message: string, file = app.file): Finding => ({ file, application: app.name, message });
    if (!project) {
      findings.push(at(`Application ${app.name} belongs to AppProject ${projectName}, which is not in the desired state: Argo CD refuses it ("Application referencing project ${projectName} which does not exist") and syncs none of its ${app.objectCount} objects; add AppProject ${projectName} to the app of apps, or set spec.project to an existing project`));
      continue;
    }
    applications++;

    // The Application itself: sources and destination (ValidatePermissions).
    const sources: Loose[] = Array.isArray(spec.sources) && spec.sources.length > 0 ? spec.sources : [spec.source ?? {}];
    for (const source of sources) {
      const repoURL = String(source?.repoURL ?? '');
      if (!isSourcePermitted(project.spec, repoURL)) {
        findings.push(at(`Application ${app.name}: source ${repoURL || '(none)'} is not among AppProject ${project.name}'s sourceRepos: Argo CD refuses it ("application repo ${repoURL} is not permitted in project '${project.name}'"); add ${repoURL} to the project's sourceRepos`));
      }
    }
    const destination = (spec.destination ?? {}) as { server?: string; name?: string; namespace?: string };
    const resolved = resolveCluster(destination, clusters);
    if (typeof resolved === 'string') {
      findings.push(at(`Application ${app.name}: ${resolved}; Argo CD syncs nothing of it; send it to server ${IN_CLUSTER.server} (or name ${IN_CLUSTER.name}), or declare the cluster's Secret`));
      continue;
    }
    const destinationNamespace = destination.namespace ?? '';
    if (!isDestinationPermitted(project, resolved, destinationNamespace)) {
      findings.push(at(`Application ${app.name}: destination server ${resolved.server} namespace ${destinationNamespace || '(none)'} is not among AppProject ${project.name}'s destinations: Argo CD refuses it ("application destination server '${resolved.server}' and namespace '${destinationNamespace}' do not match any of the allowed destinations in project '${project.name}'"); ${addDestination(project, resolved, destinationNamespace, app, 'its destination')}`));
    }

    // The Namespace Argo CD creates itself for the destination.
    if (app.syncOptions.includes(CREATE_NAMESPACE) && destinationNamespace && !isGroupKindNamePermitted(project.spec, '', 'Namespace', destinationNamespace, false)) {
      findings.push(at(`Application ${app.name}: ${CREATE_NAMESPACE} makes Argo CD create Namespace ${destinationNamespace}, but AppProject ${project.name} does not permit the cluster-scoped kind Namespace: the sync fails ("resource :Namespace is not permitted in project ${project.name}"); ${fixKind(project, '', 'Namespace', destinationNamespace, false, app)}`));
    }

    // Every object: its group/kind, and its namespace (validateSyncPermissions).
    const outside = new Map<string, { objects: DesiredObject[]; creators: DesiredObject[] }>();
    const place = (ns: string) => {
      const had = outside.get(ns);
      if (had) return had;
      const made: { objects: DesiredObject[]; creators: DesiredObject[] } = { objects: [], creators: [] };
      outside.set(ns, made);
      return made;
    };
    for (const o of byApplication.get(app.name) ?? []) {
      objects++;
      const group = apiGroup(String(o.object.apiVersion ?? ''));
      const kind = String(o.object.kind ?? '');
      const name = String(o.object.metadata?.name ?? '');
      const namespaced = !clusterScoped(group, kind);
      const what = describe(o.object as K8sObject);
      if (!isGroupKindNamePermitted(project.spec, group, kind, name, namespaced)) {
        findings.push(at(`${what} (Application ${app.name}): AppProject ${project.name} does not permit the ${namespaced ? 'namespaced' : 'cluster-scoped'} kind ${group ? `${group}/${kind}` : kind}: the sync fails ("resource ${group}:${kind} is not permitted in project ${project.name}"); ${fixKind(project, group, kind, name, namespaced, app)}`, o.source));
      }
      if (namespaced) {
        const ns = o.namespace ?? '';
        if (ns === '') {
          findings.push(at(`${what} (Application ${app.name}): a namespaced object with no namespace, in an Application with no destination namespace: Argo CD reports "Namespace for ${name} is missing" and cannot apply it; set metadata.namespace, or the Application's spec.destination.namespace`, o.source));
        } else if (!isDestinationPermitted(project, resolved, ns)) {
          place(ns).objects.push(o);
        }
      } else if (group === '' && kind === 'Namespace' && name && !isDestinationPermitted(project, resolved, name)) {
        place(name).creators.push(o);
      }
    }
    for (const [ns, { objects: inside, creators }] of outside) {
      const parts: string[] = [];
      if (creators.length > 0) parts.push(`creates Namespace ${ns}, which AppProject ${project.name} does not list among its destinations (Argo CD checks a Namespace by its kind only, so the Namespace syncs, but every object later put into it is refused)`);
      if (inside.length > 0) parts.push(`puts ${listObjects(inside)} into namespace ${ns}, which Argo CD refuses ("namespace ${ns} is not permitted in project '${project.name}'")`);
      const file = (creators[0] ?? inside[0]).source;
      findings.push(at(`Application ${app.name} ${parts.join(', and ')}; ${addDestination(project, resolved, ns, app, creators.length > 0 ? 'creates' : 'deploys into')}`, file));
    }
  }

  return check('project', `${applications} Applications and ${objects} objects checked against ${projects.size} AppProject${projects.size === 1 ? '' : 's'}, as Argo CD's permission validator would`, findings);
}

/** AppProjects of the desired state by name. */
function readProjects(objects: readonly DesiredObject[]): Map<string, Project> {
  const out = new Map<string, Project>();
  for (const o of objects) {
    if (o.object.kind !== 'AppProject' || apiGroup(String(o.object.apiVersion ?? '')) !== ARGOCD_GROUP) continue;
    const name = o.object.metadata?.name;
    if (name) out.set(name, { name, spec: (isRecord(o.object.spec) ? o.object.spec : {}) as ProjectSpec, source: o.source });
  }
  return out;
}

/**
 * The clusters Argo CD knows: in-cluster, and the cluster Secrets of the
 * desired state (`name`, `server`, `project` in `stringData` or base64 `data`).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#clusters
 */
function readClusters(objects: readonly DesiredObject[]): Cluster[] {
  const out: Cluster[] = [IN_CLUSTER];
  for (const o of objects) {
    if (o.object.kind !== 'Secret' || o.object.metadata?.labels?.[CLUSTER_SECRET_LABEL] !== 'cluster') continue;
    const field = (key: string): string | undefined => {
      const plain = (o.object.stringData as Record<string, unknown> | undefined)?.[key];
      if (typeof plain === 'string') return plain;
      const encoded = (o.object.data as Record<string, unknown> | undefined)?.[key];
      return typeof encoded === 'string' ? Buffer.from(encoded, 'base64').toString('utf8') : undefined;
    };
    const server = (field('server') ?? '').replace(/\/+$/, '');
    if (!server) continue;
    const project = field('project');
    // A Secret for the in-cluster server replaces the built-in entry (it may rename it or scope it to a project).
    const at = out.findIndex((c) => c.server === server);
    const cluster: Cluster = { server, name: field('name') ?? (server === IN_CLUSTER.server ? IN_CLUSTER.name : ''), ...(project ? { project } : {}) };
    if (at >= 0) out[at] = cluster;
    else out.push(cluster);
  }
  return out;
}

/** Argo CD's GetDestinationCluster: the cluster an Application's destination names, or why it names none. */
function resolveCluster(destination: { server?: string; name?: string }, clusters: readonly Cluster[]): Cluster | string {
  const server = destination.server ?? '';
  const name = destination.name ?? '';
  if (server && name) return `its destination has both name ${name} and server ${server} ("application destination can't have both name and server defined")`;
  if (server) {
    const trimmed = server.replace(/\/+$/, '');
    return clusters.find((c) => c.server === trimmed) ?? `its destination server ${server} is no cluster Argo CD knows (neither in-cluster nor a cluster Secret of the desired state)`;
  }
  if (name) {
    const named = clusters.filter((c) => c.name === name);
    if (named.length === 1) return named[0];
    return named.length === 0 ? `its destination name ${name} is no cluster Argo CD knows ("there are no clusters with this name: ${name}")` : `${named.length} clusters are named ${name}`;
  }
  return 'its destination names neither a server nor a cluster name';
}

/** The group/kinds the API server serves cluster-scoped: built in, or a CRD of the desired state with `scope: Cluster`. */
function clusterScopedKinds(objects: readonly DesiredObject[]): (group: string, kind: string) => boolean {
  const custom = new Set<string>();
  for (const { object } of objects) {
    const spec = object.spec as { scope?: string; group?: string; names?: { kind?: string } } | undefined;
    if (object.kind === 'CustomResourceDefinition' && spec?.scope === 'Cluster' && spec.names?.kind) custom.add(`${spec.group ?? ''}/${spec.names.kind}`);
  }
  return (group, kind) => CLUSTER_SCOPED_KINDS.has(kind) || custom.has(`${group}/${kind}`);
}

/**
 * Argo CD's IsGroupKindNamePermitted. A namespaced kind: permitted when the
 * whitelist is unset (`null`/absent) or lists it, and the blacklist does not
 * (an empty whitelist `[]` permits nothing). A cluster-scoped kind: only when
 * the whitelist lists it (with a name pattern, only matching names) and the
 * blacklist does not.
 */
function isGroupKindNamePermitted(spec: ProjectSpec, group: string, kind: string, name: string, namespaced: boolean): boolean {
  if (namespaced) {
    const white = spec.namespaceResourceWhitelist;
    const whiteListed = white === undefined || white === null || (white.length !== 0 && inList(white, group, kind));
    const blackListed = asArray<GroupKindItem>(spec.namespaceResourceBlacklist).length !== 0 && inList(asArray(spec.namespaceResourceBlacklist), group, kind);
    return whiteListed && !blackListed;
  }
  const white = asArray<GroupKindItem>(spec.clusterResourceWhitelist);
  const black = asArray<GroupKindItem>(spec.clusterResourceBlacklist);
  return white.length !== 0 && inList(white, group, kind, name) && !(black.length !== 0 && inList(black, group, kind, name));
}

/** isResourceInList / isNamedResourceInList: kind, group (and name, when the item has one) as Go's filepath.Match. */
function inList(list: readonly GroupKindItem[], group: string, kind: string, name?: string): boolean {
  return list.some((item) => filepathMatch(item.kind ?? '', kind) && filepathMatch(item.group ?? '', group) && (name === undefined || !item.name || filepathMatch(item.name, name)));
}

/** Argo CD's IsSourcePermitted: normalized URLs, `/`-separated globs; a `!` pattern that does not match denies. */
function isSourcePermitted(spec: ProjectSpec, repoURL: string): boolean {
  const source = normalizeGitURL(repoURL);
  let any = false;
  for (const pattern of asArray<string>(spec.sourceRepos)) {
    const normalized = pattern.startsWith('!') ? `!${normalizeGitURL(pattern.slice(1))}` : normalizeGitURL(pattern);
    const matched = globMatch(normalized, source, true, '/');
    if (matched) any = true;
    else if (normalized.startsWith('!')) return false;
  }
  return any;
}

/** Argo CD's IsDestinationPermitted with isDestinationMatched: the first `!` rule the destination fails denies it. */
function isDestinationPermitted(project: Project, cluster: Cluster, namespace: string): boolean {
  let any = false;
  for (const item of asArray<{ server?: string; name?: string; namespace?: string }>(project.spec.destinations)) {
    const itemName = item.name ?? '';
    const itemServer = item.server ?? '';
    const nameMatched = cluster.name !== '' && globMatch(itemName, cluster.name, true);
    const serverMatched = cluster.server !== '' && globMatch(itemServer, cluster.server, true);
    const namespaceMatched = globMatch(item.namespace ?? '', namespace, true);
    if ((serverMatched || nameMatched) && namespaceMatched) any = true;
    else if ((!nameMatched && itemName.startsWith('!')) || (!serverMatched && itemServer.startsWith('!') && namespaceMatched)) return false;
    else if (!namespaceMatched && (item.namespace ?? '').startsWith('!') && serverMatched) return false;
  }
  if (!any) return false;
  // permitOnlyProjectScopedClusters: the cluster must be one scoped to this project.
  return !project.spec.permitOnlyProjectScopedClusters || cluster.project === project.name;
}

/** Argo CD's NormalizeGitURL: lower case, `git@host:path` as `host/path`, no `.git`. */
function normalizeGitURL(repo: string): string {
  let url = repo.trim().toLowerCase();
  if (/^(ssh:\/\/)?([^/:]*?)@[^@]+$/.test(url) && !url.startsWith('ssh://')) url = `ssh://${url.replace(':', '/')}`;
  url = url.replace(/\.git$/, '');
  return url.replace(/^ssh:\/\//, '');
}

/** Argo CD's globMatch: `!pattern` negates (when allowed), `*` matches anything, else a gobwas glob. */
function globMatch(pattern: string, value: string, allowNegation: boolean, separators = ''): boolean {
  if (allowNegation && pattern.startsWith('!')) return !gobwasGlob(pattern.slice(1), separators)?.test(value);
  if (pattern === '*') return true;
  return gobwasGlob(pattern, separators)?.test(value) ?? false;
}

/**
 * A github.com/gobwas/glob pattern as a RegExp: `*` (not across separators),
 * `**`, `?`, `[abc]`, `[!a-z]`, `{a,b}`, `\` escapes; undefined when it does
 * not compile (Argo CD then matches nothing).
 *
 * @see https://github.com/gobwas/glob#syntax
 * @see https://github.com/argoproj/argo-cd/blob/v3.5.1/util/glob/glob.go#L88-L97
 */
function compileGobwasGlob(pattern: string, separators: string): RegExp | undefined {
  const notSeparator = separators ? `[^${escapeClass(separators)}]` : '[\\s\\S]';
  let i = 0;
  const parse = (inBraces: boolean): string => {
    let out = '';
    while (i < pattern.length) {
      const c = pattern[i];
      if (inBraces && (c === ',' || c === '}')) return out;
      i++;
      if (c === '\\') {
        if (i >= pattern.length) throw new Error('trailing escape');
        out += escapeRegExp(pattern[i++]);
      } else if (c === '*') {
        if (pattern[i] === '*') {
          while (pattern[i] === '*') i++;
          out += '[\\s\\S]*';
        } else {
          out += `${notSeparator}*`;
        }
      } else if (c === '?') {
        out += notSeparator;
      } else if (c === '[') {
        const end = pattern.indexOf(']', i);
        if (end < 0) throw new Error('unclosed [');
        let body = pattern.slice(i, end);
        i = end + 1;
        const negated = body.startsWith('!');
        if (negated) body = body.slice(1);
        let cls = '';
        for (let k = 0; k < body.length; k++) cls += body[k + 1] === '-' && k + 2 < body.length ? `${escapeClass(body[k])}-${escapeClass(body[(k += 2)])}` : escapeClass(body[k]);
        out += `[${negated ? '^' : ''}${cls}]`;
      } else if (c === '{') {
        const alternatives: string[] = [];
        for (;;) {
          alternatives.push(parse(true));
          if (i >= pattern.length) throw new Error('unclosed {');
          if (pattern[i++] === '}') break;
        }
        out += `(?:${alternatives.join('|')})`;
      } else {
        out += escapeRegExp(c);
      }
    }
    return out;
  };
  try {
    return new RegExp(`^${parse(false)}$`);
  } catch {
    return undefined;
  }
}

/**
 * Go's path/filepath.Match on Linux: `*` and `?` never match `/`, `[...]`
 * with `^` negation and ranges, `\` escapes; a malformed pattern matches nothing.
 *
 * @see https://pkg.go.dev/path/filepath#Match
 */
function compileFilepathPattern(pattern: string): RegExp | undefined {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (++i >= pattern.length) return undefined;
      re += escapeRegExp(pattern[i]);
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      // Go's getEsc: a class member may not be an unescaped '-' or ']' (except the closing ']').
      const member = (at: number): [string, number] | undefined => {
        const m = pattern[at];
        if (m === undefined || m === '-' || m === ']') return undefined;
        if (m !== '\\') return [m, at + 1];
        return pattern[at + 1] === undefined ? undefined : [pattern[at + 1], at + 2];
      };
      let j = i + 1;
      let cls = '';
      if (pattern[j] === '^') {
        cls += '^';
        j++;
      }
      let closed = false;
      for (let first = true; j < pattern.length; first = false) {
        if (pattern[j] === ']' && !first) {
          closed = true;
          break;
        }
        const lo = member(j);
        if (!lo) return undefined;
        j = lo[1];
        if (pattern[j] === '-') {
          const hi = member(j + 1);
          if (!hi || hi[0] < lo[0]) return undefined;
          j = hi[1];
          cls += `${escapeClass(lo[0])}-${escapeClass(hi[0])}`;
        } else {
          cls += escapeClass(lo[0]);
        }
      }
      if (!closed) return undefined;
      re += `[${cls}]`;
      i = j;
    } else {
      re += escapeRegExp(c);
    }
  }
  return new RegExp(`^${re}$`);
}

/**
 * Patterns compiled once per process: verify matches every object of every
 * Application against its project's few patterns (the mutation suite
 * verifies a render a hundred times).
 */
const compiled = new Map<string, RegExp | undefined>();
function memoCompile(key: string, compile: () => RegExp | undefined): RegExp | undefined {
  if (compiled.has(key)) return compiled.get(key);
  if (compiled.size >= 4096) compiled.clear();
  const re = compile();
  compiled.set(key, re);
  return re;
}
const gobwasGlob = (pattern: string, separators: string) => memoCompile(`glob\0${separators}\0${pattern}`, () => compileGobwasGlob(pattern, separators));
const filepathMatch = (pattern: string, value: string) => memoCompile(`path\0${pattern}`, () => compileFilepathPattern(pattern))?.test(value) ?? false;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const escapeClass = (s: string) => s.replace(/[\\\]^-]/g, '\\$&');

function listObjects(objects: readonly DesiredObject[]): string {
  const names = objects.slice(0, LISTED).map((o) => describe(o.object as K8sObject));
  return objects.length > LISTED ? `${names.join(', ')} and ${objects.length - LISTED} more` : names.join(', ');
}

/** The fix for a namespace a project does not permit, in Argo CD's words and Keelson's. */
function addDestination(project: Project, cluster: Cluster, namespace: string, app: RenderedApplication, how: 'creates' | 'deploys into' | 'its destination'): string {
  const where = project.source ? ` (${project.source})` : '';
  const declare =
    how === 'its destination'
      ? `declare ${namespace} as Application ${app.name}'s namespace`
      : how === 'creates' && app.type === 'helm'
        ? `declare it as a namespace the chart of Application ${app.name} creates (createsNamespaces)`
        : `declare it as a namespace Application ${app.name} ${how}`;
  return `add namespace ${namespace} (server ${cluster.server}) to AppProject ${project.name}'s destinations${where}: ${declare}`;
}

/** The fix for a group/kind a project does not permit: which list to change. */
function fixKind(project: Project, group: string, kind: string, name: string, namespaced: boolean, app: RenderedApplication): string {
  const spec = project.spec;
  const item = `{group: '${group}', kind: ${kind}}`;
  if (namespaced) {
    const white = spec.namespaceResourceWhitelist;
    const blocked = asArray<GroupKindItem>(spec.namespaceResourceBlacklist).length > 0 && inList(asArray(spec.namespaceResourceBlacklist), group, kind);
    if (blocked) return `remove the entry matching ${item} from AppProject ${project.name}'s namespaceResourceBlacklist`;
    return white && white.length === 0 ? `AppProject ${project.name}'s namespaceResourceWhitelist is empty, which permits no namespaced kind: add ${item}, or drop the field` : `add ${item} to AppProject ${project.name}'s namespaceResourceWhitelist`;
  }
  const black = asArray<GroupKindItem>(spec.clusterResourceBlacklist);
  if (black.length > 0 && inList(black, group, kind, name)) return `remove the entry matching ${item} from AppProject ${project.name}'s clusterResourceBlacklist`;
  const declare = app.type === 'helm' ? `; declare it in the chart's clusterResources (Application ${app.name})` : '';
  return `add ${item} to AppProject ${project.name}'s clusterResourceWhitelist${declare}`;
}
