import { checkProject } from '@keelson/verify';
import { apiGroup, type DesiredObject, type DesiredState, type K8sObject, type RenderedApplication } from '@keelson/upstream';
import { healthOf, KINDS_WITH_HEALTH, type Health, type HealthStatus } from './health';
import { type ApiClient, type ServedKind } from './internal/api';
import { mapLimit, sleep } from './internal/util';
import { describeObject, kindRuns, phaseWaveGroups, syncTasks, type SyncPhase, type SyncTask } from './sync-order';

const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';
const SKIP_DRY_RUN = 'SkipDryRunOnMissingResource=true';
const CREATE_NAMESPACE = 'CreateNamespace=true';
const ARGOCD_GROUP = 'argoproj.io';
/** Kinds the API server would call a webhook server for; no webhook server runs in a rehearsal. */
const WEBHOOK_KINDS = new Set(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);

/** Where and why a sync failed: the Application, the wave, the object and the API server's own message. */
export interface SyncFailure {
  readonly application: string;
  readonly phase: SyncPhase;
  readonly wave: number;
  /** `Deployment nextcloud/nextcloud`. */
  readonly object: string;
  /** `project` (its AppProject does not permit it: nothing applied), `dry-run` (before anything is applied), `apply`, `hook` (a hook did not complete) or `health` (a wave never became healthy). */
  readonly stage: 'project' | 'dry-run' | 'apply' | 'hook' | 'health';
  readonly message: string;
  /** Where the object was rendered. */
  readonly source?: string;
}

/** One Application's sync, as Argo CD would have run it. */
export interface ApplicationSyncReport {
  readonly name: string;
  readonly parent?: string;
  /** Its wave in the parent. */
  readonly wave: number;
  /** `Synced`; `Failed` (a dry-run, apply, hook or health failure); `NotSynced` (its parent never created it). */
  status: 'Synced' | 'Failed' | 'NotSynced';
  /** Argo CD's health of its resources after the sync (children included). */
  health: HealthStatus;
  healthMessage: string;
  /** Objects the API server accepted (hooks included). */
  applied: number;
  /** Custom resources whose dry-run was skipped, as Argo CD skips it (SkipDryRunOnMissingResource, or the CRD is in the same sync). */
  dryRunSkipped: number;
  /** Objects whose dry-run waited for the apply because this Application creates their namespace. */
  dryRunDeferred: number;
  /** Webhook configurations dry-run only: no webhook server runs here. */
  dryRunOnly: number;
  /** Objects Argo CD does not apply on a first sync (hooks it ignores). */
  ignored: readonly string[];
  /**
   * Custom resources whose CRD no object of the desired state creates (an
   * operator registers it at run time) and that skip the dry-run: Argo CD
   * retries them until the CRD exists; no operator runs here, so they are not applied.
   */
  readonly awaitingOperator: string[];
  /** The waves it applied, in order. */
  readonly waves: number[];
  readonly failures: SyncFailure[];
  /** Why it was not synced, when it was not. */
  reason?: string;
  /** Milliseconds from the start of the sync to this Application's start, and its own duration (children included). */
  startMs: number;
  durationMs: number;
}

/** The whole sync. */
export interface SyncReport {
  readonly applications: readonly ApplicationSyncReport[];
  readonly failures: readonly SyncFailure[];
  /** What stood in for the first controller's bootstrap (Argo CD's namespace, its CRDs, the root Application). */
  readonly bootstrap: readonly string[];
  readonly durationMs: number;
}

export interface ArgoSyncOptions {
  /** A line per Application and wave. */
  readonly onProgress?: (line: string) => void;
  /**
   * How long a wave may take to become healthy before the next one; Argo CD
   * would wait (and retry) for ever, the rehearsal records a failure and goes on.
   * @default 60000
   */
  readonly waveHealthTimeoutMs?: number;
  /** How long a hook may run. @default 60000 */
  readonly hookTimeoutMs?: number;
}

interface Resolved {
  readonly task: SyncTask;
  readonly served?: ServedKind;
  readonly namespace?: string;
}

