/**
 * The one place where a rendered workload is excused from a pod-security
 * rule, each with the reason. The table serves every config: an exception
 * whose workload a config does not render (Emby when the media server is
 * Jellyfin or off) is left alone, but one whose workload is rendered and
 * follows a rule it lists fails verify as stale, so the table only ever
 * lists what the platform needs.
 *
 * Upstream charts (Cilium agents, Velero's node agent) are judged here for
 * host paths only ({@link HOST_PATH_EXCEPTIONS}); for the other rules they
 * are bounded by their namespace's Pod Security level, whose reason
 * platform-spec states on the Namespace (`keelson.dev/pod-security-reason`).
 * Pods an operator makes at run time (Ceph OSDs and the CSI node plugins,
 * made by Rook and the ceph-csi-operator) are not in the desired state.
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
 * A workload of the desired state (ours, an upstream chart's or a Git
 * source's) allowed to mount host paths, with the reason. Only the paths
 * listed are allowed; any other `hostPath` volume of any workload fails
 * verify's `admission` check. As with the other tables, an exception whose
 * workload this config does not render (Cilium's agents under flannel) is
 * left alone, but one whose rendered workload no longer mounts a listed path
 * fails as stale.
 */
export interface HostPathException {
  readonly namespace: string;
  /** Deployment, StatefulSet, DaemonSet, Job, CronJob. */
  readonly kind: string;
  readonly name: string;
  /** The host paths (`hostPath.path`, exact) it may mount. */
  readonly paths: readonly string[];
  /** One line: why the workload needs the node's files. */
  readonly reason: string;
}

export const HOST_PATH_EXCEPTIONS: readonly HostPathException[] = [
  {
    namespace: 'kube-system',
    kind: 'DaemonSet',
    name: 'cilium',
    paths: ['/var/run/cilium', '/var/run/netns', '/sys/fs/bpf', '/proc', '/run/cilium/cgroupv2', '/opt/cni/bin', '/etc/cni/net.d', '/lib/modules', '/run/xtables.lock', '/var/run/cilium/envoy/sockets', '/proc/sys/net', '/proc/sys/kernel'],
    reason: "Cilium's agent is the node's pod network: it installs the CNI plugin and its config, pins eBPF maps in /sys/fs/bpf, attaches to the cgroup v2 root and pod network namespaces, loads kernel modules, sets sysctls, shares the xtables lock with the kubelet, and talks to Envoy through its socket directory (cilium chart).",
  },
  {
    namespace: 'kube-system',
    kind: 'DaemonSet',
    name: 'cilium-envoy',
    paths: ['/var/run/cilium/envoy/sockets', '/var/run/cilium/envoy/artifacts', '/sys/fs/bpf'],
    reason: "Cilium's per-node Envoy proxy serves the agent through the shared socket directory and reads the eBPF maps the agent pins (cilium chart).",
  },
  {
    namespace: 'kube-flannel',
    kind: 'DaemonSet',
    name: 'kube-flannel-ds',
    paths: ['/lib/modules', '/run/flannel', '/opt/cni/bin', '/etc/cni/net.d', '/run/xtables.lock'],
    reason: "flannel's agent is the node's pod network (the flannel example): it installs the CNI plugin and its config, loads kernel modules (br_netfilter), writes the node's subnet lease to /run/flannel and shares the xtables lock with the kubelet (flannel chart).",
  },
  {
    namespace: 'velero',
    kind: 'DaemonSet',
    name: 'node-agent',
    paths: ['/var/lib/kubelet/pods', '/var/lib/kubelet/plugins'],
    reason: "Velero's node agent backs up volume data from the files: it reads each pod's mounted volumes under the kubelet's pod and CSI plugin directories (velero chart, deployNodeAgent).",
  },
  {
    namespace: 'kured',
    kind: 'DaemonSet',
    name: 'kured',
    paths: ['/var/run'],
    reason: "kured reads, read-only, the reboot sentinel /var/run/reboot-required that a staged Flatcar update leaves on the node (kured chart's sentinel volume; node-maintenance).",
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
  /** The replicas the exception is about; rendered with any other count, it is stale. */
  readonly replicas: number;
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
    replicas: 1,
    summary: 'Argo CD pauses syncing while its node is down; every service keeps running',
    reason:
      "Argo CD's application controller is one StatefulSet pod in Argo CD v3.5.1's HA install (its Deployment form for dynamic cluster distribution is not in the pinned install). " +
      'While its node is down, Git changes are not synced and drift is not healed; every service keeps running, and Argo CD resumes when the node is back or replaced (`keelson deploy`).',
  },
  {
    namespace: 'argocd',
    kind: 'StatefulSet',
    name: 'argocd-redis-ha-server',
    replicas: 3,
    summary: "Argo CD's cache may lose all 3 Redis servers when k >= 3; Argo CD pauses, every service keeps running",
    reason:
      "Argo CD's Redis (a cache it rebuilds) runs as exactly 3 servers in Argo CD v3.5.1's HA install: its HAProxy and Sentinel configuration name one announce Service per server (argocd-redis-ha-announce-0..2), which an Application's patches cannot add to, so it cannot run k+1 servers when k >= 3 (9 nodes and more under any-third). " +
      'When a failure takes all three, the Argo CD API and syncs stop until one is back; every service keeps running.',
  },
];

