import { X509Certificate, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { PlatformSpec } from '@keelson/platform-spec';
import { createDirAtomically, removeLeftoverTempDirs, writeDurably } from './internal/atomic-dir';
import { MANIFEST_FILE, MANIFEST_FORMAT, formatManifest, parseManifest, sha256, type BundleManifest, type ManifestEntry } from './internal/manifest';
import {
  createBootstrapToken,
  BOOTSTRAP_TOKEN,
  createCertificateAuthority,
  createEncryptionKey,
  createKeyPair,
  issueCertificate,
  summarizeCertificate,
  type CertificateMaterial,
  type CertificateSummary,
  type CertificateUsage,
  type KeyAlgorithm,
  type KeyPairPem,
} from './pki';

/** An etcd member's two certificates. */
export interface EtcdMemberCertificates {
  /** Serves clients on 2379. */
  readonly server: CertificateMaterial;
  /** Talks to other members on 2380, both ways. */
  readonly peer: CertificateMaterial;
}

/** The etcd client certificates, one per caller, each with `clientAuth` only. */
export interface EtcdClientCertificates {
  /** kube-apiserver to etcd. */
  readonly apiserver: CertificateMaterial;
  /** etcd snapshots for backups. */
  readonly backup: CertificateMaterial;
  /** Health checks (`/health`). */
  readonly healthcheck: CertificateMaterial;
}

/** Which cluster a bundle belongs to, as its manifest (`bundle.json`) records it. */
export interface BundleIdentity {
  /** `cluster.name` of the config the bundle was made for. */
  readonly clusterName: string;
  /** A random 128-bit id (hex), drawn when the bundle was made or adopted. */
  readonly id: string;
  /** SHA-256 of the Kubernetes CA certificate (DER), lowercase hex. */
  readonly kubernetesCaSha256: string;
}

/** Everything secret the platform needs, as loaded from the bundle folder. */
export interface SecretsBundle {
  readonly dir: string;
  readonly identity: BundleIdentity;
  readonly etcdCa: CertificateMaterial;
  readonly kubernetesCa: CertificateMaterial;
  readonly frontProxyCa: CertificateMaterial;
  /** Signs and verifies service-account tokens. */
  readonly serviceAccount: KeyPairPem;
  /** base64 32-byte key for Secrets at rest in etcd (secretbox). */
  readonly encryptionKey: string;
  /** kubeadm bootstrap token nodes join with (`[a-z0-9]{6}.[a-z0-9]{16}`). */
  readonly bootstrapToken: string;
  /** By member (node) name. */
  readonly members: Readonly<Record<string, EtcdMemberCertificates>>;
  readonly clients: EtcdClientCertificates;
}

/** A bundle problem: what is wrong with which file, and how to fix it. */
export class SecretsBundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsBundleError';
  }
}

/** Where each item lives, relative to the bundle folder (the layout kubeadm uses under /etc/kubernetes/pki). */
export const BUNDLE_LAYOUT = {
  /** The manifest: the cluster's identity and every file's SHA-256 and mode. */
  manifest: MANIFEST_FILE,
  etcdCa: 'etcd/ca',
  kubernetesCa: 'kubernetes/ca',
  frontProxyCa: 'front-proxy/ca',
  serviceAccountKey: 'service-account/sa.key',
  serviceAccountPub: 'service-account/sa.pub',
  encryptionKey: 'encryption/secrets-at-rest.key',
  bootstrapToken: 'kubeadm/bootstrap-token',
  member: (name: string, kind: 'server' | 'peer') => `etcd/members/${name}/${kind}`,
  client: (name: keyof EtcdClientCertificates) => `etcd/clients/${name}`,
} as const;

const CLIENT_NAMES: Record<keyof EtcdClientCertificates, string> = {
  apiserver: 'kube-apiserver-etcd-client',
  backup: 'keelson-etcd-backup',
  healthcheck: 'keelson-etcd-healthcheck',
};

export interface SecretsBundleOptions {
  /** The bundle folder, e.g. `secrets/<cluster>` at the repo root (git-ignored). */
  readonly dir: string;
  readonly spec: PlatformSpec;
  /**
   * Private addresses of members, by name; added to their SANs.
   *
   * A real member needs its address here before it can join: since etcd 3.2
   * a member accepts a peer only when the peer certificate's IP SANs include
   * the connecting address (or its DNS SANs resolve to it). Certificates
   * issued without it work on loopback only.
   * @see https://etcd.io/docs/v3.4/op-guide/security/#notes-for-tls-authentication
   */
  readonly memberAddresses?: Readonly<Record<string, string>>;
  /** @default new Date() */
  readonly now?: Date;
}

