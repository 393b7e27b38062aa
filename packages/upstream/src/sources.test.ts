import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoFolder, resolveChart, resolveGitSource, SOURCES_LOCK } from './sources';

jest.setTimeout(120_000);

const manifestsDir = process.env.KEELSON_MANIFESTS_DIR as string;
const cilium = SOURCES_LOCK.charts.find((c) => c.chart === 'cilium') ?? SOURCES_LOCK.charts[0];
const offline = (extra: Record<string, string> = {}) => ({ ...process.env, KEELSON_CACHE_DIR: mkdtempSync(join(tmpdir(), 'cache-')), KEELSON_OFFLINE: '1', ...extra }) as NodeJS.ProcessEnv & { KEELSON_CACHE_DIR: string };

describe('resolveChart', () => {

  it('names the chart, the version and every place it looked when nothing has it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'charts-'));
    const env = offline({ KEELSON_CHARTS_DIR: empty });
    expect(() => resolveChart(cilium, { env })).toThrow(
      `chart cilium ${cilium.version} from https://helm.cilium.io is in neither KEELSON_CHARTS_DIR (${empty}/cilium/${cilium.version}) nor the cache (${env.KEELSON_CACHE_DIR}/sources/charts/cilium/${cilium.version}), and \`helm pull\` could not fetch it: fetching is off (KEELSON_OFFLINE=1).`,
    );
  });

  it('refuses a chart the lock does not pin', () => {
    expect(() => resolveChart({ ...cilium, version: '1.19.5' }, { env: offline() })).toThrow(/chart cilium 1\.19\.5 from https:\/\/helm\.cilium\.io has no digest in @keelson\/upstream's sources\.lock\.json/);
  });

});

describe('resolveGitSource', () => {
  const argo = { repoURL: 'https://github.com/argoproj/argo-cd.git', revision: 'v3.5.1', path: 'manifests/ha/cluster-install' };

  it('finds a pinned tag under KEELSON_MANIFESTS_DIR as <owner>/<repo>/<tag>/<path>', () => {
    expect(repoFolder(argo.repoURL, argo.revision)).toBe('argoproj/argo-cd/v3.5.1');
    const found = resolveGitSource(argo, { env: offline() });
    expect(found).toMatchObject({ from: 'dir', dir: join(manifestsDir, 'argoproj/argo-cd/v3.5.1/manifests/ha/cluster-install') });
    expect(existsSync(join(found.dir, 'kustomization.yaml'))).toBe(true);
  });

  it('refuses a changed file, naming it', () => {
    const copy = mkdtempSync(join(tmpdir(), 'manifests-'));
    cpSync(join(manifestsDir, 'kubernetes-csi'), join(copy, 'kubernetes-csi'), { recursive: true });
    const crd = join(copy, 'kubernetes-csi/external-snapshotter/v8.6.0/client/config/crd/snapshot.storage.k8s.io_volumesnapshots.yaml');
    writeFileSync(crd, readFileSync(crd, 'utf8').replace('served: true', 'served: false'));
    expect(() =>
      resolveGitSource({ repoURL: 'https://github.com/kubernetes-csi/external-snapshotter.git', revision: 'v8.6.0', path: 'client/config/crd' }, { env: offline({ KEELSON_MANIFESTS_DIR: copy }) }),
    ).toThrow(/does not match the pinned files: client\/config\/crd\/snapshot\.storage\.k8s\.io_volumesnapshots\.yaml differs/);
  });

  it('names the tag and every place it looked when nothing has it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'manifests-'));
    expect(() => resolveGitSource(argo, { env: offline({ KEELSON_MANIFESTS_DIR: empty }) })).toThrow(
      /https:\/\/github\.com\/argoproj\/argo-cd\.git at v3\.5\.1 \(manifests\/ha\/cluster-install\) is in neither KEELSON_MANIFESTS_DIR \(.*\) nor the cache \(.*\), and `git clone` could not fetch it: fetching is off/,
    );
  });
});

