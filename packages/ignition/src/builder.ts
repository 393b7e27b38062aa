import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Config, Directory, Dropin, File, Link, NodeGroup, NodeUser, Resource, Unit } from './generated/ignition-v3_3';

/**
 * The Ignition config spec version every config from this package declares.
 *
 * Flatcar's Butane variant `flatcar` 1.0.0 emits it, current Flatcar accepts it, and so does the
 * Debian `ignition-validate` (2.14) the tests run.
 * @see https://coreos.github.io/ignition/configuration-v3_3/
 */
export const IGNITION_SPEC_VERSION = '3.3.0';

/** A problem with what was asked of an {@link IgnitionConfig}: names the field, the value and the fix. */
export class IgnitionConfigError extends Error {
  public override readonly name = 'IgnitionConfigError';
}

/**
 * An Ignition verification hash: `sha256-<64 hex digits>` or `sha512-<128 hex digits>`, lowercase.
 * @see https://coreos.github.io/ignition/configuration-v3_3/ (`verification.hash`)
 */
export type IgnitionHash = `sha256-${string}` | `sha512-${string}`;

/** File contents written into the config itself, as a `data:` URL. */
export interface InlineContents {
  /**
   * The file's text (UTF-8). Stored gzip-compressed and base64-encoded (`compression: "gzip"`) when
   * that is shorter than the plain percent-encoded or base64 `data:` URL.
   */
  readonly text: string;
}

/** File contents Ignition downloads at first boot and checks against a hash before writing. */
export interface RemoteContents {
  /** An `https://` (or `http://`) URL. */
  readonly source: string;
  /**
   * Hash of the bytes served at `source` (before decompression); Ignition refuses the file when
   * they differ. Required: an unpinned download is a supply-chain hole.
   */
  readonly hash: IgnitionHash | string;
  /**
   * Set when `source` serves gzip data that Ignition must decompress before writing.
   * @default - not compressed
   */
  readonly compression?: 'gzip';
}

/** Where a file's bytes come from. */
export type FileContents = InlineContents | RemoteContents;

/**
 * A user or group: a number is a numeric id, a string a name looked up in the node's `/etc/passwd`
 * (or `/etc/group`) when Ignition runs.
 */
export type Owner = number | string;

/** Options shared by files, directories and links. */
interface NodeProps {
  /** Absolute, normalized path on the node, such as `/etc/kubernetes/kubeadm.yaml`. */
  readonly path: string;
  /** @default - root (uid 0) */
  readonly user?: Owner;
  /** @default - root (gid 0) */
  readonly group?: Owner;
  /**
   * Replace whatever is at `path` already. Without it Ignition fails when something else is there.
   * @default false
   * @see https://coreos.github.io/ignition/configuration-v3_3/ (`storage.files[].overwrite`)
   */
  readonly overwrite?: boolean;
}

/** A regular file. */
export interface FileProps extends NodeProps {
  readonly contents: FileContents;
  /**
   * Permission bits, written as an octal literal (`0o600`); rendered as the decimal integer
   * Ignition's JSON expects.
   * @default 0o644
   */
  readonly mode?: number;
}

/** A directory. */
export interface DirectoryProps extends NodeProps {
  /** @default 0o755 */
  readonly mode?: number;
}

/** A symbolic (or hard) link. */
export interface LinkProps extends NodeProps {
  /** What the link points to. A hard link's target must be an absolute path. */
  readonly target: string;
  /** @default false (a symbolic link) */
  readonly hard?: boolean;
}

/** A systemd drop-in, written to `/etc/systemd/system/<unit>.d/<name>`. */
export interface DropinProps {
  /** File name ending in `.conf`, such as `10-kubeadm.conf`. */
  readonly name: string;
  readonly contents: string;
}

/** A unit Ignition writes, enables or disables, and extends with drop-ins. */
export interface DefinedUnitProps {
  /** Unit name with its type suffix, such as `kubelet.service`. */
  readonly name: string;
  /**
   * The unit file, written to `/etc/systemd/system/<name>`.
   * @default - none: only drop-ins and/or the enablement of a unit the OS ships
   */
  readonly contents?: string;
  /**
   * `true` enables the unit through a systemd preset (`enable <name>` in
   * `/etc/systemd/system-preset/20-ignition.preset`), `false` disables it.
   * @default - left as the OS presets it
   */
  readonly enabled?: boolean;
  /** @default false */
  readonly mask?: false;
  /** @default - none */
  readonly dropins?: readonly DropinProps[];
}

/** A unit masked by Ignition: `/etc/systemd/system/<name>` becomes a symlink to `/dev/null`. */
export interface MaskedUnitProps {
  readonly name: string;
  readonly mask: true;
}

/** A systemd unit entry. */
export type UnitProps = DefinedUnitProps | MaskedUnitProps;