/** What {@link openSecretsBundle} returns. */
export interface OpenedSecretsBundle {
  readonly bundle: SecretsBundle;
  /** Relative paths of the key and certificate files this call created (a new bundle, or a new member's certificates). */
  readonly created: string[];
  /** Things a human should know once: a pre-manifest bundle adopted, a leftover of an interrupted creation removed. */
  readonly notices: string[];
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Refuses a bundle that others can read, or that git would commit.
 *
 * Every folder must be 0700 and every file 0600 (no group or other bits).
 */
export function checkBundlePermissions(dir: string): void {
  const loose: string[] = [];
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) throw new SecretsBundleError(`secrets bundle: ${path} is a symbolic link; keep real files in the bundle so their modes mean something`);
    if ((st.mode & 0o077) !== 0) loose.push(`${relative(dir, path) || '.'} (${octal(st.mode)})`);
    if (st.isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
  };
  walk(dir);
  if (loose.length > 0) {
    throw new SecretsBundleError(
      `secrets bundle ${dir}: ${loose.length} path${loose.length === 1 ? ' is' : 's are'} readable by others: ${loose.slice(0, 5).join(', ')}${loose.length > 5 ? ', ...' : ''}. ` +
        `It holds private keys; folders must be 0700 and files 0600. Fix: chmod -R go-rwx ${dir}`,
    );
  }
}

/** Refuses a bundle folder inside a git work tree that git does not ignore (one `git check-ignore`). */
function checkGitIgnored(dir: string): void {
  // No .git above the folder (and no GIT_DIR or GIT_WORK_TREE pointing elsewhere): no work tree holds it, and no git process is needed.
  if (!insideGitCheckout(existingAncestor(dir)) && !process.env.GIT_DIR && !process.env.GIT_WORK_TREE) return;
  const r = spawnSync('git', ['-C', existingAncestor(dir), 'check-ignore', '-q', '--no-index', dir], { stdio: 'ignore' });
  // 0: ignored; 1: inside a work tree and not ignored; anything else: no work tree (or no git).
  if (r.status !== 1) return;
  const top = spawnSync('git', ['-C', existingAncestor(dir), 'rev-parse', '--show-toplevel'], { encoding: 'utf8' }).stdout.trim();
  throw new SecretsBundleError(
    `secrets bundle ${dir} is inside the git repository ${top} and not ignored; it would be committed. Fix: add "/${relative(top, dir)}/" to .gitignore, or pass --secrets with a folder outside the repository`,
  );
}

/** Whether `dir` or a folder above it holds `.git` (a folder, or the file of a linked work tree or submodule). */
function insideGitCheckout(dir: string): boolean {
  for (let p = dir; ; p = dirname(p)) {
    if (existsSync(join(p, '.git'))) return true;
    if (dirname(p) === p) return false;
  }
}

function existingAncestor(path: string): string {
  let p = path;
  while (!existsSync(p)) p = dirname(p);
  return p;
}

/** Writes a new file with mode 0600, refusing to replace an existing one (write to a temp name, then hard-link). */
function writeNew(dir: string, rel: string, content: string): void {
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  writeDurably(tmp, content, 0o600);
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SecretsBundleError(`secrets bundle: ${path} already exists; refusing to overwrite it. Move it away if you mean to replace it`);
    }
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Replaces a file on purpose (rotation, the manifest), atomically. */
function replace(dir: string, rel: string, content: string): void {
  const path = join(dir, rel);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, path);
}

/** What the README calls the section on restoring; every refusal points there. */
const README_SECTION = 'README.md, "The secrets bundle"';

/** The three CAs: bundle path, and the subject they are created with. */
const CAS = [
  { base: BUNDLE_LAYOUT.etcdCa, suffix: 'etcd-ca' },
  { base: BUNDLE_LAYOUT.kubernetesCa, suffix: 'kubernetes-ca' },
  { base: BUNDLE_LAYOUT.frontProxyCa, suffix: 'front-proxy-ca' },
] as const;

/**
 * Files whose loss or change a running cluster cannot absorb: the CAs every
 * node and kubeconfig trusts, the key that signed every service-account
 * token, the key Secrets in etcd are encrypted with, the token in every
 * node's Ignition. None is ever made anew in an existing bundle.
 */
const ROOT_FILES = [
  ...CAS.flatMap((c) => [`${c.base}.crt`, `${c.base}.key`]),
  BUNDLE_LAYOUT.serviceAccountKey,
  BUNDLE_LAYOUT.serviceAccountPub,
  BUNDLE_LAYOUT.encryptionKey,
  BUNDLE_LAYOUT.bootstrapToken,
];
const CLIENT_KEYS = Object.keys(CLIENT_NAMES) as Array<keyof EtcdClientCertificates>;
const pairFiles = (base: string) => [`${base}.crt`, `${base}.key`];
const memberBases = (name: string) => [BUNDLE_LAYOUT.member(name, 'server'), BUNDLE_LAYOUT.member(name, 'peer')];
const CLIENT_FILES = CLIENT_KEYS.flatMap((c) => pairFiles(BUNDLE_LAYOUT.client(c)));
/** Leaves: etcd certificates under the etcd CA, which `pki rotate` reissues. */
const isLeafFile = (file: string) => file.startsWith('etcd/members/') || file.startsWith('etcd/clients/');

/**
 * How a problem can be fixed, worst first: a file of another cluster; a root
 * file (restore only); a folder that is not a whole bundle; an etcd
 * certificate of a controller no longer in the config (`pki rotate` does not
 * issue those); an etcd certificate (`pki rotate` reissues it under the
 * intact etcd CA).
 */
type ProblemKind = 'foreign' | 'root' | 'incomplete' | 'stray' | 'leaf';

interface Problem {
  readonly file: string;
  readonly what: string;
  readonly kind: ProblemKind;
}

