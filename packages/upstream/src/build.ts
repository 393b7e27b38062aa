import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PEER_GROUPS, peerOverrideVariable, peersDir, readStamp, type PeerGroup, type PeerStamp } from './peers';
import { probeVersion } from './probe';

/** Options of `buildPeers`. */
export interface BuildPeersOptions {
  /** @default peersDir() */
  readonly dir?: string;
  /**
   * The wrapper modules, one folder per group.
   * @default this package's `go/`
   */
  readonly recipesDir?: string;
  /** Only these groups. @default every group */
  readonly only?: readonly string[];
  /** Check only: report what is missing, build nothing. @default false */
  readonly checkOnly?: boolean;
  /** The Go command. @default process.env.KEELSON_GO ?? 'go' */
  readonly go?: string;
  /** Progress lines. @default console.log */
  readonly log?: (line: string) => void;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** What happened to one group. */
export interface GroupResult {
  readonly group: string;
  readonly version: string;
  /** `cached`: the stamp matched; `built`: built now; `overridden`: every binary set by `KEELSON_PEER_*`; `missing`: check-only and not there. */
  readonly outcome: 'cached' | 'built' | 'overridden' | 'missing';
  readonly seconds: number;
}

/** Thrown when Go is missing or a build fails; the message says what to do. */
export class PeerBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerBuildError';
  }
}

/** The oldest Go that builds every group (Kubernetes 1.36's go.mod says `go 1.26.0`). */
export const MINIMUM_GO = '1.26.0';

/**
 * Builds every peer group that is missing or whose recipe changed, into
 * `<dir>/bin`, with Go's module and build caches under `<dir>` so a second
 * run is a stamp check. One build at a time per cache (a lock file); a
 * binary appears under its name only once it was built and printed the
 * pinned version.
 */
