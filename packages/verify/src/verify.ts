import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import YAML from 'yaml';
import { scanForSecrets, validateManifest } from '@keelson/k8s-schemas';
import { KUBERNETES_RELEASES } from '@keelson/ignition';
import type { PlatformSpec } from '@keelson/platform-spec';
import { DesiredStateError, HelmTemplateError, renderDesiredState, resolveChart, SourceError, type DesiredState, type RenderedApplication } from '@keelson/upstream';
import { checkAdmission } from './admission';
import { checkArgoCd } from './argocd';
import { checkBackups } from './backups';
import { checkBootFiles } from './boot-files';
import { auditEncryption } from './encryption';
import { checkEncryptionDetails } from './encryption-details';
import { checkFaultBudget } from './fault-budget';
import { checkFirewall } from './firewall';
import { checkImages } from './images';
import { checkIngress } from './ingress';
import { checkNetworkPolicy } from './network-policy';
import { checkRbac } from './rbac';
import { proveFaultTolerance, type FailureModel, type FaultToleranceResult } from './fault-tolerance';
import { checkNoSsh } from './no-ssh';
import { checkProject } from './project';
import { checkStorage } from './storage';
import { checkSyncOrder } from './sync-order';
import { checkValues } from './values';
import { readInfraOut } from './rendered';
import { check, type CheckResult, type Finding, type Manifest } from './types';
import { checkWorkloadSecurity } from './workload-security';

export type { CheckResult, Finding, ReportRow } from './types';
export { RECOVERY_BOUND_ANNOTATION } from './fault-tolerance';

/** The platform as the proof saw it: nodes, the failure model and the worst case (for the picture). */
export interface PlatformPicture {
  readonly nodes: readonly { readonly name: string; readonly role: string; readonly zone?: string }[];
  readonly model: FailureModel['model'];
  readonly k: number;
  readonly description: string;
  readonly worst: FaultToleranceResult['worst'];
}

/** One Argo CD Application of the desired state, as the report lists it. */
export interface ApplicationSummary {
  readonly name: string;
  readonly parent?: string;
  readonly wave: number;
  /** `directory` (this repository), `helm`, `kustomize` or `git-directory` (a pinned Git tag). */
  readonly type: RenderedApplication['type'];
  /** The chart (helm) or the path in its repository. */
  readonly source: string;
  readonly repoURL: string;
  /** The chart version, Git tag or branch. */
  readonly version: string;
  /** Content digest of the chart or Git files (upstream sources). */
  readonly digest?: string;
  readonly objects: number;
}

export interface VerifyReport {
  readonly dir: string;
  readonly ok: boolean;
  readonly files: number;
  readonly objects: number;
  readonly checks: readonly CheckResult[];
  /** Present when infra-out was read. */
  readonly platform?: PlatformPicture;
  /** Every Application of the desired state, when it was rendered. */
  readonly applications?: readonly ApplicationSummary[];
}

/** What the config says the output should hold; checked when given. */
export interface VerifyExpectations {
  /** Namespaces the config's layers plan (to catch output that is stale against the config). */
  readonly namespaces?: readonly string[];
  /** Where Argo CD must sync from, per the config; every Application's source is checked against it. */
  readonly gitops?: { readonly repoURL: string; readonly revision: string; readonly path: string };
  /** Address ranges the config lets reach the API server (`adminCidrs`); the firewall check allows 6443 only from them. */
  readonly adminCidrs?: readonly string[];
}

