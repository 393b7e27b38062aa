import * as https from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export interface EtcdClientOptions {
  /**
   * Client URLs of the members (`https://10.110.0.5:2379`). Requests go to
   * the first one that answers; a connection error moves to the next.
   */
  readonly endpoints: readonly string[];
  /** PEM of the etcd CA: the client trusts only servers whose certificate it signed. */
  readonly ca: string;
  /** PEM client certificate (`clientAuth`) signed by the etcd CA. */
  readonly cert: string;
  /** PEM private key of `cert`. */
  readonly key: string;
  /**
   * Time allowed for one request to one endpoint, connection included.
   * @default 5000
   */
  readonly requestTimeoutMs?: number;
}

/**
 * What went wrong, so callers can decide without parsing messages.
 *
 * - `tls`: the handshake failed (our certificate refused, the server's not
 *   trusted or not covering the address dialled). Configuration, so never
 *   retried on another endpoint.
 * - `connection`: refused, reset or unreachable.
 * - `timeout`: no answer within `requestTimeoutMs`.
 * - `server`: etcd answered with an error (`grpcCode` holds its gRPC status code).
 * - `unavailable`: every endpoint failed; `attempts` holds each failure.
 */
export type EtcdErrorKind = 'tls' | 'connection' | 'timeout' | 'server' | 'unavailable';

export class EtcdError extends Error {
  /** Node's error code (`ERR_TLS_CERT_ALTNAME_INVALID`, `ECONNREFUSED`, ...), when there is one. */
  public readonly code: string | undefined;
  /** gRPC status code from the gateway for `server` errors (14 = Unavailable). */
  public readonly grpcCode: number | undefined;
  /** Every endpoint's failure, for `unavailable`. */
  public readonly attempts: readonly EtcdError[];

  constructor(
    message: string,
    public readonly kind: EtcdErrorKind,
    /** The endpoint that failed; undefined for `unavailable`. */
    public readonly endpoint: string | undefined,
    details: { code?: string; grpcCode?: number; attempts?: readonly EtcdError[]; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'EtcdError';
    this.code = details.code;
    this.grpcCode = details.grpcCode;
    this.attempts = details.attempts ?? [];
  }
}

/** A key and its value as stored, with etcd's revisions. */
export interface EtcdKeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
}

export interface RangeOptions {
  /** Every key that starts with `key`. @default false */
  readonly prefix?: boolean;
  /** At most this many keys. @default no limit */
  readonly limit?: number;
  /** Return keys without values. @default false */
  readonly keysOnly?: boolean;
  /**
   * Answer from the member's local state instead of a linearizable read
   * through the leader; faster, possibly stale.
   * @default false
   */
  readonly serializable?: boolean;
}

export interface RangeResult {
  readonly kvs: readonly EtcdKeyValue[];
  /** Keys in the range, even when `limit` returned fewer. */
  readonly count: number;
  readonly more: boolean;
  readonly revision: number;
}

/** A cluster member as the membership API reports it. */
export interface EtcdMember {
  /** Member ID in lowercase hex, as `etcdctl member list` prints it. */
  readonly id: string;
  /** Empty until the member has started and published its name. */
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
  /** Whether the member has started and joined (etcdctl shows `unstarted` otherwise). */
  readonly started: boolean;
}

export interface EtcdStatus {
  readonly endpoint: string;
  /** The member answering, hex. */
  readonly memberId: string;
  /** The leader it follows, hex; undefined while it knows of none. */
  readonly leaderId: string | undefined;
  readonly isLeader: boolean;
  readonly version: string;
  readonly raftTerm: number;
  readonly raftIndex: number;
  readonly dbSizeBytes: number;
}

export interface EtcdHealth {
  readonly endpoint: string;
  readonly healthy: boolean;
  /** Why it is not healthy: etcd's answer or the connection error. */
  readonly reason?: string;
}

/** gRPC status code Unavailable: no leader, leader changed, request timed out. */
const GRPC_UNAVAILABLE = 14;

