import { HOST_FIREWALL, hostFirewallModel, renderHostFirewall } from '@keelson/ignition';
import { HetznerProvider } from '@keelson/infra-nodes';
import { exampleConfig, parsePlatformConfig, type NodeSpec } from '@keelson/platform-spec';
import { checkHostFirewalls } from './host-firewall';
import type { NodeInfo } from './types';

const spec = (role: 'controller' | 'worker'): NodeSpec => ({ name: `keelson-${role}-1`, role, index: 1 }) as unknown as NodeSpec;

/** A node whose Ignition carries `ruleset` and the unit that loads it, as renderNodeConfigs writes them. */
const node = (role: 'controller' | 'worker', ruleset: string | null = renderHostFirewall(hostFirewallModel(spec(role), ['10.10.0.2', '10.10.0.4']))): NodeInfo => ({
  name: `keelson-${role}-1`,
  role,
  labels: {},
  kubeadm: [],
  file: `infra-out/ignition/keelson-${role}-1.ign`,
  ignition: {
    storage: { files: ruleset === null ? [] : [{ path: HOST_FIREWALL.path, contents: { source: `data:,${encodeURIComponent(ruleset)}` } }] },
    systemd: { units: [{ name: HOST_FIREWALL.unit, enabled: true, contents: `[Service]\nExecStart=/usr/sbin/nft -j -f ${HOST_FIREWALL.path}\n` }] },
  } as unknown as NodeInfo['ignition'],
});
const edit = (role: 'controller' | 'worker', change: (items: Array<Record<string, any>>) => Array<Record<string, any>>) => {
  const doc = JSON.parse(renderHostFirewall(hostFirewallModel(spec(role), ['10.10.0.2', '10.10.0.4'])));
  return node(role, JSON.stringify({ nftables: change(doc.nftables) }));
};

describe('checkHostFirewalls', () => {
  it('passes the rendered rules of a controller and a worker', () => {
    const r = checkHostFirewalls([node('controller'), node('worker')]);
    expect(r.findings).toEqual([]);
    expect(r.rows.map((x) => x.detail)).toEqual([expect.stringMatching(/^etcd from the controllers only/), expect.stringMatching(/^etcd closed/)]);
  });

  it("reports a Hetzner render's controllers' set as the pinned addresses, and DigitalOcean's as the node network", () => {
    const hetzner = parsePlatformConfig({ ...exampleConfig(), provider: { name: 'hetzner', region: 'fsn1' }, nodes: { controllers: { count: 3, size: 'cx33' }, workers: { count: 1, size: 'cx33' } } });
    const pinned = new HetznerProvider().controllerPrivateAddresses(hetzner);
    // What renderNodeConfigs writes with controllerAddresses = the provider's pinned addresses.
    const r = checkHostFirewalls([node('controller', renderHostFirewall(hostFirewallModel(hetzner.topology.controllers[0], pinned))), node('worker', renderHostFirewall(hostFirewallModel(hetzner.topology.workers[0], pinned)))]);
    expect(r.findings).toEqual([]);
    expect(r.wholeNetwork).toBe(0);
    expect(r.rows[0].detail).toBe(
      "etcd from the controllers only, kubelet and Ceph from the node network and pods, policy accept; controllers' set is the pinned addresses 10.10.15.241, 10.10.15.242, 10.10.15.243",
    );
    const wide = checkHostFirewalls([node('controller', renderHostFirewall(hostFirewallModel(spec('controller'))))]);
    expect(wide.wholeNetwork).toBe(1);
    expect(wide.rows[0].detail).toMatch(/; controllers' set is the node network \(addresses not pinned\)$/);
  });

  it('refuses a controllers set beyond the node network', () => {
    const r = checkHostFirewalls([node('controller', renderHostFirewall(hostFirewallModel(spec('controller'), ['10.10.15.241', '192.0.2.7'])))]);
    expect(r.findings.map((f) => f.message)).toEqual(expect.arrayContaining([expect.stringMatching(/the controllers' set holds 192\.0\.2\.7, beyond the node network 10\.10\.0\.0\/16: etcd would accept them/)]));
  });

  it('refuses a worker without the ruleset', () => {
    expect(checkHostFirewalls([node('worker', null)]).findings[0].message).toMatch(/keelson-worker-1: host firewall: no host firewall/);
  });

  it('refuses etcd accepted from the node network', () => {
    const open = edit('controller', (items) => items.filter((i) => !(i.add?.rule?.expr?.some((e: any) => 'drop' in e) && JSON.stringify(i).includes('2380'))));
    expect(checkHostFirewalls([open]).findings.map((f) => f.message)).toEqual(expect.arrayContaining([expect.stringMatching(/etcd 2380 accepts 10\.10\.255\.254, a node-network address outside the controllers' set/)]));
  });

  it('refuses a drop policy on the input chain', () => {
    const closed = edit('worker', (items) => items.map((i) => (i.add?.chain ? { add: { chain: { ...i.add.chain, policy: 'drop' } } } : i)));
    expect(checkHostFirewalls([closed]).findings.map((f) => f.message)).toEqual([expect.stringMatching(/the input chain's policy is drop/)]);
  });

  it('refuses the kubelet open to the internet', () => {
    const open = edit('worker', (items) => items.filter((i) => !(JSON.stringify(i).includes('10250') && JSON.stringify(i).includes('"drop"'))));
    expect(checkHostFirewalls([open]).findings.map((f) => f.message)).toEqual([expect.stringMatching(/kubelet 10250 accepts a packet from the internet/)]);
  });
});
