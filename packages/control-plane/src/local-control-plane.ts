import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, type Agent } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createCertificateAuthority, createKeyPair, issueCertificate, type CertificateMaterial, type EtcdClient } from '@keelson/etcd-tls';
import { LocalEtcdCluster } from '@keelson/etcd-tls/testing';
import { requirePeer, requirePeerData } from '@keelson/upstream';

/** A `--name=value` flag, as kubeadm's `extraArgs` list it. */
export interface ComponentArg {
  readonly name: string;
  readonly value: string;
}

export interface LocalControlPlaneOptions {
  /**
   * The API server flags a Keelson controller sets (its kubeadm
   * ClusterConfiguration's `apiServer.extraArgs`). Like kubeadm, a flag
   * given here replaces the default of the same name. Absolute paths under
   * `/etc/kubernetes/` and `/var/log/` point into the plane's own root.
   * @default []
   */
  readonly apiServerExtraArgs?: readonly ComponentArg[];
  /** `controllerManager.extraArgs`, mapped the same way. @default [] */
  readonly controllerManagerExtraArgs?: readonly ComponentArg[];
  /** `scheduler.extraArgs`, mapped the same way. @default [] */
  readonly schedulerExtraArgs?: readonly ComponentArg[];
  /**
   * Files a controller's Ignition config writes, by their path on the node
   * (the encryption, admission, audit and authentication configs the flags
   * name); written under the plane's root at the same path.
   * @default {}
   */
  readonly nodeFiles?: Readonly<Record<string, string>>;
  /** Start kube-controller-manager. @default true */
  readonly controllerManager?: boolean;
  /** Start kube-scheduler. @default true */
  readonly scheduler?: boolean;
  /** @default '10.96.0.0/12' */
  readonly serviceSubnet?: string;
  /** The pod network; the controller manager allocates node CIDRs from it when set. @default - none */
  readonly podSubnet?: string;
  /** @default 'keelson-test' */
  readonly clusterName?: string;
  /** Time for every component to become ready. @default 180000 */
  readonly startTimeoutMs?: number;
}

/** What `kubectl` returned. */
export interface KubectlResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

type Component = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

/** The annotation that hands a Node to kwok. */
export const SIMULATED_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

/** Go's GOGC and GOMEMLIMIT for the control plane's programs when the environment sets none. */
const CONTROL_PLANE_GO = { gc: '400', memoryLimit: '1536MiB' };

const planes = new Set<LocalControlPlane>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', () => {
    for (const p of planes) p.stopSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const p of planes) p.stopSync();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A real Kubernetes control plane on 127.0.0.1: a one-member etcd (the etcd
 * peer, mTLS), kube-apiserver, kube-controller-manager and kube-scheduler
 * (the Kubernetes peers), laid out as kubeadm lays out a controller
 * (`<root>/etc/kubernetes/pki`, the kubeconfigs beside it) with certificates
 * from `@keelson/etcd-tls`. It runs no kubelet: pods are scheduled but never
 * started.
 *
 * `stop()` kills every process and removes the root; planes still running
 * when the Node process exits are cleaned up then as well.
 *
 * @see https://kubernetes.io/docs/setup/best-practices/certificates/
 * @see https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/
 */
export class LocalControlPlane {
  /** `https://127.0.0.1:<port>`. */
  public readonly url: string;
  /** The folder standing in for the node's `/`. */
  public readonly root: string;
  /** The admin kubeconfig (`system:masters`). */
  public readonly kubeconfig: string;
  /** The cluster CA. */
  public readonly ca: CertificateMaterial;
  private readonly admin: CertificateMaterial;
  private readonly processes = new Map<Component, ChildProcess>();
  private readonly logs = new Map<Component, string[]>();
  private stopped = false;

  private constructor(
    url: string,
    root: string,
    ca: CertificateMaterial,
    admin: CertificateMaterial,
    private readonly etcd: LocalEtcdCluster,
  ) {
    this.url = url;
    this.root = root;
    this.ca = ca;
    this.admin = admin;
    this.kubeconfig = join(root, 'etc/kubernetes/admin.conf');
  }