const FIXES: Record<ProblemKind, string> = {
  foreign:
    `Fix: this folder holds another cluster's keys. Point --secrets at the bundle of the cluster in the config (by default secrets/<cluster name>), or restore this cluster's folder from its backup (${README_SECTION}).`,
  root:
    `Fix: restore the folder from its backup (${README_SECTION}). Keelson never makes a new CA, service-account key, encryption key or bootstrap token in an existing bundle: ` +
    'the running cluster\'s nodes and kubeconfigs trust only the originals, tokens and Secrets in etcd are readable only with the original keys, and keelson pki rotate would reissue etcd certificates under whatever CA the folder holds now. ' +
    'Only if this cluster was never deployed: move the folder away and run again to create a new bundle.',
  incomplete:
    `Fix: bundle.json is missing and the folder is not a whole bundle: a first creation that was interrupted, or deleted files. Restore the folder from its backup (${README_SECTION}); ` +
    'if this cluster was never deployed, move the folder away and run again to create a new bundle.',
  stray:
    `Fix: keelson pki rotate issues certificates for the controllers of the config only. If that controller is gone, move its etcd/members/<name>/ folder out of the bundle; otherwise restore the folder from its backup (${README_SECTION}).`,
  leaf: `Fix: keelson pki rotate reissues these etcd certificates under the bundle's etcd CA, which is intact (no node needs replacing); or restore the folder from its backup (${README_SECTION}).`,
};

const SEVERITY: readonly ProblemKind[] = ['foreign', 'root', 'incomplete', 'stray', 'leaf'];

function refusal(dir: string, problems: readonly Problem[], fix?: string): SecretsBundleError {
  const shown = 12;
  const worst = SEVERITY.find((k) => problems.some((p) => p.kind === k)) ?? 'root';
  // Causes first: a foreign or root file explains the leaves that follow it.
  const sorted = [...problems].sort((a, b) => SEVERITY.indexOf(a.kind) - SEVERITY.indexOf(b.kind));
  return new SecretsBundleError(
    [
      `secrets bundle ${dir}: refused, nothing was written (${problems.length} problem${problems.length === 1 ? '' : 's'}):`,
      ...sorted.slice(0, shown).map((p) => `  ${p.file}: ${p.what}`),
      ...(problems.length > shown ? [`  ... and ${problems.length - shown} more`] : []),
      fix ?? FIXES[worst],
    ].join('\n'),
  );
}

const parseCert = (pem: string): X509Certificate | undefined => {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
};
const parsePrivateKey = (pem: string): KeyObject | undefined => {
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
};
const parsePublicKey = (pem: string): KeyObject | undefined => {
  try {
    return createPublicKey(pem);
  } catch {
    return undefined;
  }
};
const spki = (key: KeyObject) => (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });

const EXPECTED_USAGES: Record<CertificateUsage, string[]> = {
  client: ['1.3.6.1.5.5.7.3.2'],
  server: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
  peer: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
};

/** Everything learnt about a bundle folder without writing to it. */
interface Inspection {
  readonly problems: Problem[];
  /** Absent when the bundle predates manifests. */
  readonly manifest?: BundleManifest;
  /** Contents of the bundle's files that exist, by relative path. */
  readonly contents: ReadonlyMap<string, string>;
  /** Members of the config with no file and no manifest entry yet: their certificates are to be issued. */
  readonly newMembers: readonly string[];
}

function membersOnDisk(dir: string): string[] {
  const path = join(dir, 'etcd/members');
  return existsSync(path) ? readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
}

/**
 * Reads the bundle and checks all of it; writes nothing.
 *
 * With a manifest: every recorded file must exist with the recorded SHA-256,
 * and every bundle file must be recorded. Without one (a bundle from before
 * manifests): every root file and client certificate must exist. Then, in
 * both cases, the contents: certificates parse, keys match their
 * certificates, CAs are this cluster's CAs, leaves are signed by the etcd CA.
 */
