import { NODE_NETWORK_CIDR, type FlatcarChannel, type HetznerLocation } from '@keelson/platform-spec';

/**
 * Every version and every Hetzner-specific constant the Hetzner rendering
 * uses, in one place.
 */

/**
 * Terraform providers, pinned exactly (the lock file records their hashes;
 * an upgrade is a change here).
 *
 * - `hcloud` 1.66.1: 1.66.0 broke existing configurations (issue 1478,
 *   reverted downstream); the current server types (`cx23`, `cpx22`, ...)
 *   need no provider support (the API resolves the name), but servers of the
 *   retired types are refused by the API, so no older line is worth keeping.
 *   1.63 was the first release with `subnet_id` in a server's inline
 *   `network` block (so a server boots with its private address, no
 *   `depends_on` race); it has `location` on `hcloud_primary_ip` (1.58; the
 *   API dropped `datacenter` on 1 July 2026) and the DNS resources
 *   (`hcloud_zone`, `hcloud_zone_rrset`, added in 1.56). Their provider docs
 *   still mark them experimental: "DNS API is in beta, breaking changes may
 *   occur within minor releases", so a provider upgrade may need changes
 *   here: one more reason to pin exactly.
 * - `minio` 3.38.3 talks to Hetzner Object Storage, which Hetzner recommends
 *   managing with it; it tolerates the bucket-tagging calls Hetzner does not
 *   implement.
 *
 * @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs
 * @see https://github.com/hetznercloud/terraform-provider-hcloud/issues/1478
 * @see https://github.com/hcloud-k8s/terraform-hcloud-kubernetes/pull/458
 * @see https://github.com/hetznercloud/terraform-provider-hcloud/pull/1278
 * @see https://github.com/hetznercloud/terraform-provider-hcloud/pull/1309
 * @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/zone_rrset
 * @see https://docs.hetzner.cloud/changelog#2025-10-07-dns-beta
 * @see https://docs.hetzner.com/storage/object-storage/getting-started/creating-a-bucket-minio-terraform
 */
export const TERRAFORM_PROVIDERS = {
  hcloud: { source: 'hetznercloud/hcloud', version: '1.66.1' },
  minio: { source: 'aminueza/minio', version: '3.38.3' },
} as const;

/**
 * Label selector of the Flatcar snapshot new servers boot from, per channel.
 *
 * Hetzner Cloud cannot import a disk image: a snapshot is made once per
 * project by writing Flatcar's Hetzner image onto a throw-away server from
 * the rescue system and snapshotting its disk. `hcloud-upload-image` does
 * all of that in one command and labels the snapshot so this selector finds
 * it (see `src/hetzner/README.md`):
 *
 * ```sh
 * hcloud-upload-image upload --architecture=x86 --compression=bz2 \
 *   --image-url=https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_hetzner_image.bin.bz2 \
 *   --labels os=flatcar,flatcar-channel=stable --description flatcar-stable-x86
 * ```
 *
 * The newest matching snapshot is used. Only the first boot uses it: Flatcar
 * updates itself in place afterwards and servers ignore `image` changes, so
 * a newer snapshot never replaces a running node.
 *
 * @see https://www.flatcar.org/docs/latest/installing/cloud/hetzner/
 * @see https://github.com/apricote/hcloud-upload-image
 */
export const FLATCAR_SNAPSHOT_SELECTOR: Readonly<Record<FlatcarChannel, string>> = {
  stable: 'os=flatcar,flatcar-channel=stable',
  beta: 'os=flatcar,flatcar-channel=beta',
};

/**
 * The private network every server and load balancer joins.
 *
 * 10.10.0.0/16 stays clear of the pod (10.244.0.0/16) and service
 * (10.96.0.0/16) ranges of the cluster network.
 *
 * @see https://docs.hetzner.com/cloud/networks/faq
 */
