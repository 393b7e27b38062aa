import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type NodeSpec } from '@keelson/platform-spec';
import { decodeInlineContents } from './builder';
import { NODE_PATHS, renderNodeConfigs, type EtcdSnapshotSource } from './node-configs';
import { ETCD_RESTORE_IMAGE } from './pins';
import { testClusterSecrets } from './test-cluster-secrets';

/**
 * Runs the real first-boot script (scripts/kubeadm-bootstrap.sh, as Ignition
 * writes it) under a scratch root (`KEELSON_ROOT`), with every file the
 * node's Ignition config writes in place and stand-ins for the programs a
 * node has (curl, kubeadm, kubectl, ctr, ip, sleep). kubeadm's own behaviour
 * is proven with the real kubeadm in bootstrap-kubeadm.int.test.ts.
 */
const spec = parsePlatformConfig(exampleConfig());
const secrets = testClusterSecrets();

function nodeFiles(node: NodeSpec, initialize = true, restoreEtcdSnapshot?: EtcdSnapshotSource): Map<string, string> {
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
  /** The status file's KEY=value lines. */
  readonly state: Record<string, string>;
}

interface Scenario {
  /** What `curl .../livez` answers (the init probe): an HTTP code, `000` for nothing. @default '000' */
  readonly livez?: string;
  /** Whether `/readyz` answers 200. @default true */
  readonly apiReady?: boolean;
  /** Whether cluster-info carries the signature for our token. @default true */
  readonly clusterInfo?: boolean;
  /** kubeadm init/join exit code. @default 0 */
  readonly kubeadmExit?: number;
  /** The join lock: free, or held by another controller (fresh or long expired). @default 'free' */
  readonly lease?: 'free' | 'held' | 'expired';
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
  /** Extra environment (bounds). */
  readonly env?: Record<string, string>;
}

const realSha256sum = spawnSync('bash', ['-c', 'command -v sha256sum'], { encoding: 'utf8' }).stdout.trim();
const tokenId = secrets.bootstrapToken.split('.')[0];

