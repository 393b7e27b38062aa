/**
 * The one place where a rendered workload is excused from a pod-security
 * rule, each with the reason. The table serves every config: an exception
 * whose workload a config does not render (Emby when the media server is
 * Jellyfin or off) is left alone, but one whose workload is rendered and
 * follows a rule it lists fails verify as stale, so the table only ever
 * lists what the platform needs.
 *
 * Upstream charts (Cilium agents, Ceph OSDs run by Rook, Velero's node
 * agent) are not rendered here: Helm renders their pods at sync, so they are
 * bounded by their namespace's Pod Security level instead, whose reason
 * platform-spec states on the Namespace (`keelson.dev/pod-security-reason`).
 */

/** The rules of the workload-security check. */
export type PodSecurityRule =
  | 'run-as-non-root'
  | 'no-privilege-escalation'
  | 'drop-all-capabilities'
  | 'read-only-root-filesystem'
  | 'seccomp-runtime-default'
  | 'not-privileged'
  | 'no-host-namespaces'
  | 'resources'
  | 'probes'
  | 'pinned-image';

/** One excused deviation. */
export interface PodSecurityException {
  readonly namespace: string;
  /** Deployment, StatefulSet, DaemonSet, Job, CronJob. */
  readonly kind: string;
  /** The object's name; `*` matches any run of characters. */
  readonly name: string;
  /** One container (or init container); every container when left out. */
  readonly container?: string;
  readonly rules: readonly PodSecurityRule[];
  /** Why the workload cannot follow the rule. */
  readonly reason: string;
}

export const POD_SECURITY_EXCEPTIONS: readonly PodSecurityException[] = [
  {
    namespace: 'emby',
    kind: 'Deployment',
    name: 'emby',
    container: 'emby',
    rules: ['run-as-non-root', 'read-only-root-filesystem', 'drop-all-capabilities'],
    reason:
      'The Emby Server image starts as root and drops to its UID/GID itself, writing its runtime files into the root filesystem; after dropping ALL it adds back only CHOWN, DAC_OVERRIDE, FOWNER, SETGID and SETUID, which that needs (apps-nextcloud-emby-site media-server.ts; the emby namespace is baseline for it).',
  },
];

/**
 * A workload excused from the fault budget's "keeps running" rule, with the
 * reason. As with {@link POD_SECURITY_EXCEPTIONS}, an exception whose
 * workload is rendered but no longer needs it fails verify as stale.
 */
export interface FaultToleranceException {
  readonly namespace: string;
  readonly kind: 'StatefulSet';
  readonly name: string;
  /** One line for reports. */
  readonly summary: string;
  /** What stops while its node is down, what keeps running, and when it is back. */
  readonly reason: string;
}

export const FAULT_TOLERANCE_EXCEPTIONS: readonly FaultToleranceException[] = [
  {
    namespace: 'argocd',
    kind: 'StatefulSet',
    name: 'argocd-application-controller',
    summary: 'Argo CD pauses syncing while its node is down; every service keeps running',
    reason:
      "Argo CD's application controller is one StatefulSet pod in Argo CD v3.5.1's HA install (its Deployment form for dynamic cluster distribution is not in the pinned install). " +
      'While its node is down, Git changes are not synced and drift is not healed; every service keeps running, and Argo CD resumes when the node is back or replaced (`keelson deploy`).',
  },
];