/** Another Ignition config, fetched at first boot and pinned by hash. */
export interface ConfigReference {
  /** An `https://` (or `http://`) URL serving the config. */
  readonly source: string;
  /** Hash of the exact bytes served at `source`; see {@link ignitionHash}. */
  readonly hash: IgnitionHash | string;
}

export interface RenderOptions {
  /**
   * Fail when the rendered config is larger than this many bytes (UTF-8).
   * @default - no limit
   */
  readonly maxBytes?: number;
}

/** Unit types systemd knows; Ignition refuses any other suffix. */
export const SYSTEMD_UNIT_SUFFIXES = [
  'automount',
  'device',
  'mount',
  'path',
  'scope',
  'service',
  'slice',
  'socket',
  'swap',
  'target',
  'timer',
] as const;

const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_DIRECTORY_MODE = 0o755;
const MAX_MODE = 0o7777;

type Kind = 'files' | 'directories' | 'links';

interface UnitEntry {
  name: string;
  /** Set by addUnit; an entry created by addDropin alone is not declared. */
  declared: boolean;
  contents?: string;
  enabled?: boolean;
  mask?: boolean;
  dropins: Map<string, string>;
}

/**
 * A typed Ignition spec 3.3.0 config, built up call by call and rendered byte-stable.
 *
 * Every `add*` call checks its input and throws an {@link IgnitionConfigError} naming the field,
 * the value and the fix. The output does not depend on the order of calls: files, directories and
 * links come out sorted by path, units by name, drop-ins by name, with keys in a fixed order. Only
 * `ignition.config.merge` keeps the order of `mergeConfig` calls, because later merges win.
 *
 * There is deliberately no way to add users, passwords or SSH keys: Keelson nodes have none.
 *
 * @see https://coreos.github.io/ignition/configuration-v3_3/
 * @see https://coreos.github.io/ignition/operator-notes/
 */
export class IgnitionConfig {
  private readonly files = new Map<string, File>();
  private readonly directories = new Map<string, Directory>();
  private readonly links = new Map<string, Link>();
  private readonly units = new Map<string, UnitEntry>();
  private readonly merges: Resource[] = [];
  private replacement?: Resource;
  /** Each successful content call (file, directory, link, unit, drop-in), to repeat on another config: {@link addContentOf}. */
  private readonly contentCalls: Array<(into: IgnitionConfig) => void> = [];

  /**
   * Writes a regular file.
   * @see https://coreos.github.io/ignition/configuration-v3_3/ (`storage.files`)
   */
  public addFile(props: FileProps): this {
    const field = 'storage.files[]';
    const path = checkPath(field, props.path);
    const mode = checkMode(field, path, props.mode ?? DEFAULT_FILE_MODE);
    const contents = fileContents(path, props.contents);
    this.claimPath('files', path);
    this.files.set(path, {
      path,
      mode,
      ...owners(field, path, props),
      ...(props.overwrite !== undefined ? { overwrite: props.overwrite } : {}),
      contents,
    });
    this.contentCalls.push((into) => into.addFile(props));
    return this;
  }

  /**
   * Creates a directory (and, as Ignition does for every entry, its missing parents).
   * @see https://coreos.github.io/ignition/configuration-v3_3/ (`storage.directories`)
   */
  public addDirectory(props: DirectoryProps): this {
    const field = 'storage.directories[]';
    const path = checkPath(field, props.path);
    const mode = checkMode(field, path, props.mode ?? DEFAULT_DIRECTORY_MODE);
    this.claimPath('directories', path);
    this.directories.set(path, {
      path,
      mode,
      ...owners(field, path, props),
      ...(props.overwrite !== undefined ? { overwrite: props.overwrite } : {}),
    });
    this.contentCalls.push((into) => into.addDirectory(props));
    return this;
  }

  /**
   * Creates a symbolic link, or a hard link with `hard: true`.
   * @see https://coreos.github.io/ignition/configuration-v3_3/ (`storage.links`)
   */
  public addLink(props: LinkProps): this {
    const field = 'storage.links[]';
    const path = checkPath(field, props.path);
    if (typeof props.target !== 'string' || props.target === '') {
      throw new IgnitionConfigError(`storage.links[].target of "${path}" is empty; give the path the link points to, such as "/usr/bin/true"`);
    }
    if (props.hard === true && !props.target.startsWith('/')) {
      throw new IgnitionConfigError(
        `storage.links[].target "${props.target}" of hard link "${path}" is relative; a hard link needs an absolute target such as "/${props.target.replace(/^(\.\/)+/, '')}"`,
      );
    }
    this.claimPath('links', path);
    this.links.set(path, {
      path,
      target: props.target,
      ...(props.hard !== undefined ? { hard: props.hard } : {}),
      ...owners(field, path, props),
      ...(props.overwrite !== undefined ? { overwrite: props.overwrite } : {}),
    });
    this.contentCalls.push((into) => into.addLink(props));
    return this;
  }

