// Runs a part of the mutation table (test-mutations.ts) as Jest tests: each
// mutation applied to a copy of the committed render must be refused by
// verify with a new finding (one the committed render does not have) that
// names the changed object. Prints the kill rate per area and writes it to
// tmp/verify-mutations-<part>.json.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import YAML from 'yaml';
import { KUBERNETES_RELEASES } from '@keelson/ignition';
import { loadPlatformSpec } from '@keelson/platform-spec';
import { CLUSTER_SCOPED_KINDS, renderDesiredState, type DesiredObject, type DesiredState } from '@keelson/upstream';
import type { Area, Mutation } from './test-mutations';
import { verifyChartsOut, type VerifyReport } from './verify';

const repoRoot = resolve(__dirname, '../../..');

/** Every file under `dir`, by path relative to it, with its text. */
function readTree(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) readTree(path, base, out);
    else out.set(relative(base, path), readFileSync(path, 'utf8'));
  }
  return out;
}

/** A finding as the kill criterion compares them. */
const key = (check: string, f: { file: string; message: string }) => `${check}\n${f.file}\n${f.message}`;

/** The outcome of one mutation: killed when a new finding of a failing check names the changed object. */
export interface MutationOutcome {
  readonly mutation: Mutation;
  readonly killed: boolean;
  /** The new findings that name it (`check: message`). */
  readonly by: readonly string[];
  /** Every new finding, and the render error if the desired state could not be rendered. */
  readonly fresh: readonly string[];
  readonly renderError?: string;
}

/**
 * A run of part of the mutation table: `start` renders the committed
 * desired state once and records the committed render's findings, `run`
 * verifies one mutation, `finish` prints and writes the kill rate per area.
 */
export class MutationRun {
  private readonly spec = loadPlatformSpec(join(repoRoot, 'apps/platform/platform.yaml'));
  private readonly gitops = this.spec.config.gitops;
  private readonly kubeVersion = KUBERNETES_RELEASES[this.spec.config.versions.kubernetes];
  private readonly expected = {
    namespaces: this.spec.layers.flatMap((l) => l.namespaces.filter((n) => !n.preexisting).map((n) => n.name)),
    gitops: this.gitops,
    adminCidrs: this.spec.config.adminCidrs,
  };
  private readonly committedCharts = join(repoRoot, this.gitops.path);
  private readonly committedInfra = join(repoRoot, 'infra-out');
  private work = '';
  private baseline?: DesiredState;
  private committed = new Map<string, string>();
  private readonly outcomes: MutationOutcome[] = [];
  /** The committed render's findings (`check`, file, message). */
  public before: ReadonlySet<string> = new Set();

  constructor(private readonly part: string) {}

  public start(): void {
    this.work = mkdtempSync(join(tmpdir(), `keelson-mutations-${this.part}-`));
    chmodSync(this.work, 0o700);
    this.baseline = this.render(this.committedCharts);
    this.committed = readTree(this.committedCharts);
    const report = verifyChartsOut(this.committedCharts, this.expected, { infraDir: this.committedInfra, desired: this.baseline });
    this.before = new Set(report.checks.flatMap((c) => c.findings.map((f) => key(c.check, f))));
  }

