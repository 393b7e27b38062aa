import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { replaceEtcdMember, type EtcdMemberPlan } from './membership';
import { createCertificateAuthority, issueCertificate, type CertificateMaterial } from './pki';
import { killLeaderWhileWriting, LocalEtcdCluster, type LocalEtcdAddresses, type LocalEtcdMember } from './testing';

// One real 3-member cluster with client and peer mTLS, 50 ms heartbeats and
// 500 ms elections. The tests run in order and share it: the failover test
// kills the leader and the replacement test replaces that member, as an
// operator would; the last two take further members down. The waits are
// generous: CI runs this beside other projects on 2 cores, and a slow member
// is not what these tests judge.
jest.setTimeout(120_000);

const FAILOVER_PREFIX = '/keelson/failover';

describe('etcd membership over mTLS', () => {
  let cluster: LocalEtcdCluster;
  let killedLeader: LocalEtcdMember | undefined;

  beforeAll(async () => {
    cluster = await LocalEtcdCluster.start({ members: 3, heartbeatIntervalMs: 50, electionTimeoutMs: 500 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /** A client listing every member ever started, dead ones included: it must fail over past them. */
  const everyEndpoint = () => cluster.client({ endpoints: cluster.members.map((m) => m.clientURL) });

  /** Issues the new member's certificates the way the platform does (fresh, from the etcd CA, named by the plan) and boots it. */
  async function startFromPlan(plan: EtcdMemberPlan, addresses: LocalEtcdAddresses): Promise<{ server: CertificateMaterial; peer: CertificateMaterial }> {
    const validity = { days: 1 };
    const [server, peer] = await Promise.all([
      issueCertificate(cluster.ca, { commonName: plan.name, usage: 'server', ...plan.subjectAltNames, validity }),
      issueCertificate(cluster.ca, { commonName: plan.name, usage: 'peer', ...plan.subjectAltNames, validity }),
    ]);
    await cluster.startMember({
      ...addresses,
      initialCluster: plan.initialCluster,
      initialClusterState: plan.initialClusterState,
      certificates: { server, peer },
      waitUntilHealthy: false,
    });
    return { server, peer };
  }

  it('refuses to replace a member that is not in the cluster', async () => {
    const replacement = await cluster.reserveMember('etcd-new');
    await expect(replaceEtcdMember({ client: cluster.client(), dead: 'etcd-9', replacement, start: async () => undefined })).rejects.toThrow(
      /no member named or with ID "etcd-9"; members are etcd-\d \([0-9a-f]+\), etcd-\d/,
    );
  });

  it('refuses to replace a member that still answers health checks', async () => {
    const replacement = await cluster.reserveMember('etcd-new');
    const start = jest.fn(async () => undefined);
    await expect(replaceEtcdMember({ client: cluster.client(), dead: 'etcd-1', replacement, start })).rejects.toThrow(
      /member etcd-1 \([0-9a-f]+\) still answers \/health at https:\/\/127\.0\.0\.1:\d+; stop it/,
    );
    expect(start).not.toHaveBeenCalled();
    expect(await cluster.client().memberList()).toHaveLength(3);
  });

  it('refuses a replacement that reuses a live member name', async () => {
    const replacement = await cluster.reserveMember('etcd-2');
    await expect(replaceEtcdMember({ client: cluster.client(), dead: 'etcd-1', replacement, start: async () => undefined })).rejects.toThrow(
      /member etcd-2 \([0-9a-f]+\) already uses the name or peer URL of the replacement/,
    );
  });

  it('never lets a peer with a certificate from another CA join', async () => {
    const client = cluster.client();
    const otherCa = await createCertificateAuthority({ commonName: 'not-the-etcd-ca', validity: { days: 7 } });
    const rogue = await cluster.reserveMember('rogue');
    // Added first, so membership would let it in: only TLS can refuse it.
    const { member: added, members } = await whenAccepted(() => client.memberAdd([rogue.peerURL]));
    try {
      const initialCluster = members.map((m) => `${m.name || rogue.name}=${m.peerURLs[0]}`).join(',');
      const rogueMember = await cluster.startMember({
        ...rogue,
        initialCluster,
        initialClusterState: 'existing',
        certificates: await cluster.issueMemberCertificates(rogue.name, otherCa),
        waitUntilHealthy: false,
      });
      const real = cluster.running.filter((m) => m !== rogueMember);
      // The members refuse its peer certificate, so it cannot even fetch the
      // cluster it was told to join, and gives up.
      expect(await within(rogueMember.exited, 60_000)).toEqual({ code: 1, signal: null });
      expect(rogueMember.log()).toMatch(/failed to get cluster response.*remote error: tls: unknown certificate authority/);
      await Promise.any(real.map((m) => cluster.waitForLog(m, /rejected connection.*certificate signed by unknown authority/, 10_000)));
      expect((await client.memberList()).find((m) => m.id === added.id)).toMatchObject({ started: false, name: '', clientURLs: [] });
      for (const m of real) expect((await client.health(m.clientURL)).healthy).toBe(true);
    } finally {
      await client.memberRemove(added.id);
      const rogueProcess = cluster.members.find((m) => m.name === rogue.name);
      if (rogueProcess) await cluster.kill(rogueProcess);
    }
    expect((await client.memberList()).every((m) => m.started)).toBe(true);
    expect(await client.memberList()).toHaveLength(3);
  });

  it('keeps every acknowledged write when the leader is killed mid-write', async () => {
    const result = await killLeaderWhileWriting(cluster, { prefix: FAILOVER_PREFIX, writeIntervalMs: 10, warmupMs: 300, cooldownMs: 300, requestTimeoutMs: 1500 });
    killedLeader = result.killed;
    expect(result.killed.running).toBe(false);
    expect(result.acknowledgedAfterKill).toBeGreaterThan(0);

    const stored = await cluster.client().range(`${FAILOVER_PREFIX}/`, { prefix: true, keysOnly: true });
    const keys = new Set(stored.kvs.map((kv) => kv.key));
    const lost = result.acknowledgedKeys.filter((k) => !keys.has(k));
    expect(lost).toEqual([]);
    // Unacknowledged writes may or may not have landed; acknowledged ones all did.
    expect(stored.count).toBeGreaterThanOrEqual(result.acknowledgedKeys.length);
    expect(result.acknowledgedKeys.length).toBeGreaterThan(10);
    console.log(
      `leader ${result.killed.name} killed: ${result.acknowledgedKeys.length} writes acknowledged (${result.acknowledgedAfterKill} after the kill), ` +
        `${lost.length} lost, ${result.unacknowledged} not acknowledged; first acknowledged write ${result.failoverMs.toFixed(0)} ms after SIGKILL`,
    );
  });

  it('replaces the killed member with fresh certificates and serves reads from the new member', async () => {
    // Run alone (-t), there is no killed leader yet: kill a member here.
    const dead = killedLeader ?? cluster.running[0];
    if (dead.running) await cluster.kill(dead);
    const replacement = await cluster.reserveMember('etcd-3');
    const plans: EtcdMemberPlan[] = [];
    let issued: CertificateMaterial | undefined;
    const result = await replaceEtcdMember({
      client: everyEndpoint(),
      dead: dead.name,
      replacement,
      start: async (plan) => {
        plans.push(plan);
        issued = (await startFromPlan(plan, replacement)).server;
      },
      timeoutMs: 60_000,
      pollIntervalMs: 100,
    });

    expect(plans).toHaveLength(1);
    const plan = plans[0];
    expect(plan.initialClusterState).toBe('existing');
    expect(plan.initialCluster.split(',').sort()).toEqual(
      [...cluster.running.filter((m) => m.name !== 'etcd-3').map((m) => `${m.name}=${m.peerURL}`), `etcd-3=${replacement.peerURL}`].sort(),
    );
    expect(plan.subjectAltNames).toEqual({ dnsNames: ['etcd-3', 'localhost'], ipAddresses: ['127.0.0.1'] });
    expect(plan.etcdFlags).toEqual(expect.arrayContaining(['--initial-cluster-state', 'existing', '--initial-cluster', plan.initialCluster]));
    expect(result.removed.name).toBe(dead.name);
    expect(result.added).toMatchObject({ name: 'etcd-3', started: true, peerURLs: [replacement.peerURL], clientURLs: [replacement.clientURL] });

    const client = cluster.client();
    const members = await client.memberList();
    expect(members.map((m) => m.name).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2', 'etcd-3'].filter((n) => n !== dead.name));
    expect(members.every((m) => m.started)).toBe(true);
    for (const m of members) expect(await client.health(m.clientURLs[0])).toEqual({ endpoint: m.clientURLs[0], healthy: true });

    // The new member serves the data written before it existed, and new writes.
    const onlyNew = cluster.client({ endpoints: [replacement.clientURL] });
    expect(await onlyNew.count(`${FAILOVER_PREFIX}/`)).toBeGreaterThan(0);
    expect(await onlyNew.count(`${FAILOVER_PREFIX}/`)).toBe(await client.count(`${FAILOVER_PREFIX}/`));
    await onlyNew.put('/keelson/after-replacement', 'yes');
    expect(await client.get('/keelson/after-replacement')).toBe('yes');
    expect((await onlyNew.status(replacement.clientURL)).memberId).toBe(result.added.id);
    // It serves clients with the certificate issued in `start`.
    const served = await servedCertificate(replacement.clientURL, cluster);
    expect(served.fingerprint256).toBe(new X509Certificate((issued as CertificateMaterial).certPem).fingerprint256);
    expect(served.subject).toBe('CN=etcd-3');
  });

  it('removes the added member again when start fails', async () => {
    const client = everyEndpoint();
    // A follower, so no election; the youngest, so the two left have been
    // connected long enough for etcd to accept reconfiguration right away.
    const leader = await cluster.leader();
    const followers = cluster.running.filter((m) => m !== leader);
    const follower = followers.find((m) => m.name === 'etcd-3') ?? followers[0];
    await cluster.kill(follower);
    const replacement = await cluster.reserveMember('etcd-4');
    await expect(
      replaceEtcdMember({
        client,
        dead: follower.name,
        replacement,
        start: async () => {
          throw new Error('node did not boot');
        },
      }),
    ).rejects.toThrow(/start failed: node did not boot; removed the unstarted member [0-9a-f]+ again; the cluster has 2 members/);
    const members = await client.memberList();
    expect(members.map((m) => m.name).sort()).toEqual(cluster.running.map((m) => m.name).sort());
    expect(members.every((m) => m.started)).toBe(true);
  });

  it('refuses to remove a member when the rest cannot keep quorum', async () => {
    const client = everyEndpoint();
    expect(cluster.running).toHaveLength(2);
    const [victim, survivor] = cluster.running;
    await cluster.kill(victim);
    const replacement = await cluster.reserveMember('etcd-5');
    const start = jest.fn(async () => undefined);
    const expected = new RegExp(
      `cannot keep etcd quorum: 0 of the 1 other member\\(s\\) are healthy, and removing ${victim.name} \\([0-9a-f]+\\) then adding etcd-5 needs 2 \\(a quorum of 2\\).*${survivor.name} \\([0-9a-f]+\\): not healthy`,
    );
    await expect(replaceEtcdMember({ client, dead: victim.name, replacement, start, quorumWaitMs: 1500 })).rejects.toThrow(expected);
    expect(start).not.toHaveBeenCalled();
    // Nothing was removed: the member list still names the victim.
    expect((await client.memberList()).map((m) => m.name)).toContain(victim.name);
  });
});

/** `promise`'s value, or 'timed out' after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Retries a reconfiguration etcd refuses as "unhealthy cluster": the member
 * handling it wants 5 s of connection to a quorum first, and this cluster is young.
 */
async function whenAccepted<T>(change: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await change();
    } catch (err) {
      if (!(err instanceof Error && /unhealthy cluster/.test(err.message)) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** The certificate the server at `url` presents to a client of the cluster. */
function servedCertificate(url: string, cluster: LocalEtcdCluster): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const { certPem, keyPem } = cluster.clientCertificate;
    const socket = connect({ host: hostname, port: Number(port), ca: cluster.ca.certPem, cert: certPem, key: keyPem }, () => {
      const der = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(new X509Certificate(der));
    });
    socket.on('error', reject);
  });
}
