import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the mimic received. */
export interface MimicRequest {
  readonly method: string;
  /** The path with its query, without the base URL's version prefix (`/droplets?name=a`). */
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  /** The parsed JSON body, or undefined without one. */
  readonly body: unknown;
  /** What the mimic answered. */
  readonly status: number;
}

export interface CloudApiMimicOptions {
  /** Which cloud's API to mimic. */
  readonly cloud: 'digitalocean' | 'hetzner';
  /** The only token it accepts. */
  readonly token: string;
  /** The servers of the account, all on. */
  readonly servers: readonly string[];
  /**
   * Called when an action powers a server off (`false`) or on (`true`),
   * before the action reports completed: a drill's test switches the
   * simulated node here.
   */
  readonly onPower?: (server: string, on: boolean) => void | Promise<void>;
  /**
   * How many reads of a new action still answer it is running.
   * @default 1
   */
  readonly readsUntilDone?: number;
}

interface Server {
  readonly id: number;
  readonly name: string;
  status: string;
  locked: boolean;
}

interface Action {
  readonly id: number;
  readonly server: Server;
  readonly command: string;
  reads: number;
  failed?: string;
}

/**
 * A local HTTP server that answers as DigitalOcean's or Hetzner Cloud's API
 * answers the requests of a power switch, and refuses every other request
 * with the API's documented error shape: the contract the power switch is
 * tested against, without a cloud account.
 *
 * DigitalOcean (base URL `<url>/v2`): `GET /v2/droplets?name=`, `POST
 * /v2/droplets/{id}/actions` with `{"type": "power_off" | "power_on"}` (201,
 * or 422 while the droplet is locked by another action), `GET
 * /v2/actions/{id}` (`in-progress`, then `completed`); errors
 * `{"id", "message"}`.
 *
 * Hetzner Cloud (base URL `<url>/v1`): `GET /v1/servers?name=`, `POST
 * /v1/servers/{id}/actions/poweroff|poweron` without a body (201, or 423
 * `locked` while another action runs), `GET /v1/actions/{id}` (`running`,
 * then `success`); errors `{"error": {"code", "message", "details"}}`.
 *
 * Both: `Authorization: Bearer <token>` or 401, JSON bodies with
 * `Content-Type: application/json`.
 *
 * @see https://docs.digitalocean.com/products/droplets/reference/api/droplet-actions
 * @see https://github.com/digitalocean/openapi/blob/main/specification/shared/description.md
 * @see https://docs.hetzner.cloud/reference/cloud#server-actions-power-off-a-server
 * @see https://docs.hetzner.cloud/reference/cloud#errors
 */
export class CloudApiMimic {
  /** Every request, in order. */
  public readonly requests: MimicRequest[] = [];
  private readonly servers = new Map<string, Server>();
  private readonly actions = new Map<number, Action>();
  private nextActionId = 7000;
  private conflictsLeft = 0;

  private constructor(
    private readonly options: CloudApiMimicOptions,
    private readonly server: ReturnType<typeof createServer>,
    /** The base URL to give the power switch, with the API's version (`http://127.0.0.1:1234/v2`). */
    public readonly url: string,
  ) {
    options.servers.forEach((name, i) => this.servers.set(name, { id: 3164400 + i, name, status: this.onStatus, locked: false }));
  }

