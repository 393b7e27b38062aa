import type {
  CloudApiOptions,
  CloudPower,
  ConfigProblem,
  InfraInput,
  MonthlyCost,
  NodeProvider,
  NodeSpec,
  ObjectStoreCredentials,
  ObjectBucket,
  PlatformSpec,
  TerraformDocument,
} from '@keelson/platform-spec';
import { CLUSTER_NETWORK, NODE_NETWORK_CIDR, PlatformConfigError } from '@keelson/platform-spec';
// Deep imports only: the package root loads every DigitalOcean resource
// binding (~200 modules), which DESIGN.md measured at +0.15 s per synth.
import { CustomImage } from '@cdktf/provider-digitalocean/lib/custom-image';
import { SshKey } from '@cdktf/provider-digitalocean/lib/ssh-key';
import { DataDigitaloceanDomain } from '@cdktf/provider-digitalocean/lib/data-digitalocean-domain';
import { Domain } from '@cdktf/provider-digitalocean/lib/domain';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { Firewall, type FirewallInboundRule } from '@cdktf/provider-digitalocean/lib/firewall';
import { Loadbalancer } from '@cdktf/provider-digitalocean/lib/loadbalancer';
import { DigitaloceanProvider } from '@cdktf/provider-digitalocean/lib/provider';
import { Record as DnsRecord } from '@cdktf/provider-digitalocean/lib/record';
import { SpacesBucket } from '@cdktf/provider-digitalocean/lib/spaces-bucket';
import { SpacesBucketObject } from '@cdktf/provider-digitalocean/lib/spaces-bucket-object';
import { Tag } from '@cdktf/provider-digitalocean/lib/tag';
import { Volume } from '@cdktf/provider-digitalocean/lib/volume';
import { VolumeAttachment } from '@cdktf/provider-digitalocean/lib/volume-attachment';
import { Vpc } from '@cdktf/provider-digitalocean/lib/vpc';
import { TerraformOutput, Token, type TerraformStack } from 'cdktf';
import {
  controllerInboundRules,
  nodeInboundRules,
  nodeToNodeRules,
  splitLoadBalancerSources,
  type InboundRulePlan,
  type LoadBalancerRole,
  type TagRole,
} from '../internal/firewall';
import { presignS3Url } from '../presign';
import { keylessSshPublicKey } from '../internal/keyless-ssh-key';
import { backupObjectUrl } from '../internal/backup-object';
import { clusterBucketName } from '../internal/bucket-name';
import { FLATCAR_DIGITALOCEAN_IMAGE, RESOURCE_TYPES, USER_DATA_LIMIT_BYTES, customImageUrlProblem, dropletSize, type FlatcarImage } from './pins';
import { digitalOceanMonthlyCost } from './prices';
import { digitalOceanPower, DIGITALOCEAN_TOKEN_VARIABLE } from './digitalocean-power';
import { addStateBackend, newStack, renderStack } from '../internal/terraform-json';
import { isPlainRelativePath, secretPartContent, terraformLiteral } from '../internal/secret-part';

/** Where Terraform keeps its state. */
export type DigitalOceanBackend =
  | {
      /** State in a file next to the configuration (`infra-out/`), mode 0600 is the caller's job. */
      readonly type: 'local';
      /**
       * State file, relative to the folder Terraform runs in.
       * @default 'terraform.tfstate'
       */
      readonly path?: string;
    }
  | {
      /** State in an S3-compatible bucket: DigitalOcean Spaces by default. */
      readonly type: 's3';
      /** An existing bucket: it cannot be one this configuration creates. */
      readonly bucket: string;
      /**
       * Object key of the state.
       * @default '<cluster>/terraform.tfstate'
       */
      readonly key?: string;
      /**
       * S3 endpoint.
       * @default 'https://<spaces region>.digitaloceanspaces.com'
       */
      readonly endpoint?: string;
    };

/** Ports on the nodes the ingress load balancer forwards 80 and 443 to. */
export interface IngressTargetPorts {
  readonly http: number;
  readonly https: number;
}

/** Where the `api.` and `*.` records of `config.domain` go. */
export interface DigitalOceanDnsProps {
  /**
   * The DigitalOcean DNS zone holding the records: `config.domain` itself or a parent of it.
   * @default - config.domain
   */
  readonly zone?: string;
  /**
   * Whether this configuration creates the zone (and `terraform destroy` deletes it).
   * @default false — the zone must already exist in DigitalOcean DNS; plan fails early if it does not
   */
  readonly createZone?: boolean;
}

