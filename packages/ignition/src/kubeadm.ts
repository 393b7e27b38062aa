import { createHash, X509Certificate } from 'node:crypto';
import * as z from 'zod';
import YAML from 'yaml';
import { memoize } from './internal/memo';

/**
 * The part of kubeadm's `v1beta4` config API that Keelson writes, typed by
 * hand from the reference (upstream publishes no JSON schema), strict so a
 * misspelt field fails here instead of on the node.
 *
 * @see https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/
 */
const arg = z.strictObject({ name: z.string().min(1), value: z.string() });
const KUBEADM = 'kubeadm.k8s.io/v1beta4';

const nodeRegistration = z.strictObject({
  name: z.string().min(1),
  criSocket: z.string().startsWith('unix://'),
  taints: z.array(z.strictObject({ key: z.string(), effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']), value: z.string().optional() })),
  kubeletExtraArgs: z.array(arg),
});

const apiEndpoint = z.strictObject({ advertiseAddress: z.string().min(1), bindPort: z.int().min(1).max(65535) });

export const initConfigurationSchema = z.strictObject({
  apiVersion: z.literal(KUBEADM),
  kind: z.literal('InitConfiguration'),
  bootstrapTokens: z.array(
    z.strictObject({
      token: z.string().regex(/^[a-z0-9]{6}\.[a-z0-9]{16}$/),
      description: z.string(),
      ttl: z.string().regex(/^\d+(h|m|s)$/),
      usages: z.array(z.enum(['signing', 'authentication'])),
      groups: z.array(z.string().startsWith('system:bootstrappers:')),
    }),
  ),
  nodeRegistration,
  localAPIEndpoint: apiEndpoint,
  skipPhases: z.array(z.string()),
});

const hostPathMount = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/),
  hostPath: z.string().startsWith('/'),
  mountPath: z.string().startsWith('/'),
  readOnly: z.boolean(),
  pathType: z.enum(['File', 'Directory', 'DirectoryOrCreate', 'FileOrCreate']),
});

export const clusterConfigurationSchema = z.strictObject({
  apiVersion: z.literal(KUBEADM),
  kind: z.literal('ClusterConfiguration'),
  clusterName: z.string().min(1),
  kubernetesVersion: z.string().regex(/^v\d+\.\d+\.\d+$/),
  controlPlaneEndpoint: z.string().regex(/^[a-z0-9.-]+:\d+$/),
  certificatesDir: z.literal('/etc/kubernetes/pki'),
  encryptionAlgorithm: z.enum(['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096']),
  /** Lifetime of the certificates kubeadm issues on the node (etcd, API server, kubelet client). */
  certificateValidityPeriod: z.string().regex(/^\d+h$/),
  networking: z.strictObject({ podSubnet: z.string(), serviceSubnet: z.string(), dnsDomain: z.string() }),
  etcd: z.strictObject({ local: z.strictObject({ dataDir: z.string().startsWith('/'), extraArgs: z.array(arg) }) }),
  apiServer: z.strictObject({ certSANs: z.array(z.string()), extraArgs: z.array(arg), extraVolumes: z.array(hostPathMount) }),
  controllerManager: z.strictObject({ extraArgs: z.array(arg) }),
  scheduler: z.strictObject({ extraArgs: z.array(arg) }),
});

export const joinConfigurationSchema = z.strictObject({
  apiVersion: z.literal(KUBEADM),
  kind: z.literal('JoinConfiguration'),
  nodeRegistration,
  discovery: z.strictObject({
    bootstrapToken: z.strictObject({
      token: z.string().regex(/^[a-z0-9]{6}\.[a-z0-9]{16}$/),
      apiServerEndpoint: z.string().regex(/^[a-z0-9.-]+:\d+$/),
      caCertHashes: z.array(z.string().regex(/^sha256:[a-f0-9]{64}$/)).min(1),
    }),
  }),
  controlPlane: z.strictObject({ localAPIEndpoint: apiEndpoint }).optional(),
});

