// A node's first-boot status, end to end against a real kube-apiserver: the
// node side is the real bootstrap-lib.sh / kubeadm-bootstrap.sh (as Ignition
// installs them), publishing with only the bootstrap token and the boot RBAC;
// the deploy side is KubectlCluster and keelson deploy's wait for the nodes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LocalControlPlane } from '@keelson/control-plane';
import { BUNDLE_LAYOUT } from '@keelson/etcd-tls';
import { NO_STATUS, nodesJoined } from './boot-report';
import { KubectlCluster, kubectlRunner } from './cluster';
import { deploy } from './deploy';
import { bootstrapTokenSecret } from './secrets';
import { FakeTerraform, fakeOptions, renderInto, resetState } from './test-fakes';
import type { Rendered } from './render';

jest.setTimeout(240_000);

const scripts = join(dirname(require.resolve('@keelson/ignition')), '../scripts');
const TOKEN = 'abcdef.0123456789abcdef';

let plane: LocalControlPlane;
let cluster: KubectlCluster;
let r: { rendered: Rendered; outDir: string };
beforeAll(async () => {
  [plane, r] = await Promise.all([LocalControlPlane.start({ controllerManager: false, scheduler: false }), renderInto()]);
  cluster = new KubectlCluster(kubectlRunner(plane.kubeconfig));
});
afterAll(async () => {
  await plane?.stop();
});

/** A node's scratch root: what Ignition writes that the scripts read to reach the API with the bootstrap token (no admin.conf). */
function nodeRoot(node: string, role: 'worker' | 'controller'): string {
  const root = mkdtempSync(join(tmpdir(), 'keelson-boot-status-'));
  mkdirSync(join(root, 'etc/keelson'), { recursive: true });
  writeFileSync(join(root, 'etc/keelson/bootstrap.env'), `: "\${KEELSON_NODE:=${node}}"\n: "\${KEELSON_ROLE:=${role}}"\n: "\${KEELSON_API_ENDPOINT:=${plane.url.replace('https://', '')}}"\n`);
  writeFileSync(join(root, 'etc/keelson/cluster-ca.crt'), plane.ca.certPem);
  writeFileSync(join(root, 'etc/keelson/kubeadm-join.yaml'), `discovery:\n  bootstrapToken:\n    token: "${TOKEN}"\n`);
  return root;
}

/** Runs bash with the real bootstrap-lib.sh sourced, as the node's scripts do. */
function onNode(root: string, script: string, env: Record<string, string> = {}) {
  return spawnSync('bash', ['-c', `set -Eeuo pipefail\n. "${root}/etc/keelson/bootstrap.env"\n. "${scripts}/bootstrap-lib.sh"\n${script}`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: root, KEELSON_ROOT: root, KEELSON_CLUSTER_CA: join(root, 'etc/keelson/cluster-ca.crt'), ...env },
  });
}

