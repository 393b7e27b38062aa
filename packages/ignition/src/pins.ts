import type { KubernetesVersion } from '@keelson/platform-spec';

/**
 * Every version a node downloads, in one place.
 *
 * Kubernetes comes from the Flatcar sysext bakery. A node fetches the pinned
 * patch release at first boot with `systemd-sysupdate`, which checks the image
 * against the bakery's SHA256SUMS over HTTPS; afterwards the same transfer
 * definition keeps the node on the newest patch of its minor release.
 * Raise a patch here when a new one is out; a new minor is a config change
 * (`versions.kubernetes`) that `keelson upgrade` rolls out node by node.
 *
 * @see https://flatcar.github.io/sysext-bakery/kubernetes/
 */
export const KUBERNETES_RELEASES: Readonly<Record<KubernetesVersion, string>> = {
  '1.35': '1.35.6',
  '1.36': '1.36.2',
};

/** Where the bakery serves its extensions (and each directory's SHA256SUMS). */
export const SYSEXT_BASE_URL = 'https://extensions.flatcar.org/extensions';

/** The architecture suffix the bakery names images with; DigitalOcean droplets are x86-64. */
export const SYSEXT_ARCH = 'x86-64';

/**
 * The file name of a Kubernetes release's image in the bakery, such as
 * `kubernetes-v1.36.2-x86-64.raw`: what the sysupdate transfer matches, what
 * a node keeps under `/opt/extensions/kubernetes`, and what `keelson lock`
 * looks up in the bakery's SHA256SUMS.
 */
export function kubernetesSysextImage(release: string): string {
  return `kubernetes-v${release}-${SYSEXT_ARCH}.raw`;
}

/** Address ranges inside the cluster: from the platform contract. */
export { CLUSTER_NETWORK } from '@keelson/platform-spec';

/**
 * The etcd image whose `etcdutl` restores a snapshot on the first controller
 * (Flatcar has no etcd tools on the host). The same tag as
 * `BACKUP_IMAGES.etcd` in `@keelson/backups-velero`, which takes the
 * snapshots: that package is in the cluster layer, so host packages cannot
 * import it; raise both together. 3.6.8-0 is the etcd kubeadm runs with
 * Kubernetes 1.36, and etcd 3.6 restores with `etcdutl` (etcdctl's restore
 * is gone in 3.6).
 *
 * @see https://etcd.io/docs/v3.6/op-guide/recovery/
 */
export const ETCD_RESTORE_IMAGE = 'registry.k8s.io/etcd:3.6.8-0';
