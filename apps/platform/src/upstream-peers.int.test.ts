// The render meets the real upstream programs: every pinned chart through
// the real `helm template` with the values Keelson renders for it, and every
// controller's kubeadm config through the real `kubeadm config validate`.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeInlineContents, KUBERNETES_RELEASES, NODE_PATHS } from '@keelson/ignition';
import { HelmTemplateError, helmTemplate, requirePeer, resolveChart, SOURCES_LOCK } from '@keelson/upstream';
import YAML from 'yaml';
import { configWith, keelson, tempDir } from './test-helpers';

jest.setTimeout(300_000);

interface HelmApplication {
  readonly file: string;
  readonly name: string;
  readonly namespace: string;
  readonly source: { repoURL: string; chart: string; targetRevision: string; helm?: { releaseName?: string; valuesObject?: unknown } };
}

/** Every Application under `dir` whose source is a Helm chart. */
function helmApplications(dir: string): HelmApplication[] {
  const out: HelmApplication[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith('application-') && e.name.endsWith('.yaml')) {
        const app = YAML.parse(readFileSync(p, 'utf8'));
        if (app?.spec?.source?.chart) out.push({ file: p, name: app.metadata.name, namespace: app.spec.destination.namespace, source: app.spec.source });
      }
    }
  };
  walk(dir);
  return out;
}

function synth(config?: string): string {
  const out = tempDir('keelson-peers-');
  const run = keelson('synth', ...(config ? ['--config', config] : []), '--out', out);
  if (run.status !== 0) throw new Error(`synth failed: ${run.stderr}`);
  return out;
}

// The default platform (Cilium) and the flannel variant render every pinned chart between them.
const outs = { default: synth(), flannel: synth(configWith((c) => ((c.layers ??= {}).network = 'flannel'))) };
const kubeVersion = KUBERNETES_RELEASES['1.36'];
const apps = [...helmApplications(join(outs.default, 'charts-out')), ...helmApplications(join(outs.flannel, 'charts-out')).filter((a) => a.source.chart === 'flannel')];

describe('helm template (the helm v4.3.2 peer) of every pinned chart with the values Keelson renders', () => {
  it('covers every chart Keelson installs, each pinned in the sources lock', () => {
    const charts = [...new Set(apps.map((a) => a.source.chart))].sort();
    expect(charts).toEqual(['ceph-csi-drivers', 'cert-manager', 'cilium', 'cloudnative-pg', 'flannel', 'kubelet-csr-approver', 'kured', 'rook-ceph', 'traefik', 'velero']);
    for (const a of apps) expect(SOURCES_LOCK.charts.some((c) => c.chart === a.source.chart && c.version === a.source.targetRevision)).toBe(true);
  });

  it.each(apps.map((a) => [a.name, a] as const))('%s renders without error and yields objects', (_name, app) => {
    const chart = resolveChart({ repoURL: app.source.repoURL, chart: app.source.chart, version: app.source.targetRevision });
    const yaml = helmTemplate({
      chartDir: chart.dir,
      releaseName: app.source.helm?.releaseName ?? app.name,
      namespace: app.namespace,
      values: app.source.helm?.valuesObject ?? {},
      kubeVersion,
    });
    const objects = YAML.parseAllDocuments(yaml)
      .map((d) => d.toJS() as { kind?: string } | null)
      .filter((o): o is { kind: string } => Boolean(o?.kind));
    expect(objects.length).toBeGreaterThan(0);
    // Workloads, or (ceph-csi-drivers) the Driver resources its operator turns into them.
    expect(objects.some((o) => ['Deployment', 'DaemonSet', 'Driver'].includes(o.kind))).toBe(true);
  });

  it("refuses values the chart's schema forbids, with helm's own message", () => {
    const cilium = apps.find((a) => a.source.chart === 'cilium');
    if (!cilium) throw new Error('no cilium Application in the default render');
    const chart = resolveChart({ repoURL: cilium.source.repoURL, chart: 'cilium', version: cilium.source.targetRevision });
    const values = { ...(cilium.source.helm?.valuesObject as object), operator: { replicas: 'three' } };
    expect(() => helmTemplate({ chartDir: chart.dir, releaseName: 'cilium', namespace: 'kube-system', values, kubeVersion })).toThrow(HelmTemplateError);
    expect(() => helmTemplate({ chartDir: chart.dir, releaseName: 'cilium', namespace: 'kube-system', values, kubeVersion })).toThrow(/operator\.replicas|replicas.*(integer|number)/);
  });
});

describe('kubeadm config validate (the kubeadm v1.36.3 peer) on every node', () => {
  const kubeadm = requirePeer('kubeadm', 'kubeadm config validate');
  const ignitionDir = join(outs.default, 'infra-out', 'ignition');
  const nodes = readdirSync(ignitionDir).filter((f) => f.endsWith('.ign') && !f.endsWith('.pointer.ign') && !f.endsWith('.secret.ign'));

  /** The kubeadm configs a node's whole Ignition config carries, with the node address filled in as first boot does. */
  const kubeadmConfigs = (file: string) => {
    const config = JSON.parse(readFileSync(join(ignitionDir, file), 'utf8')) as { storage: { files: Array<{ path: string; contents?: { source?: string; compression?: string } }> } };
    return config.storage.files
      .filter((f) => f.path === NODE_PATHS.kubeadmInit || f.path === NODE_PATHS.kubeadmJoin)
      .map((f) => ({ path: f.path, text: (decodeInlineContents(f.contents ?? {}) ?? Buffer.alloc(0)).toString('utf8').replaceAll('@NODE_IP@', '10.10.0.11') }));
  };
  const validate = (text: string) => {
    const file = join(tempDir('keelson-kubeadm-'), 'kubeadm.yaml');
    writeFileSync(file, text);
    return spawnSync(kubeadm, ['config', 'validate', '--config', file], { encoding: 'utf8' });
  };

  it('finds the six nodes, each with a join config, and the first controller with an init config', () => {
    expect(nodes).toHaveLength(6);
    const counts = nodes.map((n) => kubeadmConfigs(n).map((c) => c.path).sort().join(','));
    expect(counts.filter((c) => c === `${NODE_PATHS.kubeadmInit},${NODE_PATHS.kubeadmJoin}`)).toHaveLength(1);
    expect(counts.filter((c) => c === NODE_PATHS.kubeadmJoin)).toHaveLength(5);
  });

  it.each(nodes)('accepts every kubeadm config of %s', (node) => {
    for (const { path, text } of kubeadmConfigs(node)) {
      const run = validate(text);
      expect({ path, status: run.status, stderr: run.stderr }).toEqual({ path, status: 0, stderr: '' });
      expect(run.stdout).toMatch(/ok/);
    }
  });

  it("refuses a config kubeadm cannot use, with kubeadm's own message", () => {
    const first = nodes.find((n) => n.startsWith('keelson-controller-1'));
    const init = kubeadmConfigs(first ?? '').find((c) => c.path === NODE_PATHS.kubeadmInit);
    if (!init) throw new Error('no init config on keelson-controller-1');
    const broken = init.text.replace(/kubernetesVersion: \S+/, 'kubernetesVersion: not-a-version');
    const run = validate(broken);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/not-a-version/);
  });
});