  /**
   * Adds a systemd unit: its file, its enablement (through a preset), drop-ins, or a mask.
   *
   * A unit name may be added once; to extend a unit from elsewhere, use {@link addDropin}.
   * @see https://coreos.github.io/ignition/configuration-v3_3/ (`systemd.units`)
   */
  public addUnit(props: UnitProps): this {
    const name = checkUnitName(props.name);
    const existing = this.units.get(name);
    if (existing?.declared) {
      throw new IgnitionConfigError(
        `systemd.units[].name "${name}" is added twice; add it once, and add further configuration with addDropin("${name}", { name: "20-more.conf", contents })`,
      );
    }
    const entry: UnitEntry = existing ?? { name, declared: true, dropins: new Map() };
    entry.declared = true;
    if (props.mask === true) {
      const defined = props as unknown as DefinedUnitProps;
      if (defined.contents !== undefined || defined.enabled !== undefined || (defined.dropins?.length ?? 0) > 0 || entry.dropins.size > 0) {
        throw new IgnitionConfigError(
          `systemd.units[] "${name}" is masked and also has contents, enabled or drop-ins; a masked unit never runs, so give it only { name, mask: true }`,
        );
      }
      entry.mask = true;
    } else {
      if (props.contents !== undefined) entry.contents = checkUnitContents(name, props.contents);
      if (props.enabled !== undefined) entry.enabled = props.enabled;
      for (const dropin of props.dropins ?? []) addDropinTo(entry, dropin);
    }
    this.units.set(name, entry);
    this.contentCalls.push((into) => into.addUnit(props));
    return this;
  }

  /**
   * Adds a drop-in to a unit: merged into the unit's entry when there is one, otherwise a new entry
   * that only carries drop-ins (for units the OS ships, such as `containerd.service`).
   * @see https://coreos.github.io/ignition/configuration-v3_3/ (`systemd.units[].dropins`)
   */
  public addDropin(unit: string, dropin: DropinProps): this {
    const name = checkUnitName(unit);
    const entry = this.units.get(name) ?? { name, declared: false, dropins: new Map<string, string>() };
    if (entry.mask) {
      throw new IgnitionConfigError(`systemd.units[] "${name}" is masked; a drop-in "${dropin.name}" would never apply. Unmask the unit or drop the drop-in`);
    }
    addDropinTo(entry, dropin);
    this.units.set(name, entry);
    this.contentCalls.push((into) => into.addDropin(unit, dropin));
    return this;
  }

  /**
   * Adds everything `other` holds (its files, directories, links, units and drop-ins) by repeating
   * its calls here, in their order, with the same checks: the result is what making those calls on
   * this config would give, conflicts refused the same way. `other`'s `mergeConfig` and
   * `replaceConfig` are not copied. Texts already encoded are not compressed again.
   *
   * This is how one config that holds two others' content (a node's public part and its secret
   * part) is made without building that content twice. Pass props that are not changed afterwards:
   * the calls are repeated with the objects they were given.
   */
  public addContentOf(other: IgnitionConfig): this {
    if (other === this) throw new IgnitionConfigError('addContentOf: a config cannot add its own content again; every path and unit would be added twice');
    for (const call of other.contentCalls) call(this);
    return this;
  }

  /**
   * Makes Ignition fetch another config at first boot, check its hash, and merge it over this one.
   *
   * This is how a small public pointer (a server's user-data) brings in the secret-bearing part. Merges
   * apply in the order of the calls.
   * @see https://coreos.github.io/ignition/configuration-v3_3/ (`ignition.config.merge`)
   * @see https://coreos.github.io/ignition/operator-notes/#config-merging
   */
  public mergeConfig(ref: ConfigReference): this {
    if (this.replacement) {
      throw new IgnitionConfigError(
        `ignition.config.merge "${ref.source}" cannot be combined with ignition.config.replace "${this.replacement.source}"; Ignition replaces the whole config, merges included. Use one of them`,
      );
    }
    const resource = configReference('ignition.config.merge[]', ref);
    if (this.merges.some((m) => m.source === resource.source)) {
      throw new IgnitionConfigError(`ignition.config.merge[].source "${resource.source}" is merged twice; merge each config once`);
    }
    this.merges.push(resource);
    return this;
  }

  /**
   * Makes Ignition fetch another config at first boot, check its hash, and use it instead of this one.
   * @see https://coreos.github.io/ignition/configuration-v3_3/ (`ignition.config.replace`)
   */
  public replaceConfig(ref: ConfigReference): this {
    if (this.replacement) {
      throw new IgnitionConfigError(
        `ignition.config.replace is already "${this.replacement.source}"; a config can be replaced by one config only`,
      );
    }
    if (this.merges.length > 0) {
      throw new IgnitionConfigError(
        `ignition.config.replace "${ref.source}" cannot be combined with ignition.config.merge "${this.merges[0]?.source}"; Ignition replaces the whole config, merges included. Use one of them`,
      );
    }
    this.replacement = configReference('ignition.config.replace', ref);
    return this;
  }

