import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import YAML from 'yaml';
import { canonicalJson, sameRepo } from './internal/compare';
import { requirePeer } from './peers';
import lockFile from './sources.lock.json';

/** A Helm chart as an Argo CD Application names it. */
export interface ChartRef {
  readonly repoURL: string;
  readonly chart: string;
  readonly version: string;
}

/** A plain-YAML Git source as an Argo CD Application names it. */
export interface GitRef {
  readonly repoURL: string;
  /** The tag (Keelson pins Git sources to release tags). */
  readonly revision: string;
  /** The folder inside the repository. */
  readonly path: string;
}

/** A pinned chart: its content digest (see `treeDigest`). */
export interface ChartLock extends ChartRef {
  readonly digest: string;
}

/** A pinned Git tag: every file Keelson's sources read from it, with its sha256. */
export interface GitLock {
  readonly repoURL: string;
  readonly revision: string;
  readonly files: Readonly<Record<string, string>>;
}

/** `sources.lock.json`: the digests every chart and Git source is checked against. */
export interface SourcesLock {
  readonly charts: readonly ChartLock[];
  readonly git: readonly GitLock[];
}

/** The committed lock. */
export const SOURCES_LOCK: SourcesLock = lockFile as unknown as SourcesLock;

/** Where a source was found. */
export interface ResolvedSource {
  /** The folder: the chart's root, or the Git source's `path`. */
  readonly dir: string;
  readonly digest: string;
  /** `dir`: `KEELSON_CHARTS_DIR`/`KEELSON_MANIFESTS_DIR`; `cache`: filled earlier; `fetched`: filled now. */
  readonly from: 'dir' | 'cache' | 'fetched';
}

/** Thrown when a source cannot be found or does not match its pinned digest. */
export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

/** Options shared by the resolvers. */
export interface ResolveOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default SOURCES_LOCK */
  readonly lock?: SourcesLock;
  /**
   * Fetch into the cache when neither the folder nor the cache has it (`helm pull`, `git clone`).
   * @default process.env.KEELSON_OFFLINE !== '1'
   */
  readonly fetch?: boolean;
  /** The helm binary for `helm pull`. @default 'helm' */
  readonly helm?: string;
}

/** The sources cache: `KEELSON_CACHE_DIR`, else `~/.cache/keelson/sources`. */
export function sourcesCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env.KEELSON_CACHE_DIR;
  return set && set.length > 0 ? resolve(set, 'sources') : join(env.HOME && env.HOME.length > 0 ? env.HOME : homedir(), '.cache', 'keelson', 'sources');
}

/**
 * A content digest of a folder: sha256 over `<sha256 of file>  <path>` lines
 * sorted by path (the `sha256sum` format), so the same files give the same
 * digest however they were packed. Every `Chart.yaml` counts by its parsed
 * content (canonical JSON), since `helm package` rewrites it. Symbolic links
 * are refused.
 */
export function treeDigest(dir: string): string {
  const lines = listFiles(dir).map((rel) => `${rel === 'Chart.yaml' || rel.endsWith('/Chart.yaml') ? sha256Text(canonicalJson(YAML.parse(readFileSync(join(dir, rel), 'utf8')))) : sha256File(join(dir, rel))}  ${rel}\n`);
  return `sha256:${createHash('sha256').update(lines.join('')).digest('hex')}`;
}

/**
 * The digest of a chart as its repository serves it: the real `helm package`
 * of the folder (which applies `.helmignore` and rewrites `Chart.yaml`),
 * unpacked, subcharts included, then `treeDigest`. An unpacked source folder
 * and a `helm pull` of the release give the same digest.
 */
