import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP server for configs and files that Ignition fetches. */
export interface ConfigServer {
  /** `http://127.0.0.1:<port>`, no trailing slash; a served path `p` is at `${url}/p`. */
  readonly url: string;
  /** Every request path, in order, with its status: `"GET /part.ign 200"`. */
  readonly requests: readonly string[];
  /** Stops the server and drops open connections. Safe to call twice. */
  close(): Promise<void>;
}

export interface ConfigServerOptions {
  /**
   * Serve each path once, then answer 403 Forbidden, as an expired presigned bucket URL does: the
   * secret part of a node's config must not be handed out again after first boot. (Ignition 2.14
   * fails at once on a 403 or 404 for a config reference.)
   * @default false
   */
  readonly once?: boolean;
}

/**
 * Starts an HTTP server on 127.0.0.1 (a random free port) serving `files` (path -> body) to GET
 * requests; anything else gets 404. Loopback only: the tests never reach the network.
 */
export async function startConfigServer(files: Record<string, string | Buffer>, options: ConfigServerOptions = {}): Promise<ConfigServer> {
  const bodies = new Map<string, Buffer>();
  for (const [path, body] of Object.entries(files)) bodies.set(path.startsWith('/') ? path : `/${path}`, Buffer.from(body));
  const served = new Set<string>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const body = bodies.get(path);
    let status = 200;
    if (req.method !== 'GET' && req.method !== 'HEAD') status = 405;
    else if (body === undefined) status = 404;
    else if (options.once && served.has(path)) status = 403;
    requests.push(`${req.method} ${path} ${status}`);
    if (status !== 200 || body === undefined) {
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${status}\n`);
      return;
    }
    served.add(path);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
