import { gzipSync } from 'node:zlib';
import { findOpenApiLoadBalancers, findSecretsInUserData, findSshAccess, inboundRules, keylessSshPublicKey, listResources, opensPort, type TerraformJson } from './security-assertions';

const PEM_KEY = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB0=\n-----END EC PRIVATE KEY-----\n';
const TOKEN = 'abcdef.0123456789abcdef';

/** A pointer shaped like an Ignition config, with one inline file. */
const pointer = (fileSource: string) =>
  JSON.stringify({
    ignition: { version: '3.3.0', config: { merge: [{ source: 'https://bucket.example.com/node-1.ign', verification: { hash: `sha512-${'0'.repeat(128)}` } }] } },
    storage: { files: [{ path: '/etc/keelson/file', contents: { source: fileSource } }] },
  });

/** A clean DigitalOcean document: droplet, firewall with the shapes the provider allows. */
function digitalocean(): TerraformJson {
  return {
    resource: {
      digitalocean_droplet: {
        'node-1': { name: 'node-1', user_data: pointer('data:,hello%0A'), monitoring: true },
      },
      digitalocean_firewall: {
        nodes: {
          name: 'nodes',
          tags: ['keelson'],
          inbound_rule: [
            { protocol: 'tcp', port_range: '6443', source_addresses: ['203.0.113.0/24'], source_load_balancer_uids: ['${digitalocean_loadbalancer.api.id}'] },
            { protocol: 'tcp', port_range: '2379-2380', source_tags: ['keelson-controller'] },
            { protocol: 'udp', port_range: '51871', source_tags: ['keelson'], source_droplet_ids: ['${digitalocean_droplet.node-1.id}'] },
            { protocol: 'icmp', source_addresses: ['10.0.0.0/16'] },
          ],
          outbound_rule: [{ protocol: 'tcp', port_range: 'all', destination_addresses: ['0.0.0.0/0'] }],
        },
      },
    },
  };
}

/** A clean Hetzner document: server, firewall with an outbound rule on 22 (outbound is not a way in). */
function hetzner(): TerraformJson {
  return {
    resource: {
      hcloud_server: { 'node-1': { name: 'node-1', user_data: pointer('data:;base64,aGVsbG8K'), labels: { role: 'controller' } } },
      hcloud_firewall: {
        nodes: {
          rule: [
            { direction: 'in', protocol: 'tcp', port: '6443', source_ips: ['203.0.113.0/24'] },
            { direction: 'in', protocol: 'tcp', port: '6800-7300', source_ips: ['10.10.0.0/16'] },
            { direction: 'in', protocol: 'icmp', source_ips: ['10.10.0.0/16'] },
            { direction: 'out', protocol: 'tcp', port: '22', destination_ips: ['0.0.0.0/0'] },
          ],
        },
      },
    },
  };
}

/** The document with `patch` merged into one resource's attributes. */
function withResource(doc: TerraformJson, type: string, name: string, attributes: Record<string, unknown>): TerraformJson {
  const resource = { ...(doc.resource ?? {}) };
  resource[type] = { ...(resource[type] ?? {}), [name]: attributes };
  return { ...doc, resource };
}

const droplet = (doc: TerraformJson) => doc.resource?.digitalocean_droplet?.['node-1'] as Record<string, unknown>;

describe('inboundRules', () => {
  it('normalises DigitalOcean inbound rules, prefixing each kind of source', () => {
    expect(inboundRules(digitalocean())).toEqual([
      { resource: 'digitalocean_firewall.nodes', protocol: 'tcp', ports: '6443', sources: ['203.0.113.0/24', 'load_balancer:${digitalocean_loadbalancer.api.id}'] },
      { resource: 'digitalocean_firewall.nodes', protocol: 'tcp', ports: '2379-2380', sources: ['tag:keelson-controller'] },
      { resource: 'digitalocean_firewall.nodes', protocol: 'udp', ports: '51871', sources: ['tag:keelson', 'droplet:${digitalocean_droplet.node-1.id}'] },
      { resource: 'digitalocean_firewall.nodes', protocol: 'icmp', ports: 'all', sources: ['10.0.0.0/16'] },
    ]);
  });

  it('reads a DigitalOcean rule written as one block instead of a list', () => {
    const doc = withResource({}, 'digitalocean_firewall', 'single', { inbound_rule: { protocol: 'tcp', port_range: '443', source_addresses: ['0.0.0.0/0'] } });
    expect(inboundRules(doc)).toEqual([{ resource: 'digitalocean_firewall.single', protocol: 'tcp', ports: '443', sources: ['0.0.0.0/0'] }]);
  });

  it('normalises Hetzner inbound rules and leaves outbound ones out', () => {
    expect(inboundRules(hetzner())).toEqual([
      { resource: 'hcloud_firewall.nodes', protocol: 'tcp', ports: '6443', sources: ['203.0.113.0/24'] },
      { resource: 'hcloud_firewall.nodes', protocol: 'tcp', ports: '6800-7300', sources: ['10.10.0.0/16'] },
      { resource: 'hcloud_firewall.nodes', protocol: 'icmp', ports: 'all', sources: ['10.10.0.0/16'] },
    ]);
  });

  it('finds no rules in a document without firewalls', () => {
    expect(inboundRules({ resource: { hcloud_server: {} } })).toEqual([]);
    expect(inboundRules({})).toEqual([]);
  });
});

