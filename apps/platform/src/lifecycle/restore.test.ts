import { validateManifest } from '@keelson/k8s-schemas';
import type { BackupObject } from '@keelson/backups-velero';
import { runCli } from '../test-cli';
import { restore, type RestoreCluster } from './restore';

const backup = (name: string, phase: string, completed: string, schedule?: string): BackupObject => ({
  metadata: { name, labels: schedule ? { 'velero.io/schedule-name': schedule } : {} },
  status: { phase, completionTimestamp: completed },
});

/** A Velero that holds `backups` and ends every Restore in `finalPhase` after `polls` polls. */
function fakeVelero(backups: BackupObject[], finalPhase = 'Completed', polls = 2) {
  const created: Array<{ metadata: { name: string }; spec: Record<string, unknown> }> = [];
  let seen = 0;
  const cluster: RestoreCluster = {
    backups: async () => backups,
    createRestore: async (m) => void created.push(m as (typeof created)[number]),
    restorePhase: async () => (++seen >= polls ? finalPhase : 'InProgress'),
  };
  return { cluster, created };
}
const quick = { pollMs: 0, sleep: async () => undefined };

describe('keelson restore', () => {
  const backups = [
    backup('platform-daily-20261124', 'Completed', '2026-11-24T03:10:00Z', 'platform-daily'),
    backup('platform-daily-20261125', 'PartiallyFailed', '2026-11-25T03:10:00Z', 'platform-daily'),
    backup('databases-hourly-20261125-0800', 'Completed', '2026-11-25T08:05:00Z', 'databases-hourly'),
  ];

  it('lists the backups, newest first, and restores nothing', async () => {
    const { cluster, created } = fakeVelero(backups);
    const lines: string[] = [];
    expect(await restore({ cluster, print: (l) => lines.push(l), ...quick })).toBe(true);
    expect(lines.map((l) => l.split('  ')[0])).toEqual(['BACKUP', 'databases-hourly-20261125-0800', 'platform-daily-20261125', 'platform-daily-20261124']);
    expect(created).toEqual([]);
  });

  it('restores a namespace into a scratch copy from the latest completed backup of a schedule, never a partial one, and waits for it', async () => {
    const { cluster, created } = fakeVelero(backups);
    const lines: string[] = [];
    await restore({ cluster, scope: { kind: 'namespace', namespace: 'nextcloud', into: 'nextcloud-copy' }, schedule: 'platform-daily', print: (l) => lines.push(l), ...quick });
    expect(created).toHaveLength(1);
    expect(created[0].spec).toMatchObject({ backupName: 'platform-daily-20261124', includedNamespaces: ['nextcloud'], namespaceMapping: { nextcloud: 'nextcloud-copy' } });
    expect(validateManifest(created[0])).toEqual([]);
    expect(lines.at(-1)).toMatch(/: Completed$/);
  });

  it('restores the whole platform from a named backup', async () => {
    const { cluster, created } = fakeVelero(backups);
    await restore({ cluster, scope: { kind: 'platform' }, backup: 'databases-hourly-20261125-0800', print: () => undefined, ...quick });
    expect(created[0].spec.backupName).toBe('databases-hourly-20261125-0800');
  });

  it('stops and explains: an unknown or unfinished backup, a failed restore, a restore that never ends', async () => {
    const scope = { kind: 'namespace', namespace: 'website' } as const;
    const print = () => undefined;
    await expect(restore({ cluster: fakeVelero(backups).cluster, scope, backup: 'nope', print, ...quick })).rejects.toThrow(/no backup named nope; list them with `keelson restore --list`/);
    await expect(restore({ cluster: fakeVelero(backups).cluster, scope, backup: 'platform-daily-20261125', print, ...quick })).rejects.toThrow(/is PartiallyFailed, not Completed/);
    await expect(restore({ cluster: fakeVelero([]).cluster, scope, print, ...quick })).rejects.toThrow(/no completed backup; list them/);
    await expect(restore({ cluster: fakeVelero(backups, 'PartiallyFailed').cluster, scope, print, ...quick })).rejects.toThrow(/ended PartiallyFailed; see `kubectl -n velero describe restore/);
    let t = 0;
    await expect(restore({ cluster: fakeVelero(backups, 'Completed', 1e9).cluster, scope, print, timeoutMs: 5, now: () => (t += 10), pollMs: 0, sleep: async () => undefined })).rejects.toThrow(/is still waiting after the timeout; follow it with `kubectl -n velero describe restore/);
  });

});

describe('keelson restore (in-process CLI)', () => {
  it('refuses contradictory options through the CLI, exit 2', async () => {
    const both = await runCli(['restore', '--namespace', 'website', '--all']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give --namespace or --all, not both/);
    expect((await runCli(['restore', '--into', 'x'])).stderr).toMatch(/--into needs --namespace/);
  });
});
