import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { apiRequest } from '@keelson/control-plane';
import YAML from 'yaml';
import type { K8sObject } from '@keelson/upstream';

/** What the API server answered. */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Where a kind is served: its resource name and whether it lives in a namespace. */
export interface ServedKind {
  readonly resource: string;
  readonly namespaced: boolean;
}

/** The result of one server-side apply. */
export type ApplyResult = { readonly ok: true } | { readonly ok: false; readonly status: number; readonly message: string };

/** The field manager Argo CD's application controller applies with. */
export const ARGOCD_FIELD_MANAGER = 'argocd-controller';

interface Kubeconfig {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{ name?: string; cluster: { server: string; 'certificate-authority-data'?: string } }>;
  users?: Array<{ name?: string; user: { 'client-certificate-data'?: string; 'client-key-data'?: string } }>;
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/**
 * A small client of the rehearsal's API server, as the admin of its
 * kubeconfig: discovery of the kinds it serves, server-side apply (with the
 * dry-run, field manager and strict field validation Argo CD's sync uses),
 * lists, reads and deletes, over one keep-alive connection pool. Every
 * refusal carries the API server's own message.
 */
export class ApiClient {
  private readonly server: string;
  private readonly agent: Agent;
  private readonly groupVersions = new Map<string, Promise<Map<string, ServedKind> | string>>();

  /**
   * Reads a kubeconfig, JSON or YAML (kubectl's own files are YAML), and
   * uses its current context (else its first cluster and user), which must
   * carry its certificate authority and client certificate inline
   * (`*-data`), as the rehearsal's and `keelson deploy`'s admin kubeconfigs do.
   */
  constructor(kubeconfigPath: string) {
    const config = (YAML.parse(readFileSync(kubeconfigPath, 'utf8')) ?? {}) as Kubeconfig;
    const context = config.contexts?.find((c) => c.name === config['current-context'])?.context;
    const cluster = (context ? config.clusters?.find((c) => c.name === context.cluster) : config.clusters?.[0])?.cluster;
    const user = (context ? config.users?.find((u) => u.name === context.user) : config.users?.[0])?.user;
    if (!cluster || !user) throw new Error(`ApiClient: ${kubeconfigPath} has no cluster or user${config['current-context'] ? ` for its current context ${config['current-context']}` : ''}`);
    const ca = cluster['certificate-authority-data'];
    const cert = user['client-certificate-data'];
    const key = user['client-key-data'];
    if (!ca || !cert || !key) {
      throw new Error(`ApiClient: ${kubeconfigPath} needs certificate-authority-data, client-certificate-data and client-key-data inline (files and tokens are not read); use the admin kubeconfig keelson deploy writes`);
    }
    this.server = cluster.server;
    this.agent = new Agent({ keepAlive: true, maxSockets: 16, ca: b64(ca), cert: b64(cert), key: b64(key) });
  }

  /** Closes the connection pool. */
  close(): void {
    this.agent.destroy();
  }

  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    return apiRequest(`${this.server}${path}`, { method, body, contentType, agent: this.agent, timeoutMs: 60_000 });
  }

  async get<T = K8sObject>(path: string): Promise<T | undefined> {
    const res = await this.request('GET', path);
    if (res.status === 404) return undefined;
    if (res.status >= 300) throw new Error(`GET ${path}: ${res.status} ${messageOf(res.body)}`);
    return res.body as T;
  }

  /** The items of a list (`/api/v1/pods`, `/apis/apps/v1/deployments`). */
  async list<T = K8sObject>(path: string): Promise<T[]> {
    const res = await this.get<{ items?: T[] }>(path);
    return res?.items ?? [];
  }

  /**
   * Where the API server serves `apiVersion`/`kind`, or why not (the
   * discovery answer). Discovery of a group version is cached; call
   * `forget` after a CustomResourceDefinition of the group is established.
   */
  async resolve(apiVersion: string, kind: string): Promise<ServedKind | { readonly missing: string }> {
    let entry = this.groupVersions.get(apiVersion);
    if (!entry) {
      entry = this.discover(apiVersion);
      this.groupVersions.set(apiVersion, entry);
    }
    const found = await entry;
    if (typeof found === 'string') return { missing: found };
    const served = found.get(kind);
    if (!served) return { missing: `the API server serves no kind ${kind} in ${apiVersion}` };
    return served;
  }

  /** Drops what discovery knew about a group, after a CRD of it changed. */
  forget(group: string): void {
    for (const key of [...this.groupVersions.keys()]) {
      if (key.startsWith(`${group}/`)) this.groupVersions.delete(key);
    }
  }

  private async discover(apiVersion: string): Promise<Map<string, ServedKind> | string> {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const res = await this.request('GET', path);
    if (res.status !== 200) {
      // A group version nobody serves is not cached as missing for good: its CRD may come later.
      this.groupVersions.delete(apiVersion);
      return `GET ${path}: ${res.status} ${messageOf(res.body)}`;
    }
    const kinds = new Map<string, ServedKind>();
    for (const r of (res.body as { resources?: Array<{ name: string; kind: string; namespaced: boolean }> }).resources ?? []) {
      if (!r.name.includes('/')) kinds.set(r.kind, { resource: r.name, namespaced: r.namespaced });
    }
    return kinds;
  }

  /** The path of an object of a served kind. */
  objectPath(apiVersion: string, served: ServedKind, name: string, namespace?: string): string {
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return `${base}${served.namespaced && namespace ? `/namespaces/${namespace}` : ''}/${served.resource}/${encodeURIComponent(name)}`;
  }

  /**
   * Server-side apply of one object as Argo CD's controller applies it
   * (`kubectl apply --server-side --force-conflicts
   * --field-manager=argocd-controller`, strict field validation), or its
   * server-side dry run.
   *
   * @see https://kubernetes.io/docs/reference/using-api/server-side-apply/
   */
  async apply(object: K8sObject, served: ServedKind, namespace: string | undefined, dryRun: boolean): Promise<ApplyResult> {
    const name = object.metadata?.name ?? '';
    const body: K8sObject = { ...object, metadata: { ...object.metadata } };
    if (served.namespaced) body.metadata = { ...body.metadata, namespace };
    else if (body.metadata) delete body.metadata.namespace;
    const query = `fieldManager=${ARGOCD_FIELD_MANAGER}&force=true&fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
    const res = await this.request('PATCH', `${this.objectPath(String(object.apiVersion), served, name, namespace)}?${query}`, body, 'application/apply-patch+yaml');
    if (res.status < 300) return { ok: true };
    return { ok: false, status: res.status, message: messageOf(res.body) };
  }

  async delete(path: string): Promise<ApiResponse> {
    return this.request('DELETE', path);
  }

  async create(path: string, body: unknown): Promise<ApplyResult> {
    const res = await this.request('POST', path, body);
    if (res.status < 300) return { ok: true };
    return { ok: false, status: res.status, message: messageOf(res.body) };
  }

  /** A JSON merge patch. */
  async mergePatch(path: string, patch: unknown): Promise<ApplyResult> {
    const res = await this.request('PATCH', path, patch, 'application/merge-patch+json');
    if (res.status < 300) return { ok: true };
    return { ok: false, status: res.status, message: messageOf(res.body) };
  }
}

/** The message of a Kubernetes `Status`, or the body as text. */
export function messageOf(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return String(body).trim().slice(0, 500);
}