describe('opensPort', () => {
  it('matches single ports, ranges and all ports for the protocol asked', () => {
    expect(opensPort({ protocol: 'tcp', ports: '22' }, 22)).toBe(true);
    expect(opensPort({ protocol: 'tcp', ports: '1-65535' }, 22)).toBe(true);
    expect(opensPort({ protocol: 'tcp', ports: 'all' }, 22)).toBe(true);
    expect(opensPort({ protocol: 'tcp', ports: '2379-2380' }, 22)).toBe(false);
    expect(opensPort({ protocol: 'tcp', ports: '220' }, 22)).toBe(false);
    expect(opensPort({ protocol: 'udp', ports: '22' }, 22)).toBe(false);
    expect(opensPort({ protocol: 'icmp', ports: 'all' }, 22)).toBe(false);
    expect(opensPort({ protocol: 'udp', ports: '51871' }, 51871, 'udp')).toBe(true);
  });
});

describe('findSshAccess', () => {
  it('finds nothing in clean DigitalOcean and Hetzner documents', () => {
    expect(findSshAccess(digitalocean())).toEqual([]);
    expect(findSshAccess(hetzner())).toEqual([]);
  });

  it('reports ssh_keys on a droplet or a server, even an empty list, naming the value', () => {
    const doc = withResource(digitalocean(), 'digitalocean_droplet', 'node-1', { ...droplet(digitalocean()), ssh_keys: ['12:34'] });
    expect(findSshAccess(doc)).toEqual([{ resource: 'digitalocean_droplet.node-1', message: 'sets ssh_keys = ["12:34"]' }]);
    const server = withResource(hetzner(), 'hcloud_server', 'node-2', { name: 'node-2', ssh_keys: [] });
    expect(findSshAccess(server)).toEqual([{ resource: 'hcloud_server.node-2', message: 'sets ssh_keys = []' }]);
  });

  it('reports ssh_keys nested in a block of any resource', () => {
    const doc = withResource({}, 'some_thing', 'x', { config: [{ ssh_keys: '${var.keys}' }] });
    expect(findSshAccess(doc)).toEqual([{ resource: 'some_thing.x', message: 'sets config[0].ssh_keys = "${var.keys}"' }]);
  });

  it('reports SSH key resources and data sources of both providers', () => {
    const doc: TerraformJson = {
      resource: { digitalocean_ssh_key: { admin: { name: 'admin', public_key: 'ssh-ed25519 AAAA' } } },
      data: { hcloud_ssh_key: { admin: { name: 'admin' } } },
    };
    expect(findSshAccess(doc)).toEqual([
      { resource: 'digitalocean_ssh_key.admin', message: 'declares an SSH key (digitalocean_ssh_key) that is not keyless: its private half may exist' },
      { resource: 'data.hcloud_ssh_key.admin', message: 'declares an SSH key (hcloud_ssh_key) that is not keyless: its private half may exist' },
    ]);
  });

  it('accepts a keyless key and droplets that list only it, and nothing that looks like one', () => {
    const keyless = { name: 'keelson-no-private-key', public_key: keylessSshPublicKey('keelson') };
    const base = withResource(digitalocean(), 'digitalocean_ssh_key', 'no-login', keyless);
    const ok = withResource(base, 'digitalocean_droplet', 'node-1', { ...droplet(digitalocean()), ssh_keys: ['${digitalocean_ssh_key.no-login.fingerprint}'] });
    expect(findSshAccess(ok)).toEqual([]);
    // A real key under the keyless comment, and a droplet that also lists another key.
    const real = withResource(digitalocean(), 'digitalocean_ssh_key', 'no-login', { ...keyless, public_key: keylessSshPublicKey('other').replace(':other', ':keelson') });
    expect(findSshAccess(real)).toEqual([{ resource: 'digitalocean_ssh_key.no-login', message: expect.stringMatching(/not keyless/) }]);
    const extra = withResource(base, 'digitalocean_droplet', 'node-1', { ...droplet(digitalocean()), ssh_keys: ['${digitalocean_ssh_key.no-login.fingerprint}', '12:34'] });
    expect(findSshAccess(extra)).toEqual([{ resource: 'digitalocean_droplet.node-1', message: 'sets ssh_keys = ["${digitalocean_ssh_key.no-login.fingerprint}","12:34"]' }]);
  });

  it.each([
    ['the port itself', '22'],
    ['a range over it', '1-65535'],
    ['all ports', 'all'],
    ['no port range (every port)', undefined],
  ])('reports a DigitalOcean inbound rule opening 22 through %s', (_what, portRange) => {
    const doc = withResource({}, 'digitalocean_firewall', 'open', { inbound_rule: [{ protocol: 'tcp', port_range: portRange, source_addresses: ['0.0.0.0/0'] }] });
    expect(findSshAccess(doc)).toEqual([{ resource: 'digitalocean_firewall.open', message: `opens port 22: tcp ${portRange ?? 'all'} from 0.0.0.0/0` }]);
  });

  it.each([
    ['the port itself', '22', '22'],
    ['a range over it', '20-30', '20-30'],
    ['any port', 'any', 'all'],
  ])('reports a Hetzner inbound rule opening 22 through %s', (_what, port, shown) => {
    const doc = withResource({}, 'hcloud_firewall', 'open', { rule: [{ direction: 'in', protocol: 'tcp', port, source_ips: ['0.0.0.0/0', '::/0'] }] });
    expect(findSshAccess(doc)).toEqual([{ resource: 'hcloud_firewall.open', message: `opens port 22: tcp ${shown} from 0.0.0.0/0, ::/0` }]);
  });

  it('ignores UDP 22 and outbound rules on 22', () => {
    const doc = withResource(hetzner(), 'hcloud_firewall', 'other', {
      rule: [
        { direction: 'in', protocol: 'udp', port: '22', source_ips: ['0.0.0.0/0'] },
        { direction: 'out', protocol: 'tcp', port: 'any', destination_ips: ['0.0.0.0/0'] },
      ],
    });
    expect(findSshAccess(doc)).toEqual([]);
  });
});

