import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { buildSync } from 'esbuild';
import { exampleConfig, parsePlatformConfig, type PlatformSpec } from '@keelson/platform-spec';
import { SecretsBundleError, openSecretsBundle, rotateLeafCertificates } from './bundle';

const spec = (cluster = 'keelson'): PlatformSpec => {
  const c = exampleConfig();
  c.cluster.name = cluster;
  return parsePlatformConfig(c);
};
const newDir = () => join(mkdtempSync(join(tmpdir(), 'keelson-integrity-')), 'secrets', 'keelson');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Path -> sha256 and mode of everything under dir, folders included: equal digests mean a byte-identical folder. */
function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const mode = (statSync(p).mode & 0o777).toString(8);
      if (e.isDirectory()) {
        out[`${relative(dir, p)}/`] = mode;
        walk(p);
      } else out[relative(dir, p)] = `${mode} ${sha(readFileSync(p))}`;
    }
  };
  walk(dir);
  return out;
}

// Two bundles made once, copied for each test (cpSync keeps modes): "ours" and another cluster's of the same name.
let ours: string;
let sameNameOther: string;
let otherCluster: string;
beforeAll(async () => {
  [ours, sameNameOther, otherCluster] = [newDir(), newDir(), newDir()];
  await openSecretsBundle({ dir: ours, spec: spec() });
  await openSecretsBundle({ dir: sameNameOther, spec: spec() });
  await openSecretsBundle({ dir: otherCluster, spec: spec('staging') });
});
const copyOf = (source: string) => {
  const dir = newDir();
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  cpSync(source, dir, { recursive: true });
  return dir;
};
const copyFiles = (from: string, to: string, files: readonly string[]) => {
  for (const f of files) writeFileSync(join(to, f), readFileSync(join(from, f)), { mode: 0o600 });
};

/** Opens dir, expects a refusal matching every pattern, and checks the folder did not change by a byte. */
async function expectRefused(dir: string, patterns: readonly RegExp[], open: () => Promise<unknown> = () => openSecretsBundle({ dir, spec: spec() })): Promise<string> {
  const before = digest(dir);
  const error = await open().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SecretsBundleError);
  const message = (error as Error).message;
  for (const p of patterns) expect(message).toMatch(p);
  // Hashes and fingerprints only: no key, token or PEM.
  expect(message).not.toMatch(/BEGIN|PRIVATE KEY/);
  for (const secret of ['encryption/secrets-at-rest.key', 'kubeadm/bootstrap-token']) {
    if (existsSync(join(dir, secret))) expect(message).not.toContain(readFileSync(join(dir, secret), 'utf8').trim());
  }
  expect(digest(dir)).toEqual(before);
  return message;
}

const RESTORE = /Fix: restore the folder from its backup \(README\.md, "The secrets bundle"\)/;
const HASH = '[0-9a-f]{64}';

describe('bundle.json', () => {
  it('records the format, the cluster name, a random id, the Kubernetes CA fingerprint and every file with its SHA-256 and mode', () => {
    const manifest = JSON.parse(readFileSync(join(ours, 'bundle.json'), 'utf8'));
    const caDer = new X509Certificate(readFileSync(join(ours, 'kubernetes/ca.crt'))).raw;
    expect(manifest.format).toBe(1);
    expect(manifest.cluster).toEqual({ name: 'keelson', id: expect.stringMatching(/^[0-9a-f]{32}$/), kubernetesCaSha256: sha(caDer) });
    expect(Object.keys(manifest.files)).toHaveLength(36);
    for (const [file, entry] of Object.entries(manifest.files)) expect(entry).toEqual({ sha256: sha(readFileSync(join(ours, file))), mode: '0600' });
    expect(statSync(join(ours, 'bundle.json')).mode & 0o777).toBe(0o600);
  });

  it('opens an intact bundle without writing to it, and returns its identity', async () => {
    const dir = copyOf(ours);
    const before = digest(dir);
    const { bundle, created, notices } = await openSecretsBundle({ dir, spec: spec() });
    expect(created).toEqual([]);
    expect(notices).toEqual([]);
    expect(bundle.identity).toEqual({ clusterName: 'keelson', id: JSON.parse(readFileSync(join(ours, 'bundle.json'), 'utf8')).cluster.id, kubernetesCaSha256: expect.stringMatching(new RegExp(`^${HASH}$`)) });
    expect(digest(dir)).toEqual(before);
  });
});

