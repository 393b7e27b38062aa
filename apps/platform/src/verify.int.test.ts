import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadPlatformSpec } from '@keelson/platform-spec';
import { formatReport, verifyPlatform } from '@keelson/verify';
import { configWith, defaultConfigPath, keelson, tempDir } from './test-helpers';

/** verify in-process, as the CLI runs it: the exit status it would give and the report it would print. */
function verify(out: string, config = defaultConfigPath) {
  const spec = loadPlatformSpec(config);
  const report = verifyPlatform(spec, { chartsDir: join(out, spec.config.gitops.path), infraDir: join(out, 'infra-out') });
  // `report` as --json prints it.
  return { status: report.ok ? 0 : 1, stdout: formatReport(report), report: JSON.parse(JSON.stringify(report)) };
}

/** A fresh synth output to break in one way per test. */
function rendered(): string {
  const out = tempDir();
  const r = keelson('synth', '--out', out);
  if (r.status !== 0) throw new Error(r.stderr);
  return out;
}

const pristine = rendered();
const copy = () => {
  const out = tempDir();
  cpSync(join(pristine, 'charts-out'), join(out, 'charts-out'), { recursive: true });
  cpSync(join(pristine, 'infra-out'), join(out, 'infra-out'), { recursive: true });
  return out;
};

function edit(out: string, file: string, change: (o: any) => void) {
  const path = join(out, 'charts-out', file);
  const o = YAML.parse(readFileSync(path, 'utf8'));
  change(o);
  writeFileSync(path, YAML.stringify(o));
}

const CHECKS = ['desired-state', 'files', 'schema', 'secrets', 'pod-security', 'gitops', 'config', 'values', 'sync-order', 'project', 'storage', 'network-policy', 'rbac', 'ingress', 'images', 'backups', 'argocd', 'fault-tolerance', 'encryption', 'no-ssh', 'boot-files', 'firewall', 'fault-budget', 'encryption-details', 'admission', 'workload-security'];

