import { ApiObject, App, Testing } from 'cdk8s';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { LayerChart } from './layer-chart';
import { afterCrds, SKIP_DRY_RUN } from './sync-order';
import { UpstreamHelmChart } from './upstream-chart';
import { UpstreamManifests } from './upstream-manifests';

const spec = parsePlatformConfig(exampleConfig());

describe('afterCrds', () => {
  const storage = () => {
    const layer = new LayerChart(new App(), 'storage', { spec, layer: 'storage' });
    const operator = new UpstreamHelmChart(layer, 'operator', { repoURL: 'https://charts.example.com', chart: 'operator', version: '1.2.3', namespace: 'rook-ceph', values: {}, clusterResources: [] });
    const crds = new UpstreamManifests(layer, 'crds', { repoURL: 'https://github.com/example/crds.git', version: 'v1.0.0', path: 'crds', namespace: 'rook-ceph', clusterResources: [], syncWave: -2 });
    return { layer, operator, crds };
  };

  it('puts a custom resource one wave after the Application installing its CRD, with the dry run skipped while the CRD is missing', () => {
    const { operator, crds } = storage();
    expect(operator.syncWave).toBe(0);
    expect(crds.syncWave).toBe(-2);
    expect(afterCrds(operator)).toEqual({ 'argocd.argoproj.io/sync-wave': '1', 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' });
    expect(afterCrds(crds)).toEqual({ 'argocd.argoproj.io/sync-wave': '-1', ...SKIP_DRY_RUN });
  });

  it('waits for the latest of several installers, or a later wave when asked', () => {
    const { operator, crds } = storage();
    expect(afterCrds([crds, operator])['argocd.argoproj.io/sync-wave']).toBe('1');
    expect(afterCrds([crds, operator], 3)['argocd.argoproj.io/sync-wave']).toBe('3');
  });

  it('renders on the custom resource after the Application in the folder, and the namespaces before both', () => {
    const { layer, operator } = storage();
    new ApiObject(layer, 'thing', { apiVersion: 'example.io/v1', kind: 'Thing', metadata: { name: 'thing', namespace: 'rook-ceph', annotations: afterCrds(operator) } });
    const objects = Testing.synth(layer);
    const wave = (kind: string) => objects.find((o) => o.kind === kind).metadata.annotations['argocd.argoproj.io/sync-wave'];
    expect(objects.find((o) => o.kind === 'Thing').metadata.annotations['argocd.argoproj.io/sync-options']).toBe('SkipDryRunOnMissingResource=true');
    expect([wave('Namespace'), wave('Thing')]).toEqual(['-3', '1']);
  });

  it('fails on a wave that is not after every installer, and on no installer', () => {
    const { operator, crds } = storage();
    expect(() => afterCrds([crds, operator], 0)).toThrow(/afterCrds: wave 0 is not after Application storage-operator \(wave 0\), which installs the CRD; use wave 1 or later/);
    expect(() => afterCrds(crds, -2)).toThrow(/wave -2 is not after Application storage-crds \(wave -2\)/);
    expect(() => afterCrds([])).toThrow(/afterCrds: no installer given/);
    expect(() => afterCrds(operator, 1.5)).toThrow(/wave 1\.5 is not a whole number/);
  });
});
