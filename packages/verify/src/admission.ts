// The admission check: what the API server itself enforces on every pod and
// every request, from the controllers' configs, and no host paths in our own
// workloads.
import YAML from 'yaml';
import { podSpecOf } from './objects';
import { ignitionFileText } from './rendered';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type KubeadmDocument, type Loose, type Manifest, type NodeInfo } from './types';

/** Namespaces Pod Security may exempt: the cluster's own (static pods, the CNI's agents). */
const EXEMPT_NAMESPACES = new Set(['kube-system']);
/** Paths the API server answers without credentials: health and kubeadm's cluster-info for joining nodes. */
const ANONYMOUS_PATHS = new Set(['/livez', '/readyz', '/healthz', '/api/v1/namespaces/kube-public/configmaps/cluster-info']);

function arg(extraArgs: unknown, name: string): string | undefined {
  if (Array.isArray(extraArgs)) return (extraArgs.find((a) => isRecord(a) && a.name === name) as { value?: string } | undefined)?.value;
  return isRecord(extraArgs) ? (extraArgs[name] as string | undefined) : undefined;
}

/**
 * Admission and authentication on the controllers, and host paths:
 * - the API server loads an admission config (`admission-control-config-file`,
 *   written on every controller) whose PodSecurity default `enforce` level
 *   is `baseline` or `restricted` (a namespace without a label gets it), and
 *   that exempts no user, no runtime class and no namespace but
 *   `kube-system`;
 * - anonymous requests, when its AuthenticationConfiguration allows them,
 *   reach only the health endpoints and kubeadm's `cluster-info`;
 * - no workload the platform renders itself mounts a `hostPath`.
 *
 * @see https://kubernetes.io/docs/tasks/configure-pod-container/enforce-standards-admission-controller/
 * @see https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-authenticator-configuration
 */
export function checkAdmission(ownManifests: readonly Manifest[], nodes: readonly NodeInfo[]): CheckResult {
  const findings: Finding[] = [];
  const cluster = nodes.flatMap((n) => n.kubeadm.filter((d) => d.kind === 'ClusterConfiguration').map((d) => ({ node: n, doc: d as KubeadmDocument & Record<string, Loose> })))[0];
  const controllers = nodes.filter((n) => n.role === 'controller');
  let level = 'unknown';
  if (cluster) {
    const admissionPath = arg(cluster.doc.apiServer?.extraArgs, 'admission-control-config-file');
    if (!admissionPath) findings.push({ file: cluster.node.file, message: 'ClusterConfiguration apiServer.extraArgs has no admission-control-config-file: Pod Security enforces privileged on every namespace without a label; pass the AdmissionConfiguration the controllers write' });
    for (const n of admissionPath ? controllers : []) {
      const text = ignitionFileText(n.ignition, admissionPath ?? '');
      const config = text === undefined ? undefined : (YAML.parse(text) as Loose);
      const podSecurity = asArray<Loose>(config?.plugins).find((p) => p?.name === 'PodSecurity')?.configuration;
      const at = (message: string) => findings.push({ file: n.file, message: `node ${n.name}: ${admissionPath} ${message}` });
      if (!podSecurity) {
        at(text === undefined ? 'is not written: the API server does not start' : 'configures no PodSecurity plugin: namespaces without a label run privileged pods; configure it with defaults.enforce: baseline');
        continue;
      }
      level = String(podSecurity.defaults?.enforce ?? 'privileged');
      if (!['baseline', 'restricted'].includes(level)) at(`sets the PodSecurity default enforce level "${level}": a namespace without a label runs privileged pods; set defaults.enforce: baseline (or restricted)`);
      const ex = podSecurity.exemptions ?? {};
      const extra = [...asArray<string>(ex.namespaces).filter((ns) => !EXEMPT_NAMESPACES.has(ns)).map((ns) => `namespace ${ns}`), ...asArray<string>(ex.usernames).map((u) => `user ${u}`), ...asArray<string>(ex.runtimeClasses).map((r) => `runtime class ${r}`)];
      if (extra.length > 0) at(`exempts ${extra.join(', ')} from Pod Security: its pods skip every level; remove the exemption and label the namespace with its level and reason`);
    }
    const authnPath = arg(cluster.doc.apiServer?.extraArgs, 'authentication-config');
    for (const n of authnPath ? controllers : []) {
      const text = ignitionFileText(n.ignition, authnPath ?? '');
      const anonymous = text === undefined ? undefined : (YAML.parse(text) as Loose)?.anonymous;
      if (anonymous?.enabled !== true) continue;
      const paths = asArray<Loose>(anonymous.conditions).map((c) => String(c?.path ?? ''));
      const open = paths.filter((p) => !ANONYMOUS_PATHS.has(p));
      if (paths.length === 0 || open.length > 0) findings.push({ file: n.file, message: `node ${n.name}: ${authnPath} lets anonymous requests reach ${paths.length === 0 ? 'every path (anonymous.enabled with no conditions)' : open.join(', ')}: only the health endpoints and cluster-info may answer without credentials; list only those paths under anonymous.conditions` });
    }
  }
  let workloads = 0;
  for (const { file, object } of ownManifests) {
    const pod = podSpecOf(object);
    if (!pod) continue;
    workloads++;
    const host = asArray<Loose>(pod.volumes).filter((v) => isRecord(v?.hostPath));
    if (host.length > 0) findings.push({ file, message: `${describe(object)} mounts ${host.map((v) => `hostPath ${v.hostPath.path} (volume ${v.name})`).join(', ')}: a pod that reads or writes the node's files escapes its container; use a volume claim, a projected Secret or an emptyDir` });
  }
  return check('admission', `Pod Security default "${level}" on ${controllers.length} controllers, exemptions only for kube-system; anonymous requests only to health and cluster-info; ${workloads} of our workloads mount no hostPath`, findings);
}