/**
 * Syncs a desired state onto a cluster the way Argo CD's automated sync
 * would on a first deploy: from the root Application down, each
 * Application's objects dry-run first (refused as a whole on any failure),
 * then applied phase by phase and wave by wave (server-side apply,
 * field manager `argocd-controller`), one kind at a time in Argo CD's kind
 * order, CRDs waited for until Established, the child Applications of a
 * wave synced in it, and every wave but the last waited for until healthy.
 *
 * What differs from Argo CD, on purpose: the dry-run is server-side
 * (Argo CD's is client-side since gitops-engine#564: the API server here
 * also checks admission and schema, which a real sync would only meet at
 * the apply), webhook configurations are dry-run but not installed (no
 * webhook server runs), and a wave that never becomes healthy is a failure
 * after `waveHealthTimeoutMs` rather than a wait for ever.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/
 * @see https://github.com/argoproj/gitops-engine/blob/master/pkg/sync/sync_context.go
 */
export class ArgoSync {
  private readonly reports = new Map<string, ApplicationSyncReport>();
  private readonly failures: SyncFailure[] = [];
  private readonly bootstrap: string[] = [];
  /** Objects that are in the cluster because this sync applied them. */
  private readonly applied = new Set<DesiredObject>();
  private readonly notApplied = new Set<DesiredObject>();
  /** Custom resources left to an operator's CRD (see `awaitingOperator`). */
  private readonly awaiting = new Set<DesiredObject>();
  /** group/Kind of every CRD in the desired state. */
  private readonly desiredCrds: ReadonlySet<string>;
  private readonly namespaces = new Set<string>();
  /** What the AppProject refuses, per Application (Argo CD v3.5.1's permission rules, as keelson verify applies them). */
  private readonly projectRefusals = new Map<string, string[]>();
  private readonly started = Date.now();
  private argoKinds = false;

  constructor(
    private readonly api: ApiClient,
    private readonly desired: DesiredState,
    private readonly options: ArgoSyncOptions = {},
  ) {
    for (const f of checkProject(desired).findings) {
      if (!f.application) continue;
      this.projectRefusals.set(f.application, [...(this.projectRefusals.get(f.application) ?? []), f.message]);
    }
    this.desiredCrds = new Set(
      desired.objects
        .filter((o) => o.object.kind === 'CustomResourceDefinition')
        .map((o) => {
          const spec = o.object.spec as { group?: string; names?: { kind?: string } } | undefined;
          return `${spec?.group}/${spec?.names?.kind}`;
        }),
    );
  }

  /** Runs the bootstrap, then the root Application and everything below it. */
  async run(): Promise<SyncReport> {
    const root = this.desired.applications.find((a) => a.parent === undefined);
    if (!root) throw new Error('rehearse: the desired state has no root Application');
    await this.runBootstrap(root);
    await this.syncApplication(root);
    // Applications below a parent that never created them.
    for (const app of this.desired.applications) {
      if (!this.reports.has(app.name)) this.reports.set(app.name, this.notSynced(app, this.reasonNotCreated(app)));
    }
    return { applications: [...this.reports.values()], failures: this.failures, bootstrap: this.bootstrap, durationMs: Date.now() - this.started };
  }

  /** Reads every synced Application's health again (after the pods had time to start). */
  async refreshHealth(report: SyncReport): Promise<void> {
    for (const app of report.applications) {
      if (app.status === 'NotSynced') continue;
      const health = await this.applicationHealth(app.name);
      app.health = health.status;
      app.healthMessage = health.message;
    }
  }

  /** Live health of an Application's resources and its children's, as Argo CD's Application health check reads it. */
  async applicationHealth(name: string): Promise<Health> {
    const items = this.subtree(name).filter((o) => !this.isDryRunOnly(o) && !this.awaiting.has(o));
    for (const o of items) {
      if (this.notApplied.has(o)) return { status: 'Missing', message: `${describeObject(o.object, o.namespace)} was not applied` };
    }
    for (const o of items) {
      if (!KINDS_WITH_HEALTH.has(String(o.object.kind))) continue;
      const health = healthOf(await this.live(o));
      if (health.status !== 'Healthy') return { status: health.status, message: `${describeObject(o.object, o.namespace)}: ${health.message}` };
    }
    return { status: 'Healthy', message: 'every resource healthy' };
  }

  private progress(line: string): void {
    this.options.onProgress?.(line);
  }

