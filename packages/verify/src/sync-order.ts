// The sync-order check: Argo CD could apply the app of apps in the order its
// waves say. Three rules fail a real first sync while every file is valid: a
// custom resource dry-run before its CRD exists, an object sent to a
// namespace nobody has created yet (both forever), and an object created
// through an admission webhook whose server is not running yet (until
// retries). Two more only delay it, and warn: a pod whose Secret, ConfigMap
// or ServiceAccount comes later, a claim whose StorageClass comes later.
import { apiGroup, BUILT_IN_API_GROUPS, type DesiredObject, type DesiredState, type RenderedApplication } from '@keelson/upstream';
import { selects } from './fault-tolerance';
import { neverApplied, podSpecOf, POD_KINDS, selectsAll } from './objects';
import { claimsOf, DEFAULT_CLASS } from './storage';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type K8sObject, type Loose } from './types';

/** The sync option that lets a custom resource skip the dry-run while its CRD is missing. */
export const SKIP_DRY_RUN_OPTION = 'SkipDryRunOnMissingResource=true';
const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';
const CREATE_NAMESPACE = 'CreateNamespace=true';
const ARGOCD_GROUP = 'argoproj.io';

/** Namespaces every cluster has before Argo CD syncs anything. */
const PREEXISTING_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/** One step from the root down to an Application: its name and its wave in its parent. */
interface Step {
  readonly name: string;
  readonly wave: number;
}

/**
 * Where Applications sit in the app of apps, to answer "is this object applied
 * and healthy before that Application starts syncing?".
 *
 * Argo CD applies an Application's resources wave by wave and starts a wave
 * only when the one before is healthy; a child Application is healthy when it
 * is synced and its own resources are (Keelson's Argo CD install turns that
 * health check on). So an object is in place before Application A starts when
 * it sits in an ancestor of A at a wave lower than the branch leading to A, or
 * in a sibling branch of a common ancestor that has a lower wave.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/health/#argocd-app
 */
export class AppTree {
  private readonly byName: ReadonlyMap<string, RenderedApplication>;

  constructor(applications: readonly RenderedApplication[]) {
    this.byName = new Map(applications.map((a) => [a.name, a]));
  }

  /** The steps from the root to `name` (the root first). */
  chain(name: string): Step[] {
    const steps: Step[] = [];
    const seen = new Set<string>();
    for (let app = this.byName.get(name); app && !seen.has(app.name); app = app.parent ? this.byName.get(app.parent) : undefined) {
      seen.add(app.name);
      steps.unshift({ name: app.name, wave: app.wave });
    }
    return steps;
  }

  /**
   * Whether an object at `wave` in Application `holder` is applied and
   * healthy before Application `target` starts. Within one wave Argo CD
   * applies one kind at a time, built-in kinds (Namespace and
   * CustomResourceDefinition among the first) before any custom kind such as
   * Application; so with `firstInWave`, an object in an ancestor at the same
   * wave as the branch leading to `target` is also in place.
   *
   * @see https://github.com/argoproj/gitops-engine/blob/master/pkg/sync/sync_tasks.go (kindOrder)
   * @see https://github.com/argoproj/gitops-engine/blob/master/pkg/sync/sync_context.go (runTasks: one kind at a time)
   */
  before(holder: string, wave: number, target: string, firstInWave = false): boolean {
    const t = this.chain(target);
    const h = this.chain(holder);
    const inAncestor = t.findIndex((s) => s.name === holder);
    if (inAncestor >= 0) return inAncestor < t.length - 1 && (wave < t[inAncestor + 1].wave || (firstInWave && wave === t[inAncestor + 1].wave));
    let i = 0;
    while (i < t.length && i < h.length && t[i].name === h[i].name) i++;
    // i: the first level where the branches differ; both have a step there (neither is an ancestor of the other).
    return i > 0 && i < t.length && i < h.length && h[i].wave < t[i].wave;
  }

