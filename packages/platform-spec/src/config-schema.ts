import * as z from 'zod';
import {
  BACKUP_LAYERS,
  DIGITALOCEAN_REGIONS,
  HETZNER_LOCATIONS,
  FLATCAR_CHANNELS,
  INGRESS_LAYERS,
  NETWORK_LAYERS,
  STORAGE_LAYERS,
  SUPPORTED_KUBERNETES_VERSIONS,
} from './catalogue';

/** RFC 1123 label: what droplet, node and namespace names are made of. */
const DNS_LABEL = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
/** A cluster's random id: 8 lower-case hex digits (32 random bits), made once with `crypto.randomBytes(4)`. */
export const CLUSTER_ID = /^[0-9a-f]{8}$/;
/**
 * The `cluster.id` of every config Keelson ships (apps/platform/platform.yaml,
 * examples/, the example config): a copy that keeps one shares its bucket
 * names with every other copy. Synth says so; a test keeps this list equal
 * to the files.
 */
export const SHIPPED_CLUSTER_IDS: ReadonlySet<string> = new Set(['8bef49a9', 'c977f0c8', 'e3539604', '1ce7fa43', '065a2437', '3ad8ffd0', '604bfcd1', '58485e28', '5e396a84', '6c291f9a', '2e498d68']);
/** A fully qualified domain name with at least two labels, no trailing dot. */
const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** DigitalOcean size slugs look like `s-4vcpu-8gb`; Hetzner server types like `cx33`. */
const SIZE_SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** IPv4 CIDR with a prefix length. */
const IPV4_CIDR = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(3[0-2]|[12]?\d)$/;
/**
 * A Git URL Argo CD can clone: https, or ssh in either form. The host may
 * not start with `-`, which ssh would read as an option (`-oProxyCommand=`).
 */
const GIT_URL = /^(https:\/\/(?!-)[^\s/]+\/\S+|ssh:\/\/([^\s/@]+@)?(?!-)\S+|[\w.-]+@(?!-)[\w.-]+:\S+)$/;

/** An https URL with user info (`user:token@host`, `token@host`): credentials that would end up in every render. */
const CREDENTIAL_URL = /^https?:\/\/[^/\s]*@/;
/**
 * A Git ref name as `git check-ref-format` allows it (and a commit hash):
 * no `..`, `@{`, `//`, control or shell characters, not starting with `-`, `/`
 * or `.`, not ending with `/`, `.` or `.lock`.
 *
 * @see https://git-scm.com/docs/git-check-ref-format
 */
const GIT_REF = /^(?![-/.])(?!.*\.\.)(?!.*@\{)(?!.*\/\/)(?!.*\/\.)(?!.*(\.lock|\/|\.)$)[A-Za-z0-9._/+@-]+$/;
/** A relative folder of the repository: segments that do not start with a dot, so never `.`, `..` or `.git`. */
const GITOPS_PATH = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
/** Top-level folders of a Keelson repository that synth must never replace with its charts. */
const RESERVED_TOP = new Set(['secrets', 'infra-out', 'desired-out', 'node_modules', 'apps', 'packages', 'tools', 'tmp']);

const DEFAULT_NODE_SIZE = 's-4vcpu-8gb';

const nodeSize = (what: string) =>
  z
    .string()
    .regex(SIZE_SLUG)
    .default(DEFAULT_NODE_SIZE)
    .meta({ description: `Node size for ${what}: a DigitalOcean size slug, or a Hetzner Cloud server type it sells now (e.g. cx33; retired types such as cx32 are refused).` });

const anyThird = z.strictObject({
  type: z.literal('any-third').meta({
    description:
      '`any-third`: any k = floor(N/3) nodes may fail at once; etcd runs 2k+1 members, Ceph keeps k+2 copies across hosts.',
  }),
});

const failureDomains = z.strictObject({
  type: z.literal('failure-domains').meta({
    description:
      '`failure-domains`: nodes are dealt round-robin over `domains` zones and any one whole zone may fail; cheaper: Ceph keeps 3 copies across zones.',
  }),
  domains: z
    .int()
    .min(3)
    .max(26)
    .default(3)
    .meta({ description: 'Number of failure domains (zone-a, zone-b, ...). At least 3.' }),
});

/** A public host: a DNS label under `domain`, or `@` for the domain itself. */
const HOST = /^(@|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/;
/** A container image pinned by an exact tag (not `latest`) or a digest. */
const PINNED_IMAGE = /^(?!.*:latest$)[a-z0-9][a-z0-9._/:-]*[a-z0-9](:\w[\w.-]{0,127}|@sha256:[a-f0-9]{64})$/;
/** An absolute path inside an image, without `..`. */
const IMAGE_PATH = /^\/(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]*$/;
/** A relative folder inside a repository, without `..`. */
const REPO_PATH = /^(\.|(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)$/;

const appHost = (app: string, dflt: string) =>
  z
    .string()
    .regex(HOST)
    .default(dflt)
    .meta({ description: `Host ${app} is served at: a DNS label under \`domain\` (\`${dflt}\` gives ${dflt}.<domain>), or \`@\` for the domain itself.` });

const appEnabled = (app: string) => z.boolean().default(true).meta({ description: `Deploy ${app}. \`false\` renders none of its objects or namespaces.` });

const websiteSource = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('builtin').meta({
        description:
          'Where the website content comes from: `builtin` (a small placeholder page), `image` (copied from a content image at start) or `git` (cloned from a public https repository at start).',
      }),
    }),
    z.strictObject({
      type: z.literal('image'),
      image: z
        .string()
        .regex(PINNED_IMAGE)
        .meta({ description: '`image` source: the content image, pinned by exact tag or digest (e.g. ghcr.io/you/site:1.4.0). It must contain `cp`.' }),
      path: z.string().regex(IMAGE_PATH).default('/site').meta({ description: '`image` source: folder inside the image holding the site.' }),
    }),
    z.strictObject({
      type: z.literal('git'),
      repoURL: z
        .string()
        .regex(/^https:\/\/[^\s/]+\/\S+$/)
        .refine((url) => !CREDENTIAL_URL.test(url), {
          message: 'holds credentials (user:password@ or token@ before the host), which would be written into charts-out/ and printed in reports; the site is cloned from a public repository: remove them',
        })
        .meta({ description: '`git` source: public https URL of the repository holding the site (no credentials).' }),
      revision: z
        .string()
        .regex(GIT_REF)
        .meta({ description: '`git` source: tag, branch or commit to serve (a tag or commit keeps the site reproducible).' }),
      path: z.string().regex(REPO_PATH).default('.').meta({ description: '`git` source: folder of the repository holding the site.' }),
    }),
  ])
  .default({ type: 'builtin' });