/** Node error codes of connection failures worth trying another endpoint for. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/** Node's codes for a server certificate the client does not accept. */
const SERVER_CERT_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'is not signed by the etcd CA given to the client',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'is not signed by the etcd CA given to the client',
  SELF_SIGNED_CERT_IN_CHAIN: 'chains to a CA the client does not trust',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'is self-signed, not signed by the etcd CA',
  CERT_HAS_EXPIRED: 'has expired',
  CERT_NOT_YET_VALID: 'is not valid yet (check the clocks)',
  CERT_SIGNATURE_FAILURE: 'has a signature that does not verify',
};

interface WireKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
}
interface WireHeader {
  member_id?: string;
  revision?: string;
}
interface WireRangeResponse {
  header?: WireHeader;
  kvs?: WireKeyValue[];
  count?: string;
  more?: boolean;
}
interface WirePutResponse {
  header?: WireHeader;
}
interface WireMember {
  ID?: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}
interface WireMemberListResponse {
  members?: WireMember[];
}
interface WireMemberAddResponse {
  member?: WireMember;
  members?: WireMember[];
}
interface WireStatusResponse {
  header?: WireHeader;
  version?: string;
  dbSize?: string;
  leader?: string;
  raftIndex?: string;
  raftTerm?: string;
}
interface WireError {
  error?: string;
  message?: string;
  code?: number;
}

interface RequestOptions {
  /** Only this endpoint; no failover. */
  readonly endpoint?: string;
  /**
   * May run twice without harm, so it is retried on another endpoint even
   * after it reached a member that then failed.
   */
  readonly idempotent: boolean;
  readonly method?: 'GET' | 'POST';
}

/**
 * A small etcd v3 client over HTTPS with mutual TLS, talking to etcd's JSON
 * gRPC gateway with `node:https` only.
 *
 * The platform needs a handful of calls (health, status, membership, a few
 * keys) from Node, where a gRPC stack would be a heavy dependency; the
 * gateway serves the same API as JSON on the client port. Keys and values are
 * base64 on the wire and 64-bit numbers are strings; this client hides both.
 * Member IDs are lowercase hex, as `etcdctl member list` and etcd's logs
 * print them.
 *
 * Requests start at the endpoint that answered last and move to the next on
 * connection errors, timeouts and etcd's Unavailable answers (no leader,
 * request timed out) when retrying is safe: the request never reached a
 * member, or it is idempotent. TLS failures are thrown at once,
 * never retried elsewhere: they mean wrong certificates, which another
 * member would only hide.
 *
 * @see https://etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/
 * @see https://etcd.io/docs/v3.4/op-guide/security/
 */
