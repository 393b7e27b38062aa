import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { decodeInlineContents, NODE_PATHS } from '@keelson/ignition';
import { loadPlatformSpec } from '@keelson/platform-spec';
import { formatReport, verifyPlatform } from '@keelson/verify';
import { runCli } from '../test-cli';
import { tempDir, treeDigest, defaultConfigPath } from '../test-helpers';
import { clusterRecordPath, readClusterRecord, recordClusterCreated, writeClusterRecord } from './cluster-record';

jest.setTimeout(240_000);

const spec = loadPlatformSpec(defaultConfigPath);
type Ign = { storage: { files: Array<{ path: string; contents: { source?: string; compression?: string } }> } };
const ignOf = (out: string, node: string, kind = '') => JSON.parse(readFileSync(join(out, 'infra-out', 'ignition', `${node}${kind}.ign`), 'utf8')) as Ign;
const fileOf = (ign: Ign, path: string) => {
  const f = ign.storage.files.find((x) => x.path === path);
  return f ? (decodeInlineContents(f.contents)?.toString('utf8') ?? '') : undefined;
};
const synth = async (out: string) => {
  const run = await runCli(['synth', '--out', out]);
  if (run.status !== 0) throw new Error(run.stderr);
  return run;
};
const verify = (out: string) => verifyPlatform(spec, { chartsDir: join(out, spec.config.gitops.path), infraDir: join(out, 'infra-out') });
const nodeNames = (out: string) => readdirSync(join(out, 'infra-out', 'ignition')).filter((f) => /^[^.]+\.ign$/.test(f)).map((f) => f.slice(0, -4));

