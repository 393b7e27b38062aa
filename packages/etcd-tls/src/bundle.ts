import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { PlatformSpec } from '@keelson/platform-spec';
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

/** Everything secret the platform needs, as loaded from the bundle folder. */
export interface SecretsBundle {
  readonly dir: string;
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
  const r = spawnSync('git', ['-C', existingAncestor(dir), 'check-ignore', '-q', '--no-index', dir], { stdio: 'ignore' });
  // 0: ignored; 1: inside a work tree and not ignored; anything else: no work tree (or no git).
  if (r.status !== 1) return;
  const top = spawnSync('git', ['-C', existingAncestor(dir), 'rev-parse', '--show-toplevel'], { encoding: 'utf8' }).stdout.trim();
  throw new SecretsBundleError(
    `secrets bundle ${dir} is inside the git repository ${top} and not ignored; it would be committed. Fix: add "/${relative(top, dir)}/" to .gitignore, or pass --secrets with a folder outside the repository`,
  );
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
  writeFileSync(tmp, content, { mode: 0o600 });
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

/** Replaces a file on purpose (rotation), atomically. */
function replace(dir: string, rel: string, content: string): void {
  const path = join(dir, rel);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, path);
}

const read = (dir: string, rel: string) => readFileSync(join(dir, rel), 'utf8');

/** Records the digest of a bundle whose pairs and signatures were all checked. */
const VERIFIED_STAMP = '.verified';

/** sha256 over every file of the bundle (name and content), the stamp excepted. */
function bundleDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else if (path !== VERIFIED_STAMP) hash.update(`${path}\0`).update(readFileSync(join(dir, path))).update('\0');
    }
  };
  walk('');
  return `${hash.digest('hex')}\n`;
}

/** Checks that a certificate and its key belong together and that the certificate chains to `ca`. */
function checkPair(dir: string, base: string, ca: CertificateMaterial | undefined, verified: boolean, usage?: CertificateUsage): CertificateMaterial {
  const [crt, key] = [`${base}.crt`, `${base}.key`];
  const missing = [crt, key].filter((f) => !existsSync(join(dir, f)));
  if (missing.length === 1) {
    throw new SecretsBundleError(
      `secrets bundle ${dir}: ${missing[0]} is missing but ${missing[0] === crt ? key : crt} exists; the bundle is damaged. Restore it from your backup, or move the folder away to create a new PKI (every node must then be replaced)`,
    );
  }
  const material = { certPem: read(dir, crt), keyPem: read(dir, key) };
  if (verified) return material;
  const cert = new X509Certificate(material.certPem);
  const fromKey = createPublicKey(material.keyPem).export({ type: 'spki', format: 'der' });
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(fromKey)) {
    throw new SecretsBundleError(`secrets bundle ${dir}: ${key} does not belong to ${crt}; restore both from your backup`);
  }
  if (ca && !cert.verify(new X509Certificate(ca.certPem).publicKey)) {
    throw new SecretsBundleError(`secrets bundle ${dir}: ${crt} is not signed by its CA; restore it from your backup or run keelson pki rotate`);
  }
  // A CA where a CA belongs, a leaf with the usages it was issued for elsewhere.
  if (cert.ca !== !ca) {
    throw new SecretsBundleError(`secrets bundle ${dir}: ${crt} ${ca ? 'is a CA certificate where a leaf belongs' : 'is not a CA certificate'}; restore it from your backup`);
  }
  const usages = usage ? EXPECTED_USAGES[usage] : undefined;
  if (usages && JSON.stringify(cert.keyUsage ?? []) !== JSON.stringify(usages)) {
    throw new SecretsBundleError(`secrets bundle ${dir}: ${crt} has extended key usages ${JSON.stringify(cert.keyUsage ?? [])}, not those of a ${usage} certificate; run keelson pki rotate`);
  }
  if (new Date(cert.validTo) < new Date()) {
    throw new SecretsBundleError(
      `secrets bundle ${dir}: ${crt} expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}; ${ca ? 'run keelson pki rotate' : 'the CA must be replaced, and every node with it'}`,
    );
  }
  return material;
}