const appsSchema = z
  .strictObject({
    nextcloud: z
      .strictObject({
        enabled: appEnabled('Nextcloud (and the CloudNativePG operator for its database)'),
        host: appHost('Nextcloud', 'cloud'),
        dataSizeGiB: z.int().min(1).max(65536).default(100).meta({ description: 'Size of the shared (ReadWriteMany) volume holding Nextcloud and its files, in GiB.' }),
        databaseSizeGiB: z.int().min(1).max(4096).default(10).meta({ description: "Size of each PostgreSQL instance's volume, in GiB." }),
      })
      .default({ enabled: true, host: 'cloud', dataSizeGiB: 100, databaseSizeGiB: 10 }),
    media: z
      .strictObject({
        enabled: appEnabled('the media server'),
        server: z.enum(['emby', 'jellyfin']).default('emby').meta({ description: 'Media server: `emby` or `jellyfin`; swapping changes only the media objects.' }),
        host: appHost('the media server', 'media'),
        librarySizeGiB: z.int().min(1).max(65536).default(500).meta({ description: 'Size of the shared (ReadWriteMany) media library volume, in GiB.' }),
      })
      .default({ enabled: true, server: 'emby', host: 'media', librarySizeGiB: 500 }),
    website: z
      .strictObject({
        enabled: appEnabled('the static website'),
        host: appHost('the website', 'www'),
        source: websiteSource.meta({ description: 'Where the website content comes from.' }),
      })
      .default({ enabled: true, host: 'www', source: { type: 'builtin' } }),
  })
  .default({
    nextcloud: { enabled: true, host: 'cloud', dataSizeGiB: 100, databaseSizeGiB: 10 },
    media: { enabled: true, server: 'emby', host: 'media', librarySizeGiB: 500 },
    website: { enabled: true, host: 'www', source: { type: 'builtin' } },
  })
  .meta({ description: 'The self-hosted apps: Nextcloud, a media server and a static website.' });

/**
 * The platform config file (`platform.yaml`), as a zod schema.
 *
 * Every key has a description; `tools/config-reference.mjs` renders the
 * README's config reference from this schema, so the two cannot drift.
 */