/** Where the rest of the rendered output is, for the checks that read more than charts-out. */
export interface VerifyInputs {
  /**
   * `infra-out/`: the Terraform JSON and node configs. With it, verify also
   * runs the fault-tolerance proof, the encryption audit and the SSH check.
   */
  readonly infraDir?: string;
  /** The built CLI (`dist/keelson.cjs`), searched for SSH client calls. */
  readonly cliBundle?: string;
  /**
   * The desired state (`renderDesiredState`): every object the cluster gets,
   * the upstream charts and Git sources rendered by the real helm and
   * kustomize. With it, the proofs judge upstream workloads on the objects
   * their charts really render; without it, each upstream Application is a
   * warning ("not analysed"), never a pass.
   */
  readonly desired?: DesiredState;
  /** Where a pinned chart of the desired state is unpacked (default: resolved as the desired state resolved it). */
  readonly chartDir?: (app: RenderedApplication) => string;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/**
 * Checks what synth rendered under `dir` (a `charts-out/` folder), from the
 * files alone: it never re-renders, so it also catches hand edits and stale
 * output.
 */
export function verifyChartsOut(dir: string, expected: VerifyExpectations = {}, inputs: VerifyInputs = {}): VerifyReport {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`verify: ${dir} does not exist; run "keelson synth" (or npx nx run platform:synth) first`);
  }
  const files = listFiles(dir);
  const rel = (f: string) => relative(join(dir, '..'), f);
  const manifests: Manifest[] = [];
  const parseFindings: Finding[] = [];
  const secretFindings: Finding[] = [];

  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const s of scanForSecrets(text, rel(file))) {
      secretFindings.push({ file: `${s.file}:${s.line}`, message: `${s.rule}: ${s.excerpt}; remove it and reference a Secret created at deploy time by name` });
    }
    if (!/\.ya?ml$/.test(file)) {
      parseFindings.push({ file: rel(file), message: 'not a YAML manifest; charts-out/ holds only rendered YAML (re-run synth to clean it)' });
      continue;
    }
    const docs = YAML.parseAllDocuments(text);
    for (const doc of Array.isArray(docs) ? docs : []) {
      if (doc.errors.length > 0) {
        parseFindings.push({ file: rel(file), message: `invalid YAML: ${doc.errors[0].message.split('\n')[0]}` });
        continue;
      }
      const object = doc.toJS();
      if (object === null || object === undefined) continue;
      if (typeof object !== 'object' || Array.isArray(object)) {
        parseFindings.push({ file: rel(file), message: 'expected a Kubernetes object (a mapping with apiVersion and kind)' });
        continue;
      }
      manifests.push({ file: rel(file), object });
    }
  }

  const schemaFindings = manifests.flatMap(({ file, object }) =>
    validateManifest(object).map((p) => ({ file, message: `${String(object.kind ?? '?')} ${object.metadata?.name ?? '?'}: ${p.path ? `${p.path}: ` : ''}${p.message}` })),
  );

  const namespaces = manifests.filter((m) => m.object.apiVersion === 'v1' && m.object.kind === 'Namespace');
  const psaFindings: Finding[] = [];
  for (const { file, object } of namespaces) {
    const labels = object.metadata?.labels ?? {};
    const level = labels['pod-security.kubernetes.io/enforce'] ?? '';
    if (!['privileged', 'baseline', 'restricted'].includes(level)) {
      psaFindings.push({ file, message: `Namespace ${object.metadata?.name} enforces no Pod Security level; label it pod-security.kubernetes.io/enforce: restricted` });
    } else if (level !== 'restricted' && !object.metadata?.annotations?.['keelson.dev/pod-security-reason']) {
      psaFindings.push({ file, message: `Namespace ${object.metadata?.name} enforces "${level}" without saying why; add the keelson.dev/pod-security-reason annotation or use restricted` });
    }
  }

  const folders = [...new Set(manifests.map((m) => m.file.split('/')[1]))].filter(Boolean);
  const allApps = manifests.filter((m) => m.object.apiVersion === 'argoproj.io/v1alpha1' && m.object.kind === 'Application');
  // Applications of upstream Helm charts install pinned releases; the others sync a folder of charts-out.
  const charts = allApps.filter((a) => a.object.spec?.source?.chart !== undefined);
  // Applications of another repository (Argo CD's own pinned install) are upstream sources, not folders of this output.
  const ownRepo = (a: Manifest) =>
    expected.gitops ? a.object.spec?.source?.repoURL === expected.gitops.repoURL : folders.includes(String(a.object.spec?.source?.path ?? '').split('/').pop() ?? '');
  const upstream = allApps.filter((a) => a.object.spec?.source?.chart === undefined && !ownRepo(a));
  const apps = allApps.filter((a) => a.object.spec?.source?.chart === undefined && ownRepo(a));
  const synced = new Map<string, string>(apps.map((a) => [String(a.object.spec?.source?.path ?? '').split('/').pop() ?? '', a.object.metadata?.name ?? '?']));
  const gitopsFindings: Finding[] = [];
  for (const { file, object } of charts) {
    const version = String(object.spec?.source?.targetRevision ?? '');
    if (!/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
      gitopsFindings.push({ file, message: `Application ${object.metadata?.name} installs chart ${String(object.spec?.source?.chart)} at "${version}", not a pinned release; pin an exact version` });
    }
  }
  for (const { file, object } of upstream) {
    const revision = String(object.spec?.source?.targetRevision ?? '');
    if (!/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(revision) && !/^[0-9a-f]{40}$/.test(revision)) {
      gitopsFindings.push({ file, message: `Application ${object.metadata?.name} syncs ${String(object.spec?.source?.repoURL)} at "${revision}", not a release tag or commit; pin one` });
    }
  }
  for (const folder of folders) {
    if (!synced.has(folder)) gitopsFindings.push({ file: `charts-out/${folder}/`, message: `no Argo CD Application syncs this folder; it would never reach the cluster` });
  }
  for (const [folder, name] of synced) {
    if (!folders.includes(folder)) gitopsFindings.push({ file: 'charts-out/argocd/', message: `Application ${name} syncs "${folder}", which holds no manifest` });
  }
  const want = expected.gitops;
  for (const { file, object } of want ? apps : []) {
    const source = object.spec?.source ?? {};
    const folder = String(source.path ?? '').split('/').pop();
    const expect = { repoURL: want?.repoURL, targetRevision: want?.revision, path: `${want?.path}/${folder}` };
    for (const [key, value] of Object.entries(expect)) {
      if (source[key as keyof typeof source] !== value) {
        gitopsFindings.push({ file, message: `Application ${object.metadata?.name}: spec.source.${key} is ${JSON.stringify(source[key as keyof typeof source])}, but the config says ${JSON.stringify(value)}; run keelson synth` });
      }
    }
  }

  const renderedNamespaces = new Set(namespaces.map((n) => n.object.metadata?.name));
  const planFindings = (expected.namespaces ?? [])
    .filter((ns) => !renderedNamespaces.has(ns))
    .map((ns) => ({ file: 'charts-out/', message: `the config plans namespace ${ns}, but no Namespace renders it; the output is stale: run keelson synth` }));

  const checks: CheckResult[] = [
    check('files', `${files.length} files, ${manifests.length} objects parsed`, parseFindings),
    check('schema', `${manifests.length} objects against Kubernetes and CRD schemas, unknown fields refused`, schemaFindings),
    check('secrets', `${files.length} files scanned for private keys, tokens, passwords and Secret data`, secretFindings),
    check('pod-security', `${namespaces.length} namespaces enforce a Pod Security level`, psaFindings),
    check('gitops', `${folders.length} folders, ${apps.length} Argo CD Applications for them, ${charts.length} pinned upstream charts, ${upstream.length} pinned upstream sources`, gitopsFindings),
    ...(expected.namespaces
      ? [check('config', `${expected.namespaces.length} namespaces planned by the config are rendered`, planFindings)]
      : []),
  ];
  // Objects of upstream charts and Git sources, where they land (charts-out's own objects are already in `manifests`).
  const upstreamApps = (inputs.desired?.applications ?? []).filter((a) => a.type !== 'directory');
  const rendered = new Set(upstreamApps.map((a) => a.name));
  const upstreamObjects: Manifest[] = (inputs.desired?.objects ?? [])
    .filter((o) => rendered.has(o.application))
    .map((o) => ({ file: o.source, object: (o.namespace && !o.object.metadata?.namespace ? { ...o.object, metadata: { ...o.object.metadata, namespace: o.namespace } } : o.object) as Manifest['object'] }));
  const desiredManifests = [...manifests, ...upstreamObjects];
  if (inputs.desired) {
    const chartDir = inputs.chartDir ?? ((app: RenderedApplication) => resolveChart({ repoURL: app.repoURL, chart: app.chartOrPath, version: app.revision }).dir);
    checks.push(checkValues(inputs.desired.applications, chartDir), checkSyncOrder(inputs.desired), checkProject(inputs.desired), checkStorage(inputs.desired));
  }
  const infraDir = inputs.infraDir;
  const infra = infraDir ? readInfraOut(infraDir) : undefined;
  checks.push(checkNetworkPolicy(desiredManifests), checkRbac(desiredManifests), checkIngress(desiredManifests), checkImages(desiredManifests), checkBackups(desiredManifests, infra?.terraform, infra?.terraformFile));
  if (inputs.desired) checks.push(checkArgoCd(inputs.desired));
  let platform: PlatformPicture | undefined;
  if (infra && infraDir) {
    const ownFiles = new Set(manifests.map((m) => m.file));
    const proof = proveFaultTolerance(desiredManifests, infra.nodes, rendered);
    const ft = proof.check;
    checks.push(
      { ...ft, ok: ft.ok && infra.findings.length === 0, findings: [...infra.findings, ...ft.findings] },
      auditEncryption(desiredManifests, infra.nodes, infra.terraform, infra.terraformFile),
      checkNoSsh(infra.nodes, infra.terraform, infra.terraformFile, inputs.cliBundle).check,
      checkBootFiles(infraDir, infra.terraform, infra.terraformFile),
      checkFirewall(infra.terraform, infra.terraformFile, expected.adminCidrs, infra.nodes),
      checkFaultBudget(desiredManifests, (file) => ownFiles.has(file), infra.nodes, proof.model),
      checkEncryptionDetails(desiredManifests, infra.nodes),
      checkAdmission(desiredManifests, infra.nodes),
    );
    platform = {
      nodes: infra.nodes.map((n) => ({ name: n.name, role: n.role, zone: n.labels['topology.kubernetes.io/zone'] })),
      model: proof.model.model,
      k: proof.model.k,
      description: proof.model.description,
      worst: proof.worst,
    };
  }
  checks.push(checkWorkloadSecurity(manifests));
  const attributed = inputs.desired ? attribute(checks, inputs.desired) : checks;
  return {
    dir,
    ok: checks.every((c) => c.ok),
    files: files.length,
    objects: manifests.length,
    checks: attributed,
    ...(platform ? { platform } : {}),
    ...(inputs.desired ? { applications: summarize(inputs.desired) } : {}),
  };
}