function inspectBundle(dir: string, options: SecretsBundleOptions): Inspection {
  const cluster = options.spec.config.cluster.name;
  const problems: Problem[] = [];
  const add = (file: string, what: string, kind: ProblemKind) => problems.push({ file, what, kind });
  const contents = new Map<string, string>();
  const empty = { problems, contents, newMembers: [] };

  let manifest: BundleManifest | undefined;
  if (existsSync(join(dir, MANIFEST_FILE))) {
    const parsed = parseManifest(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
    if (typeof parsed === 'string') {
      add(MANIFEST_FILE, parsed, 'root');
      return empty;
    }
    manifest = parsed;
    if (manifest.cluster.name !== cluster) {
      add(MANIFEST_FILE, `belongs to cluster "${manifest.cluster.name}" (id ${manifest.cluster.id}), not to "${cluster}" of the config`, 'foreign');
      return empty;
    }
  }

  const configMembers = options.spec.topology.controllers.map((n) => n.name);
  const recordedMembers = Object.keys(manifest?.files ?? {}).flatMap((f) => /^etcd\/members\/([^/]+)\//.exec(f)?.[1] ?? []);
  const members = [...new Set([...configMembers, ...recordedMembers, ...membersOnDisk(dir)])];
  const memberFiles = (name: string) => memberBases(name).flatMap(pairFiles);
  const known = [...ROOT_FILES, ...CLIENT_FILES, ...members.flatMap(memberFiles)];
  const exists = (file: string) => contents.has(file);
  for (const file of known) if (existsSync(join(dir, file))) contents.set(file, readFileSync(join(dir, file), 'utf8'));
  const stray = (file: string) => !configMembers.some((m) => file.startsWith(`etcd/members/${m}/`)) && file.startsWith('etcd/members/');
  const kindOf = (file: string): ProblemKind => (stray(file) ? 'stray' : isLeafFile(file) ? 'leaf' : 'root');
  // A new member: in the config, nothing on disk, nothing recorded. Anything else missing was lost.
  const newMembers = configMembers.filter((m) => memberFiles(m).every((f) => !exists(f) && !manifest?.files[f]));

  if (manifest) {
    const differing = Object.entries(manifest.files).filter(([file, entry]) => !existsSync(join(dir, file)) || sha256(readFileSync(join(dir, file))) !== entry.sha256);
    const caCert = parseCert(contents.get(`${BUNDLE_LAYOUT.kubernetesCa}.crt`) ?? '');
    // Not one file as it records, and another Kubernetes CA: the manifest was copied from another cluster of the same name.
    if (differing.length === Object.keys(manifest.files).length && caCert && sha256(caCert.raw) !== manifest.cluster.kubernetesCaSha256) {
      add(
        MANIFEST_FILE,
        `belongs to another cluster: it records the Kubernetes CA sha256 ${manifest.cluster.kubernetesCaSha256} (cluster id ${manifest.cluster.id}), kubernetes/ca.crt here has ${sha256(caCert.raw)}, and no file of the folder is as it records`,
        'foreign',
      );
      return { ...empty, manifest };
    }
    for (const [file, entry] of Object.entries(manifest.files)) {
      const path = join(dir, file);
      if (!existsSync(path)) {
        add(file, `missing (bundle.json records sha256 ${entry.sha256})`, kindOf(file));
        continue;
      }
      const found = sha256(readFileSync(path));
      if (found !== entry.sha256) add(file, `changed: bundle.json records sha256 ${entry.sha256}, the file has ${found}${foreignNote(file, contents.get(file), cluster)}`, kindOf(file));
      const mode = statSync(path).mode & 0o777;
      if ((mode & ~parseInt(entry.mode, 8)) !== 0) add(file, `mode ${octal(mode)}, bundle.json records ${entry.mode}; chmod ${entry.mode} it`, kindOf(file));
    }
    for (const file of known) {
      if (manifest.files[file] || newMembers.some((m) => memberFiles(m).includes(file))) continue;
      if (exists(file)) add(file, `not recorded in bundle.json: the bundle did not make this file${foreignNote(file, contents.get(file), cluster)}`, kindOf(file));
      else add(file, 'missing (and not recorded in bundle.json)', kindOf(file));
    }
  } else {
    for (const file of [...ROOT_FILES, ...CLIENT_FILES]) if (!exists(file)) add(file, 'missing', 'incomplete');
    for (const m of members.filter((m) => !newMembers.includes(m))) for (const file of memberFiles(m)) if (!exists(file)) add(file, 'missing', 'incomplete');
  }

  // Every file exactly as bundle.json recorded it when the bundle was made or
  // last changed, after these same checks passed: only time can have changed
  // anything, so only expiry is checked (parsing and verifying every key and
  // signature again took most of a synth's bundle time).
  if (manifest && problems.length === 0 && newMembers.length === 0) {
    for (const [file, text] of contents) {
      if (!file.endsWith('.crt')) continue;
      const cert = parseCert(text);
      if (cert && new Date(cert.validTo) < new Date()) add(file, `expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}${isLeafFile(file) ? '' : '; the CA must be replaced, and every node with it'}`, kindOf(file));
    }
    return { problems, manifest, contents, newMembers };
  }

  // Contents. Each check runs on the files that exist; a missing one is reported above.
  const cas = new Map<string, X509Certificate>();
  for (const { base, suffix } of CAS) {
    const [crt, key] = pairFiles(base);
    const cert = exists(crt) ? parseCert(contents.get(crt)!) : undefined;
    const privateKey = exists(key) ? parsePrivateKey(contents.get(key)!) : undefined;
    if (exists(crt) && !cert) add(crt, 'is not a PEM certificate', 'root');
    if (exists(key) && !privateKey) add(key, 'is not a PEM private key', 'root');
    if (!cert) continue;
    const before = problems.length;
    const damaged = !cert.verify(cert.publicKey);
    if (!cert.ca) add(crt, 'is not a CA certificate', 'root');
    else if (damaged) add(crt, 'is damaged: its self-signature does not verify', 'root');
    const other = /^CN=(.+)-(etcd|kubernetes|front-proxy)-ca$/.exec(cert.subject);
    if (!damaged && cert.subject !== `CN=${cluster}-${suffix}`) {
      if (other && other[1] !== cluster) add(crt, `belongs to cluster "${other[1]}" (subject ${cert.subject}), not to "${cluster}" of the config`, 'foreign');
      else add(crt, `has subject ${cert.subject}; this cluster's is CN=${cluster}-${suffix}`, 'root');
    }
    if (privateKey && !cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki(privateKey))) add(key, `does not belong to ${crt}`, 'root');
    if (new Date(cert.validTo) < new Date()) add(crt, `expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}; the CA must be replaced, and every node with it`, 'root');
    if (problems.length === before && !problems.some((p) => p.file === crt || p.file === key)) cas.set(base, cert);
  }
  if (manifest && cas.has(BUNDLE_LAYOUT.kubernetesCa)) {
    const found = sha256(cas.get(BUNDLE_LAYOUT.kubernetesCa)!.raw);
    if (found !== manifest.cluster.kubernetesCaSha256) {
      add(MANIFEST_FILE, `belongs to another cluster: it records the Kubernetes CA sha256 ${manifest.cluster.kubernetesCaSha256} (cluster id ${manifest.cluster.id}), kubernetes/ca.crt here has ${found}`, 'foreign');
    }
  }

  const [saKey, saPub] = [BUNDLE_LAYOUT.serviceAccountKey, BUNDLE_LAYOUT.serviceAccountPub];
  const saPrivate = exists(saKey) ? parsePrivateKey(contents.get(saKey)!) : undefined;
  const saPublic = exists(saPub) ? parsePublicKey(contents.get(saPub)!) : undefined;
  if (exists(saKey) && !saPrivate) add(saKey, 'is not a PEM private key', 'root');
  if (exists(saPub) && !saPublic) add(saPub, 'is not a PEM public key', 'root');
  if (saPrivate && saPublic && !spki(saPublic).equals(spki(saPrivate))) add(saPub, `does not belong to ${saKey}`, 'root');
  const encryption = contents.get(BUNDLE_LAYOUT.encryptionKey);
  if (encryption !== undefined && Buffer.from(encryption.trim(), 'base64').length !== 32) {
    add(BUNDLE_LAYOUT.encryptionKey, 'is not a base64 32-byte key (without the original, Secrets in etcd cannot be read)', 'root');
  }
  const token = contents.get(BUNDLE_LAYOUT.bootstrapToken);
  if (token !== undefined && !BOOTSTRAP_TOKEN.test(token.trim())) add(BUNDLE_LAYOUT.bootstrapToken, 'is not a kubeadm token ([a-z0-9]{6}.[a-z0-9]{16})', 'root');

  const etcdCa = cas.get(BUNDLE_LAYOUT.etcdCa);
  const leaves = [
    ...CLIENT_KEYS.map((c) => ({ base: BUNDLE_LAYOUT.client(c), usage: 'client' as const })),
    ...members.flatMap((m) => [
      { base: BUNDLE_LAYOUT.member(m, 'server'), usage: 'server' as const },
      { base: BUNDLE_LAYOUT.member(m, 'peer'), usage: 'peer' as const },
    ]),
  ];
  let checked = 0;
  let unsigned = 0;
  for (const { base, usage } of leaves) {
    const [crt, key] = pairFiles(base);
    const cert = exists(crt) ? parseCert(contents.get(crt)!) : undefined;
    const privateKey = exists(key) ? parsePrivateKey(contents.get(key)!) : undefined;
    if (exists(crt) && !cert) add(crt, 'is not a PEM certificate', kindOf(crt));
    if (exists(key) && !privateKey) add(key, 'is not a PEM private key', kindOf(key));
    if (!cert) continue;
    if (cert.ca) add(crt, 'is a CA certificate where a leaf belongs', kindOf(crt));
    if (privateKey && !cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki(privateKey))) add(key, `does not belong to ${crt}`, kindOf(crt));
    if (etcdCa) {
      checked++;
      if (!cert.verify(etcdCa.publicKey)) {
        unsigned++;
        add(crt, `is not signed by ${BUNDLE_LAYOUT.etcdCa}.crt`, kindOf(crt));
      }
    }
    if (JSON.stringify(cert.keyUsage ?? []) !== JSON.stringify(EXPECTED_USAGES[usage])) {
      add(crt, `has extended key usages ${JSON.stringify(cert.keyUsage ?? [])}, not those of a ${usage} certificate`, kindOf(crt));
    }
    if (new Date(cert.validTo) < new Date()) add(crt, `expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}`, kindOf(crt));
  }
  // Without a manifest nothing says which side is wrong; when the etcd CA
  // signs none of the leaves it is the CA that was swapped, and reissuing the
  // leaves under it would lock out every running etcd member.
  if (!manifest && checked > 0 && unsigned === checked) {
    problems.splice(0, problems.length, ...problems.filter((p) => !p.what.startsWith('is not signed by')));
    add(`${BUNDLE_LAYOUT.etcdCa}.crt`, `signs none of the bundle's ${checked} etcd certificates: it is not the CA they were issued under`, 'root');
  }
  return { problems, manifest, contents, newMembers };
}