  /**
   * The config as the typed spec object: deterministic order, empty sections left out.
   * @throws IgnitionConfigError when an enabled unit has no `[Install]` section, or a file,
   *   directory or link takes the place of a unit or drop-in (checked here, not in the `add*` calls,
   *   so that the order of calls does not matter)
   * @see https://coreos.github.io/ignition/configuration-v3_3/
   */
  public toJSON(): Config {
    // A deep copy: callers may change what they get without changing this config.
    return structuredClone(this.assemble());
  }

  /**
   * The config as compact JSON (no whitespace), the same bytes for the same content.
   * @throws IgnitionConfigError when `maxBytes` is given and the config is larger
   */
  public render(options: RenderOptions = {}): string {
    const json = JSON.stringify(this.assemble());
    const { maxBytes } = options;
    if (maxBytes !== undefined) {
      const size = Buffer.byteLength(json, 'utf8');
      if (size > maxBytes) {
        throw new IgnitionConfigError(
          `the rendered Ignition config is ${size} bytes, over the limit of ${maxBytes} bytes (${formatKiB(maxBytes)}); ` +
            'move files and units into a second config fetched at first boot with mergeConfig({ source, hash }) and keep only that pointer here',
        );
      }
    }
    return json;
  }

  /** The spec object of {@link toJSON}, sharing this config's entries (not copied: {@link render} only reads it). */
  private assemble(): Config {
    const config: Config = { ignition: { version: IGNITION_SPEC_VERSION } };
    if (this.merges.length > 0 || this.replacement) {
      config.ignition.config = {
        ...(this.merges.length > 0 ? { merge: this.merges } : {}),
        ...(this.replacement ? { replace: this.replacement } : {}),
      };
    }
    const files = sortedValues(this.files);
    const directories = sortedValues(this.directories);
    const links = sortedValues(this.links);
    if (files.length + directories.length + links.length > 0) {
      config.storage = {
        ...(files.length > 0 ? { files } : {}),
        ...(directories.length > 0 ? { directories } : {}),
        ...(links.length > 0 ? { links } : {}),
      };
    }
    const entries = sortedValues(this.units);
    entries.forEach(checkInstallSection);
    const units = entries.map(renderUnit);
    if (units.length > 0) config.systemd = { units };
    const conflict = systemdPathConflicts(config)[0];
    if (conflict) {
      throw new IgnitionConfigError(
        `storage.${conflict.kind}[].path "${conflict.path}" is where Ignition writes ${conflict.writes}; configure the unit with addUnit/addDropin only, or move the ${conflict.kind === 'directories' ? 'directory' : conflict.kind.slice(0, -1)}`,
      );
    }
    return config;
  }

  /** Records `path` for `kind`, refusing duplicates and entries nested under a file or link. */
  private claimPath(kind: Kind, path: string): void {
    const field = `storage.${kind}[].path`;
    for (const [otherKind, map] of [['files', this.files], ['directories', this.directories], ['links', this.links]] as const) {
      if (map.has(path)) {
        const fix = otherKind === kind ? 'add it once' : 'a path can be a file, a directory or a link, not two of them';
        throw new IgnitionConfigError(`${field} "${path}" is already used by storage.${otherKind}[]; ${fix}`);
      }
      for (const other of map.keys()) {
        if (otherKind !== 'directories' && path.startsWith(`${other}/`)) {
          throw new IgnitionConfigError(
            `${field} "${path}" lies under "${other}", which storage.${otherKind}[] makes a ${otherKind === 'files' ? 'file' : 'link'}; put it elsewhere or make "${other}" a directory`,
          );
        }
        if (kind !== 'directories' && other.startsWith(`${path}/`)) {
          throw new IgnitionConfigError(
            `${field} "${path}" would be a ${kind === 'files' ? 'file' : 'link'}, but storage.${otherKind}[] "${other}" needs it to be a directory; put one of them elsewhere`,
          );
        }
      }
    }
  }
}

/**
 * The Ignition hash of some bytes, for `mergeConfig({ hash })` or remote file contents.
 * @param algorithm `sha512` (the default) or `sha256`
 * @see https://coreos.github.io/ignition/configuration-v3_3/ (`verification.hash`)
 */
export function ignitionHash(data: string | Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha512'): IgnitionHash {
  const hex = createHash(algorithm).update(data).digest('hex');
  return algorithm === 'sha256' ? `sha256-${hex}` : `sha512-${hex}`;
}

/**
 * The bytes of a `data:` URL resource (`storage.files[].contents`, a config reference), decompressed
 * when `compression` is `gzip`; `undefined` for any other source (remote URLs are not fetched).
 *
 * Use it to look inside inline contents, for example to prove a config holds no private key:
 * searching the rendered JSON alone misses compressed or base64 contents.
 * @see https://coreos.github.io/ignition/configuration-v3_3/ (`contents.source`, `contents.compression`)
 */
