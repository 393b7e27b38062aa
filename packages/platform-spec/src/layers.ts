import type { IConstruct } from 'constructs';
import type { PlatformConfig } from './config-schema';
import type { PlatformSpec } from './load';
import type { NodeSpec } from './topology';

/**
 * Pod Security Admission level enforced on a namespace.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/** A namespace a layer owns. */
export interface NamespacePlan {
  readonly name: string;
  /** Level enforced, audited and warned on. */
  readonly podSecurity: PodSecurityLevel;
  /** Why the level is looser than `restricted`; required unless `restricted`. */
  readonly reason?: string;
  /**
   * The namespace exists before the platform (`kube-system`, made by
   * kubeadm): the layer installs into it but does not render it, and the
   * network layer does not default-deny it.
   */
  readonly preexisting?: true;
  /**
   * The namespace keeps data on PersistentVolumeClaims (an app's files,
   * library or database), so restoring its volumes is what a backup is for:
   * the backups layer's restore drill picks the first app namespace that
   * does.
   * @default - none: nothing in it needs restoring but what git re-renders
   */
  readonly volumes?: true;
}

/** The swappable layers, each rendered into its own `charts-out/<folder>/`. */
export type LayerId = 'gitops' | 'network' | 'maintenance' | 'storage' | 'ingress' | 'backups' | 'apps';

/** Where a layer renders to, when Argo CD syncs it, and which namespaces it owns. */
export interface LayerInfo {
  readonly id: LayerId;
  /** Folder under `charts-out/`; also the name of the layer's Argo CD Application. */
  readonly folder: string;
  /** The implementation chosen in the config (`cilium`, `traefik`, ...). */
  readonly implementation: string;
  /**
   * Argo CD sync wave of the layer's Application: lower waves sync first, and
   * wait to be healthy once Argo CD's Application health check is enabled
   * (the Argo CD install does that).
   */
  readonly syncWave: number;
  readonly namespaces: readonly NamespacePlan[];
  /** One line for humans (README, `verify` report). */
  readonly description: string;
}

const restricted = (name: string): NamespacePlan => ({ name, podSecurity: 'restricted' });

/**
 * Plans every layer's folder, sync wave and namespaces from the config.
 *
 * Namespaces live in the shared contract, not in each layer, because layers
 * name each other's namespaces: network policies let the ingress controller
 * reach the apps, backups select the apps' volumes.
 */
/**
 * "A", "A and B", "A, B, and C": what `new Intl.ListFormat('en').format()`
 * writes, without loading ICU's locale data for it (11 ms of a synth).
 */
function englishList(items: readonly string[]): string {
  if (items.length <= 2) return items.join(' and ');
  return `${items.slice(0, -1).join(', ')}, and ${items[items.length - 1]}`;
}

