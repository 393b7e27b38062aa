// The first-boot script's join wait (packages/ignition/scripts/kubeadm-bootstrap.sh)
// against a real kube-apiserver: joiners start before any API server is up,
// wait on /readyz through a "load balancer" (a TCP proxy that refuses
// connections until it has a backend, as a TCP load balancer without a
// healthy target does), then for kube-public/cluster-info published by the
// real `kubeadm init phase bootstrap-token` and signed by the real
// bootstrapsigner, and take turns at the control-plane join through a Lease,
// with nothing but the bootstrap token. The worker then runs the real
// `kubeadm join --dry-run` (discovery with the CA pin, the cluster's kubeadm
// and kubelet configs); the controllers' kubeadm join is a stand-in that
// records when it runs, so overlapping joins would show.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openSecretsBundle } from '@keelson/etcd-tls';
import { caCertHash, decodeInlineContents, NODE_PATHS, renderNodeConfigs, type IgnitionV3_3, type NodeIgnition } from '@keelson/ignition';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { requirePeer } from '@keelson/upstream';
import { controlPlaneOptionsFromIgnition } from './from-ignition';
import { LocalControlPlane } from './local-control-plane';

jest.setTimeout(300_000);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A TCP load balancer in front of the API: refuses every connection until `target` is set. */
class LoadBalancer {
  target: number | undefined;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    public readonly port: number,
  ) {}

  static async start(): Promise<LoadBalancer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    const lb = new LoadBalancer(server, address.port);
    server.on('connection', (client) => lb.forward(client));
    return lb;
  }

  private forward(client: Socket): void {
    if (this.target === undefined) {
      client.destroy();
      return;
    }
    const backend = connect(this.target, '127.0.0.1');
    for (const s of [client, backend]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(backend).pipe(client);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function filesOf(config: NodeIgnition): Map<string, string> {
  const parsed = JSON.parse(config.full) as IgnitionV3_3.Config;
  return new Map((parsed.storage?.files ?? []).map((f) => [f.path, decodeInlineContents(f.contents ?? {})?.toString('utf8') ?? '']));
}

interface Joiner {
  readonly name: string;
  readonly root: string;
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  stderr: string;
}

const spec = parsePlatformConfig(exampleConfig());
let configs: NodeIgnition[];
let work: string;
let plane: LocalControlPlane | undefined;
let lb: LoadBalancer;
const started: Joiner[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'keelson-join-wait-'));
  const { bundle } = await openSecretsBundle({ dir: join(work, 'secrets'), spec });
  // A later render: every node joins, the first controller included.
  configs = renderNodeConfigs({ spec, secrets: bundle, secretPartUrl: (n) => `https://bucket.invalid/${n.name}.ign`, initialize: false });
  lb = await LoadBalancer.start();
});

