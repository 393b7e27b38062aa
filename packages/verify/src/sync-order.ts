// The sync-order check: Argo CD could apply the app of apps in the order its
// waves say. Two rules fail a real first sync, forever, while every file is
// valid: a custom resource dry-run before its CRD exists, and an object sent
// to a namespace nobody has created yet.
import { apiGroup, BUILT_IN_API_GROUPS, type DesiredObject, type DesiredState, type RenderedApplication } from '@keelson/upstream';
import { check, describe, type CheckResult, type Finding, type K8sObject } from './types';

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

  return check('sync-order', `${customResources} custom resources after their CRDs, ${placements} Application-namespace placements after their namespace`, findings, warnings);
}
