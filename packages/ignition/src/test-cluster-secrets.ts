// Test helper: real ClusterSecrets made with openssl (host layers may not
// depend on @keelson/etcd-tls, which makes them in the platform).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ClusterSecrets, PemPair } from '@keelson/platform-spec';

function ca(dir: string, name: string): PemPair {
  const [key, crt] = [join(dir, `${name}.key`), join(dir, `${name}.crt`)];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-subj', `/CN=${name}`, '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE'], { stdio: 'ignore' });
  return { certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

export function testClusterSecrets(): ClusterSecrets {
  const dir = mkdtempSync(join(tmpdir(), 'keelson-secrets-'));
  try {
    const sa = ca(dir, 'sa');
    const publicKeyPem = execFileSync('openssl', ['pkey', '-in', join(dir, 'sa.key'), '-pubout'], { encoding: 'utf8' });
    const letters = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const token = (n: number) => Array.from(randomBytes(n), (b) => letters[b % 36]).join('');
    return {
      etcdCa: ca(dir, 'etcd-ca'),
      kubernetesCa: ca(dir, 'kubernetes-ca'),
      frontProxyCa: ca(dir, 'front-proxy-ca'),
      serviceAccount: { privateKeyPem: sa.keyPem, publicKeyPem },
      encryptionKey: randomBytes(32).toString('base64'),
      bootstrapToken: `${token(6)}.${token(16)}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