export interface DigitalOceanProviderProps {
  /**
   * Image new droplets boot from.
   * @default - FLATCAR_DIGITALOCEAN_IMAGE for the config's Flatcar channel
   */
  readonly image?: FlatcarImage;
  /**
   * IPv4 range of the VPC; must not overlap the pod (10.244.0.0/16) or Service (10.96.0.0/16) ranges.
   * @default '10.10.0.0/16'
   */
  readonly vpcIpRange?: string;
  /**
   * Ports on every node the ingress controller listens on (hostPort or
   * NodePort), which the ingress load balancer forwards 80 and 443 to.
   * @default { http: 80, https: 443 } — hostPorts the ingress layer must publish on every node (as on Hetzner)
   */
  readonly ingressTargetPorts?: IngressTargetPorts;
  /**
   * Whether the ingress load balancer speaks PROXY protocol v1 to the ingress controller
   * (set it when the ingress layer expects PROXY protocol, to see client addresses).
   * @default false
   */
  readonly ingressProxyProtocol?: boolean;
  /** @default - records in the existing zone `config.domain` */
  readonly dns?: DigitalOceanDnsProps;
  /** @default { type: 'local', path: 'terraform.tfstate' } */
  readonly backend?: DigitalOceanBackend;
  /**
   * Days a replaced or deleted backup object is kept in the versioned backups bucket.
   * @default 30
   */
  readonly backupNoncurrentVersionDays?: number;
}

/** Pod and Service ranges of the cluster (platform-spec's CLUSTER_NETWORK): the VPC must not overlap them. */
const CLUSTER_RANGES = { pods: CLUSTER_NETWORK.podSubnet, services: CLUSTER_NETWORK.serviceSubnet } as const;
/** The node network every layer agrees on (nodes find their address in it). */
const DEFAULT_VPC_IP_RANGE = NODE_NETWORK_CIDR;
const DEFAULT_INGRESS_TARGET_PORTS: IngressTargetPorts = { http: 80, https: 443 };

/**
 * Spaces is not offered in every droplet region; these regions keep their
 * buckets in the nearest one that has it.
 *
 * @see https://docs.digitalocean.com/platform/regional-availability/
 */
const SPACES_REGION: Readonly<Record<string, string>> = { nyc1: 'nyc3', nyc2: 'nyc3' };

/** How long a signed secret-part link works: 7 days, the SigV4 maximum. */
const SECRET_PART_LINK_SECONDS = 7 * 24 * 3600;

/** Attributes a plain `terraform apply` never changes on a running droplet; see the README's node-change policy. */
export const DROPLET_IGNORED_CHANGES = ['user_data', 'image', 'size'] as const;

/**
 * The DigitalOcean implementation of the platform's {@link NodeProvider}:
 * Flatcar droplets without SSH in a VPC behind tag-based cloud firewalls, a
 * load balancer for the Kubernetes API and one for ingress, a raw block
 * volume per node for Ceph, private Spaces buckets for backups and for the
 * secret part of each node's Ignition, and the DNS records.
 *
 * Renders plain Terraform JSON with cdktf in memory; nothing is written.
 */
export class DigitalOceanProvider implements NodeProvider {
  public readonly id = 'digitalocean' as const;
  /** `DIGITALOCEAN_TOKEN`, which the Terraform provider reads too. */
  public readonly apiTokenVariable = DIGITALOCEAN_TOKEN_VARIABLE;
  /** `SPACES_ACCESS_KEY_ID` and `SPACES_SECRET_ACCESS_KEY`: a Spaces key, as the DigitalOcean Terraform provider reads it. */
  public readonly objectStoreCredentialVariables = ['SPACES_ACCESS_KEY_ID', 'SPACES_SECRET_ACCESS_KEY'] as const;
  public readonly displayName = 'DigitalOcean';
  /** 64 KiB. @see https://docs.digitalocean.com/products/droplets/how-to/provide-user-data/ */
  public readonly userDataLimitBytes = USER_DATA_LIMIT_BYTES;
  /**
   * The Recovery Console shows the droplet's screen without SSH or an agent.
   * @see https://docs.digitalocean.com/products/droplets/how-to/recovery/recovery-console/
   */
  public readonly consoleHint = "the droplet's Recovery Console in the DigitalOcean control panel";
  public readonly server = { resourceType: RESOURCE_TYPES.server, typeAttribute: 'size' } as const;
  public readonly serverTypeHint = 'droplet size slugs that name vCPUs and memory (s-4vcpu-8gb) or c-N';
  private readonly props: DigitalOceanProviderProps;

  constructor(props: DigitalOceanProviderProps = {}) {
    checkProps(props);
    this.props = props;
  }

  /**
   * Where a node fetches its secret part: with `signing`, a link to
   * `https://<cluster>-ignition.<spaces region>.digitaloceanspaces.com/<node>.ign`
   * presigned with the Spaces key for 7 days from `signing.now` (the same
   * `now` gives the same link); without it, the bare object URL, which a node
   * cannot fetch (the bucket is private).
   */
  public secretPartUrl(spec: PlatformSpec, node: NodeSpec, signing?: { readonly credentials: ObjectStoreCredentials; readonly now: Date }): string {
    const url = `https://${ignitionBucketName(spec)}.${spacesRegion(spec)}.digitaloceanspaces.com/${secretPartKey(node)}`;
    if (!signing) return url;
    return presignS3Url({
      url,
      accessKeyId: signing.credentials.accessKeyId,
      secretAccessKey: signing.credentials.secretAccessKey,
      region: spacesRegion(spec),
      expiresSeconds: SECRET_PART_LINK_SECONDS,
      now: signing.now,
    });
  }

  /**
   * Always `undefined`: nodes and admins alike resolve `api.<domain>` to the
   * API load balancer's public address, which its own firewall opens to
   * `adminCidrs`, the VPC and the droplets only.
   */
  public apiPrivateAddress(_spec: PlatformSpec): undefined {
    return undefined;
  }

