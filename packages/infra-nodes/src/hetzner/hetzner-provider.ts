import {
  PlatformConfigError,
  type CloudApiOptions,
  type CloudPower,
  type ConfigProblem,
  type MonthlyCost,
  type InfraInput,
  type NodeBootConfig,
  type NodeProvider,
  type NodeRole,
  type NodeSpec,
  type ObjectStoreCredentials,
  type ObjectBucket,
  type PlatformSpec,
  type TerraformDocument,
} from '@keelson/platform-spec';
import type { TerraformStack } from 'cdktf';
// The same port plan and local backend as DigitalOcean (types only: no DigitalOcean binding is loaded).
import type { DigitalOceanBackend, IngressTargetPorts } from '../digitalocean/digitalocean-provider';
import { controllerInboundRules, nodeInboundRules, nodeToNodeRules, type InboundRulePlan } from '../internal/firewall';
// One byte-stable rendering for both clouds.
import { addStateBackend, newStack, renderStack } from '../internal/terraform-json';
import { isPlainRelativePath, secretPartContent } from '../internal/secret-part';
import { presignS3Url } from '../presign';
import { backupObjectUrl } from '../internal/backup-object';
import { clusterBucketName } from '../internal/bucket-name';
import { hetznerPower, HETZNER_TOKEN_VARIABLE } from './hetzner-power';
import { hetznerMonthlyCost } from './prices';
import {
  BACKUP_NONCURRENT_EXPIRY,
  FLATCAR_SNAPSHOT_SELECTOR,
  LOAD_BALANCER_TYPES,
  NETWORK_ZONES,
  OBJECT_STORAGE_LOCATIONS,
  PRIVATE_NETWORK,
  SECRET_PART_EXPIRY,
  RETIRED_SERVER_TYPES,
  SECRET_PART_LINK_SECONDS,
  SERVER_TYPES,
  SERVER_TYPES_AS_OF,
  serverTypesOfSize,
  SPREAD_GROUP_SIZE,
  TERRAFORM_PROVIDERS,
  USER_DATA_LIMIT_BYTES,
  RESOURCE_TYPES,
  controllerPrivateIp,
  objectStorageHost,
} from './pins';
import {
  GenericDataSource,
  GenericProvider,
  GenericResource,
  literal,
  output,
  type GenericBlockProps,
  type TfAttributes,
  type TfValue,
} from './terraform-json';

/** Where the `api.` and `*.` records of `config.domain` go. */
export interface HetznerDnsProps {
  /**
   * The Hetzner DNS zone holding the records: `config.domain` itself or a parent of it.
   * @default - config.domain
   */
  readonly zone?: string;
  /**
   * Whether this configuration creates the zone (and `terraform destroy` deletes it).
   * @default false — the zone must already exist in the project; plan fails early if it does not
   */
  readonly createZone?: boolean;
}

/** Where Terraform keeps its state; the same shape as `DigitalOceanBackend`, remote state in Hetzner Object Storage. */
export type HetznerBackend =
  | Extract<DigitalOceanBackend, { readonly type: 'local' }>
  | {
      /** State in a Hetzner Object Storage bucket (S3 backend). */
      readonly type: 's3';
      /** An existing bucket: it cannot be one this configuration creates. */
      readonly bucket: string;
      /**
       * Object key of the state.
       * @default '<cluster>/terraform.tfstate'
       */
      readonly key?: string;
      /**
       * Object Storage location of the bucket (`fsn1`, `nbg1` or `hel1`); the endpoint is `https://<region>.your-objectstorage.com`.
       * @default - the location of the platform's buckets (`OBJECT_STORAGE_LOCATIONS`)
       */
      readonly region?: string;
    };

/** Options of {@link HetznerProvider}; every one has a default, and they mirror `DigitalOceanProviderProps`. */
export interface HetznerProviderProps {
  /**
   * Label selector of the Flatcar snapshot servers boot from (the newest match wins).
   * @default - `FLATCAR_SNAPSHOT_SELECTOR[versions.flatcarChannel]` from `pins.ts`, e.g. `os=flatcar,flatcar-channel=stable`
   */
  readonly imageSelector?: string;
  /**
   * Ports on every node the ingress controller listens on (hostPort or
   * NodePort), which the ingress load balancer forwards 80 and 443 to.
   * @default { http: 80, https: 443 }
   */
  readonly ingressTargetPorts?: IngressTargetPorts;
  /**
   * Whether the ingress load balancer sends the PROXY protocol header to the
   * ingress controller (set it when the ingress layer expects it, to see client addresses).
   * @default false
   */
  readonly ingressProxyProtocol?: boolean;
  /** @default - records in the existing zone `config.domain` */
  readonly dns?: HetznerDnsProps;
  /** @default { type: 'local', path: 'terraform.tfstate' } */
  readonly backend?: HetznerBackend;
}

const DEFAULT_INGRESS_TARGET_PORTS: IngressTargetPorts = { http: 80, https: 443 };

/**
 * Attributes a plain `terraform apply` never changes on a running server: a
 * new pointer, a newer snapshot or another server type would restart or
 * replace every node at once; `keelson upgrade` replaces nodes one at a time.
 */
export const SERVER_IGNORED_CHANGES = ['user_data', 'image', 'server_type'] as const;

const LABEL = {
  cluster: 'keelson.dev/cluster',
  role: 'keelson.dev/role',
  node: 'keelson.dev/node',
} as const;

