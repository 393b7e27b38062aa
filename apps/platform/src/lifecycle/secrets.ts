import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BOOTSTRAP_TOKEN, BUNDLE_LAYOUT } from '@keelson/etcd-tls';
import type { DeployTimeSecret, DeployTimeSecretContext, PlatformDeclarations, PlatformSpec, SecretSource } from '@keelson/platform-spec';
import type { SecretManifest } from './cluster';

/**
 * The deploy-time Secrets of the composed platform: each layer declares its
 * own (`LayerDeclarations.deployTimeSecrets`, only when it is on), with the
 * run's provider's object-store variable names.
 */
export function secretsFor({ declarations, provider }: { readonly declarations: PlatformDeclarations; readonly provider: DeployTimeSecretContext }): readonly DeployTimeSecret[] {
  return declarations.deployTimeSecrets(provider);
}

/** Environment variables the Secrets need that are not set, with what each is: checked before anything is applied. */
export function missingSecretInputs(secrets: readonly DeployTimeSecret[], env: Readonly<Record<string, string | undefined>>): string[] {
  const missing: string[] = [];
  for (const s of secrets) {
    for (const [key, source] of Object.entries(s.keys)) {
      const vars = source.kind === 'aws-credentials' ? [source.accessKeyVariable, source.secretKeyVariable] : [];
      for (const v of vars) if (!env[v]) missing.push(`${v} (${s.namespace}/${s.name} key ${key}, for ${s.purpose})`);
    }
  }
  return missing;
}

/**
 * The Secret manifests, values filled in. Generated values are made once
 * (32 random bytes, base64url) under `<secretsDir>/`, mode 0600.
 */
export function secretManifests(secrets: readonly DeployTimeSecret[], env: Readonly<Record<string, string | undefined>>, secretsDir: string): SecretManifest[] {
  return secrets.map((s) => {
    const data: Record<string, string> = {};
    for (const [key, source] of Object.entries(s.keys)) data[key] = Buffer.from(valueOf(s, key, source, env, secretsDir)).toString('base64');
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: s.name, namespace: s.namespace, labels: { 'app.kubernetes.io/managed-by': 'keelson-deploy' } },
      type: 'Opaque',
      data,
    };
  });
}

function valueOf(s: DeployTimeSecret, key: string, source: SecretSource, env: Readonly<Record<string, string | undefined>>, secretsDir: string): string {
  const need = (v: string) => {
    const value = env[v];
    if (!value) throw new Error(`deploy-time secret ${s.namespace}/${s.name} key ${key}: ${v} is not set; export it and run the command again`);
    return value;
  };
  switch (source.kind) {
    case 'aws-credentials':
      return `[default]\naws_access_key_id=${need(source.accessKeyVariable)}\naws_secret_access_key=${need(source.secretKeyVariable)}\n`;
    case 'literal':
      return source.value;
    case 'bundle-file': {
      const file = join(secretsDir, source.file);
      if (!existsSync(file)) throw new Error(`deploy-time secret ${s.namespace}/${s.name} key ${key}: ${file} is missing from the secrets bundle; run keelson synth (it creates the bundle) or restore the bundle folder`);
      return readFileSync(file, 'utf8');
    }
    case 'generated': {
      const file = join(secretsDir, source.file);
      if (!existsSync(file)) {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
      }
      return readFileSync(file, 'utf8').trim();
    }
  }
}

export interface AdminKubeconfigOptions {
  readonly spec: PlatformSpec;
  readonly secretsDir: string;
  /** Where to write it. @default `<secretsDir>/admin.kubeconfig` */
  readonly file?: string;
  /** @default 1 (a day: long enough for a deploy, short enough not to matter if copied) */
  readonly validityDays?: number;
  /** @default new Date() */
  readonly now?: Date;
}

/** The API endpoint nodes and operators use: the API load balancer behind `api.<domain>`. */
export const apiServerUrl = (spec: PlatformSpec) => `https://api.${spec.config.domain}:6443`;

/**
 * Writes an admin kubeconfig (mode 0600) with a short-lived client
 * certificate from the bundle's Kubernetes CA, in the group
 * `kubeadm:cluster-admins`, which kubeadm binds to cluster-admin (unlike
 * `system:masters`, it can be unbound).
 *
 * @see https://kubernetes.io/docs/reference/setup-tools/kubeadm/implementation-details/#generate-kubeconfig-files-for-control-plane-components
 */
export async function writeAdminKubeconfig(options: AdminKubeconfigOptions): Promise<string> {
  const { openSecretsBundle, issueCertificate } = await import('@keelson/etcd-tls');
  const { bundle } = await openSecretsBundle({ dir: options.secretsDir, spec: options.spec });
  const cert = await issueCertificate(bundle.kubernetesCa, {
    commonName: 'keelson-admin',
    organization: 'kubeadm:cluster-admins',
    usage: 'client',
    validity: { days: options.validityDays ?? 1 },
    now: options.now,
  });
  const name = options.spec.config.cluster.name;
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: apiServerUrl(options.spec), 'certificate-authority-data': b64(bundle.kubernetesCa.certPem) } }],
    users: [{ name: `${name}-admin`, user: { 'client-certificate-data': b64(cert.certPem), 'client-key-data': b64(cert.keyPem) } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
    'current-context': name,
  };
  const file = options.file ?? join(options.secretsDir, 'admin.kubeconfig');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // JSON is YAML: kubectl reads it as is.
  writeFileSync(file, `${JSON.stringify(kubeconfig, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** How long a join is possible after each deploy or node replacement. */
export const BOOTSTRAP_TOKEN_HOURS = 24;

/**
 * The kubeadm bootstrap token nodes join with (the bundle's
 * `kubeadm/bootstrap-token`), as the Secret the API server authenticates it
 * by, valid for {@link BOOTSTRAP_TOKEN_HOURS} from `now`. kubeadm init makes
 * it with the same lifetime; deploy and upgrade re-apply it before nodes
 * join, so the token in every node's Ignition is useless a day later.
 *
 * @see https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/#bootstrap-token-secret-format
 */
export function bootstrapTokenSecret(secretsDir: string, now: Date, hours = BOOTSTRAP_TOKEN_HOURS): SecretManifest {
  const file = join(secretsDir, BUNDLE_LAYOUT.bootstrapToken);
  if (!existsSync(file)) throw new Error(`bootstrap token: ${file} is missing from the secrets bundle; run keelson synth (it creates the bundle) or restore the bundle folder`);
  const token = readFileSync(file, 'utf8').trim();
  if (!BOOTSTRAP_TOKEN.test(token)) throw new Error(`bootstrap token: ${file} is not a kubeadm token ([a-z0-9]{6}.[a-z0-9]{16}); restore the bundle folder from its backup (README.md, "The secrets bundle"): the token is in every node's Ignition, so none is made anew`);
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  const [id, secret] = token.split('.');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system', labels: { 'app.kubernetes.io/managed-by': 'keelson-deploy' } },
    type: 'bootstrap.kubernetes.io/token',
    data: {
      'token-id': b64(id),
      'token-secret': b64(secret),
      expiration: b64(new Date(now.getTime() + hours * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')),
      description: b64('Keelson node joins (refreshed by keelson deploy and upgrade)'),
      'usage-bootstrap-authentication': b64('true'),
      'usage-bootstrap-signing': b64('true'),
      'auth-extra-groups': b64('system:bootstrappers:kubeadm:default-node-token'),
    },
  };
}
