import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateManifest } from '@keelson/k8s-schemas';
import { restoreDrillRestore, restoreDrillScript } from './restore-drill';

/**
 * A stand-in kubectl: logs argv (and stdin for `create`) to $FAKE_KUBE.log
 * and answers the drill's calls; the restore's phases come one per `get` of
 * `.status.phase` from $FAKE_PHASES, the restored PVCs from $FAKE_PVCS, the
 * backup's DataUploads from $FAKE_UPLOADS and the checker pod's output from
 * $FAKE_READ (what the checker pod's own script prints, run for real below).
 */
const FAKE_KUBECTL = `#!/bin/sh
set -eu
printf '%s\\n' "$*" >> "$FAKE_KUBE.log"
case "$*" in
  "create -o name -f -") cat > "$FAKE_KUBE.created"; echo restore.velero.io/restore-drill-x7k2p ;;
  "create -n nextcloud-restore-drill -o name -f -") cat > "$FAKE_KUBE.pod"; echo pod/restore-drill-check-q4z8m ;;
  "get namespace nextcloud-restore-drill -o name") echo namespace/nextcloud-restore-drill ;;
  "delete -n nextcloud-restore-drill pods,persistentvolumeclaims --all"*) ;;
  *"persistentvolumeclaims -o jsonpath={.items[*].metadata.name}") printf "$FAKE_PVCS" ;;
  *"datauploads.velero.io -l velero.io/backup-name=platform-daily-20260111023000"*) printf "$FAKE_UPLOADS" ;;
  "wait -n nextcloud-restore-drill pod/restore-drill-check-q4z8m"*) ;;
  "logs -n nextcloud-restore-drill pod/restore-drill-check-q4z8m") printf "$FAKE_READ" ;;
  *"jsonpath={.status.phase}"*)
    n=$(cat "$FAKE_KUBE.count" 2>/dev/null || echo 1)
    echo $((n + 1)) > "$FAKE_KUBE.count"
    echo "$FAKE_PHASES" | cut -d, -f"$n" | tr -d "\\n" ;;
  *"jsonpath={.spec.backupName}"*) printf platform-daily-20260111023000 ;;
  *"jsonpath={.status.errors}"*) printf "$FAKE_ERRORS" ;;
  *"jsonpath={.status.warnings}"*) printf 2 ;;
  *) echo "fake kubectl: unexpected call: $*" >&2; exit 2 ;;
esac
`;

