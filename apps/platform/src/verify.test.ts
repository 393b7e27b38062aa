import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { keelson, tempDir } from './test-helpers';

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
  return out;
};

function edit(out: string, file: string, change: (o: any) => void) {
  const path = join(out, 'charts-out', file);
  const o = YAML.parse(readFileSync(path, 'utf8'));
  change(o);
  writeFileSync(path, YAML.stringify(o));
}

describe('keelson verify', () => {
  it('passes on the default output, every check listed', () => {
    const run = keelson('verify', '--out', pristine);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^CHECK +RESULT +DETAIL/);
    for (const check of ['files', 'schema', 'secrets', 'pod-security', 'gitops', 'config']) expect(run.stdout).toMatch(new RegExp(`^${check} +pass`, 'm'));
    expect(run.stdout).toMatch(/verify: all 6 checks passed/);
  });

  it('fails on an object with an unknown field, naming the file and the path', () => {
    const out = copy();
    edit(out, 'storage/namespace-rook-ceph.yaml', (o) => (o.spec = { finalizerz: ['kubernetes'] }));
    const run = keelson('verify', '--out', out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^schema +FAIL/m);
    expect(run.stdout).toMatch(/charts-out\/storage\/namespace-rook-ceph\.yaml: Namespace rook-ceph: spec\.finalizerz: unknown field "finalizerz"/);
  });

  it('fails on a custom resource that violates its CRD schema', () => {
    const out = copy();
    edit(out, 'argocd/application-argocd-apps.yaml', (o) => (o.spec.syncPolicy.retry.limit = 'forever'));
    const run = keelson('verify', '--out', out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/application-argocd-apps\.yaml: Application apps: spec\.syncPolicy\.retry\.limit: .*integer/);
  });

  it('fails on a PEM private key placed under charts-out', () => {
    const out = copy();
    const pem = ['-----BEGIN', 'EC PRIVATE KEY-----'].join(' ') + '\nMHcCAQEEIBbQ\n' + ['-----END', 'EC PRIVATE KEY-----'].join(' ') + '\n';
    writeFileSync(join(out, 'charts-out/storage/leaked.pem'), pem);
    const run = keelson('verify', '--out', out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^secrets +FAIL/m);
    expect(run.stdout).toMatch(/charts-out\/storage\/leaked\.pem:1: private-key/);
    expect(run.stdout).not.toMatch(/MHcCAQEEIBbQ/);
  });

  it('fails on a Secret with data rendered into a manifest', () => {
    const out = copy();
    appendFileSync(join(out, 'charts-out/apps/namespace-emby.yaml'), '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: admin\n  namespace: emby\ndata:\n  password: aHVudGVyMg==\n');
    const run = keelson('verify', '--out', out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^secrets +FAIL/m);
    expect(run.stdout).not.toMatch(/aHVudGVyMg==/);
  });

  it('fails on a namespace without Pod Security enforcement', () => {
    const out = copy();
    edit(out, 'apps/namespace-website.yaml', (o) => delete o.metadata.labels['pod-security.kubernetes.io/enforce']);
    const run = keelson('verify', '--out', out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/Namespace website enforces no Pod Security level/);
  });

  it('fails on a folder no Application syncs', () => {
    const out = copy();
    cpSync(join(out, 'charts-out/backups'), join(out, 'charts-out/extra'), { recursive: true });
    edit(out, 'extra/namespace-velero.yaml', (o) => (o.metadata.name = 'extra'));
    const run = keelson('verify', '--out', out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/charts-out\/extra\/: no Argo CD Application syncs this folder/);
  });

  it('fails on an Application that does not sync the folder the config names', () => {
    const out = copy();
    edit(out, 'argocd/application-argocd-apps.yaml', (o) => (o.spec.source.path = 'not/the/repo/apps'));
    const run = keelson('verify', '--out', out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/Application apps: spec\.source\.path is "not\/the\/repo\/apps", but the config says "charts-out\/apps"; run keelson synth/);
  });

  it('fails on an upstream chart that is not pinned to a release', () => {
    const out = copy();
    edit(out, 'maintenance/application-argocd-maintenance-kured.yaml', (o) => (o.spec.source.targetRevision = '6.x'));
    const run = keelson('verify', '--out', out);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/Application maintenance-kured installs chart kured at "6\.x", not a pinned release/);
  });

  it('prints the report as JSON with --json', () => {
    const run = keelson('verify', '--out', pristine, '--json');
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ ok: true, objects: 20 });
    expect(report.checks.map((c: any) => c.check)).toEqual(['files', 'schema', 'secrets', 'pod-security', 'gitops', 'config']);
  });

  it('fails clearly when nothing was rendered yet', () => {
    const run = keelson('verify', '--out', tempDir());
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/charts-out does not exist; run "keelson synth"/);
  });
});