/** Says which cluster a changed or unrecorded CA certificate comes from, when its subject names one. */
function foreignNote(file: string, content: string | undefined, cluster: string): string {
  if (!content || !CAS.some((c) => file === `${c.base}.crt`)) return '';
  const other = /^CN=(.+)-(?:etcd|kubernetes|front-proxy)-ca$/.exec(parseCert(content)?.subject ?? '');
  return other && other[1] !== cluster ? `; it belongs to cluster "${other[1]}"` : '';
}

/** SANs of a member: its name, its private address when known, and loopback for local health checks. */
function memberSans(name: string, address?: string) {
  return { dnsNames: [name, 'localhost'], ipAddresses: ['127.0.0.1', ...(address ? [address] : [])] };
}

interface Plan {
  readonly algorithm: KeyAlgorithm;
  readonly caDays: number;
  readonly leafDays: number;
  readonly now: Date;
}

const planOf = (options: SecretsBundleOptions): Plan => ({
  algorithm: options.spec.config.pki.keyAlgorithm,
  caDays: options.spec.config.pki.caValidityDays,
  leafDays: options.spec.config.pki.leafValidityDays,
  now: options.now ?? new Date(),
});

async function leaf(ca: CertificateMaterial, plan: Plan, commonName: string, usage: CertificateUsage, sans: { dnsNames?: string[]; ipAddresses?: string[] } = {}) {
  return issueCertificate(ca, { commonName, usage, ...sans, validity: { days: plan.leafDays }, algorithm: plan.algorithm, now: plan.now });
}