export function decodeInlineContents(resource: Pick<Resource, 'source' | 'compression'>): Buffer | undefined {
  const source = resource.source;
  if (typeof source !== 'string' || !source.startsWith('data:')) return undefined;
  const comma = source.indexOf(',');
  if (comma < 0) throw new IgnitionConfigError(`contents.source "${source.slice(0, 40)}" is not a data: URL (no comma); expected "data:[<mediatype>][;base64],<data>"`);
  const meta = source.slice(5, comma);
  const payload = source.slice(comma + 1);
  const bytes = /(^|;)base64$/i.test(meta) ? Buffer.from(payload, 'base64') : percentDecode(payload);
  if (resource.compression === 'gzip') return gunzipSync(bytes);
  if (resource.compression) throw new IgnitionConfigError(`contents.compression "${resource.compression}" is not supported by Ignition 3.3; use "gzip" or leave it out`);
  return bytes;
}

/** A storage entry at a path where Ignition writes a unit, a drop-in, or a unit's drop-in directory. */
export interface SystemdPathConflict {
  readonly kind: Kind;
  readonly index: number;
  readonly path: string;
  /** What Ignition writes there, such as `systemd.units[] "kubelet.service"`. */
  readonly writes: string;
}

/**
 * Storage entries that collide with `systemd.units`: Ignition writes units to
 * `/etc/systemd/system/<name>` (a `/dev/null` link when masked) and drop-ins to
 * `/etc/systemd/system/<name>.d/<dropin>`, after the files, so one of them silently loses.
 * @see https://coreos.github.io/ignition/configuration-v3_3/ (`systemd.units`)
 */
export function systemdPathConflicts(config: Pick<Config, 'storage' | 'systemd'>): SystemdPathConflict[] {
  const taken = new Map<string, string>();
  for (const unit of config.systemd?.units ?? []) {
    const base = `/etc/systemd/system/${unit.name}`;
    if (unit.contents !== undefined && unit.contents !== null) taken.set(base, `systemd.units[] "${unit.name}"`);
    if (unit.mask) taken.set(base, `the mask of systemd.units[] "${unit.name}"`);
    for (const dropin of unit.dropins ?? []) {
      taken.set(`${base}.d/${dropin.name}`, `the drop-in "${dropin.name}" of systemd.units[] "${unit.name}"`);
      if (!taken.has(`${base}.d`)) taken.set(`${base}.d`, `the drop-in directory of systemd.units[] "${unit.name}"`);
    }
  }
  const conflicts: SystemdPathConflict[] = [];
  for (const kind of ['files', 'directories', 'links'] as const) {
    (config.storage?.[kind] ?? []).forEach((entry, index) => {
      const writes = taken.get(entry.path);
      // A directory at a drop-in directory is harmless: Ignition creates the same directory.
      if (writes && !(kind === 'directories' && writes.startsWith('the drop-in directory'))) conflicts.push({ kind, index, path: entry.path, writes });
    });
  }
  return conflicts;
}

/** Why `name` is not a valid unit name, or `undefined` when it is. */
export function unitNameProblem(name: string): string | undefined {
  const suffixes = SYSTEMD_UNIT_SUFFIXES.map((s) => `.${s}`).join(' ');
  if (typeof name !== 'string' || name === '') return 'is empty; give a unit name such as "kubelet.service"';
  if (name.length > 255) return `is ${name.length} characters long; systemd allows at most 255`;
  const dot = name.lastIndexOf('.');
  const suffix = dot > 0 ? name.slice(dot + 1) : '';
  if (!(SYSTEMD_UNIT_SUFFIXES as readonly string[]).includes(suffix)) {
    return `has no unit type suffix systemd knows; end it in one of ${suffixes}`;
  }
  const stem = name.slice(0, dot);
  const at = stem.indexOf('@');
  const prefix = at >= 0 ? stem.slice(0, at) : stem;
  const instance = at >= 0 ? stem.slice(at + 1) : '';
  const bad = /[^A-Za-z0-9:_.\\-]/.exec(prefix) ?? /[^A-Za-z0-9:_.\\@-]/.exec(instance);
  if (prefix === '') return 'has an empty name before the suffix; systemd needs one, such as "kubelet.service"';
  if (bad) {
    return `contains ${JSON.stringify(bad[0])}; systemd unit names allow only ASCII letters, digits and ":-_.\\" (plus one "@" before a template instance); escape other characters with systemd-escape`;
  }
  return undefined;
}

/** Why `name` is not a valid drop-in file name, or `undefined` when it is. */
export function dropinNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name === '') return 'is empty; give a file name such as "10-keelson.conf"';
  if (name.includes('/')) return 'contains "/"; give a bare file name such as "10-keelson.conf"';
  if (!name.endsWith('.conf') || name === '.conf') return `does not end in ".conf"; systemd ignores other drop-in files. Rename it, for example "${name.replace(/\.[^.]*$/, '')}.conf"`;
  return undefined;
}

