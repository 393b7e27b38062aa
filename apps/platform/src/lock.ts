import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KUBERNETES_RELEASES, SYSEXT_BASE_URL, kubernetesSysextImage, type KubernetesSysextImage } from '@keelson/ignition';

/**
 * `kubernetes-sysext.lock.json`: the Kubernetes system extension images pinned
 * by SHA-256, like Terraform's lock file. `keelson lock` makes it on a machine
 * with internet from the bakery's SHA256SUMS, for the release of every
 * Kubernetes minor in `KUBERNETES_RELEASES`; it is committed next to the
 * platform config, and synth pins each node's image by its hash.
 */
export const SYSEXT_LOCK_FILE = 'kubernetes-sysext.lock.json';

/** Overrides where `keelson lock` downloads SHA256SUMS from (a mirror, or a loopback server in tests). */
export const SYSEXT_BASE_URL_ENV = 'KEELSON_SYSEXT_BASE_URL';

/** How long `keelson lock` waits for SHA256SUMS. */
const DOWNLOAD_TIMEOUT_MS = 60_000;

/** What to do about a missing or stale lock file. */
const LOCK_FIX = `run keelson lock on a machine with internet and commit ${SYSEXT_LOCK_FILE}`;

/** One locked image: the release, its file in the bakery, where it is downloaded from, and its hash. */
export interface LockedSysextImage extends KubernetesSysextImage {
  /** The patch release, such as `1.36.2`. */
  readonly release: string;
  /** `kubernetes-v<release>-x86-64.raw`. */
  readonly file: string;
}

/** The lock file's contents. */
export interface SysextLock {
  /** The bakery (or mirror) SHA256SUMS was read from; every `url` is `<source>/<file>`. */
  readonly source: string;
  /** By Kubernetes minor release (`"1.36"`). */
  readonly images: Readonly<Record<string, LockedSysextImage>>;
}

/** Where synth reads the lock and `keelson lock` writes it: next to the platform config (`apps/platform/` for the default one). */
export function sysextLockPath(configPath: string): string {
  return join(dirname(configPath), SYSEXT_LOCK_FILE);
}

/**
 * The bakery's base URL: {@link SYSEXT_BASE_URL}, or `KEELSON_SYSEXT_BASE_URL`
 * when set, without trailing slashes. Only https, or plain http to 127.0.0.1
 * or localhost (tests): the hashes are only as good as the channel.
 */
export function sysextBaseUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const value = env[SYSEXT_BASE_URL_ENV];
  if (value === undefined || value === '') return SYSEXT_BASE_URL;
  if (!/^(https:\/\/\S+|http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/\S*)?)$/.test(value)) {
    throw new Error(`${SYSEXT_BASE_URL_ENV} ${JSON.stringify(value)} is not an https URL (plain http only to 127.0.0.1 or localhost, for tests); unset it to use ${SYSEXT_BASE_URL}, or give an https mirror`);
  }
  return value.replace(/\/+$/, '');
}

/**
 * Reads a SHA256SUMS file (`<64 hex digits>  <file>` per line, as `sha256sum`
 * writes it): file name -> lower-case hash. Throws on the first line that is
 * neither that nor blank, and on a file listed twice with different hashes.
 */
export function parseSha256Sums(text: string, url: string): Map<string, string> {
  const sums = new Map<string, string>();
  let problem: string | undefined;
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-fA-F]{64}) [ *](\S+)$/.exec(line);
    const hash = m?.[1]?.toLowerCase();
    const file = m?.[2];
    if (!hash || !file) problem = `line ${i + 1} is not "<64 hex digits>  <file name>" (got ${JSON.stringify(line.slice(0, 80))})`;
    else if (sums.has(file) && sums.get(file) !== hash) problem = `line ${i + 1} lists ${file} a second time, with another hash`;
    if (problem) break;
    if (hash && file) sums.set(file, hash);
  }
  if (problem) {
    throw new Error(`${url}: ${problem}; that is not a SHA256SUMS file: check ${SYSEXT_BASE_URL_ENV} (or the proxy between you and the bakery) and run keelson lock again`);
  }
  return sums;
}

/**
 * Downloads `<base>/SHA256SUMS` and locks the image of every release in
 * `releases` (by minor): file name, URL and hash. Throws, naming the URL, when
 * the download fails, the file is malformed, or an image is not listed.
 */