export const PRIVATE_NETWORK = {
  ipRange: NODE_NETWORK_CIDR,
  /** The one cloud subnet nodes and load balancers get their addresses from. */
  subnet: '10.10.0.0/20',
  /**
   * The API load balancer's fixed private address, which every node's
   * `/etc/hosts` maps `api.<domain>` to. Servers and the ingress load
   * balancer get theirs automatically. Hetzner reserves the first address
   * of the network (the gateway, 10.10.0.1) and 172.31.1.1, and hands out
   * automatic addresses from the bottom of the subnet (gateway .1, then .2,
   * .3, ... in its architecture example), so the top of the /20 stays clear
   * of the at most 151 automatic ones (150 servers, the ingress balancer).
   * The attachment is also created before any server, so no automatic
   * address can take it whatever the order; the API refuses a taken address
   * (`ip_not_available`) rather than sharing it.
   * @see https://docs.hetzner.com/networking/networks/technical-concepts/architecture
   * @see https://registry.terraform.io/providers/hetznercloud/hcloud/1.66.1/docs/resources/network_route
   * @see https://docs.hetzner.cloud/reference/cloud#load-balancer-actions-attach-a-load-balancer-to-a-network
   */
  apiLoadBalancerIp: '10.10.15.254',
  /**
   * The first controller's fixed private address; the controller at index
   * `i` (topology order, at most 7) gets `10.10.15.241 + i` (see
   * {@link controllerPrivateIp}). Like the API load balancer's, they sit at
   * the top of the subnet, clear of the gateway, of 172.31.1.1 and of the
   * at most 151 automatic addresses counted up from the bottom, and below
   * 10.10.15.254 and the broadcast address. Pinned so the host firewall
   * accepts etcd from the controllers only (`controllerPrivateAddresses`).
   * @see https://registry.terraform.io/providers/hetznercloud/hcloud/1.66.1/docs/resources/server#ip-1
   */
  firstControllerIp: '10.10.15.241',
} as const;

/** The fixed private address of the controller at `index` (0-based, topology order): 10.10.15.241 to 10.10.15.247. */
export function controllerPrivateIp(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 6) throw new Error(`controllerPrivateIp: index ${index} is not a controller index (0 to 6; at most 7 controllers)`);
  const [a, b, c, d] = PRIVATE_NETWORK.firstControllerIp.split('.').map(Number);
  return `${a}.${b}.${c}.${d + index}`;
}

/**
 * Network zone of each location (a network and its subnets live in one zone).
 * @see https://docs.hetzner.com/cloud/networks/faq
 */
export const NETWORK_ZONES: Readonly<Record<HetznerLocation, string>> = {
  fsn1: 'eu-central',
  nbg1: 'eu-central',
  hel1: 'eu-central',
  ash: 'us-east',
  hil: 'us-west',
  sin: 'ap-southeast',
};

/**
 * Where the secret parts of node configs are stored: Hetzner Object Storage
 * exists only in Falkenstein, Nuremberg and Helsinki, so clusters elsewhere
 * keep them in Falkenstein (each node fetches its part once, over HTTPS).
 *
 * @see https://docs.hetzner.com/storage/object-storage/overview
 */
export const OBJECT_STORAGE_LOCATIONS: Readonly<Record<HetznerLocation, string>> = {
  fsn1: 'fsn1',
  nbg1: 'nbg1',
  hel1: 'hel1',
  ash: 'fsn1',
  hil: 'fsn1',
  sin: 'fsn1',
};

/**
 * How long a secret part stays in the bucket after an apply uploads it: a
 * node reads it once, at first boot (the next apply uploads it again, for a
 * node replaced later). Same policy as the DigitalOcean Spaces bucket.
 *
 * @see https://registry.terraform.io/providers/aminueza/minio/latest/docs/resources/ilm_policy
 */
export const SECRET_PART_EXPIRY = '1d';

