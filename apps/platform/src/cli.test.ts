// The keelson CLI in-process (runCli: the same buildCli() the bundle runs; cli-runner.int.test.ts
// shows it answers as the built CLI does, and cli.int.test.ts runs the built CLI end to end).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFile, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { scanForSecrets } from '@keelson/k8s-schemas';
import { findOpenApiLoadBalancers, findSecretsInUserData, findSshAccess } from '@keelson/infra-nodes';
import { decodeInlineContents, KUBERNETES_RELEASES } from '@keelson/ignition';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import YAML from 'yaml';
import { runCli } from './test-cli';
import { configWith, tempDir, treeDigest, type CliRun } from './test-helpers';

describe('keelson synth', () => {
  const out = tempDir();
  let first: CliRun;
  beforeAll(async () => {
    first = await runCli(['synth', '--out', out]);
  });

  it('renders the default platform and states the promise and its price', () => {
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/fault budget: any 2 of 6 nodes may fail at once/);
    expect(first.stdout).toMatch(/cost: raw: 6 volumes of 100 GiB = 600 GiB.*block \(ceph-block\): 4 copies on distinct nodes, 4\.0x raw per usable GiB; usable ≈ 6\*100 GiB\/4 = 150 GiB/);
    expect(existsSync(join(out, 'charts-out/argocd/application-argocd-root.yaml'))).toBe(true);
  });

  it('writes each node\'s Ignition to infra-out/ignition, private, with no secret in the user-data pointer', () => {
    const dir = join(out, 'infra-out/ignition');
    expect(statSync(join(out, 'infra-out')).mode & 0o777).toBe(0o700);
    const names = readdirSync(dir).sort();
    expect(names).toHaveLength(6 * 3);
    expect(names.slice(0, 3)).toEqual(['keelson-controller-1.ign', 'keelson-controller-1.pointer.ign', 'keelson-controller-1.secret.ign']);
    for (const n of names) expect(statSync(join(dir, n)).mode & 0o777).toBe(0o600);
    const token = readFileSync(join(out, 'secrets/keelson/kubeadm/bootstrap-token'), 'utf8').trim();
    for (const n of names.filter((f) => f.endsWith('.pointer.ign'))) {
      const pointer = readFileSync(join(dir, n), 'utf8');
      expect(pointer).not.toContain(token);
      expect(scanForSecrets(pointer, n)).toEqual([]);
    }
    expect(first.stdout).toMatch(/infra-out\/ignition\/: 6 nodes/);
  });

  it('writes the Terraform JSON for the nodes: no SSH, no secret in user-data, one droplet per node', () => {
    const doc = JSON.parse(readFileSync(join(out, 'infra-out/main.tf.json'), 'utf8'));
    expect(statSync(join(out, 'infra-out/main.tf.json')).mode & 0o777).toBe(0o600);
    expect(findSshAccess(doc)).toEqual([]);
    expect(findOpenApiLoadBalancers(doc)).toEqual([]);
    const token = readFileSync(join(out, 'secrets/keelson/kubeadm/bootstrap-token'), 'utf8').trim();
    expect(findSecretsInUserData(doc, { tokens: [token] })).toEqual([]);
    expect(Object.keys(doc.resource.digitalocean_droplet).sort()).toEqual([
      'keelson-controller-1',
      'keelson-controller-2',
      'keelson-controller-3',
      'keelson-controller-4',
      'keelson-controller-5',
      'keelson-worker-1',
    ]);
    // Each droplet boots from its pointer, exactly as written to infra-out/ignition.
    const pointer = readFileSync(join(out, 'infra-out/ignition/keelson-worker-1.pointer.ign'), 'utf8');
    expect(doc.resource.digitalocean_droplet['keelson-worker-1'].user_data.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')).toBe(pointer);
    expect(first.stdout).toMatch(/infra-out\/main\.tf\.json: Terraform JSON for digitalocean/);
  });

  it('keeps Terraform\'s own files in infra-out/ across synths (state, .terraform/, lock file), replacing only what it renders', async () => {
    const dir = tempDir();
    expect((await runCli(['synth', '--out', dir])).status).toBe(0);
    writeFileSync(join(dir, 'infra-out/terraform.tfstate'), '{"serial": 7}', { mode: 0o600 });
    writeFileSync(join(dir, 'infra-out/ignition/left-over.ign'), '{}');
    const again = await runCli(['synth', '--out', dir]);
    expect(again.status).toBe(0);
    expect(readFileSync(join(dir, 'infra-out/terraform.tfstate'), 'utf8')).toBe('{"serial": 7}');
    // ignition/ is rendered: it holds exactly the nodes' files.
    expect(existsSync(join(dir, 'infra-out/ignition/left-over.ign'))).toBe(false);
  });

  it('keeps key material out of the Terraform JSON: Terraform reads each secret part from its file', () => {
    const tf = readFileSync(join(out, 'infra-out/main.tf.json'), 'utf8');
    expect(tf).not.toMatch(/-----BEGIN/);
    expect(tf).toContain('sensitive(file(\\"${path.module}/ignition/keelson-worker-1.secret.ign\\"))');
  });

  it('says when the secret-part links are not signed, and signs them when the object-store keys are set', async () => {
    expect(first.stdout).toMatch(/secret-part links: NOT signed .*SPACES_ACCESS_KEY_ID/);
    const dir = tempDir();
    const run = await runCli(['synth', '--out', dir], { env: { SPACES_ACCESS_KEY_ID: 'DO00EXAMPLEKEY', SPACES_SECRET_ACCESS_KEY: 'example-secret-not-real' } });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/secret-part links: signed, valid until \d{4}-\d\d-\d\d/);
    const pointer = JSON.parse(readFileSync(join(dir, 'infra-out/ignition/keelson-worker-1.pointer.ign'), 'utf8'));
    const source = new URL(pointer.ignition.config.merge[0].source);
    expect(source.searchParams.get('X-Amz-Credential')).toMatch(/^DO00EXAMPLEKEY\/\d{8}\/fra1\/s3\/aws4_request$/);
    expect(source.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(dir, 'infra-out/main.tf.json'), 'utf8')).not.toContain('example-secret-not-real');
  });

  it('switches the cloud with one line of config: Hetzner', async () => {
    const dir = tempDir();
    const config = configWith((c) => {
      c.provider = { name: 'hetzner', region: 'fsn1' };
      c.nodes.controllers.size = 'cx33';
      c.nodes.workers.size = 'cx33';
    });
    const run = await runCli(['synth', '--config', config, '--out', dir]);
    expect(run.stderr).toBe('');
    const doc = JSON.parse(readFileSync(join(dir, 'infra-out/main.tf.json'), 'utf8'));
    expect(Object.keys(doc.resource.hcloud_server ?? {})).toHaveLength(6);
    expect(doc.resource.digitalocean_droplet).toBeUndefined();
    expect(findSshAccess(doc)).toEqual([]);
    expect(findOpenApiLoadBalancers(doc)).toEqual([]);
    // Controllers are created at their fixed private addresses, and every node's host firewall accepts etcd only from them.
    const pinned = ['10.10.15.241', '10.10.15.242', '10.10.15.243', '10.10.15.244', '10.10.15.245'];
    expect(pinned.map((_, i) => doc.resource.hcloud_server[`keelson-controller-${i + 1}`].network[0].ip)).toEqual(pinned);
    for (const name of ['keelson-controller-1', 'keelson-worker-1']) {
      const ignition = JSON.parse(readFileSync(join(dir, `infra-out/ignition/${name}.ign`), 'utf8'));
      const file = ignition.storage.files.find((f: { path: string }) => f.path === '/etc/keelson/host-firewall.json');
      const ruleset = JSON.parse(decodeInlineContents(file.contents)!.toString('utf8'));
      expect(ruleset.nftables.find((o: any) => o.add?.set?.name === 'controllers').add.set.elem).toEqual(pinned);
    }
    // In the cluster, only what names the cloud's disks and bucket changes:
    // Ceph's device filter, Velero's bucket and the etcd snapshot upload.
    const [a, b] = [treeDigest(join(dir, 'charts-out')), treeDigest(join(out, 'charts-out'))];
    expect(Object.keys(a).filter((p) => a[p] !== b[p]).sort()).toEqual([
      'backups/backupstoragelocation-velero-default.yaml',
      'backups/cronjob-velero-etcd-snapshot.yaml',
      'storage/cephcluster-rook-ceph-rook-ceph.yaml',
    ]);
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  });

  it('refuses a DigitalOcean size on Hetzner, naming the field and the fix', async () => {
    const run = await runCli(['synth', '--config', configWith((c) => (c.provider = { name: 'hetzner', region: 'fsn1' })), '--out', tempDir()]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/nodes\.controllers\.size.*s-4vcpu-8gb/);
  });

  it('is deterministic: a second synth writes the same bytes', async () => {
    const again = tempDir();
    expect((await runCli(['synth', '--out', again])).status).toBe(0);
    expect(treeDigest(join(again, 'charts-out'))).toEqual(treeDigest(join(out, 'charts-out')));
    const before = treeDigest(join(out, 'infra-out'));
    expect((await runCli(['synth', '--out', out])).status).toBe(0);
    expect(treeDigest(join(out, 'infra-out'))).toEqual(before);
  });

  const refusals: Array<[string, (c: any) => void, RegExp]> = [
    ['an unknown key', (c) => (c.nodes.wrokers = c.nodes.workers), /nodes\.wrokers: unknown key "wrokers".*Did you mean "workers"\?/],
    ['a string where a number belongs', (c) => (c.nodes.volumeSizeGiB = 'lots'), /nodes\.volumeSizeGiB: expected a whole number, got "lots"/],
    ['2 nodes', (c) => ((c.nodes.controllers.count = 1), (c.nodes.workers.count = 1)), /nodes: 2 nodes .* cannot survive losing any node/],
    ['6 nodes with 3 controllers', (c) => ((c.nodes.controllers.count = 3), (c.nodes.workers.count = 3)), /nodes\.controllers\.count: losing 2 of 6 nodes can take 2 of 3 etcd members.*use 5 controllers/],
    ['an even controller count', (c) => ((c.nodes.controllers.count = 4), (c.nodes.workers.count = 2)), /nodes\.controllers\.count: 4 is even/],
    ['an invalid domain', (c) => (c.domain = 'exa mple.com'), /domain: got "exa mple\.com".*fully qualified domain name/],
    ['an e-mail without @', (c) => (c.acme.email = 'ops.example.com'), /acme\.email: got "ops\.example\.com", not a valid email; use a full e-mail address/],
    ['a region DigitalOcean does not have', (c) => (c.provider.region = 'mars1'), /provider\.region: got "mars1"; allowed: ams3/],
    ['a Kubernetes version outside the supported list', (c) => (c.versions.kubernetes = '1.31'), /versions\.kubernetes: got "1\.31"; allowed: 1\.35, 1\.36/],
  ];

  it.each(refusals)('refuses %s, exits non-zero and leaves charts-out untouched', async (_what, change, message) => {
    const before = treeDigest(join(out, 'charts-out'));
    const run = await runCli(['synth', '--config', configWith(change), '--out', out]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/nothing was written; earlier output under .* is as it was/);
    expect(run.stdout).toBe('');
    expect(treeDigest(join(out, 'charts-out'))).toEqual(before);
  });

  it('refuses a config file that is not valid YAML, with its line', async () => {
    const before = treeDigest(join(out, 'charts-out'));
    const file = join(tempDir(), 'broken.yaml');
    writeFileSync(file, 'cluster:\n  name: keelson\n nodes: [\n');
    const run = await runCli(['synth', '--config', file, '--out', out]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/broken\.yaml: \d problems?\n {2}\(file\): not valid YAML at line \d+/);
    expect(treeDigest(join(out, 'charts-out'))).toEqual(before);
  });

  it('refuses a missing config file, pointing at --config', async () => {
    const run = await runCli(['synth', '--config', '/nonexistent.yaml', '--out', out]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/cannot read \/nonexistent\.yaml \(ENOENT\); pass an existing file with --config/);
  });

  it('refuses an --out that is a file, naming the option and the fix', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const run = await runCli(['synth', '--out', file]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--out .*a-file: cannot write .*a-file\S* \((EEXIST|ENOTDIR): a file stands where a folder is needed\); choose a folder you can write to with --out/);
  });

  it('writes to gitops.path, the folder Argo CD syncs', async () => {
    const custom = tempDir();
    const run = await runCli(['synth', '--config', configWith((c) => (c.gitops.path = 'deploy/rendered')), '--out', custom]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/wrote .*deploy\/rendered and /);
    expect(readFileSync(join(custom, 'deploy/rendered/argocd/application-argocd-apps.yaml'), 'utf8')).toMatch(/path: deploy\/rendered\/apps/);
  });

  it('reads JSON configs too', async () => {
    const dir = tempDir();
    const yamlFile = configWith(() => undefined, dir);
    const jsonFile = join(dir, 'platform.json');
    writeFileSync(jsonFile, JSON.stringify(YAML.parse(readFileSync(yamlFile, 'utf8'))));
    const jsonOut = tempDir();
    expect((await runCli(['synth', '--config', jsonFile, '--out', jsonOut])).status).toBe(0);
    expect(treeDigest(join(jsonOut, 'charts-out'))).toEqual(treeDigest(join(out, 'charts-out')));
  });
});