/**
 * A namespace excused from a network-policy rule, with the reason. As with
 * the other tables, an exception that excuses nothing rendered fails verify
 * as stale.
 */
export interface NetworkPolicyException {
  readonly namespace: string;
  /** `default-deny`: the namespace has none; `allow-all`: a policy of it lets everything in or out. */
  readonly rule: 'default-deny' | 'allow-all';
  /** The NetworkPolicy (or Cilium policy) for `allow-all`; any when left out. */
  readonly policy?: string;
  readonly reason: string;
}

export const NETWORK_POLICY_EXCEPTIONS: readonly NetworkPolicyException[] = [
  {
    namespace: 'kube-system',
    rule: 'default-deny',
    reason:
      'kube-system is the cluster\'s own namespace, not created by Keelson: Cilium\'s agents and operator run on the host network (a NetworkPolicy does not select them), CoreDNS must answer every pod, and kubeadm\'s static pods live there; the metadata service is still denied to its pod-network pods by keelson-deny-link-local.',
  },
  {
    namespace: 'argocd',
    rule: 'allow-all',
    policy: 'argocd-server-network-policy',
    reason:
      "Argo CD v3.5.1's HA install ships argocd-server-network-policy with `ingress: [{}]` (the UI and API, which authenticate every call); Keelson exposes no Ingress or load balancer for it, so only pods inside the cluster reach it. Replacing the upstream policy needs a kustomize patch of the pinned install.",
  },
];

/**
 * A RoleBinding or ClusterRoleBinding allowed to grant cluster-admin or a
 * wildcard role, with the reason: upstream operators whose job needs it.
 */
export interface RbacException {
  readonly kind: 'ClusterRoleBinding' | 'RoleBinding';
  /** RoleBindings only. */
  readonly namespace?: string;
  readonly name: string;
  readonly reason: string;
}

export const RBAC_EXCEPTIONS: readonly RbacException[] = [
  {
    kind: 'ClusterRoleBinding',
    name: 'argocd-application-controller',
    reason: 'Argo CD applies and prunes every kind the app of apps holds (CRDs, RBAC, webhooks): its application controller needs every verb on every resource (the upstream install).',
  },
  {
    kind: 'ClusterRoleBinding',
    name: 'argocd-server',
    reason: "Argo CD's API server gets, patches and deletes any resource for the UI's resource actions (upstream install's argocd-server ClusterRole: get, patch, delete on */*).",
  },
  {
    kind: 'ClusterRoleBinding',
    name: 'velero-server',
    reason: 'Velero backs up and restores every kind in every namespace (the chart binds cluster-admin by design, rbac.clusterAdministrator).',
  },
  {
    kind: 'RoleBinding',
    namespace: 'velero',
    name: 'velero-server',
    reason: 'Velero manages its own namespace (backups, restores, data-mover pods): the chart\'s velero-server Role has every verb on every resource there.',
  },
];

/** An Argo CD Application excused from automated sync with prune and self-heal, with the reason. */
export interface SyncPolicyException {
  readonly application: string;
  readonly missing: 'prune' | 'selfHeal' | 'automated';
  readonly reason: string;
}

export const SYNC_POLICY_EXCEPTIONS: readonly SyncPolicyException[] = [
  {
    application: 'argocd',
    missing: 'prune',
    reason: 'Argo CD manages its own install: it never prunes its own parts mid-sync (gitops-argocd app-of-apps.ts); an object dropped from the pinned install is left in place and shown OutOfSync (requires pruning) until removed by hand.',
  },
  {
    application: 'ingress-gateway-api-crds',
    missing: 'prune',
    reason: 'The Gateway API CRDs (ingress-lego gateway.ts): pruning a CRD deletes every route of its kind in the cluster, so a CRD dropped from the pinned release is left in place and shown OutOfSync until removed by hand.',
  },
];
