import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EtcdClient, type EtcdStatus } from '../etcd-client';
import { PEERS_INSTALL_COMMAND, requirePeer } from '@keelson/upstream';
import { createCertificateAuthority, issueCertificate, type CertificateMaterial } from '../pki';

export interface LocalEtcdClusterOptions {
  /** @default 3 */
  readonly members?: number;
  /**
   * `--heartbeat-interval`. Tests use ~50 ms to fail over fast.
   * @default 100 (etcd's default)
   * @see https://etcd.io/docs/v3.4/tuning/#time-parameters
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * `--election-timeout`; etcd wants it at least 5x the heartbeat.
   * @default 1000 (etcd's default)
   * @see https://etcd.io/docs/v3.4/tuning/#time-parameters
   */
  readonly electionTimeoutMs?: number;
  /**
   * Loopback address every member also listens on for clients, absent from
   * its server certificate.
   * @default '127.0.0.9'
   */
  readonly uncoveredAddress?: string;
  /** @default process.env.KEELSON_ETCD_BINARY, else the etcd peer (v3.6, the release the nodes run) */
  readonly etcdBinary?: string;
  /**
   * Time for every member to answer `/health`.
   * @default 30000
   */
  readonly startTimeoutMs?: number;
  /** Member names are `${namePrefix}-${i}`. @default 'etcd' */
  readonly namePrefix?: string;
}

/** A member's listen addresses, before its process starts. */
export interface LocalEtcdAddresses {
  readonly name: string;
  /** `https://127.0.0.1:<port>`, covered by the member's server certificate. */
  readonly clientURL: string;
  /** The same port on `uncoveredAddress`: not in the server certificate. */
  readonly uncoveredClientURL: string;
  readonly peerURL: string;
}

/** A member's server and peer certificates. */
export interface LocalEtcdMemberCertificates {
  readonly server: CertificateMaterial;
  readonly peer: CertificateMaterial;
}

export interface StartMemberOptions extends LocalEtcdAddresses {
  /** `--initial-cluster`, this member included. */
  readonly initialCluster: string;
  /** @default 'existing' */
  readonly initialClusterState?: 'new' | 'existing';
  /** @default certificates issued by the cluster CA for `name` */
  readonly certificates?: LocalEtcdMemberCertificates;
  /**
   * Wait until the member answers `/health`. Off for members expected to
   * fail (a peer with a foreign certificate).
   * @default true
   */
  readonly waitUntilHealthy?: boolean;
}

/** One etcd process of the cluster (running or not). */
export class LocalEtcdMember implements LocalEtcdAddresses {
  public readonly name: string;
  public readonly clientURL: string;
  public readonly uncoveredClientURL: string;
  public readonly peerURL: string;
  /** Holds `data/` and `tls/`; removed by `stop()`. */
  public readonly dir: string;
  /** Resolves when the process exits. */
  public readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly logChunks: string[] = [];
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  /** @internal */
  constructor(
    addresses: LocalEtcdAddresses,
    dir: string,
    /** @internal */
    public readonly child: ChildProcess,
  ) {
    this.name = addresses.name;
    this.clientURL = addresses.clientURL;
    this.uncoveredClientURL = addresses.uncoveredClientURL;
    this.peerURL = addresses.peerURL;
    this.dir = dir;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.logChunks.push(chunk));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      // spawn errors (ENOENT) also end the member.
      child.once('error', (err) => {
        this.logChunks.push(`\n[spawn error] ${err.message}\n`);
        this.exit = { code: -1, signal: null };
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process is alive. */
  get running(): boolean {
    return this.exit === undefined;
  }

  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exit;
  }

  /** Everything the member wrote to stderr (etcd's zap log, one JSON object a line). */
  log(): string {
    return this.logChunks.join('');
  }

  /** The last `lines` lines of the log, for error messages. */
  logTail(lines = 15): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n');
  }
}

const clusters = new Set<LocalEtcdCluster>();
let exitHooksInstalled = false;

/** Kills members and removes folders synchronously when the process ends without `stop()` (failed test, Ctrl-C). */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', () => {
    for (const c of clusters) c.stopSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const c of clusters) c.stopSync();
      // Keep the signal's usual effect when nobody else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A real etcd cluster on 127.0.0.1 for tests and benchmarks: every member
 * with client and peer mutual TLS from certificates this package issued.
 *
 * Each member also listens for clients on a second loopback address that its
 * server certificate does not cover (`uncoveredClientURL`), so a test can
 * dial an address the certificate does not name.
 *
 * `stop()` kills every process and removes every folder; clusters still
 * running when the Node process exits are cleaned up then as well.
 *
 * @see https://etcd.io/docs/v3.4/op-guide/security/
 * @see https://etcd.io/docs/v3.4/op-guide/clustering/
 */