/** A member's server and peer certificates, keeping the SANs of `old` when it has them. */
async function memberPair(etcdCa: CertificateMaterial, plan: Plan, name: string, options: SecretsBundleOptions, old?: string): Promise<Array<[string, CertificateMaterial]>> {
  const summary = old && parseCert(old) ? summarizeCertificate(old) : undefined;
  // The old SANs carry the member's address; a certificate of another name (a copied file) is not this member's.
  const sans = summary && summary.subject === `CN=${name}` ? { dnsNames: [...summary.dnsNames], ipAddresses: [...summary.ipAddresses] } : memberSans(name, options.memberAddresses?.[name]);
  return [
    [BUNDLE_LAYOUT.member(name, 'server'), await leaf(etcdCa, plan, name, 'server', sans)],
    [BUNDLE_LAYOUT.member(name, 'peer'), await leaf(etcdCa, plan, name, 'peer', sans)],
  ];
}

const entryOf = (content: string): ManifestEntry => ({ sha256: sha256(content), mode: '0600' });

/** The manifest of `contents`, keeping the identity of `previous` (or drawing a new id). */
function manifestOf(cluster: string, contents: ReadonlyMap<string, string>, previous?: BundleManifest): BundleManifest {
  const files: Record<string, ManifestEntry> = {};
  for (const [file, content] of contents) files[file] = entryOf(content);
  return {
    format: MANIFEST_FORMAT,
    cluster: previous?.cluster ?? { name: cluster, id: randomBytes(16).toString('hex'), kubernetesCaSha256: sha256(new X509Certificate(contents.get(`${BUNDLE_LAYOUT.kubernetesCa}.crt`)!).raw) },
    files,
  };
}

const identityOf = (m: BundleManifest): BundleIdentity => ({ clusterName: m.cluster.name, id: m.cluster.id, kubernetesCaSha256: m.cluster.kubernetesCaSha256 });

/** The bundle as callers see it, from file contents that passed {@link inspectBundle}. */
function bundleOf(dir: string, spec: PlatformSpec, contents: ReadonlyMap<string, string>, manifest: BundleManifest): SecretsBundle {
  const get = (file: string) => contents.get(file)!;
  const pair = (base: string): CertificateMaterial => ({ certPem: get(`${base}.crt`), keyPem: get(`${base}.key`) });
  const members: Record<string, EtcdMemberCertificates> = {};
  for (const node of spec.topology.controllers) members[node.name] = { server: pair(BUNDLE_LAYOUT.member(node.name, 'server')), peer: pair(BUNDLE_LAYOUT.member(node.name, 'peer')) };
  return {
    dir,
    identity: identityOf(manifest),
    etcdCa: pair(BUNDLE_LAYOUT.etcdCa),
    kubernetesCa: pair(BUNDLE_LAYOUT.kubernetesCa),
    frontProxyCa: pair(BUNDLE_LAYOUT.frontProxyCa),
    serviceAccount: { privateKeyPem: get(BUNDLE_LAYOUT.serviceAccountKey), publicKeyPem: get(BUNDLE_LAYOUT.serviceAccountPub) },
    encryptionKey: get(BUNDLE_LAYOUT.encryptionKey).trim(),
    bootstrapToken: get(BUNDLE_LAYOUT.bootstrapToken).trim(),
    members,
    clients: { apiserver: pair(BUNDLE_LAYOUT.client('apiserver')), backup: pair(BUNDLE_LAYOUT.client('backup')), healthcheck: pair(BUNDLE_LAYOUT.client('healthcheck')) },
  };
}

/** Every file of a new bundle, in memory. */
async function newBundleFiles(options: SecretsBundleOptions): Promise<Map<string, string>> {
  const plan = planOf(options);
  const cluster = options.spec.config.cluster.name;
  const files = new Map<string, string>();
  const put = (base: string, m: CertificateMaterial) => files.set(`${base}.key`, m.keyPem).set(`${base}.crt`, m.certPem);
  const cas: Record<string, CertificateMaterial> = {};
  for (const { base, suffix } of CAS) {
    cas[base] = await createCertificateAuthority({ commonName: `${cluster}-${suffix}`, validity: { days: plan.caDays }, algorithm: plan.algorithm, now: plan.now });
    put(base, cas[base]);
  }
  const sa = await createKeyPair(plan.algorithm);
  files.set(BUNDLE_LAYOUT.serviceAccountKey, sa.privateKeyPem).set(BUNDLE_LAYOUT.serviceAccountPub, sa.publicKeyPem);
  files.set(BUNDLE_LAYOUT.encryptionKey, `${createEncryptionKey()}\n`).set(BUNDLE_LAYOUT.bootstrapToken, `${createBootstrapToken()}\n`);
  const etcdCa = cas[BUNDLE_LAYOUT.etcdCa];
  for (const node of options.spec.topology.controllers) for (const [base, m] of await memberPair(etcdCa, plan, node.name, options)) put(base, m);
  for (const c of CLIENT_KEYS) put(BUNDLE_LAYOUT.client(c), await leaf(etcdCa, plan, CLIENT_NAMES[c], 'client'));
  return files;
}

