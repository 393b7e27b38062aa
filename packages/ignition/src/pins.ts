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

/** Address ranges inside the cluster: from the platform contract. */
export { CLUSTER_NETWORK } from '@keelson/platform-spec';
