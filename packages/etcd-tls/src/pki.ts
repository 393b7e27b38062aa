import type * as X509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';

let loaded: typeof X509 | undefined;
/**
 * @peculiar/x509 (with its ASN.1 stack and reflect-metadata), loaded on first
 * use: opening an existing bundle needs node:crypto alone, which keeps
 * `keelson synth` fast.
 */
function lib(): typeof X509 {
  if (!loaded) {
    /* eslint-disable @typescript-eslint/no-require-imports -- a lazy load; import() would make every caller async */
    require('reflect-metadata');
    loaded = require('@peculiar/x509') as typeof X509;
    /* eslint-enable @typescript-eslint/no-require-imports */
    // @peculiar/x509 types its provider with the DOM Crypto type; Node's webcrypto is that API.
    loaded.cryptoProvider.set(webcrypto as unknown as Parameters<typeof X509.cryptoProvider.set>[1]);
  }
  return loaded;
}

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Key algorithms the PKI issues. ECDSA keys are small and fast; P-256 is what kubeadm and etcd use widely. */
export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384';

const CURVES: Record<KeyAlgorithm, { namedCurve: string; hash: string }> = {
  'ecdsa-p256': { namedCurve: 'P-256', hash: 'SHA-256' },
  'ecdsa-p384': { namedCurve: 'P-384', hash: 'SHA-384' },
};

const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdate notBefore a little, so a node whose clock runs behind accepts a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A key pair as PEM: the private key in PKCS#8, the public key as SubjectPublicKeyInfo. */
export interface KeyPairPem {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

/** A certificate with its private key, both PEM. */
export interface CertificateMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * What a leaf certificate is for; decides its key usages and extended key usages.
 *
 * - `client`: `clientAuth` only (API server to etcd, backups, health checks).
 * - `server`: `serverAuth` and `clientAuth`. etcd's gRPC gateway dials its own
 *   client port with the member's server certificate when client-cert-auth is
 *   on, so an etcd server certificate must also be a client certificate.
 * - `peer`: `serverAuth` and `clientAuth`: every peer connection is both.
 *
 * @see https://etcd.io/docs/v3.4/op-guide/security/
 */
export type CertificateUsage = 'client' | 'server' | 'peer';

/** Extended key usage OIDs (RFC 5280, 4.2.1.12). */
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const EKUS: Record<CertificateUsage, string[]> = {
  client: [CLIENT_AUTH],
  server: [SERVER_AUTH, CLIENT_AUTH],
  peer: [SERVER_AUTH, CLIENT_AUTH],
};

/** Validity of a certificate: a lifetime from now, or explicit dates (tests use this for expired certificates). */
export type Validity = { readonly days: number } | { readonly notBefore: Date; readonly notAfter: Date };

export interface CaOptions {
  readonly commonName: string;
  readonly validity: Validity;
  /** @default 'ecdsa-p256' */
  readonly algorithm?: KeyAlgorithm;
  /** @default new Date() */
  readonly now?: Date;
}

export interface LeafOptions {
  readonly commonName: string;
  /** Subject organization (Kubernetes reads it as the group). */
  readonly organization?: string;
  readonly usage: CertificateUsage;
  /** DNS names for the subjectAltName extension. */
  readonly dnsNames?: readonly string[];
  /** IP addresses for the subjectAltName extension. */
  readonly ipAddresses?: readonly string[];
  readonly validity: Validity;
  /** @default the issuing CA's algorithm */
  readonly algorithm?: KeyAlgorithm;
  /** @default new Date() */
  readonly now?: Date;
}

async function generateKeys(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  const { namedCurve } = CURVES[algorithm];
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PEM with Unix line ends and a final newline, as OpenSSL and Go write it. */
const normalizePem = (pem: string) => `${pem.replace(/\r\n/g, '\n').trimEnd()}\n`;

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const x509 = lib();
  return normalizePem(x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY'));
}

async function importPrivateKey(pem: string): Promise<{ key: CryptoKey; algorithm: KeyAlgorithm }> {
  const x509 = lib();
  const der = x509.PemConverter.decodeFirst(pem);
  for (const algorithm of Object.keys(CURVES) as KeyAlgorithm[]) {
    try {
      const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: CURVES[algorithm].namedCurve }, false, ['sign']);
      return { key, algorithm };
    } catch {
      // not this curve: try the next
    }
  }
  throw new Error('importPrivateKey: not an ECDSA P-256 or P-384 private key in PKCS#8 PEM');
}