/** Why `hash` is not an Ignition verification hash, or `undefined` when it is. */
export function hashProblem(hash: string): string | undefined {
  if (typeof hash !== 'string' || hash === '') return 'is missing; pin the contents with "sha512-<hex>" (see ignitionHash())';
  const m = /^(sha256|sha512)-(.*)$/.exec(hash);
  if (!m) return 'is not "sha256-<hex>" or "sha512-<hex>"; Ignition 3.3 supports only these two (see ignitionHash())';
  const digits = m[1] === 'sha256' ? 64 : 128;
  if (!new RegExp(`^[0-9a-f]{${digits}}$`).test(m[2] ?? '')) return `needs exactly ${digits} lowercase hex digits after "${m[1]}-"`;
  return undefined;
}

/** Why `path` is not an absolute, normalized node path (with the fixed path), or `undefined`. */
export function pathProblem(path: string): string | undefined {
  if (typeof path !== 'string' || path === '') return 'is empty; Ignition needs absolute paths such as "/etc/x"';
  if (!path.startsWith('/')) return `is relative; Ignition needs absolute paths such as "${posix.normalize(`/${path}`)}"`;
  const normal = posix.normalize(path).replace(/(.)\/$/, '$1');
  if (normal !== path) return `is not normalized; write it as "${normal}"`;
  if (path === '/') return 'is the root directory; name a path below it';
  return undefined;
}

function checkPath(field: string, path: string): string {
  const problem = pathProblem(path);
  if (problem) throw new IgnitionConfigError(`${field}.path ${JSON.stringify(path)} ${problem}`);
  return path;
}

function checkMode(field: string, path: string, mode: number): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > MAX_MODE) {
    throw new IgnitionConfigError(
      `${field}.mode ${String(mode)} of "${path}" is outside 0..0o7777; write permission bits as an octal literal such as 0o644`,
    );
  }
  if (mode > 0o777 && /^[0-7]{3}$/.test(String(mode))) {
    throw new IgnitionConfigError(
      `${field}.mode ${mode} of "${path}" is decimal ${mode} (0o${mode.toString(8)}), which sets special bits; you probably meant 0o${mode}. Write modes as octal literals`,
    );
  }
  return mode;
}

function owners(field: string, path: string, props: NodeProps): { user?: NodeUser; group?: NodeGroup } {
  return {
    ...(props.user !== undefined ? { user: owner(`${field}.user`, path, props.user) } : {}),
    ...(props.group !== undefined ? { group: owner(`${field}.group`, path, props.group) } : {}),
  };
}

function owner(field: string, path: string, value: Owner): NodeUser {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new IgnitionConfigError(`${field} ${value} of "${path}" is not a valid id; use a whole number >= 0 or a name`);
    return { id: value };
  }
  if (typeof value !== 'string' || !/^[a-z_][a-z0-9_.-]*\$?$/i.test(value)) {
    throw new IgnitionConfigError(`${field} ${JSON.stringify(value)} of "${path}" is not a valid user or group name; use a name such as "root" or a numeric id`);
  }
  return { name: value };
}

function fileContents(path: string, contents: FileContents): Resource {
  if (contents && typeof (contents as InlineContents).text === 'string') {
    if ((contents as Partial<RemoteContents>).source !== undefined) {
      throw new IgnitionConfigError(`storage.files[].contents of "${path}" has both text and source; give { text } for inline contents or { source, hash } for a download`);
    }
    return encodeText((contents as InlineContents).text);
  }
  const remote = contents as Partial<RemoteContents> | undefined;
  if (!remote || typeof remote.source !== 'string') {
    throw new IgnitionConfigError(`storage.files[].contents of "${path}" is missing; give { text } for inline contents or { source, hash } for a download`);
  }
  checkUrl(`storage.files[].contents.source of "${path}"`, remote.source);
  if (remote.hash === undefined) {
    throw new IgnitionConfigError(
      `storage.files[].contents of "${path}" downloads "${remote.source}" without a hash; add hash: "sha512-<hex>" so Ignition refuses anything else`,
    );
  }
  const problem = hashProblem(remote.hash);
  if (problem) throw new IgnitionConfigError(`storage.files[].contents.verification.hash ${JSON.stringify(remote.hash)} of "${path}" ${problem}`);
  if (remote.compression !== undefined && remote.compression !== 'gzip') {
    throw new IgnitionConfigError(`storage.files[].contents.compression ${JSON.stringify(remote.compression)} of "${path}" is not supported; use "gzip" or leave it out`);
  }
  return {
    ...(remote.compression ? { compression: remote.compression } : {}),
    source: remote.source,
    verification: { hash: remote.hash },
  };
}