  /** Starts the mimic on a free local port. */
  static async start(options: CloudApiMimicOptions): Promise<CloudApiMimic> {
    const holder: { mimic?: CloudApiMimic } = {};
    const server = createServer((req, res) => void holder.mimic?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    holder.mimic = new CloudApiMimic(options, server, `http://127.0.0.1:${port}/${options.cloud === 'digitalocean' ? 'v2' : 'v1'}`);
    return holder.mimic;
  }

  /** A server's power state as the cloud reports it (`active`/`running` or `off`). */
  status(name: string): string | undefined {
    return this.servers.get(name)?.status;
  }

  /** Makes the server busy with another action: power actions on it are refused as the API refuses them. */
  lock(name: string): void {
    const s = this.servers.get(name);
    if (s) s.locked = true;
  }

  /** Hetzner Cloud only: the next `count` action requests answer 409 `conflict` (the resource changed during the request). */
  conflictNext(count = 1): void {
    this.conflictsLeft = count;
  }

  /** The power requests it received (POSTs), as `METHOD path body`. */
  powerRequests(): string[] {
    return this.requests.filter((r) => r.method === 'POST').map((r) => `${r.method} ${r.path}${r.body !== undefined ? ` ${JSON.stringify(r.body)}` : ''}`);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private get onStatus(): string {
    return this.options.cloud === 'digitalocean' ? 'active' : 'running';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const prefix = this.options.cloud === 'digitalocean' ? '/v2' : '/v1';
    const full = req.url ?? '/';
    const path = full.startsWith(prefix) ? full.slice(prefix.length) : full;
    let body: unknown;
    let badJson = false;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        badJson = true;
      }
    }
    const answer = (status: number, json: unknown) => {
      this.requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, contentType: req.headers['content-type'], body, status });
      res.writeHead(status, { 'Content-Type': 'application/json', 'RateLimit-Limit': '5000', 'RateLimit-Remaining': '4999', 'RateLimit-Reset': String(Math.floor(Date.now() / 1000) + 60) });
      res.end(JSON.stringify(json));
    };
    try {
      const [status, json] = await this.route(req.method ?? '', full, path, req.headers.authorization, req.headers['content-type'], body, badJson);
      answer(status, json);
    } catch (e) {
      answer(500, this.error('server_error', (e as Error).message));
    }
  }

  private error(code: string, message: string): unknown {
    return this.options.cloud === 'digitalocean' ? { id: code, message, request_id: 'mimic' } : { error: { code, message, details: {} } };
  }

  private async route(method: string, full: string, path: string, authorization: string | undefined, contentType: string | undefined, body: unknown, badJson: boolean): Promise<[number, unknown]> {
    const doCloud = this.options.cloud === 'digitalocean';
    if (!full.startsWith(doCloud ? '/v2/' : '/v1/')) return [404, this.error('not_found', `The resource you were accessing could not be found.`)];
    if (authorization !== `Bearer ${this.options.token}`) {
      return [401, doCloud ? this.error('unauthorized', 'Unable to authenticate you') : this.error('unauthorized', 'unable to authenticate')];
    }
    if (badJson) return [400, doCloud ? this.error('bad_request', 'invalid JSON') : this.error('json_error', 'invalid JSON in request')];
    const url = new URL(path, 'http://mimic');
    const list = doCloud ? '/droplets' : '/servers';
    if (method === 'GET' && url.pathname === list) {
      const name = url.searchParams.get('name');
      const extra = [...url.searchParams.keys()].filter((k) => k !== 'name');
      if (!name || extra.length > 0) return [400, this.error(doCloud ? 'bad_request' : 'invalid_input', `the mimic answers only ?name=<name>, got ${url.search}`)];
      // DigitalOcean matches names exactly but case-insensitively; Hetzner exactly.
      const found = [...this.servers.values()].filter((s) => (doCloud ? s.name.toLowerCase() === name.toLowerCase() : s.name === name));
      const view = found.map((s) => ({ id: s.id, name: s.name, status: s.status, locked: s.locked }));
      return [200, doCloud ? { droplets: view, links: {}, meta: { total: view.length } } : { servers: view, meta: { pagination: { page: 1, per_page: 25, total_entries: view.length } } }];
    }
    const actionMatch = /^\/actions\/(\d+)$/.exec(url.pathname);
    if (method === 'GET' && actionMatch) {
      const action = this.actions.get(Number(actionMatch[1]));
      if (!action) return [404, this.error('not_found', doCloud ? 'The resource you were accessing could not be found.' : 'action not found')];
      return [200, { action: this.actionView(action) }];
    }
    if (method === 'POST') {
      const m = doCloud ? /^\/droplets\/(\d+)\/actions$/.exec(url.pathname) : /^\/servers\/(\d+)\/actions\/(poweroff|poweron)$/.exec(url.pathname);
      if (m) {
        const server = [...this.servers.values()].find((s) => s.id === Number(m[1]));
        if (!server) return [404, this.error('not_found', doCloud ? 'The resource you were accessing could not be found.' : 'server not found')];
        let on: boolean;
        if (doCloud) {
          if (contentType?.split(';')[0] !== 'application/json') return [400, this.error('bad_request', 'Content-Type must be application/json')];
          const type = (body as { type?: unknown } | undefined)?.type;
          if (type !== 'power_off' && type !== 'power_on') return [422, this.error('unprocessable_entity', `the mimic answers only the types power_off and power_on, got ${JSON.stringify(type)}`)];
          on = type === 'power_on';
          if (server.locked) return [422, this.error('unprocessable_entity', 'Droplet already has a pending event.')];
        } else {
          if (body !== undefined) return [400, this.error('invalid_input', 'this action takes no body')];
          if (this.conflictsLeft > 0) {
            this.conflictsLeft--;
            return [409, this.error('conflict', 'the resource has changed during the request, please retry')];
          }
          on = m[2] === 'poweron';
          if (server.locked) return [423, this.error('locked', 'server is locked')];
        }
        await this.options.onPower?.(server.name, on);
        server.status = on ? this.onStatus : 'off';
        const action: Action = { id: this.nextActionId++, server, command: doCloud ? (on ? 'power_on' : 'power_off') : on ? 'start_server' : 'stop_server', reads: 0 };
        this.actions.set(action.id, action);
        return [201, { action: this.actionView(action, true) }];
      }
    }
    return [404, this.error('not_found', `the mimic does not answer ${method} ${url.pathname}`)];
  }

  private actionView(action: Action, created = false): unknown {
    if (!created) action.reads++;
    const done = !created && action.reads > (this.options.readsUntilDone ?? 1);
    const started = '2026-01-01T00:00:00Z';
    if (this.options.cloud === 'digitalocean') {
      return { id: action.id, status: done ? 'completed' : 'in-progress', type: action.command, started_at: started, completed_at: done ? started : null, resource_id: action.server.id, resource_type: 'droplet', region_slug: 'fra1' };
    }
    return { id: action.id, command: action.command, status: done ? 'success' : 'running', progress: done ? 100 : 0, started, finished: done ? started : null, resources: [{ id: action.server.id, type: 'server' }], error: null };
  }
}