/** The report's list of Applications: what each installs from where, and how many objects. */
function summarize(desired: DesiredState): ApplicationSummary[] {
  return desired.applications.map((a) => ({
    name: a.name,
    ...(a.parent ? { parent: a.parent } : {}),
    wave: a.wave,
    type: a.type,
    source: a.chartOrPath,
    repoURL: a.repoURL,
    version: a.revision,
    ...(a.digest ? { digest: a.digest } : {}),
    objects: a.objectCount,
  }));
}

/** Names the Application of each finding that does not say it: by the file it points at (an object's source, or a folder's Application). */
function attribute(checks: readonly CheckResult[], desired: DesiredState): CheckResult[] {
  const bySource = new Map<string, string>();
  for (const o of desired.objects) if (!bySource.has(o.source)) bySource.set(o.source, o.application);
  for (const a of desired.applications) bySource.set(a.file, a.parent ?? a.name);
  const byFolder = new Map(desired.applications.filter((a) => a.type === 'directory').map((a) => [a.chartOrPath.replace(/\/$/, ''), a.name]));
  const of = (f: Finding): Finding => {
    if (f.application) return f;
    const file = f.file.replace(/:\d+$/, '');
    const app = bySource.get(file) ?? byFolder.get(file.split('/').slice(0, 2).join('/')) ?? byFolder.get(file.replace(/\/$/, ''));
    return app ? { ...f, application: app } : f;
  };
  return checks.map((c) => ({ ...c, findings: c.findings.map(of), warnings: c.warnings.map(of) }));
}

