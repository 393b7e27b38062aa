import { latestCompletedBackup, restoreManifest, VELERO_NAMESPACE, type BackupObject, type RestoreScope } from '@keelson/backups-velero';
import type { CommandRunner } from './cluster';

/** What `keelson restore` needs from the cluster: Velero's Backups and Restores. */
export interface RestoreCluster {
  backups(): Promise<BackupObject[]>;
  /** Creates the Restore (the manifest goes on stdin). */
  createRestore(manifest: object): Promise<void>;
  /** The Restore's `status.phase`, '' while Velero has not picked it up. */
  restorePhase(name: string): Promise<string>;
}

/** The kubectl argv of each call, in one place (tests assert on them). */
export const restoreKubectlArgs = {
  backups: ['get', 'backups.velero.io', '-n', VELERO_NAMESPACE, '-o', 'json'],
  create: ['create', '-f', '-'],
  phase: (name: string) => ['get', 'restores.velero.io', name, '-n', VELERO_NAMESPACE, '--ignore-not-found', '-o', 'jsonpath={.status.phase}'],
} as const;

/** {@link RestoreCluster} over kubectl. */
export class KubectlRestoreCluster implements RestoreCluster {
  constructor(private readonly run: CommandRunner) {}

  async backups(): Promise<BackupObject[]> {
    const list = JSON.parse(await this.run(restoreKubectlArgs.backups)) as { items?: BackupObject[] };
    return list.items ?? [];
  }

  async createRestore(manifest: object): Promise<void> {
    await this.run(restoreKubectlArgs.create, JSON.stringify(manifest));
  }

  async restorePhase(name: string): Promise<string> {
    return (await this.run(restoreKubectlArgs.phase(name))).trim();
  }
}

export interface RestoreCommandOptions {
  readonly cluster: RestoreCluster;
  /** `undefined`: list the backups and restore nothing. */
  readonly scope?: RestoreScope;
  /**
   * A Backup name, or the latest completed one (optionally of one schedule).
   * @default - the latest completed backup
   */
  readonly backup?: string;
  readonly schedule?: string;
  readonly print: (line: string) => void;
  /** @default 3 600 000 (an hour: volume data comes back from the bucket) */
  readonly timeoutMs?: number;
  /** @default 10 000 */
  readonly pollMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Phases a Restore ends in. @see https://velero.io/docs/v1.18/api-types/restore/ */
const FINAL = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']);

/**
 * `keelson restore`: lists Velero's backups, or restores one namespace (into
 * itself or a scratch copy) or the whole platform from a backup, and waits
 * for the result. Returns true when a restore completed (or only listed).
 */
export async function restore(options: RestoreCommandOptions): Promise<boolean> {
  const { cluster, print } = options;
  const backups = await cluster.backups();
  if (!options.scope) {
    print(backups.length === 0 ? `no backups in namespace ${VELERO_NAMESPACE} yet` : 'BACKUP  PHASE  SCHEDULE  COMPLETED');
    const sorted = [...backups].sort((a, b) => (b.status?.completionTimestamp ?? '').localeCompare(a.status?.completionTimestamp ?? ''));
    for (const b of sorted) {
      print(`${b.metadata.name}  ${b.status?.phase ?? '-'}  ${b.metadata.labels?.['velero.io/schedule-name'] ?? '-'}  ${b.status?.completionTimestamp ?? '-'}`);
    }
    return true;
  }
  const chosen = options.backup
    ? backups.find((b) => b.metadata.name === options.backup)
    : latestCompletedBackup(backups, { schedule: options.schedule });
  if (!chosen) {
    throw new Error(
      options.backup
        ? `restore: no backup named ${options.backup}; list them with \`keelson restore --list\``
        : `restore: no completed backup${options.schedule ? ` of schedule ${options.schedule}` : ''}; list them with \`keelson restore --list\``,
    );
  }
  if (chosen.status?.phase !== 'Completed') {
    throw new Error(`restore: backup ${chosen.metadata.name} is ${chosen.status?.phase ?? 'not finished'}, not Completed; pick a completed one from \`keelson restore --list\``);
  }
  const manifest = restoreManifest({ backupName: chosen.metadata.name, scope: options.scope }) as { metadata: { name: string } };
  const what = options.scope.kind === 'platform' ? 'the whole platform' : `namespace ${options.scope.namespace}${options.scope.into ? ` into ${options.scope.into}` : ''}`;
  print(`restoring ${what} from backup ${chosen.metadata.name} (Restore ${manifest.metadata.name})`);
  await cluster.createRestore(manifest);

  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + (options.timeoutMs ?? 3_600_000);
  let phase = '';
  while (!FINAL.has(phase)) {
    if (now() > deadline) {
      throw new Error(`restore: Restore ${manifest.metadata.name} is still ${phase || 'waiting'} after the timeout; follow it with \`kubectl -n ${VELERO_NAMESPACE} describe restore ${manifest.metadata.name}\``);
    }
    await sleep(options.pollMs ?? 10_000);
    phase = await cluster.restorePhase(manifest.metadata.name);
  }
  if (phase !== 'Completed') {
    throw new Error(`restore: Restore ${manifest.metadata.name} ended ${phase}; see \`kubectl -n ${VELERO_NAMESPACE} describe restore ${manifest.metadata.name}\` and its logs`);
  }
  print(`restore ${manifest.metadata.name}: Completed`);
  return true;
}
