import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type PlatformConfigInput } from '@keelson/platform-spec';
import { HOST_FIREWALL, hostFirewallModel, renderHostFirewall } from './host-firewall';

// The real nft, in private network namespaces: loading a ruleset needs root
// (CAP_NET_ADMIN in a namespace of its own); the host's rules are never touched.
const root = process.getuid?.() === 0;
const nft = spawnSync('nft', ['--version']).status === 0;
const why = !root ? 'not root: nft cannot load a ruleset (run the tests as root)' : !nft ? 'nft missing: run node tools/test-prerequisites.mjs (Debian package nftables)' : '';
if (why) console.warn(`host-firewall.test: skipping the real-nft tests: ${why}`);
const real = why ? describe.skip : describe;

const config: PlatformConfigInput = exampleConfig();
config.nodes = { controllers: { count: 3 }, workers: { count: 1 } };
const spec = parsePlatformConfig(config);
const controller = spec.topology.controllers[0];
const worker = spec.topology.workers[0];

const dir = mkdtempSync(join(tmpdir(), 'keelson-host-firewall-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

/** Runs a shell script in a fresh network namespace, as root. */
const inNetns = (script: string) => spawnSync('unshare', ['-n', 'sh', '-ec', script], { encoding: 'utf8' });

describe('hostFirewallModel', () => {
  it('accepts etcd peers only from the controllers set on a controller, and nothing on a worker', () => {
    const c = hostFirewallModel(controller, ['10.10.0.2']);
    expect(c.controllers).toEqual(['10.10.0.2']);
    expect(c.rules.find((r) => r.ports[0] === 2380)?.allowFrom).toEqual([{ set: 'controllers' }]);
    const w = hostFirewallModel(worker);
    expect(w.rules.find((r) => r.ports[0] === 2379)).toMatchObject({ ports: [2379, 2380], allowFrom: [] });
  });

  it('refuses an address that is not IPv4', () => {
    expect(() => renderHostFirewall(hostFirewallModel(controller, ['fe80::1']))).toThrow(/"fe80::1" is not an IPv4 address or CIDR/);
  });
});

real('the rendered ruleset, loaded by the real nft', () => {
  it('loads twice, replaces only table inet keelson, and leaves other tables alone', () => {
    const file = write('controller.json', renderHostFirewall(hostFirewallModel(controller)));
    const r = inNetns(`nft add table ip cilium_test; nft add chain ip cilium_test c; nft -j -f ${file}; nft -j -f ${file}; nft list ruleset`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/table ip cilium_test/);
    // Loaded twice, present once.
    expect(r.stdout.match(/table inet keelson/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/type filter hook input priority filter; policy accept;/);
    expect(r.stdout).toMatch(/tcp dport 2380 ip saddr @controllers accept/);
    expect(r.stdout).toMatch(/tcp dport 2379-2380 drop|tcp dport 2380 drop/);
  });

  it('drops a connection to etcd from a non-controller address and accepts one from a controller', async () => {
    const file = write('pinned.json', renderHostFirewall(hostFirewallModel(controller, ['10.10.0.2'])));
    const ns = `keelson-fw-${process.pid}`;
    const sh = (script: string) => spawnSync('sh', ['-ec', script], { encoding: 'utf8' });
    const setup = sh(
      [
        `ip netns add ${ns}-srv`,
        `ip netns add ${ns}-cli`,
        `ip link add ${ns.slice(0, 8)}a netns ${ns}-srv type veth peer name ${ns.slice(0, 8)}b netns ${ns}-cli`,
        `ip -n ${ns}-srv addr add 10.10.0.1/16 dev ${ns.slice(0, 8)}a`,
        `ip -n ${ns}-srv addr add 192.0.2.1/24 dev ${ns.slice(0, 8)}a`,
        `ip -n ${ns}-cli addr add 10.10.0.2/16 dev ${ns.slice(0, 8)}b`,
        `ip -n ${ns}-cli addr add 10.10.0.9/16 dev ${ns.slice(0, 8)}b`,
        `ip -n ${ns}-cli addr add 192.0.2.9/24 dev ${ns.slice(0, 8)}b`,
        `ip -n ${ns}-srv link set ${ns.slice(0, 8)}a up`,
        `ip -n ${ns}-cli link set ${ns.slice(0, 8)}b up`,
        `ip netns exec ${ns}-srv nft -j -f ${file}`,
      ].join('\n'),
    );
    try {
      expect(setup.stderr).toBe('');
      // A listener on etcd's client port and the kubelet's port in the "node".
      const server = spawn('ip', ['netns', 'exec', `${ns}-srv`, process.execPath, '-e', "const n=require('net');for(const p of [2379,10250])n.createServer((s)=>{s.on('error',()=>{});s.end('ok')}).listen(p,'0.0.0.0');console.log('up')"], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
        const connect = (from: string, to: string, port: number) =>
          spawnSync('ip', ['netns', 'exec', `${ns}-cli`, process.execPath, '-e', `const s=require('net').connect({host:'${to}',port:${port},localAddress:'${from}',timeout:1500});s.on('connect',()=>{console.log('accepted');s.destroy()});s.on('timeout',()=>{console.log('dropped');s.destroy()});s.on('error',(e)=>console.log('refused '+e.code))`], { encoding: 'utf8' }).stdout.trim();
        // etcd: the controller (in the set) gets through; another node address is dropped, not refused.
        expect(connect('10.10.0.2', '10.10.0.1', 2379)).toBe('accepted');
        expect(connect('10.10.0.9', '10.10.0.1', 2379)).toBe('dropped');
        // kubelet: any node gets through; an address outside the node network is dropped.
        expect(connect('10.10.0.9', '10.10.0.1', 10250)).toBe('accepted');
        expect(connect('192.0.2.9', '192.0.2.1', 10250)).toBe('dropped');
      } finally {
        server.kill();
      }
    } finally {
      sh(`ip netns del ${ns}-srv || true; ip netns del ${ns}-cli || true`);
    }
  }, 30000);

  it(`is what ${HOST_FIREWALL.unit} loads: nft -j -f refuses a broken ruleset`, () => {
    const file = write('broken.json', renderHostFirewall(hostFirewallModel(controller)).replace('"hook":"input"', '"hook":"inptu"'));
    const r = inNetns(`nft -j -f ${file}`);
    expect(r.status).not.toBe(0);
  });
});