  /** When `inner` is a descendant of `outer`: the child of `outer` on the way to it. */
  childToward(outer: string, inner: string): Step | undefined {
    const c = this.chain(inner);
    const at = c.findIndex((s) => s.name === outer);
    return at >= 0 && at < c.length - 1 ? c[at + 1] : undefined;
  }
}

const hasOption = (options: string | undefined, option: string) => (options ?? '').split(',').some((o) => o.trim() === option);

/**
 * The `sync-order` check.
 *
 * - Every custom resource's CRD is in place when Argo CD dry-runs the
 *   Application that holds the resource: created by an Application that
 *   finishes before it, or in the same Application (Argo CD skips the dry-run
 *   for a kind whose CRD is part of the sync), or the resource carries
 *   `SkipDryRunOnMissingResource=true` and sits at a wave after the child
 *   Application that creates its CRD.
 * - Every namespace an Application deploys into exists before the
 *   Application syncs: made by kubeadm, created at an earlier wave, created in
 *   the same Application (Argo CD applies Namespaces first within a wave), or
 *   the Application's destination with `CreateNamespace=true`.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#skip-dry-run-for-new-custom-resources-types
 * @see https://github.com/argoproj/gitops-engine/blob/master/pkg/sync/sync_context.go (shouldSkipDryRunOnMissingResource, hasCRDOfGroupKind)
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#create-namespace
 */