/**
 * Verifies what synth rendered for `spec`: renders the desired state (the
 * upstream charts and Git sources through the real helm and kustomize, as
 * Argo CD would), then checks `charts-out/` and `infra-out/` with it.
 */
export function verifyPlatform(spec: PlatformSpec, dirs: { readonly chartsDir: string; readonly infraDir: string }, cliBundle?: string): VerifyReport {
  const namespaces = spec.layers.flatMap((l) => l.namespaces.filter((n) => !n.preexisting).map((n) => n.name));
  if (!statSync(dirs.chartsDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`verify: ${dirs.chartsDir} does not exist; run "keelson synth" (or npx nx run platform:synth) first`);
  }
  let desired: DesiredState | undefined;
  let problem: Finding | undefined;
  try {
    desired = renderDesiredState({ dir: dirs.chartsDir, gitops: spec.config.gitops, kubeVersion: KUBERNETES_RELEASES[spec.config.versions.kubernetes] });
  } catch (e) {
    // A source that cannot be rendered is a failure of its own; the other checks still run on what synth wrote.
    if (!(e instanceof DesiredStateError || e instanceof SourceError || e instanceof HelmTemplateError)) throw e;
    problem = { file: relative(join(dirs.chartsDir, '..'), dirs.chartsDir), message: e.message };
  }
  const report = verifyChartsOut(dirs.chartsDir, { namespaces, gitops: spec.config.gitops, adminCidrs: spec.config.adminCidrs }, { infraDir: dirs.infraDir, ...(cliBundle ? { cliBundle } : {}), ...(desired ? { desired } : {}) });
  const rendered = check(
    'desired-state',
    desired
      ? `${desired.applications.length} Argo CD Applications rendered as Argo CD would (real helm and kustomize): ${desired.objects.length} objects`
      : 'the desired state could not be rendered: the upstream workloads are not analysed',
    problem ? [problem] : [],
  );
  return { ...report, ok: report.ok && rendered.ok, checks: [rendered, ...report.checks] };
}

