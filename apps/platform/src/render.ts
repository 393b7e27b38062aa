// `keelson render`: the desired state (every object Argo CD would apply, the
// upstream charts and Git sources rendered by the real helm and kustomize)
// written as files, for people to read and diff.
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import YAML from 'yaml';
import { lockOutput, recoverTrees } from '@keelson/cluster-kit';
import { KUBERNETES_RELEASES } from '@keelson/ignition';
import type { PlatformSpec } from '@keelson/platform-spec';
import { renderDesiredState, type DesiredObject, type DesiredState } from '@keelson/upstream';

/** The file that marks a folder as `keelson render` output, the only kind of folder it replaces. */
export const RENDER_MARKER = '.keelson-desired-state';
/** The index of the rendered Applications. */
export const RENDER_INDEX = 'applications.json';

export interface RenderResult {
  readonly into: string;
  readonly applications: number;
  readonly objects: number;
}

/**
 * Refuses an `--into` folder that render must not replace: the repository
 * root or any folder above it, `.git`, synth's output, the secrets bundle, or
 * an existing folder that is not earlier render output.
 */
export function checkRenderTarget(into: string, dirs: { readonly repoRoot: string; readonly owned: readonly string[] }): void {
  const target = resolve(into);
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  const inside = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
  const t = existsSync(target) ? real(target) : join(real(dirname(target)), basename(target));
  for (const p of [dirs.repoRoot, ...dirs.owned].map(real)) {
    if (inside(p, t)) throw new Error(`--into ${into}: ${t} ${t === p ? "is" : "holds"} ${p}, which render must not replace; choose a folder of its own, e.g. --into desired-out`);
  }
  for (const p of dirs.owned.map(real)) {
    if (inside(t, p)) throw new Error(`--into ${into}: ${t} is inside ${p}, which render must not write into; choose a folder of its own, e.g. --into desired-out`);
  }
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new Error(`--into ${into}: ${target} is a file; choose a folder`);
    const entries = readdirSync(target);
    if (entries.length > 0 && !entries.includes(RENDER_MARKER)) {
      throw new Error(`--into ${into}: ${target} is not empty and was not written by keelson render (no ${RENDER_MARKER}); choose a new folder, or empty this one`);
    }
  }
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';

/** A Secret's values are replaced by their length: the chart's generated keys are not for reading or diffing. */
function redact(o: DesiredObject['object']): DesiredObject['object'] {
  if (o.apiVersion !== 'v1' || o.kind !== 'Secret') return o;
  const hide = (data: unknown) =>
    data && typeof data === 'object' ? Object.fromEntries(Object.entries(data as Record<string, unknown>).map(([k, v]) => [k, `(redacted: ${String(v ?? '').length} characters)`])) : data;
  return { ...o, ...(o.data ? { data: hide(o.data) } : {}), ...(o.stringData ? { stringData: hide(o.stringData) } : {}) };
}

/** Writes the desired state to `into`: one folder per Application, one file per object, and `applications.json`. Atomic: on any error `into` is as it was. */
export function writeDesiredState(desired: DesiredState, into: string): RenderResult {
  const target = resolve(into);
  mkdirSync(dirname(target), { recursive: true });
  const next = `${target}.new-${process.pid}`;
  const old = `${target}.old-${process.pid}`;
  rmSync(next, { recursive: true, force: true });
  try {
    mkdirSync(next, { recursive: true });
    writeFileSync(join(next, RENDER_MARKER), 'Written by keelson render; replaced whole on the next run.\n');
    const used = new Set<string>();
    for (const o of desired.objects) {
      const name = `${slug(String(o.object.kind))}-${o.namespace ? `${slug(o.namespace)}-` : ''}${slug(String(o.object.metadata?.name ?? ''))}`;
      let file = join(slug(o.application), `${name}.yaml`);
      for (let i = 2; used.has(file); i++) file = join(slug(o.application), `${name}-${i}.yaml`);
      used.add(file);
      mkdirSync(join(next, dirname(file)), { recursive: true });
      const header = `# Application: ${o.application}, sync wave ${o.wave}\n# Source: ${o.source}\n`;
      writeFileSync(join(next, file), header + YAML.stringify(redact(o.object), { lineWidth: 0 }));
    }
    const index = desired.applications.map((a) => ({
      name: a.name,
      ...(a.parent ? { parent: a.parent } : {}),
      wave: a.wave,
      type: a.type,
      repoURL: a.repoURL,
      source: a.chartOrPath,
      version: a.revision,
      ...(a.digest ? { digest: a.digest } : {}),
      destinationNamespace: a.destinationNamespace,
      objects: a.objectCount,
      folder: slug(a.name),
    }));
    writeFileSync(join(next, RENDER_INDEX), `${JSON.stringify(index, null, 2)}\n`);
    if (existsSync(target)) renameSync(target, old);
    renameSync(next, target);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(next, { recursive: true, force: true });
    if (!existsSync(target) && existsSync(old)) renameSync(old, target);
    throw e;
  }
  return { into: target, applications: desired.applications.length, objects: desired.objects.length };
}

/** `keelson render`: renders the desired state of what synth wrote under `outDir` and writes it to `into`. */
export function renderCommand(spec: PlatformSpec, options: { readonly outDir: string; readonly into: string; readonly repoRoot: string; readonly secretsDir: string }): RenderResult {
  const chartsDir = join(options.outDir, spec.config.gitops.path);
  if (!statSync(chartsDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`render: ${chartsDir} does not exist; run "keelson synth" (or npx nx run platform:synth) first`);
  }
  checkRenderTarget(options.into, { repoRoot: options.repoRoot, owned: [join(options.repoRoot, '.git'), chartsDir, join(options.outDir, 'infra-out'), options.secretsDir, join(options.repoRoot, 'secrets'), join(options.repoRoot, 'node_modules')] });
  // Read under synth's output lock, so no synth switches charts-out halfway through the read.
  const lock = lockOutput(options.outDir, { command: 'keelson render' });
  try {
    recoverTrees(options.outDir);
    const desired = renderDesiredState({ dir: chartsDir, gitops: spec.config.gitops, kubeVersion: KUBERNETES_RELEASES[spec.config.versions.kubernetes] });
    return writeDesiredState(desired, options.into);
  } finally {
    lock.release();
  }
}

/** One line per Application for the terminal. */
export function describeRender(result: RenderResult, cwd: string = process.cwd()): string {
  return `keelson render: wrote ${result.objects} objects of ${result.applications} Argo CD Applications to ${relative(cwd, result.into) || '.'} (index: ${RENDER_INDEX})`;
}
