import type { CloudApiOptions, CloudApiRequest, CloudPower } from '@keelson/platform-spec';

/** What one server looks like to the power switch. */
export interface CloudServer {
  readonly id: number;
  readonly name: string;
  /** The cloud's own word: `active`/`off` (DigitalOcean), `running`/`off` (Hetzner). */
  readonly status: string;
}

/** Where an action stands. */
export type ActionState = { readonly done: false } | { readonly done: true; readonly error?: string };

/**
 * What differs between two clouds' power actions: the paths, the body, the
 * words for an action's state and the shape of an error. Everything else
 * (finding servers by name, one action per server at once, waiting,
 * rate limits, error wording) is shared.
 */
export interface CloudPowerDialect {
  /** `DigitalOcean`, `Hetzner Cloud`: the start of every error. */
  readonly cloud: string;
  /** `droplet`, `server`. */
  readonly serverWord: string;
  readonly defaultBaseUrl: string;
  /** The path (with query) that lists the servers called `name`. */
  findPath(name: string): string;
  /** The servers of a list answer. */
  servers(body: unknown): CloudServer[];
  /** The request that starts the action on server `id` (a path with `{id}` when planning). */
  actionRequest(action: 'powerOff' | 'powerOn', id: string): { readonly path: string; readonly body?: unknown };
  /** The status a server has once the action completed: the action is skipped for a server already there. */
  targetStatus(action: 'powerOff' | 'powerOn'): string;
  /** The action's ID in the answer that started it. */
  actionId(body: unknown): number | undefined;
  /** The path that reads an action. */
  actionPath(id: string): string;
  /** Where an action stands, from the answer to `actionPath`. */
  actionState(body: unknown): ActionState;
  /** The API's own message in an error answer. */
  errorMessage(body: unknown): string;
}