export class LocalEtcdCluster {
  /** The etcd CA: signs member and client certificates. */
  public readonly ca: CertificateMaterial;
  /** A `clientAuth` certificate from `ca`. */
  public readonly clientCertificate: CertificateMaterial;
  public readonly uncoveredAddress: string;
  public readonly heartbeatIntervalMs: number;
  public readonly electionTimeoutMs: number;
  /** Every member started so far, killed ones included, in start order. */
  public readonly members: LocalEtcdMember[] = [];
  private readonly root: string;
  private readonly etcdBinary: string;
  private readonly startTimeoutMs: number;
  private readonly clients = new Set<EtcdClient>();
  private readonly reservedPorts = new Set<number>();
  private stopped = false;

  private constructor(options: Required<Omit<LocalEtcdClusterOptions, 'members' | 'namePrefix'>>, root: string, ca: CertificateMaterial, client: CertificateMaterial) {
    this.root = root;
    this.ca = ca;
    this.clientCertificate = client;
    this.uncoveredAddress = options.uncoveredAddress;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs;
    this.electionTimeoutMs = options.electionTimeoutMs;
    this.etcdBinary = options.etcdBinary;
    this.startTimeoutMs = options.startTimeoutMs;
  }

  /**
   * Issues the certificates and starts the members with
   * `--initial-cluster-state new`; resolves when every member is healthy.
   * Throws (after cleaning up) when etcd is missing or a member fails.
   */
  static async start(options: LocalEtcdClusterOptions = {}): Promise<LocalEtcdCluster> {
    const size = options.members ?? 3;
    const namePrefix = options.namePrefix ?? 'etcd';
    const resolved = {
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 100,
      electionTimeoutMs: options.electionTimeoutMs ?? 1000,
      uncoveredAddress: options.uncoveredAddress ?? '127.0.0.9',
      etcdBinary: options.etcdBinary ?? process.env.KEELSON_ETCD_BINARY ?? requirePeer('etcd', 'LocalEtcdCluster'),
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    };
    if (!Number.isInteger(size) || size < 1) throw new Error(`LocalEtcdCluster: members must be a whole number >= 1, got ${size}`);
    if (resolved.electionTimeoutMs < 5 * resolved.heartbeatIntervalMs) {
      throw new Error(`LocalEtcdCluster: electionTimeoutMs (${resolved.electionTimeoutMs}) must be at least 5x heartbeatIntervalMs (${resolved.heartbeatIntervalMs}); etcd refuses less`);
    }
    if (!resolved.uncoveredAddress.startsWith('127.') || resolved.uncoveredAddress === '127.0.0.1') {
      throw new Error(`LocalEtcdCluster: uncoveredAddress must be a loopback address other than 127.0.0.1, got ${resolved.uncoveredAddress}`);
    }
    checkEtcdBinary(resolved.etcdBinary);

    const ca = await createCertificateAuthority({ commonName: 'keelson-test-etcd-ca', validity: { days: 7 } });
    const client = await issueCertificate(ca, { commonName: 'keelson-test-client', usage: 'client', validity: { days: 1 } });
    const root = mkdtempSync(join(tmpdir(), 'keelson-etcd-'));
    const cluster = new LocalEtcdCluster(resolved, root, ca, client);
    clusters.add(cluster);
    installExitHooks();
    try {
      const addresses: LocalEtcdAddresses[] = [];
      for (let i = 0; i < size; i++) addresses.push(await cluster.reserveMember(`${namePrefix}-${i}`));
      const initialCluster = addresses.map((a) => `${a.name}=${a.peerURL}`).join(',');
      const members = await Promise.all(
        addresses.map((a) => cluster.startMember({ ...a, initialCluster, initialClusterState: 'new', waitUntilHealthy: false })),
      );
      await Promise.all(members.map((m) => cluster.waitUntilHealthy(m)));
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** Members whose process is alive. */
  get running(): LocalEtcdMember[] {
    return this.members.filter((m) => m.running);
  }

  /** The member called `name`, the latest one if a name was reused. */
  member(name: string): LocalEtcdMember {
    const m = [...this.members].reverse().find((x) => x.name === name);
    if (!m) throw new Error(`LocalEtcdCluster: no member named ${name}; members are ${this.members.map((x) => x.name).join(', ')}`);
    return m;
  }

  /**
   * A client with the cluster's client certificate (or `certificate`), closed
   * by `stop()`.
   * @default endpoints: every running member's client URL
   */
  client(options: { endpoints?: readonly string[]; certificate?: CertificateMaterial; requestTimeoutMs?: number } = {}): EtcdClient {
    const cert = options.certificate ?? this.clientCertificate;
    const c = new EtcdClient({
      endpoints: options.endpoints ?? this.running.map((m) => m.clientURL),
      ca: this.ca.certPem,
      cert: cert.certPem,
      key: cert.keyPem,
      requestTimeoutMs: options.requestTimeoutMs ?? 3000,
    });
    this.clients.add(c);
    return c;
  }

  /** The running member every running member agrees is leader; waits for an election if needed. */
  async leader(timeoutMs = 10_000): Promise<LocalEtcdMember> {
    const client = this.client();
    const deadline = Date.now() + timeoutMs;
    let seen = '';
    try {
      for (;;) {
        const running = this.running;
        const statuses = await Promise.all(
          running.map((m) => client.status(m.clientURL).then((s): EtcdStatus | string => s, (err: unknown) => (err instanceof Error ? err.message : String(err)))),
        );
        seen = statuses.map((s, i) => `${running[i].name}: ${typeof s === 'string' ? s : `leader ${s.leaderId ?? 'none'}`}`).join('; ');
        const leaderIds = statuses.map((s) => (typeof s === 'string' ? undefined : s.leaderId));
        if (leaderIds[0] && leaderIds.every((id) => id === leaderIds[0])) {
          const index = statuses.findIndex((s) => typeof s !== 'string' && s.isLeader);
          if (index >= 0) return running[index];
        }
        if (Date.now() >= deadline) throw new Error(`LocalEtcdCluster: the running members did not agree on a leader within ${timeoutMs} ms: ${seen}`);
        await sleep(this.heartbeatIntervalMs);
      }
    } finally {
      this.clients.delete(client);
      client.close();
    }
  }

  /**
   * SIGKILLs the member (no graceful shutdown, like a node losing power) and
   * waits for it to exit. Returns the `performance.now()` at which the signal
   * was sent.
   */
  async kill(member: LocalEtcdMember): Promise<number> {
    const at = performance.now();
    if (member.running) member.child.kill('SIGKILL');
    await member.exited;
    return at;
  }

  /** Picks free ports for a member-to-be (client port free on both loopback addresses). */
  async reserveMember(name: string): Promise<LocalEtcdAddresses> {
    const clientPort = await this.freePort([`127.0.0.1`, this.uncoveredAddress]);
    const peerPort = await this.freePort(['127.0.0.1']);
    return {
      name,
      clientURL: `https://127.0.0.1:${clientPort}`,
      uncoveredClientURL: `https://${this.uncoveredAddress}:${clientPort}`,
      peerURL: `https://127.0.0.1:${peerPort}`,
    };
  }

  /**
   * Server and peer certificates for `name` from `ca` (default the cluster's),
   * covering the name, `localhost` and `127.0.0.1` (not `uncoveredAddress`).
   */
  async issueMemberCertificates(name: string, ca: CertificateMaterial = this.ca): Promise<LocalEtcdMemberCertificates> {
    const sans = { dnsNames: [name, 'localhost'], ipAddresses: ['127.0.0.1'] };
    const validity = { days: 1 };
    const [server, peer] = await Promise.all([
      issueCertificate(ca, { commonName: name, usage: 'server', ...sans, validity }),
      issueCertificate(ca, { commonName: name, usage: 'peer', ...sans, validity }),
    ]);
    return { server, peer };
  }

  /**
   * Starts one etcd process with client and peer mTLS. Peers and clients must
   * present certificates signed by the cluster CA.
   *
   * @see https://etcd.io/docs/v3.4/op-guide/configuration/
   * @see https://etcd.io/docs/v3.4/op-guide/security/
   */
  async startMember(options: StartMemberOptions): Promise<LocalEtcdMember> {
    if (this.stopped) throw new Error('LocalEtcdCluster: stopped');
    const dir = join(this.root, `${options.name}-${this.members.length}`);
    const tls = join(dir, 'tls');
    mkdirSync(tls, { recursive: true, mode: 0o700 });
    const certs = options.certificates ?? (await this.issueMemberCertificates(options.name));
    const files = {
      ca: join(tls, 'ca.crt'),
      serverCert: join(tls, 'server.crt'),
      serverKey: join(tls, 'server.key'),
      peerCert: join(tls, 'peer.crt'),
      peerKey: join(tls, 'peer.key'),
    };
    writeFileSync(files.ca, this.ca.certPem, { mode: 0o600 });
    writeFileSync(files.serverCert, certs.server.certPem, { mode: 0o600 });
    writeFileSync(files.serverKey, certs.server.keyPem, { mode: 0o600 });
    writeFileSync(files.peerCert, certs.peer.certPem, { mode: 0o600 });
    writeFileSync(files.peerKey, certs.peer.keyPem, { mode: 0o600 });
    const args = [
      '--name', options.name,
      '--data-dir', join(dir, 'data'),
      // zap logs one JSON object a line: tests match fields, not prose.
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--listen-client-urls', `${options.clientURL},${options.uncoveredClientURL}`,
      '--advertise-client-urls', options.clientURL,
      '--listen-peer-urls', options.peerURL,
      '--initial-advertise-peer-urls', options.peerURL,
      '--initial-cluster', options.initialCluster,
      '--initial-cluster-state', options.initialClusterState ?? 'existing',
      '--initial-cluster-token', `keelson-test-${this.root.slice(-6)}`,
      '--heartbeat-interval', String(this.heartbeatIntervalMs),
      '--election-timeout', String(this.electionTimeoutMs),
      '--client-cert-auth',
      '--trusted-ca-file', files.ca,
      '--cert-file', files.serverCert,
      '--key-file', files.serverKey,
      '--peer-client-cert-auth',
      '--peer-trusted-ca-file', files.ca,
      '--peer-cert-file', files.peerCert,
      '--peer-key-file', files.peerKey,
    ];
    // ETCD_* variables would override flags; start from a clean slate.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
    const child = spawn(this.etcdBinary, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    const member = new LocalEtcdMember(options, dir, child);
    this.members.push(member);
    if (options.waitUntilHealthy ?? true) await this.waitUntilHealthy(member);
    return member;
  }

  /** Waits until `member` answers `/health` as healthy; throws with its log if it exits or times out. */
  async waitUntilHealthy(member: LocalEtcdMember, timeoutMs = this.startTimeoutMs): Promise<void> {
    const client = this.client({ endpoints: [member.clientURL], requestTimeoutMs: 1000 });
    const deadline = Date.now() + timeoutMs;
    let last = '';
    try {
      for (;;) {
        if (!member.running) {
          throw new Error(`LocalEtcdCluster: ${member.name} exited (${JSON.stringify(member.exitStatus)}) before it was healthy; its log ends:\n${member.logTail()}`);
        }
        const health = await client.health(member.clientURL);
        if (health.healthy) return;
        last = health.reason ?? '';
        if (Date.now() >= deadline) {
          throw new Error(`LocalEtcdCluster: ${member.name} not healthy within ${timeoutMs} ms (${last}); its log ends:\n${member.logTail()}`);
        }
        await sleep(100);
      }
    } finally {
      this.clients.delete(client);
      client.close();
    }
  }

  /** Waits until the member's log matches `pattern`; returns the matching line. */
  async waitForLog(member: LocalEtcdMember, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = member.log().split('\n').find((l) => pattern.test(l));
      if (line) return line;
      if (Date.now() >= deadline) throw new Error(`LocalEtcdCluster: ${member.name}'s log did not match ${pattern} within ${timeoutMs} ms; it ends:\n${member.logTail()}`);
      await sleep(50);
    }
  }

  /** Kills every member, closes clients and removes the cluster's folder. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.clients) c.close();
    this.clients.clear();
    for (const m of this.members) if (m.running) m.child.kill('SIGKILL');
    // SIGKILL cannot be caught, so exits follow promptly; the bound only guards a stuck `exit` event.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.members.map((m) => m.exited)), new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
    clearTimeout(timer);
    rmSync(this.root, { recursive: true, force: true });
    clusters.delete(this);
  }

  /** `stop()` without waiting, for process exit hooks. @internal */
  stopSync(): void {
    this.stopped = true;
    for (const m of this.members) {
      if (m.running) {
        try {
          m.child.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(this.root, { recursive: true, force: true });
    clusters.delete(this);
  }

  /** A port free on every address in `hosts`: bind port 0 on the first, then check the others. */
  private async freePort(hosts: readonly string[]): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await bindAndClose(hosts[0], 0);
      if (port === undefined || this.reservedPorts.has(port)) continue;
      let free = true;
      for (const host of hosts.slice(1)) free = free && (await bindAndClose(host, port)) !== undefined;
      if (!free) continue;
      this.reservedPorts.add(port);
      return port;
    }
    throw new Error(`LocalEtcdCluster: no free port on ${hosts.join(' and ')} after 50 tries`);
  }
}

/** Binds `host:port`, closes, and returns the port bound; undefined when the bind fails. */
function bindAndClose(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** Fails with how to install etcd when the binary is missing: tests need the real thing. */
function checkEtcdBinary(binary: string): void {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit ${result.status}: ${result.stderr}`;
    throw new Error(
      `LocalEtcdCluster: cannot run etcd ("${binary} --version": ${why}). Build the etcd peer with \`${PEERS_INSTALL_COMMAND}\` ` +
        `(the README's test command does), or set KEELSON_ETCD_BINARY to an etcd 3.6 you have.`,
    );
  }
}
