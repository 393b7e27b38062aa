import { join } from 'node:path';
import type { Rendered } from './render';
import { readState, STATE_FILE } from './state';
import { LifecycleError } from './steps';
import { FakeCluster, FakeEtcd, FakeTerraform, fakeOptions, renderInto, resetState, stepsWith, terraformFailure } from './test-fakes';
import { etcdWhole, replacementOrder, upgrade } from './upgrade';

let r: { rendered: Rendered; outDir: string };
beforeAll(async () => {
  r = await renderInto();
}, 60_000);
beforeEach(() => resetState(r));

const ORDER = ['keelson-controller-5', 'keelson-controller-4', 'keelson-controller-3', 'keelson-controller-2', 'keelson-controller-1', 'keelson-worker-1'];

function fakes() {
  const terraform = new FakeTerraform();
  const cluster = new FakeCluster(r.rendered.spec);
  const etcd = new FakeEtcd(r.rendered.spec, cluster);
  terraform.onRun = cluster.terraformRan;
  terraform.addresses = Object.fromEntries(r.rendered.spec.topology.nodes.map((n, i) => [n.name, { public: `203.0.113.${i + 10}`, private: `10.10.0.${i + 100}` }]));
  return { terraform, cluster, etcd };
}

/** Which node each mutating call was for, in order (cordon/drain/deleteNode/replace/etcd). */
const actionsOf = (f: ReturnType<typeof fakes>) =>
  f.cluster.calls.filter((c) => /^(cordon|drain|deleteNode|etcd replace)/.test(c));

