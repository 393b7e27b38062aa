import { POD_SECURITY_EXCEPTIONS, type PodSecurityException, type PodSecurityRule } from './exceptions';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type Loose, type Manifest } from './types';

const POD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);
const BATCH = new Set(['Job', 'CronJob']);

/** The pod spec and labels of a Pod-bearing object. */
function podSpecOf(o: Manifest['object']): Loose {
  if (o.kind === 'Pod') return o.spec;
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template?.spec;
  return o.spec?.template?.spec;
}

/** Whether `image` names an exact version: a digest, or a tag other than `latest`. */
export function isPinnedImage(image: unknown): boolean {
  if (typeof image !== 'string' || image === '') return false;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  return colon > 0 && last.slice(colon + 1) !== 'latest' && last.slice(colon + 1) !== '';
}

const glob = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);

/** One rule broken by one container of one object. */
interface Violation {
  readonly file: string;
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  readonly container: string;
  readonly rule: PodSecurityRule;
  readonly message: string;
}

/** Every rule each container of `o` breaks. */
function violations(file: string, o: Manifest['object']): Violation[] {
  const pod = podSpecOf(o) ?? {};
  const psc = isRecord(pod.securityContext) ? pod.securityContext : {};
  const out: Violation[] = [];
  const kind = String(o.kind);
  const base = { file, namespace: o.metadata?.namespace ?? 'default', kind, name: o.metadata?.name ?? '?' };
  const add = (container: string, rule: PodSecurityRule, message: string) => out.push({ ...base, container, rule, message: `${describe(o)} container ${container}: ${message}` });
  for (const ns of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (pod[ns] === true) add('*', 'no-host-namespaces', `${ns}: true shares the node's namespace`);
  const containers = [...asArray<Loose>(pod.initContainers).map((c) => ({ c, init: true })), ...asArray<Loose>(pod.containers).map((c) => ({ c, init: false }))];
  for (const { c, init } of containers) {
    const name = String(c.name ?? '?');
    const sc = isRecord(c.securityContext) ? c.securityContext : {};
    const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    const runAsUser = sc.runAsUser ?? psc.runAsUser;
    if (runAsUser === 0) add(name, 'run-as-non-root', 'runs as root (runAsUser: 0)');
    else if (runAsNonRoot !== true) add(name, 'run-as-non-root', 'does not set runAsNonRoot: true (may run as root)');
    if (sc.allowPrivilegeEscalation !== false) add(name, 'no-privilege-escalation', 'does not set allowPrivilegeEscalation: false');
    if (sc.privileged === true) add(name, 'not-privileged', 'is privileged');
    // Pod Security's restricted level lets only NET_BIND_SERVICE be added back.
    const addedBack = asArray<string>((sc.capabilities as Loose)?.add).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (!asArray<string>((sc.capabilities as Loose)?.drop).includes('ALL')) add(name, 'drop-all-capabilities', 'does not drop ALL capabilities');
    else if (addedBack.length > 0) add(name, 'drop-all-capabilities', `adds ${addedBack.join(', ')} back after dropping ALL (only NET_BIND_SERVICE may be)`);
    if (sc.readOnlyRootFilesystem !== true) add(name, 'read-only-root-filesystem', 'does not set readOnlyRootFilesystem: true');
    const seccomp = (sc.seccompProfile as Loose)?.type ?? (psc.seccompProfile as Loose)?.type;
    if (seccomp !== 'RuntimeDefault') add(name, 'seccomp-runtime-default', `seccompProfile is ${seccomp ?? 'unset'}, not RuntimeDefault`);
    const r = c.resources ?? {};
    const missing = [['requests', 'cpu'], ['requests', 'memory'], ['limits', 'memory']].filter(([a, b]) => r[a]?.[b] === undefined).map(([a, b]) => `${a}.${b}`);
    if (missing.length > 0) add(name, 'resources', `sets no ${missing.join(', ')}`);
    if (!init && !BATCH.has(kind) && (!c.livenessProbe || !c.readinessProbe)) add(name, 'probes', `has no ${[!c.livenessProbe && 'livenessProbe', !c.readinessProbe && 'readinessProbe'].filter(Boolean).join(' or ')}`);
    if (!isPinnedImage(c.image)) add(name, 'pinned-image', `image ${JSON.stringify(c.image ?? null)} is not pinned to a tag (other than latest) or a digest`);
  }
  return out;
}

const excuses = (e: PodSecurityException, v: Violation) =>
  e.namespace === v.namespace && e.kind === v.kind && glob(e.name, v.name) && (e.container === undefined || e.container === v.container || v.container === '*') && e.rules.includes(v.rule);

/** The containers (init containers included) of a Pod-bearing object. */
const containersOf = (o: Manifest['object']): Loose[] => [...asArray<Loose>((podSpecOf(o) ?? {}).initContainers), ...asArray<Loose>((podSpecOf(o) ?? {}).containers)];

/** Whether `o` is the workload (and has the container) `e` is about, whatever rules it breaks. */
const targets = (e: PodSecurityException, o: Manifest['object']) =>
  (o.metadata?.namespace ?? 'default') === e.namespace &&
  o.kind === e.kind &&
  glob(e.name, String(o.metadata?.name ?? '')) &&
  (e.container === undefined || containersOf(o).some((c) => c.name === e.container));

const describeException = (e: PodSecurityException) => `${e.kind} ${e.namespace}/${e.name}${e.container ? ` container ${e.container}` : ''}`;

/** Where the exception table lives, for findings about it. */
const EXCEPTIONS_FILE = 'packages/verify/src/exceptions.ts';

/**
 * Pod security of every rendered workload (Deployment, StatefulSet,
 * DaemonSet, Job, CronJob): non-root, no privilege escalation, ALL
 * capabilities dropped, read-only root filesystem, seccomp RuntimeDefault,
 * memory limits with CPU and memory requests, liveness and readiness probes
 * (not for Jobs), images pinned; deviations only through
 * {@link POD_SECURITY_EXCEPTIONS}.
 *
 * An exception is stale, and fails, when its workload is rendered but a rule
 * it lists excuses nothing there (the workload was fixed, or the rule was
 * never needed). An exception whose workload this config does not render (an
 * app switched off, or the other media server) is not stale: the table serves
 * every config, so it is only counted in the summary.
 *
 * Limits: CPU limits are not required (they throttle; memory limits bound the node).
 */
export function checkWorkloadSecurity(manifests: readonly Manifest[], exceptions: readonly PodSecurityException[] = POD_SECURITY_EXCEPTIONS): CheckResult {
  const workloads = manifests.filter((m) => POD_KINDS.has(String(m.object.kind)));
  const all = workloads.flatMap((m) => violations(m.file, m.object));
  const usedRules = new Map<PodSecurityException, Set<PodSecurityRule>>(exceptions.map((e) => [e, new Set()]));
  const findings: Finding[] = [];
  for (const v of all) {
    const e = exceptions.find((x) => excuses(x, v));
    if (e) usedRules.get(e)?.add(v.rule);
    else findings.push({ file: v.file, message: `${v.message} [${v.rule}]; fix it, or list it with the reason in ${EXCEPTIONS_FILE}` });
  }
  const notRendered: PodSecurityException[] = [];
  for (const e of exceptions) {
    const rendered = workloads.filter((m) => targets(e, m.object));
    if (rendered.length === 0) {
      notRendered.push(e);
      continue;
    }
    const idle = e.rules.filter((r) => !usedRules.get(e)?.has(r));
    if (idle.length === 0) continue;
    const where = rendered.map((m) => m.file).join(', ');
    findings.push({
      file: EXCEPTIONS_FILE,
      message:
        idle.length === e.rules.length
          ? `stale exception: ${describeException(e)} (${e.rules.join(', ')}) excuses nothing; its workload is rendered (${where}) and follows ${idle.length === 1 ? 'that rule' : 'those rules'}: remove the exception`
          : `stale exception: ${describeException(e)} lists ${idle.join(', ')}, which its rendered workload follows (${where}): remove ${idle.length === 1 ? 'that rule' : 'those rules'} from the exception`,
    });
  }
  const used = exceptions.filter((e) => (usedRules.get(e)?.size ?? 0) > 0).length;
  const charts = manifests.filter((m) => m.object.kind === 'Application' && m.object.spec?.source?.chart !== undefined).length;
  return check(
    'workload-security',
    `${workloads.length} rendered workloads, ${workloads.reduce((n, m) => n + containersOf(m.object).length, 0)} containers, ${used} listed exceptions${notRendered.length > 0 ? `, ${notRendered.length} more for workloads this config does not render (${notRendered.map(describeException).join(', ')})` : ''} (${charts} upstream charts are bounded by their namespace's Pod Security level)`,
    findings,
  );
}
