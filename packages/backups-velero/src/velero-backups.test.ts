import { App, Testing } from 'cdk8s';
import { exampleConfig, parsePlatformConfig, type StorageLayer } from '@keelson/platform-spec';
import { scanForSecrets, validateManifest } from '@keelson/k8s-schemas';
import { VeleroBackups, type VeleroBackupsProps } from './velero-backups';

const spec = parsePlatformConfig(exampleConfig(), 'test');
const storage: StorageLayer = {
  blockClass: 'test-block',
  filesystemClass: 'test-filesystem',
  blockSnapshotClass: 'test-block-snapshots',
  filesystemSnapshotClass: 'test-filesystem-snapshots',
  overheadSummary: 'raw: 2 copies',
};
const target = { bucket: 'keelson-backups', endpoint: 'https://fra1.digitaloceanspaces.com', region: 'fra1' };

type Obj = any;
function render(props: Partial<VeleroBackupsProps> = {}) {
  const chart = new VeleroBackups(new App(), 'backups', { spec, target, storage, ...props });
  const objects: Obj[] = Testing.synth(chart);
  const find = (kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
    return o;
  };
  return { chart, objects, find };
}

describe('VeleroBackups', () => {
  const { chart, objects, find } = render();
  const app = find('Application', 'backups-velero');
  const values = app.spec.source.helm.valuesObject;

  it('installs Velero v1.18.1 from the pinned chart with the AWS plugin pinned', () => {
    expect(app.spec.source).toMatchObject({ repoURL: 'https://vmware-tanzu.github.io/helm-charts', chart: 'velero', targetRevision: '12.1.0' });
    expect(app.spec.destination.namespace).toBe('velero');
    expect(values.image).toMatchObject({ repository: 'velero/velero', tag: 'v1.18.1' });
    expect(values.initContainers).toEqual([expect.objectContaining({ name: 'velero-plugin-for-aws', image: 'velero/velero-plugin-for-aws:v1.14.4', volumeMounts: [{ mountPath: '/target', name: 'plugins' }] })]);
    const images = JSON.stringify(objects).match(/"image":"[^"]+"/g) ?? [];
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).toMatch(/:[\w.-]+"$/);
    expect(JSON.stringify(objects)).not.toMatch(/:latest"/);
  });

  it('moves the single Velero server off a lost node within 30 s (no volume ties it to a node)', () => {
    expect(values.tolerations).toEqual([
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
    ]);
  });

  it('turns the data mover on and runs the node agent, with no chart-made location or snapshot location', () => {
    expect(values.deployNodeAgent).toBe(true);
    expect(values.configuration.defaultSnapshotMoveData).toBe(true);
    expect(values.configuration.uploaderType).toBe('kopia');
    expect(values.backupsEnabled).toBe(false);
    expect(values.snapshotsEnabled).toBe(false);
  });

  it('turns on EnableCSI, without which Velero takes no CSI snapshot and backs up objects only', () => {
    // The CSI plugin is built in since 1.14, but its actions still run only with the feature flag.
    expect(values.configuration.features).toBe('EnableCSI');
    expect(values.configuration.defaultVolumesToFsBackup).toBe(false);
  });

  it('references the credentials Secret by name only and renders no Secret', () => {
    expect(values.credentials).toEqual({ useSecret: true, existingSecret: 'cloud-credentials' });
    expect(values.credentials.secretContents).toBeUndefined();
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const text = objects.map((o) => JSON.stringify(o, null, 1)).join('\n---\n');
    expect(scanForSecrets(text, 'backups.yaml')).toEqual([]);
    expect(chart.deploySecrets).toEqual([
      { namespace: 'velero', name: 'cloud-credentials', key: 'cloud' },
      { namespace: 'velero', name: 'etcd-backup-client' },
    ]);
  });

  it('points the BackupStorageLocation at the bucket, endpoint and region, path-style, without SDK checksums', () => {
    const bsl = find('BackupStorageLocation', 'default');
    expect(bsl.metadata.namespace).toBe('velero');
    expect(bsl.spec).toEqual({
      provider: 'aws',
      default: true,
      accessMode: 'ReadWrite',
      objectStorage: { bucket: 'keelson-backups', prefix: 'velero' },
      credential: { name: 'cloud-credentials', key: 'cloud' },
      config: { region: 'fra1', s3Url: 'https://fra1.digitaloceanspaces.com', s3ForcePathStyle: 'true', checksumAlgorithm: '' },
      validationFrequency: '1m',
    });
  });

  it('schedules databases hourly for 48 h, the platform daily for 30 days and weekly for 90 days, all moving snapshot data', () => {
    const hourly = find('Schedule', 'databases-hourly');
    const daily = find('Schedule', 'platform-daily');
    const weekly = find('Schedule', 'platform-weekly');
    expect(hourly.spec.schedule).toBe('5 * * * *');
    expect(hourly.spec.template.ttl).toBe('48h0m0s');
    expect(hourly.spec.template.labelSelector).toEqual({ matchLabels: { 'keelson.dev/backup': 'database' } });
    expect(daily.spec.schedule).toBe('30 2 * * *');
    expect(daily.spec.template.ttl).toBe('720h0m0s');
    expect(weekly.spec.schedule).toBe('30 3 * * 0');
    expect(weekly.spec.template.ttl).toBe('2160h0m0s');
    for (const s of [hourly, daily, weekly]) {
      expect(s.spec.template).toMatchObject({ storageLocation: 'default', snapshotMoveData: true, snapshotVolumes: true, csiSnapshotTimeout: '30m', defaultVolumesToFsBackup: false });
    }
  });

  it('leaves out namespaces and resources that are rebuilt rather than restored', () => {
    const daily = find('Schedule', 'platform-daily').spec.template;
    expect(daily.includedNamespaces).toEqual(['*']);
    expect(daily.excludedNamespaces).toEqual(expect.arrayContaining(['kube-system', 'velero', 'rook-ceph']));
    expect(daily.excludedNamespaces).not.toContain('nextcloud');
    expect(daily.excludedResources).toEqual(expect.arrayContaining(['events', 'events.events.k8s.io', 'leases.coordination.k8s.io']));
  });

  it('wires the storage layer\'s snapshot classes: the label Velero selects them by, named on every schedule', () => {
    expect(chart.snapshotClassRequirements).toEqual([
      { className: 'test-block-snapshots', label: 'velero.io/csi-volumesnapshot-class', value: 'true' },
      { className: 'test-filesystem-snapshots', label: 'velero.io/csi-volumesnapshot-class', value: 'true' },
    ]);
    for (const s of objects.filter((o) => o.kind === 'Schedule')) {
      expect(s.metadata.annotations['keelson.dev/volume-snapshot-classes']).toBe('test-block-snapshots,test-filesystem-snapshots');
    }
  });

  it('takes etcd snapshots hourly on the controllers over mTLS with the dedicated client certificate', () => {
    const cron = find('CronJob', 'etcd-snapshot');
    expect(cron.spec.schedule).toBe('15 * * * *');
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    const pod = cron.spec.jobTemplate.spec.template.spec;
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(pod.hostNetwork).toBeUndefined();
    const [snapshot] = pod.initContainers;
    expect(snapshot.image).toBe('registry.k8s.io/etcd:3.6.8-0');
    expect(snapshot.command).toEqual([
      '/usr/local/bin/etcdctl',
      '--endpoints=https://$(HOST_IP):2379',
      '--cacert=/etc/etcd-client/ca.crt',
      '--cert=/etc/etcd-client/tls.crt',
      '--key=/etc/etcd-client/tls.key',
      '--dial-timeout=10s',
      '--command-timeout=300s',
      'snapshot',
      'save',
      '/snapshot/etcd.db',
    ]);
    expect(snapshot.env).toEqual([{ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }]);
    expect(snapshot.volumeMounts).toContainEqual({ name: 'etcd-client', mountPath: '/etc/etcd-client', readOnly: true });
    expect(pod.volumes).toContainEqual({ name: 'etcd-client', secret: { secretName: 'etcd-backup-client', defaultMode: 0o440 } });
    const [upload] = pod.containers;
    expect(upload.command[2]).toContain("bucket='keelson-backups'");
    expect(upload.command[2]).toContain("--endpoint-url 'https://fra1.digitaloceanspaces.com' --region 'fra1'");
    expect(upload.command[2]).toContain('retention_days=14');
    expect(upload.env).toContainEqual({ name: 'AWS_SHARED_CREDENTIALS_FILE', value: '/etc/bucket-credentials/cloud' });
  });

  it('runs every pod it renders restricted, with requests and limits', () => {
    const pods = objects.filter((o) => o.kind === 'CronJob').map((c) => c.spec.jobTemplate.spec.template.spec);
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(Object.keys(c.resources.requests)).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources.limits)).toEqual(['cpu', 'memory']);
      }
    }
    expect(values.containerSecurityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  });

  it('drills a restore of nextcloud\'s volumes daily into a scratch namespace, with RBAC limited to that', () => {
    const cron = find('CronJob', 'restore-drill');
    expect(cron.spec.schedule).toBe('0 6 * * *');
    expect(cron.spec.jobTemplate.spec.backoffLimit).toBe(0);
    const script: string = cron.spec.jobTemplate.spec.template.spec.containers[0].command[2];
    expect(script).toContain("scratch='nextcloud-restore-drill'");
    expect(script).toContain('"scheduleName":"platform-daily"');
    const roles = objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'restore-drill');
    expect(roles.find((r) => r.metadata.namespace === 'velero').rules).toEqual([
      { apiGroups: ['velero.io'], resources: ['restores'], verbs: ['create', 'get'] },
      { apiGroups: ['velero.io'], resources: ['datauploads'], verbs: ['get', 'list'] },
    ]);
    expect(roles.find((r) => r.metadata.namespace === 'nextcloud-restore-drill').rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'delete'] },
    ]);
    expect(find('ClusterRole', 'keelson-restore-drill').rules).toEqual([{ apiGroups: [''], resources: ['namespaces'], resourceNames: ['nextcloud-restore-drill'], verbs: ['get'] }]);
    // The scratch namespace lives on, restricted, so the checker pod's Role has a home.
    expect(find('Namespace', 'nextcloud-restore-drill').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(chart.namespaces.map((n) => n.name)).toContain('nextcloud-restore-drill');
    expect(render({ restoreDrill: false }).objects.some((o) => o.metadata.name === 'restore-drill')).toBe(false);
  });

  it('declares API server, bucket and local etcd traffic', () => {
    expect(chart.trafficRules.map((r) => ({ from: r.from, to: r.to, ports: r.ports }))).toEqual([
      { from: { kind: 'pods', namespace: 'velero' }, to: { kind: 'kube-apiserver' }, ports: [{ port: 6443 }] },
      { from: { kind: 'pods', namespace: 'velero' }, to: { kind: 'internet' }, ports: [{ port: 443 }] },
      {
        from: { kind: 'pods', namespace: 'velero', labels: { 'app.kubernetes.io/name': 'etcd-snapshot', 'app.kubernetes.io/part-of': 'keelson' } },
        to: { kind: 'nodes' },
        ports: [{ port: 2379 }],
      },
    ]);
  });

  it('renders the velero namespace privileged with its reason, and declares the chart for the AppProject', () => {
    const ns = find('Namespace', 'velero');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(chart.upstreamDeclarations).toEqual([
      expect.objectContaining({ repoURL: 'https://vmware-tanzu.github.io/helm-charts', namespace: 'velero' }),
    ]);
  });

  it('syncs the namespace first, then the Velero chart, then every velero.io resource with the dry run skipped until its CRD exists', () => {
    const wave = (o: Obj) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    const custom = objects.filter((o) => o.apiVersion.startsWith('velero.io/'));
    expect(custom.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['BackupStorageLocation/default', 'Schedule/databases-hourly', 'Schedule/platform-daily', 'Schedule/platform-weekly']);
    for (const o of custom) {
      expect([o.metadata.name, wave(o) > wave(app)]).toEqual([o.metadata.name, true]);
      expect(o.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('SkipDryRunOnMissingResource=true');
    }
    expect(wave(find('Namespace', 'velero'))).toBeLessThan(wave(app));
  });

  it('renders objects that validate against their schemas, Velero\'s CRDs included', () => {
    expect(objects.filter((o) => o.apiVersion === 'velero.io/v1').map((o) => o.kind).sort()).toEqual(['BackupStorageLocation', 'Schedule', 'Schedule', 'Schedule']);
    expect(objects.flatMap((o) => validateManifest(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path}: ${p.message}`))).toEqual([]);
  });

  it('renders schedules given in props instead of the defaults', () => {
    const { objects: custom } = render({ schedules: [{ name: 'everything-6h', cron: '0 */6 * * *', ttlHours: 72, scope: { kind: 'platform' } }], restoreDrill: { schedule: 'everything-6h' } });
    const schedules = custom.filter((o) => o.kind === 'Schedule');
    expect(schedules.map((s) => [s.metadata.name, s.spec.schedule, s.spec.template.ttl])).toEqual([['everything-6h', '0 */6 * * *', '72h0m0s']]);
    expect(custom.flatMap((o) => validateManifest(o))).toEqual([]);
  });

  describe('the restore drill source', () => {
    const withApps = (apps: object) => parsePlatformConfig({ ...exampleConfig(), apps }, 'test');
    const source = (objects: Obj[]) => {
      const cron = objects.find((o) => o.kind === 'CronJob' && o.metadata.name === 'restore-drill');
      return cron && /source='([^']+)'/.exec(cron.spec.jobTemplate.spec.template.spec.containers[0].command[2])?.[1];
    };

    it('is Nextcloud by default, and says so', () => {
      const { chart, objects } = render();
      expect(source(objects)).toBe('nextcloud');
      expect(chart.restoreDrillSummary).toBe(
        'restore drill: the volumes of nextcloud from the latest platform-daily backup into nextcloud-restore-drill, at "0 6 * * *" (UTC); a failed restore is a failed Job (kubectl -n velero get jobs)',
      );
    });

    it('is the media server when Nextcloud is off, whichever server runs', () => {
      for (const server of ['emby', 'jellyfin']) {
        const { chart, objects } = render({ spec: withApps({ nextcloud: { enabled: false }, media: { server } }) });
        expect([server, source(objects)]).toEqual([server, 'emby']);
        expect(chart.restoreDrill?.scratchNamespace).toBe('emby-restore-drill');
        expect(objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'keelson-restore-drill').rules[0].resourceNames).toEqual(['emby-restore-drill']);
      }
    });

    it('is none when no app keeps volumes, and the summary says why', () => {
      const onlySite = render({ spec: withApps({ nextcloud: { enabled: false }, media: { enabled: false } }) });
      expect(onlySite.chart.restoreDrill).toBeUndefined();
      expect(onlySite.objects.filter((o) => o.metadata.name === 'restore-drill' || o.metadata.name === 'keelson-restore-drill')).toEqual([]);
      expect(onlySite.chart.restoreDrillSummary).toBe(
        'restore drill: none: no app namespace keeps volumes (the apps layer plans website), so there is nothing to restore; enabling an app with data drills it',
      );
      const noApps = render({ spec: withApps({ nextcloud: { enabled: false }, media: { enabled: false }, website: { enabled: false } }) });
      expect(noApps.chart.restoreDrillSummary).toMatch(/^restore drill: none: no app namespace keeps volumes \(the config enables no app\)/);
      // The schedules stay: the database label is the backups layer's contract for any app, your own included.
      expect(noApps.objects.filter((o) => o.kind === 'Schedule').map((o) => o.metadata.name)).toEqual(['databases-hourly', 'platform-daily', 'platform-weekly']);
    });

    it('is off with restoreDrill: false, and says so', () => {
      expect(render({ restoreDrill: false }).chart.restoreDrillSummary).toBe('restore drill: none: turned off (restoreDrill: false)');
    });
  });

  describe('refuses', () => {
    it('a bucket that is not an S3 bucket name', () => {
      expect(() => render({ target: { ...target, bucket: 'Bad_Bucket' } })).toThrow(/target.bucket "Bad_Bucket" is not an S3 bucket name/);
    });
    it('an endpoint that is not https', () => {
      expect(() => render({ target: { ...target, endpoint: 'http://fra1.digitaloceanspaces.com' } })).toThrow(/target.endpoint "http:\/\/fra1.digitaloceanspaces.com" is not an https:\/\/ S3 endpoint/);
    });
    it('a region that is not a region name', () => {
      expect(() => render({ target: { ...target, region: 'Frankfurt 1' } })).toThrow(/target.region "Frankfurt 1" is not a region name/);
    });
    it('credentials other than the Secret Velero reads', () => {
      expect(() => render({ target: { ...target, credentials: { namespace: 'default', name: 'spaces' } } })).toThrow(/target.credentials default\/spaces is not the Secret Velero reads; create velero\/cloud-credentials/);
    });
    it('a CSI snapshot timeout that is not a duration', () => {
      expect(() => render({ csiSnapshotTimeout: 'half an hour' })).toThrow(/csiSnapshotTimeout "half an hour" is not a duration/);
    });
    it('a drill of a namespace the platform does not have', () => {
      expect(() => render({ restoreDrill: { sourceNamespace: 'nowhere' } })).toThrow(/restoreDrill.sourceNamespace "nowhere" is not a namespace of the platform/);
    });
    it('a drill of Nextcloud when the config switches Nextcloud off, naming the app namespaces that keep volumes', () => {
      const spec = parsePlatformConfig({ ...exampleConfig(), apps: { nextcloud: { enabled: false } } }, 'test');
      expect(() => render({ spec, restoreDrill: { sourceNamespace: 'nextcloud' } })).toThrow(
        /restoreDrill.sourceNamespace "nextcloud" is not a namespace of the platform \(.*\); drill an app namespace with volumes \(emby\), or leave sourceNamespace out for emby, or set restoreDrill: false/,
      );
    });
    it('a drill of a namespace that keeps no volumes', () => {
      expect(() => render({ restoreDrill: { sourceNamespace: 'website' } })).toThrow(/restoreDrill.sourceNamespace "website" keeps no volumes \(platform-spec plans none for it\), so a drill would restore nothing; drill an app namespace with volumes \(nextcloud, emby\)/);
    });
    it('a drill asked for when no app keeps volumes', () => {
      const spec = parsePlatformConfig({ ...exampleConfig(), apps: { nextcloud: { enabled: false }, media: { enabled: false } } }, 'test');
      expect(() => render({ spec, restoreDrill: { cron: '0 5 * * *' } })).toThrow(/restoreDrill is set, but no app namespace keeps volumes \(the apps layer plans website\), so a drill would restore nothing; set restoreDrill: false/);
    });
    it('a drill of a schedule that does not exist', () => {
      expect(() => render({ restoreDrill: { schedule: 'monthly' } })).toThrow(/restoreDrill.schedule "monthly" is not one of the schedules \(databases-hourly, platform-daily, platform-weekly\)/);
    });
    it('a drill of a namespace the platform backups exclude', () => {
      expect(() => render({ restoreDrill: { sourceNamespace: 'rook-ceph' } })).toThrow(/restoreDrill.sourceNamespace "rook-ceph" is excluded from every platform backup/);
    });
    it('a drill timeout under a minute', () => {
      expect(() => render({ restoreDrill: { timeoutSeconds: 5 } })).toThrow(/RestoreDrill: timeoutSeconds 5 is not a whole number >= 60/);
    });
    it('etcd snapshot retention under a day and a malformed etcd cron', () => {
      expect(() => render({ etcdSnapshots: { retentionDays: 0 } })).toThrow(/EtcdSnapshots: retentionDays 0 is not a whole number of days >= 1/);
      expect(() => render({ etcdSnapshots: { cron: 'hourly' } })).toThrow(/EtcdSnapshots: cron "hourly" is not a five-field cron expression/);
    });
    it('empty, misnamed, duplicate, malformed or unselective schedules', () => {
      const ok = { name: 'a', cron: '0 * * * *', ttlHours: 1, scope: { kind: 'platform' as const } };
      expect(() => render({ schedules: [] })).toThrow(/schedules is empty/);
      expect(() => render({ schedules: [{ ...ok, name: 'Daily_Backup' }] })).toThrow(/schedules\[0\].name "Daily_Backup" is not a kebab-case name/);
      expect(() => render({ schedules: [ok, ok] })).toThrow(/schedules\[1\].name "a" is used twice/);
      expect(() => render({ schedules: [{ ...ok, cron: '@hourly' }] })).toThrow(/schedules\[0\].cron "@hourly" is not a five-field cron expression/);
      expect(() => render({ schedules: [{ ...ok, ttlHours: 0.5 }] })).toThrow(/schedules\[0\].ttlHours 0.5 is not a whole number of hours >= 1/);
      expect(() => render({ schedules: [{ ...ok, scope: { kind: 'labelled', labels: {} } }] })).toThrow(/schedules\[0\].scope.labels is empty/);
    });
  });
});
