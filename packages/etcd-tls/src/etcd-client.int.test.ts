import * as http from 'node:http';
import * as https from 'node:https';
import { EtcdError } from './etcd-client';
import { createCertificateAuthority, issueCertificate } from './pki';
import { LocalEtcdCluster, type LocalEtcdMember } from './testing';

// Real etcd, three members with client and peer mTLS. Short Raft timers keep
// the file fast; nothing here depends on them.
jest.setTimeout(120_000);

const DAY = 86_400_000;

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<EtcdError> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (err: unknown) => ({ err }),
  );
  if (!('err' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.resolved)}`);
  expect(outcome.err).toBeInstanceOf(EtcdError);
  return outcome.err as EtcdError;
}

/** One raw request outside EtcdClient, for clients EtcdClient refuses to be (plaintext, no certificate). */
function rawRequest(url: string, options: https.RequestOptions): Promise<{ status?: number; code?: string; message?: string }> {
  return new Promise((resolve) => {
    const transport = url.startsWith('https:') ? https : http;
    const req = transport.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' }, ...options }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ code: err.code, message: err.message }));
    req.setTimeout(3000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.end(JSON.stringify({ key: Buffer.from('plain').toString('base64'), value: Buffer.from('text').toString('base64') }));
  });
}

describe('EtcdClient against a 3-member etcd with client mTLS', () => {
  let cluster: LocalEtcdCluster;
  let member: LocalEtcdMember;

  beforeAll(async () => {
    cluster = await LocalEtcdCluster.start({ members: 3, heartbeatIntervalMs: 50, electionTimeoutMs: 500 });
    member = cluster.members[0];
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('writes and reads keys with a client certificate from the etcd CA', async () => {
    const client = cluster.client();
    const { revision } = await client.put('/keelson/test/a', 'alpha');
    await client.put('/keelson/test/b', 'beta');
    await client.put('/keelson/tests', 'not under the prefix');
    expect(revision).toBeGreaterThan(1);
    expect(await client.get('/keelson/test/a')).toBe('alpha');
    expect(await client.get('/keelson/test/missing')).toBeUndefined();
    const range = await client.range('/keelson/test/', { prefix: true });
    expect(range.kvs.map((kv) => [kv.key, kv.value])).toEqual([
      ['/keelson/test/a', 'alpha'],
      ['/keelson/test/b', 'beta'],
    ]);
    expect(await client.count('/keelson/test/')).toBe(2);
    // Every member serves the write, not just the one that took it.
    for (const m of cluster.running) {
      const one = cluster.client({ endpoints: [m.clientURL] });
      expect(await one.get('/keelson/test/b')).toBe('beta');
    }
  });

  it('reports members, leader and health over the gateway', async () => {
    const client = cluster.client();
    const members = await client.memberList();
    expect(members.map((m) => m.name).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect(members.every((m) => m.started && /^[0-9a-f]+$/.test(m.id))).toBe(true);
    const statuses = await Promise.all(cluster.running.map((m) => client.status(m.clientURL)));
    expect(new Set(statuses.map((s) => s.leaderId)).size).toBe(1);
    expect(statuses.filter((s) => s.isLeader)).toHaveLength(1);
    expect(statuses.map((s) => s.memberId).sort()).toEqual(members.map((m) => m.id).sort());
    expect(statuses[0].version).toMatch(/^3\.\d+\.\d+/);
    expect(await client.health(member.clientURL)).toEqual({ endpoint: member.clientURL, healthy: true });
  });

  it('refuses a plaintext client on the client port', async () => {
    const plain = await rawRequest(`${member.clientURL.replace('https:', 'http:')}/v3/kv/put`, {});
    expect(plain.status).toBeUndefined();
    expect(plain.code).toMatch(/^(ECONNRESET|EPIPE)$/);
    await cluster.waitForLog(member, /rejected connection.*first record does not look like a TLS handshake/);
    expect(await cluster.client().get('plain')).toBeUndefined();
  });

  it('refuses a TLS client that presents no certificate', async () => {
    const noCert = await rawRequest(`${member.clientURL}/v3/kv/put`, { ca: cluster.ca.certPem });
    expect(noCert.status).toBeUndefined();
    // etcd 3.4 (Go 1.19) answers a missing certificate with a bad_certificate
    // alert, not TLS 1.3's certificate_required.
    expect(noCert.code).toMatch(/^ERR_SSL_(SSLV3_ALERT_BAD_CERTIFICATE|TLSV13_ALERT_CERTIFICATE_REQUIRED)$/);
    await cluster.waitForLog(member, /rejected connection.*client didn't provide a certificate/);
    expect(await cluster.client().get('plain')).toBeUndefined();
  });

  it('refuses a client certificate signed by another CA, naming the TLS failure', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'not-the-etcd-ca', validity: { days: 7 } });
    const foreign = await issueCertificate(otherCa, { commonName: 'intruder', usage: 'client', validity: { days: 1 } });
    const client = cluster.client({ endpoints: [member.clientURL], certificate: foreign });
    const err = await rejection(client.put('/keelson/intruder', 'x'));
    expect(err.kind).toBe('tls');
    expect(err.message).toMatch(new RegExp(`^etcd ${member.clientURL}: TLS handshake refused: unknown ca; the server did not accept the client certificate`));
    await cluster.waitForLog(member, /rejected connection.*certificate signed by unknown authority/);
    expect(await cluster.client().get('/keelson/intruder')).toBeUndefined();
  });

  it('refuses an expired client certificate', async () => {
    const expired = await issueCertificate(cluster.ca, {
      commonName: 'expired-client',
      usage: 'client',
      validity: { notBefore: new Date(Date.now() - 3 * DAY), notAfter: new Date(Date.now() - DAY) },
    });
    const client = cluster.client({ endpoints: [member.clientURL], certificate: expired });
    const err = await rejection(client.put('/keelson/expired', 'x'));
    expect(err.kind).toBe('tls');
    expect(err.message).toMatch(/TLS handshake refused: certificate expired/);
    await cluster.waitForLog(member, /rejected connection.*certificate has expired or is not yet valid/);
    expect(await cluster.client().get('/keelson/expired')).toBeUndefined();
  });

  it('does not fail over when a member refuses the client certificate', async () => {
    // A TLS refusal is a configuration error: trying the next member would hide it.
    const otherCa = await createCertificateAuthority({ commonName: 'not-the-etcd-ca', validity: { days: 7 } });
    const foreign = await issueCertificate(otherCa, { commonName: 'intruder', usage: 'client', validity: { days: 1 } });
    const client = cluster.client({ endpoints: cluster.running.map((m) => m.clientURL), certificate: foreign });
    const err = await rejection(client.memberList());
    expect(err.kind).toBe('tls');
    expect(err.attempts).toEqual([]);
  });

  it('fails hostname verification when dialling an address the server certificate does not cover', async () => {
    const covered = cluster.client({ endpoints: [member.clientURL] });
    expect((await covered.status(member.clientURL)).version).toMatch(/^3\./);

    const uncovered = cluster.client({ endpoints: [member.uncoveredClientURL] });
    const err = await rejection(uncovered.put('/keelson/uncovered', 'x'));
    expect(err.kind).toBe('tls');
    expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(err.message).toContain(`TLS hostname verification failed: the server certificate does not cover ${cluster.uncoveredAddress}`);
    expect(await covered.get('/keelson/uncovered')).toBeUndefined();
  });

  it('fails over to the next endpoint when one refuses connections', async () => {
    const closed = await cluster.reserveMember('nobody');
    const client = cluster.client({ endpoints: [closed.clientURL, member.clientURL] });
    await client.put('/keelson/failover', 'ok');
    expect(await client.get('/keelson/failover')).toBe('ok');
  });

  it('lists every endpoint when none answers', async () => {
    const a = await cluster.reserveMember('nobody-a');
    const b = await cluster.reserveMember('nobody-b');
    const client = cluster.client({ endpoints: [a.clientURL, b.clientURL] });
    const err = await rejection(client.get('/keelson/x'));
    expect(err.kind).toBe('unavailable');
    expect(err.attempts.map((e) => [e.endpoint, e.code])).toEqual([
      [a.clientURL, 'ECONNREFUSED'],
      [b.clientURL, 'ECONNREFUSED'],
    ]);
    expect(err.message).toContain(`${a.clientURL}: connection refused`);
  });

  it('reports an unreachable member as unhealthy instead of throwing', async () => {
    const nobody = await cluster.reserveMember('nobody-health');
    const health = await cluster.client().health(nobody.clientURL);
    expect(health.healthy).toBe(false);
    expect(health.reason).toMatch(/connection refused/);
  });
});