function configReference(field: string, ref: ConfigReference): Resource {
  checkUrl(`${field}.source`, ref.source);
  if (ref.hash === undefined) {
    throw new IgnitionConfigError(`${field} "${ref.source}" has no hash; add hash: ignitionHash(renderedConfig) so Ignition refuses any other config`);
  }
  const problem = hashProblem(ref.hash);
  if (problem) throw new IgnitionConfigError(`${field}.verification.hash ${JSON.stringify(ref.hash)} ${problem}`);
  return { source: ref.source, verification: { hash: ref.hash } };
}

function checkUrl(field: string, source: string): void {
  let url: URL | undefined;
  try {
    url = new URL(source);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new IgnitionConfigError(`${field} ${JSON.stringify(source)} is not an http(s) URL; give a URL such as "https://bucket.example.com/node.ign"`);
  }
}

/**
 * Texts encoded in this process, and their `data:` URLs. Nodes of one render
 * share most of their files (units, scripts, the Argo CD install in the first
 * controller's secret part and full config), so each is compressed and
 * compared once: at 60 nodes, 111 ms of gzip in a synth became a few.
 * Entries are dropped oldest first past {@link ENCODED_CACHE_CHARS}.
 */
const encoded = new Map<string, Resource>();
let encodedChars = 0;
const ENCODED_CACHE_CHARS = 64 * 1024 * 1024;

/**
 * The shortest `data:` URL for `text`: percent-encoded, base64, or gzip + base64
 * (`compression: "gzip"`), in that order of preference on a tie.
 */
function encodeText(text: string): Resource {
  const known = encoded.get(text);
  if (known) return { ...known };
  const resource = encodeTextUncached(text);
  remember(text, resource);
  return { ...resource };
}

function remember(text: string, resource: Resource): void {
  encoded.set(text, resource);
  encodedChars += text.length;
  for (const [old] of encoded) {
    if (encodedChars <= ENCODED_CACHE_CHARS) break;
    encoded.delete(old);
    encodedChars -= old.length;
  }
}

function encodeTextUncached(text: string): Resource {
  const bytes = Buffer.from(text, 'utf8');
  // A text whose percent or base64 URL is no longer than the shortest gzip URL can be (a node's
  // hostname, most units' flags): compressing it cannot win, so it is not compressed.
  const short = BASE64_PREFIX.length + base64Length(bytes.length) <= SHORTEST_GZIP_URL || PLAIN_PREFIX.length + percentEncodedLength(bytes, SHORTEST_GZIP_URL - PLAIN_PREFIX.length) <= SHORTEST_GZIP_URL;
  return shortestEncoding(bytes, short ? undefined : gzip(bytes));
}

/**
 * Of the three `data:` URLs of `bytes` (percent, base64, gzip + base64), the shortest; ties keep that
 * order. Without `zipped`, gzip is out of the running (it could not win).
 */
function shortestEncoding(bytes: Buffer, zipped: Buffer | undefined): Resource {
  // Compare the three lengths first and build only the winner: a large text
  // (the Argo CD install, ~2 MB) would otherwise be percent-encoded and
  // base64-encoded for nothing.
  // Percent-encoding is counted only until it has lost (ties go to it): for the Argo CD install that
  // is the first tenth of its bytes.
  const base64 = BASE64_PREFIX.length + base64Length(bytes.length);
  const gzipped = zipped ? BASE64_PREFIX.length + base64Length(zipped.length) : Number.POSITIVE_INFINITY;
  const lengths = [PLAIN_PREFIX.length + percentEncodedLength(bytes, Math.min(base64, gzipped) - PLAIN_PREFIX.length), base64, gzipped];
  let best = 0;
  for (let i = 1; i < lengths.length; i++) if (lengths[i] < lengths[best]) best = i;
  if (best === 0) return { source: `${PLAIN_PREFIX}${percentEncode(bytes)}` };
  if (best === 1) return { source: `${BASE64_PREFIX}${bytes.toString('base64')}` };
  return { compression: 'gzip', source: `${BASE64_PREFIX}${(zipped as Buffer).toString('base64')}` };
}

const PLAIN_PREFIX = 'data:,';
const BASE64_PREFIX = 'data:;base64,';
/** Bytes RFC 3986 leaves unescaped: ALPHA, DIGIT, `-`, `.`, `_`, `~`. */
const UNRESERVED = (() => {
  const table = new Uint8Array(256);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') table[c.charCodeAt(0)] = 1;
  return table;
})();

/** The length of {@link percentEncode}'s result, without building it; once it passes `limit`, some length above it. */
function percentEncodedLength(bytes: Buffer, limit = Number.POSITIVE_INFINITY): number {
  let n = 0;
  for (let i = 0; i < bytes.length && n <= limit; i++) n += UNRESERVED[bytes[i]] === 1 ? 1 : 3;
  return n;
}

/** The length of standard base64 (padded) of `n` bytes. */
const base64Length = (n: number) => 4 * Math.ceil(n / 3);