export function checkSyncOrder(desired: DesiredState): CheckResult {
  const tree = new AppTree(desired.applications);
  const apps = new Map(desired.applications.map((a) => [a.name, a]));
  const findings: Finding[] = [];
  const warnings: Finding[] = [];

  // CRDs by group/kind, and where each is created.
  const crds = new Map<string, DesiredObject>();
  for (const o of desired.objects) {
    if (o.object.kind !== 'CustomResourceDefinition') continue;
    const spec = (o.object as { spec?: { group?: string; names?: { kind?: string } } }).spec;
    if (spec?.group && spec.names?.kind) crds.set(`${spec.group}/${spec.names.kind}`, o);
  }

  let customResources = 0;
  for (const o of desired.objects) {
    const group = apiGroup(String(o.object.apiVersion ?? ''));
    // Argo CD's own kinds (Application, AppProject) exist before any Application can: the first boot installs Argo CD.
    if (BUILT_IN_API_GROUPS.has(group) || group === ARGOCD_GROUP) continue;
    customResources++;
    const app = apps.get(o.application);
    const skips = hasOption(o.object.metadata?.annotations?.[SYNC_OPTIONS], SKIP_DRY_RUN_OPTION) || (app?.syncOptions ?? []).includes(SKIP_DRY_RUN_OPTION);
    const what = `${describe(o.object as K8sObject)} (Application ${o.application}, wave ${o.wave})`;
    const crd = crds.get(`${group}/${o.object.kind}`);
    if (!crd) {
      const message = `${what}: no CustomResourceDefinition for ${group}/${o.object.kind} is in the desired state (an operator may register it at runtime)`;
      if (skips) warnings.push({ file: o.source, application: o.application, message: `${message}; it skips the dry-run, so the sync waits for the CRD` });
      else findings.push({ file: o.source, application: o.application, message: `${message}, and it lacks ${SYNC_OPTIONS}: ${SKIP_DRY_RUN_OPTION}: Argo CD's dry-run fails and the whole Application never syncs; add the annotation, or install the CRD from an Application at an earlier wave` });
      continue;
    }
    if (crd.application === o.application) {
      if (crd.wave > o.wave) findings.push({ file: o.source, application: o.application, message: `${what}: its CRD ${crd.object.metadata?.name} is applied later, at wave ${crd.wave}; give the resource a wave of at least ${crd.wave}` });
      continue;
    }
    if (tree.before(crd.application, crd.wave, o.application, true)) continue;
    const child = tree.childToward(o.application, crd.application);
    if (child) {
      const problems: string[] = [];
      if (!skips) problems.push(`it lacks ${SYNC_OPTIONS}: ${SKIP_DRY_RUN_OPTION}, so Argo CD's dry-run of Application ${o.application} fails before the child installs the CRD, forever`);
      if (o.wave <= child.wave) problems.push(`it is at wave ${o.wave}, not after the child Application ${child.name} (wave ${child.wave}) that installs the CRD; give it a wave above ${child.wave}`);
      if (problems.length > 0) findings.push({ file: o.source, application: o.application, message: `${what}: its CRD ${crd.object.metadata?.name} comes from child Application ${crd.application}: ${problems.join('; and ')}` });
      continue;
    }
    findings.push({
      file: o.source,
      application: o.application,
      message: `${what}: its CRD ${crd.object.metadata?.name} comes from Application ${crd.application}, which does not finish before ${o.application} starts; put ${crd.application} at an earlier sync wave, or move the resource into a later one`,
    });
  }

  // Namespaces: created where, at which wave.
  const namespaceObjects = new Map<string, DesiredObject[]>();
  for (const o of desired.objects) {
    if (o.object.kind !== 'Namespace' || apiGroup(String(o.object.apiVersion ?? '')) !== '') continue;
    const name = String(o.object.metadata?.name ?? '');
    namespaceObjects.set(name, [...(namespaceObjects.get(name) ?? []), o]);
  }
  const root = desired.applications.find((a) => a.parent === undefined);
  // The first object (lowest wave) each Application sends to each namespace.
  const first = new Map<string, DesiredObject>();
  for (const o of desired.objects) {
    if (!o.namespace) continue;
    const key = `${o.application}\0${o.namespace}`;
    const had = first.get(key);
    if (!had || o.wave < had.wave) first.set(key, o);
  }
  for (const o of first.values()) {
    const ns = o.namespace as string;
    const app = apps.get(o.application);
    if (!app) continue;
    // Argo CD itself runs in the root's namespace: it exists before anything syncs.
    if (PREEXISTING_NAMESPACES.has(ns) || ns === root?.destinationNamespace) continue;
    if (ns === app.destinationNamespace && app.syncOptions.includes(CREATE_NAMESPACE)) continue;
    const makers = namespaceObjects.get(ns) ?? [];
    if (makers.some((m) => (m.application === o.application && m.wave <= o.wave) || tree.before(m.application, m.wave, o.application, true))) continue;
    const where = makers.length > 0 ? `Namespace ${ns} is created by Application ${makers[0].application} at wave ${makers[0].wave}, which is not done before ${o.application} (wave ${app.wave}) starts` : `no Application creates Namespace ${ns}`;
    findings.push({
      file: o.source,
      application: o.application,
      message: `Application ${o.application} deploys ${describe(o.object as K8sObject)} into namespace ${ns}, but ${where}: the sync fails or waits forever; create the Namespace at a wave lower than ${o.application}'s, or set ${CREATE_NAMESPACE} on it`,
    });
  }
  const placements = first.size;

  const webhooks = checkWebhookOrder(desired, tree);
  const references = checkReferenceOrder(desired, tree);
  findings.push(...webhooks.findings);
  warnings.push(...webhooks.warnings, ...references.warnings);

  return check(
    'sync-order',
    `${customResources} custom resources after their CRDs, ${placements} Application-namespace placements after their namespace, ${webhooks.intercepted} objects created through admission webhooks after their servers, ${references.references} references to Secrets, ConfigMaps, ServiceAccounts and StorageClasses after what they name`,
    findings,
    warnings,
  );
}

const ADMISSION_GROUP = 'admissionregistration.k8s.io';
const WEBHOOK_KINDS: ReadonlySet<string> = new Set(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);

const what = (o: DesiredObject) => `${describe(o.object as K8sObject)} (Application ${o.application}, wave ${o.wave})`;

