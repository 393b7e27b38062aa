/**
 * The recovery promise of a stateful singleton (a media server, a Ceph
 * manager without a standby): it is down while its node is, and serving
 * again on another node within a stated bound. The bound is the sum of
 * timeouts Kubernetes applies, so each term is named here once; layers size
 * their tolerations from it and `verify` checks the rendered timeouts
 * against it.
 */
export const RECOVERY = {
  /** The platform's bound, in seconds, unless a workload states its own with {@link RECOVERY.annotation}. */
  boundSeconds: 90,
  /** Annotation on a single-replica workload stating its own bound in seconds, e.g. `"90"`. */
  annotation: 'keelson.dev/recovery-bound-seconds',
  /**
   * How long the node controller waits for a silent node before tainting it
   * `unreachable`/`not-ready`: kube-controller-manager's
   * `--node-monitor-grace-period` default, 50 s since Kubernetes 1.32 (used
   * when the kubeadm config does not set the flag).
   *
   * @see https://github.com/kubernetes/kubernetes/pull/126287
   * @see https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/
   */
  nodeMonitorGracePeriodSeconds: 50,
  /**
   * The `tolerationSeconds` the DefaultTolerationSeconds admission plugin
   * gives a pod that does not tolerate `not-ready`/`unreachable` itself.
   *
   * @see https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#defaulttolerationseconds
   */
  defaultTolerationSeconds: 300,
  /**
   * Allowance for eviction, scheduling, attaching shared volumes, pulling the
   * image on a node that lacks it and the first successful readiness probe.
   */
  startAllowanceSeconds: 30,
  /**
   * The `unreachable`/`not-ready` tolerationSeconds a singleton gets so it
   * fits the bound: bound − grace period − start allowance (90 − 50 − 30).
   */
  failoverTolerationSeconds: 10,
} as const;