describe('first-boot status on a real kube-apiserver', () => {
  it('reads no status, not an error, before the keelson-boot namespace exists', async () => {
    await expect(cluster.bootStatus()).resolves.toEqual([]);
  });

  it('reads back what a node published with its bootstrap token, and the deploy report names the node, step and error', async () => {
    await cluster.applyBootRbac();
    // A second apply (a cluster whose first boot applied it already) is a no-op, not a conflict.
    await cluster.applyBootRbac();
    expect(plane.kubectl(['get', 'namespace', 'keelson-boot', '-o', 'name']).stdout.trim()).toBe('namespace/keelson-boot');
    const secretsDir = mkdtempSync(join(tmpdir(), 'keelson-bundle-'));
    mkdirSync(dirname(join(secretsDir, BUNDLE_LAYOUT.bootstrapToken)), { recursive: true });
    writeFileSync(join(secretsDir, BUNDLE_LAYOUT.bootstrapToken), `${TOKEN}\n`);
    await cluster.applySecret(bootstrapTokenSecret(secretsDir, new Date()));

    // The node's last error, through the real fail (which publishes before it exits).
    const root = nodeRoot('keelson-worker-1', 'worker');
    const run = onNode(root, 'next_attempt; next_attempt; next_attempt; step kubeadm-join "at most 1200 s"; fail "kubeadm join failed: couldn\'t validate the identity of the API Server: \\"cluster-info\\" not found"', {
      KEELSON_BOOTSTRAP_TOKEN: TOKEN,
      KEELSON_MAX_ATTEMPTS: '10',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('keelson-bootstrap node=keelson-worker-1 step=kubeadm-join attempt=3: FAILED: kubeadm join failed');

    const statuses = await cluster.bootStatus();
    expect(statuses).toEqual([
      { node: 'keelson-worker-1', state: 'failed', step: 'kubeadm-join', attempt: 3, maxAttempts: 10, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), message: 'kubeadm join failed: couldn\'t validate the identity of the API Server: "cluster-info" not found' },
    ]);
    const seen = await nodesJoined(cluster, ['keelson-worker-1', 'keelson-worker-2'], { step: 'nodes', fixGaveUp: () => 'unused' })();
    expect(seen).toEqual({
      ok: false,
      detail: [
        `keelson-worker-1 not registered; boot failed at kubeadm-join (attempt 3 of 10, ${statuses[0].time}): kubeadm join failed: couldn't validate the identity of the API Server: "cluster-info" not found`,
        `keelson-worker-2 not registered; ${NO_STATUS}`,
      ].join('\n'),
    });
  });

  it('keelson deploy stops at once when a node gave up, with its step and last error', async () => {
    // The real kubeadm-bootstrap.sh after its last attempt: it gives up (exit 75) and publishes why.
    const root = nodeRoot('keelson-worker-1', 'worker');
    mkdirSync(join(root, 'var/lib/keelson'), { recursive: true });
    writeFileSync(join(root, 'var/lib/keelson/bootstrap-attempt'), '10\n');
    writeFileSync(join(root, 'var/lib/keelson/bootstrap-status'), 'node=keelson-worker-1\nstate=failed\nstep=kubeadm-join\nattempt=10\ntime=2026-12-04T17:00:00Z\nmessage=kubeadm join did not finish within 1200 s\n');
    const gaveUp = spawnSync('bash', [join(scripts, 'kubeadm-bootstrap.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: root, KEELSON_ROOT: root, KEELSON_LIB: join(scripts, 'bootstrap-lib.sh') } });
    expect(gaveUp.status).toBe(75);
    expect(gaveUp.stderr).toContain('gave up after 10 attempts');

    resetState(r);
    const o = fakeOptions(r, { terraform: new FakeTerraform() }, { cluster: () => cluster, timeouts: { nodesMs: 600_000, pollMs: 500 } });
    const started = Date.now();
    await expect(deploy(o)).rejects.toThrow(
      /^nodes: keelson-worker-1 stopped trying at its first-boot step give-up \(attempt 11 of 10\); last error: kubeadm join did not finish within 1200 s \(gave up after 10 attempts; replace the node\)\n {2}next: replace the node with a new machine that boots again: "terraform -chdir=infra-out apply -replace=digitalocean_droplet.keelson-worker-1"/,
    );
    // Well within the 10-minute bound: the first look at the status decided it.
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('a deploy whose nodes never published lists each with where to look, at its bound', async () => {
    plane.kubectl(['-n', 'keelson-boot', 'delete', 'leases', '--all']);
    resetState(r);
    const o = fakeOptions(r, { terraform: new FakeTerraform() }, { cluster: () => cluster, timeouts: { nodesMs: 1_000, pollMs: 200 } });
    const error = (await deploy(o).catch((e: unknown) => e)) as Error;
    const lines = error.message.split('\n');
    expect(lines[0]).toBe(`nodes: ${r.rendered.spec.topology.nodes.length} of ${r.rendered.spec.topology.nodes.length} nodes not Ready after 1 s:`);
    expect(lines.slice(1, -1)).toEqual(r.rendered.spec.topology.nodes.map((n) => `    ${n.name} not registered; ${NO_STATUS}`));
  });
});