/**
 * Why `holder` is not in place when `o` is applied, as the fix to give, or
 * undefined when it is. With `healthy`, `holder` must be healthy (a wave is
 * done) before `o` is applied; without, applied earlier in the same wave is
 * enough (Argo CD applies Secrets, ConfigMaps, ServiceAccounts and
 * StorageClasses before workloads and claims within a wave). An object in a
 * child Application of `o`'s is in place only once that child is healthy,
 * so `o` needs a wave above the child's either way.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 * @see https://github.com/argoproj/gitops-engine/blob/master/pkg/sync/sync_tasks.go (kindOrder)
 */
export function notInPlace(tree: AppTree, holder: DesiredObject, o: DesiredObject, healthy: boolean): string | undefined {
  if (holder.application === o.application) {
    if (healthy ? holder.wave < o.wave : holder.wave <= o.wave) return undefined;
    return `give ${describe(o.object as K8sObject)} an argocd.argoproj.io/sync-wave ${healthy ? `above ${holder.wave}` : `of at least ${holder.wave}`}, after ${describe(holder.object as K8sObject)}`;
  }
  if (tree.before(holder.application, holder.wave, o.application, !healthy)) return undefined;
  const child = tree.childToward(o.application, holder.application);
  if (child) {
    if (o.wave > child.wave) return undefined;
    return `give ${describe(o.object as K8sObject)} an argocd.argoproj.io/sync-wave above ${child.wave}, after the child Application ${child.name}`;
  }
  return `sync Application ${holder.application} at an earlier wave than ${o.application}, or move ${describe(o.object as K8sObject)} to a later one`;
}

/** A matching selector: absent or empty selects everything. */
const matches = (selector: unknown, labels: Record<string, string>) => selector === undefined || selector === null || selectsAll(selector) || selects(selector, labels);

/** Whether `list` names `value` or `*`. */
const lists = (list: unknown, value: string) => asArray<unknown>(list).some((x) => x === '*' || x === value);

/**
 * The REST resource of a kind: a CRD's plural, else the API server's
 * lower-case plural of a built-in kind (`NetworkPolicy` -> `networkpolicies`).
 */
