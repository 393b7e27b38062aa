// Each defect of issue 18, put back into a copy of the committed charts-out:
// the check that owns it must refuse the render and name the object and the fix.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { renderDesiredState, resolveChart, type DesiredState, type RenderedApplication } from '@keelson/upstream';
import { checkProject } from './project';
import { checkStorage } from './storage';
import { checkSyncOrder } from './sync-order';
import type { CheckResult } from './types';
import { checkValues } from './values';

const repoRoot = resolve(__dirname, '../../..');
const gitops = YAML.parse(readFileSync(join(repoRoot, 'apps/platform/platform.yaml'), 'utf8')).gitops;
const cacheDir = mkdtempSync(join(tmpdir(), 'keelson-defects-render-'));
const chartDir = (app: RenderedApplication) => resolveChart({ repoURL: app.repoURL, chart: app.chartOrPath, version: app.revision }).dir;

/** The desired state of a copy of the committed charts-out after `change`. */
function desired(change: (dir: string) => void = () => undefined): DesiredState {
  const root = mkdtempSync(join(tmpdir(), 'keelson-defects-'));
  const dir = join(root, gitops.path);
  cpSync(join(repoRoot, gitops.path), dir, { recursive: true });
  change(dir);
  return renderDesiredState({ dir, gitops, kubeVersion: '1.36.2', cacheDir });
}

function edit(dir: string, file: string, change: (o: any) => void): void {
  const path = join(dir, file);
  const o = YAML.parse(readFileSync(path, 'utf8'));
  change(o);
  writeFileSync(path, YAML.stringify(o));
}

const all = (state: DesiredState): CheckResult[] => [checkValues(state.applications, chartDir), checkSyncOrder(state), checkProject(state), checkStorage(state)];
const messages = (result: CheckResult) => result.findings.map((f) => f.message);

describe('the committed charts-out', () => {
  it('passes the values, sync-order, project and storage checks', () => {
    for (const result of all(desired())) expect({ check: result.check, findings: result.findings }).toEqual({ check: result.check, findings: [] });
  });
});

describe('the defects of issue 18, put back, are refused by name', () => {
  it("Rook's dropped csi.* keys and ceph-csi-operator.enabled (no PVC would bind)", () => {
    const state = desired((dir) =>
      edit(dir, 'storage/application-argocd-storage-rook-ceph.yaml', (o) => {
        const values = o.spec.source.helm.valuesObject;
        values.csi = { ...values.csi, enableRbdDriver: true, provisionerReplicas: 3 };
        values['ceph-csi-operator'] = { ...values['ceph-csi-operator'], enabled: true };
      }),
    );
    const result = checkValues(state.applications, chartDir);
    expect(messages(result)).toEqual(
      ['ceph-csi-operator.enabled', 'csi.enableRbdDriver', 'csi.provisionerReplicas'].map((key) => expect.stringMatching(new RegExp(`^Application storage-rook-ceph \\(chart rook-ceph v1\\.20\\.6\\): value ${key.replace(/\./g, '\\.')} is not a key of the chart`))),
    );
  });

  it('the Ceph-CSI drivers not installed: every Ceph StorageClass and VolumeSnapshotClass names a driver nothing deploys', () => {
    const state = desired((dir) => rmSync(join(dir, 'storage/application-argocd-storage-ceph-csi-drivers.yaml')));
    const result = checkStorage(state);
    expect(result.ok).toBe(false);
    const text = messages(result).join('\n');
    for (const name of ['ceph-block', 'ceph-filesystem', 'ceph-block-snapshot', 'ceph-filesystem-snapshot']) expect(text).toContain(name);
    expect(text).toMatch(/rook-ceph\.rbd\.csi\.ceph\.com/);
  });

  it("the CNPG Cluster without SkipDryRunOnMissingResource (the apps layer's dry-run fails forever)", () => {
    const state = desired((dir) => edit(dir, 'apps/cluster-nextcloud-nextcloud-db.yaml', (o) => delete o.metadata.annotations['argocd.argoproj.io/sync-options']));
    expect(messages(checkSyncOrder(state))).toEqual([expect.stringMatching(/^Cluster nextcloud\/nextcloud-db \(Application apps, wave \d+\): its CRD clusters\.postgresql\.cnpg\.io comes from child Application apps-cloudnative-pg: it lacks argocd\.argoproj\.io\/sync-options: SkipDryRunOnMissingResource=true/)]);
  });

  it("Velero's BackupStorageLocation and Schedules at the wave of the child that installs their CRDs, without SkipDryRunOnMissingResource", () => {
    const state = desired((dir) => {
      for (const file of ['backupstoragelocation-velero-default.yaml', 'schedule-velero-databases-hourly.yaml', 'schedule-velero-platform-daily.yaml', 'schedule-velero-platform-weekly.yaml']) {
        edit(dir, `backups/${file}`, (o) => {
          delete o.metadata.annotations['argocd.argoproj.io/sync-options'];
          delete o.metadata.annotations['argocd.argoproj.io/sync-wave'];
        });
      }
    });
    const found = messages(checkSyncOrder(state));
    expect(found).toHaveLength(4);
    expect(found.join('\n')).toMatch(/^BackupStorageLocation velero\/default \(Application backups, wave 0\): its CRD backupstoragelocations\.velero\.io comes from child Application backups-velero: it lacks .*; and it is at wave 0, not after the child Application backups-velero \(wave 0\)/m);
  });

  it('the CNPG operator at sync wave -1 installing into a namespace created at wave 0 (the parent waits for the child forever)', () => {
    const state = desired((dir) => {
      edit(dir, 'apps/application-argocd-apps-cloudnative-pg.yaml', (o) => (o.metadata.annotations['argocd.argoproj.io/sync-wave'] = '-1'));
      edit(dir, 'apps/namespace-cnpg-system.yaml', (o) => (o.metadata.annotations = { ...o.metadata.annotations, 'argocd.argoproj.io/sync-wave': '0' }));
    });
    expect(messages(checkSyncOrder(state))).toContainEqual(expect.stringMatching(/^Application apps-cloudnative-pg deploys .* into namespace cnpg-system, but Namespace cnpg-system is created by Application apps at wave 0, which is not done before apps-cloudnative-pg \(wave -1\) starts/));
  });

  it("Cilium's cilium-secrets namespace missing from the AppProject (the network layer would fail to sync)", () => {
    const state = desired((dir) => edit(dir, 'argocd/appproject-argocd-keelson.yaml', (o) => (o.spec.destinations = o.spec.destinations.filter((d: { namespace: string }) => d.namespace !== 'cilium-secrets'))));
    const result = checkProject(state);
    expect(result.ok).toBe(false);
    expect(messages(result).join('\n')).toMatch(/cilium-secrets/);
  });

  it("the CNPG operator's podDisruptionBudget value, which its chart does not have", () => {
    const state = desired((dir) => edit(dir, 'apps/application-argocd-apps-cloudnative-pg.yaml', (o) => (o.spec.source.helm.valuesObject.podDisruptionBudget = { enabled: true, minAvailable: 1 })));
    expect(messages(checkValues(state.applications, chartDir))).toEqual([expect.stringContaining('Application apps-cloudnative-pg (chart cloudnative-pg 0.29.0): value podDisruptionBudget is not a key of the chart')]);
  });
});