export function buildPeers(options: BuildPeersOptions = {}): GroupResult[] {
  const env = options.env ?? process.env;
  const dir = options.dir ?? peersDir(env);
  const recipesDir = options.recipesDir ?? resolve(__dirname, '..', 'go');
  const log = options.log ?? ((line: string) => console.log(line));
  const go = options.go ?? env.KEELSON_GO ?? 'go';
  const groups = options.only ? PEER_GROUPS.filter((g) => options.only?.includes(g.name)) : PEER_GROUPS;
  if (options.only) {
    const unknown = options.only.filter((name) => !PEER_GROUPS.some((g) => g.name === name));
    if (unknown.length > 0) throw new PeerBuildError(`no peer group is named ${unknown.join(', ')}; the groups are ${PEER_GROUPS.map((g) => g.name).join(', ')}`);
  }
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'stamps'), { recursive: true });

  const results: GroupResult[] = [];
  let goVersion: string | undefined;
  const release = options.checkOnly ? () => undefined : lock(dir);
  try {
    for (const group of groups) {
      const started = Date.now();
      const overrides = group.binaries.filter((b) => (env[peerOverrideVariable(b.name)] ?? '') !== '');
      if (overrides.length === group.binaries.length) {
        for (const b of group.binaries) {
          const probe = probeVersion(env[peerOverrideVariable(b.name)] as string, b.versionArgs, group.version);
          if (!probe.ok) throw new PeerBuildError(`${peerOverrideVariable(b.name)}: ${probe.problem}; point it at ${b.name} ${group.version} or unset it to build the peer`);
        }
        results.push({ group: group.name, version: group.version, outcome: 'overridden', seconds: 0 });
        log(`peers: ${group.name} ${group.version}: using ${overrides.map((b) => peerOverrideVariable(b.name)).join(', ')}`);
        continue;
      }
      const recipeDir = join(recipesDir, group.name);
      if (!existsSync(join(recipeDir, 'go.mod'))) throw new PeerBuildError(`the wrapper module of ${group.name} is missing: ${recipeDir}/go.mod (peers are built from a Keelson checkout or the published @keelson/upstream package)`);
      const stamp = readStamp(dir, group.name);
      const present = group.binaries.every((b) => isFile(join(dir, 'bin', b.name))) && (group.data ?? []).every((d) => isFile(join(dir, 'share', group.name, d.name)));
      if (options.checkOnly) {
        const ok = present && stamp?.version === group.version;
        results.push({ group: group.name, version: group.version, outcome: ok ? 'cached' : 'missing', seconds: 0 });
        continue;
      }
      goVersion ??= checkGo(go);
      const recipe = recipeHash(group, recipeDir, goVersion);
      if (present && stamp?.recipe === recipe) {
        results.push({ group: group.name, version: group.version, outcome: 'cached', seconds: (Date.now() - started) / 1000 });
        log(`peers: ${group.name} ${group.version}: built (${dir}/bin)`);
        continue;
      }
      log(`peers: building ${group.name} ${group.version} (${group.binaries.map((b) => b.name).join(', ')}) from ${group.module}; the first build takes minutes`);
      for (const binary of group.binaries) {
        const target = join(dir, 'bin', binary.name);
        const partial = join(dir, 'bin', `.${binary.name}.partial`);
        const t0 = Date.now();
        const run = spawnSync(go, ['build', '-trimpath', '-ldflags', ['-s', '-w', ...group.ldflags].join(' '), '-o', partial, binary.package], {
          cwd: recipeDir,
          env: goEnv(env, dir),
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (run.error || run.status !== 0) {
          rmSync(partial, { force: true });
          const output = `${run.stderr ?? ''}${run.stdout ?? ''}`.trim().split('\n').slice(-15).join('\n');
          throw new PeerBuildError(`building ${binary.name} ${group.version} (${binary.package}) failed${run.error ? `: ${run.error.message}` : ''}:\n${output}\nThe Go module proxy must be reachable for the first build (GOPROXY=${env.GOPROXY ?? 'default'}).`);
        }
        const probe = probeVersion(partial, binary.versionArgs, group.version);
        if (!probe.ok) {
          rmSync(partial, { force: true });
          throw new PeerBuildError(`the freshly built ${binary.name} does not say it is ${group.version}: ${probe.problem}`);
        }
        renameSync(partial, target);
        log(`peers:   ${binary.name} ${probe.found} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
      for (const data of group.data ?? []) {
        const moduleDir = spawnSync(go, ['list', '-m', '-f', '{{.Dir}}', group.module], { cwd: recipeDir, env: goEnv(env, dir), encoding: 'utf8' });
        if (moduleDir.status !== 0) throw new PeerBuildError(`cannot find ${group.module}'s files: ${moduleDir.stderr.trim()}`);
        const parts = data.files.map((f) => readFileSync(join(moduleDir.stdout.trim(), f), 'utf8').trim());
        mkdirSync(join(dir, 'share', group.name), { recursive: true });
        writeFileSync(join(dir, 'share', group.name, data.name), `${parts.join('\n---\n')}\n`);
        log(`peers:   ${group.name}/${data.name} from ${data.files.length} files of ${group.module}@${group.version}`);
      }
      const seconds = (Date.now() - started) / 1000;
      const written: PeerStamp = { group: group.name, version: group.version, recipe, builtAt: new Date().toISOString(), seconds: Math.round(seconds) };
      writeFileSync(join(dir, 'stamps', `${group.name}.json`), `${JSON.stringify(written, null, 2)}\n`);
      results.push({ group: group.name, version: group.version, outcome: 'built', seconds });
    }
  } finally {
    release();
  }
  return results;
}

/** The environment Go builds in: caches under the peers' folder, no toolchain download, no cgo, go.sum as committed. */
function goEnv(env: NodeJS.ProcessEnv, dir: string): NodeJS.ProcessEnv {
  return {
    ...env,
    GOMODCACHE: join(dir, 'gomod'),
    GOCACHE: join(dir, 'gocache'),
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-mod=readonly -buildvcs=false',
    CGO_ENABLED: '0',
  };
}

/** The Go version (`go1.26.8`), or an error naming what is needed. */
function checkGo(go: string): string {
  const run = spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    throw new PeerBuildError(`the upstream peers are built with Go ${MINIMUM_GO} or newer, and \`${go}\` cannot run (${run.error?.message ?? run.stderr.trim()}); install Go and put it on PATH, or set KEELSON_GO`);
  }
  const version = run.stdout.trim();
  const [major, minor] = version.replace(/^go/, '').split('.').map(Number);
  const [needMajor, needMinor] = MINIMUM_GO.split('.').map(Number);
  if (major === undefined || minor === undefined || major < (needMajor ?? 1) || (major === needMajor && minor < (needMinor ?? 0))) {
    throw new PeerBuildError(`the upstream peers need Go ${MINIMUM_GO} or newer; \`${go}\` is ${version}`);
  }
  return version;
}

/** sha256 over what decides a group's binaries: its manifest entry, the wrapper module and the Go version. */
export function recipeHash(group: PeerGroup, recipeDir: string, goVersion: string): string {
  const hash = createHash('sha256').update(JSON.stringify(group)).update('\0').update(goVersion);
  for (const file of ['go.mod', 'go.sum', 'tools.go']) {
    hash.update('\0').update(file).update('\0');
    if (existsSync(join(recipeDir, file))) hash.update(readFileSync(join(recipeDir, file)));
  }
  return hash.digest('hex');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** An exclusive lock file; a lock whose process is gone is taken over. */
function lock(dir: string): () => void {
  const path = join(dir, '.build.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
        rmSync(path, { force: true });
        continue;
      }
      if (attempt === 0) console.log(`peers: waiting for another build (pid ${holder}) to finish with ${dir}`);
      spawnSync('sleep', ['2']);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