/**
 * How long the versioned backups bucket keeps a replaced or deleted object
 * (a noncurrent version): 30 days, as the DigitalOcean Spaces bucket.
 *
 * @see https://registry.terraform.io/providers/aminueza/minio/latest/docs/resources/ilm_policy
 */
export const BACKUP_NONCURRENT_EXPIRY = '30d';

/**
 * How long a presigned secret-part link works: seven days, the SigV4 maximum,
 * so a node created within a week of rendering can still fetch its part
 * (the object itself is uploaded again by every apply).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
export const SECRET_PART_LINK_SECONDS = 7 * 24 * 3600;

/** Host of the S3 endpoint of an Object Storage location. */
export const objectStorageHost = (location: string): string => `${location}.your-objectstorage.com`;

/**
 * Load balancer types, smallest first, with how many targets each takes: a
 * label-selector target counts every server it matches.
 *
 * @see https://docs.hetzner.com/cloud/load-balancers/overview
 */
export const LOAD_BALANCER_TYPES: ReadonlyArray<{ readonly name: string; readonly maxTargets: number }> = [
  { name: 'lb11', maxTargets: 25 },
  { name: 'lb21', maxTargets: 75 },
  { name: 'lb31', maxTargets: 150 },
];

/**
 * Servers per spread placement group: Hetzner puts each server of a group on
 * a different physical host, for at most 10 servers. Nodes of different
 * groups may share a host, so with `ceil(N/10)` groups a host holds at most
 * `ceil(N/10)` nodes (one per group).
 *
 * @see https://docs.hetzner.com/cloud/placement-groups/overview
 */
export const SPREAD_GROUP_SIZE = 10;

/**
 * The largest user-data a server accepts.
 * @see https://docs.hetzner.cloud/reference/cloud#servers-create-a-server
 */
export const USER_DATA_LIMIT_BYTES = 32 * 1024;

/** One Hetzner Cloud server type: its size, and what kind of vCPU it has. */
export interface HetznerServerType {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  /** Local NVMe disk, GB. */
  readonly diskGB: number;
  /** `shared` vCPUs (cost-optimized `cx`, regular `cpx`) or `dedicated` (`ccx`). */
  readonly cpu: 'shared' | 'dedicated';
}

/** The date {@link SERVER_TYPES} and {@link RETIRED_SERVER_TYPES} were last checked against Hetzner's line-up. */
export const SERVER_TYPES_AS_OF = '2026-01-01';

/**
 * The x86 server types Hetzner Cloud sells (as of {@link SERVER_TYPES_AS_OF}),
 * smallest first within each family: cost-optimized shared vCPU (`cx23`–`cx53`,
 * EU locations only), regular shared vCPU (`cpx12`–`cpx62`) and dedicated vCPU
 * (`ccx13`–`ccx63`). Arm types (`cax`) are left out: nodes download x86-64
 * system extensions. A server type is not compiled into the Terraform
 * provider: the API decides, so this list is what a config is checked against
 * before `apply` fails on it.
 *
 * @see https://docs.hetzner.cloud/changelog#2025-10-16-server-types-deprecated
 * @see https://docs.hetzner.com/cloud/servers/overview
 * @see https://github.com/apricote/hcloud-upload-image/pull/129
 * @see https://github.com/fabianwimberger/cloud-bench/pull/23
 */