export function planLayers(config: PlatformConfig): readonly LayerInfo[] {
  const { layers, apps } = config;
  return [
    {
      id: 'gitops',
      folder: 'argocd',
      implementation: 'argocd',
      syncWave: -10,
      namespaces: [restricted('argocd')],
      description: 'Argo CD, the app of apps and one Application per layer',
    },
    {
      id: 'network',
      folder: 'network',
      implementation: layers.network,
      syncWave: -5,
      // Cilium runs in kube-system (its agents need the host network and
      // kernel); flannel upstream installs into its own privileged namespace.
      namespaces: [
        {
          name: 'kube-system',
          podSecurity: 'privileged',
          reason: 'the control plane, CoreDNS and the CNI agents run here; made by kubeadm',
          preexisting: true,
        },
        ...(layers.network === 'flannel'
          ? [{ name: 'kube-flannel', podSecurity: 'privileged' as const, reason: 'flannel programs the host network and WireGuard interface' }]
          : []),
      ],
      description: `pod network (${layers.network}, WireGuard between nodes)`,
    },
    {
      id: 'maintenance',
      folder: 'maintenance',
      implementation: 'kured',
      syncWave: -3,
      namespaces: [
        {
          name: 'kured',
          podSecurity: 'privileged',
          reason: 'kured enters the host (hostPID, privileged) to reboot a node once it is drained',
        },
        restricted('kubelet-csr-approver'),
      ],
      description: 'node upkeep: coordinated reboots within PodDisruptionBudgets, kubelet serving certificates signed by the cluster CA',
    },
    {
      id: 'storage',
      folder: 'storage',
      implementation: layers.storage,
      syncWave: 0,
      namespaces: [
        {
          name: 'rook-ceph',
          podSecurity: 'privileged',
          reason: 'Ceph OSDs and the CSI node plugins need raw block devices and host mounts',
        },
        {
          name: 'kube-system',
          podSecurity: 'privileged',
          reason: 'the CSI snapshot controller runs beside the control plane, as upstream installs it',
          preexisting: true,
        },
      ],
      description: 'distributed block and file storage sized by the fault budget',
    },
    {
      id: 'ingress',
      folder: 'ingress',
      implementation: layers.ingress,
      syncWave: 10,
      namespaces: [restricted('cert-manager'), restricted(layers.ingress === 'traefik' ? 'traefik' : 'gateway-system')],
      description: `public ingress (${layers.ingress}) with Let's Encrypt TLS`,
    },
    {
      id: 'backups',
      folder: 'backups',
      implementation: layers.backups,
      syncWave: 20,
      namespaces: [
        {
          name: 'velero',
          podSecurity: 'privileged',
          reason: "the node agent reads pods' volumes from the host to move snapshot data off-cluster",
        },
      ],
      description: 'scheduled off-cluster backups of volumes and etcd',
    },
    {
      id: 'apps',
      folder: 'apps',
      implementation: 'nextcloud-emby-site',
      syncWave: 30,
      // A disabled app renders no namespace; the CloudNativePG operator
      // exists only for Nextcloud's database. The media server keeps the
      // namespace `emby` whichever server runs, so a swap keeps the library
      // claim; only Emby, which starts as root, needs it baseline.
      namespaces: [
        ...(apps.nextcloud.enabled
          ? [
              restricted('cnpg-system'),
              {
                name: 'nextcloud',
                podSecurity: 'baseline' as const,
                reason: 'the official Nextcloud image starts Apache as root and drops to www-data',
                volumes: true as const,
              },
            ]
          : []),
        ...(apps.media.enabled
          ? [
              apps.media.server === 'emby'
                ? { name: 'emby', podSecurity: 'baseline' as const, reason: 'the Emby image starts as root to set its user and group IDs', volumes: true as const }
                : { ...restricted('emby'), volumes: true as const },
            ]
          : []),
        ...(apps.website.enabled ? [restricted('website')] : []),
      ],
      description:
        englishList(
          [apps.nextcloud.enabled && 'Nextcloud', apps.media.enabled && (apps.media.server === 'emby' ? 'Emby' : 'Jellyfin'), apps.website.enabled && 'the website'].filter(
            (a): a is string => typeof a === 'string',
          ),
        ) || 'no apps',
    },
  ];
}

/** A Kubernetes Service a layer wants to reach or publish. */
export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
  /** Port number on the Service. */
  readonly port: number;
  /**
   * Port the pods listen on (what network policies match).
   * @default - the Service port
   */
  readonly targetPort?: number;
  /** The Service's selector: the labels of the pods behind it. */
  readonly podLabels: Readonly<Record<string, string>>;
}

/** A Secret referenced by name only: its value is created at deploy time, never rendered. */
export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
  /** Key inside the Secret, when one is meant. */
  readonly key?: string;
}

/** Options for {@link IngressLayer.expose}. */
export interface ExposeOptions {
  /**
   * Path prefix routed to the service.
   * @default '/'
   */
  readonly path?: string;
}

/** What {@link IngressLayer.expose} created. */
export interface ExposedService {
  readonly host: string;
  readonly url: string;
  /** Secret cert-manager writes the certificate to. */
  readonly tlsSecretName: string;
}

