import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type NodeSpec } from '@keelson/platform-spec';
import { decodeInlineContents } from './builder';
import { NODE_PATHS, renderNodeConfigs, type EtcdSnapshotSource } from './node-configs';
import { ETCD_RESTORE_IMAGE } from './pins';
import { testClusterSecrets } from './test-cluster-secrets';

/**
 * Runs the real first-boot script with stand-ins for the programs a node
 * has (curl, kubeadm, sleep), its absolute paths moved under a scratch root.
 */
const spec = parsePlatformConfig(exampleConfig());
const secrets = testClusterSecrets();

function scriptFiles(node: NodeSpec, initialize?: boolean, restoreEtcdSnapshot?: EtcdSnapshotSource): Map<string, string> {
  const config = renderNodeConfigs({ spec, secrets, secretPartUrl: () => 'https://unused/', initialize, restoreEtcdSnapshot }).find((c) => c.node.name === node.name);
  const parsed = JSON.parse(config?.full ?? '{}') as { storage: { files: Array<{ path: string; contents: { source?: string; compression?: string } }> } };
  return new Map(parsed.storage.files.map((f) => [f.path, decodeInlineContents(f.contents)?.toString('utf8') ?? '']));
}

interface Run {
  readonly status: number | null;
  readonly calls: string[];
  /** Each stub call's exact argv, program name first. */
  readonly argv: string[][];
  readonly root: string;
  readonly stderr: string;
}

interface Scenario {
  readonly curlCode?: string;
  readonly kubeadmExit?: number;
  /** Contents of /run/metadata/flatcar. @default DigitalOcean's, with a private address */
  readonly metadata?: string;
  /** What `ip -4 -o addr show` prints. @default nothing */
  readonly ipOutput?: string;
  /** An etcd snapshot to restore when the node creates the cluster. @default none */
  readonly restore?: EtcdSnapshotSource;
  /** What a download (`curl --output <file>`) writes, and its exit code. */
  readonly download?: { readonly content?: string; readonly exit?: number };
  /** Exit code of `ctr run` (the restore), after it wrote part of a data directory. @default 0 */
  readonly ctrRunExit?: number;
}

function boot(node: NodeSpec, env: Scenario, root = mkdtempSync(join(tmpdir(), 'keelson-boot-')), initialize?: boolean): Run {
  const files = scriptFiles(node, initialize, env.restore);
  const rooted = (text: string) => text.replace(/(?<![\w/])\/(run|etc\/keelson|var\/lib\/keelson|var\/lib\/etcd)\b/g, `${root}/$1`);
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(root, 'run/metadata'), { recursive: true });
  writeFileSync(join(root, 'run/metadata/flatcar'), env.metadata ?? 'COREOS_DIGITALOCEAN_IPV4_PRIVATE_0=10.10.0.7\n');
  for (const path of [NODE_PATHS.kubeadmInit, NODE_PATHS.kubeadmJoin, NODE_PATHS.etcdRestoreUrl]) {
    if (!files.has(path) || existsSync(rooted(path))) continue;
    mkdirSync(join(rooted(path), '..'), { recursive: true });
    writeFileSync(rooted(path), files.get(path) as string);
  }
  const log = join(root, 'calls.log');
  const argvLog = join(root, 'argv.log');
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n{ printf '%s' ${name}; printf '\\x1f%s' "$@"; echo; } >> ${argvLog}\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  // The value after a flag, e.g. `flag --output` sets $out.
  const flag = (name: string, variable: string) => `${variable}=""; prev=""; for a in "$@"; do [ "$prev" = ${name} ] && ${variable}="$a"; prev="$a"; done`;
  writeFileSync(join(root, 'snapshot-source.db'), env.download?.content ?? 'an etcd snapshot');
  stub(
    'curl',
    [
      flag('--output', 'out'),
      `if [ -n "$out" ] && [ "$out" != /dev/null ]; then cp ${root}/snapshot-source.db "$out"; exit ${env.download?.exit ?? 0}; fi`,
      `printf '%s' "${env.curlCode ?? '000'}"`,
    ].join('\n'),
  );
  // The real sha256sum, logged: the hash check is part of what is under test.
  stub('sha256sum', `exec ${realSha256sum} "$@"`);
  // containerd's ctr: `run` stands in for etcdutl, writing a data directory from the snapshot it is given.
  stub(
    'ctr',
    [
      'if [ "$3" = run ]; then',
      `  ${flag('--data-dir', 'data')}`,
      `  ${flag('restore', 'file')}`,
      '  mkdir -p "$data/member/snap" && cp "$file" "$data/member/snap/db" || exit 3',
      `  exit ${env.ctrRunExit ?? 0}`,
      'fi',
    ].join('\n'),
  );
  stub('sleep', 'exit 0');
  stub('ip', `printf '%s' "${env.ipOutput ?? ''}"`);
  stub('kubeadm', `if [ "$1" = reset ]; then exit 0; fi\n[ -f "\${@: -1}" ] || true\ncp "$3" ${root}/kubeadm-seen.yaml 2>/dev/null || true\nexit ${env.kubeadmExit ?? 0}`);
  const script = join(root, 'bootstrap');
  const text = rooted(files.get(NODE_PATHS.bootstrapScript) as string);
  // The script removes /var/lib/etcd: never let it see the real one.
  if (/(?<![\w/])\/var\/lib\/(etcd|keelson)/.test(text)) throw new Error('a /var/lib path was not moved under the scratch root');
  writeFileSync(script, text);
  const r = spawnSync('bash', [script], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } });
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  const argv = existsSync(argvLog) ? readFileSync(argvLog, 'utf8').trim().split('\n').map((line) => line.split('\x1f')) : [];
  return { status: r.status, calls, argv, root, stderr: r.stderr };
}

