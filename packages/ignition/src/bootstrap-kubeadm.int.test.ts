import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type PlatformConfigInput } from '@keelson/platform-spec';
import { requirePeer } from '@keelson/upstream';
import { decodeInlineContents } from './builder';
import { NODE_PATHS, renderNodeConfigs, type NodeIgnition } from './node-configs';
import { applyIgnition } from './testing';
import { testClusterSecrets } from './test-cluster-secrets';

/**
 * The first-boot script against the real kubeadm (the v1.36 peer), in a
 * private mount namespace: `unshare -m`, with overlays over /etc, /var/lib
 * and /opt and a tmpfs over /run, so kubeadm works on the real paths
 * (/etc/kubernetes/pki, /var/lib/etcd, /var/lib/kubelet) and nothing it
 * writes or deletes reaches the machine. The node's files come from the real
 * Ignition applied into a scratch root, as the other tests do.
 */
jest.setTimeout(180_000);

const kubeadm = requirePeer('kubeadm', 'the first-boot kubeadm test');
const secrets = testClusterSecrets();
const CA_FILES = ['ca.crt', 'ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'etcd/ca.crt', 'etcd/ca.key', 'sa.key', 'sa.pub'];

function platform(input: Partial<PlatformConfigInput> = {}) {
  return parsePlatformConfig({ ...exampleConfig(), ...input });
}

function filesOf(config: NodeIgnition): Map<string, string> {
  const parsed = JSON.parse(config.full) as { storage: { files: Array<{ path: string; contents: { source?: string; compression?: string } }> } };
  return new Map(parsed.storage.files.map((f) => [f.path, decodeInlineContents(f.contents)?.toString('utf8') ?? '']));
}

/** Runs `script` as root in a private mount namespace where the node's paths are scratch copies. */
function inNamespace(work: string, script: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const prelude = [
    'set -euo pipefail',
    `mnt=${work}/mnt`,
    'mkdir -p "$mnt"',
    'mount -t tmpfs keelson-test "$mnt"',
    // Copy-on-write views of the machine's /etc, /var/lib and /opt: kubeadm sees and changes only the copies.
    'for d in etc var/lib opt; do n=${d//\\//-}; mkdir -p "$mnt/$n/upper" "$mnt/$n/work"; mount -t overlay overlay -o "lowerdir=/$d,upperdir=$mnt/$n/upper,workdir=$mnt/$n/work" "/$d"; done',
    'mount -t tmpfs keelson-run /run',
    'mkdir -p /etc/kubernetes /var/lib/kubelet /var/lib/etcd',
  ].join('\n');
  const file = join(work, 'namespace.sh');
  writeFileSync(file, `${prelude}\n${script}\n`);
  const run = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', file], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 150_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function requireUnshare(): void {
  const probe = spawnSync('unshare', ['--mount', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`these tests need a private mount namespace (unshare -m) as root: ${probe.stderr.trim()}`);
}

const spec = platform();
const configs = renderNodeConfigs({ spec, secrets, secretPartUrl: () => 'https://unused/', initialize: true });
const first = configs[0];

describe('kubeadm config validate (the real kubeadm) on every node config', () => {
  const renders: Array<[string, NodeIgnition[]]> = [
    ['3 nodes', renderNodeConfigs({ spec: platform({ nodes: { controllers: { count: 3 }, workers: { count: 0 } } }), secrets, secretPartUrl: () => 'https://unused/', initialize: true })],
    ['6 nodes', configs],
    ['9 nodes', renderNodeConfigs({ spec: platform({ nodes: { controllers: { count: 7 }, workers: { count: 2 } } }), secrets, secretPartUrl: () => 'https://unused/', initialize: true })],
    ['Hetzner, 5 + 1 nodes', renderNodeConfigs({ spec: platform({ provider: { name: 'hetzner', region: 'fsn1' }, nodes: { controllers: { count: 5, size: 'cx33' }, workers: { count: 1, size: 'cx33' } } }), secrets, secretPartUrl: () => 'https://unused/', initialize: true })],
    ['a later render (initialize: false)', renderNodeConfigs({ spec, secrets, secretPartUrl: () => 'https://unused/', initialize: false })],
    ['a later render of 3 nodes, every one a joiner', renderNodeConfigs({ spec: platform({ nodes: { controllers: { count: 3 }, workers: { count: 0 } } }), secrets, secretPartUrl: () => 'https://unused/', initialize: false })],
  ];

  it.each(renders)('accepts every kubeadm config of %s', (_name, nodes) => {
    const dir = mkdtempSync(join(tmpdir(), 'keelson-kubeadm-validate-'));
    let checked = 0;
    for (const node of nodes) {
      for (const path of [NODE_PATHS.kubeadmInit, NODE_PATHS.kubeadmJoin, NODE_PATHS.kubeadmCluster]) {
        const text = filesOf(node).get(path);
        if (text === undefined) continue;
        const file = join(dir, `${node.node.name}-${path.split('/').pop()}`);
        writeFileSync(file, text.replaceAll('@NODE_IP@', '10.10.0.11'));
        const run = spawnSync(kubeadm, ['config', 'validate', '--config', file], { encoding: 'utf8' });
        expect({ node: node.node.name, path, status: run.status, stderr: run.stderr }).toEqual({ node: node.node.name, path, status: 0, stderr: '' });
        checked += 1;
      }
    }
    const inits = nodes.filter((n) => filesOf(n).has(NODE_PATHS.kubeadmInit)).length;
    // Every controller has the cluster-wide documents once: in kubeadm-init.yaml or in the reference file.
    const references = nodes.filter((n) => n.node.role === 'controller').length - inits;
    expect(checked).toBe(nodes.length + inits + references);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('the Ignition-provided PKI with the real kubeadm, in a private mount namespace', () => {
  beforeAll(requireUnshare);

  it('kubeadm init --dry-run on the first controller uses the provided CAs and generates none', () => {
    const work = mkdtempSync(join(tmpdir(), 'keelson-kubeadm-dryrun-'));
    const files = filesOf(first);
    const node = join(work, 'node');
    for (const f of CA_FILES) {
      mkdirSync(join(node, 'pki', 'etcd'), { recursive: true });
      writeFileSync(join(node, 'pki', f), files.get(`${NODE_PATHS.pki}/${f}`) ?? '');
    }
    for (const p of [NODE_PATHS.encryptionConfig, NODE_PATHS.auditPolicy, NODE_PATHS.authenticationConfig, NODE_PATHS.admissionConfig]) {
      mkdirSync(join(node, 'files', p, '..'), { recursive: true });
      writeFileSync(join(node, 'files', p), files.get(p) ?? '');
    }
    writeFileSync(join(work, 'init.yaml'), (files.get(NODE_PATHS.kubeadmInit) ?? '').replaceAll('@NODE_IP@', '10.10.0.11'));
    const run = inNamespace(
      work,
      [
        `cp -a ${node}/pki /etc/kubernetes/pki`,
        `cp -a ${node}/files/etc/kubernetes/. /etc/kubernetes/`,
        `mkdir -p ${work}/dry`,
        // Preflight would fail on this machine (no container runtime, no kubelet); every other phase runs.
        `KUBEADM_INIT_DRYRUN_DIR=${work}/dry ${kubeadm} init --dry-run --config ${work}/init.yaml --ignore-preflight-errors=all`,
        `sha256sum ${CA_FILES.map((f) => `/etc/kubernetes/pki/${f}`).join(' ')} > ${work}/after.sha256`,
      ].join('\n'),
    );
    expect({ status: run.status, stderr: run.stderr.split('\n').filter((l) => /^error|unresolved/i.test(l)) }).toEqual({ status: 0, stderr: [] });
    const out = run.stdout + run.stderr;
    for (const ca of ['ca', 'front-proxy-ca', 'etcd/ca']) expect(out).toContain(`[certs] Using existing ${ca} certificate authority`);
    expect(out).not.toMatch(/Generating "(ca|front-proxy-ca|etcd\/ca)" certificate/);
    // The CAs kubeadm used are the ones Ignition wrote, byte for byte, and still in place.
    for (const f of ['ca.crt', 'ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key']) expect(readFileSync(join(work, 'dry', f), 'utf8')).toBe(files.get(`${NODE_PATHS.pki}/${f}`));
    const after = readFileSync(join(work, 'after.sha256'), 'utf8');
    for (const f of CA_FILES) expect(after).toContain(`/etc/kubernetes/pki/${f}`);
    // The API server certificate it would write is signed by the provided CA.
    expect(new X509Certificate(readFileSync(join(work, 'dry', 'apiserver.crt'))).checkIssued(new X509Certificate(secrets.kubernetesCa.certPem))).toBe(true);
    rmSync(work, { recursive: true, force: true });
  });

  it('a failed first attempt, the real kubeadm reset --force, and the retry leave every CA and key byte-identical to what Ignition wrote', async () => {
    const applied = await applyIgnition(first.full);
    const work = mkdtempSync(join(tmpdir(), 'keelson-kubeadm-retry-'));
    try {
      const ign = applied.root;
      const stubs = join(work, 'bin');
      mkdirSync(stubs);
      const stub = (name: string, body: string) => {
        writeFileSync(join(stubs, name), `#!/bin/bash\n${body}\n`);
        chmodSync(join(stubs, name), 0o755);
      };
      // Nothing answers on the API endpoint yet: a first deploy, so this node runs kubeadm init.
      stub('curl', 'case "${@: -1}" in */livez) printf 000 ;; *) exit 7 ;; esac');
      stub('sleep', 'exit 0');
      stub('kubectl', 'cat > /dev/null; exit 0');
      // kubeadm init as far as this machine allows: the real phases that issue this node's certificates from
      // the CAs in place and write its kubeconfigs and etcd manifest (no container runtime or kubelet here).
      // The first attempt then fails, as a timed-out control plane would; the real kubeadm reset cleans up.
      stub(
        'kubeadm',
        [
          `real=${kubeadm}`,
          'case "$1" in',
          '  reset) exec "$real" "$@" ;;',
          '  init)',
          '    "$real" init phase certs all --config "$3" || exit $?',
          '    "$real" init phase kubeconfig all --config "$3" || exit $?',
          '    "$real" init phase etcd local --config "$3" || exit $?',
          `    n=$(cat ${work}/attempts 2>/dev/null || echo 0); echo $((n + 1)) > ${work}/attempts`,
          `    cp /etc/kubernetes/pki/apiserver.crt ${work}/apiserver-$((n + 1)).crt`,
          '    if [ "$n" -eq 0 ]; then echo "[kubeadm stand-in] the control plane did not come up in time" >&2; exit 1; fi',
          '    exit 0 ;;',
          '  *) echo "unexpected kubeadm $*" >&2; exit 2 ;;',
          'esac',
        ].join('\n'),
      );
      const run = inNamespace(
        work,
        [
          // What Ignition wrote, into place.
          `cp -a ${ign}/etc/kubernetes/. /etc/kubernetes/`,
          `mkdir -p /etc/keelson /opt/keelson && cp -a ${ign}/etc/keelson/. /etc/keelson/ && cp -a ${ign}/opt/keelson/. /opt/keelson/`,
          'mkdir -p /run/metadata && echo COREOS_DIGITALOCEAN_IPV4_PRIVATE_0=10.10.0.11 > /run/metadata/flatcar',
          `export PATH=${stubs}:$PATH`,
          `set +e; ${NODE_PATHS.bootstrapScript}; echo "$?" > ${work}/first.status; set -e`,
          `ls -R /etc/kubernetes/pki > ${work}/after-reset.ls`,
          `cat /var/lib/keelson/bootstrap-status > ${work}/first.state`,
          `set +e; ${NODE_PATHS.bootstrapScript}; echo "$?" > ${work}/second.status; set -e`,
          `mkdir -p ${work}/out/pki/etcd ${work}/out/kept/etcd`,
          `for f in ${CA_FILES.join(' ')}; do cp /etc/kubernetes/pki/$f ${work}/out/pki/$f; cp /var/lib/keelson/pki/$f ${work}/out/kept/$f; done`,
          `cat /var/lib/keelson/bootstrap-status > ${work}/second.state`,
          `test -e ${NODE_PATHS.joinedStamp} && echo yes > ${work}/joined`,
        ].join('\n'),
        { KEELSON_INIT_PROBE_SECONDS: '0' },
      );
      expect(run.status).toBe(0);
      const journal = run.stderr;
      expect(readFileSync(join(work, 'first.status'), 'utf8').trim()).toBe('1');
      expect(journal).toMatch(/step=kubeadm-init attempt=1: kubeadm reset --force to undo the failed attempt/);
      // The real reset emptied the certificates folder: only the restored CAs and keys are back, no leaf of attempt 1.
      expect(journal).toMatch(/\[reset\] Deleting contents of directories: \[[^\]]*\/etc\/kubernetes\/pki\]/);
      const listing = readFileSync(join(work, 'after-reset.ls'), 'utf8').split(/\s+/).filter((l) => l && !l.endsWith(':'));
      expect(listing.sort()).toEqual(['ca.crt', 'ca.key', 'etcd', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'sa.key', 'sa.pub', 'ca.crt', 'ca.key'].sort());
      expect(readFileSync(join(work, 'first.state'), 'utf8')).toMatch(/state=failed\nstep=kubeadm-init\nattempt=1\n/);
      expect(journal).toMatch(/step=keep-pki attempt=1: kept the Ignition-provided CAs and service-account keys in \/var\/lib\/keelson\/pki/);
      expect(journal).toMatch(/step=kubeadm-init attempt=1: restored \/etc\/kubernetes\/pki\/ca\.key from \/var\/lib\/keelson\/pki/);

      expect(readFileSync(join(work, 'second.status'), 'utf8').trim()).toBe('0');
      expect(readFileSync(join(work, 'second.state'), 'utf8')).toMatch(/state=joined\nstep=finish\nattempt=2\n/);
      expect(readFileSync(join(work, 'joined'), 'utf8').trim()).toBe('yes');
      // kubeadm used the CAs in place both times and generated none.
      expect(journal.match(/\[certs\] Using existing ca certificate authority/g)).toHaveLength(2);
      expect(journal).not.toMatch(/Generating "(ca|front-proxy-ca|etcd\/ca)" certificate|Generating "sa" key/);
      // Every CA and key is byte-identical to what Ignition wrote, in place and in the kept copy.
      for (const f of CA_FILES) {
        const ignition = readFileSync(join(ign, NODE_PATHS.pki, f));
        expect({ f, inPlace: readFileSync(join(work, 'out/pki', f)).equals(ignition), kept: readFileSync(join(work, 'out/kept', f)).equals(ignition) }).toEqual({ f, inPlace: true, kept: true });
      }
      expect(readFileSync(join(ign, NODE_PATHS.pki, 'ca.key'), 'utf8')).toBe(secrets.kubernetesCa.keyPem);
      // Each attempt issued its own API server certificate (the reset removed the first), both from the same CA.
      const [one, two] = [1, 2].map((n) => new X509Certificate(readFileSync(join(work, `apiserver-${n}.crt`))));
      expect(one.serialNumber).not.toBe(two.serialNumber);
      const ca = new X509Certificate(secrets.kubernetesCa.certPem);
      expect([one.checkIssued(ca), two.checkIssued(ca)]).toEqual([true, true]);
      // The machine's own /etc was never touched.
      expect(readdirSync('/etc').includes('keelson')).toBe(false);
    } finally {
      applied.cleanup();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