/** What the ingress layer offers other layers: one call makes a service public over HTTPS. Implemented by the ingress layer (#8). */
export interface IngressLayer {
  /** Namespace of the ingress controller, for network-policy allows. */
  readonly namespace: string;
  /**
   * What the cloud's ingress load balancer must forward to on every node:
   * the node ports for HTTP and HTTPS, and whether the controller expects
   * PROXY protocol (v1) so it sees client addresses. The app passes this
   * to the node provider.
   */
  readonly loadBalancerTarget: { readonly http: number; readonly https: number; readonly proxyProtocol: boolean };
  /** Creates the route, the certificate and the network-policy allow for `service` at `host`. */
  expose(scope: IConstruct, service: ServiceRef, host: string, options?: ExposeOptions): ExposedService;
}

/**
 * Label Velero's CSI support picks a driver's VolumeSnapshotClass by: the
 * storage layer sets it to "true" on the snapshot classes it exposes, the
 * backups layer relies on it.
 *
 * @see https://velero.io/docs/v1.18/csi/#implementation-choices
 */
export const VELERO_SNAPSHOT_CLASS_LABEL = 'velero.io/csi-volumesnapshot-class';

/** What the storage layer offers: class names only, so any storage can stand behind them. Implemented by storage-rook (#7). */
export interface StorageLayer {
  /** ReadWriteOnce block volumes (the default class). */
  readonly blockClass: string;
  /** ReadWriteMany shared file volumes. */
  readonly filesystemClass: string;
  readonly blockSnapshotClass: string;
  readonly filesystemSnapshotClass: string;
  /**
   * What the storage's redundancy costs in raw space, one line per class
   * (`block (ceph-block): 4 copies on distinct nodes, ...`): synth prints it
   * as the platform's price, so a swapped storage layer states its own.
   */
  readonly overheadSummary: string;
}

/**
 * What the pod network (CNI) layer offers the app: it renders every
 * connection the other layers declared as network policies, once they have
 * all declared them. `Chart` is the layer chart type of the composition
 * (cluster-kit's `LayerChart`), kept generic so this contract does not
 * depend on cdk8s.
 */
export interface PodNetworkLayer<Chart = IConstruct> {
  /** Renders the declared traffic of `layers` (and its own) as policies; default-denies everything else in their namespaces. Called last. */
  enforce(layers: readonly Chart[]): void;
  /**
   * kubeadm addons the layer installs itself, so `kubeadm init` skips them
   * (`coredns` when the layer ships CoreDNS).
   * @default - none
   */
  readonly replacesKubeadmAddons?: readonly 'coredns'[];
}

/** An S3-compatible bucket, as the node provider creates it. */
export interface ObjectBucket {
  readonly bucket: string;
  /** S3 endpoint URL, e.g. `https://fra1.digitaloceanspaces.com`. */
  readonly endpoint: string;
  /** Signing region. */
  readonly region: string;
}

/** An S3-compatible bucket backups are written to. Used by backups-velero (#9). */
export interface BackupTarget extends ObjectBucket {
  /** Secret holding the access key, created at deploy time. */
  readonly credentials: SecretRef;
}

/** A certificate and its private key, PEM. */
export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * The secret material nodes boot with, as the secrets bundle provides it.
 *
 * Host layers (Ignition, infra) receive it through this interface, never by
 * reading the bundle themselves.
 */
export interface ClusterSecrets {
  readonly etcdCa: PemPair;
  readonly kubernetesCa: PemPair;
  readonly frontProxyCa: PemPair;
  /** Signs service-account tokens. */
  readonly serviceAccount: { readonly privateKeyPem: string; readonly publicKeyPem: string };
  /** base64 32-byte key for Secrets at rest in etcd. */
  readonly encryptionKey: string;
  /** kubeadm bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}` nodes join with. */
  readonly bootstrapToken: string;
}

/**
 * One step of the first controller's bootstrap (what it applies after
 * `kubeadm init`): objects rendered by a cluster layer, or a pinned upstream
 * URL. Cluster layers provide them; the node configs run them.
 */
