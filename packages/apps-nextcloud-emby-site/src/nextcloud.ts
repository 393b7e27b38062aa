import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { afterCrds, LayerChart } from '@keelson/cluster-kit';
import {
  CLUSTER_NETWORK,
  NODE_NETWORK_CIDR,
  endpoints,
  type ExposedService,
  type IngressLayer,
  type PlatformSpec,
  type SecretRef,
  type ServiceRef,
  type StorageLayer,
} from '@keelson/platform-spec';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import {
  Cluster,
  ClusterSpecPostgresqlSynchronousDataDurability,
  ClusterSpecPostgresqlSynchronousMethod,
  ClusterSpecPrimaryUpdateStrategy,
  ClusterSpecResourcesLimits,
  ClusterSpecResourcesRequests,
} from './generated/postgresql.cnpg.io';
import type { CloudNativePgOperator } from './cloudnative-pg';
import { POSTGRES_PORT } from './cloudnative-pg';
import { COMPONENT_LABEL, NAME_LABEL, clusterService, disruptionBudget, nonRootPod, onePerFailureDomain, restrictedContainer, volumeClaim } from './internal/workload';

/**
 * The official Nextcloud image, Apache variant, pinned.
 *
 * @see https://hub.docker.com/_/nextcloud
 * @see https://github.com/nextcloud/docker
 */
export const NEXTCLOUD_IMAGE = 'nextcloud:32.0.15-apache';
/**
 * PostgreSQL for Nextcloud's database, pinned (17: within Nextcloud 32's supported versions).
 *
 * @see https://github.com/cloudnative-pg/postgres-containers
 */
export const NEXTCLOUD_POSTGRES_IMAGE = 'ghcr.io/cloudnative-pg/postgresql:17.9-standard-trixie';

/** Namespace Nextcloud and its database run in (planned by platform-spec). */
export const NEXTCLOUD_NAMESPACE = 'nextcloud';
/** The CloudNativePG `Cluster` holding Nextcloud's database. */
export const NEXTCLOUD_DATABASE_CLUSTER = 'nextcloud-db';
/**
 * Secret with the first admin's `username` and `password`, created at deploy
 * time (never rendered): the image installs Nextcloud with it on first start.
 */
export const NEXTCLOUD_ADMIN_SECRET: SecretRef = { namespace: NEXTCLOUD_NAMESPACE, name: 'nextcloud-admin' };
/**
 * Secret CloudNativePG generates in the cluster for the database owner
 * (`<cluster>-app`, keys `username` and `password`): nothing to create.
 *
 * @see https://cloudnative-pg.io/documentation/current/applications/#secrets
 */
export const NEXTCLOUD_DATABASE_SECRET: SecretRef = { namespace: NEXTCLOUD_NAMESPACE, name: `${NEXTCLOUD_DATABASE_CLUSTER}-app` };
/** Label the backups layer's hourly schedule selects. */
export const DATABASE_BACKUP_LABELS: Readonly<Record<string, string>> = { 'keelson.dev/backup': 'database' };

/** www-data in the Debian-based image. */
const WWW_DATA = 33;
const HTTP_PORT = 80;
const HTML = '/var/www/html';
const SESSIONS = '/var/lib/php/sessions';

/** Props for {@link Nextcloud}. */
export interface NextcloudProps {
  readonly spec: PlatformSpec;
  readonly ingress: IngressLayer;
  readonly storage: StorageLayer;
  /** The operator that runs the database; the Cluster's traffic is declared through it. */
  readonly operator: CloudNativePgOperator;
  /** Public host name, e.g. `cloud.example.com`. */
  readonly host: string;
  /**
   * Size of the shared volume holding Nextcloud's code, config and files.
   * @default 100
   */
  readonly dataSizeGiB?: number;
  /**
   * Size of each PostgreSQL instance's volume.
   * @default 10
   */
  readonly databaseSizeGiB?: number;
  /**
   * Let Nextcloud reach the internet on 443 (app store, update checks, federated shares).
   * @default true
   */
  readonly internetAccess?: boolean;
}

/**
 * Nextcloud behind the ingress: k+1 web replicas at most one per node over
 * one ReadWriteMany volume, PostgreSQL run by CloudNativePG with k+1
 * synchronous instances, and background jobs as a CronJob.
 *
 * Locking and cache: no Redis. APCu is the local cache (the image configures
 * it), and transactional file locking uses Nextcloud's database provider,
 * which it picks when no `memcache.locking` is set: the database is already
 * highly available, so locking survives what the database survives, with no
 * Redis Sentinel to run. PHP sessions live on a shared volume, so any replica
 * serves any request.
 *
 * @see https://docs.nextcloud.com/server/latest/admin_manual/configuration_files/files_locking_transactional.html
 */
export class Nextcloud extends Construct {
  /** The web Service, as exposed. */
  public readonly service: ServiceRef;
  public readonly exposed: ExposedService;
  /** Secrets the deploy step must create before the first sync. */
  public readonly requiredSecrets: readonly SecretRef[] = [NEXTCLOUD_ADMIN_SECRET];