/**
 * Hetzner Cloud behind the {@link NodeProvider} seam: the platform the
 * DigitalOcean provider renders (private network, firewalls with no SSH, one
 * server and one raw volume per node, an API and an ingress load balancer, a
 * private bucket for the secret parts of node configs, DNS records) as
 * Terraform JSON for the `hetznercloud/hcloud` provider, through cdktf's
 * generic resources (no prebuilt hcloud bindings exist).
 *
 * What differs from DigitalOcean, each explained in `src/hetzner/README.md`:
 * - Flatcar boots from a snapshot made once per project (`pins.ts`).
 * - Secret parts live in Hetzner Object Storage (managed with the `minio`
 *   provider, as Hetzner recommends); nodes fetch them through a presigned,
 *   expiring link, exactly as on DigitalOcean.
 * - Cloud firewalls filter public interfaces only; load balancers and nodes
 *   talk over the private network, which Hetzner never filters (the private
 *   port plan is not enforced by the cloud; see the README).
 * - Load balancers have no source filter, so the API load balancer has no
 *   public interface: nodes reach it over the private network, admins reach
 *   6443 on the controllers' public addresses, which the firewall limits to
 *   `adminCidrs`.
 * - Spread placement groups over all nodes, so a host holds at most
 *   `ceil(N/10)` nodes (see {@link placementGroupIndex}).
 *
 * Credentials never enter the JSON: `HCLOUD_TOKEN` for Hetzner Cloud,
 * `MINIO_USER`/`MINIO_PASSWORD` (an Object Storage access key) for the bucket.
 *
 * @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs
 */
export class HetznerProvider implements NodeProvider {
  readonly id = 'hetzner' as const;
  /** `HCLOUD_TOKEN`, which the hcloud Terraform provider reads too. */
  readonly apiTokenVariable = HETZNER_TOKEN_VARIABLE;
  /** `MINIO_USER` and `MINIO_PASSWORD`: an Object Storage key, as the `minio` Terraform provider reads it. */
  readonly objectStoreCredentialVariables = ['MINIO_USER', 'MINIO_PASSWORD'] as const;
  readonly displayName = 'Hetzner Cloud';
  /** 32 KiB. @see https://docs.hetzner.cloud/reference/cloud#servers-create-a-server */
  readonly userDataLimitBytes = USER_DATA_LIMIT_BYTES;
  /**
   * The console (VNC over a websocket) shows the server's screen without SSH.
   * @see https://docs.hetzner.cloud/reference/cloud#server-actions-request-console-for-a-server
   */
  readonly consoleHint = "the server's console in the Hetzner Cloud Console";
  readonly server = { resourceType: RESOURCE_TYPES.server, typeAttribute: 'server_type' } as const;
  readonly serverTypeHint = `the current Hetzner Cloud server types (${SERVER_TYPES.map((t) => t.name).join(', ')})`;
  private readonly props: HetznerProviderProps;

  constructor(props: HetznerProviderProps = {}) {
    checkProps(props);
    this.props = props;
  }

  /**
   * Refuses a platform not on Hetzner, and server types Hetzner Cloud does
   * not sell: retired ones (`cx32`, `cpx31`, ...) with the current types of
   * their size, DigitalOcean slugs, Arm and unknown types with the line-up
   * (`SERVER_TYPES` in `pins.ts`).
   */
  checkSpec(spec: PlatformSpec): void {
    checkSpec(spec);
  }

  /**
   * `https://<cluster>-ignition-<hash>.<location>.your-objectstorage.com/<node>.ign`:
   * the private object a node's pointer merges at first boot. With `signing`,
   * the link is presigned (SigV4, region = the Object Storage location) and
   * works for {@link SECRET_PART_LINK_SECONDS} from `signing.now`; the same
   * inputs give the same link. Without it, the bare URL, which nodes cannot fetch.
   */
  secretPartUrl(spec: PlatformSpec, node: NodeSpec, signing?: { readonly credentials: ObjectStoreCredentials; readonly now: Date }): string {
    checkSpec(spec);
    const store = secretStore(spec);
    const url = `https://${store.bucket}.${objectStorageHost(store.location)}/${secretPartKey(node)}`;
    if (!signing) return url;
    return presignS3Url({
      url,
      accessKeyId: signing.credentials.accessKeyId,
      secretAccessKey: signing.credentials.secretAccessKey,
      region: store.location,
      expiresSeconds: SECRET_PART_LINK_SECONDS,
      now: signing.now,
    });
  }