afterAll(async () => {
  for (const j of started) if (j.child.exitCode === null && j.child.signalCode === null && j.child.pid) process.kill(j.child.pid, 'SIGKILL');
  await plane?.stop();
  await lb?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A node's files as Ignition writes them, under its own scratch root, and the script started there. */
function startJoiner(name: string, clusterCa: () => string, events: string): Joiner {
  const config = configs.find((c) => c.node.name === name);
  if (!config) throw new Error(`no ${name}`);
  const root = join(work, name);
  for (const [path, text] of filesOf(config)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  mkdirSync(join(root, 'run/metadata'), { recursive: true });
  writeFileSync(join(root, 'run/metadata/flatcar'), `COREOS_DIGITALOCEAN_IPV4_PRIVATE_0=10.10.0.${configs.indexOf(config) + 11}\n`);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  symlinkSync(requirePeer('kubectl', 'the join wait test'), join(bin, 'kubectl'));
  // kubeadm join: on the worker the real one with --dry-run (discovery, the CA pin and the cluster's
  // kubeadm and kubelet configs are real; nothing is written to this machine); on controllers a stand-in
  // with three seconds of work. Start and end are recorded.
  const kubeadmWork = name.includes('worker')
    ? `KUBEADM_JOIN_DRYRUN_DIR=${root}/dry-run ${requirePeer('kubeadm', 'the join wait test')} "$@" --dry-run --ignore-preflight-errors=all --v=1 || exit $?`
    : 'sleep 3';
  writeFileSync(
    join(bin, 'kubeadm'),
    [
      '#!/bin/bash',
      `[ "$1" = join ] || { echo "unexpected kubeadm $*" >&2; exit 2; }`,
      `mkdir -p ${root}/dry-run`,
      `echo "start ${name} $(date +%s%N)" >> ${events}`,
      kubeadmWork,
      `echo "end ${name} $(date +%s%N)" >> ${events}`,
    ].join('\n'),
  );
  chmodSync(join(bin, 'kubeadm'), 0o755);
  const child = spawn('bash', [join(root, NODE_PATHS.bootstrapScript)], {
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      KEELSON_ROOT: root,
      // The load balancer's address; the backoff is short to keep the test quick (the shape is the node's).
      KEELSON_API_ENDPOINT: `127.0.0.1:${lb.port}`,
      KEELSON_BACKOFF_FIRST_SECONDS: '1',
      KEELSON_BACKOFF_MAX_SECONDS: '2',
      KEELSON_API_WAIT_SECONDS: '240',
      KEELSON_CLUSTER_INFO_WAIT_SECONDS: '120',
      KEELSON_LOCK_WAIT_SECONDS: '120',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const joiner: Joiner = { name, root, child, exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))), stderr: '' };
  started.push(joiner);
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => (joiner.stderr += c));
  // The CA file the script checks the endpoint with is the cluster's: here the local plane's, once it exists.
  writeFileSync(join(root, NODE_PATHS.clusterCa), clusterCa());
  return joiner;
}

const statusOf = (j: Joiner) => {
  const file = join(j.root, NODE_PATHS.bootstrapStatus);
  return existsSync(file) ? Object.fromEntries(readFileSync(file, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) : {};
};

async function until(what: string, check: () => boolean, timeoutMs: number, joiners: Joiner[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms:\n${joiners.map((j) => `--- ${j.name}\n${j.stderr}`).join('\n')}`);
    await sleep(200);
  }
}

describe('joiners wait for the cluster behind the load balancer', () => {
  it('start before the API is up, wait for /readyz and the signed cluster-info, then join, one control plane at a time', async () => {
    const events = join(work, 'kubeadm-events.log');
    writeFileSync(events, '');
    // The CA is only known once the plane is made; until then the endpoint refuses connections anyway.
    let ca = '';
    const names = ['keelson-controller-1', 'keelson-controller-2', 'keelson-controller-3', 'keelson-worker-1'];
    const placeholderCa = configs[0] ? (filesOf(configs[0]).get(NODE_PATHS.clusterCa) ?? '') : '';
    const joiners = names.map((n) => startJoiner(n, () => placeholderCa, events));

    // Nothing answers: every joiner waits at wait-api, and none runs kubeadm.
    await until('every joiner waiting at wait-api', () => joiners.every((j) => statusOf(j).step === 'wait-api'), 30_000, joiners);
    await sleep(4_000);
    expect(readFileSync(events, 'utf8')).toBe('');
    expect(joiners.map((j) => j.child.exitCode)).toEqual([null, null, null, null]);

    // The first controller's API server (its own flags: anonymous only for health and cluster-info) comes up.
    const first = configs.find((c) => c.node.name === 'keelson-controller-1');
    const initConfigs = renderNodeConfigs({ spec, secrets: (await openSecretsBundle({ dir: join(work, 'secrets'), spec })).bundle, secretPartUrl: () => 'https://unused/', initialize: true });
    const options = controlPlaneOptionsFromIgnition(JSON.parse(initConfigs[0].full) as IgnitionV3_3.Config);
    plane = await LocalControlPlane.start(options);
    ca = plane.ca.certPem;
    for (const j of joiners) writeFileSync(join(j.root, NODE_PATHS.clusterCa), ca);
    // The worker's join config points at this cluster: the load balancer's address and this CA's pin.
    const worker = joiners.find((j) => j.name === 'keelson-worker-1');
    if (worker) {
      const file = join(worker.root, NODE_PATHS.kubeadmJoin);
      writeFileSync(file, readFileSync(file, 'utf8').replace(/apiServerEndpoint: .*/, `apiServerEndpoint: 127.0.0.1:${lb.port}`).replace(/- sha256:[0-9a-f]{64}/, `- ${caCertHash(ca)}`));
    }
    lb.target = Number(new URL(plane.url).port);

    // /readyz answers; cluster-info is not published yet, so they wait on it.
    await until('every joiner waiting at wait-cluster-info', () => joiners.every((j) => statusOf(j).step === 'wait-cluster-info'), 60_000, joiners);
    await sleep(3_000);
    expect(readFileSync(events, 'utf8')).toBe('');

    // What the first controller's kubeadm init and its boot-rbac step publish: the real kubeadm's bootstrap token,
    // RBAC and cluster-info, then the keelson-boot namespace and Lease rights from the script itself.
    const script = filesOf(first ?? configs[0]).get(NODE_PATHS.bootstrapScript) ?? '';
    const rbac = /<<'RBAC'\n([\s\S]*?)\nRBAC\n/.exec(script)?.[1];
    expect(rbac).toContain('kind: RoleBinding');
    expect(plane.kubectl(['apply', '--server-side', '-f', '-'], rbac)).toMatchObject({ status: 0 });
    const initFile = join(work, 'init.yaml');
    writeFileSync(initFile, (filesOf(initConfigs[0]).get(NODE_PATHS.kubeadmInit) ?? '').replaceAll('@NODE_IP@', '10.10.0.11'));
    const published = spawnSync(requirePeer('kubeadm', 'the join wait test'), ['init', 'phase', 'bootstrap-token', '--config', initFile, '--kubeconfig', plane.kubeconfig], { encoding: 'utf8' });
    expect({ status: published.status, stderr: published.stderr }).toEqual({ status: 0, stderr: '' });
    const uploaded = spawnSync(requirePeer('kubeadm', 'the join wait test'), ['init', 'phase', 'upload-config', 'all', '--config', initFile, '--kubeconfig', plane.kubeconfig], { encoding: 'utf8' });
    expect({ status: uploaded.status, stderr: uploaded.stderr }).toEqual({ status: 0, stderr: '' });
    const publishedAt = BigInt(Date.now()) * 1_000_000n;

    const codes = await Promise.all(joiners.map((j) => j.exit));
    expect({ codes, logs: codes.every((c) => c === 0) ? [] : joiners.map((j) => j.stderr) }).toEqual({ codes: [0, 0, 0, 0], logs: [] });

    // Every join ran after cluster-info was published; the control-plane joins never overlapped; the worker did not queue.
    const lines = readFileSync(events, 'utf8').trim().split('\n').map((l) => l.split(' '));
    const span = (name: string) => {
      const start = lines.find(([e, n]) => e === 'start' && n === name);
      const end = lines.find(([e, n]) => e === 'end' && n === name);
      if (!start || !end) throw new Error(`no kubeadm join of ${name}`);
      return [BigInt(start[2]), BigInt(end[2])] as const;
    };
    for (const n of names) expect(span(n)[0] > publishedAt).toBe(true);
    const controllers = names.filter((n) => n.includes('controller')).map(span).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (let i = 1; i < controllers.length; i++) expect(controllers[i][0] >= controllers[i - 1][1]).toBe(true);
    for (const j of joiners.filter((x) => x.name.includes('controller'))) expect(j.stderr).toMatch(/control-plane join lock: yes after/);
    const workerLog = joiners.find((j) => j.name === 'keelson-worker-1')?.stderr ?? '';
    expect(workerLog).not.toMatch(/join lock/);
    // The worker's real kubeadm join --dry-run: token discovery with the CA pin through the load balancer, then the cluster's own configs.
    expect(workerLog).toContain('[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...');
    expect(workerLog).toContain('This node has joined the cluster:');

    // The lock is released; every node's status is in the cluster, readable without SSH.
    expect(plane.kubectl(['-n', 'keelson-boot', 'get', 'lease', 'control-plane-join'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/NotFound/) });
    const leases = JSON.parse(plane.kubectl(['-n', 'keelson-boot', 'get', 'leases', '-o', 'json']).stdout) as { items: Array<{ metadata: { name: string; annotations: Record<string, string> } }> };
    const status = Object.fromEntries(leases.items.map((l) => [l.metadata.name, [l.metadata.annotations['keelson.dev/state'], l.metadata.annotations['keelson.dev/step']]]));
    expect(status).toEqual(Object.fromEntries(names.map((n) => [`status-${n}`, ['joined', 'finish']])));
  });
});
