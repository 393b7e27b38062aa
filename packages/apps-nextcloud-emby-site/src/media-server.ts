import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { LayerChart } from '@keelson/cluster-kit';
import { endpoints, RECOVERY, type ExposedService, type IngressLayer, type PlatformSpec, type ServiceRef, type StorageLayer } from '@keelson/platform-spec';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { COMPONENT_LABEL, NAME_LABEL, clusterService, nonRootPod, restrictedContainer, volumeClaim } from './internal/workload';

/**
 * Namespace the media server runs in (planned by platform-spec as `emby`,
 * whichever server runs, so a swap keeps the library claim; Pod Security
 * baseline for Emby, restricted for Jellyfin).
 */
export const MEDIA_NAMESPACE = 'emby';
/** Where the shared media library is mounted in the media server. */
export const MEDIA_LIBRARY_PATH = '/media';
/** The shared media library claim: kept when the server is swapped. */
export const MEDIA_LIBRARY_CLAIM = 'media-library';

/**
 * How long after its node dies the media server must be serving again on
 * another node, in seconds: the platform's recovery bound (platform-spec's
 * RECOVERY), stated on the Deployment so `verify` checks it.
 */
export const MEDIA_RECOVERY_BOUND_SECONDS = RECOVERY.boundSeconds;
/** kube-controller-manager's `--node-monitor-grace-period` (Keelson keeps the default). */
export const NODE_MONITOR_GRACE_PERIOD_SECONDS = RECOVERY.nodeMonitorGracePeriodSeconds;
/** Eviction, scheduling, attaching the shared volumes, pulling the image and the first readiness probe. */
export const MEDIA_START_ALLOWANCE_SECONDS = RECOVERY.startAllowanceSeconds;
/** Default `tolerationSeconds` for `node.kubernetes.io/not-ready` and `unreachable`. */
export const MEDIA_TOLERATION_SECONDS = 10;

/**
 * One media server implementation behind the seam: what differs between
 * Emby and Jellyfin. Everything else (volumes, tolerations, Service,
 * exposure, traffic) is shared.
 */
export interface MediaServerImplementation {
  /**
   * Names the Deployment, Service and config claim (`<id>-config`): `emby`,
   * `jellyfin`, or a server of your own (a DNS-1123 label).
   */
  readonly id: string;
  /** Pinned image. */
  readonly image: string;
  /** HTTP port the server listens on. */
  readonly port: number;
  /** Path answering 200 once the server serves. */
  readonly readinessPath: string;
  /** Where the server keeps its config and database. */
  readonly configPath: string;
  readonly env: readonly IEnvVar[];
  readonly podSecurityContext: IPodSecurityContext;
  readonly containerSecurityContext: ISecurityContext;
  /** Scratch volumes the server writes to (emptyDirs), with their mount paths. */
  readonly scratch: readonly { readonly name: string; readonly mountPath: string; readonly sizeLimit: string }[];
}

const MEDIA_UID = 2000;

/**
 * Emby Server, pinned.
 *
 * The image starts as root and drops to `UID`/`GID` itself, so it cannot run
 * as a non-root user nor with a read-only root filesystem (it writes its own
 * runtime files): the `emby` namespace is `baseline` for that. It keeps only
 * the capabilities it needs to change user and own its files.
 *
 * @see https://hub.docker.com/r/emby/embyserver
 */
