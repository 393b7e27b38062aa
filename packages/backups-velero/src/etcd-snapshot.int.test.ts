import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalEtcdCluster } from '@keelson/etcd-tls/testing';
import { requirePeer } from '@keelson/upstream';
import { etcdSnapshotCommand, etcdUploadScript } from './etcd-snapshot';

jest.setTimeout(120_000);

const target = { bucket: 'keelson-backups', endpoint: 'https://fra1.digitaloceanspaces.com', region: 'fra1' };

/**
 * A stand-in `aws` CLI: stores objects as files under $FAKE_BUCKET/<key>,
 * logs each call's argv to $FAKE_BUCKET.log, and answers the four s3api calls
 * the script makes. It checks the endpoint and region flags come first.
 */
const FAKE_AWS = `#!/bin/sh
set -eu
echo "$*" >> "$FAKE_BUCKET.log"
[ "$1" = --endpoint-url ] && [ "$3" = --region ] && [ "$5" = s3api ] || { echo "fake aws: unexpected flags: $*" >&2; exit 2; }
op=$6; shift 6
bucket=""; key=""; body=""; prefix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bucket) bucket=$2; shift 2 ;;
    --key) key=$2; shift 2 ;;
    --body) body=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    *) shift ;;
  esac
done
dir="$FAKE_BUCKET/$bucket"
case "$op" in
  put-object) mkdir -p "$(dirname "$dir/$key")"; cp "$body" "$dir/$key" ;;
  head-object) wc -c < "$dir/$key" | tr -d " " ;;
  list-objects-v2) (cd "$dir" && find "$prefix" -type f 2>/dev/null | sort | tr "\\n" "\\t"); echo ;;
  delete-object) rm "$dir/$key" ;;
  *) echo "fake aws: unknown operation $op" >&2; exit 2 ;;
esac
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function run(argv: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...cleanEnv(), ...env }, timeout: 60_000 });
  if (result.error) throw result.error;
  return result;
}

/** ETCDCTL_* variables would override the flags under test. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD')));
}

describe('etcd snapshots', () => {
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'keelson-etcd-snapshot-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  function fakeBucket() {
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'aws'), FAKE_AWS);
    chmodSync(join(bin, 'aws'), 0o755);
    const bucket = join(work, 'bucket');
    mkdirSync(bucket);
    return { env: { PATH: `${bin}:${process.env.PATH}`, FAKE_BUCKET: bucket }, bucket, log: () => readFileSync(`${bucket}.log`, 'utf8').trim().split('\n') };
  }

  it('takes a snapshot of a 3-member mTLS cluster, uploads it, restores the uploaded copy into a fresh member and reads back every key', async () => {
    const cluster = await LocalEtcdCluster.start({ members: 3 });
    let restored: ReturnType<typeof spawn> | undefined;
    try {
      const client = cluster.client();
      const written: Record<string, string> = {};
      for (let i = 0; i < 200; i++) written[`/registry/test/key-${String(i).padStart(3, '0')}`] = `value ${i} ${'x'.repeat(i)}`;
      written['/registry/secrets/default/unicode'] = 'naïve ✓';
      for (const [k, v] of Object.entries(written)) await client.put(k, v);

      const tls = join(work, 'etcd-client');
      mkdirSync(tls, { mode: 0o700 });
      writeFileSync(join(tls, 'ca.crt'), cluster.ca.certPem, { mode: 0o600 });
      writeFileSync(join(tls, 'tls.crt'), cluster.clientCertificate.certPem, { mode: 0o600 });
      writeFileSync(join(tls, 'tls.key'), cluster.clientCertificate.keyPem, { mode: 0o600 });
      const snapshotFile = join(work, 'snapshot', 'etcd.db');
      mkdirSync(join(work, 'snapshot'));

      // The very argv the CronJob's snapshot container runs, against one member.
      const argv = etcdSnapshotCommand({
        endpoint: cluster.members[1].clientURL,
        caFile: join(tls, 'ca.crt'),
        certFile: join(tls, 'tls.crt'),
        keyFile: join(tls, 'tls.key'),
        outputFile: snapshotFile,
        etcdctl: requirePeer('etcdctl', 'the etcd snapshot test'),
      });
      const saved = run(argv, { ETCDCTL_API: '3' });
      expect(saved.stderr + saved.stdout).toMatch(/Snapshot saved at/);
      expect(saved.status).toBe(0);

      // Without a client certificate the member refuses: the snapshot really went over mTLS.
      const noCert = argv
        .filter((a) => !a.startsWith('--cert=') && !a.startsWith('--key='))
        .map((a) => (a === snapshotFile ? `${snapshotFile}.nocert` : a.startsWith('--command-timeout=') ? '--command-timeout=5s' : a));
      const refused = run(noCert, { ETCDCTL_API: '3' });
      expect(refused.status).not.toBe(0);
      expect(existsSync(`${snapshotFile}.nocert`)).toBe(false);

      // The very script the upload container runs, with a stand-in bucket.
      const fake = fakeBucket();
      const now = Date.UTC(2026, 0, 15, 12, 0, 0) / 1000;
      const upload = spawnSync('/bin/sh', ['-c', etcdUploadScript({ target, retentionDays: 14, snapshotFile })], {
        encoding: 'utf8',
        env: { ...cleanEnv(), ...fake.env, KEELSON_NOW: String(now) },
      });
      expect(upload.stderr).toBe('');
      expect(upload.status).toBe(0);
      const uploaded = join(fake.bucket, 'keelson-backups', 'etcd', '20260115T120000Z.db');
      expect(upload.stdout).toContain(`uploaded s3://keelson-backups/etcd/20260115T120000Z.db (${readFileSync(snapshotFile).length} bytes)`);
      expect(readFileSync(uploaded).equals(readFileSync(snapshotFile))).toBe(true);

      // Restore the uploaded copy into a brand-new single-member cluster (plain localhost).
      const [clientPort, peerPort] = [await freePort(), await freePort()];
      const dataDir = join(work, 'restored');
      // etcd 3.6 restores with etcdutl (etcdctl's restore is gone), as the first controller does.
      const restore = run(
        [
          requirePeer('etcdutl', 'the etcd restore test'),
          'snapshot',
          'restore',
          uploaded,
          `--data-dir=${dataDir}`,
          '--name=restored',
          `--initial-cluster=restored=http://127.0.0.1:${peerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        ],
        { ETCDCTL_API: '3' },
      );
      expect(restore.status).toBe(0);
      const endpoint = `http://127.0.0.1:${clientPort}`;
      restored = spawn(
        process.env.KEELSON_ETCD_BINARY ?? requirePeer('etcd', 'the etcd restore test'),
        ['--name=restored', `--data-dir=${dataDir}`, `--listen-client-urls=${endpoint}`, `--advertise-client-urls=${endpoint}`, `--listen-peer-urls=http://127.0.0.1:${peerPort}`],
        { stdio: 'ignore', env: cleanEnv() },
      );
      let got: Record<string, string> = {};
      const deadline = Date.now() + 30_000;
      for (;;) {
        const read = run([requirePeer('etcdctl', 'the etcd restore test'), `--endpoints=${endpoint}`, 'get', '', '--prefix', '-w', 'json'], { ETCDCTL_API: '3' });
        if (read.status === 0) {
          const kvs: { key: string; value: string }[] = JSON.parse(read.stdout).kvs ?? [];
          got = Object.fromEntries(kvs.map((kv) => [Buffer.from(kv.key, 'base64').toString('utf8'), Buffer.from(kv.value, 'base64').toString('utf8')]));
          break;
        }
        if (Date.now() > deadline) throw new Error(`restored etcd did not answer: ${read.stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(got).toEqual(written);
    } finally {
      if (restored && restored.exitCode === null) {
        const exited = new Promise((r) => restored?.once('exit', r));
        restored.kill('SIGKILL');
        await exited;
      }
      await cluster.stop();
    }
  });

  describe('upload script', () => {
    const snapshot = () => {
      const file = join(work, 'etcd.db');
      writeFileSync(file, 'not really a snapshot, but bytes');
      return file;
    };
    const runScript = (env: NodeJS.ProcessEnv, snapshotFile: string, retentionDays = 14) =>
      spawnSync('/bin/sh', ['-c', etcdUploadScript({ target, retentionDays, snapshotFile })], { encoding: 'utf8', env: { ...cleanEnv(), ...env } });

    it('sends each request to the bucket\'s endpoint and region, uploading under etcd/<UTC time>.db', () => {
      const fake = fakeBucket();
      const file = snapshot();
      const result = runScript({ ...fake.env, KEELSON_NOW: String(Date.UTC(2026, 1, 3, 4, 5, 6) / 1000) }, file);
      expect(result.status).toBe(0);
      const prefix = '--endpoint-url https://fra1.digitaloceanspaces.com --region fra1 s3api';
      expect(fake.log()).toEqual([
        `${prefix} put-object --bucket keelson-backups --key etcd/20260203T040506Z.db --body ${file}`,
        `${prefix} head-object --bucket keelson-backups --key etcd/20260203T040506Z.db --query ContentLength --output text`,
        `${prefix} list-objects-v2 --bucket keelson-backups --prefix etcd/ --query Contents[].Key --output text`,
      ]);
    });

    it('deletes snapshots older than the retention, and only after a good upload', () => {
      const fake = fakeBucket();
      const dir = join(fake.bucket, 'keelson-backups', 'etcd');
      mkdirSync(dir, { recursive: true });
      for (const name of ['20251231T235959Z.db', '20260101T000000Z.db', '20260101T000002Z.db', '20260110T000000Z.db']) writeFileSync(join(dir, name), 'old');
      writeFileSync(join(fake.bucket, 'keelson-backups', 'etcd', 'README'), 'not a snapshot');
      const result = runScript({ ...fake.env, KEELSON_NOW: String(Date.UTC(2026, 0, 15, 0, 0, 1) / 1000) }, snapshot());
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('deleted etcd/20251231T235959Z.db (older than 14 days)');
      expect(result.stdout).toContain('deleted etcd/20260101T000000Z.db (older than 14 days)');
      expect(readdirSync(dir).sort()).toEqual(['20260101T000002Z.db', '20260110T000000Z.db', '20260115T000001Z.db', 'README']);
    });

    it('fails without touching the bucket when the snapshot step wrote nothing', () => {
      const fake = fakeBucket();
      writeFileSync(`${fake.bucket}.log`, '');
      const result = runScript(fake.env, join(work, 'missing.db'));
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/missing.db is missing or empty; the snapshot step did not write it/);
      expect(readFileSync(`${fake.bucket}.log`, 'utf8')).toBe('');
    });
  });
});