  constructor(scope: Construct, id: string, props: NextcloudProps) {
    super(scope, id);
    const layer = LayerChart.containing(this);
    const { budget } = props.spec;
    const ns = NEXTCLOUD_NAMESPACE;
    const dataSizeGiB = props.dataSizeGiB ?? 100;
    const databaseSizeGiB = props.databaseSizeGiB ?? 10;
    for (const [field, value] of [
      ['dataSizeGiB', dataSizeGiB],
      ['databaseSizeGiB', databaseSizeGiB],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`Nextcloud: ${field} ${value} is not a whole number of GiB >= 1; give the volume size in GiB, e.g. 100`);
      }
    }

    // --- database -------------------------------------------------------
    const instances = budget.statelessReplicas;
    new Cluster(this, 'database', {
      metadata: {
        name: NEXTCLOUD_DATABASE_CLUSTER,
        namespace: ns,
        labels: { ...DATABASE_BACKUP_LABELS },
        // The operator's Application in this folder installs the Cluster CRD
        // and runs the webhooks that admit it: sync after it, and skip the
        // dry run Argo CD does before the CRD exists.
        annotations: afterCrds(props.operator.chart),
      },
      spec: {
        instances,
        imageName: NEXTCLOUD_POSTGRES_IMAGE,
        primaryUpdateStrategy: ClusterSpecPrimaryUpdateStrategy.UNSUPERVISED,
        postgresql: {
          // Quorum commit on every other instance: an acknowledged write is
          // on all k+1 instances, so whichever k fail (the primary among
          // them), the survivor CloudNativePG promotes has it. `preferred`
          // lets the operator lower the quorum to the healthy standbys, so
          // writes keep flowing with k instances gone; `required` would
          // block every write until they return.
          synchronous: {
            method: ClusterSpecPostgresqlSynchronousMethod.ANY,
            number: instances - 1,
            dataDurability: ClusterSpecPostgresqlSynchronousDataDurability.PREFERRED,
          },
        },
        bootstrap: { initdb: { database: 'nextcloud', owner: 'nextcloud' } },
        storage: { storageClass: props.storage.blockClass, size: `${databaseSizeGiB}Gi` },
        affinity: { enablePodAntiAffinity: true, podAntiAffinityType: 'required', topologyKey: budget.spreadTopologyKey },
        resources: {
          requests: { cpu: ClusterSpecResourcesRequests.fromString('250m'), memory: ClusterSpecResourcesRequests.fromString('512Mi') },
          limits: { cpu: ClusterSpecResourcesLimits.fromString('2'), memory: ClusterSpecResourcesLimits.fromString('1Gi') },
        },
        enablePdb: true,
        monitoring: { enablePodMonitor: false },
        inheritedMetadata: { labels: { ...DATABASE_BACKUP_LABELS } },
      },
    });
    props.operator.allowClusterTraffic(ns, NEXTCLOUD_DATABASE_CLUSTER);