describe('findSecretsInUserData', () => {
  const serverWith = (userData: string) => withResource(hetzner(), 'hcloud_server', 'node-1', { name: 'node-1', user_data: userData });

  it('finds nothing in clean pointers of both providers', () => {
    expect(findSecretsInUserData(digitalocean(), { tokens: [TOKEN] })).toEqual([]);
    expect(findSecretsInUserData(hetzner(), { tokens: [TOKEN] })).toEqual([]);
  });

  it('reports a PEM block in plain user-data, naming its header only', () => {
    expect(findSecretsInUserData(serverWith(`#!/bin/sh\ncat > /key <<EOF\n${PEM_KEY}EOF\n`))).toEqual([
      { resource: 'hcloud_server.node-1', message: 'user_data text holds a PEM block "-----BEGIN EC PRIVATE KEY-----"' },
    ]);
  });

  it.each([
    ['base64', `data:;base64,${Buffer.from(PEM_KEY).toString('base64')}`, 'data:;base64,'],
    ['percent-encoded', `data:,${encodeURIComponent(PEM_KEY)}`, 'data:,'],
    ['gzip and base64', `data:;base64,${gzipSync(PEM_KEY).toString('base64')}`, 'data:;base64,'],
  ])('reports a PEM block inside a %s Ignition data URL', (_how, source, prefix) => {
    const doc = withResource(digitalocean(), 'digitalocean_droplet', 'node-1', { name: 'node-1', user_data: pointer(source) });
    expect(findSecretsInUserData(doc)).toEqual([
      { resource: 'digitalocean_droplet.node-1', message: `user_data (inline ${prefix}… decoded) holds a PEM block "-----BEGIN EC PRIVATE KEY-----"` },
    ]);
  });

  it('reports a kubeadm bootstrap token without printing its secret half', () => {
    const problems = findSecretsInUserData(serverWith(pointer(`data:,token%3A%20${TOKEN}%0A`)));
    expect(problems).toEqual([{ resource: 'hcloud_server.node-1', message: 'user_data (inline data:,… decoded) holds a kubeadm token "abcdef.****************"' }]);
    expect(JSON.stringify(problems)).not.toContain('0123456789abcdef');
  });

  it('reports a given secret string, redacted', () => {
    const secret = 'c2VjcmV0LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGVzIQ==';
    const problems = findSecretsInUserData(serverWith(`{"key":"${secret}"}`), { tokens: ['', secret] });
    expect(problems).toEqual([{ resource: 'hcloud_server.node-1', message: 'user_data text holds secret #1 ("c2Vj…(44 characters)")' }]);
    expect(JSON.stringify(problems)).not.toContain(secret);
  });

  it('reads through Terraform template escapes and reports user-data it cannot prove literal', () => {
    expect(findSecretsInUserData(serverWith('echo "$${HOME}" %%{ if x }'))).toEqual([]);
    expect(findSecretsInUserData(serverWith('${file("node-1.ign")}'))).toEqual([
      { resource: 'hcloud_server.node-1', message: 'user_data refers to ${file("node-1.ign")}; only literal user-data can be proven free of secrets' },
    ]);
    expect(findSecretsInUserData(withResource({}, 'hcloud_server', 'odd', { user_data: 42 }))).toEqual([
      { resource: 'hcloud_server.odd', message: 'user_data is not a string (number); cannot prove it holds no secret' },
    ]);
  });

  it('leaves attributes other than user_data alone (secret parts belong in private objects)', () => {
    const doc = withResource(hetzner(), 'minio_s3_object', 'node-1', { content: PEM_KEY });
    expect(findSecretsInUserData(doc)).toEqual([]);
  });
});

