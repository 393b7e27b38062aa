import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import { validateManifest } from '@keelson/k8s-schemas';
import { latestCompletedBackup, restoreManifest, type BackupObject } from './restore';
import { RestoreDrill, restoreDrillRestore, restoreDrillScript } from './restore-drill';

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

/**
 * A stand-in kubectl: logs argv (and stdin for `create`) to $FAKE_KUBE.log
 * and answers the drill's calls; the restore's phases come one per `get` of
 * `.status.phase` from $FAKE_PHASES.
 */
const FAKE_KUBECTL = `#!/bin/sh
set -eu
echo "$*" >> "$FAKE_KUBE.log"
case "$*" in
  "create -o name -f -") cat > "$FAKE_KUBE.created"; echo restore.velero.io/restore-drill-x7k2p ;;
  *"jsonpath={.status.phase}"*)
    n=$(cat "$FAKE_KUBE.count" 2>/dev/null || echo 1)
    echo $((n + 1)) > "$FAKE_KUBE.count"
    echo "$FAKE_PHASES" | cut -d, -f"$n" | tr -d "\\n" ;;
  *"jsonpath={.spec.backupName}"*) printf platform-daily-20260111023000 ;;
  *"jsonpath={.status.errors}"*) printf "$FAKE_ERRORS" ;;
  *"jsonpath={.status.warnings}"*) printf 2 ;;
  "delete namespace"*) ;;
  *) echo "fake kubectl: unexpected call: $*" >&2; exit 2 ;;
esac
`;

describe('restore drill', () => {
  const options = { schedule: 'platform-daily', sourceNamespace: 'nextcloud', scratchNamespace: 'nextcloud-restore-drill', timeoutSeconds: 600 };
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'keelson-drill-'));
    mkdirSync(join(work, 'bin'));
    writeFileSync(join(work, 'bin', 'kubectl'), FAKE_KUBECTL);
    chmodSync(join(work, 'bin', 'kubectl'), 0o755);
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const drill = (phases: string, errors = '') =>
    spawnSync('/bin/sh', ['-c', restoreDrillScript(options)], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH}`, FAKE_KUBE: join(work, 'kube'), FAKE_PHASES: phases, FAKE_ERRORS: errors, KEELSON_DRILL_POLL_SECONDS: '0' },
    });

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

  it('succeeds when the restore completes, after clearing and before deleting the scratch namespace', () => {
    const result = drill('New,InProgress,InProgress,Completed');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('restore-drill: OK: backup platform-daily-20260111023000 restored the volumes of nextcloud (errors 0, warnings 2)');
    expect(JSON.parse(readFileSync(join(work, 'kube.created'), 'utf8'))).toEqual(restoreDrillRestore(options));
    const log = readFileSync(join(work, 'kube.log'), 'utf8').trim().split('\n');
    expect(log[0]).toBe('delete namespace nextcloud-restore-drill --ignore-not-found --wait=true --timeout=15m');
    expect(log[1]).toBe('create -o name -f -');
    expect(log.filter((l) => l.includes('{.status.phase}'))).toHaveLength(4);
    expect(log[log.length - 1]).toBe('delete namespace nextcloud-restore-drill --ignore-not-found --wait=false');
  });

  it('fails, naming the backup and the phase, when the restore partially fails', () => {
    const result = drill('InProgress,PartiallyFailed', '3');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('restore-drill: FAILED: backup platform-daily-20260111023000 of schedule platform-daily did not restore nextcloud: PartiallyFailed (errors 3, warnings 2)');
    expect(readFileSync(join(work, 'kube.log'), 'utf8').trim().split('\n').pop()).toBe('delete namespace nextcloud-restore-drill --ignore-not-found --wait=false');
  });

  it('fails when the restore does not finish in time', () => {
    const script = restoreDrillScript({ ...options, timeoutSeconds: 1 });
    const result = spawnSync('/bin/sh', ['-c', script], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH}`, FAKE_KUBE: join(work, 'kube'), FAKE_PHASES: Array(50).fill('InProgress').join(','), FAKE_ERRORS: '', KEELSON_DRILL_POLL_SECONDS: '1' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/did not restore nextcloud: timed out after 1s \(last phase: InProgress\)/);
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
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'CronJob']);
    expect(objects[5].spec.schedule).toBe('0 7 * * 1');
    expect(objects.flatMap((o) => validateManifest(o))).toEqual([]);
  });
});