/** @see https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/ */
export const kubeletConfigurationSchema = z.strictObject({
  apiVersion: z.literal('kubelet.config.k8s.io/v1beta1'),
  kind: z.literal('KubeletConfiguration'),
  cgroupDriver: z.literal('systemd'),
  authentication: z.strictObject({
    anonymous: z.strictObject({ enabled: z.literal(false) }),
    webhook: z.strictObject({ enabled: z.literal(true) }),
  }),
  authorization: z.strictObject({ mode: z.literal('Webhook') }),
  rotateCertificates: z.literal(true),
  /** Serving certificates signed by the cluster CA (approved in-cluster), not self-signed. */
  serverTLSBootstrap: z.literal(true),
  tlsMinVersion: z.enum(['VersionTLS12', 'VersionTLS13']),
  protectKernelDefaults: z.boolean(),
});

export type InitConfiguration = z.infer<typeof initConfigurationSchema>;
export type ClusterConfiguration = z.infer<typeof clusterConfigurationSchema>;
export type JoinConfiguration = z.infer<typeof joinConfigurationSchema>;
export type KubeletConfiguration = z.infer<typeof kubeletConfigurationSchema>;

const SCHEMAS: Record<string, z.ZodType> = {
  InitConfiguration: initConfigurationSchema,
  ClusterConfiguration: clusterConfigurationSchema,
  JoinConfiguration: joinConfigurationSchema,
  KubeletConfiguration: kubeletConfigurationSchema,
};

/**
 * Checks a multi-document kubeadm config: every document is a kind Keelson
 * writes, and matches its schema. Returns the problems (empty when valid).
 */
export function validateKubeadmConfig(text: string): string[] {
  const problems: string[] = [];
  YAML.parseAllDocuments(text).forEach((doc, i) => {
    const obj = doc.toJS() as { kind?: string } | null;
    const schema = obj?.kind ? SCHEMAS[obj.kind] : undefined;
    if (!schema) {
      problems.push(`document ${i + 1}: kind ${JSON.stringify(obj?.kind)} is not one of ${Object.keys(SCHEMAS).join(', ')}`);
      return;
    }
    const r = schema.safeParse(obj);
    if (!r.success) for (const issue of r.error.issues) problems.push(`${obj?.kind}.${issue.path.join('.')}: ${issue.message}`);
  });
  return problems;
}

/** Renders kubeadm documents as one YAML stream, validating each first. */
export function renderKubeadmConfig(docs: ReadonlyArray<KubeadmDocument>): string {
  const rendered = docs.map(kubeadmDocument);
  const problems = rendered.flatMap((r) => r.problems);
  if (problems.length > 0) throw new Error(`kubeadm config: ${problems.join('; ')}`);
  return rendered.map((r) => r.text).join('---\n');
}

type KubeadmDocument = InitConfiguration | ClusterConfiguration | JoinConfiguration | KubeletConfiguration;

/**
 * One document checked and written once per process: the controllers share
 * their ClusterConfiguration and every node its KubeletConfiguration, so at
 * 60 nodes only each node's own JoinConfiguration is new.
 */
const kubeadmDocument = memoize(
  (doc: KubeadmDocument) => JSON.stringify(doc),
  (doc: KubeadmDocument): { readonly text: string; readonly problems: readonly string[] } => {
    const r = SCHEMAS[doc.kind].safeParse(doc);
    return r.success
      ? { text: YAML.stringify(doc, { aliasDuplicateObjects: false, lineWidth: 0 }), problems: [] }
      : { text: '', problems: r.error.issues.map((issue) => `${doc.kind}.${issue.path.join('.')}: ${issue.message}`) };
  },
  1024,
);

/**
 * The hash `kubeadm join` pins the cluster CA with: sha256 of the CA's
 * SubjectPublicKeyInfo, so a node never trusts an API server it was not built for.
 *
 * @see https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join/#token-based-discovery-with-ca-pinning
 */
export function caCertHash(caCertPem: string): string {
  return caCertHashOf(caCertPem);
}

// Every joining node of a render pins the same CA: parse it once (at 60 nodes, 47 ms of a synth).
const caCertHashOf = memoize((caCertPem: string) => caCertPem, caCertHashUncached);

function caCertHashUncached(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}