describe('listResources', () => {
  it('lists resources, data sources on request, and one type when asked', () => {
    const doc: TerraformJson = { ...hetzner(), data: { hcloud_image: { flatcar: { with_selector: 'os=flatcar' } } } };
    expect(listResources(doc).map((b) => b.address)).toEqual(['hcloud_server.node-1', 'hcloud_firewall.nodes']);
    expect(listResources(doc, { data: true }).map((b) => b.address)).toContain('data.hcloud_image.flatcar');
    expect(listResources(doc, { type: 'hcloud_firewall' }).map((b) => b.name)).toEqual(['nodes']);
  });
});

describe('findOpenApiLoadBalancers', () => {
  const apiRule = { entry_protocol: 'tcp', entry_port: 6443, target_protocol: 'tcp', target_port: 6443 };
  const doApi = (attributes: Record<string, unknown>) =>
    withResource(digitalocean(), 'digitalocean_loadbalancer', 'api', { name: 'api', forwarding_rule: [apiRule], ...attributes });

  it('accepts a DigitalOcean API load balancer with a firewall allow list, or on the internal network', () => {
    expect(findOpenApiLoadBalancers(doApi({ firewall: { allow: ['cidr:203.0.113.0/24', 'cidr:10.10.0.0/16', 'ip:${digitalocean_droplet.node-1.ipv4_address}'] } }))).toEqual([]);
    expect(findOpenApiLoadBalancers(doApi({ firewall: [{ allow: ['cidr:203.0.113.0/24'] }] }))).toEqual([]);
    expect(findOpenApiLoadBalancers(doApi({ network: 'INTERNAL' }))).toEqual([]);
  });

  it('reports a DigitalOcean API load balancer without a firewall allow list', () => {
    const problem = [
      { resource: 'digitalocean_loadbalancer.api', message: 'forwards 6443->6443 from the internet with no firewall allow list; set firewall.allow to the admin CIDRs and the nodes' },
    ];
    expect(findOpenApiLoadBalancers(doApi({}))).toEqual(problem);
    expect(findOpenApiLoadBalancers(doApi({ firewall: { deny: ['cidr:198.51.100.0/24'] } }))).toEqual(problem);
    expect(findOpenApiLoadBalancers(doApi({ firewall: { allow: [] }, network: 'EXTERNAL' }))).toEqual(problem);
  });

  it('reports a DigitalOcean allow list that lets in every address, and the API behind another entry port', () => {
    expect(findOpenApiLoadBalancers(doApi({ firewall: { allow: ['cidr:203.0.113.0/24', 'cidr:0.0.0.0/0'] } }))).toEqual([
      { resource: 'digitalocean_loadbalancer.api', message: 'forwards 6443->6443, and its firewall allows cidr:0.0.0.0/0 (every address)' },
    ]);
    const behind443 = doApi({ forwarding_rule: [{ ...apiRule, entry_port: 443 }] });
    expect(findOpenApiLoadBalancers(behind443).map((p) => p.message)).toEqual([expect.stringMatching(/^forwards 443->6443 from the internet with no firewall allow list/)]);
  });

  it('leaves DigitalOcean load balancers that do not serve 6443 alone', () => {
    const ingress = withResource(digitalocean(), 'digitalocean_loadbalancer', 'ingress', {
      forwarding_rule: [
        { entry_protocol: 'tcp', entry_port: 80, target_protocol: 'tcp', target_port: 80 },
        { entry_protocol: 'tcp', entry_port: 443, target_protocol: 'tcp', target_port: 443 },
      ],
    });
    expect(findOpenApiLoadBalancers(ingress)).toEqual([]);
  });

  /** A Hetzner API load balancer, its 6443 service, and its network attachment with `network` attributes (none: no attachment). */
  function hetznerApi(network?: Record<string, unknown>, service: Record<string, unknown> = { listen_port: 6443, destination_port: 6443 }): TerraformJson {
    let doc = withResource(hetzner(), 'hcloud_load_balancer', 'api', { name: 'api', load_balancer_type: 'lb11', location: 'fsn1' });
    doc = withResource(doc, 'hcloud_load_balancer_service', 'api', { load_balancer_id: '${hcloud_load_balancer.api.id}', protocol: 'tcp', ...service });
    if (network) doc = withResource(doc, 'hcloud_load_balancer_network', 'api', { load_balancer_id: '${hcloud_load_balancer.api.id}', subnet_id: '${hcloud_network_subnet.nodes.id}', ...network });
    return doc;
  }
  const hetznerProblem = {
    resource: 'hcloud_load_balancer.api',
    message:
      'serves 6443 (hcloud_load_balancer_service.api) on its public interface, and Hetzner load balancers have no source filter; attach it with hcloud_load_balancer_network enable_public_interface = false',
  };

  it('accepts a Hetzner API load balancer whose public interface is disabled', () => {
    expect(findOpenApiLoadBalancers(hetznerApi({ enable_public_interface: false }))).toEqual([]);
    expect(findOpenApiLoadBalancers(hetznerApi({ enable_public_interface: 'false' }))).toEqual([]);
  });

  it('reports a Hetzner API load balancer with its public interface on (the default), attached to a network or not', () => {
    expect(findOpenApiLoadBalancers(hetznerApi())).toEqual([hetznerProblem]);
    expect(findOpenApiLoadBalancers(hetznerApi({}))).toEqual([hetznerProblem]);
    expect(findOpenApiLoadBalancers(hetznerApi({ enable_public_interface: true }))).toEqual([hetznerProblem]);
    expect(findOpenApiLoadBalancers(hetznerApi({ enable_public_interface: true }, { listen_port: 443, destination_port: 6443 }))).toEqual([hetznerProblem]);
  });

  it('matches Hetzner services and networks to their own load balancer only', () => {
    // The private attachment belongs to another balancer (api2): api stays public.
    let doc = hetznerApi();
    doc = withResource(doc, 'hcloud_load_balancer', 'api2', { name: 'api2' });
    doc = withResource(doc, 'hcloud_load_balancer_network', 'api2', { load_balancer_id: '${hcloud_load_balancer.api2.id}', enable_public_interface: false });
    expect(findOpenApiLoadBalancers(doc)).toEqual([hetznerProblem]);
    // A public ingress balancer serving 80/443 is not an API balancer.
    let ingress = withResource(hetzner(), 'hcloud_load_balancer', 'ingress', { name: 'ingress' });
    ingress = withResource(ingress, 'hcloud_load_balancer_service', 'ingress-https', { load_balancer_id: '${hcloud_load_balancer.ingress.id}', protocol: 'tcp', listen_port: 443, destination_port: 443 });
    expect(findOpenApiLoadBalancers(ingress)).toEqual([]);
  });

  it('finds nothing in documents without load balancers', () => {
    expect(findOpenApiLoadBalancers(digitalocean())).toEqual([]);
    expect(findOpenApiLoadBalancers(hetzner())).toEqual([]);
    expect(findOpenApiLoadBalancers({})).toEqual([]);
  });
});