/** Bundle files, the stamp of earlier versions and the manifest: what makes a folder a bundle. */
function holdsBundleFiles(dir: string): boolean {
  return [MANIFEST_FILE, '.verified', ...ROOT_FILES, ...CLIENT_FILES].some((f) => existsSync(join(dir, f))) || membersOnDisk(dir).length > 0;
}

/**
 * Opens the secrets bundle, creating it on first use.
 *
 * A new bundle is built whole in a sibling temp folder and renamed into
 * place, with `bundle.json`: the cluster's identity and every file's SHA-256.
 * An existing bundle is checked in full before anything is written: a
 * missing, changed, unrecorded or foreign file is refused with the fix, and
 * nothing in it is ever made anew; only a member the config added gets its
 * certificates. A bundle from before manifests is adopted once (see
 * `notices`).
 */
export async function openSecretsBundle(options: SecretsBundleOptions): Promise<OpenedSecretsBundle> {
  const { dir } = options;
  const cluster = options.spec.config.cluster.name;
  checkGitIgnored(dir);
  const notices = removeLeftoverTempDirs(dir).map(
    (e) => `secrets bundle: removed ${join(dirname(dir), e)}, left by a creation of the bundle that was interrupted; it was never used`,
  );
  if (!existsSync(dir) || readdirSync(dir).length === 0) {
    const files = await newBundleFiles(options);
    const manifest = manifestOf(cluster, files);
    const written = createDirAtomically(dir, [...[...files].map(([path, content]) => ({ path, content })), { path: MANIFEST_FILE, content: formatManifest(manifest) }]);
    if (!written) throw new SecretsBundleError(`secrets bundle ${dir} was created by another keelson command while this one was creating it; nothing of this run was kept: run the command again`);
    return { bundle: bundleOf(dir, options.spec, files, manifest), created: [...files.keys()], notices };
  }
  checkBundlePermissions(dir);
  if (!holdsBundleFiles(dir)) {
    throw new SecretsBundleError(
      `secrets bundle ${dir}: the folder holds ${readdirSync(dir).join(', ')} but no bundle; a new bundle is created only in a missing or empty folder. Fix: move those files away, or pass --secrets with another folder`,
    );
  }
  const inspection = inspectBundle(dir, options);
  if (inspection.problems.length > 0) throw refusal(dir, inspection.problems);

  const contents = new Map(inspection.contents);
  const created: string[] = [];
  const etcdCa = { certPem: contents.get(`${BUNDLE_LAYOUT.etcdCa}.crt`)!, keyPem: contents.get(`${BUNDLE_LAYOUT.etcdCa}.key`)! };
  const issued = (await Promise.all(inspection.newMembers.map((m) => memberPair(etcdCa, planOf(options), m, options)))).flat();
  for (const [base, m] of issued) {
    for (const [file, content] of [[`${base}.key`, m.keyPem], [`${base}.crt`, m.certPem]]) {
      writeNew(dir, file, content);
      contents.set(file, content);
      created.push(file);
    }
  }
  const manifest = manifestOf(cluster, contents, inspection.manifest);
  if (!inspection.manifest || created.length > 0) replace(dir, MANIFEST_FILE, formatManifest(manifest));
  if (!inspection.manifest) {
    // The stamp of earlier versions; the manifest does its job now.
    rmSync(join(dir, '.verified'), { force: true });
    notices.push(
      `secrets bundle ${dir}: adopted a bundle from before bundle.json: its ${inspection.contents.size} files were checked (certificates parse, keys match, CAs are this cluster's, leaves are signed by the etcd CA) ` +
        `and bundle.json now records their SHA-256 and cluster "${cluster}" (id ${manifest.cluster.id}); from now on a missing, changed or foreign file is refused. Back the folder up again`,
    );
  }
  return { bundle: bundleOf(dir, options.spec, contents, manifest), created, notices };
}

/** One certificate of the bundle, for `keelson pki show`. */
export interface BundleCertificate extends CertificateSummary {
  /** Path in the bundle without extension, e.g. `etcd/members/keelson-controller-1/server`. */
  readonly id: string;
  readonly daysLeft: number;
}