  /**
   * What the first controller's bootstrap does before Argo CD syncs anything:
   * Argo CD's namespace, Argo CD itself (here: its CRDs, from the release the
   * `argocd` Application syncs) and the root Application.
   */
  private async runBootstrap(root: RenderedApplication): Promise<void> {
    const ns = root.destinationNamespace || 'argocd';
    await this.ensureNamespace(ns);
    this.bootstrap.push(`namespace ${ns} (the first controller's bootstrap creates it)`);
    const crds = this.desired.objects.filter((o) => o.object.kind === 'CustomResourceDefinition' && (o.object.spec as { group?: string } | undefined)?.group === ARGOCD_GROUP);
    if (crds.length === 0) {
      this.bootstrap.push('no Argo CD CRDs in the desired state: Application and AppProject objects are not applied');
      return;
    }
    // All at once, as `kubectl apply` of Argo CD's install does: each then waited for until Established and served.
    await Promise.all(
      crds.map(async (crd) => {
        const served = await this.api.resolve(String(crd.object.apiVersion), 'CustomResourceDefinition');
        if ('missing' in served) throw new Error(`rehearse: the API server serves no CustomResourceDefinition: ${served.missing}`);
        const res = await this.api.apply(crd.object, served, undefined, false);
        if (!res.ok) throw new Error(`rehearse: the bootstrap could not apply Argo CD's CRD ${crd.object.metadata?.name}: ${res.message}`);
        await this.waitEstablished(String(crd.object.metadata?.name));
        await this.waitServed(crd.object);
      }),
    );
    this.argoKinds = true;
    this.bootstrap.push(`${crds.length} Argo CD CRDs (${crds.map((c) => c.object.metadata?.name).join(', ')}), as Argo CD's install applies them`);
    const served = await this.api.resolve(String(root.manifest.apiVersion), String(root.manifest.kind));
    if (!('missing' in served)) {
      const res = await this.api.apply(root.manifest, served, ns, false);
      if (!res.ok) throw new Error(`rehearse: the bootstrap could not apply the root Application ${root.name}: ${res.message}`);
      this.bootstrap.push(`the root Application ${root.name}`);
    }
  }