export class EtcdClient {
  public readonly endpoints: readonly string[];
  private readonly agent: https.Agent;
  private readonly requestTimeoutMs: number;
  /** Index of the endpoint that answered last: requests start there. */
  private preferred = 0;

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) {
      throw new Error('EtcdClient: endpoints is empty; give the client URLs of the members, e.g. https://10.110.0.5:2379');
    }
    this.endpoints = options.endpoints.map((e) => normalizeEndpoint(e, 'EtcdClient: endpoints'));
    for (const [name, pem] of [['ca', options.ca], ['cert', options.cert], ['key', options.key]] as const) {
      if (!/-----BEGIN [A-Z ]+-----/.test(pem)) {
        throw new Error(`EtcdClient: ${name} is not PEM; pass the file contents, not its path`);
      }
    }
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    if (!(this.requestTimeoutMs > 0)) {
      throw new Error(`EtcdClient: requestTimeoutMs must be > 0, got ${options.requestTimeoutMs}`);
    }
    // One agent per client: TLS material is per agent, and keep-alive saves a
    // handshake per request (writers loop).
    this.agent = new https.Agent({ keepAlive: true, ca: options.ca, cert: options.cert, key: options.key });
  }

  /** Stores `value` at `key`; returns the store revision after the write. */
  async put(key: string, value: string): Promise<{ revision: number }> {
    const res = await this.request<WirePutResponse>('/v3/kv/put', { key: b64(key), value: b64(value) }, { idempotent: true });
    return { revision: num(res.header?.revision) };
  }

  /** The value at `key`, or undefined when there is none. Linearizable. */
  async get(key: string): Promise<string | undefined> {
    const res = await this.range(key);
    return res.kvs[0]?.value;
  }

  /** Keys equal to `key`, or starting with it when `prefix` is set. Linearizable unless `serializable`. */
  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    const body: Record<string, unknown> = { key: b64(key) };
    if (options.prefix) body.range_end = b64(prefixEnd(key));
    if (options.limit !== undefined) body.limit = String(options.limit);
    if (options.keysOnly) body.keys_only = true;
    if (options.serializable) body.serializable = true;
    const res = await this.request<WireRangeResponse>('/v3/kv/range', body, { idempotent: true });
    return {
      kvs: (res.kvs ?? []).map((kv) => ({
        key: unb64(kv.key),
        value: unb64(kv.value),
        createRevision: num(kv.create_revision),
        modRevision: num(kv.mod_revision),
        version: num(kv.version),
      })),
      count: num(res.count),
      more: res.more ?? false,
      revision: num(res.header?.revision),
    };
  }

  /** How many keys start with `prefix`, without reading them. Linearizable. */
  async count(prefix: string): Promise<number> {
    const res = await this.request<WireRangeResponse>('/v3/kv/range', { key: b64(prefix), range_end: b64(prefixEnd(prefix)), count_only: true }, { idempotent: true });
    return num(res.count);
  }

  /**
   * The cluster's members, as the answering member knows them.
   *
   * @see https://etcd.io/docs/v3.4/op-guide/runtime-configuration/
   */
  async memberList(): Promise<EtcdMember[]> {
    const res = await this.request<WireMemberListResponse>('/v3/cluster/member/list', {}, { idempotent: true });
    return (res.members ?? []).map(member);
  }

  /**
   * Adds a voting member that will listen for peers on `peerURLs`; it shows
   * as not started until a process with those URLs joins.
   *
   * Not retried on another endpoint once a member received it: a second add
   * would fail or add twice.
   */
  async memberAdd(peerURLs: readonly string[]): Promise<{ member: EtcdMember; members: EtcdMember[] }> {
    const urls = peerURLs.map((u) => normalizeEndpoint(u, 'memberAdd: peerURLs'));
    const res = await this.request<WireMemberAddResponse>('/v3/cluster/member/add', { peerURLs: urls }, { idempotent: false });
    if (!res.member?.ID) throw new EtcdError('etcd: member add answered without the new member', 'server', undefined);
    return { member: member(res.member), members: (res.members ?? []).map(member) };
  }

  /** Removes the member with ID `id` (hex); returns the members left. */
  async memberRemove(id: string): Promise<EtcdMember[]> {
    const res = await this.request<WireMemberListResponse>('/v3/cluster/member/remove', { ID: hexToDecimal(id) }, { idempotent: false });
    return (res.members ?? []).map(member);
  }

  /** Status of the member at `endpoint` (not necessarily one of `endpoints`): its ID and the leader it follows. */
  async status(endpoint: string): Promise<EtcdStatus> {
    const url = normalizeEndpoint(endpoint, 'status: endpoint');
    const res = await this.request<WireStatusResponse>('/v3/maintenance/status', {}, { idempotent: true, endpoint: url });
    const memberId = decimalToHex(res.header?.member_id ?? '0');
    const leaderId = res.leader && res.leader !== '0' ? decimalToHex(res.leader) : undefined;
    return {
      endpoint: url,
      memberId,
      leaderId,
      isLeader: leaderId === memberId,
      version: res.version ?? '',
      raftTerm: num(res.raftTerm),
      raftIndex: num(res.raftIndex),
      dbSizeBytes: num(res.dbSize),
    };
  }

  /**
   * `GET /health` of the member at `endpoint`: healthy when it has a leader
   * and can serve a linearizable read.
   *
   * An unreachable or unhealthy member is a result (`healthy: false` and a
   * reason), not an exception; a TLS failure still throws, because it means
   * the certificates are wrong, not the member.
   *
   * @see https://etcd.io/docs/v3.4/op-guide/monitoring/#health-check
   */
  async health(endpoint: string): Promise<EtcdHealth> {
    const url = normalizeEndpoint(endpoint, 'health: endpoint');
    try {
      const res = await this.request<{ health?: string; reason?: string }>('/health', undefined, { idempotent: true, endpoint: url, method: 'GET' });
      return res.health === 'true' ? { endpoint: url, healthy: true } : { endpoint: url, healthy: false, reason: res.reason ?? `health: ${String(res.health)}` };
    } catch (err) {
      if (err instanceof EtcdError && err.kind !== 'tls') return { endpoint: url, healthy: false, reason: err.message };
      throw err;
    }
  }

  /** Closes kept-alive connections; the client is unusable afterwards. */
  close(): void {
    this.agent.destroy();
  }

  private async request<T>(path: string, body: unknown, options: RequestOptions): Promise<T> {
    const order = options.endpoint
      ? [options.endpoint]
      : this.endpoints.map((_, i) => this.endpoints[(this.preferred + i) % this.endpoints.length]);
    const attempts: EtcdError[] = [];
    for (const endpoint of order) {
      try {
        const result = await this.once<T>(endpoint, path, body, options.method ?? 'POST');
        if (!options.endpoint) this.preferred = this.endpoints.indexOf(endpoint);
        return result;
      } catch (err) {
        const e = err instanceof FailedAttempt ? err : new FailedAttempt(toEtcdError(endpoint, err), false);
        const retry =
          e.error.kind === 'connection' || e.error.kind === 'timeout'
            ? !e.reachedServer || options.idempotent
            : e.error.kind === 'server' && e.error.grpcCode === GRPC_UNAVAILABLE && options.idempotent;
        if (!retry || order.length === 1) throw e.error;
        attempts.push(e.error);
      }
    }
    throw new EtcdError(
      `etcd: no endpoint answered ${path}:\n${attempts.map((a) => `  ${a.message}`).join('\n')}`,
      'unavailable',
      undefined,
      { attempts },
    );
  }

  private once<T>(endpoint: string, path: string, body: unknown, method: 'GET' | 'POST'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      let reachedServer = false;
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new FailedAttempt(toEtcdError(endpoint, err), reachedServer));
      };
      const req: ClientRequest = https.request(
        `${endpoint}${path}`,
        {
          method,
          agent: this.agent,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            if (settled) return;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? {} : JSON.parse(text);
            } catch {
              fail(new EtcdError(`etcd ${endpoint}: ${path} answered HTTP ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`, 'server', endpoint));
              return;
            }
            const status = res.statusCode ?? 0;
            // /health answers 503 with {"health":"false"}: a result, not an error.
            if (status === 200 || (path === '/health' && status === 503)) {
              settled = true;
              clearTimeout(timer);
              resolve(parsed as T);
              return;
            }
            const wire = parsed as WireError;
            const message = wire.message ?? wire.error ?? text;
            fail(new EtcdError(`etcd ${endpoint}: ${path}: ${message} (HTTP ${status}${wire.code === undefined ? '' : `, gRPC code ${wire.code}`})`, 'server', endpoint, { grpcCode: wire.code }));
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new EtcdError(`etcd ${endpoint}: no answer to ${path} within ${this.requestTimeoutMs} ms`, 'timeout', endpoint));
      }, this.requestTimeoutMs);
      req.on('socket', (socket) => {
        // A reused keep-alive socket is already connected: the request reaches the server.
        if (!socket.connecting) reachedServer = true;
        else socket.once('secureConnect', () => (reachedServer = true));
      });
      req.on('error', fail);
      req.end(payload);
    });
  }
}