export async function lockSysextImages(base: string, releases: Readonly<Record<string, string>> = KUBERNETES_RELEASES): Promise<SysextLock> {
  const url = `${base}/SHA256SUMS`;
  const sums = parseSha256Sums(await download(url), url);
  const images: Record<string, LockedSysextImage> = {};
  const unlisted: string[] = [];
  for (const [minor, release] of Object.entries(releases)) {
    const file = kubernetesSysextImage(release);
    const sha256 = sums.get(file);
    if (sha256) images[minor] = { release, file, url: `${base}/${file}`, sha256 };
    else unlisted.push(`${file} (Kubernetes ${minor} in KUBERNETES_RELEASES)`);
  }
  if (unlisted.length > 0) {
    throw new Error(
      `${url} does not list ${unlisted.join(' or ')}; the bakery has not published that release (yet): wait for it, or set KUBERNETES_RELEASES in packages/ignition/src/pins.ts to a release it lists, then run keelson lock again`,
    );
  }
  return { source: base, images };
}

async function download(url: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw downloadFailed(url, cause?.code ?? cause?.message ?? (e as Error).message);
  }
  if (!response.ok) throw downloadFailed(url, `HTTP ${response.status} ${response.statusText}`.trim());
  return response.text();
}

const downloadFailed = (url: string, why: string) =>
  new Error(`could not download ${url} (${why}); keelson lock needs internet: run it on a machine that reaches ${new URL(url).host}, then commit ${SYSEXT_LOCK_FILE}`);

/** The lock as written: minors in order, fixed key order, two-space indent, a final newline. */
export function renderSysextLock(lock: SysextLock): string {
  const minors = Object.keys(lock.images).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const images = Object.fromEntries(
    minors.map((minor) => {
      const { release, file, url, sha256 } = lock.images[minor] as LockedSysextImage;
      return [minor, { release, file, url, sha256 }];
    }),
  );
  return `${JSON.stringify({ source: lock.source, images }, null, 2)}\n`;
}

/**
 * Reads a lock file; `undefined` when there is none. Throws, naming the file
 * and the entry, when it is not what `keelson lock` writes.
 */
export function readSysextLock(file: string): SysextLock | undefined {
  if (!existsSync(file)) return undefined;
  let value: unknown;
  let problem: string | undefined;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    problem = `not JSON (${(e as Error).message})`;
  }
  problem ??= lockProblem(value);
  if (problem) throw new Error(`${file}: ${problem}; keelson lock writes this file, not a person: ${LOCK_FIX}`);
  return value as SysextLock;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function lockProblem(value: unknown): string | undefined {
  if (!isObject(value) || typeof value.source !== 'string' || !isObject(value.images)) return 'expected { "source": "<url>", "images": { "<minor>": { ... } } }';
  for (const [minor, image] of Object.entries(value.images)) {
    const at = `images[${JSON.stringify(minor)}]`;
    if (!isObject(image)) return `${at} is not an object`;
    const { release, file, url, sha256 } = image;
    if (typeof release !== 'string' || !release.startsWith(`${minor}.`)) return `${at}.release ${JSON.stringify(release)} is not a patch release of Kubernetes ${minor}`;
    if (file !== kubernetesSysextImage(release)) return `${at}.file ${JSON.stringify(file)} is not ${kubernetesSysextImage(release)}`;
    if (url !== `${value.source}/${file}`) return `${at}.url ${JSON.stringify(url)} is not ${value.source}/${file}`;
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return `${at}.sha256 ${JSON.stringify(sha256)} is not 64 lower-case hex digits`;
  }
  return undefined;
}

/** Where the lock and `KUBERNETES_RELEASES` disagree; empty when the lock is current. */
export function staleLockProblems(lock: SysextLock, releases: Readonly<Record<string, string>> = KUBERNETES_RELEASES): string[] {
  const problems: string[] = [];
  for (const [minor, release] of Object.entries(releases)) {
    const locked = lock.images[minor]?.release;
    if (locked === undefined) problems.push(`Kubernetes ${minor} (${release} in KUBERNETES_RELEASES) is not locked`);
    else if (locked !== release) problems.push(`Kubernetes ${minor} is locked at ${locked}, but KUBERNETES_RELEASES pins ${release}`);
  }
  for (const minor of Object.keys(lock.images)) if (!(minor in releases)) problems.push(`Kubernetes ${minor} is locked, but KUBERNETES_RELEASES has no ${minor}`);
  return problems;
}