export const SERVER_TYPES: readonly HetznerServerType[] = [
  { name: 'cx23', vcpus: 2, memoryGiB: 4, diskGB: 40, cpu: 'shared' },
  { name: 'cx33', vcpus: 4, memoryGiB: 8, diskGB: 80, cpu: 'shared' },
  { name: 'cx43', vcpus: 8, memoryGiB: 16, diskGB: 160, cpu: 'shared' },
  { name: 'cx53', vcpus: 16, memoryGiB: 32, diskGB: 320, cpu: 'shared' },
  { name: 'cpx12', vcpus: 1, memoryGiB: 2, diskGB: 40, cpu: 'shared' },
  { name: 'cpx22', vcpus: 2, memoryGiB: 4, diskGB: 80, cpu: 'shared' },
  { name: 'cpx32', vcpus: 4, memoryGiB: 8, diskGB: 160, cpu: 'shared' },
  { name: 'cpx42', vcpus: 8, memoryGiB: 16, diskGB: 320, cpu: 'shared' },
  { name: 'cpx52', vcpus: 12, memoryGiB: 24, diskGB: 480, cpu: 'shared' },
  { name: 'cpx62', vcpus: 16, memoryGiB: 32, diskGB: 640, cpu: 'shared' },
  { name: 'ccx13', vcpus: 2, memoryGiB: 8, diskGB: 80, cpu: 'dedicated' },
  { name: 'ccx23', vcpus: 4, memoryGiB: 16, diskGB: 160, cpu: 'dedicated' },
  { name: 'ccx33', vcpus: 8, memoryGiB: 32, diskGB: 240, cpu: 'dedicated' },
  { name: 'ccx43', vcpus: 16, memoryGiB: 64, diskGB: 360, cpu: 'dedicated' },
  { name: 'ccx53', vcpus: 32, memoryGiB: 128, diskGB: 600, cpu: 'dedicated' },
  { name: 'ccx63', vcpus: 48, memoryGiB: 192, diskGB: 960, cpu: 'dedicated' },
];

/**
 * Server types Hetzner no longer sells, with the day they left sale and
 * their size (to suggest the current types of that size). Existing servers
 * keep running; a new server of these types is refused by the API.
 *
 * @see https://docs.hetzner.cloud/changelog#2025-10-16-server-types-deprecated
 * @see https://github.com/hcloud-talos/terraform-hcloud-talos/pull/320
 */
export const RETIRED_SERVER_TYPES: Readonly<Record<string, { readonly since: string; readonly vcpus: number; readonly memoryGiB: number }>> = {
  cx22: { since: '2026-01-01', vcpus: 2, memoryGiB: 4 },
  cx32: { since: '2026-01-01', vcpus: 4, memoryGiB: 8 },
  cx42: { since: '2026-01-01', vcpus: 8, memoryGiB: 16 },
  cx52: { since: '2026-01-01', vcpus: 16, memoryGiB: 32 },
  cpx11: { since: '2026-01-01', vcpus: 2, memoryGiB: 2 },
  cpx21: { since: '2026-01-01', vcpus: 3, memoryGiB: 4 },
  cpx31: { since: '2026-01-01', vcpus: 4, memoryGiB: 8 },
  cpx41: { since: '2026-01-01', vcpus: 8, memoryGiB: 16 },
  cpx51: { since: '2026-01-01', vcpus: 16, memoryGiB: 32 },
};

/**
 * The current server types of a size: per family (`cx`, `cpx`, `ccx`), the
 * smallest with at least `memoryGiB` of memory; least memory first, then
 * cx, cpx, ccx.
 */
export function serverTypesOfSize(memoryGiB: number): readonly HetznerServerType[] {
  const fit = SERVER_TYPES.filter((t) => t.memoryGiB >= memoryGiB);
  const families = new Map<string, HetznerServerType>();
  for (const t of fit) {
    const family = t.name.replace(/\d+$/, '');
    const seen = families.get(family);
    if (!seen || t.memoryGiB < seen.memoryGiB) families.set(family, t);
  }
  // Map order is the line-up's family order (cx, cpx, ccx); a stable sort keeps it between equal sizes.
  return [...families.values()].sort((a, b) => a.memoryGiB - b.memoryGiB);
}

/** Terraform resource types of what the checks read: a node's server, a bucket (Object Storage through the `minio` provider), an SSH key. */
export const RESOURCE_TYPES = { server: 'hcloud_server', bucket: 'minio_s3_bucket', sshKey: 'hcloud_ssh_key' } as const;