  /**
   * The Object Storage key pair from `MINIO_USER` and `MINIO_PASSWORD`, the
   * variables the `minio` Terraform provider reads too; `undefined` unless both are set.
   */
  credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): ObjectStoreCredentials | undefined {
    const [accessKeyId, secretAccessKey] = this.objectStoreCredentialVariables.map((name) => env[name]);
    return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
  }

  /**
   * The monthly cost from `prices.ts`: servers by type, load balancers by
   * type; volumes, addresses and Object Storage have no checked price yet,
   * so the total is a lower bound (and the table predates Hetzner's 2026 increases).
   */
  monthlyCost(spec: PlatformSpec): MonthlyCost {
    checkSpec(spec);
    return hetznerMonthlyCost(spec);
  }

  /** The private, versioned Object Storage bucket for backups. */
  backupBucket(spec: PlatformSpec): ObjectBucket {
    checkSpec(spec);
    const store = secretStore(spec);
    return { bucket: store.backupsBucket, endpoint: `https://${objectStorageHost(store.location)}`, region: store.location };
  }

  /**
   * An object in the backups bucket, e.g. an etcd snapshot:
   * `https://<backups bucket>.<location>.your-objectstorage.com/<key>`,
   * presigned (SigV4, region = the Object Storage location) for 7 days from
   * `signing.now`; the same inputs give the same link. Without `signing`,
   * the bare URL, which nobody can fetch (the bucket is private).
   */
  backupObjectUrl(spec: PlatformSpec, key: string, signing?: { readonly credentials: ObjectStoreCredentials; readonly now: Date }): string {
    return backupObjectUrl('HetznerProvider.backupObjectUrl', this.backupBucket(spec), key, signing);
  }

  /**
   * The servers' power actions through the Hetzner Cloud API
   * (`https://api.hetzner.cloud/v1` unless `options.baseUrl`): each node's
   * server found by its name, `poweroff` and `poweron` actions, each waited
   * for until it succeeded.
   */
  cloudPower(options: CloudApiOptions): CloudPower {
    return hetznerPower(options);
  }

  /**
   * The API load balancer's fixed private address (`PRIVATE_NETWORK.apiLoadBalancerIp`),
   * which node configs give `api.<domain>` in `/etc/hosts`: public DNS
   * holds the controllers' public addresses, which the controller firewall
   * opens to `adminCidrs` only, not to the nodes.
   */
  apiPrivateAddress(spec: PlatformSpec): string {
    checkSpec(spec);
    return PRIVATE_NETWORK.apiLoadBalancerIp;
  }

  /**
   * The controllers' fixed private addresses, in topology order
   * (`10.10.15.241`, `.242`, ...: {@link controllerPrivateIp}), which each
   * controller's server requests in its `network` block; node configs accept
   * etcd (2379-2380) only from them.
   */
  controllerPrivateAddresses(spec: PlatformSpec): readonly string[] {
    checkSpec(spec);
    return spec.topology.controllers.map((node) => controllerPrivateIp(node.index - 1));
  }

  /** The Terraform address of a node's server, for `terraform apply -replace=...`. */
  serverAddress(node: NodeSpec): string {
    return `${this.server.resourceType}.${node.name}`;
  }

  /** vCPUs and memory of a current server type (`SERVER_TYPES` in `pins.ts`); undefined for a retired or unknown one. */
  serverSize(type: string): { vcpus: number; memoryGiB: number } | undefined {
    const known = SERVER_TYPES.find((t) => t.name === type);
    return known && { vcpus: known.vcpus, memoryGiB: known.memoryGiB };
  }

  /**
   * Hetzner names a volume's by-id link after its numeric ID, known only
   * after apply, so the filter matches any Hetzner volume: the provider
   * attaches exactly one per server.
   * @see https://docs.hetzner.com/cloud/volumes/overview
   */
  volumeDevicePathFilter(_spec: PlatformSpec): string {
    return '^/dev/disk/by-id/scsi-0HC_Volume_[0-9]+$';
  }

  /**
   * Renders `main.tf.json`. Throws a {@link PlatformConfigError} listing
   * every setting Hetzner cannot use (a DigitalOcean size, another
   * provider), and an `Error` when the boot configs do not match the
   * topology or do not fit a server's user-data.
   */
  renderTerraform(input: InfraInput): TerraformDocument {
    const { spec } = input;
    checkSpec(spec);
    // The ingress layer's target, when given, wins over the props.
    const target = input.ingressTarget;
    const props: HetznerProviderProps = target ? { ...this.props, ingressTargetPorts: { http: target.http, https: target.https }, ingressProxyProtocol: target.proxyProtocol } : this.props;
    if (target) checkProps(props);
    checkInput(spec, input.nodes, props, (node) => this.secretPartUrl(spec, node));
    const stack = newStack(spec.config.cluster.name);
    buildStack(stack, spec, input.nodes, props);
    return { fileName: 'main.tf.json', content: renderStack(stack) };
  }
}

/** The object key of a node's secret part. */
const secretPartKey = (node: { readonly name: string }): string => `${node.name}.ign`;

/**
 * Where secret parts (`bucket`) and backups (`backupsBucket`) live. Bucket
 * names are global across Hetzner Object Storage, so both names carry the
 * cluster's random `cluster.id` (see {@link clusterBucketName}).
 */
function secretStore(spec: PlatformSpec): { bucket: string; backupsBucket: string; location: string } {
  const { provider } = spec.config;
  const location = provider.name === 'hetzner' ? OBJECT_STORAGE_LOCATIONS[provider.region] : OBJECT_STORAGE_LOCATIONS.fsn1;
  return { bucket: clusterBucketName(spec, 'ignition'), backupsBucket: clusterBucketName(spec, 'backups'), location };
}

/** Locations that have Object Storage (where an S3 backend bucket can be). */
const STORAGE_LOCATIONS = [...new Set(Object.values(OBJECT_STORAGE_LOCATIONS))];

function checkProps(props: HetznerProviderProps): void {
  const ports = props.ingressTargetPorts ?? DEFAULT_INGRESS_TARGET_PORTS;
  // The ingress load balancer must never reach a port nodes use among themselves.
  const taken = new Set(
    [...nodeToNodeRules('cilium'), ...nodeToNodeRules('flannel'), ...controllerInboundRules([])]
      .filter((r) => r.protocol === 'tcp' && r.ports !== undefined)
      .flatMap((r) => expandPorts(r.ports as string)),
  );
  for (const [what, port] of Object.entries(ports)) {
    if (!Number.isInteger(port) || port < 1 || port > 65535 || taken.has(port) || port === 22) {
      throw new Error(
        `HetznerProvider: ingressTargetPorts.${what} is ${port}; use a free TCP port (80/443 or a NodePort in 30000-32767), not 22 or one the nodes use among themselves`,
      );
    }
  }
  if (ports.http === ports.https) throw new Error(`HetznerProvider: ingressTargetPorts.http and .https are both ${ports.http}; give HTTP and HTTPS their own port`);
  const backend = props.backend;
  if (backend?.type === 's3') {
    if (!backend.bucket) throw new Error('HetznerProvider: backend.bucket is empty; name an existing Object Storage bucket for the state');
    if (backend.region !== undefined && !STORAGE_LOCATIONS.includes(backend.region)) {
      throw new Error(`HetznerProvider: backend.region is ${JSON.stringify(backend.region)}; Object Storage exists in ${STORAGE_LOCATIONS.join(', ')} only`);
    }
  }
}