/** What synth pins: the image of the config's release, when the lock has it. */
export interface PinnedKubernetesSysext {
  readonly lockFile: string;
  /** @default - not pinned: no lock file, or no entry for the config's minor */
  readonly image?: LockedSysextImage;
}

/**
 * The locked image for a Kubernetes minor, for synth: none when the lock file
 * or its entry is missing; throws when the entry is of another release than
 * `KUBERNETES_RELEASES` pins (a stale lock would pin the wrong image).
 */
export function pinnedKubernetesSysext(lockFile: string, minor: string, releases: Readonly<Record<string, string>> = KUBERNETES_RELEASES): PinnedKubernetesSysext {
  const image = readSysextLock(lockFile)?.images[minor];
  if (!image) return { lockFile };
  const release = releases[minor];
  if (image.release !== release) {
    throw new Error(`${lockFile}: Kubernetes ${minor} is locked at ${image.release}, but KUBERNETES_RELEASES pins ${release}; ${LOCK_FIX}`);
  }
  return { lockFile, image };
}

/** Synth's one line about the image. */
export function describeKubernetesSysext({ image }: PinnedKubernetesSysext): string {
  return image
    ? `Kubernetes system extension: ${image.file} pinned by sha256 ${image.sha256.slice(0, 12)}…`
    : `Kubernetes system extension: not pinned by hash (${LOCK_FIX})`;
}

export interface LockCommandOptions {
  /** The platform config; the lock file lives next to it. */
  readonly configPath: string;
  /** Only check the lock against `KUBERNETES_RELEASES`, without network. */
  readonly check?: boolean;
  /** @default process.env (for KEELSON_SYSEXT_BASE_URL) */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default KUBERNETES_RELEASES */
  readonly releases?: Readonly<Record<string, string>>;
}

export interface LockCommandResult {
  /** 0, or 1 when `--check` found the lock missing or stale. */
  readonly exitCode: 0 | 1;
  readonly stdout: readonly string[];
  readonly stderr: readonly string[];
}

/**
 * `keelson lock [--check]`. Without `--check`: downloads SHA256SUMS and
 * writes the lock (atomically; on any error the old file stays as it was).
 * With it: reads the lock only, exit 1 when it is missing, unreadable or stale.
 */
export async function lockCommand(options: LockCommandOptions): Promise<LockCommandResult> {
  const file = sysextLockPath(options.configPath);
  const releases = options.releases ?? KUBERNETES_RELEASES;
  const pinned = Object.values(releases).join(', ');
  if (options.check) {
    let lock: SysextLock | undefined;
    try {
      lock = readSysextLock(file);
    } catch (e) {
      return { exitCode: 1, stdout: [], stderr: [`keelson lock --check: ${(e as Error).message}`] };
    }
    if (!lock) return { exitCode: 1, stdout: [], stderr: [`keelson lock --check: ${file} is missing; ${LOCK_FIX}`] };
    const problems = staleLockProblems(lock, releases);
    if (problems.length > 0) {
      return { exitCode: 1, stdout: [], stderr: [`keelson lock --check: ${file} is stale:`, ...problems.map((p) => `  ${p}`), `  ${LOCK_FIX}`] };
    }
    return { exitCode: 0, stdout: [`keelson lock --check: ${file} pins Kubernetes ${pinned} by sha256, as KUBERNETES_RELEASES does`], stderr: [] };
  }
  if (!existsSync(options.configPath)) {
    throw new Error(`--config ${options.configPath} does not exist; the lock file is written next to the platform config that synth reads: pass an existing config with --config`);
  }
  const base = sysextBaseUrl(options.env ?? process.env);
  const lock = await lockSysextImages(base, releases);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, renderSysextLock(lock), { mode: 0o644 });
  renameSync(tmp, file);
  return {
    exitCode: 0,
    stdout: [
      `keelson lock: wrote ${file} from ${base}/SHA256SUMS`,
      ...Object.entries(lock.images).map(([minor, image]) => `  ${minor}: ${image.file} sha256 ${image.sha256}`),
      `  commit it: keelson synth makes each node's Ignition download the image of its release and refuse any other hash`,
    ],
    stderr: [],
  };
}
