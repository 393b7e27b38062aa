/**
 * Fixed catalogues the config is checked against: cloud regions, supported
 * versions and the swappable layer implementations.
 *
 * Kept in one file so that moving to a new Kubernetes minor or adding a region
 * is a one-line change with a test that notices.
 */

/**
 * DigitalOcean region slugs that accept new droplets, VPCs and Spaces buckets.
 *
 * @see https://docs.digitalocean.com/platform/regional-availability/
 */
export const DIGITALOCEAN_REGIONS = [
  'ams3',
  'atl1',
  'blr1',
  'fra1',
  'lon1',
  'nyc1',
  'nyc2',
  'nyc3',
  'ric1',
  'sfo2',
  'sfo3',
  'sgp1',
  'syd1',
  'tor1',
] as const;
export type DigitalOceanRegion = (typeof DIGITALOCEAN_REGIONS)[number];

/**
 * Hetzner Cloud locations (the second provider behind the same seam).
 *
 * @see https://docs.hetzner.com/cloud/general/locations/
 */
export const HETZNER_LOCATIONS = ['fsn1', 'nbg1', 'hel1', 'ash', 'hil', 'sin'] as const;
export type HetznerLocation = (typeof HETZNER_LOCATIONS)[number];

/**
 * Kubernetes minor versions Keelson renders for (Flatcar sysext bakery builds,
 * kubeadm config `v1beta4`). The newest is the default.
 */
export const SUPPORTED_KUBERNETES_VERSIONS = ['1.35', '1.36'] as const;
export type KubernetesVersion = (typeof SUPPORTED_KUBERNETES_VERSIONS)[number];

/** Flatcar Container Linux release channels a node may follow. */
export const FLATCAR_CHANNELS = ['stable', 'beta'] as const;
export type FlatcarChannel = (typeof FLATCAR_CHANNELS)[number];

/** Pod network implementations (issue #6 renders them). */
export const NETWORK_LAYERS = ['cilium', 'flannel'] as const;
/** Ingress implementations behind the same `expose()` seam. */
export const INGRESS_LAYERS = ['traefik', 'gateway-api'] as const;
/** Distributed storage implementations. */
export const STORAGE_LAYERS = ['rook-ceph'] as const;
/** Backup implementations. */
export const BACKUP_LAYERS = ['velero'] as const;

export type NetworkLayerChoice = (typeof NETWORK_LAYERS)[number];
export type IngressLayerChoice = (typeof INGRESS_LAYERS)[number];
export type StorageLayerChoice = (typeof STORAGE_LAYERS)[number];
export type BackupLayerChoice = (typeof BACKUP_LAYERS)[number];

/**
 * Most etcd members Keelson will run. etcd's own guidance is that 5 is the
 * sweet spot and 7 the practical maximum: every write waits for a majority,
 * so more members buy tolerance with latency.
 *
 * @see https://etcd.io/docs/v3.6/faq/#what-is-maximum-cluster-size
 */
export const MAX_ETCD_MEMBERS = 7;

/**
 * Most Ceph monitors Keelson will run (Rook accepts 1 to 9). The etcd limit
 * binds first today (2k+1 <= 7); the storage layer (#7) checks this one.
 *
 * @see https://rook.io/docs/rook/latest/CRDs/Cluster/ceph-cluster-crd/#mon-settings
 */
export const MAX_CEPH_MONITORS = 9;

/**
 * The private network the nodes share (a DigitalOcean VPC, a Hetzner network):
 * the infrastructure creates it, nodes find their own address in it, and the
 * firewall lets node-to-node traffic in only from it. Chosen away from the pod
 * (10.244.0.0/16) and service (10.96.0.0/16) ranges.
 */
export const NODE_NETWORK_CIDR = '10.10.0.0/16';

/**
 * Address ranges inside the cluster: pods and Services. Every layer that
 * routes or filters traffic reads them from here, and the node network must
 * not overlap them.
 */
export const CLUSTER_NETWORK = {
  podSubnet: '10.244.0.0/16',
  serviceSubnet: '10.96.0.0/16',
  dnsDomain: 'cluster.local',
} as const;
