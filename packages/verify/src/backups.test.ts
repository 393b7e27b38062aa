import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { checkBackups } from './backups';
import type { Manifest } from './types';

const location: Manifest = {
  file: 'charts-out/backups/backupstoragelocation-velero-default.yaml',
  object: { apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', metadata: { name: 'default', namespace: 'velero' }, spec: { default: true, provider: 'aws', objectStorage: { bucket: 'keelson-backups' } } },
};

describe('checkBackups on the backup bucket of each cloud', () => {
  // Each cloud names its bucket in its own attribute: DigitalOcean Spaces `name`, Hetzner Object Storage (the minio provider) `bucket`.
  it.each([
    ['DigitalOcean', 'digitalocean_spaces_bucket', 'name'],
    ['Hetzner', 'minio_s3_bucket', 'bucket'],
  ])('refuses a force-destroyable backup bucket on %s (%s)', (_cloud, type, attribute) => {
    const terraform = (forceDestroy: boolean) => ({ resource: { [type]: { backups: { [attribute]: 'keelson-backups', force_destroy: forceDestroy } } } });
    const broken = checkBackups([location], terraform(true));
    expect(broken.findings.map((f) => f.message)).toContain(
      `${type}.backups (bucket keelson-backups, where the backups go) sets force_destroy = true: terraform destroy deletes every backup with it; set force_destroy = false`,
    );
    const kept = checkBackups([location], terraform(false));
    expect(kept.findings.filter((f) => f.message.includes('force_destroy'))).toEqual([]);
    expect(kept.summary).toMatch(/; 1 backup bucket not force-destroyable$/);
  });
});

describe('checkBackups on the restore drill', () => {
  // The drill as synth renders it (charts-out/ is rendered from apps/platform/platform.yaml).
  const rendered = (): Manifest => {
    const file = 'charts-out/backups/cronjob-velero-restore-drill.yaml';
    return { file, object: YAML.parse(readFileSync(join(__dirname, '../../..', file), 'utf8')) };
  };
  const dataFindings = (drill: Manifest) => checkBackups([location, drill]).findings.filter((f) => f.message.includes('does not check volume data'));

  it('accepts the rendered drill, which compares the backup\'s DataUploads with what a pod reads from the restored volumes', () => {
    expect(dataFindings(rendered())).toEqual([]);
  });

  it('refuses a drill that checks only the Restore\'s phase, naming what it lacks', () => {
    const drill = rendered();
    const container = drill.object.spec.jobTemplate.spec.template.spec.containers[0];
    container.command[2] = String(container.command[2])
      .split('\n')
      .filter((l) => !/datauploads|persistentVolumeClaim|kubectl logs/.test(l))
      .join('\n');
    expect(dataFindings(drill)).toEqual([
      {
        file: 'charts-out/backups/cronjob-velero-restore-drill.yaml',
        message:
          "CronJob velero/restore-drill: the restore drill does not check volume data: it does not read the backup's DataUploads (what it moved off the cluster per PVC), nor start a pod that mounts the restored PVCs read-only, nor read what a pod found in the restored volumes; a backup without volume data restores as empty volumes and its Restore still completes. Render the drill's data check (RestoreDrill of @keelson/backups-velero)",
      },
    ]);
  });
});