/** Lists every certificate in the bundle with its expiry, soonest first. */
export function listBundleCertificates(bundle: SecretsBundle, now = new Date()): BundleCertificate[] {
  const out: BundleCertificate[] = [];
  const add = (id: string, m: CertificateMaterial) => {
    const s = summarizeCertificate(m.certPem);
    out.push({ id, ...s, daysLeft: Math.floor((s.notAfter.getTime() - now.getTime()) / 86_400_000) });
  };
  add(BUNDLE_LAYOUT.etcdCa, bundle.etcdCa);
  add(BUNDLE_LAYOUT.kubernetesCa, bundle.kubernetesCa);
  add(BUNDLE_LAYOUT.frontProxyCa, bundle.frontProxyCa);
  for (const [name, m] of Object.entries(bundle.members)) {
    add(BUNDLE_LAYOUT.member(name, 'server'), m.server);
    add(BUNDLE_LAYOUT.member(name, 'peer'), m.peer);
  }
  for (const name of Object.keys(bundle.clients) as Array<keyof EtcdClientCertificates>) add(BUNDLE_LAYOUT.client(name), bundle.clients[name]);
  return out;
}

/** Days below which `pki show` warns. */
export const EXPIRY_WARNING_DAYS = 30;

export interface RotateOptions extends SecretsBundleOptions {
  /**
   * Rotate only these members' certificates.
   * @default - every member and every client certificate
   */
  readonly members?: readonly string[];
}

export interface RotateResult {
  /** Bundle paths (without extension) of the certificates reissued. */
  readonly rotated: readonly string[];
  /** As {@link OpenedSecretsBundle.notices}. */
  readonly notices: readonly string[];
}

/**
 * Reissues the bundle's leaf certificates (fresh keys) under the same CAs.
 * CAs, the service-account key and the encryption key are kept. These leaves
 * serve the operator's tools (backups, health checks, the membership helper);
 * nodes issue their own certificates from the CAs with kubeadm, so no node
 * needs replacing for a rotation.
 *
 * The bundle is checked as {@link openSecretsBundle} checks it, except that
 * the leaves being reissued may be missing, changed or expired (this is how
 * they are repaired); anything else wrong is refused before writing.
 */
export async function rotateLeafCertificates(options: RotateOptions): Promise<RotateResult> {
  const { dir } = options;
  const cluster = options.spec.config.cluster.name;
  const plan = planOf(options);
  const known = options.spec.topology.controllers.map((n) => n.name);
  const unknown = (options.members ?? []).filter((m) => !known.includes(m));
  if (unknown.length > 0) {
    throw new SecretsBundleError(`pki rotate: no etcd member named ${unknown.join(', ')}; members are ${known.join(', ')}`);
  }
  checkGitIgnored(dir);
  if (!existsSync(dir) || !holdsBundleFiles(dir)) {
    throw new SecretsBundleError(`pki rotate: ${dir} holds no secrets bundle; keelson synth or keelson pki show creates one`);
  }
  checkBundlePermissions(dir);
  const members = options.members ?? known;
  const bases = [...members.flatMap(memberBases), ...(options.members ? [] : CLIENT_KEYS.map((c) => BUNDLE_LAYOUT.client(c)))];
  const inspection = inspectBundle(dir, options);
  const repaired = new Set([...bases, ...inspection.newMembers.flatMap(memberBases)].flatMap(pairFiles));
  const blocking = inspection.problems.filter((p) => !(p.kind === 'leaf' && repaired.has(p.file)));
  // The etcd CA must be sound before anything is issued under it.
  if (blocking.length > 0) {
    const leafOnly = blocking.every((p) => p.kind === 'leaf');
    throw refusal(dir, blocking, leafOnly && options.members ? `Fix: run keelson pki rotate without --member, which reissues these too; or restore the folder from its backup (${README_SECTION}).` : undefined);
  }
  const contents = new Map(inspection.contents);
  const etcdCa = { certPem: contents.get(`${BUNDLE_LAYOUT.etcdCa}.crt`)!, keyPem: contents.get(`${BUNDLE_LAYOUT.etcdCa}.key`)! };
  const fresh: Array<[string, CertificateMaterial]> = [];
  for (const name of [...new Set([...members, ...inspection.newMembers])]) {
    fresh.push(...(await memberPair(etcdCa, plan, name, options, contents.get(`${BUNDLE_LAYOUT.member(name, 'server')}.crt`))));
  }
  if (!options.members) for (const c of CLIENT_KEYS) fresh.push([BUNDLE_LAYOUT.client(c), await leaf(etcdCa, plan, CLIENT_NAMES[c], 'client')]);
  for (const [base, m] of fresh) {
    mkdirSync(join(dir, dirname(base)), { recursive: true, mode: 0o700 });
    // Key first; a kill before the manifest is written leaves files that differ from it, which the next rotate repairs.
    replace(dir, `${base}.key`, m.keyPem);
    replace(dir, `${base}.crt`, m.certPem);
    contents.set(`${base}.key`, m.keyPem).set(`${base}.crt`, m.certPem);
  }
  const manifest = manifestOf(cluster, contents, inspection.manifest);
  replace(dir, MANIFEST_FILE, formatManifest(manifest));
  const notices: string[] = [];
  if (!inspection.manifest) {
    rmSync(join(dir, '.verified'), { force: true });
    notices.push(`secrets bundle ${dir}: adopted a bundle from before bundle.json; bundle.json now records every file's SHA-256 and cluster "${cluster}" (id ${manifest.cluster.id}). Back the folder up again`);
  }
  return { rotated: fresh.map(([base]) => base).filter((b) => bases.includes(b)), notices };
}
