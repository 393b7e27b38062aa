// The controller-replacement step against a real etcd (the binary is here):
// EtcdClientAccess drives replaceEtcdMember from @keelson/etcd-tls.
import { LocalEtcdCluster } from '@keelson/etcd-tls/testing';
import { EtcdClientAccess } from './cluster';
import { etcdWhole } from './upgrade';

jest.setTimeout(90_000);

let cluster: LocalEtcdCluster;
beforeAll(async () => {
  cluster = await LocalEtcdCluster.start({ members: 3 });
});
afterAll(async () => {
  await cluster?.stop();
});

describe('EtcdClientAccess on a real etcd', () => {
  it('swaps the member of a destroyed controller for its replacement and reports the cluster whole again', async () => {
    const everyEndpoint = () => cluster.client({ endpoints: cluster.members.map((m) => m.clientURL) });
    const victim = cluster.member('etcd-2');
    const before = await new EtcdClientAccess(everyEndpoint()).members();
    expect(etcdWhole(before, 3)).toEqual({ ok: true, detail: '3 members healthy' });

    // terraform apply -replace destroyed the machine: its member is dead.
    await cluster.kill(victim);
    const degraded = await new EtcdClientAccess(everyEndpoint()).members();
    expect(etcdWhole(degraded, 3).ok).toBe(false);

    // The new machine reuses the node's name; its first boot starts etcd with the plan (kubeadm join on a real node).
    const replacement = await cluster.reserveMember('etcd-2');
    const access = new EtcdClientAccess(everyEndpoint(), {
      pollIntervalMs: 100,
      start: async (plan) => {
        const certificates = await cluster.issueMemberCertificates(plan.name);
        await cluster.startMember({ ...replacement, initialCluster: plan.initialCluster, initialClusterState: plan.initialClusterState, certificates, waitUntilHealthy: false });
      },
    });
    await access.replaceMember('etcd-2', { name: 'etcd-2', peerURL: replacement.peerURL, clientURL: replacement.clientURL }, 30_000);

    const after = await new EtcdClientAccess(cluster.client({ endpoints: [replacement.clientURL] })).members();
    expect(etcdWhole(after, 3)).toEqual({ ok: true, detail: '3 members healthy' });
    expect(after.map((m) => m.name).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect(after.find((m) => m.name === 'etcd-2')?.id).not.toBe(before.find((m) => m.name === 'etcd-2')?.id);
  });
});