export const emby: MediaServerImplementation = {
  id: 'emby',
  image: 'emby/embyserver:4.9.5.0',
  port: 8096,
  readinessPath: '/emby/System/Ping',
  configPath: '/config',
  env: [
    { name: 'UID', value: String(MEDIA_UID) },
    { name: 'GID', value: String(MEDIA_UID) },
    { name: 'GIDLIST', value: String(MEDIA_UID) },
  ],
  podSecurityContext: { fsGroup: MEDIA_UID, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
  containerSecurityContext: {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: false,
    capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  scratch: [],
};

/**
 * Jellyfin, pinned. Runs as any user with a read-only root filesystem
 * (cache and temporary files on emptyDirs), so the `emby` namespace is
 * `restricted` while it runs.
 *
 * @see https://jellyfin.org/docs/general/installation/container
 */
export const jellyfin: MediaServerImplementation = {
  id: 'jellyfin',
  image: 'jellyfin/jellyfin:10.11.11',
  port: 8096,
  readinessPath: '/health',
  configPath: '/config',
  env: [
    { name: 'JELLYFIN_DATA_DIR', value: '/config' },
    { name: 'JELLYFIN_CACHE_DIR', value: '/cache' },
  ],
  podSecurityContext: nonRootPod(MEDIA_UID, MEDIA_UID),
  containerSecurityContext: restrictedContainer(),
  scratch: [
    { name: 'cache', mountPath: '/cache', sizeLimit: '20Gi' },
    { name: 'tmp', mountPath: '/tmp', sizeLimit: '2Gi' },
  ],
};

/** The implementation for a config value. */
export function mediaServerImplementation(server: 'emby' | 'jellyfin'): MediaServerImplementation {
  return server === 'emby' ? emby : jellyfin;
}

/** Props for {@link MediaServer}. */
export interface MediaServerProps {
  readonly spec: PlatformSpec;
  readonly ingress: IngressLayer;
  readonly storage: StorageLayer;
  /** Public host name, e.g. `media.example.com`. */
  readonly host: string;
  /**
   * Which server runs: swapping is this one value.
   * @default emby
   */
  readonly implementation?: MediaServerImplementation;
  /**
   * Size of the shared media library.
   * @default 500
   */
  readonly librarySizeGiB?: number;
  /**
   * Size of the server's config and database volume.
   * @default 20
   */
  readonly configSizeGiB?: number;
  /**
   * Seconds the pod stays on a node once it is tainted not-ready or
   * unreachable. Checked against {@link MEDIA_RECOVERY_BOUND_SECONDS}.
   * @default 10
   */
  readonly tolerationSeconds?: number;
}

/**
 * A media server (Emby or Jellyfin): a single instance by nature, since its
 * database is local to its config folder.
 *
 * It survives a node loss by moving, not by replicas: config and media sit
 * on ReadWriteMany volumes any node can mount, and short not-ready and
 * unreachable tolerations evict it from a dead node quickly, so it is back
 * within {@link MEDIA_RECOVERY_BOUND_SECONDS} (node-monitor grace period +
 * toleration + start allowance). `Recreate` keeps two copies from opening
 * the database during an upgrade.
 *
 * Media upload: there is no SSH; copy files into the library through the
 * API server, e.g. `kubectl -n emby cp ./film.mkv deploy/emby:/media/films/`
 * (the image's `tar` does the copy), then scan the library in the server's UI.
 */
export class MediaServer extends Construct {
  public readonly implementation: MediaServerImplementation;
  public readonly service: ServiceRef;
  public readonly exposed: ExposedService;
  /** `tolerationSeconds` on both taints. */
  public readonly tolerationSeconds: number;

  constructor(scope: Construct, id: string, props: MediaServerProps) {
    super(scope, id);
    const layer = LayerChart.containing(this);
    const impl = props.implementation ?? emby;
    if (!/^[a-z]([-a-z0-9]{0,51}[a-z0-9])?$/.test(impl.id)) {
      throw new Error(`MediaServer: implementation.id "${impl.id}" names its Deployment, Service and claim "${impl.id}-config"; use lower-case letters, digits and '-', starting with a letter, at most 53 characters (e.g. "plex")`);
    }
    this.implementation = impl;
    const tolerationSeconds = props.tolerationSeconds ?? MEDIA_TOLERATION_SECONDS;
    const recovery = NODE_MONITOR_GRACE_PERIOD_SECONDS + tolerationSeconds + MEDIA_START_ALLOWANCE_SECONDS;
    if (!Number.isInteger(tolerationSeconds) || tolerationSeconds < 0 || recovery > MEDIA_RECOVERY_BOUND_SECONDS) {
      throw new Error(
        `MediaServer: tolerationSeconds ${tolerationSeconds} gives a recovery of ${NODE_MONITOR_GRACE_PERIOD_SECONDS} s (node-monitor grace period) + ${tolerationSeconds} s + ${MEDIA_START_ALLOWANCE_SECONDS} s (start) = ${recovery} s, over the ${MEDIA_RECOVERY_BOUND_SECONDS} s bound; use a whole number from 0 to ${MEDIA_RECOVERY_BOUND_SECONDS - NODE_MONITOR_GRACE_PERIOD_SECONDS - MEDIA_START_ALLOWANCE_SECONDS}`,
      );
    }
    this.tolerationSeconds = tolerationSeconds;
    const ns = MEDIA_NAMESPACE;
    const configClaim = `${impl.id}-config`;
    volumeClaim(this, { namespace: ns, name: configClaim, storageClass: props.storage.filesystemClass, accessMode: 'ReadWriteMany', sizeGiB: props.configSizeGiB ?? 20 });
    volumeClaim(this, { namespace: ns, name: MEDIA_LIBRARY_CLAIM, storageClass: props.storage.filesystemClass, accessMode: 'ReadWriteMany', sizeGiB: props.librarySizeGiB ?? 500 });

    const labels = { [NAME_LABEL]: impl.id, [COMPONENT_LABEL]: 'media-server' };
    const volumes: IVolume[] = [
      { name: 'config', persistentVolumeClaim: { claimName: configClaim } },
      { name: 'library', persistentVolumeClaim: { claimName: MEDIA_LIBRARY_CLAIM } },
      ...impl.scratch.map((s) => ({ name: s.name, emptyDir: { sizeLimit: s.sizeLimit } })),
    ];
    const mounts: IVolumeMount[] = [
      { name: 'config', mountPath: impl.configPath },
      { name: 'library', mountPath: MEDIA_LIBRARY_PATH },
      ...impl.scratch.map((s) => ({ name: s.name, mountPath: s.mountPath })),
    ];
    const probe = (periodSeconds: number, failureThreshold: number) => ({
      httpGet: { path: impl.readinessPath, port: impl.port },
      periodSeconds,
      timeoutSeconds: 3,
      failureThreshold,
    });
    const deployment: IDeployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      // The promise, stated where verify reads it: back on another node within the bound.
      metadata: { name: impl.id, namespace: ns, annotations: { [RECOVERY.annotation]: String(MEDIA_RECOVERY_BOUND_SECONDS) } },
      spec: {
        replicas: 1,
        // Never two servers on one database, not even during an upgrade.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: impl.podSecurityContext,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 30,
            tolerations: ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'].map((key) => ({
              key,
              operator: 'Exists',
              effect: 'NoExecute',
              tolerationSeconds,
            })),
            containers: [
              {
                name: impl.id,
                image: impl.image,
                ports: [{ name: 'http', containerPort: impl.port, protocol: 'TCP' }],
                env: [...impl.env],
                securityContext: impl.containerSecurityContext,
                volumeMounts: mounts,
                resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '4', memory: '4Gi' } },
                // A first start migrates or creates the database: up to 5 minutes.
                startupProbe: probe(5, 60),
                readinessProbe: probe(5, 2),
                livenessProbe: probe(15, 4),
              },
            ],
            volumes,
          },
        },
      },
    };
    new ApiObject(this, 'deployment', deployment);
    this.service = clusterService(this, { namespace: ns, name: impl.id, port: impl.port, targetPort: impl.port, podLabels: labels });
    this.exposed = props.ingress.expose(this, this.service, props.host);
    layer.allowTraffic({
      from: endpoints.pods(ns, labels),
      to: endpoints.internet,
      ports: [{ port: 443 }],
      reason: `${impl.id} fetches metadata and artwork for the library`,
    });
  }
}