function expandPorts(ports: string): number[] {
  const [from, to = from] = ports.split('-').map(Number);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function checkSpec(spec: PlatformSpec): void {
  const problems: ConfigProblem[] = [];
  const { provider, nodes } = spec.config;
  if (provider.name !== 'hetzner') {
    problems.push({
      path: 'provider.name',
      message: `got "${provider.name}", but HetznerProvider renders Hetzner Cloud only; set provider.name to "hetzner" with a Hetzner location, or use nodeProviderFor(spec)`,
    });
  }
  const roles: ReadonlyArray<{ role: NodeRole; path: string; size: string; count: number }> = [
    { role: 'controller', path: 'nodes.controllers.size', size: nodes.controllers.size, count: nodes.controllers.count },
    { role: 'worker', path: 'nodes.workers.size', size: nodes.workers.size, count: nodes.workers.count },
  ];
  for (const { path, size, count } of roles) {
    // An unused role keeps the schema's default (a DigitalOcean slug): nothing is created from it.
    if (count === 0 || SERVER_TYPES.some((t) => t.name === size)) continue;
    problems.push({ path, message: sizeProblem(size) });
  }
  if (problems.length > 0) throw new PlatformConfigError('HetznerProvider', problems);
}

/** The current types of a size, as an error message lists them: `"cx33" (4 vCPU, 8 GiB), ...`. */
const listTypes = (memoryGiB: number): string =>
  serverTypesOfSize(memoryGiB)
    .map((t) => `"${t.name}" (${t.vcpus} ${t.cpu} vCPU, ${t.memoryGiB} GiB)`)
    .join(', ');

/**
 * Why `size` is refused, and the current server types to use instead: for a
 * retired type, those of its size; otherwise the smallest of each family
 * that runs a node (8 GiB).
 */
function sizeProblem(size: string): string {
  const retired = RETIRED_SERVER_TYPES[size];
  if (retired) {
    return `"${size}" (${retired.vcpus} vCPU, ${retired.memoryGiB} GiB) is no longer sold by Hetzner Cloud (since ${retired.since}); use a current server type of that size: ${listTypes(retired.memoryGiB)}`;
  }
  const fix = `use a current x86 Hetzner Cloud server type (line-up of ${SERVER_TYPES_AS_OF}), e.g. ${listTypes(8)}; all: ${SERVER_TYPES.map((t) => t.name).join(', ')}`;
  if (size.includes('-')) return `"${size}" is a DigitalOcean size slug, not a Hetzner Cloud server type; ${fix}`;
  if (/^cax\d+$/.test(size)) return `"${size}" is an Arm server type, but nodes download x86-64 Kubernetes system extensions; ${fix}`;
  return `"${size}" is not a Hetzner Cloud server type Keelson knows; ${fix}`;
}

function checkInput(spec: PlatformSpec, boots: readonly NodeBootConfig[], props: HetznerProviderProps, urlOf: (node: NodeSpec) => string): void {
  const nodes = spec.topology.nodes;
  const dns = props.dns ?? {};
  const problems: string[] = [];
  if (boots.length !== nodes.length) {
    problems.push(`got ${boots.length} boot configs for ${nodes.length} nodes; pass one per node of spec.topology, in the same order`);
  }
  nodes.forEach((node, i) => {
    const boot = boots[i];
    if (!boot) return;
    if (boot.name !== node.name) {
      problems.push(`boot config #${i + 1} is for "${boot.name}", but node #${i + 1} of the topology is "${node.name}"; keep the topology order`);
      return;
    }
    const bytes = Buffer.byteLength(boot.userData, 'utf8');
    if (bytes > USER_DATA_LIMIT_BYTES) {
      problems.push(`user-data of "${node.name}" is ${bytes} bytes; Hetzner Cloud accepts at most ${USER_DATA_LIMIT_BYTES}; move content into the secret part or a remote file`);
    }
    if (boot.secretPartFile !== undefined && !isPlainRelativePath(boot.secretPartFile)) {
      problems.push(
        `secretPartFile of "${node.name}" is ${JSON.stringify(boot.secretPartFile)}; give a path relative to the Terraform file, without "." or ".." segments, of letters, digits, ".", "_", "-" and "/" (e.g. "ignition/${node.name}.secret.ign")`,
      );
    }
    if (boot.secretPartKey !== secretPartKey(node)) {
      problems.push(`secretPartKey of "${node.name}" is "${boot.secretPartKey}", but its pointer is meant to fetch "${secretPartKey(node)}"; use "${secretPartKey(node)}"`);
    }
    // A presigned link is the URL plus a query: the pointer must name this object either way.
    const url = urlOf(node);
    if (!boot.userData.includes(url)) {
      problems.push(`user-data of "${node.name}" does not fetch its secret part from ${url}; render the pointer with HetznerProvider.secretPartUrl`);
    }
  });
  const zone = dns.zone ?? spec.config.domain;
  if (spec.config.domain !== zone && !spec.config.domain.endsWith(`.${zone}`)) {
    problems.push(`dns.zone "${zone}" does not contain the domain "${spec.config.domain}"; use "${spec.config.domain}" or one of its parents`);
  }
  const store = secretStore(spec);
  if (props.backend?.type === 's3' && [store.bucket, store.backupsBucket].includes(props.backend.bucket)) {
    problems.push(`backend.bucket "${props.backend.bucket}" is a bucket this configuration creates; keep the state in a bucket made beforehand`);
  }
  if (problems.length > 0) {
    throw new Error(`HetznerProvider: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** The smallest load balancer type that takes `targets` servers. */
function loadBalancerType(targets: number, what: string): string {
  const type = LOAD_BALANCER_TYPES.find((t) => t.maxTargets >= targets);
  if (!type) {
    const max = LOAD_BALANCER_TYPES[LOAD_BALANCER_TYPES.length - 1];
    throw new Error(`HetznerProvider: the ${what} load balancer would target ${targets} servers; the largest type (${max.name}) takes ${max.maxTargets}. Use fewer, larger nodes.`);
  }
  return type.name;
}

/**
 * The spread placement group (0-based) of the node at `position` in the
 * topology order: every node, whatever its role, in groups of at most 10,
 * filled in order (the first 10 nodes in group 0, the next 10 in group 1...).
 *
 * A spread group puts each of its servers on its own host; servers of
 * different groups may share one. With N nodes there are `ceil(N/10)` groups,
 * so a host holds at most `ceil(N/10)` nodes, one per group: 1 for N <= 10,
 * 2 for N <= 20. That is within the fault budget `k` whenever
 * `ceil(N/10) <= k`: always under `any-third` (N from 3 to 11, k = floor(N/3)
 * >= ceil(N/10)), and under `failure-domains` with at most 10 domains
 * (k = the largest domain >= ceil(N/10)).
 *
 * Filled in order rather than dealt round-robin, the bound is the same, and
 * - adding workers never moves a running server to another group (Hetzner
 *   adds a server to a placement group only while it is powered off);
 * - controllers (the first nodes, at most 7) all share group 0, so no two
 *   etcd members ever share a host.
 */
const placementGroupIndex = (position: number): number => Math.floor(position / SPREAD_GROUP_SIZE);

/**
 * A rule of the shared port plan as a Hetzner firewall rule. Sources that
 * DigitalOcean names by tag or load balancer (nodes, load balancers) are the
 * private network here; only literal addresses (admin CIDRs) stay as they are.
 */
function hetznerRules(rules: readonly InboundRulePlan[]): TfValue[] {
  return rules.flatMap((r) => {
    const base = { direction: 'in', protocol: r.protocol, ...(r.ports !== undefined ? { port: r.ports } : {}) };
    const out: TfValue[] = [];
    // Hetzner caps a rule's description at 255 characters.
    if (r.fromAddresses?.length) out.push({ ...base, source_ips: [...r.fromAddresses], description: `admin CIDRs: ${r.why}`.slice(0, 255) });
    if (r.fromTags?.length || r.fromLoadBalancers?.length) {
      out.push({ ...base, source_ips: [PRIVATE_NETWORK.ipRange], description: `private network: ${r.why}`.slice(0, 255) });
    }
    return out;
  });
}

function buildStack(stack: TerraformStack, spec: PlatformSpec, boots: readonly NodeBootConfig[], props: HetznerProviderProps): void {
  const site = siteOf(stack, spec, props);
  addBackend(stack, spec, props.backend ?? { type: 'local' }, site.store.location);
  const image = addFlatcarImage(site);
  const subnet = addNetwork(site);
  const firewalls = addFirewalls(site);
  const bucket = addBuckets(site);
  const groups = addPlacementGroups(site);
  const { apiAttachment } = addApiLoadBalancer(site, subnet);
  const servers = addServers(site, boots, { image, subnet, firewalls, bucket, groups, apiAttachment });
  const ingress = addIngressLoadBalancer(site, subnet);
  // Public DNS gives api.<domain> the controllers' public addresses (admins, through the
  // controller firewall); nodes map the name to the load balancer's private address.
  const apiPublicAddresses = servers.filter(({ node }) => node.role === 'controller').map(({ server }) => server.ref('ipv4_address'));
  addDns(stack, spec, props.dns ?? {}, site.hcloud, site.resource, apiPublicAddresses, ingress.ref('ipv4'));
  addOutputs(site, servers, apiPublicAddresses, apiAttachment, ingress);
}

/** What every step of {@link buildStack} reads: the providers, a resource maker, and the names, labels and selectors derived from the spec once. */
function siteOf(stack: TerraformStack, spec: PlatformSpec, props: HetznerProviderProps) {
  const { config, topology } = spec;
  if (config.provider.name !== 'hetzner') throw new Error('unreachable: checked by checkSpec');
  const cluster = config.cluster.name;
  const location = config.provider.region;
  const store = secretStore(spec);
  const clusterLabels = { [LABEL.cluster]: cluster };
  const clusterSelector = `${LABEL.cluster}=${cluster}`;
  const controllerSelector = `${clusterSelector},${LABEL.role}=controller`;
  const ingressPorts = props.ingressTargetPorts ?? DEFAULT_INGRESS_TARGET_PORTS;

  // The token comes from HCLOUD_TOKEN; Object Storage keys from MINIO_USER/MINIO_PASSWORD.
  // @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs#argument-reference
  const hcloud = new GenericProvider(stack, 'hcloud', TERRAFORM_PROVIDERS.hcloud);
  // @see https://registry.terraform.io/providers/aminueza/minio/latest/docs
  const minio = new GenericProvider(stack, 'minio', TERRAFORM_PROVIDERS.minio, {
    minio_server: objectStorageHost(store.location),
    minio_region: store.location,
    minio_ssl: true,
    // Hetzner Object Storage does not implement bucket tagging.
    skip_bucket_tagging: true,
  });
  const resource = (type: string, name: string, attributes: TfAttributes, extra: Pick<GenericBlockProps, 'dependsOn' | 'lifecycle'> = {}) =>
    new GenericResource(stack, { provider: type.startsWith('minio_') ? minio : hcloud, type, name, attributes, ...extra });
  return { stack, spec, config, topology, props, cluster, location, store, clusterLabels, clusterSelector, controllerSelector, ingressPorts, hcloud, resource };
}
type Site = ReturnType<typeof siteOf>;

/** The Flatcar snapshot the servers boot. */
function addFlatcarImage({ stack, config, props, hcloud }: Site): GenericDataSource {
  // The newest Flatcar snapshot of the channel (pins.ts says how to make it).
  // @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/data-sources/image
  return new GenericDataSource(stack, {
    provider: hcloud,
    type: 'hcloud_image',
    name: 'flatcar',
    attributes: {
      with_selector: props.imageSelector ?? FLATCAR_SNAPSHOT_SELECTOR[config.versions.flatcarChannel],
      with_architecture: 'x86',
      most_recent: true,
    },
  });
}

/** The private network and the nodes' subnet. */
function addNetwork({ cluster, location, clusterLabels, resource }: Site): GenericResource {
  // @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/network_subnet
  const network = resource('hcloud_network', 'network', { name: cluster, ip_range: PRIVATE_NETWORK.ipRange, labels: clusterLabels });
  const subnet = resource('hcloud_network_subnet', 'nodes', {
    network_id: network.ref('id'),
    type: 'cloud',
    network_zone: NETWORK_ZONES[location],
    ip_range: PRIVATE_NETWORK.subnet,
  });
  return subnet;
}

/** The firewalls on the public interfaces: every node, and the controllers. */
function addFirewalls({ config, cluster, clusterLabels, clusterSelector, controllerSelector, ingressPorts, resource }: Site): { nodes: GenericResource; controllers: GenericResource } {
  // Firewalls on the public interfaces, applied by label so a new server is
  // covered from creation; no rule for port 22, no outbound rule (all allowed).
  // @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/firewall
  const nodes = resource('hcloud_firewall', 'nodes', {
    name: `${cluster}-nodes`,
    labels: clusterLabels,
    rule: hetznerRules(nodeInboundRules(config.layers.network, ingressPorts)),
    apply_to: [{ label_selector: clusterSelector }],
  });
  const controllers = resource('hcloud_firewall', 'controllers', {
    name: `${cluster}-controllers`,
    labels: clusterLabels,
    rule: hetznerRules(controllerInboundRules(config.adminCidrs)),
    apply_to: [{ label_selector: controllerSelector }],
  });
  return { nodes, controllers };
}

/** The ignition bucket for the secret parts and the versioned backups bucket; returns the ignition bucket. */
function addBuckets({ store, resource }: Site): GenericResource {
  // Secret parts: a private bucket, objects gone a day after upload; nodes
  // fetch theirs through a presigned link that expires.
  // @see https://registry.terraform.io/providers/aminueza/minio/latest/docs/resources/s3_bucket
  const bucket = resource('minio_s3_bucket', 'ignition', { bucket: store.bucket, acl: 'private', force_destroy: true });
  resource('minio_ilm_policy', 'ignition', { bucket: bucket.ref('bucket'), rule: [{ id: 'expire-secret-parts', expiration: SECRET_PART_EXPIRY }] });

  // Backups: a private, versioned bucket; a replaced or deleted object is kept
  // BACKUP_NONCURRENT_EXPIRY, then removed. Backups outlive the cluster:
  // destroy refuses the bucket while it holds objects.
  // @see https://registry.terraform.io/providers/aminueza/minio/latest/docs/resources/s3_bucket_versioning
  const backups = resource('minio_s3_bucket', 'backups', { bucket: store.backupsBucket, acl: 'private', force_destroy: false });
  const versioning = resource('minio_s3_bucket_versioning', 'backups', { bucket: backups.ref('bucket'), versioning_configuration: [{ status: 'Enabled' }] });
  resource(
    'minio_ilm_policy',
    'backups',
    { bucket: backups.ref('bucket'), rule: [{ id: 'expire-noncurrent-versions', noncurrent_expiration: [{ days: BACKUP_NONCURRENT_EXPIRY }] }] },
    { dependsOn: [versioning] },
  );
  return bucket;
}

/** The spread placement groups the servers are shared out over. */
function addPlacementGroups({ topology, cluster, clusterLabels, resource }: Site): GenericResource[] {
  // Spread placement groups over all nodes: at most ceil(N/10) nodes per host.
  // @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/placement_group
  return Array.from({ length: Math.ceil(topology.nodes.length / SPREAD_GROUP_SIZE) }, (_, g) =>
    resource('hcloud_placement_group', `spread-${g + 1}`, { name: `${cluster}-spread-${g + 1}`, type: 'spread', labels: clusterLabels }),
  );
}

/**
 * A load balancer on the private network and its label-selector target. Load balancers reach nodes on their private addresses, so they join the network first.
 * @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/load_balancer_network
 * @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/load_balancer_target
 */
function loadBalancer(
  { cluster, location, clusterLabels, resource }: Site,
  subnet: GenericResource,
  name: 'api' | 'ingress',
  targets: number,
  selector: string,
  publicInterface: boolean,
  ip?: string,
): { lb: GenericResource; attachment: GenericResource } {
  const lb = resource('hcloud_load_balancer', name, {
    name: `${cluster}-${name}`,
    load_balancer_type: loadBalancerType(targets, name),
    location,
    labels: clusterLabels,
  });
  const attachment = resource('hcloud_load_balancer_network', name, {
    load_balancer_id: lb.ref('id'),
    subnet_id: subnet.ref('id'),
    enable_public_interface: publicInterface,
    ...(ip === undefined ? {} : { ip }),
  });
  resource(
    'hcloud_load_balancer_target',
    name,
    { type: 'label_selector', load_balancer_id: lb.ref('id'), label_selector: selector, use_private_ip: true },
    { dependsOn: [attachment] },
  );
  return { lb, attachment };
}

/** The private API load balancer and its 6443 service. */
function addApiLoadBalancer(site: Site, subnet: GenericResource): { api: GenericResource; apiAttachment: GenericResource } {
  const { topology, controllerSelector, resource } = site;
  // Private only: Hetzner load balancers have no source filter, so a public
  // interface would answer 6443 to the whole internet. Nodes reach it at its
  // fixed private address, which their /etc/hosts gives api.<domain>
  // (apiPrivateAddress); admins reach 6443 on the controllers' public
  // addresses (public DNS), which the controller firewall limits to adminCidrs.
  // Created before any server, so no automatic address takes the fixed one.
  // @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/load_balancer_service
  const { lb: api, attachment: apiAttachment } = loadBalancer(site, subnet, 'api', topology.controllers.length, controllerSelector, false, PRIVATE_NETWORK.apiLoadBalancerIp);
  resource('hcloud_load_balancer_service', 'api', {
    load_balancer_id: api.ref('id'),
    protocol: 'tcp',
    listen_port: 6443,
    destination_port: 6443,
    // /readyz (anonymous, see @keelson/ignition) fails while an API server
    // shuts down or loses etcd, so the balancer drains it within ~10 s.
    health_check: [{ protocol: 'http', port: 6443, interval: 5, timeout: 3, retries: 2, http: [{ path: '/readyz', tls: true, status_codes: ['200'] }] }],
  });
  return { api, apiAttachment };
}

/** Each node's secret part, server and Ceph volume. */
function addServers(
  { config, topology, location, clusterLabels, resource }: Site,
  boots: readonly NodeBootConfig[],
  { image, subnet, firewalls, bucket, groups, apiAttachment }: { image: GenericDataSource; subnet: GenericResource; firewalls: { nodes: GenericResource; controllers: GenericResource }; bucket: GenericResource; groups: readonly GenericResource[]; apiAttachment: GenericResource },
): { node: NodeSpec; server: GenericResource }[] {
  return topology.nodes.map((node, i) => {
    const boot = boots[i];
    const labels = { ...clusterLabels, [LABEL.role]: node.role, [LABEL.node]: node.name };
    // @see https://registry.terraform.io/providers/aminueza/minio/latest/docs/resources/s3_object
    const secret = resource('minio_s3_object', node.name, {
      bucket_name: bucket.ref('bucket'),
      object_name: boot.secretPartKey,
      content: secretPartContent(boot),
      content_type: 'application/json',
    });
    // @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/server
    const server = resource(
      'hcloud_server',
      node.name,
      {
        name: node.name,
        server_type: node.size,
        image: image.ref('id'),
        location,
        labels,
        // The Ignition pointer: public content and the hash-pinned URL of the secret part.
        user_data: literal(boot.userData),
        placement_group_id: groups[placementGroupIndex(i)].ref('id'),
        // A public IPv4 for egress (images, updates) and admin access to 6443 on controllers; no IPv6 to firewall.
        public_net: [{ ipv4_enabled: true, ipv6_enabled: false }],
        // alias_ips = [] avoids a detach/attach on every apply (hcloud provider #650).
        // Controllers request their fixed address (controllerPrivateAddresses), which the host firewall names for etcd.
        network: [{ subnet_id: subnet.ref('id'), ...(node.role === 'controller' ? { ip: controllerPrivateIp(node.index - 1) } : {}), alias_ips: [] }],
        shutdown_before_deletion: true,
        // No ssh_keys: there is no key to put on a node, and sshd is masked by Ignition.
      },
      {
        // The firewalls exist before the server, and its secret part before it boots;
        // the API load balancer holds its fixed private address before any server takes one.
        dependsOn: [firewalls.nodes, ...(node.role === 'controller' ? [firewalls.controllers] : []), secret, apiAttachment],
        lifecycle: { ignoreChanges: [...SERVER_IGNORED_CHANGES] },
      },
    );
    // @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/volume
    resource('hcloud_volume', node.name, {
      name: `${node.name}-osd`,
      size: config.nodes.volumeSizeGiB,
      server_id: server.ref('id'),
      // A raw block device for a Ceph OSD: never formatted or mounted.
      automount: false,
      labels,
    });
    return { node, server };
  });
}

/** The public ingress load balancer and its HTTP and HTTPS services (TCP passthrough). */
function addIngressLoadBalancer(site: Site, subnet: GenericResource): GenericResource {
  const { topology, clusterSelector, ingressPorts, props, resource } = site;
  // Every node; the balancer sends only to those whose health check passes (the ingress controller runs there).
  const { lb: ingress } = loadBalancer(site, subnet, 'ingress', topology.nodes.length, clusterSelector, true);
  for (const [name, listen, target] of [
    ['ingress-http', 80, ingressPorts.http],
    ['ingress-https', 443, ingressPorts.https],
  ] as const) {
    resource('hcloud_load_balancer_service', name, {
      load_balancer_id: ingress.ref('id'),
      // TCP passthrough: TLS ends at the ingress controller (cert-manager's certificates).
      protocol: 'tcp',
      listen_port: listen,
      destination_port: target,
      proxyprotocol: props.ingressProxyProtocol ?? false,
      health_check: [{ protocol: 'tcp', port: ingressPorts.https, interval: 5, timeout: 3, retries: 2 }],
    });
  }
  return ingress;
}

/** The stack's outputs: endpoints, buckets and (sensitive) node addresses. */
function addOutputs(
  { stack, config, store }: Site,
  servers: readonly { node: NodeSpec; server: GenericResource }[],
  apiPublicAddresses: readonly string[],
  apiAttachment: GenericResource,
  ingress: GenericResource,
): void {
  output(stack, 'api_endpoint', {
    value: `api.${config.domain}:6443`,
    description: "Kubernetes API endpoint: from outside, the controllers' public addresses (6443 open to adminCidrs only); nodes map the name to the private API load balancer",
  });
  output(stack, 'api_public_addresses', {
    value: apiPublicAddresses,
    description: "Public IPv4 of every controller: what api.<domain> resolves to in public DNS, reachable on 6443 from adminCidrs only",
  });
  output(stack, 'api_load_balancer_ip', { value: apiAttachment.ref('ip'), description: "Private IPv4 of the API load balancer (no public interface): api.<domain> in every node's /etc/hosts" });
  output(stack, 'ingress_load_balancer_ip', { value: ingress.ref('ipv4'), description: 'Public IPv4 of the ingress load balancer' });
  output(stack, 'backups_bucket', { value: store.backupsBucket, description: 'Private, versioned Object Storage bucket for backups' });
  output(stack, 'backups_bucket_endpoint', { value: `https://${objectStorageHost(store.location)}`, description: 'S3 endpoint (and, as its first label, the signing region) of the backups bucket' });
  output(stack, 'ignition_bucket', { value: store.bucket, description: "Private Object Storage bucket holding each node's secret Ignition part" });
  output(stack, 'ignition_bucket_endpoint', { value: `https://${objectStorageHost(store.location)}`, description: 'S3 endpoint (and, as its first label, the signing region) of the ignition bucket' });
  output(stack, 'node_addresses', {
    value: Object.fromEntries(
      servers.map(({ node, server }) => [
        node.name,
        // `network` is a set: its one address is read with a splat.
        { public: server.ref('ipv4_address'), private: `\${one(${server.address}.network[*].ip)}` },
      ]),
    ),
    description: 'Public and private IPv4 of every node',
    // Not a credential, but a map of every node's public address does not belong in CI logs.
    sensitive: true,
  });
}

/**
 * Local state by default; or an S3 backend on Hetzner Object Storage, which
 * speaks S3 but is not AWS: no account, STS, region or checksum checks.
 * Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY set to an Object Storage key.
 * @see https://developer.hashicorp.com/terraform/language/backend/s3
 */
function addBackend(stack: TerraformStack, spec: PlatformSpec, backend: HetznerBackend, defaultLocation: string): void {
  const location = backend.type === 's3' ? (backend.region ?? defaultLocation) : defaultLocation;
  addStateBackend(
    stack,
    backend.type === 'local'
      ? { type: 'local', path: backend.path ?? 'terraform.tfstate' }
      : {
          type: 's3',
          bucket: backend.bucket,
          key: backend.key ?? `${spec.config.cluster.name}/terraform.tfstate`,
          // The location is the signing region, as for the presigned links.
          region: location,
          endpoint: `https://${objectStorageHost(location)}`,
        },
  );
}

/**
 * `api.` and `*.` records of the domain in its zone: `api.` at every
 * controller's public address (one RRSet, one record each: an RRSet is one
 * per name and type, and its `records` a set), `*.` at the ingress load
 * balancer. Clients try a name's addresses in turn (Go's dialer, so kubectl
 * too), so a controller that is down costs a client a connect timeout
 * share, not the API.
 * @see https://registry.terraform.io/providers/hetznercloud/hcloud/1.66.1/docs/resources/zone_rrset
 * @see https://pkg.go.dev/net#Dialer.DialContext
 */
function addDns(
  stack: TerraformStack,
  spec: PlatformSpec,
  dns: HetznerDnsProps,
  hcloud: GenericProvider,
  resource: (type: string, name: string, attributes: TfAttributes) => GenericResource,
  apiAddresses: readonly string[],
  ingressAddress: string,
): void {
  const domain = spec.config.domain;
  const zone = dns.zone ?? domain;
  const zoneName = dns.createZone
    ? resource('hcloud_zone', 'zone', { name: zone, mode: 'primary', ttl: 300, labels: { [LABEL.cluster]: spec.config.cluster.name } }).ref('name')
    : // Read, not managed: plan stops early when the zone is missing, and destroy never deletes it.
      new GenericDataSource(stack, { provider: hcloud, type: 'hcloud_zone', name: 'zone', attributes: { name: zone } }).ref('name');
  const relative = domain === zone ? '' : `.${domain.slice(0, -(zone.length + 1))}`;
  resource('hcloud_zone_rrset', 'api', { zone: zoneName, name: `api${relative}`, type: 'A', ttl: 300, records: apiAddresses.map((value) => ({ value })) });
  resource('hcloud_zone_rrset', 'ingress', { zone: zoneName, name: `*${relative}`, type: 'A', ttl: 300, records: [{ value: ingressAddress }] });
}