describe('keelson verify', () => {
  it('passes on the default output, every check listed', () => {
    const run = keelson('verify', '--out', pristine);
    // The whole report on failure: which service or channel, and why.
    expect(run.stdout).toMatch(new RegExp(`verify: all ${CHECKS.length} checks passed`));
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^CHECK +RESULT +DETAIL/);
    for (const check of CHECKS) expect(run.stdout).toMatch(new RegExp(`^${check} +pass`, 'm'));
    expect(run.stdout).toMatch(/^ {2}etcd +pass +5 members; worst case loses 2, 3 left \(needs 3\) \(keelson-controller-1, keelson-controller-2\)$/m);
  });

  it('judges upstream workloads on what their charts really render (the real helm), with no warning left', () => {
    const { report } = verify(pristine);
    const ft = report.checks.find((c: any) => c.check === 'fault-tolerance');
    expect(ft.warnings).toEqual([]);
    const names = ft.rows.map((r: any) => r.name);
    // Objects of charts and Git sources, by their rendered names: Cilium's agent and operator, Argo CD's install, the approver.
    expect(names).toEqual(expect.arrayContaining(['DaemonSet kube-system/cilium', 'Deployment kube-system/cilium-operator', 'StatefulSet argocd/argocd-application-controller', 'Deployment kubelet-csr-approver/kubelet-csr-approver']));
  });

  it("fails when a chart's own default is left short of the budget: kubelet-csr-approver's 2 unspread replicas", () => {
    const out = copy();
    edit(out, 'maintenance/application-argocd-maintenance-kubelet-csr-approver.yaml', (o) => {
      delete o.spec.source.helm.valuesObject.replicas;
      delete o.spec.source.helm.valuesObject.affinity;
    });
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/helm kubelet-csr-approver 1\.2\.13(: \S+)?( \[Application [^\]]+\])?: Deployment kubelet-csr-approver\/kubelet-csr-approver: losing .* takes 2 of 2 replicas \(nothing keeps replicas on different nodes: all may share one node\)/);
  });

  it("fails when an upstream workload loses the PodDisruptionBudget its chart does not render", () => {
    const out = copy();
    rmSync(join(out, 'charts-out/apps/poddisruptionbudget-cnpg-system-cloudnative-pg.yaml'));
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/helm cloudnative-pg 0\.29\.0(: \S+)?( \[Application [^\]]+\])?: Deployment cnpg-system\/cloudnative-pg: no PodDisruptionBudget selects its pods/);
  });

  it("fails when Argo CD's install is left as upstream ships it: 2 API servers for k = 2", () => {
    const out = copy();
    edit(out, 'argocd/application-argocd-argocd.yaml', (o) => {
      o.spec.source.kustomize.patches = o.spec.source.kustomize.patches.filter((p: any) => p.target.name !== 'argocd-server');
    });
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/argoproj\/argo-cd@v3\.5\.1: manifests\/ha\/cluster-install( \[Application [^\]]+\])?: Deployment argocd\/argocd-server: losing .* takes 2 of 2 replicas/);
  });

  it('fails on an object with an unknown field, naming the file and the path', () => {
    const out = copy();
    edit(out, 'storage/namespace-rook-ceph.yaml', (o) => (o.spec = { finalizerz: ['kubernetes'] }));
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^schema +FAIL/m);
    expect(run.stdout).toMatch(/charts-out\/storage\/namespace-rook-ceph\.yaml( \[Application [^\]]+\])?: Namespace rook-ceph: spec\.finalizerz: unknown field "finalizerz"/);
  });

  it('fails on a custom resource that violates its CRD schema', () => {
    const out = copy();
    edit(out, 'argocd/application-argocd-apps.yaml', (o) => (o.spec.syncPolicy.retry.limit = 'forever'));
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/application-argocd-apps\.yaml( \[Application [^\]]+\])?: Application apps: spec\.syncPolicy\.retry\.limit: .*integer/);
  });

  it('fails on a PEM private key placed under charts-out', () => {
    const out = copy();
    const pem = ['-----BEGIN', 'EC PRIVATE KEY-----'].join(' ') + '\nMHcCAQEEIBbQ\n' + ['-----END', 'EC PRIVATE KEY-----'].join(' ') + '\n';
    writeFileSync(join(out, 'charts-out/storage/leaked.pem'), pem);
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^secrets +FAIL/m);
    expect(run.stdout).toMatch(/charts-out\/storage\/leaked\.pem:1( \[Application [^\]]+\])?: private-key/);
    expect(run.stdout).not.toMatch(/MHcCAQEEIBbQ/);
  });

  it('fails on a Secret with data rendered into a manifest', () => {
    const out = copy();
    appendFileSync(join(out, 'charts-out/apps/namespace-emby.yaml'), '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: admin\n  namespace: emby\ndata:\n  password: aHVudGVyMg==\n');
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^secrets +FAIL/m);
    expect(run.stdout).not.toMatch(/aHVudGVyMg==/);
  });

  it('fails on a namespace without Pod Security enforcement', () => {
    const out = copy();
    edit(out, 'apps/namespace-website.yaml', (o) => delete o.metadata.labels['pod-security.kubernetes.io/enforce']);
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/Namespace website enforces no Pod Security level/);
  });

  it('fails on a folder no Application syncs', () => {
    const out = copy();
    cpSync(join(out, 'charts-out/backups'), join(out, 'charts-out/extra'), { recursive: true });
    edit(out, 'extra/namespace-velero.yaml', (o) => (o.metadata.name = 'extra'));
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/charts-out\/extra\/: no Argo CD Application syncs this folder/);
  });

  it('fails on an Application that does not sync the folder the config names', () => {
    const out = copy();
    edit(out, 'argocd/application-argocd-apps.yaml', (o) => (o.spec.source.path = 'not/the/repo/apps'));
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/Application apps: spec\.source\.path is "not\/the\/repo\/apps", but the config says "charts-out\/apps"; run keelson synth/);
  });

  it('fails on an upstream chart that is not pinned to a release', () => {
    const out = copy();
    edit(out, 'maintenance/application-argocd-maintenance-kured.yaml', (o) => (o.spec.source.targetRevision = '6.x'));
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/Application maintenance-kured installs chart kured at "6\.x", not a pinned release/);
    // Nothing can render an unpinned chart: the desired state says which and why.
    expect(run.stdout).toMatch(/^desired-state +FAIL/m);
    expect(run.stdout).toMatch(/chart kured 6\.x from https:\/\/kubereboot\.github\.io\/charts has no digest/);
  });

  it('prints the report as JSON with --json', () => {
    const run = keelson('verify', '--out', pristine, '--json');
    const report = JSON.parse(run.stdout);
    expect(report.checks.map((c: any) => c.check)).toEqual(CHECKS);
    expect(report.platform).toMatchObject({ model: 'any-third', k: 2, nodes: expect.arrayContaining([{ name: 'keelson-worker-1', role: 'worker', zone: 'fra1' }]) });
    expect(report.platform.worst.failedNodes).toHaveLength(2);
    const etcd = report.checks.find((c: any) => c.check === 'fault-tolerance').rows.find((r: any) => r.name === 'etcd');
    expect(etcd).toMatchObject({ ok: true, failedNodes: ['keelson-controller-1', 'keelson-controller-2'] });
    // Per Application: what it installs from where, at which digest, and how many objects.
    expect(report.applications).toContainEqual({ name: 'network-cilium', parent: 'network', wave: 0, type: 'helm', source: 'cilium', repoURL: 'https://helm.cilium.io', version: '1.19.4', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), objects: expect.any(Number) });
    expect(report.applications.find((a: any) => a.name === 'argocd')).toMatchObject({ type: 'kustomize', version: 'v3.5.1', digest: expect.stringMatching(/^sha256:/) });
  });

  it('names the Application each finding comes from', () => {
    const out = copy();
    edit(out, 'maintenance/application-argocd-maintenance-kured.yaml', (o) => (o.spec.source.helm.valuesObject.configuration.perod = '1h'));
    const { report, stdout } = verify(out);
    const values = report.checks.find((c: any) => c.check === 'values');
    expect(values?.findings).toEqual([expect.objectContaining({ application: 'maintenance-kured', message: expect.stringContaining('value configuration.perod is not a key of the chart') })]);
    expect(stdout).toMatch(/charts-out\/maintenance\/application-argocd-maintenance-kured\.yaml \[Application maintenance-kured\]: Application maintenance-kured \(chart kured 6\.0\.0\): value configuration\.perod/);
  });

  it('fails on a firewall rule that opens port 22', () => {
    const out = copy();
    const file = join(out, 'infra-out/main.tf.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    doc.resource.digitalocean_firewall.nodes.inbound_rule.push({ port_range: '20-25', protocol: 'tcp', source_addresses: ['0.0.0.0/0'] });
    writeFileSync(file, JSON.stringify(doc));
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^no-ssh +FAIL/m);
    expect(run.stdout).toMatch(/infra-out\/main\.tf\.json: digitalocean_firewall\.nodes opens port 22 \(tcp 20-25\)/);
  });

  it('fails on a workload running as root without a listed reason', () => {
    const out = copy();
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'rooted', namespace: 'website' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'rooted' } },
        template: { metadata: { labels: { app: 'rooted' } }, spec: { securityContext: { runAsUser: 0 }, containers: [{ name: 'web', image: 'nginx:1.29.0' }] } },
      },
    };
    writeFileSync(join(out, 'charts-out/apps/deployment-rooted.yaml'), YAML.stringify(deployment));
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^workload-security +FAIL/m);
    expect(run.stdout).toMatch(/charts-out\/apps\/deployment-rooted\.yaml( \[Application [^\]]+\])?: Deployment website\/rooted container web: runs as root \(runAsUser: 0\) \[run-as-non-root\]; fix it, or list it with the reason in packages\/verify\/src\/exceptions\.ts/);
  });

  it('fails on a plaintext channel: backups to a bucket over http', () => {
    const out = copy();
    const bsl = { apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', metadata: { name: 'plain', namespace: 'velero' }, spec: { provider: 'aws', objectStorage: { bucket: 'b' }, config: { s3Url: 'http://s3.example.com', region: 'fra1' } } };
    writeFileSync(join(out, 'charts-out/backups/backupstoragelocation-plain.yaml'), YAML.stringify(bsl));
    const run = verify(out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^encryption +FAIL/m);
    expect(run.stdout).toMatch(/backups -> bucket \(BackupStorageLocation velero\/plain\): spec\.config\.s3Url http:\/\/s3\.example\.com is not https/);
  });

  it('writes a self-contained HTML report that headless Chromium renders with the nodes and the failed ones', () => {
    const chromium = '/usr/bin/chromium';
    if (!existsSync(chromium)) throw new Error(`${chromium} is missing: install Debian's chromium (apt-get install -y --no-install-recommends chromium) to test the HTML report`);
    const out = copy();
    const html = join(out, 'report.html');
    const run = keelson('verify', '--out', out, '--html', html);
    expect(run.stdout).toMatch(/verify: wrote the HTML report to/);
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/<(script|link|img)\b|src=|url\(/);
    const dom = spawnSync(chromium, ['--headless', '--disable-gpu', '--no-sandbox', '--dump-dom', `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
    expect(dom.status).toBe(0);
    const nodes = [...dom.stdout.matchAll(/<g class="node( failed)?" data-node="([^"]+)" data-failed="(true|false)"/g)];
    expect(nodes.map((m) => m[2])).toEqual(['keelson-controller-1', 'keelson-controller-2', 'keelson-controller-3', 'keelson-controller-4', 'keelson-controller-5', 'keelson-worker-1']);
    const { report } = verify(out);
    expect(nodes.filter((m) => m[3] === 'true').map((m) => m[2])).toEqual(report.platform.worst.failedNodes);
    expect(dom.stdout).toMatch(/<tr class="row pass" data-name="etcd">/);
    for (const check of CHECKS) expect(dom.stdout).toContain(`data-check="${check}"`);
    // What Argo CD would apply, per Application: chart, version, digest, objects.
    expect(dom.stdout).toMatch(/<tr class="application" data-application="network-cilium"><td>network-cilium<\/td><td>network<\/td><td>0<\/td><td>helm<\/td><td>cilium<\/td><td>1\.19\.4<\/td><td><code>sha256:[0-9a-f]{64}<\/code><\/td><td>\d+<\/td><\/tr>/);
    const png = join(out, 'report.png');
    const shot = spawnSync(chromium, ['--headless', '--disable-gpu', '--no-sandbox', `--screenshot=${png}`, '--window-size=1280,900', `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
    expect(shot.status).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(png).length).toBeGreaterThan(10_000);
  });

  it('proves etcd on the rendered output of N = 3 ... 12 nodes against the worst k', () => {
    for (let n = 3; n <= 12; n++) {
      // any-third to 11 nodes (2k+1 controllers); 12 nodes promise one of 3 failure domains (2k+1 = 9 etcd members is too many).
      const domains = n === 12 ? 3 : 0;
      const controllers = domains ? 7 : 2 * Math.floor(n / 3) + 1;
      const dir = tempDir();
      const config = configWith((c) => {
        c.nodes.controllers.count = controllers;
        c.nodes.workers.count = n - controllers;
        if (domains) c.faultModel = { type: 'failure-domains', domains };
      }, dir);
      const synth = keelson('synth', '--config', config, '--out', dir);
      expect(synth.stderr).toBe('');
      const { report } = verify(dir, config);
      const k = domains ? 4 : Math.floor(n / 3);
      expect({ n, model: report.platform.model, k: report.platform.k }).toEqual({ n, model: domains ? 'failure-domains' : 'any-third', k });
      const etcd = report.checks.find((c: any) => c.check === 'fault-tolerance').rows.find((r: any) => r.name === 'etcd');
      expect({ n, ok: etcd.ok, lost: etcd.detail.match(/loses (\d+)/)[1] }).toEqual({ n, ok: true, lost: String(domains ? 3 : k) });
    }
  });

  // Every variant a user can pick is shipped in examples/ and proven by examples.int.test.ts.

  it('fails clearly when nothing was rendered yet', () => {
    const run = keelson('verify', '--out', tempDir());
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/charts-out does not exist; run "keelson synth"/);
  });
});