  /** Starts etcd, then the API server, then the controller manager and scheduler; resolves when all are ready. */
  static async start(options: LocalControlPlaneOptions = {}): Promise<LocalControlPlane> {
    const binaries = {
      'kube-apiserver': requirePeer('kube-apiserver', 'LocalControlPlane'),
      'kube-controller-manager': requirePeer('kube-controller-manager', 'LocalControlPlane'),
      'kube-scheduler': requirePeer('kube-scheduler', 'LocalControlPlane'),
    };
    requirePeer('kubectl', 'LocalControlPlane');
    const etcd = await LocalEtcdCluster.start({ members: 1, etcdBinary: requirePeer('etcd', 'LocalControlPlane'), namePrefix: 'control-plane-etcd' });
    const root = mkdtempSync(join(tmpdir(), 'keelson-control-plane-'));
    let plane: LocalControlPlane | undefined;
    try {
      const port = await freePort();
      const url = `https://127.0.0.1:${port}`;
      const pki = await issuePki(etcd);
      plane = new LocalControlPlane(url, root, pki.ca, pki.admin, etcd);
      planes.add(plane);
      installExitHooks();
      plane.writeFiles(pki, options);
      const timeout = options.startTimeoutMs ?? 180_000;
      plane.spawnComponent('kube-apiserver', binaries['kube-apiserver'], plane.apiServerArgs(port, options));
      await plane.waitReady(timeout);
      if (options.controllerManager ?? true) plane.spawnComponent('kube-controller-manager', binaries['kube-controller-manager'], plane.controllerManagerArgs(options));
      if (options.scheduler ?? true) plane.spawnComponent('kube-scheduler', binaries['kube-scheduler'], plane.schedulerArgs(options));
      await plane.waitComponentsHealthy(options, timeout);
      return plane;
    } catch (err) {
      if (plane) await plane.stop();
      else {
        await etcd.stop();
        rmSync(root, { recursive: true, force: true });
      }
      throw err;
    }
  }

  /** A path on the node, inside this plane's root. */
  nodePath(path: string): string {
    return join(this.root, path);
  }

