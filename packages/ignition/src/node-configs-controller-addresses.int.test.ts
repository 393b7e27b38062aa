// The host firewall with the controllers' pinned private addresses
// (controllerAddresses, from NodeProvider.controllerPrivateAddresses): on
// Hetzner etcd accepts the controllers only, not every node of the network.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type NodeSpec } from '@keelson/platform-spec';
import { decodeInlineContents } from './builder';
import { HOST_FIREWALL } from './host-firewall';
import { renderNodeConfigs } from './node-configs';
import { testClusterSecrets } from './test-cluster-secrets';

jest.setTimeout(60_000);

// The real nft, in private network namespaces (root needed; the host's rules are never touched).
const root = process.getuid?.() === 0;
const nft = spawnSync('nft', ['--version']).status === 0;
const why = !root ? 'not root: nft cannot load a ruleset (run the tests as root)' : !nft ? 'nft missing: run node tools/test-prerequisites.mjs (Debian package nftables)' : '';
if (why) console.warn(`node-configs-controller-addresses.test: skipping the real-nft tests: ${why}`);
const real = why ? describe.skip : describe;

const secrets = testClusterSecrets();
const spec = parsePlatformConfig({
  ...exampleConfig(),
  provider: { name: 'hetzner', region: 'fsn1' },
  nodes: { controllers: { count: 3, size: 'cx33' }, workers: { count: 1, size: 'cx33' } },
});
// What HetznerProvider.controllerPrivateAddresses returns for three controllers.
const PINNED = ['10.10.15.241', '10.10.15.242', '10.10.15.243'];
const render = (controllerAddresses?: readonly string[]) =>
  renderNodeConfigs({ spec, secrets, secretPartUrl: (n: NodeSpec) => `http://127.0.0.1:1/${n.name}.ign`, initialize: true, controllerAddresses });

type IgnitionFile = { path: string; contents?: { source?: string; compression?: string } };
const rulesetOf = (full: string): string => {
  const file = ((JSON.parse(full) as { storage?: { files?: IgnitionFile[] } }).storage?.files ?? []).find((f) => f.path === HOST_FIREWALL.path);
  if (!file) throw new Error(`no ${HOST_FIREWALL.path} in the node's Ignition`);
  return decodeInlineContents(file.contents ?? {})!.toString('utf8');
};

const dir = mkdtempSync(join(tmpdir(), 'keelson-controller-addresses-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the host firewall with controllerAddresses', () => {
  it("names exactly the pinned addresses in every node's controllers set; without them, the set is the node network", () => {
    const setOf = (full: string) =>
      (JSON.parse(rulesetOf(full)) as { nftables: Array<{ add?: { set?: { name: string; elem?: unknown[] } } }> }).nftables.find((o) => o.add?.set?.name === HOST_FIREWALL.controllersSet)?.add?.set?.elem;
    for (const c of render(PINNED)) expect(setOf(c.full)).toEqual(PINNED);
    expect(setOf(render()[0].full)).toEqual([{ prefix: { addr: '10.10.0.0', len: 16 } }]);
  });
});

real("the rendered controller's ruleset, loaded by the real nft", () => {
  /**
   * Loads controller 1's ruleset into a "node" namespace (10.10.15.241) and
   * connects to etcd's client and peer ports from another controller
   * (10.10.15.242) and a worker-like automatic address (10.10.0.9).
   */
  const connectAll = async (controllerAddresses?: readonly string[]) => {
    const file = join(dir, `controller-${controllerAddresses ? 'pinned' : 'wide'}.json`);
    writeFileSync(file, rulesetOf(render(controllerAddresses)[0].full));
    const ns = `kca-${process.pid}`;
    const dev = `${ns.slice(0, 10)}`;
    const sh = (script: string) => spawnSync('sh', ['-ec', script], { encoding: 'utf8' });
    const setup = sh(
      [
        `ip netns add ${ns}-srv`,
        `ip netns add ${ns}-cli`,
        `ip link add ${dev}a netns ${ns}-srv type veth peer name ${dev}b netns ${ns}-cli`,
        `ip -n ${ns}-srv addr add 10.10.15.241/16 dev ${dev}a`,
        `ip -n ${ns}-cli addr add 10.10.15.242/16 dev ${dev}b`,
        `ip -n ${ns}-cli addr add 10.10.0.9/16 dev ${dev}b`,
        `ip -n ${ns}-srv link set ${dev}a up`,
        `ip -n ${ns}-cli link set ${dev}b up`,
        `ip netns exec ${ns}-srv nft -j -f ${file}`,
      ].join('\n'),
    );
    try {
      expect(setup.stderr).toBe('');
      const listed = sh(`ip netns exec ${ns}-srv nft -j list set inet keelson ${HOST_FIREWALL.controllersSet}`);
      const server = spawn('ip', ['netns', 'exec', `${ns}-srv`, process.execPath, '-e', "const n=require('net');for(const p of [2379,2380])n.createServer((s)=>{s.on('error',()=>{});s.end('ok')}).listen(p,'0.0.0.0');console.log('up')"], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
        const connect = (from: string, port: number) =>
          spawnSync('ip', ['netns', 'exec', `${ns}-cli`, process.execPath, '-e', `const s=require('net').connect({host:'10.10.15.241',port:${port},localAddress:'${from}',timeout:1500});s.on('connect',()=>{console.log('accepted');s.destroy()});s.on('timeout',()=>{console.log('dropped');s.destroy()});s.on('error',(e)=>console.log('refused '+e.code))`], { encoding: 'utf8' }).stdout.trim();
        const elems = (JSON.parse(listed.stdout) as { nftables: Array<{ set?: { elem?: unknown[] } }> }).nftables.find((o) => o.set)?.set?.elem;
        return { elems, controller: [2379, 2380].map((p) => connect('10.10.15.242', p)), worker: [2379, 2380].map((p) => connect('10.10.0.9', p)) };
      } finally {
        server.kill();
      }
    } finally {
      sh(`ip netns del ${ns}-srv || true; ip netns del ${ns}-cli || true`);
    }
  };

  it('accepts etcd 2379 and 2380 from the pinned controllers only: a worker address is dropped', async () => {
    const r = await connectAll(PINNED);
    expect(r.elems).toEqual(PINNED);
    expect(r.controller).toEqual(['accepted', 'accepted']);
    expect(r.worker).toEqual(['dropped', 'dropped']);
  });

  it('without controllerAddresses accepts etcd from any node address (the limit DigitalOcean keeps)', async () => {
    const r = await connectAll();
    expect(r.elems).toEqual([{ prefix: { addr: '10.10.0.0', len: 16 } }]);
    expect(r.worker).toEqual(['accepted', 'accepted']);
  });
});