  private subtree(name: string): DesiredObject[] {
    const names = new Set([name]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const a of this.desired.applications) {
        if (a.parent && names.has(a.parent) && !names.has(a.name)) {
          names.add(a.name);
          grew = true;
        }
      }
    }
    // Hooks are not kept in sync, and ignored objects never applied: neither counts for health.
    const excluded = new Set<DesiredObject>();
    for (const n of names) {
      const { tasks, ignored } = syncTasks(this.desired.objects.filter((o) => o.application === n));
      for (const t of tasks) if (t.hook) excluded.add(t.item);
      for (const i of ignored) excluded.add(i.item);
    }
    // An Application that lists its own manifest (the root of an app of apps) is not waited for by itself.
    return this.desired.objects.filter(
      (o) => names.has(o.application) && !excluded.has(o) && !(this.isArgoKind(o.object) && !this.argoKinds) && !(o.object.kind === 'Application' && this.isArgoKind(o.object) && o.object.metadata?.name === o.application),
    );
  }

  private isArgoKind(object: K8sObject): boolean {
    return apiGroup(String(object.apiVersion ?? '')) === ARGOCD_GROUP;
  }

  private isDryRunOnly(o: DesiredObject): boolean {
    return WEBHOOK_KINDS.has(String(o.object.kind));
  }

  private notSynced(app: RenderedApplication, reason: string): ApplicationSyncReport {
    return {
      name: app.name,
      ...(app.parent ? { parent: app.parent } : {}),
      wave: app.wave,
      status: 'NotSynced',
      health: 'Missing',
      healthMessage: reason,
      applied: 0,
      dryRunSkipped: 0,
      dryRunDeferred: 0,
      dryRunOnly: 0,
      ignored: [],
      awaitingOperator: [],
      waves: [],
      failures: [],
      reason,
      startMs: Date.now() - this.started,
      durationMs: 0,
    };
  }

  private reasonNotCreated(app: RenderedApplication): string {
    const parent = app.parent ? this.reports.get(app.parent) : undefined;
    if (!parent) return `its parent ${app.parent} was not synced`;
    if (parent.status === 'NotSynced') return `its parent ${app.parent} was not synced`;
    const failure = parent.failures[0];
    return `its parent ${app.parent} never created it: ${failure ? `${failure.stage} of ${failure.object} failed at wave ${failure.wave}` : 'the parent stopped before its wave'}`;
  }

  private record(report: ApplicationSyncReport, failure: SyncFailure): void {
    report.failures.push(failure);
    this.failures.push(failure);
  }

  private async ensureNamespace(name: string): Promise<boolean> {
    if (this.namespaces.has(name)) return true;
    const existing = await this.api.get(`/api/v1/namespaces/${name}`);
    if (!existing) {
      const res = await this.api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      if (!res.ok && res.status !== 409) return false;
    }
    this.namespaces.add(name);
    return true;
  }

  private async namespaceExists(name: string): Promise<boolean> {
    if (this.namespaces.has(name)) return true;
    if (await this.api.get(`/api/v1/namespaces/${name}`)) {
      this.namespaces.add(name);
      return true;
    }
    return false;
  }

  private async live(o: DesiredObject): Promise<K8sObject | undefined> {
    const served = await this.api.resolve(String(o.object.apiVersion), String(o.object.kind));
    if ('missing' in served) return undefined;
    return this.api.get(this.api.objectPath(String(o.object.apiVersion), served, String(o.object.metadata?.name), served.namespaced ? o.namespace : undefined));
  }

  /**
   * Waits until discovery serves every version of an Established CRD's kind:
   * the API server publishes a new kind in discovery a moment after the CRD
   * is Established (later on a loaded machine), and a dry-run in between
   * would find no such kind. Gives up silently at the bound; the apply that
   * follows then reports the kind as not served.
   */
  private async waitServed(crd: K8sObject, timeoutMs = 60_000): Promise<void> {
    const spec = (crd.spec ?? {}) as { group?: string; names?: { kind?: string }; versions?: Array<{ name?: string; served?: boolean }> };
    const group = String(spec.group);
    const versions = (spec.versions ?? []).filter((v) => v.served !== false).map((v) => `${group}/${String(v.name)}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.api.forget(group);
      const missing = [];
      for (const v of versions) if ('missing' in (await this.api.resolve(v, String(spec.names?.kind)))) missing.push(v);
      if (missing.length === 0 || Date.now() > deadline) return;
      await sleep(100);
    }
  }

  /**
   * Waits until a CRD is Established. Each look reads the API server's watch
   * cache (`resourceVersion=0`), as Argo CD reads its own cluster cache: it
   * may lag a moment behind the apply, and the next look sees it; a quorum
   * read would decode the whole schema from etcd ten times a second.
   */
  private async waitEstablished(name: string, timeoutMs = 60_000): Promise<Health> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const health = healthOf(await this.api.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?resourceVersion=0`));
      if (health.status === 'Healthy' || health.status === 'Degraded' || Date.now() > deadline) return health;
      await sleep(100);
    }
  }

  private async syncApplication(app: RenderedApplication): Promise<void> {
    const t0 = Date.now();
    const objects = this.desired.objects.filter((o) => o.application === app.name);
    const { tasks, ignored } = syncTasks(objects);
    const report: ApplicationSyncReport = {
      name: app.name,
      ...(app.parent ? { parent: app.parent } : {}),
      wave: app.wave,
      status: 'Synced',
      health: 'Healthy',
      healthMessage: '',
      applied: 0,
      dryRunSkipped: 0,
      dryRunDeferred: 0,
      dryRunOnly: 0,
      ignored: ignored.map((i) => `${describeObject(i.item.object, i.item.namespace)}: ${i.reason}`),
      awaitingOperator: [],
      waves: [],
      failures: [],
      startMs: t0 - this.started,
      durationMs: 0,
    };
    this.reports.set(app.name, report);
    const children = new Map(this.desired.applications.filter((a) => a.parent === app.name).map((a) => [a.name, a]));
    const runnable = tasks.filter((t) => !(this.isArgoKind(t.item.object) && !this.argoKinds));
    for (const t of tasks) if (!runnable.includes(t)) this.notApplied.add(t.item);

    // 0. The AppProject's permissions: Argo CD refuses the whole sync when its source, its destination or one of its objects is not permitted.
    // @see https://argo-cd.readthedocs.io/en/stable/user-guide/projects/
    const refused = this.projectRefusals.get(app.name) ?? [];
    if (refused.length > 0) {
      for (const message of refused) {
        const object = message.includes(' (Application ') ? message.slice(0, message.indexOf(' (Application ')) : `Application ${app.name}`;
        this.record(report, { application: app.name, phase: 'Sync', wave: app.wave, object, stage: 'project', message });
      }
      report.status = 'Failed';
      for (const t of runnable) this.notApplied.add(t.item);
      this.progress(`sync ${app.name}: refused by its AppProject (${refused.length}); nothing applied`);
      return this.finish(report, t0);
    }

    // CreateNamespace=true: the destination namespace, before the dry-run (gitops-engine creates it first).
    const ownNamespaces = new Set(objects.filter((o) => o.object.kind === 'Namespace' && apiGroup(String(o.object.apiVersion)) === '').map((o) => String(o.object.metadata?.name)));
    if (app.syncOptions.includes(CREATE_NAMESPACE) && app.destinationNamespace && !ownNamespaces.has(app.destinationNamespace)) {
      if (!(await this.ensureNamespace(app.destinationNamespace))) {
        this.record(report, { application: app.name, phase: 'PreSync', wave: 0, object: `Namespace ${app.destinationNamespace}`, stage: 'apply', message: 'CreateNamespace=true could not create the destination namespace' });
      }
    }

    // 1. The dry-run of every object, before anything is applied.
    const crdKinds = new Set(
      objects
        .filter((o) => o.object.kind === 'CustomResourceDefinition')
        .map((o) => {
          const spec = o.object.spec as { group?: string; names?: { kind?: string } } | undefined;
          return `${spec?.group}/${spec?.names?.kind}`;
        }),
    );
    const appSkips = app.syncOptions.includes(SKIP_DRY_RUN);
    const resolved = await mapLimit(runnable, 16, async (task): Promise<Resolved> => {
      const object = task.item.object;
      const served = await this.api.resolve(String(object.apiVersion), String(object.kind));
      const where = { application: app.name, phase: task.phase, wave: task.wave, object: describeObject(object, task.item.namespace), source: task.item.source };
      if ('missing' in served) {
        const skips = appSkips || (object.metadata?.annotations?.[SYNC_OPTIONS] ?? '').split(',').some((s) => s.trim() === SKIP_DRY_RUN) || crdKinds.has(`${apiGroup(String(object.apiVersion))}/${object.kind}`);
        if (skips) report.dryRunSkipped++;
        else {
          this.record(report, {
            ...where,
            stage: 'dry-run',
            message: `${served.missing}: no CustomResourceDefinition for ${apiGroup(String(object.apiVersion))}/${object.kind} is installed, and the object lacks ${SYNC_OPTIONS}: ${SKIP_DRY_RUN}, so Argo CD's dry-run of the whole Application fails`,
          });
        }
        return { task };
      }
      const namespace = served.namespaced ? task.item.namespace || app.destinationNamespace || 'default' : undefined;
      if (namespace && !(await this.namespaceExists(namespace)) && (ownNamespaces.has(namespace) || (app.syncOptions.includes(CREATE_NAMESPACE) && namespace === app.destinationNamespace))) {
        report.dryRunDeferred++;
        return { task, served, namespace };
      }
      const res = await this.api.apply(object, served, namespace, true);
      if (!res.ok) this.record(report, { ...where, stage: 'dry-run', message: res.message });
      return { task, served, namespace };
    });
    if (report.failures.length > 0) {
      report.status = 'Failed';
      for (const t of runnable) this.notApplied.add(t.item);
      this.progress(`sync ${app.name}: dry-run refused (${report.failures.length} objects); nothing applied`);
      return this.finish(report, t0);
    }

    // 2. Phase by phase, wave by wave.
    const byTask = new Map(resolved.map((r) => [r.task, r]));
    const groups = phaseWaveGroups(runnable);
    const multiStep = groups.length > 1;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g];
      const { phase, wave } = group[0];
      report.waves.push(wave);
      let groupFailed = false;
      for (const run of kindRuns(group)) {
        const outcomes = await mapLimit(run, 8, (task) => this.applyTask(app, report, byTask.get(task) ?? { task }));
        if (outcomes.includes(false)) groupFailed = true;
      }
      // Child Applications created in this wave sync now (they are automated), before the wave counts as done.
      for (const task of group) {
        const child = task.item.object.kind === 'Application' && this.isArgoKind(task.item.object) ? children.get(String(task.item.object.metadata?.name)) : undefined;
        if (child && this.applied.has(task.item)) await this.syncApplication(child);
      }
      // Hooks run to completion in their phase.
      for (const task of group.filter((t) => t.hook && this.applied.has(t.item))) {
        if (!(await this.runHook(app, report, task))) groupFailed = true;
      }
      this.progress(`sync ${app.name}: ${phase === 'Sync' ? '' : `${phase} `}wave ${wave}: ${group.length} objects${groupFailed ? ', failed' : ''}`);
      if (groupFailed) {
        report.status = 'Failed';
        for (const later of groups.slice(g + 1)) for (const t of later) this.notApplied.add(t.item);
        return this.finish(report, t0);
      }
      // Argo CD moves on only when the wave is healthy (a multi-step sync), except after the last one.
      if (multiStep && g < groups.length - 1) {
        const health = await this.waitGroupHealthy(group.filter((t) => !t.hook));
        if (health.status !== 'Healthy') {
          report.status = 'Failed';
          this.record(report, {
            application: app.name,
            phase,
            wave,
            object: health.object ?? '(wave)',
            stage: 'health',
            message: `${health.message}; Argo CD waits here (and retries) before wave ${groups[g + 1][0].wave}; the rehearsal went on after ${Math.round((this.options.waveHealthTimeoutMs ?? 60_000) / 1000)} s`,
          });
        }
      }
    }
    if (report.failures.length === 0) await this.deleteSucceededHooks(runnable);
    return this.finish(report, t0);
  }

  private async finish(report: ApplicationSyncReport, t0: number): Promise<void> {
    const health = await this.applicationHealth(report.name);
    report.health = health.status;
    report.healthMessage = health.message;
    report.durationMs = Date.now() - t0;
  }

  /** Applies one task; false when the API server refused it. */
  private async applyTask(app: RenderedApplication, report: ApplicationSyncReport, r: Resolved): Promise<boolean> {
    const { task } = r;
    const object = task.item.object;
    const where = { application: app.name, phase: task.phase, wave: task.wave, object: describeObject(object, task.item.namespace), source: task.item.source };
    if (this.isDryRunOnly(task.item)) {
      // A webhook configuration would send every matching request to a server that does not run here.
      const served = r.served ?? (await this.api.resolve(String(object.apiVersion), String(object.kind)));
      if ('missing' in served) return true;
      const res = await this.api.apply(object, served, undefined, true);
      if (!res.ok) {
        this.record(report, { ...where, stage: 'apply', message: res.message });
        this.notApplied.add(task.item);
        return false;
      }
      report.dryRunOnly++;
      return true;
    }
    let served: ServedKind | { missing: string } | undefined = r.served;
    if (!served) served = await this.api.resolve(String(object.apiVersion), String(object.kind));
    if ('missing' in served) {
      const groupKind = `${apiGroup(String(object.apiVersion))}/${object.kind}`;
      const skips = app.syncOptions.includes(SKIP_DRY_RUN) || (object.metadata?.annotations?.[SYNC_OPTIONS] ?? '').split(',').some((s) => s.trim() === SKIP_DRY_RUN);
      if (skips && !this.desiredCrds.has(groupKind)) {
        this.awaiting.add(task.item);
        report.awaitingOperator.push(`${describeObject(object, task.item.namespace)} (${groupKind})`);
        return true;
      }
      this.record(report, { ...where, stage: 'apply', message: `${served.missing}: the CustomResourceDefinition for ${groupKind} was not installed by the time its wave came` });
      this.notApplied.add(task.item);
      return false;
    }
    const namespace = served.namespaced ? r.namespace ?? (task.item.namespace || app.destinationNamespace || 'default') : undefined;
    const res = await this.api.apply(object, served, namespace, false);
    if (!res.ok) {
      this.record(report, { ...where, stage: 'apply', message: res.message });
      this.notApplied.add(task.item);
      return false;
    }
    this.applied.add(task.item);
    report.applied++;
    if (object.kind === 'Namespace' && !served.namespaced) this.namespaces.add(String(object.metadata?.name));
    if (object.kind === 'CustomResourceDefinition') {
      const health = await this.waitEstablished(String(object.metadata?.name));
      if (health.status !== 'Healthy') {
        this.record(report, { ...where, stage: 'apply', message: `not Established: ${health.message}` });
        return false;
      }
      await this.waitServed(object);
    }
    return true;
  }

  /** Waits for a hook to complete (a Job or Pod; other kinds complete when created) and deletes it when its policy says so. */
  private async runHook(app: RenderedApplication, report: ApplicationSyncReport, task: SyncTask): Promise<boolean> {
    const where = { application: app.name, phase: task.phase, wave: task.wave, object: describeObject(task.item.object, task.item.namespace), source: task.item.source };
    const kind = String(task.item.object.kind);
    if (kind === 'Job' || kind === 'Pod') {
      const deadline = Date.now() + (this.options.hookTimeoutMs ?? 60_000);
      let health = healthOf(await this.live(task.item));
      while (health.status === 'Progressing' && Date.now() < deadline) {
        await sleep(250);
        health = healthOf(await this.live(task.item));
      }
      if (health.status !== 'Healthy') {
        this.record(report, { ...where, stage: 'hook', message: health.status === 'Progressing' ? `did not complete within ${Math.round((this.options.hookTimeoutMs ?? 60_000) / 1000)} s: ${health.message}` : health.message });
        return false;
      }
    }
    return true;
  }

  /** Deletes the hooks whose policy is HookSucceeded (`hook-succeeded`), once the whole sync succeeded, as gitops-engine does. */
  private async deleteSucceededHooks(tasks: readonly SyncTask[]): Promise<void> {
    for (const task of tasks) {
      if (!task.hook || !task.deleteOnSuccess || !this.applied.has(task.item)) continue;
      const served = await this.api.resolve(String(task.item.object.apiVersion), String(task.item.object.kind));
      if ('missing' in served) continue;
      await this.api.delete(`${this.api.objectPath(String(task.item.object.apiVersion), served, String(task.item.object.metadata?.name), served.namespaced ? task.item.namespace : undefined)}?propagationPolicy=Background`);
    }
  }

  /**
   * Waits until every resource of a wave is healthy at once (child
   * Applications: their whole tree), or the timeout. Each look starts with the
   * resource the last one waited for and stops at the first that is not
   * healthy, so a wave of large CRDs waiting on one slow Deployment does not
   * read every CRD twice a second; the look that returns Healthy has read
   * every resource.
   */
  private async waitGroupHealthy(group: readonly SyncTask[]): Promise<Health & { object?: string }> {
    const deadline = Date.now() + (this.options.waveHealthTimeoutMs ?? 60_000);
    let lastWaiting = '';
    let waitingFor: SyncTask | undefined;
    for (;;) {
      let worst: (Health & { object?: string }) | undefined;
      let hopeless = false;
      const order = waitingFor ? [waitingFor, ...group.filter((t) => t !== waitingFor)] : group;
      for (const t of order) {
        waitingFor = t;
        const o = t.item;
        if (this.isDryRunOnly(o) || this.awaiting.has(o)) continue;
        if (o.object.kind === 'Application' && this.isArgoKind(o.object)) {
          const name = String(o.object.metadata?.name);
          if (name === o.application) continue;
          const child = this.reports.get(name);
          if (!child) continue;
          const health = await this.applicationHealth(name);
          if (health.status !== 'Healthy') {
            worst = { ...health, object: describeObject(o.object, o.namespace), message: `Application ${name} is ${health.status}: ${health.message}` };
            if (child.status !== 'Synced' || health.status === 'Missing' || health.status === 'Degraded') hopeless = true;
            break;
          }
          continue;
        }
        if (!KINDS_WITH_HEALTH.has(String(o.object.kind))) continue;
        const health = healthOf(await this.live(o));
        if (health.status !== 'Healthy') {
          worst = { ...health, object: describeObject(o.object, o.namespace), message: `${describeObject(o.object, o.namespace)} is ${health.status}: ${health.message}` };
          if (health.status !== 'Progressing') hopeless = true;
          break;
        }
      }
      if (!worst) return { status: 'Healthy', message: 'healthy' };
      if (hopeless || Date.now() > deadline) return worst;
      if (worst.message !== lastWaiting) this.progress(`sync: waiting for ${worst.message}`);
      lastWaiting = worst.message;
      await sleep(500);
    }
  }
}