  /**
   * None: a droplet cannot choose its VPC address (DigitalOcean assigns it at
   * creation), so node configs accept etcd from the whole node network.
   * @see https://docs.digitalocean.com/reference/api/digitalocean/#tag/Droplets/operation/droplets_create
   */
  public controllerPrivateAddresses(_spec: PlatformSpec): undefined {
    return undefined;
  }

  /** The Spaces key pair from `SPACES_ACCESS_KEY_ID` and `SPACES_SECRET_ACCESS_KEY`, or undefined unless both are set. */
  public credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): ObjectStoreCredentials | undefined {
    const [accessKeyId, secretAccessKey] = this.objectStoreCredentialVariables.map((name) => env[name]);
    return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
  }

  /** The Spaces region of the platform's buckets (the signing region for `presignS3Url`). */
  public spacesRegion(spec: PlatformSpec): string {
    return spacesRegion(spec);
  }

  /** The private, versioned Spaces bucket for backups: `<cluster>-<id>-backups` in the Spaces region. */
  public backupBucket(spec: PlatformSpec): ObjectBucket {
    const region = spacesRegion(spec);
    return { bucket: backupsBucketName(spec), endpoint: `https://${region}.digitaloceanspaces.com`, region };
  }

  /**
   * An object in the backups bucket, e.g. an etcd snapshot:
   * `https://<cluster>-<id>-backups.<spaces region>.digitaloceanspaces.com/<key>`,
   * presigned with the Spaces key for 7 days from `signing.now` (the same
   * `now` gives the same link); without `signing`, the bare URL, which
   * nobody can fetch (the bucket is private).
   */
  public backupObjectUrl(spec: PlatformSpec, key: string, signing?: { readonly credentials: ObjectStoreCredentials; readonly now: Date }): string {
    return backupObjectUrl('DigitalOceanProvider.backupObjectUrl', this.backupBucket(spec), key, signing);
  }

  /**
   * The droplets' power actions through the DigitalOcean API
   * (`https://api.digitalocean.com/v2` unless `options.baseUrl`): each node's
   * droplet found by its name, `power_off` and `power_on` actions, each
   * waited for until completed.
   */
  public cloudPower(options: CloudApiOptions): CloudPower {
    return digitalOceanPower(options);
  }

  /** The Terraform address of a node's droplet, for `terraform apply -replace=...`. */
  public dropletAddress(node: NodeSpec): string {
    return `${this.server.resourceType}.${node.name}`;
  }

  /** The node's droplet: `digitalocean_droplet.<node>`. */
  public serverAddress(node: NodeSpec): string {
    return this.dropletAddress(node);
  }

  /** vCPUs and memory the slug names (`s-4vcpu-8gb`), or 2 GiB per vCPU for `c-N`. */
  public serverSize(type: string): { vcpus: number; memoryGiB: number } | undefined {
    return dropletSize(type);
  }

  /**
   * The by-id link DigitalOcean makes for a volume is named after the volume
   * (`<node>-osd`), so the filter matches this cluster's volumes only.
   * @see https://rook.io/docs/rook/v1.20/CRDs/Cluster/ceph-cluster-crd/#storage-selection-settings
   */
  public volumeDevicePathFilter(spec: PlatformSpec): string {
    const cluster = spec.config.cluster.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return `^/dev/disk/by-id/scsi-0DO_Volume_${cluster}-(controller|worker)-[0-9]+-osd$`;
  }

  /**
   * Refuses a platform not on DigitalOcean, and a node size that is not a
   * droplet size slug (`s-4vcpu-8gb`; a Hetzner server type such as `cx33`
   * is not one).
   *
   * @see https://docs.digitalocean.com/reference/api/digitalocean/#tag/Sizes
   */
  public checkSpec(spec: PlatformSpec): void {
    const problems: ConfigProblem[] = [];
    const { provider, nodes } = spec.config;
    if (provider.name !== 'digitalocean') {
      problems.push({ path: 'provider.name', message: `got "${provider.name}", but DigitalOceanProvider renders DigitalOcean only; set provider.name to "digitalocean", or use nodeProviderFor(spec)` });
    }
    for (const [path, { size, count }] of [['nodes.controllers.size', nodes.controllers], ['nodes.workers.size', nodes.workers]] as const) {
      if (count > 0 && !size.includes('-')) {
        problems.push({ path, message: `"${size}" is not a DigitalOcean droplet size slug; use one such as "s-4vcpu-8gb" (doctl compute size list)` });
      }
    }
    if (problems.length > 0) throw new PlatformConfigError('DigitalOceanProvider', problems);
  }

  /** The monthly cost from `prices.ts`: droplets by size, volumes, both load balancers, Spaces, the transfer allowance. */
  public monthlyCost(spec: PlatformSpec): MonthlyCost {
    this.checkSpec(spec);
    return digitalOceanMonthlyCost(spec);
  }

  public renderTerraform(input: InfraInput): TerraformDocument {
    this.checkSpec(input.spec);
    checkInput(input, this.props.dns ?? {});
    // The ingress layer's target, when given, wins over the props.
    const target = input.ingressTarget;
    const props: DigitalOceanProviderProps = target ? { ...this.props, ingressTargetPorts: { http: target.http, https: target.https }, ingressProxyProtocol: target.proxyProtocol } : this.props;
    if (target) checkProps(props);
    const stack = newStack(input.spec.config.cluster.name);
    buildStack(stack, input, props);
    return { fileName: 'main.tf.json', content: renderStack(stack) };
  }
}