  /**
   * Runs the kubectl peer against this plane (admin credentials); `input` goes to stdin.
   */
  kubectl(args: readonly string[], input?: string): KubectlResult {
    const run = spawnSync(requirePeer('kubectl', 'LocalControlPlane.kubectl'), ['--kubeconfig', this.kubeconfig, ...args], {
      input,
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    if (run.error) throw run.error;
    return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  }

  /** A request to the API server as the admin; resolves with the status and the parsed JSON body. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    return apiRequest(`${this.url}${path}`, { method, body, tls: { ca: this.ca.certPem, cert: this.admin.certPem, key: this.admin.keyPem }, timeoutMs: 30_000 });
  }

  /**
   * Starts kwok (the peer), which keeps every Node annotated
   * `kwok.x-k8s.io/node: fake` alive (status, lease) and marks the pods the
   * scheduler placed there Running, as kubelets would. No container runs.
   *
   * @see https://kwok.sigs.k8s.io/docs/user/kwok-in-cluster/
   */
  startKwok(): void {
    if (this.processes.has('kwok')) return;
    this.spawnComponent('kwok', requirePeer('kwok', 'LocalControlPlane.startKwok'), [
      `--kubeconfig=${this.kubeconfig}`,
      `--config=${requirePeerData('kwok', 'stages.yaml', 'LocalControlPlane.startKwok')}`,
      `--manage-nodes-with-annotation-selector=${SIMULATED_NODE_ANNOTATION}=fake`,
      '--node-ip=127.0.0.1',
      // Leases as a kubelet keeps them (nodeLeaseDurationSeconds 40): the node-lifecycle controller reads them.
      '--node-lease-duration-seconds=40',
      '--cidr=10.244.0.0/16',
    ]);
  }

  /** A client of the plane's etcd (mTLS), to read what the API server stored; closed by `stop()`. */
  etcdClient(): EtcdClient {
    return this.etcd.client();
  }

  /** What a component wrote to stderr. */
  log(component: Component): string {
    return (this.logs.get(component) ?? []).join('');
  }

  /** Kills every process (SIGTERM, then SIGKILL after 5 s) and removes the root. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const order: Component[] = ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver'];
    for (const name of order) {
      const child = this.processes.get(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await this.etcd.stop();
    rmSync(this.root, { recursive: true, force: true });
    planes.delete(this);
  }

  /** Synchronous cleanup for exit hooks. */
  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const child of this.processes.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.etcd.stopSync();
    rmSync(this.root, { recursive: true, force: true });
    planes.delete(this);
  }

  private writeFiles(pki: Pki, options: LocalControlPlaneOptions): void {
    const put = (path: string, contents: string, mode = 0o600) => {
      const full = this.nodePath(path);
      mkdirSync(dirname(full), { recursive: true, mode: 0o700 });
      writeFileSync(full, contents, { mode });
    };
    const material = (base: string, m: CertificateMaterial) => {
      put(`${base}.crt`, m.certPem, 0o644);
      put(`${base}.key`, m.keyPem);
    };
    material('etc/kubernetes/pki/ca', pki.ca);
    material('etc/kubernetes/pki/apiserver', pki.apiServer);
    material('etc/kubernetes/pki/apiserver-kubelet-client', pki.kubeletClient);
    material('etc/kubernetes/pki/apiserver-etcd-client', pki.etcdClient);
    material('etc/kubernetes/pki/front-proxy-ca', pki.frontProxyCa);
    material('etc/kubernetes/pki/front-proxy-client', pki.frontProxyClient);
    put('etc/kubernetes/pki/etcd/ca.crt', pki.etcdCa, 0o644);
    put('etc/kubernetes/pki/sa.key', pki.serviceAccount.privateKeyPem);
    put('etc/kubernetes/pki/sa.pub', pki.serviceAccount.publicKeyPem, 0o644);
    const cluster = options.clusterName ?? 'keelson-test';
    put('etc/kubernetes/admin.conf', kubeconfig(cluster, this.url, pki.ca, pki.admin, 'kubernetes-admin'));
    put('etc/kubernetes/controller-manager.conf', kubeconfig(cluster, this.url, pki.ca, pki.controllerManager, 'system:kube-controller-manager'));
    put('etc/kubernetes/scheduler.conf', kubeconfig(cluster, this.url, pki.ca, pki.scheduler, 'system:kube-scheduler'));
    for (const [path, contents] of Object.entries(options.nodeFiles ?? {})) {
      if (!path.startsWith('/') || path.split('/').includes('..')) throw new Error(`LocalControlPlane: nodeFiles key "${path}" must be an absolute path without ".."`);
      put(path.slice(1), contents);
    }
    mkdirSync(this.nodePath('var/log/kubernetes/audit'), { recursive: true });
  }

  /** A node path in a flag's value, moved into the root. */
  private mapped(value: string): string {
    return value.startsWith('/etc/kubernetes/') || value.startsWith('/var/log/') ? this.nodePath(value.slice(1)) : value;
  }

  private merge(defaults: Record<string, string>, extra: readonly ComponentArg[] | undefined): string[] {
    const args = { ...defaults };
    for (const { name, value } of extra ?? []) args[name] = this.mapped(value);
    return Object.entries(args).map(([name, value]) => `--${name}=${value}`);
  }

  private apiServerArgs(port: number, options: LocalControlPlaneOptions): string[] {
    const pki = (f: string) => this.nodePath(`etc/kubernetes/pki/${f}`);
    // kubeadm 1.36's defaults for the API server's static pod, on loopback.
    return this.merge(
      {
        'advertise-address': '127.0.0.1',
        'bind-address': '127.0.0.1',
        'secure-port': String(port),
        'allow-privileged': 'true',
        'authorization-mode': 'Node,RBAC',
        'client-ca-file': pki('ca.crt'),
        'enable-admission-plugins': 'NodeRestriction',
        'enable-bootstrap-token-auth': 'true',
        'etcd-cafile': pki('etcd/ca.crt'),
        'etcd-certfile': pki('apiserver-etcd-client.crt'),
        'etcd-keyfile': pki('apiserver-etcd-client.key'),
        'etcd-servers': this.etcd.running.map((m) => m.clientURL).join(','),
        'kubelet-client-certificate': pki('apiserver-kubelet-client.crt'),
        'kubelet-client-key': pki('apiserver-kubelet-client.key'),
        'kubelet-preferred-address-types': 'InternalIP,ExternalIP,Hostname',
        'proxy-client-cert-file': pki('front-proxy-client.crt'),
        'proxy-client-key-file': pki('front-proxy-client.key'),
        'requestheader-allowed-names': 'front-proxy-client',
        'requestheader-client-ca-file': pki('front-proxy-ca.crt'),
        'requestheader-extra-headers-prefix': 'X-Remote-Extra-',
        'requestheader-group-headers': 'X-Remote-Group',
        'requestheader-username-headers': 'X-Remote-User',
        'service-account-issuer': 'https://kubernetes.default.svc.cluster.local',
        'service-account-key-file': pki('sa.pub'),
        'service-account-signing-key-file': pki('sa.key'),
        'service-cluster-ip-range': options.serviceSubnet ?? '10.96.0.0/12',
        'tls-cert-file': pki('apiserver.crt'),
        'tls-private-key-file': pki('apiserver.key'),
        // No kubelet serves the `kubernetes` Service here; a loopback endpoint would be refused.
        'endpoint-reconciler-type': 'none',
      },
      options.apiServerExtraArgs,
    );
  }

  private controllerManagerArgs(options: LocalControlPlaneOptions): string[] {
    const pki = (f: string) => this.nodePath(`etc/kubernetes/pki/${f}`);
    const conf = this.nodePath('etc/kubernetes/controller-manager.conf');
    return this.merge(
      {
        'authentication-kubeconfig': conf,
        'authorization-kubeconfig': conf,
        kubeconfig: conf,
        'bind-address': '127.0.0.1',
        'secure-port': '0',
        'client-ca-file': pki('ca.crt'),
        'cluster-name': options.clusterName ?? 'keelson-test',
        'cluster-signing-cert-file': pki('ca.crt'),
        'cluster-signing-key-file': pki('ca.key'),
        controllers: '*,bootstrapsigner,tokencleaner',
        'leader-elect': 'false',
        'requestheader-client-ca-file': pki('front-proxy-ca.crt'),
        'root-ca-file': pki('ca.crt'),
        'service-account-private-key-file': pki('sa.key'),
        'use-service-account-credentials': 'true',
        ...(options.podSubnet ? { 'allocate-node-cidrs': 'true', 'cluster-cidr': options.podSubnet } : {}),
        'service-cluster-ip-range': options.serviceSubnet ?? '10.96.0.0/12',
      },
      options.controllerManagerExtraArgs,
    );
  }

  private schedulerArgs(options: LocalControlPlaneOptions): string[] {
    const conf = this.nodePath('etc/kubernetes/scheduler.conf');
    return this.merge(
      { 'authentication-kubeconfig': conf, 'authorization-kubeconfig': conf, kubeconfig: conf, 'bind-address': '127.0.0.1', 'secure-port': '0', 'leader-elect': 'false' },
      options.schedulerExtraArgs,
    );
  }

  private spawnComponent(name: Component, binary: string, args: string[]): void {
    const chunks: string[] = [];
    this.logs.set(name, chunks);
    // Go's collector runs a fifth as often as by default (GOGC=400), up to a soft limit of 1.5 GiB (GOMEMLIMIT), unless set:
    // a rehearsal's API server spent about a fifth of its CPU collecting; unbounded, it grew to about 2 GB. It changes no API behaviour.
    const env = { ...process.env, GOGC: process.env.GOGC ?? CONTROL_PLANE_GO.gc, GOMEMLIMIT: process.env.GOMEMLIMIT ?? CONTROL_PLANE_GO.memoryLimit };
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    const keep = (c: string) => {
      chunks.push(c);
      if (chunks.length > 4000) chunks.splice(0, chunks.length - 4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => keep(`\n[spawn error] ${err.message}\n`));
    this.processes.set(name, child);
  }

  private tail(name: Component, lines = 20): string {
    return this.log(name).trimEnd().split('\n').slice(-lines).join('\n');
  }

  private exitedEarly(name: Component): string | undefined {
    const child = this.processes.get(name);
    if (child && (child.exitCode !== null || child.signalCode !== null)) return `${name} exited (${child.exitCode ?? child.signalCode}):\n${this.tail(name)}`;
    return undefined;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const dead = this.exitedEarly('kube-apiserver');
      if (dead) throw new Error(`LocalControlPlane: ${dead}`);
      try {
        const res = await this.request('GET', '/readyz');
        if (res.status === 200) return;
        last = `readyz ${res.status}: ${String(res.body).slice(0, 300)}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(250);
    }
    throw new Error(`LocalControlPlane: kube-apiserver not ready within ${timeoutMs} ms (${last}):\n${this.tail('kube-apiserver')}`);
  }

  /** The controller manager and scheduler are up once they hold a connection and the API shows their work. */
  private async waitComponentsHealthy(options: LocalControlPlaneOptions, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const wanted: Component[] = [];
    if (options.controllerManager ?? true) wanted.push('kube-controller-manager');
    if (options.scheduler ?? true) wanted.push('kube-scheduler');
    for (const name of wanted) {
      for (;;) {
        const dead = this.exitedEarly(name);
        if (dead) throw new Error(`LocalControlPlane: ${dead}`);
        // The controller manager creates the `default` ServiceAccount in every namespace; the scheduler logs that its caches synced.
        const up =
          name === 'kube-controller-manager'
            ? (await this.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200
            : /Caches populated|Successfully synced|Starting Kubernetes Scheduler/.test(this.log(name));
        if (up) break;
        if (Date.now() > deadline) throw new Error(`LocalControlPlane: ${name} not working within ${timeoutMs} ms:\n${this.tail(name)}`);
        await sleep(250);
      }
    }
  }
}

interface Pki {
  readonly ca: CertificateMaterial;
  readonly apiServer: CertificateMaterial;
  readonly kubeletClient: CertificateMaterial;
  readonly etcdClient: CertificateMaterial;
  readonly etcdCa: string;
  readonly frontProxyCa: CertificateMaterial;
  readonly frontProxyClient: CertificateMaterial;
  readonly serviceAccount: { privateKeyPem: string; publicKeyPem: string };
  readonly admin: CertificateMaterial;
  readonly controllerManager: CertificateMaterial;
  readonly scheduler: CertificateMaterial;
}

/** A throwaway PKI laid out as kubeadm's, issued with Keelson's own PKI code. */
async function issuePki(etcd: LocalEtcdCluster): Promise<Pki> {
  // CAs outlive their leaves: issueCertificate refuses a leaf that would outlive its CA.
  const validity = { days: 1 };
  const [ca, frontProxyCa, serviceAccount] = await Promise.all([
    createCertificateAuthority({ commonName: 'kubernetes', validity: { days: 2 } }),
    createCertificateAuthority({ commonName: 'front-proxy-ca', validity: { days: 2 } }),
    createKeyPair(),
  ]);
  const client = (commonName: string, organization?: string) => issueCertificate(ca, { commonName, ...(organization ? { organization } : {}), usage: 'client', validity });
  const [apiServer, kubeletClient, etcdClient, frontProxyClient, admin, controllerManager, scheduler] = await Promise.all([
    issueCertificate(ca, {
      commonName: 'kube-apiserver',
      usage: 'server',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
      ipAddresses: ['127.0.0.1', '10.96.0.1'],
      validity,
    }),
    client('kube-apiserver-kubelet-client', 'kubeadm:cluster-admins'),
    issueCertificate(etcd.ca, { commonName: 'kube-apiserver-etcd-client', usage: 'client', validity }),
    issueCertificate(frontProxyCa, { commonName: 'front-proxy-client', usage: 'client', validity }),
    client('kubernetes-admin', 'system:masters'),
    client('system:kube-controller-manager'),
    client('system:kube-scheduler'),
  ]);
  return { ca, apiServer, kubeletClient, etcdClient, etcdCa: etcd.ca.certPem, frontProxyCa, frontProxyClient, serviceAccount, admin, controllerManager, scheduler };
}

function kubeconfig(cluster: string, server: string, ca: CertificateMaterial, user: CertificateMaterial, userName: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority-data': b64(ca.certPem) } }],
    users: [{ name: userName, user: { 'client-certificate-data': b64(user.certPem), 'client-key-data': b64(user.keyPem) } }],
    contexts: [{ name: `${userName}@${cluster}`, context: { cluster, user: userName } }],
    'current-context': `${userName}@${cluster}`,
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** How {@link apiRequest} calls: the verb, a JSON body and its content type, TLS (or an agent that holds it), a timeout. */
export interface ApiRequestOptions {
  readonly method: string;
  readonly body?: unknown;
  /** `application/json` unless a patch type (`application/apply-patch+yaml`, ...). */
  readonly contentType?: string;
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
  readonly agent?: Agent;
  readonly timeoutMs?: number;
}

/** One HTTPS request to an API server; resolves with the status and the body, parsed as JSON when it is JSON. */
export function apiRequest(url: string, options: ApiRequestOptions): Promise<{ status: number; body: unknown }> {
  const timeout = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpsRequest(
      url,
      {
        method: options.method,
        ...(options.agent ? { agent: options.agent } : {}),
        ...(options.tls ?? {}),
        headers: { accept: 'application/json', ...(payload ? { 'content-type': options.contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        timeout,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain text (healthz)
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${options.method} ${url}: no answer in ${timeout / 1000} s`)));
    req.on('error', reject);
    req.end(payload);
  });
}
