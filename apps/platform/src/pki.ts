import {
  EXPIRY_WARNING_DAYS,
  listBundleCertificates,
  openSecretsBundle,
  rotateLeafCertificates,
  type BundleCertificate,
} from '@keelson/etcd-tls';
import { loadPlatformSpec } from '@keelson/platform-spec';

export interface PkiOptions {
  readonly configPath: string;
  /** The bundle folder. */
  readonly secretsDir: string;
  readonly now?: Date;
}

/** `keelson pki show`: every certificate with subject, SANs, issuer, expiry and days left; warnings below 30 days. */
export async function pkiShow(options: PkiOptions): Promise<string[]> {
  const spec = loadPlatformSpec(options.configPath);
  const { bundle, created, notices } = await openSecretsBundle({ dir: options.secretsDir, spec, now: options.now });
  const certs = listBundleCertificates(bundle, options.now);
  const lines = [
    ...(created.length > 0 ? [`created ${created.length} files in ${bundle.dir} (mode 0600, folders 0700)`] : []),
    ...notices.map((n) => `NOTICE: ${n}`),
    `secrets bundle ${bundle.dir}: ${certs.length} certificates, a service-account key pair and the secrets-at-rest encryption key`,
    '',
    ...table(certs),
  ];
  const expiring = certs.filter((c) => c.daysLeft < EXPIRY_WARNING_DAYS);
  if (expiring.length > 0) lines.push('');
  for (const c of expiring) {
    lines.push(
      c.isCa
        ? `WARNING: ${c.id} (a CA) expires in ${c.daysLeft} days; every certificate it signed stops working then. Plan a CA rotation by replacing the cluster's nodes under a new bundle`
        : `WARNING: ${c.id} expires in ${c.daysLeft} days (below ${EXPIRY_WARNING_DAYS}); run keelson pki rotate`,
    );
  }
  return lines;
}

function table(certs: readonly BundleCertificate[]): string[] {
  const rows = [
    ['NAME', 'SUBJECT', 'SANS', 'ISSUER', 'EXPIRES', 'DAYS LEFT'],
    ...certs.map((c) => [
      c.id,
      c.subject,
      [...c.dnsNames, ...c.ipAddresses].join(',') || '-',
      c.issuer,
      c.notAfter.toISOString().slice(0, 10),
      String(c.daysLeft),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd());
}

/** `keelson pki rotate`: reissue the bundle's leaf certificates under the same CAs; nodes issue their own, so none is replaced. */
export async function pkiRotate(options: PkiOptions & { members?: readonly string[] }): Promise<string[]> {
  const spec = loadPlatformSpec(options.configPath);
  const { rotated, notices } = await rotateLeafCertificates({ dir: options.secretsDir, spec, members: options.members, now: options.now });
  return [
    ...notices.map((n) => `NOTICE: ${n}`),
    `reissued ${rotated.length} certificates under the same CAs in ${options.secretsDir}:`,
    ...rotated.map((r) => `  ${r}`),
    'they serve the operator tools (backups, health checks, etcd member replacement); no node needs replacing:',
    `nodes issue their own certificates from the CAs with kubeadm, valid ${spec.config.pki.leafValidityDays} days, renewed when a node is upgraded or replaced (keelson upgrade, #11)`,
  ];
}