export const platformConfigSchema = z.strictObject({
  cluster: z.strictObject({
    name: z
      .string()
      .min(2)
      .max(20)
      .regex(DNS_LABEL)
      .meta({ description: 'Cluster name; prefixes node, volume and bucket names. Lower-case letters, digits, dashes.' }),
    id: z
      .string()
      .regex(CLUSTER_ID)
      .meta({
        description:
          'Random id made once for this cluster (8 lower-case hex digits): bucket names are global on each cloud, so buckets are `<name>-<id>-backups` and `<name>-<id>-ignition`. Make your own (a config without one is refused with a fresh value to paste); changing it later means new, empty buckets and orphans the old ones with their backups.',
      }),
  }),
  provider: z.discriminatedUnion('name', [
    z.strictObject({
      name: z.literal('digitalocean').meta({ description: 'Cloud provider: `digitalocean` (default platform) or `hetzner`.' }),
      region: z.enum(DIGITALOCEAN_REGIONS).meta({ description: 'DigitalOcean region slug, or Hetzner Cloud location, for every resource.' }),
    }),
    z.strictObject({
      name: z.literal('hetzner'),
      region: z.enum(HETZNER_LOCATIONS),
    }),
  ]),
  nodes: z.strictObject({
    controllers: z.strictObject({
      count: z.int().min(1).meta({
        description:
          'Controllers: etcd members and API servers that also run workloads. Odd, at least 2k+1 where k = floor(N/3) (any-third), at most 7.',
      }),
      size: nodeSize('controllers'),
    }),
    workers: z
      .strictObject({
        count: z.int().min(0).max(1000).default(0).meta({ description: 'Workers: nodes that run only workloads and storage.' }),
        size: nodeSize('workers'),
      })
      .default({ count: 0, size: DEFAULT_NODE_SIZE }),
    volumeSizeGiB: z
      .int()
      .min(10)
      .max(16384)
      .default(100)
      .meta({ description: 'Size of the block volume attached to every node for Ceph OSDs, in GiB.' }),
  }),
  faultModel: z
    .discriminatedUnion('type', [anyThird, failureDomains])
    .default({ type: 'any-third' })
    .meta({ description: 'What "fault tolerant" promises. Default: any third of the nodes may fail at once.' }),
  domain: z
    .string()
    .regex(DOMAIN)
    .meta({ description: 'DNS domain the public services live under (e.g. cloud.example.com).' }),
  acme: z.strictObject({
    email: z.email().meta({ description: "Contact e-mail for Let's Encrypt." }),
    environment: z
      .enum(['staging', 'production'])
      .default('staging')
      .meta({ description: "Let's Encrypt environment. Staging until you say production." }),
  }),
  gitops: z.strictObject({
    repoURL: z
      .string()
      .regex(GIT_URL)
      .refine((url) => !CREDENTIAL_URL.test(url), {
        message: 'holds credentials (user:password@ or token@ before the host), which would be written into charts-out/ and every node\'s user-data; remove them and give Argo CD a deploy key or a repository Secret at deploy time',
      })
      .meta({ description: 'Git repository Argo CD syncs charts-out/ from (no credentials in the URL).' }),
    revision: z
      .string()
      .regex(GIT_REF)
      .default('main')
      .meta({ description: 'Branch, tag or commit Argo CD tracks (a valid Git ref name).' }),
    path: z
      .string()
      .regex(GITOPS_PATH)
      .refine((p) => !RESERVED_TOP.has(p.split('/')[0]), {
        message: `names a folder synth does not own (${[...RESERVED_TOP].join(', ')}): synth replaces this folder whole, so it would delete that; use a folder of its own such as "charts-out"`,
      })
      .default('charts-out')
      .meta({ description: 'Folder of the repository that holds the rendered charts; synth replaces it whole, so it is a folder of its own (no `.`, `..`, `.git`, `secrets`, `infra-out`).' }),
  }),
  versions: z
    .strictObject({
      kubernetes: z
        .enum(SUPPORTED_KUBERNETES_VERSIONS)
        .default('1.36')
        .meta({ description: 'Kubernetes minor version (quoted: "1.36").' }),
      flatcarChannel: z.enum(FLATCAR_CHANNELS).default('stable').meta({ description: 'Flatcar Container Linux channel.' }),
    })
    .default({ kubernetes: '1.36', flatcarChannel: 'stable' }),
  layers: z
    .strictObject({
      network: z.enum(NETWORK_LAYERS).default('cilium').meta({ description: 'Pod network (both encrypt with WireGuard).' }),
      ingress: z.enum(INGRESS_LAYERS).default('traefik').meta({ description: 'Ingress controller behind expose().' }),
      storage: z.enum(STORAGE_LAYERS).default('rook-ceph').meta({ description: 'Distributed storage.' }),
      backups: z.enum(BACKUP_LAYERS).default('velero').meta({ description: 'Backups of volumes and etcd.' }),
    })
    .default({ network: 'cilium', ingress: 'traefik', storage: 'rook-ceph', backups: 'velero' }),
  pki: z
    .strictObject({
      keyAlgorithm: z
        .enum(['ecdsa-p256', 'ecdsa-p384'])
        .default('ecdsa-p256')
        .meta({ description: 'Key algorithm of every CA and certificate.' }),
      caValidityDays: z
        .int()
        .min(365)
        .max(36500)
        .default(3650)
        .meta({ description: 'Lifetime of the etcd, Kubernetes and front-proxy CAs, in days.' }),
      leafValidityDays: z
        .int()
        .min(30)
        .max(825)
        .default(365)
        .meta({ description: 'Lifetime of leaf certificates, in days: the bundle\'s (rotate with `keelson pki rotate`) and those nodes issue for themselves with kubeadm.' }),
    })
    .default({ keyAlgorithm: 'ecdsa-p256', caValidityDays: 3650, leafValidityDays: 365 })
    .meta({ description: 'The cluster PKI (secrets bundle).' }),
  adminCidrs: z
    .array(z.string().regex(IPV4_CIDR))
    .min(1)
    .meta({ description: 'IPv4 CIDRs allowed to reach the Kubernetes API (6443) through its load balancer.' }),
  apps: appsSchema,
});

/** The config as written in the file (defaults not yet applied). */
export type PlatformConfigInput = z.input<typeof platformConfigSchema>;
/** The config after parsing: every default applied. */
export type PlatformConfig = z.output<typeof platformConfigSchema>;
export type FaultModel = PlatformConfig['faultModel'];