const ignitionBucketName = (spec: PlatformSpec) => clusterBucketName(spec, 'ignition');
const backupsBucketName = (spec: PlatformSpec) => clusterBucketName(spec, 'backups');
const secretPartKey = (node: { readonly name: string }) => `${node.name}.ign`;
const spacesRegion = (spec: PlatformSpec) => SPACES_REGION[spec.config.provider.region] ?? spec.config.provider.region;

function checkProps(props: DigitalOceanProviderProps): void {
  const imageProblem = props.image && customImageUrlProblem(props.image.url);
  if (imageProblem) throw new Error(`DigitalOceanProvider: image.url: ${imageProblem}`);
  const range = props.vpcIpRange ?? DEFAULT_VPC_IP_RANGE;
  const parsed = parseCidr(range);
  if (!parsed) throw new Error(`DigitalOceanProvider: vpcIpRange ${JSON.stringify(range)} is not an IPv4 CIDR; use a private range such as "10.10.0.0/16"`);
  for (const [what, cidr] of Object.entries(CLUSTER_RANGES)) {
    if (overlaps(parsed, parseCidr(cidr)!)) {
      throw new Error(`DigitalOceanProvider: vpcIpRange ${range} overlaps the ${what} range ${cidr}; pick a range outside it, such as "10.10.0.0/16"`);
    }
  }
  const ports = props.ingressTargetPorts ?? DEFAULT_INGRESS_TARGET_PORTS;
  // Node-to-node ports must stay closed to the internet-facing balancer.
  const taken = new Set(
    [...nodeToNodeRules('cilium'), ...nodeToNodeRules('flannel'), ...controllerInboundRules([])]
      .filter((r) => r.protocol === 'tcp' && r.ports !== undefined)
      .flatMap((r) => expandPorts(r.ports!)),
  );
  for (const [what, port] of Object.entries(ports)) {
    if (!Number.isInteger(port) || port < 1 || port > 65535 || taken.has(port) || port === 22) {
      throw new Error(
        `DigitalOceanProvider: ingressTargetPorts.${what} is ${port}; use a free TCP port (80/443 or a NodePort in 30000-32767), not 22 or one the nodes use among themselves`,
      );
    }
  }
  if (ports.http === ports.https) throw new Error(`DigitalOceanProvider: ingressTargetPorts.http and .https are both ${ports.http}; give HTTP and HTTPS their own port`);
  const days = props.backupNoncurrentVersionDays ?? 30;
  if (!Number.isInteger(days) || days < 1) throw new Error(`DigitalOceanProvider: backupNoncurrentVersionDays is ${days}; use a whole number of days >= 1`);
}

function checkInput({ spec, nodes }: InfraInput, dns: DigitalOceanDnsProps): void {
  if (spec.config.provider.name !== 'digitalocean') {
    throw new Error(`DigitalOceanProvider: the config's provider is "${spec.config.provider.name}"; render it with nodeProviderFor(spec), or set provider.name: digitalocean`);
  }
  const expected = spec.topology.nodes.map((n) => n.name);
  const got = nodes.map((n) => n.name);
  if (expected.join('\n') !== got.join('\n')) {
    throw new Error(`DigitalOceanProvider: boot configs are for [${got.join(', ')}] but the topology has [${expected.join(', ')}]; pass one NodeBootConfig per topology node, in order`);
  }
  for (const boot of nodes) {
    const bytes = Buffer.byteLength(boot.userData, 'utf8');
    if (bytes > USER_DATA_LIMIT_BYTES) {
      throw new Error(`DigitalOceanProvider: user-data of ${boot.name} is ${bytes} bytes; a droplet accepts at most ${USER_DATA_LIMIT_BYTES}; move content into the secret part the pointer fetches`);
    }
    if (boot.secretPartKey !== secretPartKey(boot)) {
      throw new Error(`DigitalOceanProvider: ${boot.name} has secretPartKey "${boot.secretPartKey}" but its pointer fetches "${secretPartKey(boot)}" (secretPartUrl); use "${secretPartKey(boot)}"`);
    }
    if (boot.secretPartFile !== undefined && !isPlainRelativePath(boot.secretPartFile)) {
      throw new Error(
        `DigitalOceanProvider: ${boot.name} has secretPartFile ${JSON.stringify(boot.secretPartFile)}; use a path relative to main.tf.json, of letters, digits, ".", "_", "-" and "/", without ".." (e.g. "ignition/${boot.name}.secret.ign")`,
      );
    }
  }
  const domain = spec.config.domain;
  const zone = dns.zone ?? domain;
  if (domain !== zone && !domain.endsWith(`.${zone}`)) {
    throw new Error(`DigitalOceanProvider: dns.zone "${zone}" does not contain the domain "${domain}"; use "${domain}" or one of its parents`);
  }
}

