import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import manifest from './peers.json';

/** One program of a peer group, and how to ask it for its version. */
export interface PeerBinary {
  /** File name under the peers' `bin/`, and the command's usual name. */
  readonly name: string;
  /** The Go package whose `main` it is. */
  readonly package: string;
  /** Arguments that make it print its version (and nothing else of note). */
  readonly versionArgs: readonly string[];
}

/** Programs built together from one Go wrapper module (`go/<name>/` in this package). */
export interface PeerGroup {
  readonly name: string;
  /** The upstream Go module, at `version`. */
  readonly module: string;
  /** The release production runs, with its `v`. */
  readonly version: string;
  /** What the tests use it for. */
  readonly why: string;
  /** `-ldflags -X` settings that stamp the version the way upstream's release builds do. */
  readonly ldflags: readonly string[];
  readonly binaries: readonly PeerBinary[];
  /**
   * Files of the pinned module the programs need at run time, joined into
   * `<peers>/share/<group>/<name>` at build time (never copied into the repo).
   * @default []
   */
  readonly data?: readonly { readonly name: string; readonly why: string; readonly files: readonly string[] }[];
}

/** Every peer group, from `peers.json`: the one place their versions are pinned. */
export const PEER_GROUPS: readonly PeerGroup[] = manifest.groups as readonly PeerGroup[];

/** The name of a program some peer group builds. */
export type PeerName = 'helm' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubeadm' | 'kubectl' | 'etcd' | 'etcdctl' | 'etcdutl' | 'kwok';

/** A program with the group it comes from. */
export interface PeerEntry {
  readonly group: PeerGroup;
  readonly binary: PeerBinary;
}

/** Looks up a program by name; throws on a name no group builds. */
export function peerEntry(name: string): PeerEntry {
  for (const group of PEER_GROUPS) {
    const binary = group.binaries.find((b) => b.name === name);
    if (binary) return { group, binary };
  }
  throw new Error(`no upstream peer is named "${name}"; the peers are ${PEER_GROUPS.flatMap((g) => g.binaries.map((b) => b.name)).join(', ')}`);
}

/**
 * The peers' cache: `KEELSON_PEERS_DIR`, else `~/.cache/keelson/peers`.
 * Holds `bin/`, `stamps/`, and Go's module and build caches (`gomod/`, `gocache/`).
 */
export function peersDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env.KEELSON_PEERS_DIR;
  return set && set.length > 0 ? resolve(set) : join(env.HOME && env.HOME.length > 0 ? env.HOME : homedir(), '.cache', 'keelson', 'peers');
}

/**
 * The environment variable that points a peer at a binary you already have,
 * instead of the built one: `KEELSON_PEER_KUBE_APISERVER=/usr/local/bin/kube-apiserver`.
 * Its version is still checked.
 */
export function peerOverrideVariable(name: string): string {
  return `KEELSON_PEER_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** What a group's stamp records once its binaries were built and checked. */
export interface PeerStamp {
  readonly group: string;
  readonly version: string;
  /** sha256 of the group's manifest entry, its go.mod and go.sum, and the Go version that built it. */
  readonly recipe: string;
  readonly builtAt: string;
  readonly seconds: number;
}

/** Where a program is and whether it was built at the pinned version. */
export interface PeerLocation {
  readonly name: string;
  readonly version: string;
  readonly path: string;
  /** `override`: from `KEELSON_PEER_<NAME>`; `built`: the cache's `bin/`. */
  readonly source: 'override' | 'built';
  /** For built ones: the stamp records this version. Overrides are probed by `probePeer`. */
  readonly stamped: boolean;
  readonly executable: boolean;
}

/** Locates a program without running it. */
export function locatePeer(name: string, env: NodeJS.ProcessEnv = process.env): PeerLocation {
  const { group } = peerEntry(name);
  const override = env[peerOverrideVariable(name)];
  if (override && override.length > 0) {
    return { name, version: group.version, path: resolve(override), source: 'override', stamped: false, executable: isExecutable(override) };
  }
  const dir = peersDir(env);
  const path = join(dir, 'bin', name);
  const stamp = readStamp(dir, group.name);
  return { name, version: group.version, path, source: 'built', stamped: stamp?.version === group.version, executable: isExecutable(path) };
}

/** A group's stamp, or undefined when it was never built (or the stamp is unreadable). */
export function readStamp(dir: string, group: string): PeerStamp | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'stamps', `${group}.json`), 'utf8')) as PeerStamp;
  } catch {
    return undefined;
  }
}

/** A data file a group's build laid down (see `PeerGroup.data`); throws like `requirePeer` when it is missing. */
export function requirePeerData(group: string, name: string, purpose: string, env: NodeJS.ProcessEnv = process.env): string {
  const g = PEER_GROUPS.find((x) => x.name === group);
  if (!g?.data?.some((d) => d.name === name)) throw new Error(`peer group ${group} has no data file ${name}`);
  const path = join(peersDir(env), 'share', group, name);
  if (!existsSync(path)) {
    throw new PeerMissingError(`${purpose} needs ${group} ${g.version}'s ${name}, which is not in ${peersDir(env)}; run \`${PEERS_INSTALL_COMMAND}\``);
  }
  return path;
}

/** How to get the missing peers: the one command, which builds only what is missing. */
export const PEERS_INSTALL_COMMAND = 'node tools/test-prerequisites.mjs --peers-only';

/** Thrown when a test or command needs a peer that is not there. */
export class PeerMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerMissingError';
  }
}

/**
 * The absolute path of a peer at its pinned version, for a test or command
 * that needs it. Never skips: a missing peer is an error that says how to
 * build it (tests that need a real program fail without it).
 */
export function requirePeer(name: PeerName, purpose: string, env: NodeJS.ProcessEnv = process.env): string {
  const where = locatePeer(name, env);
  if (where.source === 'override') {
    if (!where.executable) throw new PeerMissingError(`${purpose} needs ${name} ${where.version}; ${peerOverrideVariable(name)}=${where.path} is not an executable file. Unset it to use the built peer, or point it at ${name} ${where.version}.`);
    return where.path;
  }
  if (!where.executable || !where.stamped) {
    throw new PeerMissingError(
      `${purpose} needs ${name} ${where.version}, which is not built in ${peersDir(env)}; run \`${PEERS_INSTALL_COMMAND}\` (the README's test command does it), or set ${peerOverrideVariable(name)} to a ${name} ${where.version} you already have.`,
    );
  }
  return where.path;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
