import { App, Chart, Testing } from 'cdk8s';
import { validateManifest } from '@keelson/k8s-schemas';
import { latestCompletedBackup, restoreManifest, type BackupObject } from './restore';
import { RestoreDrill, restoreDrillRestore } from './restore-drill';

const backup = (name: string, phase: string, completed: string, schedule?: string): BackupObject => ({
  metadata: { name, labels: schedule ? { 'velero.io/schedule-name': schedule } : {} },
  status: { phase, completionTimestamp: completed },
});

describe('latestCompletedBackup', () => {
  const backups = [
    backup('platform-daily-20260110023000', 'Completed', '2026-01-10T02:41:00Z', 'platform-daily'),
    backup('platform-daily-20260112023000', 'PartiallyFailed', '2026-01-12T02:44:00Z', 'platform-daily'),
    backup('platform-daily-20260111023000', 'Completed', '2026-01-11T02:40:00Z', 'platform-daily'),
    backup('databases-hourly-20260112030500', 'Completed', '2026-01-12T03:06:00Z', 'databases-hourly'),
    backup('manual-1', 'InProgress', '', undefined),
  ];

  it('picks the most recently completed backup, never a partially failed one', () => {
    expect(latestCompletedBackup(backups)?.metadata.name).toBe('databases-hourly-20260112030500');
    expect(latestCompletedBackup(backups, { schedule: 'platform-daily' })?.metadata.name).toBe('platform-daily-20260111023000');
  });

  it('returns undefined when no backup completed', () => {
    expect(latestCompletedBackup(backups, { schedule: 'platform-weekly' })).toBeUndefined();
    expect(latestCompletedBackup([])).toBeUndefined();
  });
});

describe('restoreManifest', () => {
  it('restores one namespace, optionally into another name, with its volumes', () => {
    const r = restoreManifest({ backupName: 'platform-daily-20260111023000', scope: { kind: 'namespace', namespace: 'nextcloud', into: 'nextcloud-copy' } });
    expect(r).toEqual({
      apiVersion: 'velero.io/v1',
      kind: 'Restore',
      metadata: { name: 'platform-daily-20260111023000-nextcloud-restore', namespace: 'velero' },
      spec: { backupName: 'platform-daily-20260111023000', includedNamespaces: ['nextcloud'], namespaceMapping: { nextcloud: 'nextcloud-copy' }, restorePVs: true },
    });
    expect(validateManifest(r)).toEqual([]);
  });

  it('restores the whole platform, cluster-scoped resources included', () => {
    const r = restoreManifest({ backupName: 'platform-weekly-20260104033000', scope: { kind: 'platform' }, name: 'rebuild' });
    expect(r).toMatchObject({ metadata: { name: 'rebuild' }, spec: { backupName: 'platform-weekly-20260104033000', includeClusterResources: true, restorePVs: true } });
    expect(validateManifest(r)).toEqual([]);
  });

  it('keeps generated names within 63 characters', () => {
    const r = restoreManifest({ backupName: `a-${'b'.repeat(70)}`, scope: { kind: 'platform' } }) as { metadata: { name: string } };
    expect(r.metadata.name.length).toBeLessThanOrEqual(63);
  });

  it('refuses a backup name or namespace that is not a Kubernetes name', () => {
    expect(() => restoreManifest({ backupName: 'Daily Backup', scope: { kind: 'platform' } })).toThrow(/backupName "Daily Backup" is not a Backup name; list backups/);
    expect(() => restoreManifest({ backupName: 'b', scope: { kind: 'namespace', namespace: 'Next_Cloud' } })).toThrow(/scope.namespace "Next_Cloud" is not a namespace name/);
    expect(() => restoreManifest({ backupName: 'b', scope: { kind: 'namespace', namespace: 'nextcloud', into: 'x'.repeat(64) } })).toThrow(/scope.into "x+" is not a namespace name/);
  });
});

describe('restore drill', () => {
  const options = { schedule: 'platform-daily', sourceNamespace: 'nextcloud', scratchNamespace: 'nextcloud-restore-drill', timeoutSeconds: 600 };
  it('restores only the volumes of the latest backup of the schedule into the scratch namespace', () => {
    const r = restoreDrillRestore(options);
    expect(r).toMatchObject({
      metadata: { generateName: 'restore-drill-', namespace: 'velero' },
      spec: { scheduleName: 'platform-daily', includedNamespaces: ['nextcloud'], namespaceMapping: { nextcloud: 'nextcloud-restore-drill' }, includedResources: ['persistentvolumeclaims', 'persistentvolumes'], restorePVs: true },
    });
    expect((r as { spec: { backupName?: string } }).spec.backupName).toBeUndefined();
    // The API server fills metadata.name from generateName; validate the object as it will be stored.
    const stored = { ...r, metadata: { ...(r.metadata as object), name: 'restore-drill-x7k2p' } };
    expect(validateManifest(stored)).toEqual([]);
  });

  it('refuses an app namespace too long for its scratch copy', () => {
    expect(() => new RestoreDrill(new Chart(new App(), 'c'), 'drill', { sourceNamespace: 'n'.repeat(50), schedule: 'platform-daily' })).toThrow(
      /RestoreDrill: sourceNamespace "n+" is too long for a scratch namespace/,
    );
  });

  it('renders RBAC and a CronJob that validate', () => {
    const chart = new Chart(new App(), 'c');
    new RestoreDrill(chart, 'drill', { sourceNamespace: 'website', schedule: 'platform-weekly', cron: '0 7 * * 1' });
    const objects = Testing.synth(chart);
    expect(objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}`)).toEqual([
      'ServiceAccount velero', 'Role velero', 'RoleBinding velero', 'ClusterRole ', 'ClusterRoleBinding ', 'Role website-restore-drill', 'RoleBinding website-restore-drill', 'CronJob velero',
    ]);
    expect(objects[7].spec.schedule).toBe('0 7 * * 1');
    expect(objects.flatMap((o) => validateManifest(o))).toEqual([]);
  });
});
