import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { LocalEtcdCluster } from './local-etcd-cluster';

jest.setTimeout(120_000);

/** Whether a process with `pid` exists (signal 0 checks without killing). */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('LocalEtcdCluster', () => {
  it('fails with the install command when the etcd binary is missing', async () => {
    await expect(LocalEtcdCluster.start({ etcdBinary: '/nonexistent/etcd' })).rejects.toThrow(/cannot run etcd .*Build the etcd peer with `node tools\/test-prerequisites\.mjs --peers-only`/);
  });

  it('refuses an election timeout shorter than five heartbeats', async () => {
    await expect(LocalEtcdCluster.start({ heartbeatIntervalMs: 100, electionTimeoutMs: 400 })).rejects.toThrow(/electionTimeoutMs \(400\) must be at least 5x heartbeatIntervalMs \(100\)/);
  });

  it('refuses 127.0.0.1 as the uncovered address', async () => {
    await expect(LocalEtcdCluster.start({ uncoveredAddress: '127.0.0.1' })).rejects.toThrow(/uncoveredAddress must be a loopback address other than 127.0.0.1/);
  });

  it('kills every member and removes its folders on stop', async () => {
    const cluster = await LocalEtcdCluster.start({ members: 1, heartbeatIntervalMs: 50, electionTimeoutMs: 500 });
    const [member] = cluster.members;
    let root = '';
    try {
      root = dirname(member.dir);
      expect(alive(member.pid)).toBe(true);
      expect(existsSync(member.dir)).toBe(true);
      expect(member.log()).toMatch(/"msg":"serving client traffic securely"/);
    } finally {
      await cluster.stop();
    }
    expect(alive(member.pid)).toBe(false);
    expect(member.exitStatus).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(root)).toBe(false);
    await cluster.stop();
  });

  it('reports a member that exits during start, with its log', async () => {
    const cluster = await LocalEtcdCluster.start({ members: 1, heartbeatIntervalMs: 50, electionTimeoutMs: 500 });
    try {
      const addresses = await cluster.reserveMember('lost');
      // Joins a cluster that does not list it: etcd exits at once.
      await expect(cluster.startMember({ ...addresses, initialCluster: `${addresses.name}=${addresses.peerURL}`, initialClusterState: 'existing' })).rejects.toThrow(
        /lost exited .* before it was healthy; its log ends:\n/,
      );
    } finally {
      await cluster.stop();
    }
  });
});
