import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { renderDesiredState, type DesiredObject, type DesiredState } from '@keelson/upstream';
import { checkStorage } from './storage';

jest.setTimeout(300_000);

// The real default platform: the committed charts-out rendered as Argo CD would.
const repoRoot = resolve(__dirname, '../../..');
const gitops = YAML.parse(readFileSync(join(repoRoot, 'apps/platform/platform.yaml'), 'utf8')).gitops;

describe('checkStorage on the default platform', () => {
  let real: DesiredState;
  beforeAll(() => {
    real = renderDesiredState({ dir: join(repoRoot, gitops.path), gitops, kubeVersion: '1.36.2', cacheDir: join(tmpdir(), 'verify-render-cache') });
  });
  const without = (drop: (o: DesiredObject) => boolean): DesiredState => ({ applications: real.applications, objects: real.objects.filter((o) => !drop(o)) });
  const classes = (kind: string) => real.objects.filter((o) => o.object.kind === kind).map((o) => ({ name: String(o.object.metadata?.name), driver: String(o.object.provisioner ?? o.object.driver) }));

  it('checks every class and claim, and any finding names its Application, an object and the fix', () => {
    const result = checkStorage(real);
    expect(result.summary).toMatch(new RegExp(`^${classes('StorageClass').length} StorageClasses and ${classes('VolumeSnapshotClass').length} VolumeSnapshotClasses checked`));
    expect(classes('StorageClass').length).toBeGreaterThan(0);
    for (const f of result.findings) {
      expect(f.application).toEqual(expect.any(String));
      expect(f.message).toMatch(/^\S+ \S+ \(Application \S+\)/);
      expect(f.message).toMatch(/; (install|deploy|name|add|mark)/);
    }
  });

  it('refuses the render without its CSIDrivers and ceph-csi-operator Drivers, naming every Ceph class and its driver', () => {
    const result = checkStorage(without((o) => o.object.kind === 'CSIDriver' || (o.object.kind === 'Driver' && String(o.object.apiVersion).startsWith('csi.ceph.io/'))));
    expect(result.ok).toBe(false);
    const text = result.findings.map((f) => f.message).join('\n');
    for (const c of [...classes('StorageClass'), ...classes('VolumeSnapshotClass')]) {
      expect(text).toMatch(new RegExp(`^(StorageClass|VolumeSnapshotClass) ${c.name} \\(Application storage\\): its (provisioner|driver) ${c.driver.replace(/\./g, '\\.')} is deployed by nothing .*; install the Ceph-CSI drivers' chart \\(ceph-csi-drivers`, 'm'));
    }
  });

  it('refuses the render without the snapshot controller', () => {
    const result = checkStorage(without((o) => o.object.kind === 'Deployment' && String(o.object.metadata?.name) === 'snapshot-controller'));
    expect(result.findings.map((f) => f.message)).toContainEqual(expect.stringContaining('need the snapshot controller, but no Deployment of the desired state runs registry.k8s.io/sig-storage/snapshot-controller'));
  });
});
