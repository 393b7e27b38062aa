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