const EXPECTED_USAGES: Record<CertificateUsage, string[]> = {
  client: ['1.3.6.1.5.5.7.3.2'],
  server: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
  peer: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
};

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

/**
 * Opens the secrets bundle, creating what is missing: on first use every CA,
 * key and certificate; later, only what the config added (a new member).
 * Nothing that exists is ever overwritten.
 *
 * @returns the bundle and the relative paths of the files it created
 */
export async function openSecretsBundle(options: SecretsBundleOptions): Promise<{ bundle: SecretsBundle; created: string[] }> {
  const { dir } = options;
  const plan = planOf(options);
  checkGitIgnored(dir);
  if (existsSync(dir)) checkBundlePermissions(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  // Checking every key against its certificate costs more than the rest of
  // synth; it is done once per content of the bundle and remembered. The stamp
  // detects accidental damage; whoever can write the bundle could replace the
  // CAs themselves, so it is no defence against that, and needs none.
  const verified = existsSync(join(dir, VERIFIED_STAMP)) && read(dir, VERIFIED_STAMP) === bundleDigest(dir);
  const created: string[] = [];
  const put = (rel: string, content: string) => {
    writeNew(dir, rel, content);
    created.push(rel);
  };
  const pair = async (base: string, make: () => Promise<CertificateMaterial>, ca?: CertificateMaterial, usage?: CertificateUsage) => {
    if (existsSync(join(dir, `${base}.crt`)) || existsSync(join(dir, `${base}.key`))) return checkPair(dir, base, ca, verified, usage);
    const m = await make();
    put(`${base}.key`, m.keyPem);
    put(`${base}.crt`, m.certPem);
    return m;
  };
  const ca = (base: string, commonName: string) =>
    pair(base, () => createCertificateAuthority({ commonName, validity: { days: plan.caDays }, algorithm: plan.algorithm, now: plan.now }));

  const cluster = options.spec.config.cluster.name;
  const etcdCa = await ca(BUNDLE_LAYOUT.etcdCa, `${cluster}-etcd-ca`);
  const kubernetesCa = await ca(BUNDLE_LAYOUT.kubernetesCa, `${cluster}-kubernetes-ca`);
  const frontProxyCa = await ca(BUNDLE_LAYOUT.frontProxyCa, `${cluster}-front-proxy-ca`);

  if (!existsSync(join(dir, BUNDLE_LAYOUT.serviceAccountKey))) {
    const sa = await createKeyPair(plan.algorithm);
    put(BUNDLE_LAYOUT.serviceAccountKey, sa.privateKeyPem);
    put(BUNDLE_LAYOUT.serviceAccountPub, sa.publicKeyPem);
  }
  if (!existsSync(join(dir, BUNDLE_LAYOUT.encryptionKey))) put(BUNDLE_LAYOUT.encryptionKey, `${createEncryptionKey()}\n`);
  if (!existsSync(join(dir, BUNDLE_LAYOUT.bootstrapToken))) put(BUNDLE_LAYOUT.bootstrapToken, `${createBootstrapToken()}\n`);

  const members: Record<string, EtcdMemberCertificates> = {};
  for (const node of options.spec.topology.controllers) {
    const sans = memberSans(node.name, options.memberAddresses?.[node.name]);
    members[node.name] = {
      server: await pair(BUNDLE_LAYOUT.member(node.name, 'server'), () => leaf(etcdCa, plan, node.name, 'server', sans), etcdCa, 'server'),
      peer: await pair(BUNDLE_LAYOUT.member(node.name, 'peer'), () => leaf(etcdCa, plan, node.name, 'peer', sans), etcdCa, 'peer'),
    };
  }
  const client = (name: keyof EtcdClientCertificates) =>
    pair(BUNDLE_LAYOUT.client(name), () => leaf(etcdCa, plan, CLIENT_NAMES[name], 'client'), etcdCa, 'client');
  const clients = { apiserver: await client('apiserver'), backup: await client('backup'), healthcheck: await client('healthcheck') };

  const serviceAccount = { privateKeyPem: read(dir, BUNDLE_LAYOUT.serviceAccountKey), publicKeyPem: read(dir, BUNDLE_LAYOUT.serviceAccountPub) };
  if (!verified) {
    const fromKey = createPublicKey(serviceAccount.privateKeyPem).export({ type: 'spki', format: 'der' });
    if (!createPublicKey(serviceAccount.publicKeyPem).export({ type: 'spki', format: 'der' }).equals(fromKey)) {
      throw new SecretsBundleError(`secrets bundle ${dir}: ${BUNDLE_LAYOUT.serviceAccountPub} does not belong to ${BUNDLE_LAYOUT.serviceAccountKey}; restore both from your backup`);
    }
  }
  const encryptionKey = read(dir, BUNDLE_LAYOUT.encryptionKey).trim();
  if (Buffer.from(encryptionKey, 'base64').length !== 32) {
    throw new SecretsBundleError(`secrets bundle ${dir}: ${BUNDLE_LAYOUT.encryptionKey} is not a base64 32-byte key; restore it from your backup (without it, Secrets in etcd cannot be read)`);
  }
  const bootstrapToken = read(dir, BUNDLE_LAYOUT.bootstrapToken).trim();
  if (!BOOTSTRAP_TOKEN.test(bootstrapToken)) {
    throw new SecretsBundleError(`secrets bundle ${dir}: ${BUNDLE_LAYOUT.bootstrapToken} is not a kubeadm token ([a-z0-9]{6}.[a-z0-9]{16}); delete the file to have a new one made (nodes not yet joined need the new one)`);
  }
  checkBundlePermissions(dir);
  if (!verified) replace(dir, VERIFIED_STAMP, bundleDigest(dir));
  return { bundle: { dir, etcdCa, kubernetesCa, frontProxyCa, serviceAccount, encryptionKey, bootstrapToken, members, clients }, created };
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
}

/**
 * Reissues the bundle's leaf certificates (fresh keys) under the same CAs.
 * CAs, the service-account key and the encryption key are kept. These leaves
 * serve the operator's tools (backups, health checks, the membership helper);
 * nodes issue their own certificates from the CAs with kubeadm, so no node
 * needs replacing for a rotation.
 */
export async function rotateLeafCertificates(options: RotateOptions): Promise<RotateResult> {
  const { bundle } = await openSecretsBundle(options);
  const plan = planOf(options);
  const known = Object.keys(bundle.members);
  const unknown = (options.members ?? []).filter((m) => !known.includes(m));
  if (unknown.length > 0) {
    throw new SecretsBundleError(`pki rotate: no etcd member named ${unknown.join(', ')}; members are ${known.join(', ')}`);
  }
  const members = options.members ?? known;
  const rotated: string[] = [];
  const write = (base: string, m: CertificateMaterial) => {
    // Key first: a crash in between leaves a pair that fails checkPair, loudly.
    replace(bundle.dir, `${base}.key`, m.keyPem);
    replace(bundle.dir, `${base}.crt`, m.certPem);
    rotated.push(base);
  };
  for (const name of members) {
    const old = summarizeCertificate(bundle.members[name].server.certPem);
    const sans = { dnsNames: [...old.dnsNames], ipAddresses: [...old.ipAddresses] };
    write(BUNDLE_LAYOUT.member(name, 'server'), await leaf(bundle.etcdCa, plan, name, 'server', sans));
    write(BUNDLE_LAYOUT.member(name, 'peer'), await leaf(bundle.etcdCa, plan, name, 'peer', sans));
  }
  if (!options.members) {
    for (const name of Object.keys(CLIENT_NAMES) as Array<keyof EtcdClientCertificates>) {
      write(BUNDLE_LAYOUT.client(name), await leaf(bundle.etcdCa, plan, CLIENT_NAMES[name], 'client'));
    }
  }
  return { rotated };
}