  /** Verifies the committed render after `m`, as verifyPlatform would (a source that cannot be rendered is its failing desired-state check). */
  public run(m: Mutation, index: number): MutationOutcome {
    const root = join(this.work, String(index));
    let report: VerifyReport | undefined;
    let renderError: string | undefined;
    try {
      const charts = join(root, this.gitops.path);
      cpSync(this.committedCharts, charts, { recursive: true });
      let infra = this.committedInfra;
      if (m.infra) {
        infra = join(root, 'infra-out');
        cpSync(this.committedInfra, infra, { recursive: true });
        m.infra(infra);
      }
      let desired = this.baseline;
      if (m.charts) {
        m.charts(charts);
        try {
          desired = this.patch(charts) ?? this.render(charts);
        } catch (e) {
          renderError = (e as Error).message;
        }
      }
      if (desired && !renderError) {
        if (m.desired) desired = { ...desired, objects: m.desired([...desired.objects]) };
        report = verifyChartsOut(charts, this.expected, { infraDir: infra, desired });
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    const fresh = (report?.checks ?? []).filter((c) => !c.ok).flatMap((c) => c.findings.filter((f) => !this.before.has(key(c.check, f))).map((f) => ({ check: c.check, ...f })));
    const by = renderError ? (renderError.includes(m.names) ? [`desired-state: ${renderError}`] : []) : fresh.filter((f) => `${f.file} ${f.message}`.includes(m.names)).map((f) => `${f.check}: ${f.message}`);
    const outcome: MutationOutcome = { mutation: m, killed: by.length > 0, by, fresh: fresh.map((f) => `${f.check}: ${f.file}: ${f.message}`), ...(renderError ? { renderError } : {}) };
    this.outcomes.push(outcome);
    return outcome;
  }

  /**
   * For a mutation of charts-out: the objects of the in-memory patch and of
   * the real render of the mutated copy, each as sorted JSON lines (which
   * Application, wave, namespace and file; the object).
   */
  public patchAndRender(m: Mutation): { patched?: string[]; rendered: string[] } {
    const root = mkdtempSync(join(this.work, 'compare-'));
    try {
      const charts = join(root, this.gitops.path);
      cpSync(this.committedCharts, charts, { recursive: true });
      m.charts?.(charts);
      const lines = (state: DesiredState) => state.objects.map((o) => JSON.stringify([o.application, o.wave, o.namespace ?? null, o.source, o.object])).sort();
      const patched = this.patch(charts);
      return { ...(patched ? { patched: lines(patched) } : {}), rendered: lines(this.render(charts)) };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }

  /** The desired state of a charts-out folder, rendered as Argo CD would (Helm output cached by its inputs). */
  public render(charts: string): DesiredState {
    return renderDesiredState({ dir: charts, gitops: this.gitops, kubeVersion: this.kubeVersion, cacheDir: join(this.work, 'render-cache') });
  }

  /**
   * The committed desired state with the changed files of `charts` read
   * again, or undefined when a change touches an Application (then the
   * whole render runs). Each object is placed as renderDesiredState places
   * a directory source's objects: its folder's Application, its sync wave,
   * its own namespace else the Application's destination (namespaced kinds
   * only). The test "patches the desired state as the real render would"
   * compares the two.
   */
  public patch(charts: string): DesiredState | undefined {
    if (!this.baseline) return undefined;
    const now = readTree(charts);
    const changed = [...new Set([...now.keys(), ...this.committed.keys()])].filter((f) => now.get(f) !== this.committed.get(f));
    if (changed.some((f) => /^kind: Application$/m.test(`${now.get(f) ?? ''}\n${this.committed.get(f) ?? ''}`))) return undefined;
    const folders = new Map(this.baseline.applications.filter((a) => a.type === 'directory').map((a) => [a.chartOrPath.replace(/\/$/, ''), a]));
    const custom = new Set(
      this.baseline.objects
        .map((o) => o.object as { kind?: string; spec?: { scope?: string; group?: string; names?: { kind?: string } } })
        .filter((o) => o.kind === 'CustomResourceDefinition' && o.spec?.scope === 'Cluster')
        .map((o) => `${o.spec?.group}/${o.spec?.names?.kind}`),
    );
    const sources = new Set(changed.map((f) => `${this.gitops.path}/${f}`));
    const added: DesiredObject[] = [];
    for (const f of changed.filter((x) => now.has(x) && /\.(ya?ml|json)$/.test(x))) {
      const app = folders.get(`${this.gitops.path}/${f.split('/').slice(0, -1).join('/')}`);
      if (!app) return undefined;
      for (const doc of YAML.parseAllDocuments(now.get(f) ?? '')) {
        const object = doc.toJS() as DesiredObject['object'] | null;
        if (!object) continue;
        const annotations = object.metadata?.annotations ?? {};
        const wave = /^-?\d+$/.test(String(annotations['argocd.argoproj.io/sync-wave'] ?? '').trim()) ? Number.parseInt(String(annotations['argocd.argoproj.io/sync-wave']), 10) : 0;
        const group = (object.apiVersion ?? '').includes('/') ? (object.apiVersion ?? '').split('/')[0] : '';
        const clusterScoped = CLUSTER_SCOPED_KINDS.has(object.kind ?? '') || custom.has(`${group}/${object.kind ?? ''}`);
        const namespace = clusterScoped ? undefined : object.metadata?.namespace || app.destinationNamespace || undefined;
        added.push({ object, application: app.name, wave, source: `${this.gitops.path}/${f}`, ...(namespace ? { namespace } : {}) });
      }
    }
    return { applications: this.baseline.applications, objects: [...this.baseline.objects.filter((o) => !sources.has(o.source)), ...added] };
  }

  /** Prints the kill rate per area and writes it, with every outcome, to tmp/verify-mutations-<part>.json. */
  public finish(): void {
    if (this.work) rmSync(this.work, { recursive: true, force: true });
    const areas = new Map<Area, { total: number; killed: number }>();
    for (const o of this.outcomes) {
      const a = areas.get(o.mutation.area) ?? { total: 0, killed: 0 };
      areas.set(o.mutation.area, { total: a.total + 1, killed: a.killed + (o.killed ? 1 : 0) });
    }
    const rows = [...areas].map(([area, a]) => ({ area, mutations: a.total, killed: a.killed, rate: `${Math.round((a.killed / a.total) * 100)}%` }));
    const killed = this.outcomes.filter((o) => o.killed).length;
    const total = this.outcomes.length;
    console.log(
      [
        `verify mutation suite (${this.part}): ${killed} of ${total} mutations killed (${total ? Math.round((killed / total) * 100) : 0}%)`,
        ...rows.map((r) => `  ${r.area.padEnd(16)} ${String(r.killed).padStart(3)} / ${String(r.mutations).padEnd(3)} ${r.rate}`),
        ...this.outcomes.filter((o) => !o.killed).map((o) => `  survived: [${o.mutation.area}] ${o.mutation.name}`),
      ].join('\n'),
    );
    mkdirSync(join(repoRoot, 'tmp'), { recursive: true });
    const record = { part: this.part, total, killed, areas: rows, mutations: this.outcomes.map((o) => ({ area: o.mutation.area, name: o.mutation.name, reason: o.mutation.reason, killed: o.killed, by: o.by })) };
    writeFileSync(join(repoRoot, `tmp/verify-mutations-${this.part}.json`), `${JSON.stringify(record, null, 2)}\n`);
  }
}