/**
 * The length of the shortest gzip `data:` URL: a gzip stream is at least 20 bytes (a 10-byte header,
 * an empty deflate block of 2, an 8-byte trailer).
 * @see https://www.rfc-editor.org/rfc/rfc1952#section-2.2
 */
const SHORTEST_GZIP_URL = BASE64_PREFIX.length + base64Length(20);

/**
 * gzip with a fixed header (mtime 0, OS "Unix"), so the bytes do not depend
 * on the build platform. Level 9 where bytes count (small files, which may
 * sit in a size-limited pointer config); level 2 above 64 KiB, a file no
 * pointer can hold, which lives in the secret part (no size limit, fetched
 * once at first boot). Measured on Argo CD's 2 MB install, the one such
 * file: level 9 59 ms for 107 KB, level 6 12 ms for 110 KB, level 2 4 ms
 * for 147 KB; a synth pays it every run (issue 25).
 */
function gzip(bytes: Buffer): Buffer {
  const out = gzipSync(bytes, { level: bytes.length > 64 * 1024 ? 2 : 9 });
  out[9] = 3;
  return out;
}

/** RFC 3986 percent-encoding of every byte except the unreserved characters. */
function percentEncode(bytes: Buffer): string {
  // encodeURIComponent escapes every UTF-8 byte but the unreserved set and !'()*, which RFC 3986 reserves.
  return encodeURIComponent(bytes.toString('utf8')).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Percent-decoding to bytes (unlike decodeURIComponent, it accepts sequences that are not UTF-8). */
function percentDecode(s: string): Buffer {
  const parts: Buffer[] = [];
  for (const m of s.matchAll(/%([0-9a-fA-F]{2})|[^%]+|%/g)) {
    parts.push(m[1] !== undefined ? Buffer.from([parseInt(m[1], 16)]) : Buffer.from(m[0], 'utf8'));
  }
  return Buffer.concat(parts);
}

function checkUnitName(name: string): string {
  const problem = unitNameProblem(name);
  if (problem) throw new IgnitionConfigError(`systemd.units[].name ${JSON.stringify(name)} ${problem}`);
  return name;
}

function checkUnitContents(name: string, contents: string): string {
  if (typeof contents !== 'string' || contents.trim() === '') {
    throw new IgnitionConfigError(`systemd.units[].contents of "${name}" is empty; give the unit file, or leave contents out to configure a unit the OS ships`);
  }
  return contents;
}

function addDropinTo(entry: UnitEntry, dropin: DropinProps): void {
  const problem = dropinNameProblem(dropin.name);
  if (problem) throw new IgnitionConfigError(`systemd.units[].dropins[].name ${JSON.stringify(dropin.name)} of "${entry.name}" ${problem}`);
  if (typeof dropin.contents !== 'string' || dropin.contents.trim() === '') {
    throw new IgnitionConfigError(`systemd.units[].dropins[].contents of "${entry.name}/${dropin.name}" is empty; give the drop-in's settings`);
  }
  if (entry.dropins.has(dropin.name)) {
    throw new IgnitionConfigError(
      `systemd.units[].dropins[].name "${dropin.name}" is added twice to "${entry.name}"; give each drop-in its own name, such as "20-${dropin.name.replace(/^\d+-/, '')}"`,
    );
  }
  entry.dropins.set(dropin.name, dropin.contents);
}

/**
 * `enabled: true` only works through `systemctl preset`, which needs an `[Install]` section: without
 * one systemd enables nothing and says so only in the journal.
 */
function checkInstallSection(entry: UnitEntry): void {
  if (entry.enabled !== true || entry.contents === undefined) return;
  const texts = [entry.contents, ...entry.dropins.values()];
  if (texts.some((t) => /^\s*\[Install\]\s*$/m.test(t))) return;
  throw new IgnitionConfigError(
    `systemd.units[] "${entry.name}" is enabled but has no [Install] section; systemd presets enable nothing without one. Add "[Install]\\nWantedBy=multi-user.target" (or the target it belongs to)`,
  );
}

function renderUnit(entry: UnitEntry): Unit {
  const dropins: Dropin[] = [...entry.dropins.keys()].sort(compareStrings).map((name) => ({ name, contents: entry.dropins.get(name) as string }));
  return {
    name: entry.name,
    ...(entry.enabled !== undefined ? { enabled: entry.enabled } : {}),
    ...(entry.mask ? { mask: true } : {}),
    ...(entry.contents !== undefined ? { contents: entry.contents } : {}),
    ...(dropins.length > 0 ? { dropins } : {}),
  };
}

function sortedValues<T>(map: Map<string, T>): T[] {
  return [...map.keys()].sort(compareStrings).map((k) => map.get(k) as T);
}

/** Code-point order, independent of locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function formatKiB(bytes: number): string {
  return `${Number.isInteger(bytes / 1024) ? bytes / 1024 : (bytes / 1024).toFixed(1)} KiB`;
}