describe('a deleted root file is refused, never made anew', () => {
  it.each([
    [['kubernetes/ca.crt']],
    [['kubernetes/ca.key']],
    [['kubernetes/ca.crt', 'kubernetes/ca.key']],
    [['front-proxy/ca.crt', 'front-proxy/ca.key']],
    [['service-account/sa.key', 'service-account/sa.pub']],
    [['encryption/secrets-at-rest.key']],
    [['etcd/ca.crt', 'etcd/ca.key']],
    [['kubeadm/bootstrap-token']],
  ])('deleted %j', async (deleted) => {
    const dir = copyOf(ours);
    for (const f of deleted) rmSync(join(dir, f));
    const message = await expectRefused(dir, [
      ...deleted.map((f) => new RegExp(`\\n  ${f.replace(/[./]/g, '\\$&')}: missing \\(bundle\\.json records sha256 ${HASH}\\)`)),
      RESTORE,
      /Keelson never makes a new CA, service-account key, encryption key or bootstrap token in an existing bundle/,
    ]);
    expect(message).toMatch(new RegExp(`^secrets bundle ${dir}: refused, nothing was written \\(${deleted.length} problems?\\):`));
    expect(message).not.toMatch(/Fix: keelson pki rotate/);
  });
});

describe('a changed or foreign file is refused', () => {
  it('refuses a CA with one flipped byte, naming both hashes', async () => {
    const dir = copyOf(ours);
    const path = join(dir, 'kubernetes/ca.crt');
    const expected = sha(readFileSync(path));
    const bytes = readFileSync(path);
    bytes[100] = bytes[100] === 0x41 ? 0x42 : 0x41;
    writeFileSync(path, bytes);
    await expectRefused(dir, [new RegExp(`kubernetes/ca\\.crt: changed: bundle\\.json records sha256 ${expected}, the file has ${sha(bytes)}`), RESTORE]);
  });

  it('refuses a flipped byte in a bundle without a manifest too (the CA no longer verifies)', async () => {
    const dir = copyOf(ours);
    rmSync(join(dir, 'bundle.json'));
    const path = join(dir, 'front-proxy/ca.crt');
    const bytes = readFileSync(path);
    bytes[200] = bytes[200] === 0x41 ? 0x42 : 0x41;
    writeFileSync(path, bytes);
    await expectRefused(dir, [/front-proxy\/ca\.crt: (is not a PEM certificate|is damaged: its self-signature does not verify)/, RESTORE]);
  });

  it('refuses the bundle of another cluster, naming it', async () => {
    const message = await expectRefused(copyOf(otherCluster), [/\n {2}bundle\.json: belongs to cluster "staging" \(id [0-9a-f]{32}\), not to "keelson" of the config\n/, /Fix: this folder holds another cluster's keys/]);
    expect(message).toMatch(/\(1 problem\)/);
  });

  it("refuses another cluster's CA copied into the bundle, naming that cluster", async () => {
    const dir = copyOf(ours);
    copyFiles(otherCluster, dir, ['kubernetes/ca.crt', 'kubernetes/ca.key']);
    await expectRefused(dir, [
      new RegExp(`kubernetes/ca\\.crt: changed: bundle\\.json records sha256 ${HASH}, the file has ${HASH}; it belongs to cluster "staging"`),
      /kubernetes\/ca\.key: changed/,
      /kubernetes\/ca\.crt: belongs to cluster "staging" \(subject CN=staging-kubernetes-ca\)/,
      /Fix: this folder holds another cluster's keys/,
    ]);
  });

  it('refuses the CA of another cluster of the same name', async () => {
    const dir = copyOf(ours);
    copyFiles(sameNameOther, dir, ['front-proxy/ca.crt', 'front-proxy/ca.key']);
    await expectRefused(dir, [/front-proxy\/ca\.crt: changed: /, /front-proxy\/ca\.key: changed: /, RESTORE]);
  });

  it('refuses the manifest of another cluster of the same name', async () => {
    const dir = copyOf(ours);
    copyFiles(sameNameOther, dir, ['bundle.json']);
    await expectRefused(dir, [/\(1 problem\):\n {2}bundle\.json: belongs to another cluster: it records the Kubernetes CA sha256 [0-9a-f]{64} \(cluster id [0-9a-f]{32}\), kubernetes\/ca\.crt here has [0-9a-f]{64}, and no file of the folder is as it records\n/, /Fix: this folder holds another cluster's keys/]);
  });

  it('refuses a bundle file the manifest does not record', async () => {
    const dir = copyOf(ours);
    mkdirSync(join(dir, 'etcd/members/keelson-controller-9'), { mode: 0o700 });
    for (const f of ['server.crt', 'server.key', 'peer.crt', 'peer.key']) {
      writeFileSync(join(dir, 'etcd/members/keelson-controller-9', f), readFileSync(join(ours, 'etcd/members/keelson-controller-1', f)), { mode: 0o600 });
    }
    await expectRefused(dir, [
      /etcd\/members\/keelson-controller-9\/server\.crt: not recorded in bundle\.json: the bundle did not make this file/,
      /Fix: keelson pki rotate issues certificates for the controllers of the config only\. If that controller is gone, move its etcd\/members\/<name>\/ folder out of the bundle/,
    ]);
  });

  it('refuses a manifest that is not one, and one of a newer format', async () => {
    const dir = copyOf(ours);
    writeFileSync(join(dir, 'bundle.json'), '{"format": 1, "files": []}\n', { mode: 0o600 });
    await expectRefused(dir, [/bundle\.json: is not a bundle manifest \(cluster needs name, id and kubernetesCaSha256\)/, RESTORE]);
    writeFileSync(join(dir, 'bundle.json'), '{"format": 2}\n', { mode: 0o600 });
    await expectRefused(dir, [/bundle\.json: has format 2; this version of Keelson reads format 1/]);
  });
});

describe('the etcd CA', () => {
  it('is refused before anything is written when deleted, and rotate is not offered', async () => {
    const dir = copyOf(ours);
    rmSync(join(dir, 'etcd/ca.crt'));
    rmSync(join(dir, 'etcd/ca.key'));
    const message = await expectRefused(dir, [/etcd\/ca\.crt: missing/, /etcd\/ca\.key: missing/, RESTORE, /keelson pki rotate would reissue etcd certificates under whatever CA the folder holds now/]);
    expect(message).not.toMatch(/is not signed by/);
    // pki rotate refuses it the same way, untouched.
    await expectRefused(dir, [/etcd\/ca\.crt: missing/, RESTORE], () => rotateLeafCertificates({ dir, spec: spec() }));
  });

  it('swapped in a bundle without a manifest, is found out by the leaves it did not sign, and rotate is not offered', async () => {
    const dir = copyOf(ours);
    rmSync(join(dir, 'bundle.json'));
    copyFiles(sameNameOther, dir, ['etcd/ca.crt', 'etcd/ca.key']);
    const message = await expectRefused(dir, [/\(1 problem\):\n {2}etcd\/ca\.crt: signs none of the bundle's 13 etcd certificates: it is not the CA they were issued under\n/, RESTORE]);
    expect(message).not.toMatch(/Fix: keelson pki rotate/);
    await expectRefused(dir, [/signs none of the bundle's 13 etcd certificates/], () => rotateLeafCertificates({ dir, spec: spec() }));
  });
});

describe('leaves', () => {
  it('a deleted etcd certificate is refused with pki rotate as the fix, which repairs it under the same CA', async () => {
    const dir = copyOf(ours);
    rmSync(join(dir, 'etcd/clients/backup.crt'));
    await expectRefused(dir, [/etcd\/clients\/backup\.crt: missing/, /Fix: keelson pki rotate reissues these etcd certificates under the bundle's etcd CA, which is intact/]);
    await expectRefused(dir, [/backup\.crt: missing/, /Fix: run keelson pki rotate without --member/], () => rotateLeafCertificates({ dir, spec: spec(), members: ['keelson-controller-1'] }));
    const { rotated } = await rotateLeafCertificates({ dir, spec: spec() });
    expect(rotated).toContain('etcd/clients/backup');
    const { bundle, created } = await openSecretsBundle({ dir, spec: spec() });
    expect(created).toEqual([]);
    expect(bundle.etcdCa.certPem).toBe(readFileSync(join(ours, 'etcd/ca.crt'), 'utf8'));
    expect(new X509Certificate(bundle.clients.backup.certPem).verify(new X509Certificate(bundle.etcdCa.certPem).publicKey)).toBe(true);
  });

  it('a new controller whose certificates were written but not recorded (killed before bundle.json) is refused, and repaired by pki rotate', async () => {
    const dir = copyOf(ours);
    const seven = (() => {
      const c = exampleConfig();
      c.nodes = { controllers: { count: 7 }, workers: { count: 2 } };
      return parsePlatformConfig(c);
    })();
    mkdirSync(join(dir, 'etcd/members/keelson-controller-6'), { mode: 0o700 });
    for (const f of ['server.crt', 'server.key', 'peer.crt', 'peer.key']) {
      writeFileSync(join(dir, 'etcd/members/keelson-controller-6', f), readFileSync(join(ours, 'etcd/members/keelson-controller-1', f)), { mode: 0o600 });
    }
    await expectRefused(dir, [/keelson-controller-6\/peer\.key: not recorded in bundle\.json/, /Fix: keelson pki rotate reissues these etcd certificates/], () => openSecretsBundle({ dir, spec: seven }));
    await rotateLeafCertificates({ dir, spec: seven });
    const { bundle, created } = await openSecretsBundle({ dir, spec: seven });
    expect(created).toEqual([]);
    expect(new X509Certificate(bundle.members['keelson-controller-6'].server.certPem).subject).toBe('CN=keelson-controller-6');
    expect(new X509Certificate(bundle.members['keelson-controller-6'].peer.certPem).subjectAltName).toBe('DNS:keelson-controller-6, DNS:localhost, IP Address:127.0.0.1');
    expect(new X509Certificate(bundle.members['keelson-controller-7'].server.certPem).subject).toBe('CN=keelson-controller-7');
  });
});

describe('a bundle from before bundle.json', () => {
  it('is adopted once: checked, recorded, and a notice returned', async () => {
    const dir = copyOf(ours);
    rmSync(join(dir, 'bundle.json'));
    writeFileSync(join(dir, '.verified'), 'stamp of earlier versions\n', { mode: 0o600 });
    const first = await openSecretsBundle({ dir, spec: spec() });
    expect(first.created).toEqual([]);
    expect(first.notices).toEqual([expect.stringMatching(/adopted a bundle from before bundle\.json: its 36 files were checked .* bundle\.json now records their SHA-256 and cluster "keelson" \(id [0-9a-f]{32}\); .* Back the folder up again$/)]);
    const manifest = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8'));
    expect(manifest.files).toEqual(JSON.parse(readFileSync(join(ours, 'bundle.json'), 'utf8')).files);
    expect(existsSync(join(dir, '.verified'))).toBe(false);
    const second = await openSecretsBundle({ dir, spec: spec() });
    expect(second.notices).toEqual([]);
    expect(second.bundle.identity).toEqual(first.bundle.identity);
  });

  it('is not adopted when a file is missing: a half bundle is refused, untouched', async () => {
    const dir = copyOf(ours);
    rmSync(join(dir, 'bundle.json'));
    rmSync(join(dir, 'etcd/clients'), { recursive: true });
    rmSync(join(dir, 'kubernetes/ca.key'));
    await expectRefused(dir, [/kubernetes\/ca\.key: missing\n/, /etcd\/clients\/apiserver\.crt: missing/, /Fix: bundle\.json is missing and the folder is not a whole bundle: a first creation that was interrupted, or deleted files/]);
  });

  it("is not adopted with another cluster's CA in it", async () => {
    const dir = copyOf(ours);
    rmSync(join(dir, 'bundle.json'));
    copyFiles(otherCluster, dir, ['front-proxy/ca.crt', 'front-proxy/ca.key']);
    await expectRefused(dir, [/front-proxy\/ca\.crt: belongs to cluster "staging"/, /Fix: this folder holds another cluster's keys/]);
  });
});

describe('first creation', () => {
  it('refuses to create a bundle in a folder that holds other files', async () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'notes.txt'), 'mine\n', { mode: 0o600 });
    await expectRefused(dir, [/holds notes\.txt but no bundle; a new bundle is created only in a missing or empty folder/]);
  });

  it('creates the bundle in an empty folder', async () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { created } = await openSecretsBundle({ dir, spec: spec() });
    expect(created).toHaveLength(36);
    expect(readdirSync(dirname(dir))).toEqual(['keelson']);
  });

  it('removes a leftover temp folder of an interrupted creation and never uses it', async () => {
    const dir = newDir();
    const leftover = join(dirname(dir), '.keelson.creating-99999-0badf00d');
    cpSync(ours, leftover, { recursive: true });
    const { created, bundle, notices } = await openSecretsBundle({ dir, spec: spec() });
    expect(created).toHaveLength(36);
    expect(bundle.etcdCa.certPem).not.toBe(readFileSync(join(ours, 'etcd/ca.crt'), 'utf8'));
    expect(readdirSync(dirname(dir))).toEqual(['keelson']);
    expect(notices).toEqual([`secrets bundle: removed ${leftover}, left by a creation of the bundle that was interrupted; it was never used`]);
  });
});

describe('a creation killed with SIGKILL', () => {
  // A child process creates the bundle and SIGKILLs itself at a chosen point:
  // after the n-th file write, or just before or after the rename.
  let script: string;
  beforeAll(() => {
    script = join(mkdtempSync(join(tmpdir(), 'keelson-kill-')), 'create.js');
    buildSync({
      stdin: {
        contents: `
          const fs = require('node:fs');
          const { exampleConfig, parsePlatformConfig } = require('@keelson/platform-spec');
          const { openSecretsBundle } = require('./bundle');
          const [dir, point] = process.argv.slice(2);
          const die = () => process.kill(process.pid, 'SIGKILL');
          const { writeSync, renameSync } = fs;
          let writes = 0;
          fs.writeSync = (...args) => { const r = writeSync(...args); if (point === 'write:' + ++writes) die(); return r; };
          fs.renameSync = (from, to) => { if (point === 'before-rename') die(); renameSync(from, to); if (point === 'after-rename') die(); };
          openSecretsBundle({ dir, spec: parsePlatformConfig(exampleConfig()) }).then(() => process.exit(0));
        `,
        resolveDir: __dirname,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      conditions: ['@keelson/source'],
      outfile: script,
      logLevel: 'error',
    });
  });

  it.each([
    ['write:1', false],
    ['write:12', false],
    ['write:36', false],
    ['write:37', false],
    ['before-rename', false],
    ['after-rename', true],
  ])('killed at %s: the bundle exists afterwards: %s, whole if so; the next run has a whole one', async (point, survives) => {
    const dir = newDir();
    const run = spawnSync(process.execPath, [script, dir, point], { encoding: 'utf8' });
    expect(run.signal).toBe('SIGKILL');
    expect(existsSync(dir)).toBe(survives);
    expect(readdirSync(dirname(dir)).filter((e) => e.startsWith('.keelson.creating-'))).toHaveLength(survives ? 0 : 1);
    // A surviving bundle opens as it is (every file matches bundle.json); otherwise the leftover goes and a new bundle is made.
    const { created, notices } = await openSecretsBundle({ dir, spec: spec() });
    expect(created).toHaveLength(survives ? 0 : 36);
    expect(notices.join('\n')).toMatch(survives ? /^$/ : /^secrets bundle: removed .*\.keelson\.creating-\d+-[0-9a-f]{8}, left by a creation of the bundle that was interrupted; it was never used$/);
    expect(readdirSync(dirname(dir))).toEqual(['keelson']);
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')).files)).toHaveLength(36);
  });
});