/** A refusal of the cloud's API: the status and its own message. */
export class CloudApiError extends Error {
  constructor(
    message: string,
    public readonly status: number,
  ) {
    super(message);
    this.name = 'CloudApiError';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** At most this many retries after a 429, each waiting until `RateLimit-Reset` (at most a minute). */
const RATE_LIMIT_RETRIES = 3;

/**
 * The power switch of one cloud, through its API with Node's own `fetch`:
 * servers found by their name, one action per server started at once, every
 * action polled until it completed. A 429 waits until the time its
 * `RateLimit-Reset` header names (both clouds send it, in Unix seconds) and
 * retries.
 */
export class CloudApiPower implements CloudPower {
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly actionTimeoutMs: number;
  private readonly pollIntervalMs: number;

  constructor(
    private readonly dialect: CloudPowerDialect,
    options: CloudApiOptions,
  ) {
    this.baseUrl = (options.baseUrl ?? dialect.defaultBaseUrl).replace(/\/+$/, '');
    this.token = options.token;
    this.actionTimeoutMs = options.actionTimeoutMs ?? 300_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
  }

  powerOff(nodes: readonly string[]): Promise<void> {
    return this.run('powerOff', nodes);
  }

  powerOn(nodes: readonly string[]): Promise<void> {
    return this.run('powerOn', nodes);
  }

  plan(action: 'powerOff' | 'powerOn', nodes: readonly string[]): readonly CloudApiRequest[] {
    const d = this.dialect;
    const verb = action === 'powerOff' ? 'power off' : 'power on';
    const find = nodes.map((n): CloudApiRequest => ({ method: 'GET', url: this.url(d.findPath(n)), purpose: `find the ${d.serverWord} ${n} (skip it when already ${d.targetStatus(action)})` }));
    const start = nodes.map((n): CloudApiRequest => {
      const req = d.actionRequest(action, `{id of ${n}}`);
      return { method: 'POST', url: this.url(req.path), ...(req.body !== undefined ? { body: req.body } : {}), purpose: `${verb} ${n}` };
    });
    const wait = nodes.map((n): CloudApiRequest => ({ method: 'GET', url: this.url(d.actionPath(`{action id of ${n}}`)), purpose: `every ${this.pollIntervalMs / 1000} s until the action on ${n} completed (at most ${this.actionTimeoutMs / 1000} s)` }));
    return [...find, ...start, ...wait];
  }

  private url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  private async run(action: 'powerOff' | 'powerOn', nodes: readonly string[]): Promise<void> {
    const d = this.dialect;
    const servers = await Promise.all(nodes.map((n) => this.find(n)));
    const todo = servers.filter((s) => s.status !== d.targetStatus(action));
    const started = await Promise.all(
      todo.map(async (s) => {
        const req = d.actionRequest(action, String(s.id));
        const res = await this.request('POST', req.path, s.name, req.body);
        if (res.status !== 201) throw new CloudApiError(`${d.cloud}: ${s.name}: POST ${req.path} answered ${res.status}, expected 201 (action created): ${d.errorMessage(res.body)}`, res.status);
        const id = d.actionId(res.body);
        if (id === undefined) throw new CloudApiError(`${d.cloud}: ${s.name}: POST ${req.path} answered 201 without an action ID`, res.status);
        return { server: s, id };
      }),
    );
    await Promise.all(started.map((a) => this.waitFor(a.server, a.id, action)));
  }

  private async find(name: string): Promise<CloudServer> {
    const d = this.dialect;
    const path = d.findPath(name);
    const res = await this.request('GET', path, name);
    if (res.status !== 200) throw new CloudApiError(`${d.cloud}: ${name}: GET ${path} answered ${res.status}: ${d.errorMessage(res.body)}`, res.status);
    const found = d.servers(res.body).filter((s) => s.name === name);
    if (found.length === 0) throw new CloudApiError(`${d.cloud}: ${name}: no ${d.serverWord} has this name (GET ${path} found none); is the token for the project that runs the cluster?`, 404);
    if (found.length > 1) throw new CloudApiError(`${d.cloud}: ${name}: ${found.length} ${d.serverWord}s have this name (ids ${found.map((s) => s.id).join(', ')}); a drill powers off one server per node`, 409);
    return found[0];
  }

  private async waitFor(server: CloudServer, id: number, action: 'powerOff' | 'powerOn'): Promise<void> {
    const d = this.dialect;
    const path = d.actionPath(String(id));
    const deadline = Date.now() + this.actionTimeoutMs;
    for (;;) {
      const res = await this.request('GET', path, server.name);
      if (res.status !== 200) throw new CloudApiError(`${d.cloud}: ${server.name}: GET ${path} answered ${res.status}: ${d.errorMessage(res.body)}`, res.status);
      const state = d.actionState(res.body);
      if (state.done) {
        if (state.error) throw new CloudApiError(`${d.cloud}: ${server.name}: the ${action === 'powerOff' ? 'power-off' : 'power-on'} action ${id} failed: ${state.error}`, res.status);
        return;
      }
      if (Date.now() > deadline) throw new CloudApiError(`${d.cloud}: ${server.name}: the ${action === 'powerOff' ? 'power-off' : 'power-on'} action ${id} did not complete within ${this.actionTimeoutMs / 1000} s`, 408);
      await sleep(this.pollIntervalMs);
    }
  }

  private async request(method: 'GET' | 'POST', path: string, server: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.url(path), {
          method,
          headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (e) {
        throw new CloudApiError(`${this.dialect.cloud}: ${server}: ${method} ${this.url(path)} failed: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`, 0);
      }
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON (a proxy's error page): the text is the message.
      }
      if (res.status === 429 && attempt < RATE_LIMIT_RETRIES) {
        const reset = Number(res.headers.get('ratelimit-reset'));
        await sleep(Number.isFinite(reset) && reset > 0 ? Math.min(60_000, Math.max(1000, reset * 1000 - Date.now())) : 5000);
        continue;
      }
      return { status: res.status, body: parsed };
    }
  }
}

/** The `message` of an error answer, else the body as text. */
export function messageIn(body: unknown, key?: string): string {
  const inner = key && body && typeof body === 'object' && key in body ? (body as Record<string, unknown>)[key] : body;
  if (inner && typeof inner === 'object' && 'message' in inner) {
    const code = 'code' in inner ? (inner as { code: unknown }).code : 'id' in inner ? (inner as { id: unknown }).id : undefined;
    return `${String((inner as { message: unknown }).message)}${code ? ` (${String(code)})` : ''}`;
  }
  return (typeof body === 'string' ? body : JSON.stringify(body ?? '')).trim().slice(0, 300);
}
