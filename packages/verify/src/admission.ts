// The admission check: what the API server itself enforces on every pod and
// every request, from the controllers' configs, and no host paths in any
// workload of the desired state but those listed with their reason.
import YAML from 'yaml';
import { HOST_PATH_EXCEPTIONS, type HostPathException } from './exceptions';
import { neverApplied, podSpecOf } from './objects';
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
 * - no workload of the desired state (ours, upstream charts' and Git
 *   sources') mounts a `hostPath` but the paths {@link HOST_PATH_EXCEPTIONS}
 *   lists for it with the reason (see {@link judgeHostPaths}).
 *
 * @see https://kubernetes.io/docs/tasks/configure-pod-container/enforce-standards-admission-controller/
 * @see https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-authenticator-configuration
 */
export function checkAdmission(manifests: readonly Manifest[], nodes: readonly NodeInfo[], hostPathExceptions: readonly HostPathException[] = HOST_PATH_EXCEPTIONS): CheckResult {
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
  const host = judgeHostPaths(manifests, hostPathExceptions);
  findings.push(...host.findings);
  return check('admission', `Pod Security default "${level}" on ${controllers.length} controllers, exemptions only for kube-system; anonymous requests only to health and cluster-info; ${host.summary}`, findings, host.warnings);
}

/** Where the exception table lives, for findings about it. */
const EXCEPTIONS_FILE = 'packages/verify/src/exceptions.ts';

const describeHostPathException = (e: HostPathException) => `${e.kind} ${e.namespace}/${e.name}`;

/**
 * Host paths of every workload (Deployment, StatefulSet, DaemonSet,
 * ReplicaSet, Job, CronJob, Pod) of `manifests`: each `hostPath` volume
 * fails unless {@link HOST_PATH_EXCEPTIONS} lists its workload with that
 * path. A pod that mounts the node's files escapes its container (the
 * `baseline` Pod Security level forbids it; the namespaces that run these
 * agents are `privileged` for them, so this table, not the namespace's level,
 * is what bounds them). Each exception used is reported as a warning with
 * its reason; one whose workload is rendered but mounts none of a listed
 * path is stale and fails; one whose workload this config does not render
 * is counted only.
 *
 * @see https://kubernetes.io/docs/concepts/storage/volumes/#hostpath
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline (HostPath Volumes)
 */
export function judgeHostPaths(manifests: readonly Manifest[], exceptions: readonly HostPathException[] = HOST_PATH_EXCEPTIONS): { findings: Finding[]; warnings: Finding[]; summary: string } {
  const findings: Finding[] = [];
  const used = new Map<HostPathException, Set<string>>();
  const rendered = new Set<HostPathException>();
  let workloads = 0;
  let volumes = 0;
  for (const { file, object } of manifests) {
    const pod = podSpecOf(object);
    if (!pod || neverApplied(object)) continue;
    workloads++;
    const namespace = object.metadata?.namespace ?? 'default';
    const exception = exceptions.find((e) => e.namespace === namespace && e.kind === object.kind && e.name === object.metadata?.name);
    if (exception) rendered.add(exception);
    const refused: string[] = [];
    for (const v of asArray<Loose>(pod.volumes).filter((x) => isRecord(x?.hostPath))) {
      volumes++;
      const path = String(v.hostPath.path ?? '');
      if (exception?.paths.includes(path)) used.set(exception, (used.get(exception) ?? new Set()).add(path));
      else refused.push(`hostPath ${path} (volume ${v.name})`);
    }
    if (refused.length > 0) {
      findings.push({
        file,
        message: `${describe(object)} mounts ${refused.join(', ')}: a pod that reads or writes the node's files escapes its container; use a volume claim, a projected Secret or an emptyDir, or, for a node agent that truly needs the path, list it with the reason in ${EXCEPTIONS_FILE} (HOST_PATH_EXCEPTIONS)`,
      });
    }
  }
  for (const e of rendered) {
    const idle = e.paths.filter((p) => !used.get(e)?.has(p));
    if (idle.length > 0) findings.push({ file: EXCEPTIONS_FILE, message: `stale exception: ${describeHostPathException(e)} lists host path${idle.length > 1 ? 's' : ''} ${idle.join(', ')}, which its rendered workload does not mount: remove ${idle.length > 1 ? 'them' : 'it'} from HOST_PATH_EXCEPTIONS` });
  }
  const warnings = [...used.keys()].map((e) => ({ file: EXCEPTIONS_FILE, message: `excused: ${describeHostPathException(e)} mounts host paths ${[...(used.get(e) ?? [])].join(', ')}: ${e.reason}` }));
  const others = exceptions.length - rendered.size;
  return {
    findings,
    warnings,
    summary: `${volumes} hostPath volumes in ${workloads} workloads of the desired state, only those of ${used.size} listed exceptions${others > 0 ? ` (${others} more for workloads this config does not render)` : ''}`,
  };
}