function dates(validity: Validity, now: Date): { notBefore: Date; notAfter: Date } {
  if ('days' in validity) {
    if (!Number.isInteger(validity.days) || validity.days < 1) {
      throw new Error(`validity.days: expected a whole number of days >= 1, got ${validity.days}`);
    }
    return { notBefore: new Date(now.getTime() - CLOCK_SKEW_MS), notAfter: new Date(now.getTime() + validity.days * DAY_MS) };
  }
  if (validity.notAfter <= validity.notBefore) throw new Error('validity: notAfter must be later than notBefore');
  return validity;
}

/** A random positive 128-bit serial number, as RFC 5280 asks (at most 20 octets, unpredictable). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}

/** Creates a self-signed CA that can sign leaf certificates only (path length 0). */
export async function createCertificateAuthority(options: CaOptions): Promise<CertificateMaterial> {
  const x509 = lib();
  const algorithm = options.algorithm ?? 'ecdsa-p256';
  const keys = await generateKeys(algorithm);
  const { notBefore, notAfter } = dates(options.validity, options.now ?? new Date());
  const name = `CN=${escapeRdn(options.commonName)}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: name,
    issuer: name,
    notBefore,
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: CURVES[algorithm].hash },
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: normalizePem(cert.toString('pem')), keyPem: await privateKeyPem(keys.privateKey) };
}

/** Issues a leaf certificate signed by `ca`, with only the usages `options.usage` needs. */
export async function issueCertificate(ca: CertificateMaterial, options: LeafOptions): Promise<CertificateMaterial> {
  const x509 = lib();
  const caCert = new x509.X509Certificate(ca.certPem);
  const { key: caKey, algorithm: caAlgorithm } = await importPrivateKey(ca.keyPem);
  const algorithm = options.algorithm ?? caAlgorithm;
  const keys = await generateKeys(algorithm);
  const { notBefore, notAfter } = dates(options.validity, options.now ?? new Date());
  if (notAfter > caCert.notAfter) {
    throw new Error(
      `issueCertificate: ${options.commonName} would outlive its CA (${caCert.subject}, until ${caCert.notAfter.toISOString()}); shorten the leaf lifetime or rotate the CA`,
    );
  }
  const sans: X509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (options.usage !== 'client' && sans.length === 0) {
    throw new Error(`issueCertificate: ${options.commonName} is a ${options.usage} certificate but has no DNS name or IP address; clients could not verify it`);
  }
  const subject = [`CN=${escapeRdn(options.commonName)}`, ...(options.organization ? [`O=${escapeRdn(options.organization)}`] : [])].join(', ');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: CURVES[caAlgorithm].hash },
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(EKUS[options.usage], false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans, false)] : []),
    ],
  });
  return { certPem: normalizePem(cert.toString('pem')), keyPem: await privateKeyPem(keys.privateKey) };
}

/** A signing key pair (the service-account token signer). */
export async function createKeyPair(algorithm: KeyAlgorithm = 'ecdsa-p256'): Promise<KeyPairPem> {
  const x509 = lib();
  const keys = await generateKeys(algorithm);
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  return { privateKeyPem: await privateKeyPem(keys.privateKey), publicKeyPem: normalizePem(x509.PemConverter.encode(spki, 'PUBLIC KEY')) };
}

/**
 * A 32-byte key for encrypting Secrets at rest in etcd (`secretbox`
 * provider of the API server's EncryptionConfiguration), base64.
 *
 * @see https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/
 */
export function createEncryptionKey(): string {
  return randomBytes(32).toString('base64');
}

/** The shape kubeadm requires of a bootstrap token: `<id>.<secret>`. */
export const BOOTSTRAP_TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

/**
 * A kubeadm bootstrap token, drawn uniformly from `[a-z0-9]`.
 *
 * @see https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/
 */
export function createBootstrapToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => {
    let out = '';
    while (out.length < n) {
      // Rejection sampling keeps every character equally likely (256 is not a multiple of 36).
      for (const b of randomBytes(n)) if (b < 252 && out.length < n) out += alphabet[b % 36];
    }
    return out;
  };
  return `${pick(6)}.${pick(16)}`;
}

/** Escapes characters with a meaning in an RFC 4514 distinguished name. */
function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');
}

/** What `pki show` reports of a certificate. */
export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly isCa: boolean;
  readonly extendedKeyUsages: readonly string[];
}

const EKU_NAMES: Record<string, string> = {
  [SERVER_AUTH]: 'serverAuth',
  [CLIENT_AUTH]: 'clientAuth',
};

/** Reads the fields a human needs from a PEM certificate. */
export function summarizeCertificate(pem: string): CertificateSummary {
  const x509 = lib();
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.toJSON() ?? [];
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => n.value),
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    extendedKeyUsages: (eku?.usages ?? []).map((u) => EKU_NAMES[String(u)] ?? String(u)),
  };
}