function buildStack(stack: TerraformStack, { spec, nodes }: InfraInput, props: DigitalOceanProviderProps): void {
  const site: Site = {
    stack,
    spec,
    props,
    cluster: spec.config.cluster.name,
    region: spec.config.provider.region,
    bucketRegion: spacesRegion(spec),
    vpcIpRange: props.vpcIpRange ?? DEFAULT_VPC_IP_RANGE,
  };
  // Credentials come from the environment only (DIGITALOCEAN_TOKEN,
  // SPACES_ACCESS_KEY_ID, SPACES_SECRET_ACCESS_KEY), never from this file.
  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs#argument-reference
  new DigitaloceanProvider(stack, 'digitalocean', {});
  addBackend(stack, spec, props.backend ?? { type: 'local' });

  const tags = addTags(site);
  const vpc = addVpc(site);
  const image = addFlatcarImage(site);
  const rules = firewallRules(site, tags);
  const baseFirewalls = addBaseFirewalls(site, tags, rules);
  const secretParts = addBuckets(site, nodes);
  const droplets = addDroplets(site, nodes, { tags, vpc, image, baseFirewalls, secretParts });
  const { api, ingress } = addLoadBalancers(site, tags, vpc, droplets, rules.ingressPorts);
  addLoadBalancerFirewalls(site, tags, rules, { api, ingress });
  addDns(stack, spec, props.dns ?? {}, api, ingress, named);
  addOutputs(site, droplets, api, ingress);
}

/** What every step of {@link buildStack} reads: the stack, the spec, the props and the names derived from them once. */
interface Site {
  readonly stack: TerraformStack;
  readonly spec: PlatformSpec;
  readonly props: DigitalOceanProviderProps;
  readonly cluster: string;
  readonly region: string;
  /** The Spaces region of the buckets. */
  readonly bucketRegion: string;
  readonly vpcIpRange: string;
}

/** Gives a resource its Terraform address. */
function named<T extends { overrideLogicalId(id: string): void }>(resource: T, logicalId: string): T {
  // Addresses are the contract with `terraform apply -replace` and with
  // existing state: explicit, one per node name, never a hash.
  resource.overrideLogicalId(logicalId);
  return resource;
}

/** The cluster's tags: every droplet, the controllers, the workers. */
function addTags({ stack, cluster }: Site): Record<TagRole, Tag> {
  return {
    cluster: named(new Tag(stack, 'tag-cluster', { name: cluster }), 'cluster'),
    controller: named(new Tag(stack, 'tag-controller', { name: `${cluster}-controller` }), 'controller'),
    worker: named(new Tag(stack, 'tag-worker', { name: `${cluster}-worker` }), 'worker'),
  };
}

/** The VPC for node-to-node traffic. */
function addVpc({ stack, cluster, region, vpcIpRange }: Site): Vpc {
  return named(
    new Vpc(stack, 'vpc', { name: cluster, region, ipRange: vpcIpRange, description: `Keelson platform ${cluster}: node-to-node traffic` }),
    'network',
  );
}

/** The Flatcar custom image the droplets boot. */
function addFlatcarImage({ stack, spec: { config }, props, cluster, region }: Site): CustomImage {
  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/custom_image
  const flatcar = props.image ?? FLATCAR_DIGITALOCEAN_IMAGE[config.versions.flatcarChannel];
  return named(
    new CustomImage(stack, 'image', {
      name: `flatcar-${config.versions.flatcarChannel}-${flatcar.version}`,
      url: flatcar.url,
      regions: [region],
      description: `Flatcar Container Linux ${flatcar.version} for Keelson platform ${cluster}`,
      // A bump imports the new image before the old one goes; droplets ignore the change (ignore_changes).
      lifecycle: { createBeforeDestroy: true },
    }),
    'flatcar',
  );
}

/** The cloud firewalls' rules, split by source, and how to write them as DigitalOcean rules. */
function firewallRules({ spec: { config }, props }: Site, tags: Record<TagRole, Tag>) {
  // Cloud firewalls, in two parts. DigitalOcean starts a droplet with every
  // port open unless a firewall already selects one of its tags, and a rule
  // naming a load balancer cannot exist before that balancer, which exists
  // only after the droplets (the API balancer's own firewall lists their
  // addresses). So the rules sourced from tags and addresses go into a base
  // firewall per role tag that every droplet waits for (depends_on), and the
  // rules sourced from a load balancer into firewalls of their own, created
  // once the balancer is. Their union is the README's allow-list.
  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/firewall
  const ingressPorts = props.ingressTargetPorts ?? DEFAULT_INGRESS_TARGET_PORTS;
  const nodeRules = splitLoadBalancerSources(nodeInboundRules(config.layers.network, ingressPorts));
  const controllerRules = splitLoadBalancerSources(controllerInboundRules(config.adminCidrs));
  if (nodeRules.fromLoadBalancer.api.length > 0 || controllerRules.fromLoadBalancer.ingress.length > 0) {
    throw new Error('DigitalOceanProvider: a firewall rule names a load balancer that has no firewall of its own here; add one next to the api_lb and ingress_lb firewalls');
  }
  const inbound = (rules: readonly InboundRulePlan[], loadBalancers: Partial<Record<LoadBalancerRole, Loadbalancer>> = {}): FirewallInboundRule[] =>
    rules.map((r) => ({
      protocol: r.protocol,
      ...(r.ports !== undefined ? { portRange: r.ports } : {}),
      ...(r.fromAddresses?.length ? { sourceAddresses: [...r.fromAddresses] } : {}),
      ...(r.fromTags?.length ? { sourceTags: r.fromTags.map((t) => tags[t].name) } : {}),
      ...(r.fromLoadBalancers?.length ? { sourceLoadBalancerUids: r.fromLoadBalancers.map((lb) => loadBalancers[lb]!.id) } : {}),
    }));
  const anywhere = ['0.0.0.0/0', '::/0'];
  // DigitalOcean wants each firewall to list its own outbound rules; all four list the same.
  const outbound = [
    { protocol: 'tcp', portRange: '1-65535', destinationAddresses: anywhere },
    { protocol: 'udp', portRange: '1-65535', destinationAddresses: anywhere },
    { protocol: 'icmp', destinationAddresses: anywhere },
  ];
  return { ingressPorts, nodeRules, controllerRules, inbound, outbound };
}
type FirewallRules = ReturnType<typeof firewallRules>;

