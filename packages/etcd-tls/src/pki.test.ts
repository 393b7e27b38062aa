import { X509Certificate, createPublicKey } from 'node:crypto';
import { createBootstrapToken, createCertificateAuthority, createEncryptionKey, createKeyPair, issueCertificate, summarizeCertificate } from './pki';

const DAY = 86_400_000;
const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' };

describe('createCertificateAuthority', () => {
  it('makes a self-signed ECDSA P-256 CA that may sign leaves only', async () => {
    const ca = await createCertificateAuthority({ commonName: 'test-etcd-ca', validity: { days: 3650 } });
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=test-etcd-ca');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(new Date(cert.validTo).getTime() - Date.now()).toBeGreaterThan(3649 * DAY);
    expect(createPublicKey(ca.keyPem).export({ format: 'pem', type: 'spki' })).toBe(cert.publicKey.export({ format: 'pem', type: 'spki' }));
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('uses P-384 when asked', async () => {
    const ca = await createCertificateAuthority({ commonName: 'p384', validity: { days: 10 }, algorithm: 'ecdsa-p384' });
    expect(new X509Certificate(ca.certPem).publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
  });
});

describe('issueCertificate', () => {
  let ca: Awaited<ReturnType<typeof createCertificateAuthority>>;
  beforeAll(async () => {
    ca = await createCertificateAuthority({ commonName: 'etcd-ca', validity: { days: 3650 } });
  });

  it('issues a member server certificate covering its name, address, localhost and 127.0.0.1', async () => {
    const m = await issueCertificate(ca, {
      commonName: 'keelson-controller-1',
      usage: 'server',
      dnsNames: ['keelson-controller-1', 'localhost'],
      ipAddresses: ['127.0.0.1', '10.110.0.5'],
      validity: { days: 365 },
    });
    const cert = new X509Certificate(m.certPem);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkHost('keelson-controller-1')).toBe('keelson-controller-1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('10.110.0.5')).toBe('10.110.0.5');
    expect(cert.checkIP('10.110.0.6')).toBeUndefined();
    expect(cert.checkHost('keelson-controller-2')).toBeUndefined();
    expect(cert.keyUsage).toEqual([EKU.serverAuth, EKU.clientAuth]);
  });

  it('gives client certificates clientAuth only and no names', async () => {
    const m = await issueCertificate(ca, { commonName: 'kube-apiserver-etcd-client', usage: 'client', validity: { days: 365 } });
    const cert = new X509Certificate(m.certPem);
    expect(cert.keyUsage).toEqual([EKU.clientAuth]);
    expect(cert.subjectAltName).toBeUndefined();
    expect(summarizeCertificate(m.certPem)).toMatchObject({ subject: 'CN=kube-apiserver-etcd-client', issuer: 'CN=etcd-ca', isCa: false, extendedKeyUsages: ['clientAuth'] });
  });

  it('gives peer certificates both serverAuth and clientAuth', async () => {
    const m = await issueCertificate(ca, { commonName: 'm1', usage: 'peer', dnsNames: ['m1'], validity: { days: 365 } });
    expect(new X509Certificate(m.certPem).keyUsage).toEqual([EKU.serverAuth, EKU.clientAuth]);
  });

  it('puts the organization in the subject', async () => {
    const m = await issueCertificate(ca, { commonName: 'admin', organization: 'system:masters', usage: 'client', validity: { days: 1 } });
    expect(new X509Certificate(m.certPem).subject).toBe('CN=admin\nO=system:masters');
  });

  it('issues certificates with explicit dates, expired ones included', async () => {
    const notBefore = new Date(Date.now() - 10 * DAY);
    const notAfter = new Date(Date.now() - 1 * DAY);
    const m = await issueCertificate(ca, { commonName: 'old', usage: 'client', validity: { notBefore, notAfter } });
    expect(new Date(new X509Certificate(m.certPem).validTo).getTime()).toBeLessThan(Date.now());
  });

  it('gives every certificate a fresh key and serial number', async () => {
    const opts = { commonName: 'same', usage: 'client' as const, validity: { days: 1 } };
    const [a, b] = [await issueCertificate(ca, opts), await issueCertificate(ca, opts)];
    expect(a.keyPem).not.toBe(b.keyPem);
    expect(new X509Certificate(a.certPem).serialNumber).not.toBe(new X509Certificate(b.certPem).serialNumber);
  });

  it('fails when the leaf would outlive its CA', async () => {
    const short = await createCertificateAuthority({ commonName: 'short-ca', validity: { days: 30 } });
    await expect(issueCertificate(short, { commonName: 'long', usage: 'client', validity: { days: 365 } })).rejects.toThrow(
      /long would outlive its CA \(CN=short-ca, until .*\); shorten the leaf lifetime or rotate the CA/,
    );
  });

  it('fails on a server certificate without any name', async () => {
    await expect(issueCertificate(ca, { commonName: 'nameless', usage: 'server', validity: { days: 1 } })).rejects.toThrow(
      /nameless is a server certificate but has no DNS name or IP address/,
    );
  });

  it('fails on a lifetime that is not a whole number of days', async () => {
    await expect(issueCertificate(ca, { commonName: 'x', usage: 'client', validity: { days: 0 } })).rejects.toThrow(/validity\.days: expected a whole number of days >= 1, got 0/);
  });
});

describe('keys', () => {
  it('makes a service-account key pair whose halves match', async () => {
    const sa = await createKeyPair();
    expect(createPublicKey(sa.privateKeyPem).export({ format: 'pem', type: 'spki' })).toBe(sa.publicKeyPem);
  });

  it('makes 32-byte encryption keys, different each time', () => {
    const [a, b] = [createEncryptionKey(), createEncryptionKey()];
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
  });
});

describe('createBootstrapToken', () => {
  it('makes kubeadm-shaped tokens, different each time', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => createBootstrapToken()));
    expect(tokens.size).toBe(50);
    for (const t of tokens) expect(t).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  });
});
