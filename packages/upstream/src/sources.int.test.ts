import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePeer } from './peers';
import { lockCharts, resolveChart, SOURCES_LOCK, SourceError, treeDigest, type SourcesLock } from './sources';

jest.setTimeout(120_000);

// The tests read the pinned charts and Git sources from ../shared (jest's global setup sets these).
const chartsDir = process.env.KEELSON_CHARTS_DIR as string;
const cilium = SOURCES_LOCK.charts.find((c) => c.chart === 'cilium') ?? SOURCES_LOCK.charts[0];
const offline = (extra: Record<string, string> = {}) => ({ ...process.env, KEELSON_CACHE_DIR: mkdtempSync(join(tmpdir(), 'cache-')), KEELSON_OFFLINE: '1', ...extra }) as NodeJS.ProcessEnv & { KEELSON_CACHE_DIR: string };

describe('the sources lock', () => {
  it('pins every chart and Git tag staged for the tests, and each resolves with its digest', () => {
    expect(SOURCES_LOCK.charts.map((c) => c.chart).sort()).toEqual(['ceph-csi-drivers', 'cert-manager', 'cilium', 'cloudnative-pg', 'flannel', 'kubelet-csr-approver', 'kured', 'rook-ceph', 'traefik', 'velero']);
    for (const chart of SOURCES_LOCK.charts) {
      expect(resolveChart(chart, { env: offline() })).toMatchObject({ from: 'dir', digest: chart.digest });
    }
    expect(SOURCES_LOCK.git.map((g) => `${g.repoURL}@${g.revision}`).sort()).toEqual([
      'https://github.com/argoproj/argo-cd.git@v3.5.1',
      'https://github.com/kubernetes-csi/external-snapshotter.git@v8.6.0',
      'https://github.com/kubernetes-sigs/gateway-api.git@v1.6.1',
      'https://github.com/rook/rook.git@v1.20.6',
    ]);
  });
});

describe('resolveChart', () => {
  it('refuses a chart whose files changed, naming both digests', () => {
    const copy = mkdtempSync(join(tmpdir(), 'charts-'));
    cpSync(join(chartsDir, 'cilium'), join(copy, 'cilium'), { recursive: true });
    appendFileSync(join(copy, 'cilium', cilium.version, 'values.yaml'), '\n# changed\n');
    const attempt = () => resolveChart(cilium, { env: offline({ KEELSON_CHARTS_DIR: copy }) });
    expect(attempt).toThrow(SourceError);
    expect(attempt).toThrow(new RegExp(`chart cilium ${cilium.version} from https://helm.cilium.io in .* has digest sha256:[0-9a-f]{64}, not the pinned ${cilium.digest}`));
  });

  it('fills the cache with the real `helm pull` from a chart repository, then reads the cache', async () => {
    // A chart repository on loopback, made by the real helm from the pinned chart.
    const helm = requirePeer('helm', 'the chart repository');
    const repo = mkdtempSync(join(tmpdir(), 'repo-'));
    const helmHome = { HELM_CACHE_HOME: join(repo, '.cache'), HELM_CONFIG_HOME: join(repo, '.config'), HELM_DATA_HOME: join(repo, '.data') };
    const kured = SOURCES_LOCK.charts.find((c) => c.chart === 'kured');
    if (!kured) throw new Error('kured is not pinned');
    expect(spawnSync(helm, ['package', join(chartsDir, 'kured', kured.version), '--destination', repo], { env: { ...process.env, ...helmHome }, encoding: 'utf8' }).status).toBe(0);
    // Served from another process: the resolver waits for `helm pull` synchronously.
    const server = await serveFolder(repo);
    try {
      expect(spawnSync(helm, ['repo', 'index', repo, '--url', server.url], { env: { ...process.env, ...helmHome }, encoding: 'utf8' }).status).toBe(0);
      const ref = { repoURL: server.url, chart: 'kured', version: kured.version };
      const lock: SourcesLock = { charts: [{ ...kured, repoURL: server.url }], git: [] };
      const env = offline({ KEELSON_CHARTS_DIR: '', KEELSON_OFFLINE: '0', ...helmHome });
      const fetched = resolveChart(ref, { env, lock, helm });
      expect(fetched).toMatchObject({ from: 'fetched', digest: kured.digest });
      expect(fetched.dir).toBe(join(env.KEELSON_CACHE_DIR, 'sources', 'charts', 'kured', kured.version));
      expect(resolveChart(ref, { env, lock, helm })).toMatchObject({ from: 'cache', digest: kured.digest });
      // A repository serving other bytes under the pinned version is refused, and the copy is not kept.
      const other: SourcesLock = { charts: [{ ...kured, repoURL: server.url, digest: `sha256:${'0'.repeat(64)}` }], git: [] };
      const env2 = offline({ KEELSON_CHARTS_DIR: '', KEELSON_OFFLINE: '0', ...helmHome });
      expect(() => resolveChart(ref, { env: env2, lock: other, helm })).toThrow(/has digest sha256:[0-9a-f]{64}, not the pinned sha256:0{64}.*the fetched copy was removed/);
      expect(existsSync(join(env2.KEELSON_CACHE_DIR, 'sources', 'charts', 'kured', kured.version))).toBe(false);
    } finally {
      server.child.kill();
    }
  });
});

describe('treeDigest and lockCharts', () => {
  it('digests content, not packing: the same files give the same digest, one changed byte another', () => {
    const a = mkdtempSync(join(tmpdir(), 'tree-'));
    mkdirSync(join(a, 'templates'));
    writeFileSync(join(a, 'Chart.yaml'), 'name: x\nversion: 1.0.0\n');
    writeFileSync(join(a, 'templates', 'a.yaml'), 'kind: A\n');
    const b = mkdtempSync(join(tmpdir(), 'tree-'));
    cpSync(a, b, { recursive: true });
    expect(treeDigest(a)).toBe(treeDigest(b));
    writeFileSync(join(b, 'templates', 'a.yaml'), 'kind: B\n');
    expect(treeDigest(a)).not.toBe(treeDigest(b));
    expect(lockCharts(chartsDir, [cilium])).toEqual([cilium]);
  });
});

/** A static file server for `dir` on loopback, in a child process. */
async function serveFolder(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const code = `
    const { createServer } = require('node:http');
    const { existsSync, readFileSync } = require('node:fs');
    const { join } = require('node:path');
    const server = createServer((req, res) => {
      const file = join(process.argv[1], decodeURIComponent((req.url || '/').split('?')[0]));
      if (!file.startsWith(process.argv[1]) || !existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
    setTimeout(() => process.exit(0), 600000);`;
  const child = spawn(process.execPath, ['-e', code, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the chart repository server exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}