export type BootstrapStep =
  | {
      readonly name: string;
      /** Multi-document YAML. */
      readonly manifests: string;
      /**
       * Objects that only serve the step (an installer Job and its
       * cluster-admin binding): removed once the Job completed, so no such
       * grant outlives the bootstrap.
       * @default - nothing is removed
       */
      readonly cleanup?: { readonly job: { readonly namespace: string; readonly name: string }; /** `kind/name`, in the Job's namespace unless cluster-scoped. */ readonly delete: readonly string[] };
    }
  | {
      readonly name: string;
      /** A pinned upstream manifest (a tag in the URL). */
      readonly url: string;
      /** Namespace for objects that name none. */
      readonly namespace?: string;
      /**
       * SHA-256 of the file at `url`, 64 lower-case hex digits: checked by
       * synth when it carries the file, and by the node before it applies it.
       * @default - not pinned: the node applies whatever the URL serves
       */
      readonly sha256?: string;
      /**
       * The same file in a pinned Git tag (laid out as `KEELSON_MANIFESTS_DIR`
       * is): synth reads it there (or from its cache, fetching the tag once
       * when online) and carries it into the node config, so the node never
       * downloads it. Needs `sha256`.
       * @default - the node downloads `url` at first boot
       */
      readonly gitSource?: { readonly repoURL: string; readonly revision: string; readonly path: string };
    }
  | {
      readonly name: string;
      /** Where the file comes from (for logs and errors; the node never fetches it). */
      readonly url: string;
      /** Namespace for objects that name none. */
      readonly namespace?: string;
      /** SHA-256 of `contents` (UTF-8), 64 lower-case hex digits: the node applies the file only with this hash. */
      readonly sha256: string;
      /**
       * The file itself, carried in the node's secret part (gzip-compressed),
       * not in the size-limited user-data.
       */
      readonly contents: string;
    };

/** Where a deploy-time Secret's key gets its value. */
export type SecretSource =
  /** An AWS-style credentials file (`[default]` with the key pair), as Velero's AWS plugin reads it. */
  | { readonly kind: 'aws-credentials'; readonly accessKeyVariable: string; readonly secretKeyVariable: string }
  /** A fixed, non-secret value (a user name). */
  | { readonly kind: 'literal'; readonly value: string }
  /** A random password made once and kept in the secrets bundle folder, so every deploy sends the same. */
  | { readonly kind: 'generated'; readonly file: string }
  /** A file of the secrets bundle (a certificate or its key), relative to the bundle folder. */
  | { readonly kind: 'bundle-file'; readonly file: string };

/** One Secret `keelson deploy` creates in the cluster; the layer that declares it references it by name and never renders it. */
export interface DeployTimeSecret {
  readonly namespace: string;
  readonly name: string;
  readonly keys: Readonly<Record<string, SecretSource>>;
  /** Who reads it, for the messages. */
  readonly purpose: string;
}

/** What a layer's deploy-time Secrets may name from the run's cloud: its object-store key variables. */
export type DeployTimeSecretContext = Pick<NodeProvider, 'objectStoreCredentialVariables'>;

/**
 * What a {@link HealthGate} probes, with where to look: the layer that
 * declares it names its own resource and namespace, so the lifecycle names
 * none.
 */
export type HealthCheck =
  /**
   * Every object of `resource` in `namespace` has `healthy` at `field`, read
   * from its status (no exec); none at all fails. The storage layer's
   * CephCluster: `cephclusters.ceph.rook.io`, `status.ceph.health`, `HEALTH_OK`.
   */
  | {
      readonly kind: 'status';
      /** As `kubectl get` takes it: `<plural>.<group>`, e.g. `cephclusters.ceph.rook.io`. */
      readonly resource: string;
      readonly namespace: string;
      /** Dotted path into the object, e.g. `status.ceph.health`. */
      readonly field: string;
      /** The value that means healthy, e.g. `HEALTH_OK`. */
      readonly healthy: string;
    }
  /** Every Argo CD Application in `namespace` Synced and Healthy. */
  | { readonly kind: 'applications'; readonly namespace: string };

/** A check `keelson upgrade` runs before a node leaves and after it is back. */
export interface HealthGate {
  /** As stop messages print it: `Ceph HEALTH_OK`. */
  readonly name: string;
  readonly check: HealthCheck;
  /** What to look at when it fails. */
  readonly fix: string;
}

/**
 * What a layer declares beyond its objects, for the app and the lifecycle
 * to read: its namespaces come from {@link LayerInfo.namespaces} (its chart
 * renders them; a layer of your own passes its own to its chart), its Argo
 * CD Application from its folder.
 */