/** The firewalls every droplet boots behind: rules sourced from tags and addresses, one firewall per role tag. */
function addBaseFirewalls({ stack, cluster }: Site, tags: Record<TagRole, Tag>, { nodeRules, controllerRules, inbound, outbound }: FirewallRules): Record<'cluster' | 'controller', Firewall> {
  return {
    cluster: named(
      new Firewall(stack, 'firewall-nodes', { name: `${cluster}-nodes`, tags: [tags.cluster.name], inboundRule: inbound(nodeRules.base), outboundRule: outbound }),
      'nodes',
    ),
    controller: named(
      new Firewall(stack, 'firewall-controllers', {
        name: `${cluster}-controllers`,
        tags: [tags.controller.name],
        inboundRule: inbound(controllerRules.base),
        outboundRule: outbound,
      }),
      'controllers',
    ),
  };
}

/** The backups bucket, the ignition bucket and each node's secret part in it. */
function addBuckets({ stack, spec, props, bucketRegion }: Site, nodes: InfraInput['nodes']): Map<string, SpacesBucketObject> {
  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/spaces_bucket
  const backupNoncurrentDays = props.backupNoncurrentVersionDays ?? 30;
  named(
    new SpacesBucket(stack, 'bucket-backups', {
      name: backupsBucketName(spec),
      region: bucketRegion,
      acl: 'private',
      versioning: { enabled: true },
      lifecycleRule: [
        {
          id: 'expire-noncurrent-versions',
          enabled: true,
          // Spaces' S3 compatibility page lists only time-based expiration and
          // incomplete-upload cleanup; whether it honours this needs a live check (README).
          noncurrentVersionExpiration: { days: backupNoncurrentDays },
          abortIncompleteMultipartUploadDays: 7,
        },
      ],
      // Backups outlive the cluster: destroy refuses a bucket that still has objects.
      forceDestroy: false,
    }),
    'backups',
  );
  const ignitionBucket = named(
    new SpacesBucket(stack, 'bucket-ignition', {
      name: ignitionBucketName(spec),
      region: bucketRegion,
      acl: 'private',
      // A secret part is read once, at first boot. S3 expiry rounds up to the
      // next midnight UTC, so a part lives one to two days (the next apply
      // uploads it again, for a node replaced later).
      lifecycleRule: [{ id: 'expire-secret-parts', enabled: true, expiration: { days: 1 } }],
      forceDestroy: true,
    }),
    'ignition',
  );
  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/spaces_bucket_object
  const secretParts = new Map<string, SpacesBucketObject>();
  for (const boot of nodes) {
    const object = named(
      new SpacesBucketObject(stack, `secret-part-${boot.name}`, {
        region: bucketRegion,
        bucket: ignitionBucket.name,
        key: boot.secretPartKey,
        content: secretPartContent(boot),
        contentType: 'application/json',
        acl: 'private',
      }),
      boot.name,
    );
    secretParts.set(boot.name, object);
  }
  return secretParts;
}