describe('the record that the cluster exists', () => {
  it('is written once, atomically, mode 0600; a record of another cluster does not count', () => {
    const dir = tempDir();
    const first = recordClusterCreated(dir, spec, new Date('2026-12-01T10:00:00Z'));
    expect(first).toEqual({ version: 1, cluster: 'keelson', createdAt: '2026-12-01T10:00:00.000Z', apiEndpoint: 'api.example.com:6443' });
    expect(recordClusterCreated(dir, spec, new Date('2026-12-04T10:00:00Z')).createdAt).toBe('2026-12-01T10:00:00.000Z');
    expect(statSync(clusterRecordPath(dir)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['cluster-created.json']);
    expect(readClusterRecord(dir, 'another')).toBeUndefined();
    const other = tempDir();
    writeClusterRecord(other, { cluster: 'old-name', createdAt: '2026-01-01T00:00:00Z', apiEndpoint: 'api.old.example:6443' });
    expect(readClusterRecord(other, 'keelson')).toBeUndefined();
  });

  it('refuses a damaged record instead of taking it for "no cluster"', () => {
    const dir = tempDir();
    writeFileSync(clusterRecordPath(dir), '{"version":1,"cluster":"keelson"');
    expect(() => readClusterRecord(dir, 'keelson')).toThrow(/cluster-created\.json is not JSON \(.*\); it records that the cluster exists \(keelson deploy writes it, keelson destroy removes it\); restore it from a backup of infra-out\/, or, only if no machine of "keelson" exists any more, delete it/);
    writeFileSync(clusterRecordPath(dir), JSON.stringify({ version: 2, cluster: 'keelson', createdAt: 'yesterday', apiEndpoint: 'api.example.com:6443' }));
    expect(() => readClusterRecord(dir, 'keelson')).toThrow(/cluster-created\.json: version 2 \(expected 1\); createdAt "yesterday" \(expected an ISO 8601 time\); it records/);
  });
});

describe('keelson synth states whether the render creates the cluster', () => {
  const out = tempDir();
  let firstDeploy: Awaited<ReturnType<typeof synth>>;
  let firstReport: ReturnType<typeof verify>;
  beforeAll(async () => {
    firstDeploy = await synth(out);
    firstReport = verify(out);
  });
  // Every check with its verdict and findings, the same for the first deploy's render and a joiners-only one.
  const verdicts = (report: ReturnType<typeof verify>) => report.checks.map((c) => ({ check: c.check, ok: c.ok, findings: c.findings.map((f) => f.message) }));

  it('without a record (the first deploy): keelson-controller-1 inits, and synth says so', () => {
    expect(firstDeploy.stdout).toContain('first deploy: keelson-controller-1 creates the cluster');
    const first = ignOf(out, 'keelson-controller-1');
    expect(fileOf(first, NODE_PATHS.kubeadmInit)).toContain('kind: InitConfiguration');
    expect(fileOf(first, NODE_PATHS.bootstrapEnv)).toContain(': "${KEELSON_ACTION:=init}"');
  });

  it('with a record (after the first deploy): no kubeadm-init.yaml anywhere, every node joins, a replaced keelson-controller-1 included, and verify passes', async () => {
    recordClusterCreated(join(out, 'infra-out'), spec, new Date('2026-12-01T10:00:00Z'));
    const run = await synth(out);
    expect(run.stdout).toContain('the cluster exists (created 2026-12-01T10:00:00.000Z, infra-out/cluster-created.json): every node joins');
    // Synth keeps the files of infra-out/ it does not render.
    expect(readClusterRecord(join(out, 'infra-out'), 'keelson')?.createdAt).toBe('2026-12-01T10:00:00.000Z');
    const names = nodeNames(out);
    expect(names).toContain('keelson-controller-1');
    for (const node of names) {
      const ign = ignOf(out, node);
      expect({ node, init: fileOf(ign, NODE_PATHS.kubeadmInit) }).toEqual({ node, init: undefined });
      expect(fileOf(ign, NODE_PATHS.bootstrapEnv)).toContain(': "${KEELSON_ACTION:=join}"');
    }
    // What `terraform apply -replace` (keelson upgrade) boots a new keelson-controller-1 with: its pointer, a joiner's.
    const pointer = ignOf(out, 'keelson-controller-1', '.pointer');
    expect(fileOf(pointer, NODE_PATHS.bootstrapEnv)).toContain(': "${KEELSON_ACTION:=join}"');
    // Verify and rehearse read the control plane from the reference every joining controller carries.
    const cluster = YAML.parseAllDocuments(fileOf(ignOf(out, 'keelson-controller-1'), NODE_PATHS.kubeadmCluster) ?? '').map((d) => d.toJS());
    expect(cluster.map((d) => d.kind)).toEqual(['ClusterConfiguration', 'KubeletConfiguration']);
    const report = verify(out);
    expect(verdicts(report)).toEqual(verdicts(firstReport));
    // The checks that read the control plane's kubeadm documents pass on it.
    for (const check of ['encryption', 'encryption-details', 'admission']) expect(report.checks.find((c) => c.check === check)).toMatchObject({ ok: true, findings: [] });
    expect(report.ok).toBe(firstReport.ok);
  });

  it('verify refuses a joiners-only render whose reference ClusterConfiguration lost encryption at rest', () => {
    const path = join(out, 'infra-out', 'ignition', 'keelson-controller-1.ign');
    const original = readFileSync(path, 'utf8');
    try {
      const ign = JSON.parse(original) as Ign;
      const file = ign.storage.files.find((f) => f.path === NODE_PATHS.kubeadmCluster)!;
      const docs = YAML.parseAllDocuments(decodeInlineContents(file.contents)?.toString('utf8') ?? '').map((d) => d.toJS());
      const cc = docs.find((d) => d.kind === 'ClusterConfiguration');
      cc.apiServer.extraArgs = cc.apiServer.extraArgs.filter((a: { name: string }) => a.name !== 'encryption-provider-config');
      file.contents = { source: `data:,${encodeURIComponent(docs.map((d) => YAML.stringify(d)).join('---\n'))}` };
      writeFileSync(path, JSON.stringify(ign));
      const report = verify(out);
      expect(report.ok).toBe(false);
      expect(formatReport(report)).toMatch(/ClusterConfiguration apiServer\.extraArgs has no encryption-provider-config/);
    } finally {
      writeFileSync(path, original);
    }
  });

  it('refuses --restore-etcd while the record exists, naming the record and "keelson destroy", and writes nothing', async () => {
    recordClusterCreated(join(out, 'infra-out'), spec, new Date('2026-12-01T10:00:00Z'));
    const before = treeDigest(join(out, 'infra-out'));
    const run = await runCli(['synth', '--out', out, '--restore-etcd', 'etcd/20261125T081500Z.db'], { env: { SPACES_ACCESS_KEY_ID: 'AKIATEST', SPACES_SECRET_ACCESS_KEY: 'spaces-secret-test' } });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      `--restore-etcd etcd/20261125T081500Z.db: "keelson" exists (created 2026-12-01T10:00:00.000Z, recorded in ${join(out, 'infra-out', 'cluster-created.json')}); a restore creates a new cluster from the snapshot, and the nodes of an existing cluster only join it. Run "keelson destroy" first (it removes the record once the machines are gone), then synth with --restore-etcd again`,
    );
    expect(treeDigest(join(out, 'infra-out'))).toEqual(before);
  });
});