export interface LayerDeclarations {
  /** Secrets created at deploy time, with where each value comes from. @default - none */
  deployTimeSecrets?(context: DeployTimeSecretContext): readonly DeployTimeSecret[];
  /** What the first controller applies after `kubeadm init`, in order. @default - none */
  bootstrapSteps?(): readonly BootstrapStep[];
  /** Checks between nodes of an upgrade. @default - none */
  readonly healthGates?: readonly HealthGate[];
}

/** Every layer's declarations, collected in layer order by the composed platform. */
export interface PlatformDeclarations {
  readonly bootstrap: readonly BootstrapStep[];
  readonly healthGates: readonly HealthGate[];
  deployTimeSecrets(context: DeployTimeSecretContext): readonly DeployTimeSecret[];
}

/** Collects the declarations of `layers`, in their order; a layer that declares nothing adds nothing. */
export function collectDeclarations(all: readonly object[]): PlatformDeclarations {
  // Every member of LayerDeclarations is optional, so any layer object is one (TypeScript refuses such "weak" types for objects with none of them).
  const layers = all as readonly LayerDeclarations[];
  return {
    bootstrap: layers.flatMap((l) => l.bootstrapSteps?.() ?? []),
    healthGates: layers.flatMap((l) => l.healthGates ?? []),
    deployTimeSecrets: (context) => layers.flatMap((l) => l.deployTimeSecrets?.(context) ?? []),
  };
}

/** One node's boot config as the infrastructure receives it. */
export interface NodeBootConfig {
  /** The node's stable name (topology). */
  readonly name: string;
  /** The user-data: the Ignition pointer, which holds no secret. */
  readonly userData: string;
  /** The secret part the pointer merges, stored privately so the node fetches it once. */
  readonly secretPart: string;
  /** Object key of the secret part in the private bucket, e.g. `<node>.ign`. */
  readonly secretPartKey: string;
  /**
   * Path of the secret part's file relative to the Terraform file (e.g.
   * `ignition/<node>.secret.ign`). When given, the Terraform reads the file
   * through `sensitive(file(...))` instead of embedding its content, so keys
   * stay out of the Terraform JSON and out of plan output.
   */
  readonly secretPartFile?: string;
}

/** Credentials to sign the expiring links nodes fetch their secret parts with. */
export interface ObjectStoreCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** What a {@link NodeProvider} renders from. */
export interface InfraInput {
  readonly spec: PlatformSpec;
  /** One entry per node of `spec.topology`, same order. */
  readonly nodes: readonly NodeBootConfig[];
  /**
   * What the ingress load balancer forwards to on every node: the ingress
   * layer's {@link IngressLayer.loadBalancerTarget}.
   * @default - the provider's own props (ports 80 and 443, no PROXY protocol)
   */
  readonly ingressTarget?: IngressLayer['loadBalancerTarget'];
}

/** What a server type offers: vCPUs and memory, as the cloud sells it. */
export interface ServerSize {
  readonly vcpus: number;
  readonly memoryGiB: number;
}

/** A rendered Terraform configuration (JSON), ready for `terraform` or `tofu`. */
export interface TerraformDocument {
  /** File name under `infra-out/`, e.g. `main.tf.json`. */
  readonly fileName: string;
  /** The Terraform JSON, serialised. */
  readonly content: string;
}

/** One request to a cloud's API, as a drill's dry run shows it. */
export interface CloudApiRequest {
  readonly method: 'GET' | 'POST';
  /** The full URL; `{...}` stands for what only the API's earlier answer gives (a server's or an action's ID). */
  readonly url: string;
  /** The JSON body, when the request has one. */
  readonly body?: unknown;
  /** Why it is sent: `find keelson-controller-1`, `power off keelson-controller-1`, `wait for the action`. */
  readonly purpose: string;
}

/** How to reach a cloud's API. */
export interface CloudApiOptions {
  /** The API token, sent as `Authorization: Bearer <token>`. */
  readonly token: string;
  /**
   * The API's base URL, with its version (a test points it at a local mimic).
   * @default - the cloud's public API (`https://api.digitalocean.com/v2`, `https://api.hetzner.cloud/v1`)
   */
  readonly baseUrl?: string;
  /**
   * How long to wait for one power action to complete.
   * @default 300000
   */
  readonly actionTimeoutMs?: number;
  /**
   * How often to ask whether an action completed.
   * @default 2000
   */
  readonly pollIntervalMs?: number;
}