function boot(node: NodeSpec, scenario: Scenario, root?: string, initialize?: boolean): Run {
  const fresh = root === undefined;
  const dir = root ?? mkdtempSync(join(tmpdir(), 'keelson-boot-'));
  const at = (p: string) => join(dir, p);
  if (fresh) {
    // What Ignition wrote, once: a retry finds whatever the previous attempt left.
    for (const [path, text] of nodeFiles(node, initialize, scenario.restore)) {
      mkdirSync(dirname(at(path)), { recursive: true });
      writeFileSync(at(path), text);
    }
  }
  const bin = at('bin');
  mkdirSync(bin, { recursive: true });
  mkdirSync(at('run/metadata'), { recursive: true });
  writeFileSync(at('run/metadata/flatcar'), scenario.metadata ?? 'COREOS_DIGITALOCEAN_IPV4_PRIVATE_0=10.10.0.7\n');
  const log = at('calls.log');
  const argvLog = at('argv.log');
  rmSync(log, { force: true });
  rmSync(argvLog, { force: true });
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n{ printf '%s' ${name}; printf '\\x1f%s' "$@"; echo; } >> ${argvLog}\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  // The value after a flag, e.g. `flag --output` sets $out.
  const flag = (name: string, variable: string) => `${variable}=""; prev=""; for a in "$@"; do [ "$prev" = ${name} ] && ${variable}="$a"; prev="$a"; done`;
  writeFileSync(at('snapshot-source.db'), scenario.download?.content ?? 'an etcd snapshot');
  stub(
    'curl',
    [
      flag('--output', 'out'),
      `if [ -n "$out" ] && [ "$out" != /dev/null ]; then cp ${dir}/snapshot-source.db "$out"; exit ${scenario.download?.exit ?? 0}; fi`,
      'url="${@: -1}"',
      `case "$url" in`,
      `  */livez) printf '%s' "${scenario.livez ?? '000'}" ;;`,
      `  */readyz) exit ${scenario.apiReady === false ? 7 : 0} ;;`,
      `  */cluster-info) ${scenario.clusterInfo === false ? `echo '{"data":{"kubeconfig":"x"}}'` : `echo '{"data":{"jws-kubeconfig-${tokenId}":"sig","kubeconfig":"x"}}'`} ;;`,
      'esac',
    ].join('\n'),
  );
  stub('sha256sum', `exec ${realSha256sum} "$@"`);
  // containerd's ctr: `run` stands in for etcdutl, writing a data directory from the snapshot it is given.
  stub(
    'ctr',
    [
      'if [ "$3" = run ]; then',
      `  ${flag('--data-dir', 'data')}`,
      `  ${flag('restore', 'file')}`,
      '  mkdir -p "$data/member/snap" && cp "$file" "$data/member/snap/db" || exit 3',
      `  exit ${scenario.ctrRunExit ?? 0}`,
      'fi',
    ].join('\n'),
  );
  stub('sleep', 'exit 0');
  stub('ip', `printf '%s' "${scenario.ipOutput ?? ''}"`);
  // kubeadm reset empties the certificates folder, as the real one does (bootstrap-kubeadm.int.test.ts).
  stub(
    'kubeadm',
    [
      `if [ "$1" = reset ]; then rm -rf ${dir}/etc/kubernetes/pki/*; exit 0; fi`,
      `cp "$3" ${dir}/kubeadm-seen.yaml 2>/dev/null || true`,
      `exit ${scenario.kubeadmExit ?? 0}`,
    ].join('\n'),
  );
  const renew = scenario.lease === 'expired' ? '2020-01-01T00:00:00.000000Z' : new Date().toISOString().replace('Z', '000Z');
  stub(
    'kubectl',
    [
      'cat > /dev/null',
      'case "$*" in',
      `  *" create -f -"*) ${scenario.lease === undefined || scenario.lease === 'free' ? 'exit 0' : `echo 'Error from server (AlreadyExists): leases.coordination.k8s.io "control-plane-join" already exists' >&2; exit 1`} ;;`,
      `  *" get lease control-plane-join -o jsonpath={.spec.holderIdentity}{\\" \\"}"*) printf '%s' "keelson-controller-3 ${renew} 1500 42" ;;`,
      `  *" get lease control-plane-join -o jsonpath={.spec.holderIdentity}") printf '%s' "${node.name}" ;;`,
      'esac',
      'exit 0',
    ].join('\n'),
  );
  const r = spawnSync('bash', [at(NODE_PATHS.bootstrapScript)], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH}`, KEELSON_ROOT: dir, KEELSON_INIT_PROBE_SECONDS: '30', ...scenario.env },
  });
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  const argv = existsSync(argvLog) ? readFileSync(argvLog, 'utf8').trim().split('\n').map((line) => line.split('\x1f')) : [];
  const statusFile = at(NODE_PATHS.bootstrapStatus);
  const state = existsSync(statusFile) ? Object.fromEntries(readFileSync(statusFile, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) : {};
  return { status: r.status, calls, argv, root: dir, stderr: r.stderr, state };
}

const [first, second] = spec.topology.controllers;
const worker = spec.topology.workers[0];
const kubeadmCalls = (run: Run) => run.calls.filter((c) => c.startsWith('kubeadm'));
const curlTo = (run: Run, path: string) => run.calls.filter((c) => c.startsWith('curl') && c.endsWith(path));
const lockCalls = (run: Run) => run.calls.filter((c) => c.startsWith('kubectl') && /create -f -|replace -f -|delete lease/.test(c));
const pkiFiles = ['ca.crt', 'ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'etcd/ca.crt', 'etcd/ca.key', 'sa.key', 'sa.pub'];
const ignitionPki = (node: NodeSpec) => Object.fromEntries(pkiFiles.map((f) => [f, nodeFiles(node).get(`${NODE_PATHS.pki}/${f}`)]));
const pkiOn = (root: string) => Object.fromEntries(pkiFiles.map((f) => [f, existsSync(join(root, NODE_PATHS.pki, f)) ? readFileSync(join(root, NODE_PATHS.pki, f), 'utf8') : undefined]));

describe('the first-boot script', () => {
  it('creates the cluster on the first controller of a first deploy when nothing answers within the 30 s probe', () => {
    const run = boot(first, { livez: '000' });
    expect(run.stderr).toMatch(/keelson-bootstrap node=keelson-controller-1 step=probe attempt=1: nothing answered at api\.example\.com:6443: this first deploy creates the cluster/);
    expect(run.status).toBe(0);
    expect(curlTo(run, '/livez')).toHaveLength(7);
    expect(kubeadmCalls(run)).toEqual([expect.stringMatching(/^kubeadm init --config .*run\/keelson\/kubeadm\.yaml --skip-token-print$/)]);
    const seen = readFileSync(join(run.root, 'kubeadm-seen.yaml'), 'utf8');
    expect(seen).toMatch(/kind: InitConfiguration/);
    expect(seen).toMatch(/advertiseAddress: "10\.10\.0\.7"/);
    expect(seen).not.toContain('@NODE_IP@');
    // The creator never waits for itself, and gives joiners their lock and status rights.
    expect(curlTo(run, '/readyz')).toEqual([]);
    expect(run.calls).toContain(`kubectl --kubeconfig ${run.root}/etc/kubernetes/admin.conf --request-timeout=10s apply --server-side --force-conflicts --field-manager=keelson-bootstrap -f -`);
    expect(existsSync(join(run.root, NODE_PATHS.joinedStamp))).toBe(true);
    expect(existsSync(join(run.root, NODE_PATHS.initializedStamp))).toBe(true);
    expect(existsSync(join(run.root, NODE_PATHS.kubeadmJoin))).toBe(false);
    expect(existsSync(join(run.root, NODE_PATHS.kubeadmInit))).toBe(false);
    expect(existsSync(join(run.root, 'run/keelson/kubeadm.yaml'))).toBe(false);
    expect(run.state).toMatchObject({ node: 'keelson-controller-1', state: 'joined', step: 'finish', attempt: '1', message: 'kubeadm init done' });
  });

  it('joins on the first controller of a first deploy when any HTTP answer shows a cluster exists', () => {
    const run = boot(first, { livez: '401' });
    expect(run.status).toBe(0);
    expect(curlTo(run, '/livez')).toHaveLength(1);
    expect(run.stderr).toMatch(/a cluster exists, so this node joins it instead of creating one/);
    expect(kubeadmCalls(run)).toEqual([expect.stringMatching(/^kubeadm join --config /)]);
    expect(readFileSync(join(run.root, 'kubeadm-seen.yaml'), 'utf8')).toMatch(/kind: JoinConfiguration/);
    expect(existsSync(join(run.root, NODE_PATHS.initializedStamp))).toBe(false);
  });

  it('never probes or creates a cluster on a replaced first controller: API silence means waiting, then a visible failure', () => {
    const run = boot(first, { livez: '000', apiReady: false, env: { KEELSON_API_WAIT_SECONDS: '100' } }, undefined, false);
    expect(run.status).toBe(1);
    expect(curlTo(run, '/livez')).toEqual([]);
    expect(kubeadmCalls(run)).toEqual([]);
    // 2, 4, 8, 16, 30, 30 s between tries: seven tries fit in 100 s.
    expect(curlTo(run, '/readyz')).toHaveLength(7);
    expect(run.calls.filter((c) => c.startsWith('sleep'))).toEqual(['sleep 2', 'sleep 4', 'sleep 8', 'sleep 16', 'sleep 30', 'sleep 30']);
    expect(run.stderr).toMatch(/step=wait-api attempt=1: API ready at api\.example\.com:6443: still no after 7 tries, 90 s \(bound 100 s\)/);
    expect(run.state).toMatchObject({ state: 'failed', step: 'wait-api', attempt: '1' });
    expect(run.state.message).toBe('the API at api.example.com:6443 was not ready within 100 s (is the first controller up, and the load balancer\'s health check green?)');
  });

  it('checks the API endpoint against the cluster CA Ignition wrote', () => {
    const run = boot(worker, {});
    expect(run.status).toBe(0);
    const readyz = run.argv.find(([p, ...a]) => p === 'curl' && a.at(-1)?.endsWith('/readyz'));
    expect(readyz).toEqual(['curl', '--silent', '--fail', '--max-time', '5', '--cacert', join(run.root, NODE_PATHS.clusterCa), '--output', '/dev/null', 'https://api.example.com:6443/readyz']);
    expect(readFileSync(join(run.root, NODE_PATHS.clusterCa), 'utf8')).toBe(secrets.kubernetesCa.certPem);
  });

  it('makes a worker wait for /readyz, then for cluster-info signed for its token, then join without the control-plane lock', () => {
    const waiting = boot(worker, { clusterInfo: false, env: { KEELSON_CLUSTER_INFO_WAIT_SECONDS: '10' } });
    expect(waiting.status).toBe(1);
    expect(kubeadmCalls(waiting)).toEqual([]);
    expect(waiting.state).toMatchObject({ state: 'failed', step: 'wait-cluster-info' });
    expect(waiting.state.message).toMatch(new RegExp(`no signature for bootstrap token ${tokenId} after 10 s`));
    const run = boot(worker, {}, waiting.root);
    expect(run.status).toBe(0);
    const order = run.calls.filter((c) => /^(curl|kubeadm)/.test(c)).map((c) => (c.startsWith('kubeadm') ? c.split(' ').slice(0, 2).join(' ') : c.split('/').at(-1)));
    expect(order).toEqual(['readyz', 'cluster-info', 'kubeadm join']);
    expect(lockCalls(run)).toEqual([]);
    expect(run.state).toMatchObject({ state: 'joined', attempt: '2' });
  });

  it('takes the control-plane join lock before a controller joins, and releases it after', () => {
    const run = boot(second, {});
    expect(run.status).toBe(0);
    const order = run.calls.filter((c) => c.startsWith('kubeadm') || /create -f -|delete lease/.test(c)).map((c) => c.replace(/ --kubeconfig \S+ --request-timeout=10s/, ''));
    expect(order).toEqual([
      'kubectl create -f -',
      expect.stringMatching(/^kubeadm join --config /),
      'kubectl -n keelson-boot delete lease control-plane-join',
    ]);
  });

  it('waits while another controller holds the join lock, and fails visibly at the bound', () => {
    const run = boot(second, { lease: 'held', env: { KEELSON_LOCK_WAIT_SECONDS: '20' } });
    expect(run.status).toBe(1);
    expect(kubeadmCalls(run)).toEqual([]);
    expect(run.stderr).toMatch(/step=join-lock attempt=1: control-plane join lock held by keelson-controller-3 until/);
    expect(run.state).toMatchObject({ state: 'failed', step: 'join-lock' });
    expect(run.state.message).toBe('another controller held Lease keelson-boot/control-plane-join for 20 s (kubectl -n keelson-boot get lease control-plane-join)');
  });

  it('takes over a join lock whose holder let it expire', () => {
    const run = boot(second, { lease: 'expired' });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/took the control-plane join lock over from keelson-controller-3/);
    expect(lockCalls(run).map((c) => c.replace(/ --kubeconfig \S+ --request-timeout=10s/, ''))).toEqual(['kubectl create -f -', 'kubectl replace -f -', 'kubectl -n keelson-boot delete lease control-plane-join']);
  });

  it('resets a failed join, puts back the CAs kubeadm reset removed, and succeeds on the next attempt with the same CAs', () => {
    const failed = boot(second, { kubeadmExit: 1 });
    expect(failed.status).toBe(1);
    expect(kubeadmCalls(failed)).toEqual([expect.stringMatching(/^kubeadm join /), 'kubeadm reset --force']);
    expect(failed.state).toMatchObject({ state: 'failed', step: 'kubeadm-join', attempt: '1' });
    expect(failed.state.message).toMatch(/^kubeadm join failed \(exit 1\); reset, the next attempt starts clean/);
    expect(pkiOn(failed.root)).toEqual(ignitionPki(second));
    expect(readFileSync(join(failed.root, NODE_PATHS.keptPki, 'ca.key'), 'utf8')).toBe(secrets.kubernetesCa.keyPem);
    expect(existsSync(join(failed.root, NODE_PATHS.joinedStamp))).toBe(false);
    expect(existsSync(join(failed.root, 'run/keelson/kubeadm.yaml'))).toBe(false);
    expect(existsSync(join(failed.root, NODE_PATHS.kubeadmJoin))).toBe(true);
    // The lock is released at once, so the next controller need not wait for it to expire.
    expect(lockCalls(failed).at(-1)).toMatch(/delete lease control-plane-join$/);
    const retried = boot(second, {}, failed.root);
    expect(retried.status).toBe(0);
    expect(pkiOn(retried.root)).toEqual(ignitionPki(second));
    expect(retried.state).toMatchObject({ state: 'joined', attempt: '2' });
  });

  it('gives up after the last attempt with exit 75, keeping the last error in the status', () => {
    const env = { KEELSON_MAX_ATTEMPTS: '2' };
    const one = boot(worker, { kubeadmExit: 1, env });
    const two = boot(worker, { kubeadmExit: 1, env }, one.root);
    expect([one.status, two.status]).toEqual([1, 1]);
    const three = boot(worker, { kubeadmExit: 1, env }, one.root);
    expect(three.status).toBe(75);
    expect(kubeadmCalls(three)).toEqual([]);
    expect(three.state).toMatchObject({ state: 'gave-up', step: 'give-up', attempt: '3' });
    expect(three.state.message).toMatch(/^kubeadm join failed \(exit 1\).* \(gave up after 2 attempts; replace the node\)$/);
  });

  it('never runs kubeadm on a controller whose Ignition-provided CA is missing: a node never generates a CA', () => {
    const root = mkdtempSync(join(tmpdir(), 'keelson-boot-'));
    for (const [path, text] of nodeFiles(second)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      if (path !== `${NODE_PATHS.pki}/etcd/ca.key`) writeFileSync(join(root, path), text);
    }
    const run = boot(second, {}, root);
    expect(run.status).toBe(1);
    expect(kubeadmCalls(run)).toEqual([]);
    expect(run.state).toMatchObject({ state: 'failed', step: 'keep-pki' });
    expect(run.state.message).toMatch(/lacks etcd\/ca\.key from Ignition .* a controller never generates a CA/);
  });

  it('finishes without running kubeadm again when an earlier attempt got past kubeadm', () => {
    const failed = boot(first, { livez: '000' });
    expect(failed.status).toBe(0);
    rmSync(join(failed.root, NODE_PATHS.joinedStamp));
    const again = boot(first, {}, failed.root);
    expect(again.status).toBe(0);
    expect(kubeadmCalls(again)).toEqual([]);
    expect(again.stderr).toMatch(/kubeadm init succeeded in an earlier attempt; finishing/);
  });

  it('takes the address from the node network when the metadata has none (Hetzner)', () => {
    const run = boot(worker, { metadata: 'COREOS_HETZNER_HOSTNAME=x\n', ipOutput: '3: enp7s0    inet 10.10.0.9/32 brd 10.10.0.9 scope global dynamic enp7s0\n' });
    expect(run.status).toBe(0);
    expect(run.calls).toContain('ip -4 -o addr show to 10.10.0.0/16');
    expect(readFileSync(join(run.root, 'kubeadm-seen.yaml'), 'utf8')).toMatch(/value: "10\.10\.0\.9"/);
  });

  it('stops with a clear message when no private address can be found', () => {
    const run = boot(worker, { metadata: 'COREOS_HETZNER_HOSTNAME=x\n' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/step=address attempt=1: FAILED: coreos-metadata wrote no private IPv4 address and no interface is in the node network 10\.10\.0\.0\/16/);
    expect(kubeadmCalls(run)).toEqual([]);
  });

  describe('restoring etcd from a snapshot', () => {
    const url = 'https://keelson-backups.fra1.digitaloceanspaces.com/etcd/20261125T081500Z.db?X-Amz-Signature=abc&X-Amz-Expires=604800';
    const content = 'an etcd snapshot';
    const sha256 = createHash('sha256').update(content).digest('hex');
    const programs = (run: Run) => run.argv.filter(([p, ...args]) => ['curl', 'sha256sum', 'ctr', 'kubeadm'].includes(p) && !(p === 'curl' && args.at(-1)?.startsWith('https://api.example.com:6443/')));
    const etcdData = (root: string) => join(root, 'var/lib/etcd');
    const downloaded = (root: string) => join(root, NODE_PATHS.etcdRestoreSnapshot);

    it('downloads, checks the hash, restores with etcdutl from the pinned image, then runs kubeadm init on the restored data, in that order', () => {
      const run = boot(first, { livez: '000', restore: { url, sha256 }, download: { content } });
      expect(run.status).toBe(0);
      const snapshot = downloaded(run.root);
      expect(programs(run)).toEqual([
        ['curl', '--fail', '--silent', '--show-error', '--location', '--retry', '10', '--retry-delay', '10', '--retry-all-errors', '--connect-timeout', '10', '--max-time', '1800', '--output', snapshot, url],
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
      expect(readFileSync(join(etcdData(run.root), 'member/snap/db'), 'utf8')).toBe(content);
      expect(existsSync(snapshot)).toBe(false);
      expect(existsSync(join(run.root, NODE_PATHS.etcdRestoreUrl))).toBe(false);
      expect(existsSync(join(run.root, NODE_PATHS.initializedStamp))).toBe(true);
    });

    it('skips the hash check when no hash is given', () => {
      const run = boot(first, { restore: { url } });
      expect(run.status).toBe(0);
      expect(programs(run).map(([p]) => p)).toEqual(['curl', 'ctr', 'ctr', 'ctr', 'kubeadm']);
    });

    it('refuses a snapshot with another hash: no restore, no kubeadm, no /var/lib/etcd, and the link kept for the retry', () => {
      const run = boot(first, { restore: { url, sha256 }, download: { content: 'something else' } });
      expect(run.status).toBe(1);
      const actual = createHash('sha256').update('something else').digest('hex');
      expect(run.state.message).toBe(`the etcd snapshot's sha256 is ${actual}, not ${sha256} (--restore-etcd-sha256); refusing to restore it: check the object key and the hash, synth again and redeploy`);
      expect(run.state.step).toBe('etcd-restore');
      expect(programs(run).map(([p]) => p)).toEqual(['curl', 'sha256sum']);
      expect(existsSync(etcdData(run.root))).toBe(false);
      expect(existsSync(downloaded(run.root))).toBe(false);
      expect(existsSync(join(run.root, NODE_PATHS.etcdRestoreUrl))).toBe(true);
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
      expect(failed.state.message).toMatch(/^etcdutl could not restore the snapshot into .*var\/lib\/etcd$/);
      expect(kubeadmCalls(failed)).toEqual([]);
      expect(existsSync(etcdData(failed.root))).toBe(false);
      const retried = boot(first, { restore: { url, sha256 }, download: { content } }, failed.root);
      expect(retried.status).toBe(0);
      expect(readFileSync(join(etcdData(retried.root), 'member/snap/db'), 'utf8')).toBe(content);
    });

    it('resets a failed kubeadm init and removes the restored data, so the retry restores again from scratch', () => {
      const run = boot(first, { restore: { url }, download: { content }, kubeadmExit: 1 });
      expect(run.status).toBe(1);
      expect(kubeadmCalls(run)).toEqual([expect.stringMatching(/^kubeadm init .* --ignore-preflight-errors=DirAvailable--var-lib-etcd$/), 'kubeadm reset --force']);
      expect(existsSync(etcdData(run.root))).toBe(false);
      expect(existsSync(join(run.root, NODE_PATHS.initializedStamp))).toBe(false);
      expect(pkiOn(run.root)).toEqual(ignitionPki(first));
    });

    it('never restores when an API server answers: the first controller joins, and the link is removed', () => {
      const run = boot(first, { livez: '401', restore: { url, sha256 }, download: { content } });
      expect(run.status).toBe(0);
      expect(programs(run).map(([p, cmd]) => `${p} ${cmd}`)).toEqual(['kubeadm join']);
      expect(existsSync(etcdData(run.root))).toBe(false);
      expect(existsSync(join(run.root, NODE_PATHS.etcdRestoreUrl))).toBe(false);
    });
  });
});