/** The report as a table a human reads in one screen, then each check's rows (services, channels), failures and warnings. */
export function formatReport(report: VerifyReport): string {
  const width = Math.max(...report.checks.map((c) => c.check.length), 5);
  const lines = [`${'CHECK'.padEnd(width)}  RESULT  DETAIL`];
  for (const c of report.checks) lines.push(`${c.check.padEnd(width)}  ${c.ok ? 'pass  ' : 'FAIL  '}  ${c.summary}`);
  for (const c of report.checks.filter((x) => x.rows && x.rows.length > 0)) {
    const rows = c.rows ?? [];
    const w = Math.min(Math.max(...rows.map((r) => r.name.length), 7), 60);
    const head = c.check === 'fault-tolerance' ? 'SERVICE' : 'CHANNEL';
    lines.push('', `${c.check}:`, `  ${head.padEnd(w)}  RESULT  ${c.check === 'fault-tolerance' ? 'WORST CASE (FAILED NODES)' : 'ENCRYPTED BY'}`);
    for (const r of rows) {
      const nodes = r.failedNodes && r.failedNodes.length > 0 ? ` (${r.failedNodes.join(', ')})` : '';
      lines.push(`  ${r.name.padEnd(w)}  ${r.ok ? 'pass  ' : 'FAIL  '}  ${r.detail}${nodes}`);
    }
  }
  const failed = report.checks.filter((c) => !c.ok);
  const from = (f: Finding) => (f.application ? ` [Application ${f.application}]` : '');
  for (const c of failed) {
    lines.push('', `${c.check}: ${c.findings.length} problem${c.findings.length === 1 ? '' : 's'}`);
    for (const f of c.findings) lines.push(`  ${f.file}${from(f)}: ${f.message}`);
  }
  for (const c of report.checks.filter((x) => x.warnings.length > 0)) {
    lines.push('', `${c.check}: ${c.warnings.length} warning${c.warnings.length === 1 ? '' : 's'} (not failing)`);
    for (const f of c.warnings) lines.push(`  ${f.file}${from(f)}: ${f.message}`);
  }
  lines.push('', report.ok ? `verify: all ${report.checks.length} checks passed` : `verify: ${failed.length} of ${report.checks.length} checks failed`);
  return lines.join('\n');
}