/**
 * A cloud's power switch for the platform's servers, by node name (the
 * server's name is the node's): what `keelson drill` turns nodes off and on
 * with. Each call finds every server by its name, starts one power action
 * per server at once, and waits until every action completed; an error names
 * the server, the HTTP status and the API's own message.
 */
export interface CloudPower {
  /** Cuts the servers' power at once (a hard power-off, not a shutdown), and waits until they are off. */
  powerOff(nodes: readonly string[]): Promise<void>;
  /** Powers the servers on, and waits until the cloud reports them on. */
  powerOn(nodes: readonly string[]): Promise<void>;
  /** The requests `powerOff` or `powerOn` would send for `nodes`, in order, sending none. */
  plan(action: 'powerOff' | 'powerOn', nodes: readonly string[]): readonly CloudApiRequest[];
}

/** What a line of a {@link MonthlyCost} is for; the plan prices the fault budget from these. */
export type CostKind = 'controllers' | 'workers' | 'volumes' | 'load balancers' | 'buckets' | 'traffic' | 'addresses';

/** One line of a monthly estimate: `quantity` of `unit` at `unitPrice`. */
export interface CostLine {
  readonly kind: CostKind;
  /** What is counted, e.g. `5 x s-4vcpu-8gb` or `6 volumes of 100 GiB`. */
  readonly item: string;
  readonly quantity: number;
  /** The unit priced, e.g. `server`, `GiB`, `load balancer`. */
  readonly unit: string;
  /** Price of one unit a month, or undefined when the price table has none. */
  readonly unitPrice?: number;
  /** `quantity * unitPrice` (or the flat price), undefined when not priced. */
  readonly monthly?: number;
  /** What is included or extra (a traffic allowance, a price per GiB beyond it). */
  readonly note?: string;
}

/**
 * What the platform's resources cost a month on a cloud, from the provider's
 * dated price table: list prices, before tax and discounts.
 */
export interface MonthlyCost {
  readonly currency: 'USD' | 'EUR';
  /** The date the price table was checked (`YYYY-MM-DD`). */
  readonly pricesAsOf: string;
  /** Where to check and refresh the prices (the cloud's pricing page). */
  readonly source: string;
  readonly lines: readonly CostLine[];
  /** Sum of the priced lines. */
  readonly total: number;
  /** False when a line has no price: the total is then a lower bound. */
  readonly complete: boolean;
  /** What the table is known to miss (a price change after its date). */
  readonly caveat?: string;
}

/**
 * The seam between the platform and a cloud: renders everything the platform
 * needs from the cloud (image, network, firewall, nodes, load balancers,
 * volumes, buckets, DNS) as Terraform JSON, and turns its servers off and on
 * for a drill. One line of config picks one.
 */