const realSha256sum = spawnSync('bash', ['-c', 'command -v sha256sum'], { encoding: 'utf8' }).stdout.trim();
const [first, second] = spec.topology.controllers;
const worker = spec.topology.workers[0];
const rootedPath = (root: string, p: string) => join(root, p);

describe('the first-boot script', () => {
  it('creates the cluster on the first controller when nothing answers for three minutes', () => {
    const run = boot(first, { curlCode: '000' });
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('curl'))).toHaveLength(18);
    expect(run.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([expect.stringMatching(/^kubeadm init --config .*kubeadm\.yaml --skip-token-print$/)]);
    const seen = readFileSync(join(run.root, 'kubeadm-seen.yaml'), 'utf8');
    expect(seen).toMatch(/kind: InitConfiguration/);
    expect(seen).toMatch(/advertiseAddress: "10\.10\.0\.7"/);
    expect(seen).toMatch(/value: "10\.10\.0\.7"/);
    expect(seen).not.toContain('@NODE_IP@');
    expect(existsSync(rootedPath(run.root, NODE_PATHS.joinedStamp))).toBe(true);
    // The stamp that lets keelson-bootstrap-manifests.service apply the pod network.
    expect(existsSync(rootedPath(run.root, NODE_PATHS.initializedStamp))).toBe(true);
    expect(existsSync(rootedPath(run.root, NODE_PATHS.kubeadmJoin))).toBe(false);
    expect(existsSync(join(run.root, 'run/keelson/kubeadm.yaml'))).toBe(false);
  });

  it('joins on the first controller when any HTTP answer shows a cluster exists', () => {
    const run = boot(first, { curlCode: '401' });
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('curl'))).toHaveLength(1);
    expect(run.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([expect.stringMatching(/^kubeadm join --config /)]);
    expect(readFileSync(join(run.root, 'kubeadm-seen.yaml'), 'utf8')).toMatch(/kind: JoinConfiguration/);
    expect(existsSync(rootedPath(run.root, NODE_PATHS.initializedStamp))).toBe(false);
  });

  it('never probes or creates a cluster on a replaced first controller', () => {
    const run = boot(first, { curlCode: '000' }, undefined, false);
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('curl'))).toEqual([]);
    expect(run.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([expect.stringMatching(/^kubeadm join /)]);
  });

  it('waits its turn on later controllers, once', () => {
    const run = boot(second, {});
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('sleep'))).toEqual(['sleep 90']);
  });

  it('resets a failed join, keeps no stamp and no token file, and succeeds on the next try', () => {
    const failed = boot(worker, { kubeadmExit: 1 });
    expect(failed.status).toBe(1);
    expect(failed.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([expect.stringMatching(/^kubeadm join /), 'kubeadm reset --force']);
    expect(existsSync(rootedPath(failed.root, NODE_PATHS.joinedStamp))).toBe(false);
    expect(existsSync(join(failed.root, 'run/keelson/kubeadm.yaml'))).toBe(false);
    expect(existsSync(rootedPath(failed.root, NODE_PATHS.kubeadmJoin))).toBe(true);
    const retried = boot(worker, { kubeadmExit: 0 }, failed.root);
    expect(retried.status).toBe(0);
    expect(existsSync(rootedPath(retried.root, NODE_PATHS.joinedStamp))).toBe(true);
  });

  it('takes the address from the node network when the metadata has none (Hetzner)', () => {
    const run = boot(worker, { metadata: 'COREOS_HETZNER_HOSTNAME=x\n', ipOutput: '3: enp7s0    inet 10.10.0.9/32 brd 10.10.0.9 scope global dynamic enp7s0\n' });
    expect(run.status).toBe(0);
    expect(run.calls).toContain('ip -4 -o addr show to 10.10.0.0/16');
    expect(readFileSync(join(run.root, 'kubeadm-seen.yaml'), 'utf8')).toMatch(/value: "10\.10\.0\.9"/);
  });

  describe('restoring etcd from a snapshot', () => {
    const url = 'https://keelson-backups.fra1.digitaloceanspaces.com/etcd/20261125T081500Z.db?X-Amz-Signature=abc&X-Amz-Expires=604800';
    const content = 'an etcd snapshot';
    const sha256 = createHash('sha256').update(content).digest('hex');
    const programs = (run: Run) => run.argv.filter(([p, ...args]) => p !== 'sleep' && p !== 'ip' && !(p === 'curl' && args.includes('/dev/null')));
    const etcdData = (root: string) => join(root, 'var/lib/etcd');
    const downloaded = (root: string) => rootedPath(root, NODE_PATHS.etcdRestoreSnapshot);

    it('downloads, checks the hash, restores with etcdutl from the pinned image, then runs kubeadm init on the restored data, in that order', () => {
      const run = boot(first, { curlCode: '000', restore: { url, sha256 }, download: { content } });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      // Created only after three minutes of silence on the API endpoint, as without a restore.
      expect(run.calls.filter((c) => c.startsWith('curl --silent --insecure'))).toHaveLength(18);
      const snapshot = downloaded(run.root);
      expect(programs(run)).toEqual([
        ['curl', '--fail', '--silent', '--show-error', '--location', '--retry', '10', '--retry-delay', '10', '--retry-all-errors', '--connect-timeout', '10', '--output', snapshot, url],
        ['sha256sum', snapshot],
        ['ctr', '-n', 'k8s.io', 'image', 'pull', ETCD_RESTORE_IMAGE],
        ['ctr', '-n', 'k8s.io', 'containers', 'delete', 'keelson-etcd-restore'],
        [
          'ctr', '-n', 'k8s.io', 'run', '--rm', '--mount', 'type=bind,src=/var/lib,dst=/var/lib,options=rbind:rw', ETCD_RESTORE_IMAGE, 'keelson-etcd-restore',
          'etcdutl', 'snapshot', 'restore', snapshot, '--data-dir', etcdData(run.root), '--name', 'keelson-controller-1',
          '--initial-cluster', 'keelson-controller-1=https://10.10.0.7:2380', '--initial-advertise-peer-urls', 'https://10.10.0.7:2380',
        ],
        ['kubeadm', 'init', '--config', join(run.root, 'run/keelson/kubeadm.yaml'), '--skip-token-print', '--ignore-preflight-errors=DirAvailable--var-lib-etcd'],
      ]);
      expect(ETCD_RESTORE_IMAGE).toBe('registry.k8s.io/etcd:3.6.8-0');
      // etcd's data is in place for kubeadm; the download and the link are gone.
      expect(readFileSync(join(etcdData(run.root), 'member/snap/db'), 'utf8')).toBe(content);
      expect(existsSync(snapshot)).toBe(false);
      expect(existsSync(rootedPath(run.root, NODE_PATHS.etcdRestoreUrl))).toBe(false);
      expect(existsSync(rootedPath(run.root, NODE_PATHS.initializedStamp))).toBe(true);
      expect(existsSync(rootedPath(run.root, NODE_PATHS.joinedStamp))).toBe(true);
    });

    it('skips the hash check when no hash is given', () => {
      const run = boot(first, { restore: { url } });
      expect(run.status).toBe(0);
      expect(programs(run).map(([p]) => p)).toEqual(['curl', 'ctr', 'ctr', 'ctr', 'kubeadm']);
      expect(run.calls.filter((c) => c.startsWith('sha256sum'))).toEqual([]);
    });

    it('refuses a snapshot with another hash: no restore, no kubeadm, no /var/lib/etcd, and the link kept for the retry', () => {
      const run = boot(first, { restore: { url, sha256 }, download: { content: 'something else' } });
      expect(run.status).toBe(1);
      const actual = createHash('sha256').update('something else').digest('hex');
      expect(run.stderr).toContain(`kubeadm-bootstrap: the etcd snapshot's sha256 is ${actual}, not ${sha256} (--restore-etcd-sha256); refusing to restore it: check the object key and the hash, synth again and redeploy`);
      expect(programs(run).map(([p]) => p)).toEqual(['curl', 'sha256sum']);
      expect(existsSync(etcdData(run.root))).toBe(false);
      expect(existsSync(downloaded(run.root))).toBe(false);
      expect(existsSync(rootedPath(run.root, NODE_PATHS.etcdRestoreUrl))).toBe(true);
      expect(existsSync(rootedPath(run.root, NODE_PATHS.joinedStamp))).toBe(false);
    });

    it('stops with a clear message when the snapshot cannot be downloaded (an expired link)', () => {
      const run = boot(first, { restore: { url, sha256 }, download: { exit: 22 } });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/could not download the etcd snapshot from the link in .*etc\/keelson\/etcd-restore-url \(links expire 7 days after keelson synth; synth with --restore-etcd again and redeploy\)/);
      expect(programs(run).map(([p]) => p)).toEqual(['curl']);
      expect(existsSync(downloaded(run.root))).toBe(false);
    });

    it('removes a half-restored /var/lib/etcd when etcdutl fails, and restores cleanly on the retry', () => {
      const failed = boot(first, { restore: { url, sha256 }, download: { content }, ctrRunExit: 1 });
      expect(failed.status).toBe(1);
      expect(failed.stderr).toMatch(/kubeadm-bootstrap: etcdutl could not restore the snapshot into .*var\/lib\/etcd/);
      expect(failed.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([]);
      expect(existsSync(etcdData(failed.root))).toBe(false);
      expect(existsSync(downloaded(failed.root))).toBe(false);
      const retried = boot(first, { restore: { url, sha256 }, download: { content } }, failed.root);
      expect(retried.status).toBe(0);
      expect(readFileSync(join(etcdData(retried.root), 'member/snap/db'), 'utf8')).toBe(content);
    });

    it('resets a failed kubeadm init and removes the restored data, so the retry restores again from scratch', () => {
      const run = boot(first, { restore: { url }, download: { content }, kubeadmExit: 1 });
      expect(run.status).toBe(1);
      expect(run.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([expect.stringMatching(/^kubeadm init .* --ignore-preflight-errors=DirAvailable--var-lib-etcd$/), 'kubeadm reset --force']);
      expect(existsSync(etcdData(run.root))).toBe(false);
      expect(existsSync(rootedPath(run.root, NODE_PATHS.initializedStamp))).toBe(false);
    });

    it('never restores when an API server answers: the first controller joins, and the link is removed', () => {
      const run = boot(first, { curlCode: '401', restore: { url, sha256 }, download: { content } });
      expect(run.status).toBe(0);
      expect(programs(run).map(([p, cmd]) => `${p} ${cmd}`)).toEqual(['kubeadm join']);
      expect(existsSync(etcdData(run.root))).toBe(false);
      expect(existsSync(rootedPath(run.root, NODE_PATHS.etcdRestoreUrl))).toBe(false);
    });

    it('leaves the script and kubeadm init unchanged when no restore is configured', () => {
      const run = boot(first, { curlCode: '000' });
      expect(run.status).toBe(0);
      expect(programs(run)).toEqual([['kubeadm', 'init', '--config', join(run.root, 'run/keelson/kubeadm.yaml'), '--skip-token-print']]);
      const script = scriptFiles(first).get(NODE_PATHS.bootstrapScript) ?? '';
      expect(script).not.toMatch(/etcdutl|ctr |etcd-restore|ignore-preflight-errors|\/var\/lib\/etcd/);
      expect(script).toContain('\n  kubeadm init --config "${work}" --skip-token-print || { kubeadm reset --force; exit 1; }\n');
    });
  });

  it('stops with a clear message when no private address can be found', () => {
    const run = boot(worker, { metadata: 'COREOS_HETZNER_HOSTNAME=x\n' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/coreos-metadata wrote no private IPv4 address and no interface is in the node network/);
    expect(run.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([]);
  });
});
