export { createCertificateAuthority, issueCertificate, createKeyPair, createEncryptionKey, createBootstrapToken, BOOTSTRAP_TOKEN, summarizeCertificate } from './pki';
export type { KeyAlgorithm, KeyPairPem, CertificateMaterial, CertificateUsage, Validity, CaOptions, LeafOptions, CertificateSummary } from './pki';
export {
  openSecretsBundle,
  checkBundlePermissions,
  listBundleCertificates,
  rotateLeafCertificates,
  SecretsBundleError,
  BUNDLE_LAYOUT,
  EXPIRY_WARNING_DAYS,
} from './bundle';
export type {
  SecretsBundle,
  SecretsBundleOptions,
  OpenedSecretsBundle,
  BundleIdentity,
  EtcdMemberCertificates,
  EtcdClientCertificates,
  BundleCertificate,
  RotateOptions,
  RotateResult,
} from './bundle';
export { EtcdClient, EtcdError } from './etcd-client';
export type { EtcdClientOptions, EtcdErrorKind, EtcdKeyValue, RangeOptions, RangeResult, EtcdMember, EtcdStatus, EtcdHealth } from './etcd-client';
export { replaceEtcdMember } from './membership';
export type { ReplaceEtcdMemberOptions, ReplacementMember, EtcdMemberPlan, EtcdMemberReplacement } from './membership';