    // --- shared volumes and PHP settings -----------------------------------
    volumeClaim(this, { namespace: ns, name: 'nextcloud-html', storageClass: props.storage.filesystemClass, accessMode: 'ReadWriteMany', sizeGiB: dataSizeGiB });
    volumeClaim(this, { namespace: ns, name: 'nextcloud-sessions', storageClass: props.storage.filesystemClass, accessMode: 'ReadWriteMany', sizeGiB: 1 });
    const php: IConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'nextcloud-php', namespace: ns },
      data: {
        'zz-keelson.ini': [
          '; Sessions on the shared volume: any replica serves any logged-in user.',
          `session.save_path = "${SESSIONS}"`,
          '; APCu for the CLI too, so cron.php sees the same local cache backend.',
          'apc.enable_cli = 1',
          '',
        ].join('\n'),
      },
    };
    new ApiObject(this, 'php-config', php);

    // --- web ---------------------------------------------------------------
    const webLabels = { [NAME_LABEL]: 'nextcloud', [COMPONENT_LABEL]: 'web' };
    const env: IEnvVar[] = [
      { name: 'POSTGRES_HOST', value: `${NEXTCLOUD_DATABASE_CLUSTER}-rw` },
      { name: 'POSTGRES_DB', value: 'nextcloud' },
      { name: 'POSTGRES_USER', valueFrom: { secretKeyRef: { name: NEXTCLOUD_DATABASE_SECRET.name, key: 'username' } } },
      { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: NEXTCLOUD_DATABASE_SECRET.name, key: 'password' } } },
      { name: 'NEXTCLOUD_ADMIN_USER', valueFrom: { secretKeyRef: { name: NEXTCLOUD_ADMIN_SECRET.name, key: 'username' } } },
      { name: 'NEXTCLOUD_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: NEXTCLOUD_ADMIN_SECRET.name, key: 'password' } } },
      ...proxyEnv(props.host),
    ];
    const volumes: IVolume[] = [
      { name: 'html', persistentVolumeClaim: { claimName: 'nextcloud-html' } },
      { name: 'sessions', persistentVolumeClaim: { claimName: 'nextcloud-sessions' } },
      { name: 'php-config', configMap: { name: 'nextcloud-php' } },
      { name: 'tmp', emptyDir: { sizeLimit: '2Gi' } },
      { name: 'apache-run', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
      { name: 'apache-lock', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
    ];
    const mounts = [
      { name: 'html', mountPath: HTML },
      { name: 'sessions', mountPath: SESSIONS },
      { name: 'php-config', mountPath: '/usr/local/etc/php/conf.d/zz-keelson.ini', subPath: 'zz-keelson.ini', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ];
    const probe = (periodSeconds: number, timeoutSeconds: number, failureThreshold: number) => ({
      httpGet: { path: '/status.php', port: HTTP_PORT },
      periodSeconds,
      timeoutSeconds,
      failureThreshold,
    });
    const web: IContainer = {
      name: 'nextcloud',
      image: NEXTCLOUD_IMAGE,
      ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
      env,
      // The image's entrypoint runs as any user (it rsyncs without chown when
      // not root) and Apache writes only its run and lock directories, so the
      // root filesystem stays read-only.
      securityContext: restrictedContainer(),
      volumeMounts: [...mounts, { name: 'apache-run', mountPath: '/var/run/apache2' }, { name: 'apache-lock', mountPath: '/var/lock/apache2' }],
      resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
      // First start installs Nextcloud and an image upgrade migrates the
      // database, one replica at a time under the entrypoint's lock: allow 15 minutes.
      startupProbe: probe(10, 5, 90),
      readinessProbe: probe(10, 5, 3),
      livenessProbe: probe(20, 10, 6),
    };
    const podSecurity: IPodSecurityContext = {
      ...nonRootPod(WWW_DATA, WWW_DATA),
      // Apache listens on 80 as www-data; a namespaced, "safe" sysctl (allowed by every Pod Security level).
      sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: String(HTTP_PORT) }],
    };
    const deployment: IDeployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'nextcloud', namespace: ns },
      spec: {
        replicas: budget.statelessReplicas,
        selector: { matchLabels: webLabels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels: webLabels },
          spec: {
            securityContext: podSecurity,
            affinity: onePerFailureDomain(budget, webLabels),
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            containers: [web],
            volumes,
          },
        },
      },
    };
    new ApiObject(this, 'deployment', deployment);
    disruptionBudget(this, ns, 'nextcloud', webLabels);
    this.service = clusterService(this, { namespace: ns, name: 'nextcloud', port: HTTP_PORT, targetPort: HTTP_PORT, podLabels: webLabels });
    this.exposed = props.ingress.expose(this, this.service, props.host);

    // --- background jobs ---------------------------------------------------
    const cronLabels = { [NAME_LABEL]: 'nextcloud', [COMPONENT_LABEL]: 'cron' };
    const cron: ICronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nextcloud-cron', namespace: ns },
      spec: {
        // Nextcloud's recommended interval; cron.php switches the instance to cron mode itself.
        schedule: '*/5 * * * *',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 240,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: 3600,
            ttlSecondsAfterFinished: 3600,
            template: {
              metadata: { labels: cronLabels },
              spec: {
                restartPolicy: 'Never',
                securityContext: nonRootPod(WWW_DATA, WWW_DATA),
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                containers: [
                  {
                    name: 'cron',
                    image: NEXTCLOUD_IMAGE,
                    command: ['php', '-f', `${HTML}/cron.php`],
                    env: proxyEnv(props.host),
                    securityContext: restrictedContainer(),
                    volumeMounts: mounts,
                    resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
                  },
                ],
                volumes: volumes.filter((v) => !v.name.startsWith('apache-')),
              },
            },
          },
        },
      },
    };
    new ApiObject(this, 'cron', cron);

    // --- traffic -----------------------------------------------------------
    const nextcloudPods = endpoints.pods(ns, { [NAME_LABEL]: 'nextcloud' });
    layer.allowTraffic({
      from: nextcloudPods,
      to: endpoints.pods(ns, { 'cnpg.io/cluster': NEXTCLOUD_DATABASE_CLUSTER }),
      ports: [{ port: POSTGRES_PORT }],
      reason: 'Nextcloud web and cron use their PostgreSQL database',
    });
    if (props.internetAccess ?? true) {
      layer.allowTraffic({ from: nextcloudPods, to: endpoints.internet, ports: [{ port: 443 }], reason: 'Nextcloud app store, update checks and federated shares' });
    }
  }
}

/**
 * What the image's reverse-proxy config reads: the ingress terminates TLS,
 * so links are https on the public host, and requests come from the pod
 * network (or the node network, for a host-network controller).
 *
 * @see https://github.com/nextcloud/docker#using-the-apache-image-behind-a-reverse-proxy-and-auto-configure-server-host-and-protocol
 */
function proxyEnv(host: string): IEnvVar[] {
  return [
    { name: 'NEXTCLOUD_TRUSTED_DOMAINS', value: host },
    { name: 'TRUSTED_PROXIES', value: `${CLUSTER_NETWORK.podSubnet} ${NODE_NETWORK_CIDR}` },
    { name: 'OVERWRITEHOST', value: host },
    { name: 'OVERWRITEPROTOCOL', value: 'https' },
    { name: 'OVERWRITECLIURL', value: `https://${host}` },
  ];
}