describe('restore drill', () => {
  const options = { schedule: 'platform-daily', sourceNamespace: 'nextcloud', scratchNamespace: 'nextcloud-restore-drill', timeoutSeconds: 600 };
  const CLEAR = 'delete -n nextcloud-restore-drill pods,persistentvolumeclaims --all --ignore-not-found --wait=true --timeout=15m';
  const UPLOADS = 'nextcloud/nextcloud-html=Completed=734003200\nnextcloud/nextcloud-sessions=Completed=0\nemby/emby-config=Completed=5000\n';
  const READ_BACK = 'volume nextcloud-html 716808 18234\nvolume nextcloud-sessions 0 0\n';
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'keelson-drill-'));
    mkdirSync(join(work, 'bin'));
    writeFileSync(join(work, 'bin', 'kubectl'), FAKE_KUBECTL);
    chmodSync(join(work, 'bin', 'kubectl'), 0o755);
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const drill = (phases: string, errors = '', data: { pvcs?: string; uploads?: string; read?: string } = {}) =>
    spawnSync('/bin/sh', ['-c', restoreDrillScript(options)], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${join(work, 'bin')}:${process.env.PATH}`,
        FAKE_KUBE: join(work, 'kube'),
        FAKE_PHASES: phases,
        FAKE_ERRORS: errors,
        FAKE_PVCS: data.pvcs ?? 'nextcloud-html nextcloud-sessions',
        FAKE_UPLOADS: data.uploads ?? UPLOADS,
        FAKE_READ: data.read ?? READ_BACK,
        KEELSON_DRILL_POLL_SECONDS: '0',
      },
    });

  it('succeeds when the restore completes and every volume holds what the backup uploaded, clearing the scratch namespace before and after', () => {
    const result = drill('New,InProgress,InProgress,Completed');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'restore-drill: OK: backup platform-daily-20260111023000 restored the volumes of nextcloud with their data: nextcloud-html 734003200 bytes uploaded, 734011392 bytes and 18234 visible files back, nextcloud-sessions 0 bytes uploaded, 0 bytes and 0 visible files back (errors 0, warnings 2)',
    );
    expect(JSON.parse(readFileSync(join(work, 'kube.created'), 'utf8'))).toEqual(restoreDrillRestore(options));
    const log = readFileSync(join(work, 'kube.log'), 'utf8').trim().split('\n');
    expect(log[0]).toBe('get namespace nextcloud-restore-drill -o name');
    expect(log[1]).toBe(CLEAR);
    expect(log[2]).toBe('create -o name -f -');
    expect(log.filter((l) => l.startsWith('get -n velero restore.velero.io/') && l.endsWith('{.status.phase}'))).toHaveLength(4);
    expect(log).toContain('get -n velero datauploads.velero.io -l velero.io/backup-name=platform-daily-20260111023000 -o jsonpath={range .items[*]}{.spec.sourceNamespace}/{.spec.sourcePVC}={.status.phase}={.status.progress.totalBytes}{"\\n"}{end}');
    expect(log[log.length - 1]).toBe(CLEAR);
  });

  it('starts a checker pod that mounts every restored PVC read-only under restricted Pod Security, and that validates', () => {
    drill('Completed');
    const pod = JSON.parse(readFileSync(join(work, 'kube.pod'), 'utf8'));
    expect(pod.spec.volumes).toEqual([
      { name: 'nextcloud-html', persistentVolumeClaim: { claimName: 'nextcloud-html', readOnly: true } },
      { name: 'nextcloud-sessions', persistentVolumeClaim: { claimName: 'nextcloud-sessions', readOnly: true } },
    ]);
    expect(pod.spec.containers[0].volumeMounts).toEqual([
      { name: 'nextcloud-html', mountPath: '/restored/nextcloud-html', readOnly: true },
      { name: 'nextcloud-sessions', mountPath: '/restored/nextcloud-sessions', readOnly: true },
    ]);
    expect(pod.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.spec.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(validateManifest({ ...pod, metadata: { ...pod.metadata, name: 'restore-drill-check-q4z8m', namespace: 'nextcloud-restore-drill' } })).toEqual([]);
  });

  it("the checker pod's script reports the bytes a volume's filesystem holds and its files, empty or not", () => {
    drill('Completed');
    const pod = JSON.parse(readFileSync(join(work, 'kube.pod'), 'utf8'));
    const root = join(work, 'restored');
    mkdirSync(join(root, 'full', 'data'), { recursive: true });
    mkdirSync(join(root, 'empty', 'lost+found'), { recursive: true });
    writeFileSync(join(root, 'full', 'data', 'a.bin'), Buffer.alloc(64 * 1024, 1));
    writeFileSync(join(root, 'full', 'b.txt'), 'b');
    const run = spawnSync('/bin/sh', ['-c', pod.spec.containers[0].command[2].replaceAll('/restored', root)], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^volume empty \d+ 0$/), expect.stringMatching(/^volume full \d+ 2$/)]);
  });

  it('fails when the backup held only the objects of a volume (no DataUpload), naming it', () => {
    const result = drill('Completed', '', { uploads: 'nextcloud/nextcloud-sessions=Completed=0\n' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'restore-drill: FAILED: backup platform-daily-20260111023000 of schedule platform-daily restored the objects of nextcloud but not their data: nextcloud-html: backup platform-daily-20260111023000 holds no data of it (no DataUpload: objects only)',
    );
    expect(readFileSync(join(work, 'kube.log'), 'utf8').trim().split('\n').pop()).toBe(CLEAR);
  });

  it('fails when a restored volume holds less than the backup uploaded (an empty volume in its place)', () => {
    const result = drill('Completed', '', { read: 'volume nextcloud-html 16 0\nvolume nextcloud-sessions 0 0\n' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('not their data: nextcloud-html: holds 16384 bytes, the backup uploaded 734003200');
  });

  it('fails when a DataUpload did not complete, or the restore brought back no PVC', () => {
    expect(drill('Completed', '', { uploads: 'nextcloud/nextcloud-html=Failed=0\nnextcloud/nextcloud-sessions=Completed=0\n' }).stderr).toContain('nextcloud-html: its DataUpload ended Failed');
    rmSync(join(work, 'kube.count'), { force: true });
    expect(drill('Completed', '', { pvcs: '' }).stderr).toContain('not their data: the restore brought back no PersistentVolumeClaim of nextcloud');
  });

  it('fails, naming the backup and the phase, when the restore partially fails', () => {
    const result = drill('InProgress,PartiallyFailed', '3');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('restore-drill: FAILED: backup platform-daily-20260111023000 of schedule platform-daily did not restore nextcloud: PartiallyFailed (errors 3, warnings 2)');
    expect(readFileSync(join(work, 'kube.log'), 'utf8').trim().split('\n').pop()).toBe(CLEAR);
  });

  it('fails when the restore does not finish in time', () => {
    const script = restoreDrillScript({ ...options, timeoutSeconds: 1 });
    const result = spawnSync('/bin/sh', ['-c', script], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH}`, FAKE_KUBE: join(work, 'kube'), FAKE_PHASES: Array(50).fill('InProgress').join(','), FAKE_ERRORS: '', FAKE_PVCS: '', FAKE_UPLOADS: '', FAKE_READ: '', KEELSON_DRILL_POLL_SECONDS: '1' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/did not restore nextcloud: timed out after 1s \(last phase: InProgress\)/);
  });

});
