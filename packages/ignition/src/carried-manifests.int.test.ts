// A bootstrap manifest carried in the node config instead of downloaded at
// first boot (issue 20, item 5): Argo CD's HA install, in the first
// controller's secret part, gzip-compressed, written by the real Ignition,
// and checked by its SHA-256 by the real script before it is applied.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type BootstrapStep } from '@keelson/platform-spec';
import { resolveGitSource } from '@keelson/upstream';
import { NODE_PATHS, renderNodeConfigs } from './node-configs';
import { testClusterSecrets } from './test-cluster-secrets';
import { applyIgnition } from './testing';

const spec = parsePlatformConfig(exampleConfig());
const secrets = testClusterSecrets();
const url = 'https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml';
/** The real file, from the staged tag (KEELSON_MANIFESTS_DIR), as synth carries it. */
const installFile = resolveGitSource({ repoURL: 'https://github.com/argoproj/argo-cd.git', revision: 'v3.5.1', path: 'manifests/ha/install.yaml' }).dir;
const installBytes = readFileSync(installFile);
const sha256 = createHash('sha256').update(installBytes).digest('hex');
const carried: BootstrapStep = { name: 'argocd-install', url, namespace: 'argocd', sha256, contents: installBytes.toString('utf8') };
const steps: BootstrapStep[] = [{ name: 'argocd-namespace', manifests: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: argocd}\n' }, carried];
const carriedPath = `${NODE_PATHS.bootstrapDir}/02-argocd-install.yaml`;

const render = (options: { initialize?: boolean; bootstrap?: BootstrapStep[]; secretPartUrl?: (name: string) => string } = {}) =>
  renderNodeConfigs({ spec, secrets, secretPartUrl: (n) => options.secretPartUrl?.(n.name) ?? `https://bucket.example/${n.name}.ign`, bootstrap: options.bootstrap ?? steps, initialize: options.initialize ?? true });

type Config = { storage?: { files?: Array<{ path: string; contents: { source?: string; compression?: string } }> }; systemd: { units: Array<{ name: string; contents?: string }> } };
const parsed = (text: string) => JSON.parse(text) as Config;
const fileOf = (text: string, path: string) => parsed(text).storage?.files?.find((f) => f.path === path);

describe('the Argo CD install carried in the first controller\'s secret part', () => {
  const [first, ...others] = render();

  it('puts the install gzip-compressed into the secret part, never into the pointer, which stays within the user-data limit', () => {
    expect(installBytes.length).toBeGreaterThan(1_000_000);
    expect(fileOf(first.secretPart, carriedPath)?.contents).toMatchObject({ compression: 'gzip', source: expect.stringMatching(/^data:;base64,/) });
    expect(fileOf(first.pointer, carriedPath)).toBeUndefined();
    expect(first.pointer).not.toContain('raw.githubusercontent.com');
    expect(Buffer.byteLength(first.pointer)).toBeLessThan(32 * 1024);
    expect(Buffer.byteLength(first.pointer)).toBeLessThanOrEqual(32 * 1024);
    // The unit applies the local file with the pinned digest; nothing is downloaded.
    const unit = parsed(first.pointer).systemd.units.find((u) => u.name === 'keelson-bootstrap-manifests.service')?.contents ?? '';
    expect(unit).toContain(`ExecStart=${NODE_PATHS.bootstrapManifestsScript} apply argocd-install ${carriedPath} argocd ${sha256}\n`);
    expect(unit).not.toContain('apply-url');
  });

  it('is carried only by the node that creates the cluster', () => {
    for (const c of others) expect(c.full).not.toContain(carriedPath);
    const joiners = render({ initialize: false });
    for (const c of joiners) expect(c.full).not.toContain(carriedPath);
  });

  it('is written by the real Ignition byte for byte, after the pointer fetched the secret part', async () => {
    const served = Object.fromEntries(render().map((c) => [`/${c.node.name}.ign`, c.secretPart]));
    const applied = await applyIgnition((server) => render({ secretPartUrl: (n) => `${server.url}/${n}.ign` })[0].pointer, { serve: served, stageTimeoutMs: 60_000 });
    try {
      expect(applied.stages).toEqual(['fetch-offline', 'fetch', 'files']);
      const written = readFileSync(join(applied.root, carriedPath));
      expect(written.length).toBe(installBytes.length);
      expect(written.equals(installBytes)).toBe(true);
    } finally {
      applied.cleanup();
    }
  }, 120_000);

  it('refuses carried contents that do not hash to the pinned digest, naming both and the fix', () => {
    const changed = { ...carried, contents: `${installBytes.toString('utf8')}\n# changed\n` } as BootstrapStep;
    const actual = createHash('sha256').update((changed as { contents: string }).contents).digest('hex');
    expect(() => render({ bootstrap: [changed] })).toThrow(
      `renderNodeConfigs: bootstrap step argocd-install: the carried contents have sha256 ${actual}, not the pinned ${sha256}; carry the exact file of ${url} (read as UTF-8, unchanged), or correct the pin`,
    );
    expect(() => render({ bootstrap: [{ ...carried, sha256: 'ABC' } as BootstrapStep] })).toThrow(/bootstrap step argocd-install: sha256 "ABC" is not 64 lower-case hex digits/);
  });
});

describe('bootstrap-manifests apply with a digest, on the node', () => {
  /** The first controller's files as the real Ignition writes them, and the script run on one step with a stand-in kubectl. */
  let root: string;
  let cleanup: () => void;
  beforeAll(async () => {
    const [first] = render();
    const applied = await applyIgnition(first.full, { stageTimeoutMs: 60_000 });
    root = applied.root;
    cleanup = applied.cleanup;
    mkdirSync(join(root, 'etc/kubernetes'), { recursive: true });
    writeFileSync(join(root, 'etc/kubernetes/admin.conf'), 'a kubeconfig\n');
    const bin = join(root, 'test-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'kubectl'), `#!/bin/bash\necho "$*" >> ${join(root, 'kubectl.log')}\n`);
    writeFileSync(join(bin, 'curl'), '#!/bin/bash\necho "no download expected" >&2\nexit 7\n');
    for (const f of ['kubectl', 'curl']) chmodSync(join(bin, f), 0o755);
  }, 120_000);
  afterAll(() => cleanup?.());

  const run = (file: string, digest: string) => {
    const log = join(root, 'kubectl.log');
    writeFileSync(log, '');
    const r = spawnSync('bash', [join(root, NODE_PATHS.bootstrapManifestsScript), 'apply', 'argocd-install', file, 'argocd', digest], {
      encoding: 'utf8',
      env: { PATH: `${join(root, 'test-bin')}:${process.env.PATH}`, KEELSON_ROOT: root },
    });
    const state = Object.fromEntries(readFileSync(join(root, NODE_PATHS.bootstrapStatus), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    return { status: r.status, stderr: r.stderr, state, kubectl: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
  };

  it('applies the carried file when it has the pinned SHA-256', () => {
    const file = join(root, carriedPath);
    const ok = run(file, sha256);
    expect(ok.status).toBe(0);
    expect(ok.kubectl).toEqual([`--kubeconfig ${root}/etc/kubernetes/admin.conf --request-timeout=30s apply --server-side --force-conflicts --field-manager=keelson-bootstrap --namespace=argocd -f ${file}`]);
    expect(ok.stderr).toContain(`step=manifests:argocd-install attempt=`);
  });

  it('refuses a file whose SHA-256 differs, applying nothing and naming both digests', () => {
    const file = join(root, 'etc/keelson/bootstrap/changed.yaml');
    writeFileSync(file, Buffer.concat([installBytes, Buffer.from('# one more line\n')]));
    const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
    const refused = run(file, sha256);
    expect(refused.status).toBe(1);
    // Only the status Lease is published (`-f -`); the file is never applied.
    expect(refused.kubectl.filter((c) => c.includes(' apply ') && !c.endsWith(' -f -'))).toEqual([]);
    expect(refused.state).toMatchObject({ state: 'failed', step: 'manifests:argocd-install' });
    expect(refused.state.message).toBe(`${file} has sha256 ${actual}, not the pinned ${sha256}; refusing to apply it (the file changed after synth checked it): replace the node`);
  });

  it('refuses a carried file that is missing', () => {
    const missing = join(root, 'etc/keelson/bootstrap/99-missing.yaml');
    expect(existsSync(missing)).toBe(false);
    const refused = run(missing, sha256);
    expect(refused.status).toBe(1);
    expect(refused.kubectl.filter((c) => c.includes(' apply ') && !c.endsWith(' -f -'))).toEqual([]);
    expect(refused.state.message).toBe(`${missing} is missing; Ignition writes it from the node's secret part: replace the node`);
  });
});