export function resourceOf(group: string, kind: string, plurals: ReadonlyMap<string, string>): string {
  const custom = plurals.get(`${group}/${kind}`);
  if (custom) return custom;
  const k = kind.toLowerCase();
  if (k === 'endpoints') return k;
  if (/(s|x|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

/** One webhook of a Validating or MutatingWebhookConfiguration that fails closed and calls a Service. */
interface Webhook {
  readonly configuration: DesiredObject;
  readonly name: string;
  readonly rules: readonly Loose[];
  readonly namespaceSelector: unknown;
  readonly objectSelector: unknown;
  /** `matchPolicy: Exact`: only the listed versions; else (Equivalent, the default) any version of the same resource. */
  readonly exact: boolean;
  readonly service: { readonly namespace: string; readonly name: string };
}

/** The pod template's labels of a workload. */
function podLabelsOf(o: K8sObject): Record<string, string> {
  const spec = o.spec as Loose;
  const template = o.kind === 'Pod' ? o : o.kind === 'CronJob' ? spec?.jobTemplate?.spec?.template : spec?.template;
  return (template?.metadata?.labels ?? {}) as Record<string, string>;
}

/**
 * Objects created through an admission webhook that fails closed come after
 * the webhook's server is healthy. A Validating or MutatingWebhookConfiguration
 * whose webhook has `failurePolicy: Fail` (the default of
 * admissionregistration.k8s.io/v1), calls a Service, and whose rules match
 * an object's CREATE (group, resource, version unless `matchPolicy: Exact`
 * lets only the listed ones match, scope, `namespaceSelector`,
 * `objectSelector`) rejects that object until a pod behind the Service is
 * ready: Argo CD's sync fails with "failed calling webhook" and retries. So
 * every workload the Service selects must be healthy before the object is
 * applied: at a lower wave of the same Application, in an Application that
 * finishes first, or in a child Application at a wave below the object's.
 * Objects applied before the configuration itself is registered are not
 * intercepted; `matchConditions` (CEL) are taken to match.
 *
 * @see https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#matching-requests-rules
 * @see https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 */
function checkWebhookOrder(desired: DesiredState, tree: AppTree): { findings: Finding[]; warnings: Finding[]; intercepted: number } {
  const findings: Finding[] = [];
  const warnings: Finding[] = [];
  const applied = desired.objects.filter((o) => !neverApplied(o.object));
  const core = (o: DesiredObject, kind: string) => o.object.kind === kind && apiGroup(String(o.object.apiVersion ?? '')) === '';
  const webhooks: Webhook[] = [];
  for (const c of applied) {
    if (!WEBHOOK_KINDS.has(String(c.object.kind)) || apiGroup(String(c.object.apiVersion ?? '')) !== ADMISSION_GROUP) continue;
    for (const w of asArray<Loose>((c.object as Loose).webhooks)) {
      const service = w?.clientConfig?.service;
      // An Ignore webhook lets the request through while its server is down; a URL webhook runs outside the cluster.
      if ((w?.failurePolicy ?? 'Fail') !== 'Fail' || !isRecord(service)) continue;
      webhooks.push({
        configuration: c,
        name: String(w.name ?? '?'),
        rules: asArray<Loose>(w.rules),
        namespaceSelector: w.namespaceSelector,
        objectSelector: w.objectSelector,
        exact: w.matchPolicy === 'Exact',
        service: { namespace: String(service.namespace ?? ''), name: String(service.name ?? '') },
      });
    }
  }
  if (webhooks.length === 0) return { findings, warnings, intercepted: 0 };

  // The workloads behind each webhook's Service.
  const servers = new Map<Webhook, DesiredObject[]>();
  for (const w of webhooks) {
    const svc = applied.find((o) => core(o, 'Service') && o.object.metadata?.name === w.service.name && o.namespace === w.service.namespace);
    const selector = (svc?.object.spec as Loose)?.selector;
    const backing = isRecord(selector) && Object.keys(selector).length > 0 ? applied.filter((o) => POD_KINDS.has(String(o.object.kind)) && o.namespace === w.service.namespace && Object.entries(selector).every(([k, v]) => podLabelsOf(o.object)[k] === v)) : [];
    if (backing.length === 0) {
      warnings.push({
        file: w.configuration.source,
        application: w.configuration.application,
        message: `${what(w.configuration)} webhook ${w.name} calls Service ${w.service.namespace}/${w.service.name}, ${svc ? 'which selects no workload of the desired state' : 'which is not in the desired state'}: its order against the objects it intercepts is not judged`,
      });
      continue;
    }
    servers.set(w, backing);
  }

  const plurals = new Map<string, string>();
  for (const o of applied) {
    const spec = (o.object as Loose).spec;
    if (o.object.kind === 'CustomResourceDefinition' && spec?.group && spec?.names?.kind) plurals.set(`${spec.group}/${spec.names.kind}`, String(spec.names.plural ?? ''));
  }
  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const o of applied) if (core(o, 'Namespace')) namespaceLabels.set(String(o.object.metadata?.name), { ...(o.object.metadata?.labels ?? {}) });
  const labelsOfNamespace = (ns: string) => ({ ...(namespaceLabels.get(ns) ?? {}), 'kubernetes.io/metadata.name': ns });
  const serving = new Set([...servers.values()].flat());

  let intercepted = 0;
  for (const o of applied) {
    if (WEBHOOK_KINDS.has(String(o.object.kind)) || serving.has(o)) continue;
    const apiVersion = String(o.object.apiVersion ?? '');
    const group = apiGroup(apiVersion);
    const version = apiVersion.slice(apiVersion.lastIndexOf('/') + 1);
    const resource = resourceOf(group, String(o.object.kind), plurals);
    const clusterScoped = o.namespace === undefined;
    const labels = { ...(o.object.metadata?.labels ?? {}) };
    const isNamespace = core(o, 'Namespace');
    const hits = webhooks.filter(
      (w) =>
        matches(w.objectSelector, labels) &&
        (isNamespace ? matches(w.namespaceSelector, { ...labels, 'kubernetes.io/metadata.name': String(o.object.metadata?.name) }) : clusterScoped || matches(w.namespaceSelector, labelsOfNamespace(o.namespace as string))) &&
        w.rules.some(
          (r) =>
            lists(r?.operations, 'CREATE') &&
            lists(r?.apiGroups, group) &&
            (!w.exact || lists(r?.apiVersions, version)) &&
            asArray<unknown>(r?.resources).some((x) => x === '*' || x === '*/*' || x === resource) &&
            (r?.scope === undefined || r.scope === '*' || r.scope === (clusterScoped ? 'Cluster' : 'Namespaced')),
        ) &&
        // Applied before the configuration is registered: the first create is not intercepted.
        !(o.application === w.configuration.application ? o.wave < w.configuration.wave : tree.before(o.application, o.wave, w.configuration.application, true)),
    );
    if (hits.length === 0) continue;
    intercepted++;
    for (const w of hits) {
      const late = (servers.get(w) ?? []).map((s) => ({ s, fix: notInPlace(tree, s, o, true) })).find((x) => x.fix !== undefined);
      if (!late) continue;
      findings.push({
        file: o.source,
        application: o.application,
        message: `${what(o)}: its creation goes through the ${w.configuration.object.kind} ${w.configuration.object.metadata?.name} webhook ${w.name} (failurePolicy Fail), served by ${what(late.s)} through Service ${w.service.namespace}/${w.service.name}, which is not healthy before the object is applied: the first sync fails with "failed calling webhook" until retries; ${late.fix}`,
      });
      break;
    }
  }
  return { findings, warnings, intercepted };
}

/** One object a pod needs by name: its Secrets, ConfigMaps and ServiceAccount. */
interface PodReference {
  readonly kind: 'Secret' | 'ConfigMap' | 'ServiceAccount';
  readonly name: string;
  /** Where the pod names it: `serviceAccountName`, `volume certs`, `container app envFrom`. */
  readonly where: string;
}

/** The Secrets, ConfigMaps and ServiceAccount a pod spec names (optional references left out: the pod starts without them). */
export function podReferences(pod: Loose): PodReference[] {
  const out: PodReference[] = [];
  const add = (kind: PodReference['kind'], name: unknown, where: string, optional?: unknown) => {
    if (typeof name === 'string' && name !== '' && optional !== true) out.push({ kind, name, where });
  };
  const sa = pod?.serviceAccountName ?? pod?.serviceAccount;
  // The namespace controller makes every namespace's `default` ServiceAccount.
  if (sa !== 'default') add('ServiceAccount', sa, 'serviceAccountName');
  for (const s of asArray<Loose>(pod?.imagePullSecrets)) add('Secret', s?.name, 'imagePullSecrets');
  for (const v of asArray<Loose>(pod?.volumes)) {
    add('Secret', v?.secret?.secretName, `volume ${v?.name}`, v?.secret?.optional);
    add('ConfigMap', v?.configMap?.name, `volume ${v?.name}`, v?.configMap?.optional);
    for (const p of asArray<Loose>(v?.projected?.sources)) {
      add('Secret', p?.secret?.name, `volume ${v?.name}`, p?.secret?.optional);
      add('ConfigMap', p?.configMap?.name, `volume ${v?.name}`, p?.configMap?.optional);
    }
  }
  for (const c of [...asArray<Loose>(pod?.initContainers), ...asArray<Loose>(pod?.containers)]) {
    for (const e of asArray<Loose>(c?.envFrom)) {
      add('Secret', e?.secretRef?.name, `container ${c?.name} envFrom`, e?.secretRef?.optional);
      add('ConfigMap', e?.configMapRef?.name, `container ${c?.name} envFrom`, e?.configMapRef?.optional);
    }
    for (const e of asArray<Loose>(c?.env)) {
      add('Secret', e?.valueFrom?.secretKeyRef?.name, `container ${c?.name} env ${e?.name}`, e?.valueFrom?.secretKeyRef?.optional);
      add('ConfigMap', e?.valueFrom?.configMapKeyRef?.name, `container ${c?.name} env ${e?.name}`, e?.valueFrom?.configMapKeyRef?.optional);
    }
  }
  return out;
}

/**
 * Warnings: a workload whose Secret, ConfigMap or ServiceAccount, or a claim
 * whose StorageClass, another Application (or a later wave) creates. These
 * do not fail the sync: the ReplicaSet cannot make pods without the
 * ServiceAccount, a pod missing a Secret or ConfigMap stays in
 * ContainerCreating (CreateContainerConfigError for env), and a claim without
 * its class stays Pending, until the object exists; but the Application
 * stays Progressing and every wave after it waits. Objects the desired state
 * does not hold (Secrets created at deploy time, by an operator) are not
 * judged.
 *
 * @see https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod
 * @see https://kubernetes.io/docs/concepts/storage/persistent-volumes/#class-1
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 */
function checkReferenceOrder(desired: DesiredState, tree: AppTree): { warnings: Finding[]; references: number } {
  const warnings: Finding[] = [];
  const applied = desired.objects.filter((o) => !neverApplied(o.object));
  const byName = new Map<string, DesiredObject[]>();
  for (const o of applied) {
    if (apiGroup(String(o.object.apiVersion ?? '')) !== '' && !(o.object.kind === 'StorageClass' && apiGroup(String(o.object.apiVersion ?? '')) === 'storage.k8s.io')) continue;
    const k = `${o.object.kind}\0${o.namespace ?? ''}\0${o.object.metadata?.name}`;
    byName.set(k, [...(byName.get(k) ?? []), o]);
  }
  const defaults = applied.filter((o) => o.object.kind === 'StorageClass' && DEFAULT_CLASS.some((a) => o.object.metadata?.annotations?.[a] === 'true'));
  let references = 0;
  const judge = (o: DesiredObject, holders: readonly DesiredObject[], named: string, delay: string) => {
    if (holders.length === 0) return;
    references++;
    const fixes = holders.map((h) => notInPlace(tree, h, o, false));
    if (fixes.some((f) => f === undefined)) return;
    const h = holders[0];
    warnings.push({ file: o.source, application: o.application, message: `${what(o)} ${named}, which Application ${h.application} creates at wave ${h.wave}, not before it: ${delay} until it exists, and the waves after it wait; ${fixes[0]}` });
  };
  for (const o of applied) {
    const pod = POD_KINDS.has(String(o.object.kind)) ? podSpecOf(o.object as K8sObject) : undefined;
    for (const r of pod ? podReferences(pod) : []) {
      const delay = r.kind === 'ServiceAccount' ? 'its controller cannot create pods' : 'its pods do not start';
      judge(o, byName.get(`${r.kind}\0${o.namespace ?? ''}\0${r.name}`) ?? [], `names ${r.kind} ${o.namespace}/${r.name} (${r.where})`, delay);
    }
    for (const c of claimsOf(o)) {
      if (c.storageClassName === '') continue;
      const classes = c.storageClassName === undefined ? defaults : (byName.get(`StorageClass\0\0${c.storageClassName}`) ?? []);
      const name = c.storageClassName ?? `${classes[0]?.object.metadata?.name} (the default)`;
      judge(o, classes, `claims StorageClass ${name}${c.what ? ` (${c.what})` : ''}`, 'the claim stays Pending');
    }
  }
  return { warnings, references };
}