export interface NodeProvider {
  /** The config's `provider.name` that picks this provider. */
  readonly id: PlatformConfig['provider']['name'];
  /** The cloud's name for people, as messages print it (`DigitalOcean`, `Hetzner Cloud`). */
  readonly displayName: string;
  /** The environment variable holding the cloud's API token, as its Terraform provider reads it (`DIGITALOCEAN_TOKEN`, `HCLOUD_TOKEN`). */
  readonly apiTokenVariable: string;
  /**
   * The largest user-data the cloud's servers accept, in bytes: what a
   * node's Ignition pointer must fit in (everything else goes into the
   * secret part it fetches).
   */
  readonly userDataLimitBytes: number;
  /**
   * Where a person watches a node's boot when it does not come up (there is
   * no SSH), for a message: the cloud console's own view of the server.
   */
  readonly consoleHint: string;
  /**
   * The Terraform resource type of a node's server and the attribute that
   * holds its server type, as {@link NodeProvider.renderTerraform} writes
   * them: what readers of the rendered Terraform (verify, rehearse) look for.
   */
  readonly server: { readonly resourceType: string; readonly typeAttribute: string };
  /** The Terraform address of a node's server, for `terraform apply -replace=...`. */
  serverAddress(node: NodeSpec): string;
  /** vCPUs and memory of one of the cloud's server types, or undefined when the provider does not know the type. */
  serverSize(type: string): ServerSize | undefined;
  /** What a server type of the cloud looks like, for a message that refuses one (`slugs such as s-4vcpu-8gb`). */
  readonly serverTypeHint: string;
  /**
   * A regular expression for the by-id path of the raw volume the provider
   * attaches to every node for the storage layer, anchored at `^/dev/`.
   */
  volumeDevicePathFilter(spec: PlatformSpec): string;
  /** The cloud's power actions on the platform's servers, through its API. */
  cloudPower(options: CloudApiOptions): CloudPower;
  /**
   * Where the secret part of a node's Ignition is fetched from (the pointer
   * names it): a link signed with `signing` that expires, or the bare object
   * URL when no credentials are given (nodes cannot fetch that one).
   */
  secretPartUrl(spec: PlatformSpec, node: NodeSpec, signing?: { readonly credentials: ObjectStoreCredentials; readonly now: Date }): string;
  /**
   * The two environment variables {@link NodeProvider.credentialsFromEnv}
   * reads, access key first (`SPACES_ACCESS_KEY_ID` and
   * `SPACES_SECRET_ACCESS_KEY`, `MINIO_USER` and `MINIO_PASSWORD`): what a
   * message tells the user to set.
   */
  readonly objectStoreCredentialVariables: readonly [accessKey: string, secretKey: string];
  /**
   * Refuses a config that breaks one of the cloud's own rules its Terraform
   * schema does not show (a server type it no longer sells, a size of
   * another cloud), before anything is rendered or applied: throws a
   * `PlatformConfigError` naming each field, the value and the current
   * alternatives. Every rendering method runs it too.
   */
  checkSpec(spec: PlatformSpec): void;
  /**
   * The private IPv4 address nodes reach the API server at (`api.<domain>`),
   * when public DNS does not give them the right one: node configs then pin
   * the name to it in `/etc/hosts`. `undefined` when nodes resolve
   * `api.<domain>` through DNS like everyone else (DigitalOcean: its API load
   * balancer is public, behind its own firewall). On Hetzner the name
   * resolves to the controllers' public addresses for admins, and nodes use
   * the private load balancer's fixed address.
   */
  apiPrivateAddress(spec: PlatformSpec): string | undefined;
  /**
   * The controllers' private IPv4 addresses, in topology order, when the
   * infrastructure pins them at creation: node configs then accept etcd
   * (2379-2380) only from them. `undefined` when the cloud assigns them
   * (DigitalOcean: a droplet cannot choose its VPC address), and the host
   * firewall accepts etcd from the whole node network. Hetzner pins each
   * controller's address in the node subnet.
   */
  controllerPrivateAddresses(spec: PlatformSpec): readonly string[] | undefined;
  /** The object-store credentials from the environment, when set (e.g. SPACES_ACCESS_KEY_ID). */
  credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): ObjectStoreCredentials | undefined;
  renderTerraform(input: InfraInput): TerraformDocument;
  /**
   * What the resources {@link NodeProvider.renderTerraform} creates cost a
   * month (servers by type and count, volumes, load balancers, buckets,
   * public addresses, the traffic allowance), from the provider's dated
   * price table.
   */
  monthlyCost(spec: PlatformSpec): MonthlyCost;
  /** The private, versioned bucket the configuration creates for backups. */
  backupBucket(spec: PlatformSpec): ObjectBucket;
  /**
   * The URL of one object in {@link NodeProvider.backupBucket}, such as an
   * etcd snapshot (`etcd/<UTC time>.db`): a `GET` link signed with `signing`
   * that expires after 7 days (the SigV4 maximum), or the bare object URL
   * when no credentials are given (nobody can fetch that one). Throws when
   * `key` is empty, starts with `/`, or has a `.`/`..`/empty segment.
   */
  backupObjectUrl(spec: PlatformSpec, key: string, signing?: { readonly credentials: ObjectStoreCredentials; readonly now: Date }): string;
}