/** Carries whether the request may have reached etcd, which decides if retrying elsewhere is safe. */
class FailedAttempt extends Error {
  constructor(
    public readonly error: EtcdError,
    public readonly reachedServer: boolean,
  ) {
    super(error.message);
  }
}

/** Turns a Node error into an EtcdError whose message says what failed and what to check. */
function toEtcdError(endpoint: string, err: unknown): EtcdError {
  if (err instanceof EtcdError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message.trim() : String(err);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new EtcdError(
      `etcd ${endpoint}: TLS hostname verification failed: the server certificate does not cover ${new URL(endpoint).hostname} (${message}); dial an address in its subjectAltName or reissue the member certificate with this address`,
      'tls',
      endpoint,
      { code, cause: err },
    );
  }
  if (code && code in SERVER_CERT_CODES) {
    return new EtcdError(`etcd ${endpoint}: TLS: the server certificate ${SERVER_CERT_CODES[code]} (${code})`, 'tls', endpoint, { code, cause: err });
  }
  // Alerts the server sent during the handshake. TLS 1.3 reports them as
  // ERR_SSL_*_ALERT_*; TLS 1.2 as EPROTO with the alert in the message.
  const alert = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.+)$/.exec(code ?? '')?.[1]?.toLowerCase().replace(/_/g, ' ') ?? /alert ([a-z ]+?)(?::|$)/m.exec(message)?.[1];
  if (alert) {
    const hint = /certificate|unknown ca|access denied/.test(alert)
      ? '; the server did not accept the client certificate: check it is signed by the etcd CA, has not expired and has clientAuth'
      : '';
    return new EtcdError(`etcd ${endpoint}: TLS handshake refused: ${alert}${hint}`, 'tls', endpoint, { code, cause: err });
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO') {
    return new EtcdError(`etcd ${endpoint}: TLS handshake failed (${message}); is this an https client port?`, 'tls', endpoint, { code, cause: err });
  }
  if (code?.startsWith('ERR_OSSL') || code?.startsWith('ERR_SSL') || code?.startsWith('ERR_TLS')) {
    return new EtcdError(`etcd ${endpoint}: TLS: ${message} (${code})`, 'tls', endpoint, { code, cause: err });
  }
  if (code && CONNECTION_CODES.has(code)) {
    return new EtcdError(`etcd ${endpoint}: ${describeConnectionCode(code)} (${message})`, 'connection', endpoint, { code, cause: err });
  }
  if (message === 'socket hang up') {
    return new EtcdError(`etcd ${endpoint}: connection closed before an answer`, 'connection', endpoint, { code, cause: err });
  }
  return new EtcdError(`etcd ${endpoint}: ${message}`, 'connection', endpoint, { code, cause: err });
}