describe('keelson upgrade', () => {
  it('orders controllers from the last to the first, then workers', () => {
    expect(replacementOrder(r.rendered.spec).map((n) => n.name)).toEqual(ORDER);
  });

  it('replaces every node one at a time: drain, delete Node, terraform -replace, etcd member, Ready, gates', async () => {
    const f = fakes();
    const o = fakeOptions(r, f);
    const result = await upgrade(o);

    expect(result.replaced).toEqual(ORDER);
    expect(f.cluster.overlaps).toEqual([]);
    expect(f.terraform.of('apply')).toEqual(ORDER.map((n) => ['-chdir=infra-out', 'apply', '-input=false', '-no-color', '-auto-approve', `-replace=digitalocean_droplet.${n}`]));
    expect(f.terraform.calls[0]).toEqual(['-chdir=infra-out', 'init', '-input=false', '-no-color']);
    // A controller: drained and its Node deleted before its machine is replaced, its etcd member swapped after.
    expect(actionsOf(f).slice(0, 4)).toEqual([
      'cordon keelson-controller-5',
      'drain keelson-controller-5',
      'deleteNode keelson-controller-5',
      'etcd replace keelson-controller-5 -> https://10.10.0.104:2380',
    ]);
    expect(f.etcd.replacements.map((x) => x.dead)).toEqual(ORDER.slice(0, 5));
    expect(f.etcd.replacements.every((x) => x.machineReplaced)).toBe(true);
    expect(f.etcd.replacements[0].replacement).toEqual({ name: 'keelson-controller-5', peerURL: 'https://10.10.0.104:2380', clientURL: 'https://10.10.0.104:2379' });
    // The worker has no etcd member.
    expect(actionsOf(f).slice(-3)).toEqual(['cordon keelson-worker-1', 'drain keelson-worker-1', 'deleteNode keelson-worker-1']);
    expect(stepsWith(o.events, 'done')).toEqual(['render', 'terraform-init', ...ORDER]);
    expect(readState(join(r.rendered.infraDir, STATE_FILE))?.upgrade).toEqual({ replaced: ORDER });
    // Each new machine joins with a bootstrap token refreshed just before it is made (valid a day).
    const tokenAndNode = f.cluster.calls.filter((c) => /^(deleteNode|applySecret)/.test(c)).map((c) => c.replace(/bootstrap-token-[a-z0-9]{6}$/, 'bootstrap-token'));
    expect(tokenAndNode).toEqual(ORDER.flatMap((n) => [`deleteNode ${n}`, 'applySecret kube-system/bootstrap-token']));
  });

  it('never drains a node while another is out: gates are checked before each node', async () => {
    const f = fakes();
    // Each node is checked Ready before the next one is drained.
    await upgrade(fakeOptions(r, f));
    for (const name of ORDER.slice(1)) {
      const drainAt = f.cluster.calls.indexOf(`drain ${name}`);
      const previous = ORDER[ORDER.indexOf(name) - 1];
      const backAt = f.cluster.calls.lastIndexOf(`nodeReady ${previous}`, drainAt);
      expect(backAt).toBeGreaterThan(f.cluster.calls.indexOf(`drain ${previous}`));
      expect(f.cluster.calls.slice(backAt, drainAt)).toEqual(expect.arrayContaining(['statusHealth cephclusters.ceph.rook.io -n rook-ceph status.ceph.health', 'applications argocd']));
    }
    expect(f.cluster.overlaps).toEqual([]);
  });

  it('stops and explains when a node never becomes Ready, and the rerun finishes that node before any other', async () => {
    const f = fakes();
    f.cluster.neverReady.add('keelson-controller-4');
    // The old machine's status (before the replacement) is not shown; the new one's is.
    const at = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    f.cluster.boot = [{ node: 'keelson-controller-4', state: 'joined', step: 'finish', attempt: 1, maxAttempts: 10, time: at(-3_600_000), message: 'kubeadm join done' }];
    const fresh = { node: 'keelson-controller-4', state: 'running', step: 'join-lock', attempt: 1, maxAttempts: 10, time: at(60_000), message: 'Lease keelson-boot/control-plane-join, at most 3600 s' };
    f.terraform.onRun = (args) => {
      f.cluster.terraformRan(args);
      if (args.some((a) => a === '-replace=digitalocean_droplet.keelson-controller-4')) f.cluster.boot = [...f.cluster.boot, fresh];
    };
    const first = fakeOptions(r, f);
    const error = (await upgrade(first).catch((e: unknown) => e)) as LifecycleError;
    expect(error).toBeInstanceOf(LifecycleError);
    expect(error.step).toBe('keelson-controller-4: node Ready');
    expect(error.message).toMatch(
      /the new keelson-controller-4 did not become Ready within 60 ms \(observed: keelson-controller-4 Ready=False \(KubeletNotReady\); boot running at join-lock \(attempt 1 of 10, [0-9TZ:-]+\): Lease keelson-boot\/control-plane-join, at most 3600 s\); no other node was touched\n {2}next: .*run "keelson upgrade" again: it waits for keelson-controller-4 before any other node/,
    );
    expect(actionsOf(f).some((c) => c.includes('controller-3'))).toBe(false);
    expect(readState(join(r.rendered.infraDir, STATE_FILE))?.upgrade).toEqual({ replaced: ['keelson-controller-5'], current: { node: 'keelson-controller-4', phase: 'etcd-replaced' } });

    // The node comes up; the rerun neither drains nor replaces it again.
    f.cluster.neverReady.clear();
    f.cluster.calls.length = 0;
    f.terraform.calls.length = 0;
    const second = fakeOptions(r, f);
    const result = await upgrade(second);
    expect(result.skipped).toEqual(['keelson-controller-5']);
    expect(result.replaced).toEqual(ORDER.slice(1));
    expect(f.terraform.of('apply').map((a) => a[5])).toEqual(ORDER.slice(2).map((n) => `-replace=digitalocean_droplet.${n}`));
    expect(actionsOf(f)[0]).toBe('cordon keelson-controller-3');
    expect(f.cluster.overlaps).toEqual([]);
  });

  it('stops after the node when Ceph stays HEALTH_WARN, and continues with the next node once it is HEALTH_OK', async () => {
    const f = fakes();
    // Ceph degrades once the first node has been replaced.
    f.cluster.ceph = () => (f.cluster.replacedMachines.size > 0 ? 'HEALTH_WARN' : 'HEALTH_OK');
    const error = (await upgrade(fakeOptions(r, f)).catch((e: unknown) => e)) as LifecycleError;
    expect(error.step).toBe('keelson-controller-5: Ceph HEALTH_OK');
    expect(error.message).toMatch(/keelson-controller-5 was replaced but the gate "Ceph HEALTH_OK" did not pass within 40 ms \(observed: HEALTH_WARN\); no other node was touched/);
    expect(error.message).toMatch(/next: see "kubectl -n rook-ceph get cephcluster".*run "keelson upgrade" again: it checks keelson-controller-5 again and continues with the next node/);
    expect(f.cluster.calls).not.toContain('drain keelson-controller-4');

    f.cluster.ceph = () => 'HEALTH_OK';
    f.terraform.calls.length = 0;
    const result = await upgrade(fakeOptions(r, f));
    expect(result.replaced).toEqual(ORDER);
    // controller-5 was not replaced again: its gates were checked, then the next node.
    expect(f.terraform.of('apply')).toHaveLength(ORDER.length - 1);
  });

  it('refuses to take a node out of a cluster that is not whole', async () => {
    const f = fakes();
    f.cluster.apps = [{ name: 'storage', sync: 'Synced', health: 'Degraded' }];
    await expect(upgrade(fakeOptions(r, f))).rejects.toThrow(
      /keelson-controller-5: every Application Synced and Healthy: not taking keelson-controller-5 out: the gate "every Application Synced and Healthy" fails \(observed: storage Synced\/Degraded\)/,
    );
    expect(actionsOf(f)).toEqual([]);
    expect(f.terraform.of('apply')).toEqual([]);
  });

  it('resumes a replacement whose terraform apply was interrupted: replaces the drained node again, without draining another', async () => {
    const f = fakes();
    f.terraform.failures.push(terraformFailure('apply', 'Error: droplet create timed out'));
    await expect(upgrade(fakeOptions(r, f))).rejects.toThrow(/keelson-controller-5: replace: .*droplet create timed out[^]*it replaces keelson-controller-5 again \(it is drained and out of service\)/);
    expect(readState(join(r.rendered.infraDir, STATE_FILE))?.upgrade?.current).toEqual({ node: 'keelson-controller-5', phase: 'drained' });
    f.cluster.calls.length = 0;
    await upgrade(fakeOptions(r, f));
    expect(actionsOf(f)[0]).toBe('etcd replace keelson-controller-5 -> https://10.10.0.104:2380');
    expect(f.cluster.overlaps).toEqual([]);
  });

  it('does nothing when every node was replaced with this config already', async () => {
    const f = fakes();
    await upgrade(fakeOptions(r, f));
    const again = fakes();
    const o = fakeOptions(r, again);
    const result = await upgrade(o);
    expect(result).toEqual({ replaced: [], skipped: ORDER, confirmed: true });
    expect(again.terraform.of('apply')).toEqual([]);
    expect(o.printed).toContain('keelson upgrade: every node of "keelson" was replaced with this config already; nothing to do');
  });

  it('touches no node when the user declines', async () => {
    const f = fakes();
    const result = await upgrade(fakeOptions(r, f, { yes: false, ask: async () => 'no' }));
    expect(result.confirmed).toBe(false);
    expect(actionsOf(f)).toEqual([]);
  });

  it('judges etcd whole only with every member started and healthy', () => {
    const m = (name: string, healthy = true, started = true) => ({ name, started, healthy });
    expect(etcdWhole([m('a'), m('b'), m('c')], 3)).toEqual({ ok: true, detail: '3 members healthy' });
    expect(etcdWhole([m('a'), m('b')], 3)).toEqual({ ok: false, detail: '2 of 3 members' });
    expect(etcdWhole([m('a'), m('b', false), m('', false, false)], 3)).toEqual({ ok: false, detail: '3 of 3 members; b unhealthy, (unstarted) not started' });
  });
});