export function chartDigest(dir: string, helm: string = requirePeer('helm', 'a chart digest')): string {
  const work = mkdtempSync(join(tmpdir(), 'keelson-chart-digest-'));
  try {
    const env = { ...process.env, HELM_CACHE_HOME: join(work, 'cache'), HELM_CONFIG_HOME: join(work, 'config'), HELM_DATA_HOME: join(work, 'data') };
    const packed = spawnSync(helm, ['package', dir, '--destination', join(work, 'out')], { encoding: 'utf8', env, timeout: 120_000 });
    if (packed.error || packed.status !== 0) throw new SourceError(`helm package ${dir} failed: ${packed.error?.message ?? packed.stderr.trim()}`);
    const tgz = readdirSync(join(work, 'out')).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new SourceError(`helm package ${dir} wrote no .tgz`);
    mkdirSync(join(work, 'unpacked'));
    const untar = spawnSync('tar', ['-xzf', join(work, 'out', tgz), '-C', join(work, 'unpacked')], { encoding: 'utf8' });
    if (untar.status !== 0) throw new SourceError(`cannot unpack ${tgz}: ${untar.stderr.trim()}`);
    const [root] = readdirSync(join(work, 'unpacked'));
    const problem = unpackSubcharts(join(work, 'unpacked', root));
    if (problem) throw new SourceError(problem);
    return treeDigest(join(work, 'unpacked', root));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Resolves a pinned chart to a local folder: `KEELSON_CHARTS_DIR` (laid out
 * as its `index.json` says, else `<chart>/<version>`), else the cache, else
 * `helm pull` into the cache. Whatever is found must match the digest in the
 * lock; an unlocked chart is refused.
 */
export function resolveChart(ref: ChartRef, options: ResolveOptions = {}): ResolvedSource {
  const env = options.env ?? process.env;
  const lock = options.lock ?? SOURCES_LOCK;
  const pinned = lock.charts.find((c) => sameRepo(c.repoURL, ref.repoURL) && c.chart === ref.chart && c.version === ref.version);
  const name = `chart ${ref.chart} ${ref.version} from ${ref.repoURL}`;
  if (!pinned) {
    throw new SourceError(`${name} has no digest in @keelson/upstream's sources.lock.json; add it with \`node tools/lock-sources.mjs\` from a folder that holds it (pinned: ${lock.charts.map((c) => `${c.chart} ${c.version}`).join(', ')})`);
  }
  const helm = options.helm ?? requirePeer('helm', `checking ${name}`, env);
  const looked: string[] = [];
  const chartsDir = env.KEELSON_CHARTS_DIR;
  if (chartsDir && chartsDir.length > 0) {
    const dir = chartFolder(resolve(chartsDir), ref);
    looked.push(`KEELSON_CHARTS_DIR (${dir})`);
    if (existsSync(join(dir, 'Chart.yaml'))) return { dir, digest: checked(name, dir, pinned.digest, helm, env), from: 'dir' };
  } else {
    looked.push('KEELSON_CHARTS_DIR (not set)');
  }
  const cached = join(sourcesCacheDir(env), 'charts', safe(ref.chart), safe(ref.version));
  looked.push(`the cache (${cached})`);
  if (existsSync(join(cached, 'Chart.yaml'))) return { dir: cached, digest: checked(name, cached, pinned.digest, helm, env), from: 'cache' };
  const fetchProblem = fetchAllowed(options, env) ? pullChart(ref, cached, helm) : 'fetching is off (KEELSON_OFFLINE=1)';
  if (fetchProblem === undefined) return { dir: cached, digest: checked(name, cached, pinned.digest, helm, env, cached), from: 'fetched' };
  throw new SourceError(`${name} is in neither ${looked.join(' nor ')}, and \`helm pull\` could not fetch it: ${fetchProblem}. Set KEELSON_CHARTS_DIR to a folder of unpacked charts, or go online once to fill the cache.`);
}

/**
 * Resolves a pinned Git source to a local folder: `KEELSON_MANIFESTS_DIR`
 * (laid out `<owner>/<repo>/<tag>/<path>`), else the cache, else a shallow
 * `git clone` of the tag whose locked files are copied into the cache. Every
 * locked file under the source's path must match its sha256.
 */
export function resolveGitSource(ref: GitRef, options: ResolveOptions = {}): ResolvedSource {
  const env = options.env ?? process.env;
  const lock = options.lock ?? SOURCES_LOCK;
  const pinned = lock.git.find((g) => sameRepo(g.repoURL, ref.repoURL) && g.revision === ref.revision);
  const name = `${ref.repoURL} at ${ref.revision}`;
  if (!pinned) throw new SourceError(`${name} has no file digests in @keelson/upstream's sources.lock.json; add it with \`node tools/lock-sources.mjs\``);
  const prefix = ref.path.replace(/^\.?\/*/, '').replace(/\/+$/, '');
  const files = Object.keys(pinned.files).filter((f) => prefix === '' || f === prefix || f.startsWith(`${prefix}/`));
  if (files.length === 0) throw new SourceError(`${name}: no locked file is under "${ref.path}"; lock the files that source reads`);
  const repoPath = repoFolder(ref.repoURL, ref.revision);
  const looked: string[] = [];
  const manifestsDir = env.KEELSON_MANIFESTS_DIR;
  const roots: Array<[string, 'dir' | 'cache']> = [];
  if (manifestsDir && manifestsDir.length > 0) roots.push([join(resolve(manifestsDir), repoPath), 'dir']);
  else looked.push('KEELSON_MANIFESTS_DIR (not set)');
  const cacheRoot = join(sourcesCacheDir(env), 'git', repoPath);
  roots.push([cacheRoot, 'cache']);
  for (const [root, from] of roots) {
    looked.push(from === 'dir' ? `KEELSON_MANIFESTS_DIR (${root})` : `the cache (${root})`);
    if (existsSync(join(root, prefix))) return { dir: join(root, prefix), digest: checkFiles(name, root, pinned, files), from };
  }
  const fetchProblem = fetchAllowed(options, env) ? cloneTag(ref, pinned, cacheRoot) : 'fetching is off (KEELSON_OFFLINE=1)';
  if (fetchProblem === undefined) return { dir: join(cacheRoot, prefix), digest: checkFiles(name, cacheRoot, pinned, files), from: 'fetched' };
  throw new SourceError(`${name} (${ref.path}) is in neither ${looked.join(' nor ')}, and \`git clone\` could not fetch it: ${fetchProblem}. Set KEELSON_MANIFESTS_DIR, or go online once to fill the cache.`);
}

/**
 * `chartDigest`, remembered per folder while no file in it changes (same
 * paths, sizes and modification times), so a warm run packs no chart.
 */
function rememberedChartDigest(dir: string, helm: string, env: NodeJS.ProcessEnv): string {
  const fingerprint = createHash('sha256')
    .update(
      listFiles(dir)
        .map((rel) => {
          const info = statSync(join(dir, rel));
          return `${rel}\0${info.size}\0${info.mtimeMs}\n`;
        })
        .join(''),
    )
    .digest('hex');
  const memo = join(sourcesCacheDir(env), 'digests', `${createHash('sha256').update(resolve(dir)).digest('hex')}.json`);
  try {
    const saved = JSON.parse(readFileSync(memo, 'utf8')) as { fingerprint: string; digest: string };
    if (saved.fingerprint === fingerprint) return saved.digest;
  } catch {
    // not remembered yet
  }
  const digest = chartDigest(dir, helm);
  mkdirSync(dirname(memo), { recursive: true });
  writeFileSync(`${memo}.${process.pid}`, JSON.stringify({ fingerprint, digest }));
  renameSync(`${memo}.${process.pid}`, memo);
  return digest;
}

/** Lock entries for charts found in a folder laid out like `KEELSON_CHARTS_DIR`. */
export function lockCharts(chartsDir: string, refs: readonly ChartRef[], helm?: string): ChartLock[] {
  return refs.map((ref) => {
    const dir = chartFolder(chartsDir, ref);
    if (!existsSync(join(dir, 'Chart.yaml'))) throw new SourceError(`chart ${ref.chart} ${ref.version} is not in ${dir}`);
    return { ...ref, digest: chartDigest(dir, helm) };
  });
}

/** A lock entry for every file of one tag in a folder laid out like `KEELSON_MANIFESTS_DIR`. */
export function lockGitTag(manifestsDir: string, repoURL: string, revision: string): GitLock {
  const root = join(manifestsDir, repoFolder(repoURL, revision));
  if (!existsSync(root)) throw new SourceError(`${repoURL} at ${revision} is not in ${root}`);
  const files: Record<string, string> = {};
  for (const rel of listFiles(root)) files[rel] = sha256File(join(root, rel));
  return { repoURL, revision, files };
}

/** The folder a repository's tag occupies under `KEELSON_MANIFESTS_DIR`: `<owner>/<repo>/<tag>`. */
export function repoFolder(repoURL: string, revision: string): string {
  const url = new URL(repoURL);
  const parts = url.pathname.replace(/\.git$/, '').split('/').filter(Boolean);
  if (parts.length < 2) throw new SourceError(`cannot tell the owner and repository from "${repoURL}"`);
  return join(...parts.slice(-2).map(safe), safe(revision));
}

function chartFolder(chartsDir: string, ref: ChartRef): string {
  const index = join(chartsDir, 'index.json');
  if (existsSync(index)) {
    const entries = JSON.parse(readFileSync(index, 'utf8')) as Array<ChartRef & { path: string }>;
    const hit = entries.find((e) => sameRepo(e.repoURL, ref.repoURL) && e.chart === ref.chart && e.version === ref.version);
    if (hit) return inside(chartsDir, hit.path);
  }
  return join(chartsDir, safe(ref.chart), safe(ref.version));
}

function checked(name: string, dir: string, expected: string, helm: string, env: NodeJS.ProcessEnv, removeOnMismatch?: string): string {
  const actual = rememberedChartDigest(dir, helm, env);
  if (actual !== expected) {
    if (removeOnMismatch) rmSync(removeOnMismatch, { recursive: true, force: true });
    throw new SourceError(`${name} in ${dir} has digest ${actual}, not the pinned ${expected}: it was changed or is another build of that version; restore it from the chart's repository${removeOnMismatch ? ' (the fetched copy was removed)' : ''}`);
  }
  return actual;
}

function checkFiles(name: string, root: string, pinned: GitLock, files: readonly string[]): string {
  const wrong: string[] = [];
  for (const rel of files) {
    const path = join(root, rel);
    if (!existsSync(path)) wrong.push(`${rel} is missing`);
    else {
      const actual = sha256File(path);
      // Both digests: the reader can tell a changed file from a stale pin.
      if (actual !== pinned.files[rel]) wrong.push(`${rel} differs (sha256 ${actual}, pinned ${pinned.files[rel]})`);
    }
  }
  if (wrong.length > 0) throw new SourceError(`${name} in ${root} does not match the pinned files: ${wrong.slice(0, 5).join(', ')}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ''}; restore them from the tag`);
  return `sha256:${createHash('sha256').update(files.map((f) => `${pinned.files[f]}  ${f}\n`).join('')).digest('hex')}`;
}

function pullChart(ref: ChartRef, target: string, helm: string): string | undefined {
  const work = mkdtempSync(join(tmpdir(), 'keelson-helm-pull-'));
  try {
    const run = spawnSync(helm, ['pull', ref.chart, '--repo', ref.repoURL, '--version', ref.version, '--untar', '--untardir', work], { encoding: 'utf8', timeout: 120_000 });
    if (run.error) return run.error.message;
    if (run.status !== 0) return (run.stderr || run.stdout).trim().split('\n').slice(-1)[0] ?? `exit ${run.status}`;
    const unpacked = join(work, ref.chart);
    if (!existsSync(join(unpacked, 'Chart.yaml'))) return `helm pull left no ${ref.chart}/Chart.yaml`;
    const problem = unpackSubcharts(unpacked);
    if (problem) return problem;
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { recursive: true, force: true });
    renameSync(unpacked, target);
    return undefined;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A packaged chart keeps its dependencies as `charts/*.tgz`; unpack them in place, as the lock was made. */
function unpackSubcharts(chartDir: string): string | undefined {
  const sub = join(chartDir, 'charts');
  if (!existsSync(sub)) return undefined;
  for (const entry of readdirSync(sub)) {
    if (!entry.endsWith('.tgz')) {
      if (statSync(join(sub, entry)).isDirectory()) {
        const problem = unpackSubcharts(join(sub, entry));
        if (problem) return problem;
      }
      continue;
    }
    const run = spawnSync('tar', ['-xzf', entry], { cwd: sub, encoding: 'utf8' });
    if (run.status !== 0) return `cannot unpack ${entry}: ${run.stderr.trim()}`;
    rmSync(join(sub, entry));
  }
  return undefined;
}

function cloneTag(ref: GitRef, pinned: GitLock, target: string): string | undefined {
  const work = mkdtempSync(join(tmpdir(), 'keelson-git-'));
  try {
    const run = spawnSync('git', ['-c', 'advice.detachedHead=false', 'clone', '--quiet', '--depth', '1', '--branch', ref.revision, ref.repoURL, join(work, 'repo')], { encoding: 'utf8', timeout: 300_000 });
    if (run.error) return run.error.message;
    if (run.status !== 0) return run.stderr.trim().split('\n').slice(-1)[0] ?? `exit ${run.status}`;
    const staging = join(work, 'files');
    for (const rel of Object.keys(pinned.files)) {
      const from = join(work, 'repo', rel);
      if (!existsSync(from)) return `the tag has no ${rel}`;
      mkdirSync(dirname(join(staging, rel)), { recursive: true });
      cpSync(from, join(staging, rel));
    }
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return undefined;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function fetchAllowed(options: ResolveOptions, env: NodeJS.ProcessEnv): boolean {
  return options.fetch ?? env.KEELSON_OFFLINE !== '1';
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    const info = lstatSync(path);
    if (info.isSymbolicLink()) throw new SourceError(`${path} is a symbolic link; a pinned source holds plain files only`);
    if (info.isDirectory()) out.push(...listFiles(path, base));
    else out.push(relative(base, path).split(sep).join('/'));
  }
  return out.sort();
}

function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A path element from a name or version: no separators, no `..`. */
function safe(part: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(part) || part.includes('..')) throw new SourceError(`"${part}" cannot be part of a path`);
  return part;
}

function inside(root: string, rel: string): string {
  const path = resolve(root, rel);
  if (path !== root && !path.startsWith(`${resolve(root)}${sep}`)) throw new SourceError(`index.json path "${rel}" leaves ${root}`);
  return path;
}