/** Each node's droplet, with its Ceph volume, behind the base firewalls and after its secret part. */
function addDroplets(
  { stack, spec: { config, topology }, cluster, region }: Site,
  nodes: InfraInput['nodes'],
  { tags, vpc, image, baseFirewalls, secretParts }: { tags: Record<TagRole, Tag>; vpc: Vpc; image: CustomImage; baseFirewalls: Record<'cluster' | 'controller', Firewall>; secretParts: Map<string, SpacesBucketObject> },
): Map<string, Droplet> {
  // DigitalOcean refuses a droplet from a custom image without an SSH key.
  // Each droplet gets the cluster's keyless key: a public key hashed onto
  // the curve, whose private half exists nowhere (not generated, not in
  // state, not derivable from any secret), the same on every synth so the
  // droplets are never replaced for it. sshd is masked and port 22 closed anyway.
  // @see https://docs.digitalocean.com/products/custom-images/details/limits/
  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/ssh_key
  const noLogin = named(new SshKey(stack, 'ssh-key-no-login', { name: `${cluster}-no-private-key`, publicKey: keylessSshPublicKey(cluster) }), 'no-login');

  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/droplet
  const droplets = new Map<string, Droplet>();
  for (const [i, node] of topology.nodes.entries()) {
    const boot = nodes[i]; // same order as the topology (checkInput)
    const droplet = named(
      new Droplet(stack, `droplet-${node.name}`, {
        name: node.name,
        region,
        size: node.size,
        image: image.id,
        vpcUuid: vpc.id,
        tags: [tags.cluster.name, tags[node.role].name],
        // The Ignition pointer: public content and the hash-pinned URL of the secret part.
        userData: terraformLiteral(boot.userData),
        // Monitoring needs DigitalOcean's metrics agent (do-agent), which Flatcar
        // does not ship, and it cannot be turned on at creation for a custom
        // image. Off: the droplet graphs keep what the hypervisor sees (CPU,
        // disk I/O, public and private bandwidth); memory and disk usage come
        // from each kubelet's Summary API (/stats/summary, cAdvisor).
        // @see https://docs.digitalocean.com/products/monitoring/details/features/
        // @see https://docs.digitalocean.com/products/custom-images/details/limits/
        monitoring: false,
        // The droplet agent exists to open a web console over SSH; nodes have no way in.
        dropletAgent: false,
        gracefulShutdown: true,
        // The keyless key (above): required by the API, usable by nobody.
        sshKeys: [noLogin.fingerprint],
        lifecycle: { ignoreChanges: [...DROPLET_IGNORED_CHANGES] },
        // Boot behind the base firewalls of the droplet's tags, and only once
        // the secret part the pointer fetches is in the bucket.
        dependsOn: [baseFirewalls.cluster, ...(node.role === 'controller' ? [baseFirewalls.controller] : []), secretParts.get(node.name)!],
      }),
      node.name,
    );
    droplets.set(node.name, droplet);

    // Ceph needs a raw block device: no filesystem_type, so DigitalOcean leaves it unformatted.
    // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/volume
    const volume = named(
      new Volume(stack, `volume-${node.name}`, {
        name: `${node.name}-osd`,
        region,
        size: config.nodes.volumeSizeGiB,
        description: `Ceph OSD of ${node.name} (raw block device)`,
        tags: [tags.cluster.name],
      }),
      node.name,
    );
    named(new VolumeAttachment(stack, `attachment-${node.name}`, { dropletId: Token.asNumber(droplet.id), volumeId: volume.id }), node.name);
  }
  return droplets;
}

/** The API load balancer (admins and nodes only) and the ingress load balancer (TCP passthrough). */
function addLoadBalancers(
  { stack, spec: { config, topology }, props, cluster, region, vpcIpRange }: Site,
  tags: Record<TagRole, Tag>,
  vpc: Vpc,
  droplets: Map<string, Droplet>,
  ingressPorts: FirewallRules['ingressPorts'],
): { api: Loadbalancer; ingress: Loadbalancer } {
  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/loadbalancer
  const api = named(
    new Loadbalancer(stack, 'lb-api', {
      name: `${cluster}-api`,
      region,
      vpcUuid: vpc.id,
      dropletTag: tags.controller.name,
      forwardingRule: [{ entryProtocol: 'tcp', entryPort: 6443, targetProtocol: 'tcp', targetPort: 6443 }],
      // /readyz (anonymous, see @keelson/ignition) fails while an API server
      // shuts down or loses etcd, so the balancer drains it within ~10 s.
      healthcheck: {
        protocol: 'https',
        port: 6443,
        path: '/readyz',
        checkIntervalSeconds: 5,
        responseTimeoutSeconds: 3,
        unhealthyThreshold: 2,
        healthyThreshold: 2,
      },
      // Only admins and the nodes themselves reach the API: kubelets join and
      // talk through api.<domain>, from their public addresses, or from the
      // VPC should DigitalOcean route droplet-to-balancer traffic privately.
      // @see https://docs.digitalocean.com/products/networking/load-balancers/how-to/manage/#firewall-rules
      firewall: {
        allow: [
          ...config.adminCidrs.map((cidr) => `cidr:${cidr}`),
          `cidr:${vpcIpRange}`,
          ...topology.nodes.map((n) => `ip:${droplets.get(n.name)!.ipv4Address}`),
        ],
      },
    }),
    'api',
  );
  const ingress = named(
    new Loadbalancer(stack, 'lb-ingress', {
      name: `${cluster}-ingress`,
      region,
      vpcUuid: vpc.id,
      // Every node; the balancer sends only to those whose health check passes (the ingress controller runs there).
      dropletTag: tags.cluster.name,
      // TCP passthrough: TLS ends at the ingress controller (cert-manager's certificates).
      forwardingRule: [
        { entryProtocol: 'tcp', entryPort: 80, targetProtocol: 'tcp', targetPort: ingressPorts.http },
        { entryProtocol: 'tcp', entryPort: 443, targetProtocol: 'tcp', targetPort: ingressPorts.https },
      ],
      healthcheck: { protocol: 'tcp', port: ingressPorts.https, checkIntervalSeconds: 5, responseTimeoutSeconds: 3, unhealthyThreshold: 2, healthyThreshold: 2 },
      enableProxyProtocol: props.ingressProxyProtocol ?? false,
    }),
    'ingress',
  );
  return { api, ingress };
}