describe('keelson synth --restore-etcd', () => {
  const key = 'etcd/20261125T081500Z.db';
  const sha256 = 'ab'.repeat(32);
  const keys = { SPACES_ACCESS_KEY_ID: 'DO00EXAMPLEKEY', SPACES_SECRET_ACCESS_KEY: 'example-secret-not-real' };
  const noKeys = { SPACES_ACCESS_KEY_ID: '', SPACES_SECRET_ACCESS_KEY: '', MINIO_USER: '', MINIO_PASSWORD: '' };
  const ignitionFiles = (file: string): Map<string, string> => {
    const files: Array<{ path: string; contents: { source?: string; compression?: string } }> = JSON.parse(readFileSync(file, 'utf8')).storage?.files ?? [];
    return new Map(files.map((f) => [f.path, decodeInlineContents(f.contents)?.toString('utf8') ?? '']));
  };

  it('puts the presigned link to the snapshot into the first controller\'s secret part only, and says so', async () => {
    const dir = tempDir();
    const run = await runCli(['synth', '--out', dir, '--restore-etcd', key, '--restore-etcd-sha256', sha256.toUpperCase()], { env: keys });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /etcd restore: keelson-controller-1 restores etcd\/20261125T081500Z\.db \(sha256 abababababab…, checked on the node\) if it creates the cluster \(the first deploy; it still joins if anything answers on the API endpoint within 30 s\); a node that joins never restores; link valid until \d{4}-\d\d-\d\d/,
    );
    const ignition = join(dir, 'infra-out/ignition');
    const link = ignitionFiles(join(ignition, 'keelson-controller-1.secret.ign')).get('/etc/keelson/etcd-restore-url')?.trim() ?? '';
    const url = new URL(link);
    expect(`${url.origin}${url.pathname}`).toBe('https://keelson-8bef49a9-backups.fra1.digitaloceanspaces.com/etcd/20261125T081500Z.db');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^DO00EXAMPLEKEY\/\d{8}\/fra1\/s3\/aws4_request$/);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('604800');
    const signature = url.searchParams.get('X-Amz-Signature') ?? '';
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    // The script that uses it is public; the hash it checks is the lower-case one.
    const pointer = readFileSync(join(ignition, 'keelson-controller-1.pointer.ign'), 'utf8');
    expect(ignitionFiles(join(ignition, 'keelson-controller-1.pointer.ign')).get('/etc/keelson/bootstrap.env')).toContain(`: "\${KEELSON_ETCD_RESTORE_SHA256:=${sha256}}"`);
    // Only the secret part and the combined inspection copy hold the link, raw or decoded.
    const holders = readdirSync(ignition).filter((name) => {
      const text = readFileSync(join(ignition, name), 'utf8');
      return text.includes(signature) || [...ignitionFiles(join(ignition, name)).values()].some((f) => f.includes(signature));
    });
    expect(holders.sort()).toEqual(['keelson-controller-1.ign', 'keelson-controller-1.secret.ign']);
    expect(pointer).not.toContain(signature);
    expect(readFileSync(join(dir, 'infra-out/main.tf.json'), 'utf8')).not.toContain(signature);
  });

  it.each([
    ['DigitalOcean', undefined, /SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY/],
    ['Hetzner', (c: any) => ((c.provider = { name: 'hetzner', region: 'fsn1' }), (c.nodes.controllers.size = 'cx33'), (c.nodes.workers.size = 'cx33')), /MINIO_USER and MINIO_PASSWORD/],
  ])('refuses without object-store keys on %s, naming the variables and the fix, and writes nothing', async (_cloud, change, variables) => {
    const dir = tempDir();
    const config = change ? ['--config', configWith(change)] : [];
    const run = await runCli(['synth', ...config, '--out', dir, '--restore-etcd', key], { env: noKeys });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--restore-etcd etcd\/20261125T081500Z\.db: the first controller fetches the snapshot through a presigned link, and no object-store keys are set to sign it; set /);
    expect(run.stderr).toMatch(variables);
    expect(run.stderr).toMatch(/\(the keys that sign the secret-part links\) and synth again/);
    expect(run.stderr).toMatch(/nothing was written/);
    expect(run.stdout).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['a key that climbs out of the bucket', ['--restore-etcd', 'etcd/../secrets.db'], /DigitalOceanProvider\.backupObjectUrl: object key "etcd\/\.\.\/secrets\.db" has an empty, "\." or "\.\." segment/],
    ['a key with a leading slash', ['--restore-etcd', '/etcd/x.db'], /object key "\/etcd\/x\.db" starts with "\/"; keys are relative to the bucket: use "etcd\/x\.db"/],
    ['a hash that is not SHA-256', ['--restore-etcd', key, '--restore-etcd-sha256', 'abc'], /--restore-etcd-sha256 "abc" is not a SHA-256 \(64 hex digits\); pass the first field of `sha256sum <snapshot>\.db`/],
    ['a hash without a snapshot', ['--restore-etcd-sha256', sha256], /--restore-etcd-sha256 is the hash of a snapshot to restore; pass the snapshot too with --restore-etcd <key>/],
  ])('refuses %s with exit 2 and writes nothing', async (_what, args, message) => {
    const dir = tempDir();
    const run = await runCli(['synth', '--out', dir, ...args], { env: keys });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(readdirSync(dir)).toEqual([]);
  });
});