function describeConnectionCode(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is etcd running and listening there?)';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name does not resolve';
    default:
      return 'unreachable';
  }
}

function normalizeEndpoint(endpoint: string, what: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`${what}: "${endpoint}" is not a URL; expected https://host:port`);
  }
  if (url.protocol !== 'https:') {
    throw new Error(`${what}: "${endpoint}" is not https; Keelson's etcd only serves TLS with client certificates`);
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new Error(`${what}: "${endpoint}" has a path; expected https://host:port`);
  }
  return `${url.protocol}//${url.host}`;
}

/** The smallest key greater than every key starting with `prefix`: etcd's range_end for a prefix. @internal */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] += 1;
      return end;
    }
  }
  // Empty prefix (or all 0xff): "\0" means every key from `key` on.
  return Buffer.from([0]);
}

function b64(value: string | Buffer): string {
  return Buffer.from(value).toString('base64');
}

function unb64(value: string | undefined): string {
  return value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
}

/** int64 strings from the gateway; proto3 JSON omits zero values. */
function num(value: string | undefined): number {
  return value === undefined ? 0 : Number(value);
}

function member(m: WireMember): EtcdMember {
  const name = m.name ?? '';
  return {
    id: decimalToHex(m.ID ?? '0'),
    name,
    peerURLs: m.peerURLs ?? [],
    clientURLs: m.clientURLs ?? [],
    isLearner: m.isLearner ?? false,
    started: name !== '',
  };
}

/** uint64 member IDs travel as decimal strings; people and logs use hex. @internal */
export function decimalToHex(decimal: string): string {
  return BigInt(decimal).toString(16);
}

/** @internal */
export function hexToDecimal(hex: string): string {
  if (!/^[0-9a-f]{1,16}$/i.test(hex)) {
    throw new Error(`etcd member ID "${hex}" is not hex; use the ID etcdctl member list prints (e.g. 8e9e05c52164694d)`);
  }
  return BigInt(`0x${hex}`).toString(10);
}

/** Whether `host` is an IP address (for subjectAltName entries). @internal */
export function isIpAddress(host: string): boolean {
  return isIP(host.replace(/^\[|\]$/g, '')) !== 0;
}