/** The firewalls whose rules are sourced from the load balancers, created once those exist. */
function addLoadBalancerFirewalls({ stack, cluster }: Site, tags: Record<TagRole, Tag>, { nodeRules, controllerRules, inbound, outbound }: FirewallRules, { api, ingress }: { api: Loadbalancer; ingress: Loadbalancer }): void {
  // The rules sourced from the load balancers, once those exist.
  named(
    new Firewall(stack, 'firewall-ingress-lb', {
      name: `${cluster}-ingress-lb`,
      tags: [tags.cluster.name],
      inboundRule: inbound(nodeRules.fromLoadBalancer.ingress, { ingress }),
      outboundRule: outbound,
    }),
    'ingress_lb',
  );
  named(
    new Firewall(stack, 'firewall-api-lb', {
      name: `${cluster}-api-lb`,
      tags: [tags.controller.name],
      inboundRule: inbound(controllerRules.fromLoadBalancer.api, { api }),
      outboundRule: outbound,
    }),
    'api_lb',
  );
}

/** The stack's outputs: endpoints, buckets and (sensitive) node addresses. */
function addOutputs({ stack, spec, spec: { config, topology }, bucketRegion }: Site, droplets: Map<string, Droplet>, api: Loadbalancer, ingress: Loadbalancer): void {
  new TerraformOutput(stack, 'api_endpoint', { value: `api.${config.domain}:6443`, description: 'Kubernetes API endpoint (the API load balancer)' });
  new TerraformOutput(stack, 'api_load_balancer_ip', { value: api.ip, description: 'Public IPv4 of the API load balancer' });
  new TerraformOutput(stack, 'ingress_load_balancer_ip', { value: ingress.ip, description: 'Public IPv4 of the ingress load balancer' });
  new TerraformOutput(stack, 'backups_bucket', { value: backupsBucketName(spec), description: 'Spaces bucket for backups' });
  new TerraformOutput(stack, 'backups_bucket_endpoint', { value: `https://${bucketRegion}.digitaloceanspaces.com`, description: 'S3 endpoint of the backups bucket' });
  new TerraformOutput(stack, 'ignition_bucket', { value: ignitionBucketName(spec), description: "Private Spaces bucket holding each node's secret Ignition part" });
  new TerraformOutput(stack, 'node_addresses', {
    value: Object.fromEntries(
      topology.nodes.map((n) => [n.name, { public: droplets.get(n.name)!.ipv4Address, private: droplets.get(n.name)!.ipv4AddressPrivate }]),
    ),
    description: 'Public and private IPv4 of every node',
    // Not a credential, but a map of every node's public address does not belong in CI logs.
    sensitive: true,
  });
}

function addBackend(stack: TerraformStack, spec: PlatformSpec, backend: DigitalOceanBackend): void {
  addStateBackend(
    stack,
    backend.type === 'local'
      ? { type: 'local', path: backend.path ?? 'terraform.tfstate' }
      : {
          type: 's3',
          bucket: backend.bucket,
          key: backend.key ?? `${spec.config.cluster.name}/terraform.tfstate`,
          region: 'us-east-1',
          endpoint: backend.endpoint ?? `https://${spacesRegion(spec)}.digitaloceanspaces.com`,
        },
  );
}

function addDns(
  stack: TerraformStack,
  spec: PlatformSpec,
  dns: DigitalOceanDnsProps,
  api: Loadbalancer,
  ingress: Loadbalancer,
  named: <T extends { overrideLogicalId(id: string): void }>(resource: T, logicalId: string) => T,
): void {
  const domain = spec.config.domain;
  const zone = dns.zone ?? domain;
  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/domain
  const zoneName = dns.createZone
    ? named(new Domain(stack, 'zone', { name: zone }), 'zone').name
    : // Read, not managed: plan stops early when the zone is missing, and destroy never deletes it.
      named(new DataDigitaloceanDomain(stack, 'zone', { name: zone }), 'zone').name;
  const relative = domain === zone ? '' : `.${domain.slice(0, -(zone.length + 1))}`;
  // @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/record
  named(new DnsRecord(stack, 'record-api', { domain: zoneName, type: 'A', name: `api${relative}`, value: api.ip, ttl: 300 }), 'api');
  named(new DnsRecord(stack, 'record-ingress', { domain: zoneName, type: 'A', name: `*${relative}`, value: ingress.ip, ttl: 300 }), 'ingress');
}

interface Cidr {
  readonly start: number;
  readonly end: number;
}

function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const start = Math.floor(address / size) * size;
  return { start, end: start + size - 1 };
}

const overlaps = (a: Cidr, b: Cidr) => a.start <= b.end && b.start <= a.end;

/** `'6800-7300'` -> every port in it. */
function expandPorts(range: string): number[] {
  const [low, high = low] = range.split('-').map(Number);
  return Array.from({ length: high - low + 1 }, (_, i) => low + i);
}