/** A loopback HTTP server in this process serving the files under `dir` (404 otherwise): runCli awaits the CLI, so it can answer. */
async function serveFolder(dir: string): Promise<{ url: string; server: Server }> {
  const server = createHttpServer((req, res) => readFile(join(dir, new URL(req.url ?? '/', 'http://x').pathname), (e, body) => (e ? res.writeHead(404).end() : res.writeHead(200).end(body))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('keelson lock, and synth with the Kubernetes image pinned by hash', () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const image = (release: string) => `kubernetes-v${release}-x86-64.raw`;
  const release = KUBERNETES_RELEASES['1.36'];
  const served = tempDir();
  let server: { url: string; server: Server };
  /** A loopback port nothing listens on. */
  let closedPort = 0;
  const lockOf = (config: string) => join(config, '..', 'kubernetes-sysext.lock.json');
  type Files = Array<{ path: string; contents: { source?: string; verification?: { hash?: string } } }>;
  const storageFiles = (path: string): Files => JSON.parse(readFileSync(path, 'utf8')).storage.files;

  beforeAll(async () => {
    // The bakery's layout: SHA256SUMS next to the images, listing every release (the images themselves are not needed to lock).
    mkdirSync(join(served, 'extensions'));
    mkdirSync(join(served, 'partial'));
    const lines = Object.values(KUBERNETES_RELEASES).map((r) => `${sha(r)}  ${image(r)}`);
    writeFileSync(join(served, 'extensions/SHA256SUMS'), `${lines.join('\n')}\n`);
    writeFileSync(join(served, 'partial/SHA256SUMS'), `${lines.filter((l) => !l.includes(image(release))).join('\n')}\n`);
    server = await serveFolder(served);
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(async () => {
    server.server.closeAllConnections();
    await new Promise((resolve) => server.server.close(resolve));
  });

  it('locks every pinned release next to the config, and synth makes every node\'s Ignition download its image by that hash', async () => {
    const config = configWith(() => undefined);
    const base = `${server.url}/extensions`;
    const lock = await runCli(['lock', '--config', config], { env: { KEELSON_SYSEXT_BASE_URL: base } });
    expect(lock.stderr).toBe('');
    expect(lock.status).toBe(0);
    expect(lock.stdout).toContain(`keelson lock: wrote ${lockOf(config)} from ${base}/SHA256SUMS`);
    expect(JSON.parse(readFileSync(lockOf(config), 'utf8')).images['1.36']).toEqual({ release, file: image(release), url: `${base}/${image(release)}`, sha256: sha(release) });
    expect(await runCli(['lock', '--check', '--config', config])).toMatchObject({ status: 0, stderr: '' });

    const out = tempDir();
    const run = await runCli(['synth', '--config', config, '--out', out]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Kubernetes system extension: ${image(release)} pinned by sha256 ${sha(release).slice(0, 12)}…`);
    const dir = join(out, 'infra-out/ignition');
    const pointers = readdirSync(dir).filter((f) => f.endsWith('.pointer.ign'));
    expect(pointers).toHaveLength(6);
    for (const name of pointers) {
      const entry = storageFiles(join(dir, name)).find((f) => f.path === `/opt/extensions/kubernetes/${image(release)}`);
      expect(entry?.contents).toEqual({ source: `${base}/${image(release)}`, verification: { hash: `sha256-${sha(release)}` } });
      expect(storageFiles(join(dir, name.replace('.pointer.ign', '.secret.ign'))).map((f) => f.path)).not.toContain(`/opt/extensions/kubernetes/${image(release)}`);
    }
  });

  it('renders without a lock as before (sysupdate fetches the image), says so in one line, and --check exits 1', async () => {
    const config = configWith(() => undefined);
    const out = tempDir();
    const run = await runCli(['synth', '--config', config, '--out', out]);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n').filter((l) => l.includes('Kubernetes system extension'))).toEqual([
      '  Kubernetes system extension: not pinned by hash (run keelson lock on a machine with internet and commit kubernetes-sysext.lock.json)',
    ]);
    const files = storageFiles(join(out, 'infra-out/ignition/keelson-worker-1.ign')).map((f) => f.path);
    expect(files.filter((p) => p.startsWith('/opt/extensions/'))).toEqual([]);
    const check = await runCli(['lock', '--check', '--config', config]);
    expect(check.status).toBe(1);
    expect(check.stderr).toBe(`keelson lock --check: ${lockOf(config)} is missing; run keelson lock on a machine with internet and commit kubernetes-sysext.lock.json\n`);
  });

  it('refuses a stale lock with exit 2, naming both releases and the fix, and writes nothing', async () => {
    const config = configWith(() => undefined);
    const file = image('1.36.1');
    writeFileSync(lockOf(config), JSON.stringify({ source: 'https://extensions.flatcar.org/extensions', images: { '1.36': { release: '1.36.1', file, url: `https://extensions.flatcar.org/extensions/${file}`, sha256: sha('1.36.1') } } }));
    const out = tempDir();
    const run = await runCli(['synth', '--config', config, '--out', out]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`${lockOf(config)}: Kubernetes 1.36 is locked at 1.36.1, but KUBERNETES_RELEASES pins ${release}; run keelson lock on a machine with internet and commit kubernetes-sysext.lock.json`);
    expect(run.stderr).toMatch(/nothing was written/);
    expect(run.stdout).toBe('');
    expect(readdirSync(out)).toEqual([]);
    expect((await runCli(['lock', '--check', '--config', config])).status).toBe(1);
  });

  it.each([
    ['the download fails', () => `http://127.0.0.1:${closedPort}/extensions`, /keelson: could not download http:\/\/127\.0\.0\.1:\d+\/extensions\/SHA256SUMS \(ECONNREFUSED\); keelson lock needs internet: run it on a machine that reaches 127\.0\.0\.1:\d+, then commit kubernetes-sysext\.lock\.json/],
    ['the pinned image is not listed', () => `${server.url}/partial`, new RegExp(`does not list ${image(release).replace(/\./g, '\\.')} \\(Kubernetes 1\\.36 in KUBERNETES_RELEASES\\); the bakery has not published that release \\(yet\\)`)],
    ['the base URL is plain http to another host', () => 'http://mirror.example/extensions', /KEELSON_SYSEXT_BASE_URL "http:\/\/mirror\.example\/extensions" is not an https URL/],
  ])('exits 2 and leaves the lock file as it was when %s', async (_what, base, message) => {
    const config = configWith(() => undefined);
    writeFileSync(lockOf(config), 'the previous lock\n');
    const run = await runCli(['lock', '--config', config], { env: { KEELSON_SYSEXT_BASE_URL: base() } });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/keelson: the lock file was not changed/);
    expect(readFileSync(lockOf(config), 'utf8')).toBe('the previous lock\n');
  });
});
