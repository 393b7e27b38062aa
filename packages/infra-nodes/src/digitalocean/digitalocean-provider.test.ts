import { tmpdir } from 'node:os';
import { scanForSecrets } from '@keelson/k8s-schemas';
import { DigitalOceanProvider } from './digitalocean-provider';
import { FLATCAR_DIGITALOCEAN_IMAGE } from './pins';
import { nodeProviderFor } from '../provider';
import { presignS3Url } from '../presign';
import { findSecretsInUserData, findSshAccess, inboundRules as sharedInboundRules, isKeylessSshPublicKey, keylessSshPublicKey, opensPort } from '../security-assertions';
import { customImageUrlProblem } from './pins';

type Json = Record<string, any>;

const KUBEADM_TOKEN = /(?<![A-Za-z0-9._-])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9_-]|\.[A-Za-z0-9])/;

import { specOf, secretsOf, bootConfigs, render } from './test-fixtures';

/** Every value under `node` whose key is `key`, anywhere. */
function findKeys(node: unknown, key: string, found: unknown[] = []): unknown[] {
  if (Array.isArray(node)) node.forEach((n) => findKeys(n, key, found));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) found.push(v);
      findKeys(v, key, found);
    }
  }
  return found;
}

/** `${digitalocean_tag.controller.name}` -> the tag's rendered name, `${digitalocean_loadbalancer.api.id}` -> `lb:api`. */
function resolveSource(json: Json, ref: string): string {
  const tag = /^\$\{digitalocean_tag\.([\w-]+)\.name\}$/.exec(ref);
  if (tag) return `tag:${json.resource.digitalocean_tag[tag[1]].name}`;
  const lb = /^\$\{digitalocean_loadbalancer\.([\w-]+)\.id\}$/.exec(ref);
  if (lb) return `lb:${json.resource.digitalocean_loadbalancer[lb[1]].name}`;
  throw new Error(`unexpected firewall source ${ref}`);
}

/** A firewall's inbound rules as `proto/ports <- sources`, sources resolved and sorted. */
function inboundRules(json: Json, firewall: string): string[] {
  return json.resource.digitalocean_firewall[firewall].inbound_rule.map((r: Json) => {
    const sources = [
      ...(r.source_addresses ?? []).map((a: string) => `cidr:${a}`),
      ...(r.source_tags ?? []).map((t: string) => resolveSource(json, t)),
      ...(r.source_load_balancer_uids ?? []).map((l: string) => resolveSource(json, l)),
    ].sort();
    expect(r.source_droplet_ids ?? r.source_kubernetes_ids).toBeUndefined();
    return `${r.protocol}/${r.port_range ?? '-'} <- ${sources.join(',')}`;
  });
}

/** Resource addresses (`type.name`, `data.type.name`, `output.name`) -> their JSON. */
function addresses(json: Json): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [type, byName] of Object.entries<Json>(json.resource)) for (const [name, body] of Object.entries(byName)) out.set(`${type}.${name}`, body);
  for (const [type, byName] of Object.entries<Json>(json.data ?? {})) for (const [name, body] of Object.entries(byName)) out.set(`data.${type}.${name}`, body);
  for (const [name, body] of Object.entries<Json>(json.output ?? {})) out.set(`output.${name}`, body);
  out.set('terraform', json.terraform);
  out.set('provider', json.provider);
  return out;
}

/** Leaf paths where `a` and `b` differ (`firewall.allow`, `user_data`). */
function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPaths((a as Json)[k], (b as Json)[k], path ? `${path}.${k}` : k));
  }
  return [path];
}

/** What changed between two renderings: added and removed addresses, and changed ones with their paths. */
function diff(before: Json, after: Json): { added: string[]; removed: string[]; changed: Record<string, string[]> } {
  const a = addresses(before);
  const b = addresses(after);
  const changed: Record<string, string[]> = {};
  for (const [address, body] of b) if (a.has(address) && JSON.stringify(a.get(address)) !== JSON.stringify(body)) changed[address] = changedPaths(a.get(address), body);
  return {
    added: [...b.keys()].filter((k) => !a.has(k)).sort(),
    removed: [...a.keys()].filter((k) => !b.has(k)).sort(),
    changed,
  };
}

const portsOf = (range: string): [number, number] => {
  const [low, high = low] = range.split('-').map(Number);
  return [low, high];
};

describe('DigitalOceanProvider', () => {
  const spec = specOf();
  const { json, content } = render(spec);
  const droplets = Object.entries<Json>(json.resource.digitalocean_droplet);

  describe('no way in over SSH', () => {
    it('gives every droplet the keyless SSH key DigitalOcean requires for a custom image, and no other key', () => {
      expect(json.resource.digitalocean_ssh_key).toEqual({ 'no-login': { name: 'keelson-no-private-key', public_key: keylessSshPublicKey('keelson') } });
      expect(isKeylessSshPublicKey(json.resource.digitalocean_ssh_key['no-login'].public_key)).toBe(true);
      for (const [, d] of droplets) expect(d.ssh_keys).toEqual(['${digitalocean_ssh_key.no-login.fingerprint}']);
      expect(findSshAccess(json)).toEqual([]);
      // The same key on every synth: a new key would replace every droplet.
      expect(render(specOf()).json.resource.digitalocean_ssh_key).toEqual(json.resource.digitalocean_ssh_key);
    });

    it('opens port 22 in no firewall rule', () => {
      const rules = Object.values<Json>(json.resource.digitalocean_firewall).flatMap((f) => f.inbound_rule as Json[]);
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        if (rule.protocol === 'icmp') continue;
        const [low, high] = portsOf(rule.port_range);
        expect(low <= 22 && 22 <= high).toBe(false);
      }
    });
  });

  describe('firewalls', () => {
    const tagsOf = (firewall: string) => json.resource.digitalocean_firewall[firewall].tags.map((t: string) => resolveSource(json, t));

    it('puts every node behind the node firewalls and controllers behind the controller firewalls, by tag', () => {
      expect(Object.keys(json.resource.digitalocean_firewall).sort()).toEqual(['api_lb', 'controllers', 'ingress_lb', 'nodes']);
      expect(tagsOf('nodes')).toEqual(['tag:keelson']);
      expect(tagsOf('ingress_lb')).toEqual(['tag:keelson']);
      expect(tagsOf('controllers')).toEqual(['tag:keelson-controller']);
      expect(tagsOf('api_lb')).toEqual(['tag:keelson-controller']);
    });

    it('opens exactly the allowed inbound ports on every node: node-to-node in the base firewall, 80/443 from the ingress load balancer in their own', () => {
      expect(inboundRules(json, 'ingress_lb')).toEqual(['tcp/80 <- lb:keelson-ingress', 'tcp/443 <- lb:keelson-ingress']);
      expect(inboundRules(json, 'nodes')).toEqual([
        'tcp/10250 <- tag:keelson',
        'udp/51871 <- tag:keelson',
        'udp/8472 <- tag:keelson',
        'tcp/4240 <- tag:keelson',
        'tcp/4244 <- tag:keelson',
        'icmp/- <- tag:keelson',
        'tcp/3300 <- tag:keelson',
        'tcp/6789 <- tag:keelson',
        'tcp/6800-7300 <- tag:keelson',
      ]);
    });

    it('opens 6443 only to the API load balancer, the admin CIDRs and the nodes, and etcd only between controllers', () => {
      expect(inboundRules(json, 'controllers')).toEqual(['tcp/6443 <- cidr:203.0.113.0/24,tag:keelson', 'tcp/2379-2380 <- tag:keelson-controller']);
      expect(inboundRules(json, 'api_lb')).toEqual(['tcp/6443 <- lb:keelson-api']);
    });

    it('lets in exactly the documented allow-list across the four firewalls, per role tag', () => {
      const byTag = (firewalls: string[]) => firewalls.flatMap((f) => inboundRules(json, f)).sort();
      expect(byTag(['nodes', 'ingress_lb'])).toEqual(
        [
          'tcp/80 <- lb:keelson-ingress',
          'tcp/443 <- lb:keelson-ingress',
          'tcp/10250 <- tag:keelson',
          'udp/51871 <- tag:keelson',
          'udp/8472 <- tag:keelson',
          'tcp/4240 <- tag:keelson',
          'tcp/4244 <- tag:keelson',
          'icmp/- <- tag:keelson',
          'tcp/3300 <- tag:keelson',
          'tcp/6789 <- tag:keelson',
          'tcp/6800-7300 <- tag:keelson',
        ].sort(),
      );
      expect(byTag(['controllers', 'api_lb'])).toEqual(
        ['tcp/6443 <- cidr:203.0.113.0/24,tag:keelson', 'tcp/6443 <- lb:keelson-api', 'tcp/2379-2380 <- tag:keelson-controller'].sort(),
      );
    });

    it('creates the base firewalls before any droplet: each droplet depends on those of its tags, which name no load balancer', () => {
      for (const node of spec.topology.nodes) {
        const dependsOn: string[] = json.resource.digitalocean_droplet[node.name].depends_on;
        const firewalls = dependsOn.filter((d) => d.startsWith('digitalocean_firewall.'));
        expect(firewalls).toEqual(node.role === 'controller' ? ['digitalocean_firewall.nodes', 'digitalocean_firewall.controllers'] : ['digitalocean_firewall.nodes']);
      }
      // No cycle: the base firewalls reference tags only, so they exist before droplets and balancers...
      for (const firewall of ['nodes', 'controllers']) {
        const refs = [...JSON.stringify(json.resource.digitalocean_firewall[firewall]).matchAll(/\$\{([\w.-]+)\}/g)].map((m) => m[1]);
        expect(refs.every((r) => r.startsWith('digitalocean_tag.'))).toBe(true);
        expect(json.resource.digitalocean_firewall[firewall].depends_on).toBeUndefined();
      }
      // ...while the rules from the balancers wait for those (and they for the droplets).
      expect(json.resource.digitalocean_firewall.ingress_lb.inbound_rule.map((r: Json) => r.source_load_balancer_uids)).toEqual([
        ['${digitalocean_loadbalancer.ingress.id}'],
        ['${digitalocean_loadbalancer.ingress.id}'],
      ]);
      expect(json.resource.digitalocean_firewall.api_lb.inbound_rule[0].source_load_balancer_uids).toEqual(['${digitalocean_loadbalancer.api.id}']);
    });

    it('opens node-to-node ports to the cluster tag only, never to an address', () => {
      const internal = json.resource.digitalocean_firewall.nodes.inbound_rule as Json[];
      expect(internal).toHaveLength(9);
      for (const rule of internal) {
        expect(rule.source_addresses).toBeUndefined();
        expect(rule.source_tags.map((t: string) => resolveSource(json, t))).toEqual(['tag:keelson']);
      }
    });

    it('opens flannel’s WireGuard port instead of Cilium’s ports when the network layer is flannel', () => {
      const flannel = render(specOf((c) => (c.layers = { network: 'flannel' }))).json;
      const rules = inboundRules(flannel, 'nodes');
      expect(rules).toContain('udp/51820 <- tag:keelson');
      expect(rules.filter((r) => /51871|8472|4240|4244|icmp/.test(r))).toEqual([]);
    });

    it('lets every node out on every port', () => {
      for (const firewall of Object.values<Json>(json.resource.digitalocean_firewall)) {
        expect(firewall.outbound_rule).toEqual([
          { protocol: 'tcp', port_range: '1-65535', destination_addresses: ['0.0.0.0/0', '::/0'] },
          { protocol: 'udp', port_range: '1-65535', destination_addresses: ['0.0.0.0/0', '::/0'] },
          { protocol: 'icmp', destination_addresses: ['0.0.0.0/0', '::/0'] },
        ]);
      }
    });
  });

  describe('nodes', () => {
    it('renders one droplet per topology node, named after it, with its size, role tags and the VPC', () => {
      expect(droplets.map(([address]) => address)).toEqual(spec.topology.nodes.map((n) => n.name));
      for (const node of spec.topology.nodes) {
        const d = json.resource.digitalocean_droplet[node.name];
        expect(d).toMatchObject({ name: node.name, size: node.size, region: 'fra1', vpc_uuid: '${digitalocean_vpc.network.id}', image: '${digitalocean_custom_image.flatcar.id}' });
        expect(d.tags.map((t: string) => resolveSource(json, t))).toEqual(['tag:keelson', `tag:keelson-${node.role}`]);
      }
    });

    it('turns monitoring and the droplet agent off (Flatcar has neither), and ignores changes of user_data, image and size', () => {
      for (const [, d] of droplets) {
        expect(d.monitoring).toBe(false);
        expect(d.droplet_agent).toBe(false);
        expect(d.lifecycle.ignore_changes).toEqual(['user_data', 'image', 'size']);
      }
    });

    it("imports Flatcar from a URL DigitalOcean's custom-image rules accept, and refuses one they do not", () => {
      for (const image of Object.values(FLATCAR_DIGITALOCEAN_IMAGE)) expect(customImageUrlProblem(image.url)).toBeUndefined();
      expect(customImageUrlProblem('https://example.com/flatcar.img.xz')).toMatch(/use gzip \(\.gz\) or bzip2 \(\.bz2\)/);
      expect(customImageUrlProblem('https://example.com/images/')).toMatch(/ends in "\/", not a file name/);
      expect(customImageUrlProblem('https://example.com/image?id=1')).toMatch(/query or fragment/);
      expect(customImageUrlProblem('http://example.com/a.qcow2.gz')).toMatch(/not https/);
      expect(customImageUrlProblem('https://example.com/a.iso')).toMatch(/not a disk image/);
      expect(() => new DigitalOceanProvider({ image: { version: '1', url: 'https://example.com/flatcar.bin.xz' } })).toThrow(/DigitalOceanProvider: image\.url: flatcar\.bin\.xz is compressed/);
    });

    it('imports the pinned Flatcar image in the platform’s region, new before old', () => {
      const image = json.resource.digitalocean_custom_image.flatcar;
      expect(image.url).toBe(FLATCAR_DIGITALOCEAN_IMAGE.stable.url);
      expect(image.url).toMatch(/^https:\/\/stable\.release\.flatcar-linux\.net\/amd64-usr\/\d+\.\d+\.\d+\/flatcar_production_digitalocean_image\.bin\.bz2$/);
      expect(image.regions).toEqual(['fra1']);
      expect(image.lifecycle).toEqual({ create_before_destroy: true });
    });

    it('puts the nodes in a VPC whose range overlaps neither pods nor Services', () => {
      expect(json.resource.digitalocean_vpc.network).toMatchObject({ name: 'keelson', region: 'fra1', ip_range: '10.10.0.0/16' });
    });

    it('gives every node exactly one raw volume of the configured size, attached to it', () => {
      const volumes = json.resource.digitalocean_volume as Json;
      const attachments = json.resource.digitalocean_volume_attachment as Json;
      expect(Object.keys(volumes)).toEqual(spec.topology.nodes.map((n) => n.name));
      expect(Object.keys(attachments)).toEqual(spec.topology.nodes.map((n) => n.name));
      for (const node of spec.topology.nodes) {
        expect(volumes[node.name]).toMatchObject({ name: `${node.name}-osd`, size: 100, region: 'fra1' });
        expect(volumes[node.name]).not.toHaveProperty('filesystem_type');
        expect(volumes[node.name]).not.toHaveProperty('initial_filesystem_type');
        expect(attachments[node.name]).toEqual({
          droplet_id: `\${digitalocean_droplet.${node.name}.id}`,
          volume_id: `\${digitalocean_volume.${node.name}.id}`,
        });
      }
      const attached = Object.values(attachments).map((a: Json) => a.volume_id);
      expect(new Set(attached).size).toBe(spec.topology.nodes.length);
    });

    it('sizes volumes from config.nodes.volumeSizeGiB', () => {
      const big = render(specOf((c) => (c.nodes.volumeSizeGiB = 500))).json;
      for (const v of Object.values<Json>(big.resource.digitalocean_volume)) expect(v.size).toBe(500);
    });
  });

  describe('load balancers', () => {
    it('targets every controller and no worker from the API load balancer, health-checking /readyz on 6443', () => {
      const api = json.resource.digitalocean_loadbalancer.api;
      const target = resolveSource(json, api.droplet_tag);
      expect(target).toBe('tag:keelson-controller');
      for (const node of spec.topology.nodes) {
        const tags = json.resource.digitalocean_droplet[node.name].tags.map((t: string) => resolveSource(json, t));
        expect(tags.includes(target)).toBe(node.role === 'controller');
      }
      expect(api.forwarding_rule).toEqual([{ entry_protocol: 'tcp', entry_port: 6443, target_protocol: 'tcp', target_port: 6443 }]);
      expect(api.healthcheck).toMatchObject({ protocol: 'https', port: 6443, path: '/readyz' });
      expect(api.vpc_uuid).toBe('${digitalocean_vpc.network.id}');
    });

    it('lets only the admin CIDRs and the nodes themselves (public addresses and the VPC) through the API load balancer', () => {
      expect(json.resource.digitalocean_loadbalancer.api.firewall).toEqual({
        allow: ['cidr:203.0.113.0/24', 'cidr:10.10.0.0/16', ...spec.topology.nodes.map((n) => `ip:\${digitalocean_droplet.${n.name}.ipv4_address}`)],
      });
    });

    it('passes 80 and 443 through to every node from the ingress load balancer, without PROXY protocol by default', () => {
      const ingress = json.resource.digitalocean_loadbalancer.ingress;
      expect(resolveSource(json, ingress.droplet_tag)).toBe('tag:keelson');
      expect(ingress.forwarding_rule).toEqual([
        { entry_protocol: 'tcp', entry_port: 80, target_protocol: 'tcp', target_port: 80 },
        { entry_protocol: 'tcp', entry_port: 443, target_protocol: 'tcp', target_port: 443 },
      ]);
      expect(ingress.healthcheck).toMatchObject({ protocol: 'tcp', port: 443 });
      expect(ingress.enable_proxy_protocol).toBe(false);
      expect(ingress.firewall).toBeUndefined();
    });

    it('speaks PROXY protocol and targets other ports when asked, and the firewall follows the ports', () => {
      const proxied = render(spec, { ingressProxyProtocol: true, ingressTargetPorts: { http: 30080, https: 30443 } }).json;
      const ingress = proxied.resource.digitalocean_loadbalancer.ingress;
      expect(ingress.enable_proxy_protocol).toBe(true);
      expect(ingress.forwarding_rule.map((r: Json) => `${r.entry_port}->${r.target_port}`)).toEqual(['80->30080', '443->30443']);
      expect(inboundRules(proxied, 'ingress_lb')).toEqual(['tcp/30080 <- lb:keelson-ingress', 'tcp/30443 <- lb:keelson-ingress']);
      expect(inboundRules(proxied, 'nodes').filter((r) => /tcp\/(80|443|30080|30443) /.test(r))).toEqual([]);
    });
  });

  describe('secrets', () => {
    it('keeps every PEM block and token out of the droplets’ user-data', () => {
      for (const [name, d] of droplets) {
        expect(scanForSecrets(d.user_data, name)).toEqual([]);
        expect(d.user_data).not.toContain('-----BEGIN');
        expect(d.user_data).not.toMatch(KUBEADM_TOKEN);
      }
    });

    it('puts each secret part only in its private bucket object', () => {
      const objects = json.resource.digitalocean_spaces_bucket_object as Json;
      const nodes = bootConfigs(spec);
      const { json: withSecrets } = render(spec, {}, nodes);
      for (const boot of nodes) {
        const object = withSecrets.resource.digitalocean_spaces_bucket_object[boot.name];
        expect(object).toMatchObject({ key: `${boot.name}.ign`, acl: 'private', region: 'fra1', bucket: '${digitalocean_spaces_bucket.ignition.name}', content: boot.secretPart });
        // The scanner sees the key where it is allowed to be...
        expect(scanForSecrets(object.content, boot.name).map((f) => f.rule)).toContain('private-key');
      }
      // ...and nowhere else.
      const rest = structuredClone(withSecrets);
      delete rest.resource.digitalocean_spaces_bucket_object;
      expect(scanForSecrets(JSON.stringify(rest, null, 2), 'main.tf.json')).toEqual([]);
      for (const boot of nodes) {
        const { pem, token } = secretsOf(boot.name);
        expect(JSON.stringify(rest)).not.toContain(Buffer.from(pem).toString('base64').slice(0, 40));
        expect(JSON.stringify(rest)).not.toContain(token);
      }
      expect(Object.keys(objects)).toEqual(spec.topology.nodes.map((n) => n.name));
    });

    it('reads each secret part from its file through sensitive(file(...)) when secretPartFile is given, so main.tf.json holds no key material', () => {
      const nodes = bootConfigs(spec).map((n) => ({ ...n, secretPartFile: `ignition/${n.name}.secret.ign` }));
      const { json: fromFiles, content: text } = render(spec, {}, nodes);
      for (const boot of nodes) {
        expect(fromFiles.resource.digitalocean_spaces_bucket_object[boot.name]).toMatchObject({
          key: `${boot.name}.ign`,
          acl: 'private',
          content: `\${sensitive(file("\${path.module}/ignition/${boot.name}.secret.ign"))}`,
        });
        const { pem, token } = secretsOf(boot.name);
        expect(text).not.toContain(Buffer.from(pem).toString('base64').slice(0, 40));
        expect(text).not.toContain(token);
      }
      expect(text).toContain('"content": "${sensitive(file(\\"${path.module}/ignition/keelson-controller-1.secret.ign\\"))}"');
      expect(text).not.toContain('-----BEGIN');
      expect(scanForSecrets(text, 'main.tf.json')).toEqual([]);
      // Without a file the part is the literal content: the scanner finds the key there.
      expect(json.resource.digitalocean_spaces_bucket_object['keelson-worker-1'].content).toBe(bootConfigs(spec)[spec.topology.nodes.length - 1].secretPart);
      expect(scanForSecrets(content, 'main.tf.json').map((f) => f.rule)).toContain('private-key');
    });

    it('refuses a secretPartFile Terraform would not read as a plain relative path', () => {
      for (const bad of ['/etc/shadow', '../x.ign', 'ignition/../x.ign', 'a"b.ign', 'ignition/${x}.ign', 'a b.ign', '']) {
        const nodes = bootConfigs(spec).map((n, i) => (i === 0 ? { ...n, secretPartFile: bad } : n));
        expect(() => new DigitalOceanProvider().renderTerraform({ spec, nodes })).toThrow(/keelson-controller-1 has secretPartFile .*use a path relative to main\.tf\.json/);
      }
    });

    it('escapes Terraform template syntax in user-data and secret parts', () => {
      const tricky = 'echo ${NODE_IP} %{ if x } $${kept} 100%';
      const nodes = bootConfigs(spec).map((n) => ({ ...n, userData: `{"x":"${tricky}"}`, secretPart: tricky }));
      const rendered = render(spec, {}, nodes).json;
      expect(rendered.resource.digitalocean_droplet['keelson-worker-1'].user_data).toBe('{"x":"echo $${NODE_IP} %%{ if x } $$${kept} 100%"}');
      expect(rendered.resource.digitalocean_spaces_bucket_object['keelson-worker-1'].content).toBe('echo $${NODE_IP} %%{ if x } $$${kept} 100%');
    });

    it('passes the provider-neutral security assertions Hetzner passes too', () => {
      const tokens = spec.topology.nodes.flatMap((n) => [secretsOf(n.name).token, Buffer.from(secretsOf(n.name).pem).toString('base64').slice(0, 40)]);
      expect(findSshAccess(json)).toEqual([]);
      expect(findSecretsInUserData(json, { tokens })).toEqual([]);
      expect(sharedInboundRules(json).filter((r) => opensPort(r, 22))).toEqual([]);
      // The same check finds a secret part passed as user-data by mistake.
      const misused = render(spec, {}, bootConfigs(spec).map((n) => ({ ...n, userData: n.secretPart }))).json;
      expect(findSecretsInUserData(misused, { tokens }).length).toBeGreaterThanOrEqual(spec.topology.nodes.length);
    });

    it('passes no credential to the provider: token and Spaces keys come from the environment', () => {
      expect(json.provider).toEqual({ digitalocean: [{}] });
      expect(json.terraform.required_providers).toEqual({ digitalocean: { source: 'digitalocean/digitalocean', version: '2.71.0' } });
      // The S3 backend's skip_s3_checksum (Spaces) arrived in Terraform 1.6.3.
      expect(json.terraform.required_version).toBe('>= 1.6.3');
    });
  });

  describe('buckets', () => {
    it('keeps backups private and versioned, expiring replaced versions after 30 days', () => {
      expect(json.resource.digitalocean_spaces_bucket.backups).toEqual({
        name: 'keelson-8bef49a9-backups',
        region: 'fra1',
        acl: 'private',
        versioning: { enabled: true },
        force_destroy: false,
        lifecycle_rule: [{ id: 'expire-noncurrent-versions', enabled: true, noncurrent_version_expiration: { days: 30 }, abort_incomplete_multipart_upload_days: 7 }],
      });
    });

    it('keeps secret parts private and expires them with Days: 1 (one to two days after upload)', () => {
      expect(json.resource.digitalocean_spaces_bucket.ignition).toMatchObject({
        name: 'keelson-8bef49a9-ignition',
        acl: 'private',
        lifecycle_rule: [{ id: 'expire-secret-parts', enabled: true, expiration: { days: 1 } }],
      });
      expect(json.resource.digitalocean_spaces_bucket.ignition.versioning).toBeUndefined();
    });

    it('signs the secret-part link for 7 days with the Spaces key and region when given credentials, the same link for the same time', () => {
      const provider = new DigitalOceanProvider();
      const node = spec.topology.controllers[1];
      const credentials = { accessKeyId: 'EXAMPLEKEYID', secretAccessKey: 'example-not-a-secret' };
      const now = new Date('2025-03-04T00:00:00Z');
      const signed = new URL(provider.secretPartUrl(spec, node, { credentials, now }));
      expect(`${signed.origin}${signed.pathname}`).toBe('https://keelson-8bef49a9-ignition.fra1.digitaloceanspaces.com/keelson-controller-2.ign');
      expect(signed.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(signed.searchParams.get('X-Amz-Credential')).toBe('EXAMPLEKEYID/20250304/fra1/s3/aws4_request');
      expect(signed.searchParams.get('X-Amz-Date')).toBe('20250304T000000Z');
      expect(signed.searchParams.get('X-Amz-Expires')).toBe('604800');
      expect(provider.secretPartUrl(spec, node, { credentials, now: new Date(now) })).toBe(signed.toString());
      expect(provider.secretPartUrl(spec, node, { credentials, now: new Date('2025-03-05T00:00:00Z') })).not.toBe(signed.toString());
      // nyc1 has no Spaces: the link is signed for the bucket's region, nyc3.
      const nyc = specOf((c) => (c.provider = { name: 'digitalocean', region: 'nyc1' }));
      expect(new URL(provider.secretPartUrl(nyc, nyc.topology.nodes[0], { credentials, now })).searchParams.get('X-Amz-Credential')).toBe('EXAMPLEKEYID/20250304/nyc3/s3/aws4_request');
    });

    describe('backupObjectUrl', () => {
      const provider = new DigitalOceanProvider();
      const credentials = { accessKeyId: 'EXAMPLEKEYID', secretAccessKey: 'example-not-a-secret' };
      const now = new Date('2026-11-25T00:00:00Z');
      const key = 'etcd/20261125T081500Z.db';

      it('names the object in the backups bucket, in the Spaces region', () => {
        expect(provider.backupObjectUrl(spec, key)).toBe('https://keelson-8bef49a9-backups.fra1.digitaloceanspaces.com/etcd/20261125T081500Z.db');
        const bucket = provider.backupBucket(spec);
        expect(new URL(provider.backupObjectUrl(spec, key)).host).toBe(`${bucket.bucket}.${new URL(bucket.endpoint).host}`);
        const nyc = specOf((c) => (c.provider = { name: 'digitalocean', region: 'nyc1' }));
        expect(provider.backupObjectUrl(nyc, key)).toBe('https://keelson-8bef49a9-backups.nyc3.digitaloceanspaces.com/etcd/20261125T081500Z.db');
      });

      it('presigns a GET for 7 days with the Spaces key and region: the same inputs give the same link', () => {
        const signed = new URL(provider.backupObjectUrl(spec, key, { credentials, now }));
        expect(`${signed.origin}${signed.pathname}`).toBe('https://keelson-8bef49a9-backups.fra1.digitaloceanspaces.com/etcd/20261125T081500Z.db');
        expect(signed.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
        expect(signed.searchParams.get('X-Amz-Credential')).toBe('EXAMPLEKEYID/20261125/fra1/s3/aws4_request');
        expect(signed.searchParams.get('X-Amz-Date')).toBe('20261125T000000Z');
        expect(signed.searchParams.get('X-Amz-Expires')).toBe('604800');
        expect(signed.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
        expect(signed.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
        expect(signed.toString()).toBe(presignS3Url({ url: provider.backupObjectUrl(spec, key), ...credentials, region: 'fra1', expiresSeconds: 604800, now }));
        expect(signed.toString()).not.toContain(credentials.secretAccessKey);
        expect(new DigitalOceanProvider().backupObjectUrl(spec, key, { credentials, now: new Date(now) })).toBe(signed.toString());
        expect(provider.backupObjectUrl(spec, key, { credentials, now: new Date('2026-11-26T00:00:00Z') })).not.toBe(signed.toString());
        expect(provider.backupObjectUrl(spec, 'etcd/20261125T091500Z.db', { credentials, now })).not.toBe(signed.toString());
      });

      it('percent-encodes each segment of a key, once, keeping the slashes', () => {
        expect(provider.backupObjectUrl(spec, 'etcd/2026-11-25T08:15:00Z.db')).toBe('https://keelson-8bef49a9-backups.fra1.digitaloceanspaces.com/etcd/2026-11-25T08%3A15%3A00Z.db');
        const signed = new URL(provider.backupObjectUrl(spec, 'etcd/2026-11-25T08:15:00Z.db', { credentials, now }));
        expect(signed.pathname).toBe('/etcd/2026-11-25T08%3A15%3A00Z.db');
      });

      it.each([
        ['an empty key', '', /DigitalOceanProvider\.backupObjectUrl: the object key is empty; pass the key of an object in the backups bucket, e\.g\. "etcd\/20261125T081500Z\.db"/],
        ['a leading slash', '/etcd/x.db', /DigitalOceanProvider\.backupObjectUrl: object key "\/etcd\/x\.db" starts with "\/"; keys are relative to the bucket: use "etcd\/x\.db"/],
        ['a ".." segment', 'etcd/../secrets.db', /object key "etcd\/\.\.\/secrets\.db" has an empty, "\." or "\.\." segment; pass the key exactly as the bucket lists it/],
        ['a "." segment', './etcd/x.db', /object key "\.\/etcd\/x\.db" has an empty, "\." or "\.\." segment/],
        ['an empty segment', 'etcd//x.db', /object key "etcd\/\/x\.db" has an empty, "\." or "\.\." segment/],
        ['a control character', 'etcd/x.db\nother', /object key "etcd\/x\.db\\nother" holds a control character/],
        ['a key over 1024 bytes', `etcd/${'x'.repeat(1100)}.db`, /object key is 1108 bytes long; S3 keys are at most 1024 bytes/],
      ])('refuses %s, naming the key and the fix', (_what, bad, message) => {
        expect(() => provider.backupObjectUrl(spec, bad)).toThrow(message);
        expect(() => provider.backupObjectUrl(spec, bad, { credentials, now })).toThrow(message);
      });
    });

    it('reads the Spaces key pair from SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY, only when both are set', () => {
      const provider = new DigitalOceanProvider();
      expect(provider.credentialsFromEnv({ SPACES_ACCESS_KEY_ID: 'id', SPACES_SECRET_ACCESS_KEY: 'secret' })).toEqual({ accessKeyId: 'id', secretAccessKey: 'secret' });
      expect(provider.credentialsFromEnv({ SPACES_ACCESS_KEY_ID: 'id' })).toBeUndefined();
      expect(provider.credentialsFromEnv({ SPACES_ACCESS_KEY_ID: 'id', SPACES_SECRET_ACCESS_KEY: '' })).toBeUndefined();
      expect(provider.credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' })).toBeUndefined();
    });

    it('boots each droplet only once its secret part is in the bucket', () => {
      for (const node of spec.topology.nodes) {
        expect(json.resource.digitalocean_droplet[node.name].depends_on).toContain(`digitalocean_spaces_bucket_object.${node.name}`);
        expect(json.resource.digitalocean_droplet[node.name].depends_on.filter((d: string) => d.startsWith('digitalocean_spaces_bucket_object.'))).toHaveLength(1);
      }
    });

    it('hands out the URL of the object it uploads for each node', () => {
      const provider = new DigitalOceanProvider();
      const node = spec.topology.controllers[1];
      expect(provider.secretPartUrl(spec, node)).toBe('https://keelson-8bef49a9-ignition.fra1.digitaloceanspaces.com/keelson-controller-2.ign');
      expect(provider.dropletAddress(node)).toBe('digitalocean_droplet.keelson-controller-2');
      expect(json.resource.digitalocean_droplet['keelson-controller-2'].name).toBe('keelson-controller-2');
      expect(json.resource.digitalocean_spaces_bucket_object[node.name].key).toBe('keelson-controller-2.ign');
    });

    it('keeps buckets in nyc3 for nyc1, which has no Spaces', () => {
      const nyc = specOf((c) => (c.provider = { name: 'digitalocean', region: 'nyc1' }));
      const rendered = render(nyc).json;
      expect(rendered.resource.digitalocean_droplet['keelson-worker-1'].region).toBe('nyc1');
      expect(rendered.resource.digitalocean_spaces_bucket.backups.region).toBe('nyc3');
      expect(new DigitalOceanProvider().secretPartUrl(nyc, nyc.topology.nodes[0])).toBe('https://keelson-8bef49a9-ignition.nyc3.digitaloceanspaces.com/keelson-controller-1.ign');
      expect(new DigitalOceanProvider().spacesRegion(nyc)).toBe('nyc3');
    });
  });

  describe('DNS', () => {
    it('points api.<domain> and *.<domain> at the load balancers, in the existing zone', () => {
      expect(json.data.digitalocean_domain.zone).toEqual({ name: 'example.com' });
      expect(json.resource.digitalocean_domain).toBeUndefined();
      expect(json.resource.digitalocean_record).toEqual({
        api: { domain: '${data.digitalocean_domain.zone.name}', type: 'A', name: 'api', value: '${digitalocean_loadbalancer.api.ip}', ttl: 300 },
        ingress: { domain: '${data.digitalocean_domain.zone.name}', type: 'A', name: '*', value: '${digitalocean_loadbalancer.ingress.ip}', ttl: 300 },
      });
    });

    it('names records relative to a parent zone, and creates the zone only when asked', () => {
      const sub = specOf((c) => (c.domain = 'cloud.example.com'));
      const rendered = render(sub, { dns: { zone: 'example.com', createZone: true } }).json;
      expect(rendered.resource.digitalocean_domain.zone).toEqual({ name: 'example.com' });
      expect(rendered.data).toBeUndefined();
      expect(rendered.resource.digitalocean_record.api).toMatchObject({ domain: '${digitalocean_domain.zone.name}', name: 'api.cloud' });
      expect(rendered.resource.digitalocean_record.ingress.name).toBe('*.cloud');
    });
  });

  describe('outputs and state', () => {
    it('outputs the API endpoint, load balancer addresses and bucket names, node addresses as sensitive', () => {
      expect(Object.keys(json.output)).toEqual([
        'api_endpoint',
        'api_load_balancer_ip',
        'backups_bucket',
        'backups_bucket_endpoint',
        'ignition_bucket',
        'ingress_load_balancer_ip',
        'node_addresses',
      ]);
      expect(json.output.api_endpoint.value).toBe('api.example.com:6443');
      expect(json.output.backups_bucket.value).toBe('keelson-8bef49a9-backups');
      expect(json.output.node_addresses.sensitive).toBe(true);
      expect(Object.keys(json.output.node_addresses.value)).toEqual(spec.topology.nodes.map((n) => n.name));
    });

    it('keeps state next to the configuration by default', () => {
      expect(json.terraform.backend).toEqual({ local: { path: 'terraform.tfstate' } });
    });

    it('keeps state in a Spaces bucket when asked, without AWS-only checks', () => {
      const remote = render(spec, { backend: { type: 's3', bucket: 'keelson-state' } }).json;
      expect(remote.terraform.backend).toEqual({
        s3: {
          bucket: 'keelson-state',
          key: 'keelson/terraform.tfstate',
          region: 'us-east-1',
          endpoints: { s3: 'https://fra1.digitaloceanspaces.com' },
          skip_credentials_validation: true,
          skip_metadata_api_check: true,
          skip_region_validation: true,
          skip_requesting_account_id: true,
          skip_s3_checksum: true,
        },
      });
    });
  });

  describe('changes', () => {
    it('adds only the new workers, their volumes, attachments and secret parts, and their place in the API allow list, when two workers are added', () => {
      const bigger = specOf((c) => (c.nodes.workers = { count: 3 }));
      const after = render(bigger).json;
      const d = diff(json, after);
      const added = ['keelson-worker-2', 'keelson-worker-3'].flatMap((n) => [
        `digitalocean_droplet.${n}`,
        `digitalocean_spaces_bucket_object.${n}`,
        `digitalocean_volume.${n}`,
        `digitalocean_volume_attachment.${n}`,
      ]);
      expect(d.added).toEqual(added.sort());
      expect(d.removed).toEqual([]);
      expect(d.changed).toEqual({ 'digitalocean_loadbalancer.api': ['firewall.allow'], 'output.node_addresses': ['value.keelson-worker-2', 'value.keelson-worker-3'] });
      // Firewalls and load balancer targets follow by tag: the new workers carry the tags.
      for (const n of ['keelson-worker-2', 'keelson-worker-3']) {
        expect(after.resource.digitalocean_droplet[n].tags.map((t: string) => resolveSource(after, t))).toEqual(['tag:keelson', 'tag:keelson-worker']);
      }
    });

    it('removes only those workers again when the count goes back', () => {
      const bigger = render(specOf((c) => (c.nodes.workers = { count: 3 }))).json;
      const d = diff(bigger, json);
      expect(d.added).toEqual([]);
      expect(d.removed.every((a) => /keelson-worker-[23]$/.test(a))).toBe(true);
      expect(d.removed).toHaveLength(8);
    });

    it('changes only that droplet’s user_data, which lifecycle ignores, when a controller’s Ignition pointer changes', () => {
      const nodes = bootConfigs(spec);
      const before = render(spec, {}, nodes).json;
      const changedNodes = nodes.map((n) => (n.name === 'keelson-controller-2' ? { ...n, userData: `${n.userData} ` } : n));
      const after = render(spec, {}, changedNodes).json;
      expect(diff(before, after)).toEqual({ added: [], removed: [], changed: { 'digitalocean_droplet.keelson-controller-2': ['user_data'] } });
      expect(after.resource.digitalocean_droplet['keelson-controller-2'].lifecycle.ignore_changes).toContain('user_data');
    });

    it('changes only the custom image, which droplets ignore, when the Flatcar pin is bumped', () => {
      const after = render(spec, { image: { version: '9999.0.0', url: 'https://stable.release.flatcar-linux.net/amd64-usr/9999.0.0/flatcar_production_digitalocean_image.bin.bz2' } }).json;
      expect(diff(json, after)).toEqual({ added: [], removed: [], changed: { 'digitalocean_custom_image.flatcar': ['description', 'name', 'url'] } });
    });

    it('renders the same bytes for the same input', () => {
      const nodes = bootConfigs(spec);
      const a = new DigitalOceanProvider().renderTerraform({ spec, nodes }).content;
      const b = new DigitalOceanProvider().renderTerraform({ spec, nodes }).content;
      expect(b).toBe(a);
      expect(a).not.toContain(tmpdir());
      expect(a).not.toContain(process.cwd());
      expect(content.endsWith('}\n')).toBe(true);
    });
  });

  describe('refusals', () => {
    it('refuses a Hetzner config', () => {
      const hetzner = specOf((c) => (c.provider = { name: 'hetzner', region: 'fsn1' }));
      expect(() => new DigitalOceanProvider().renderTerraform({ spec: hetzner, nodes: bootConfigs(hetzner) })).toThrow(/provider\.name: got "hetzner", but DigitalOceanProvider renders DigitalOcean only/);
    });

    it('prices the example platform from the dated table: droplets, volumes, both balancers, Spaces, the transfer allowance', () => {
      const cost = new DigitalOceanProvider().monthlyCost(specOf());
      expect(cost).toMatchObject({ currency: 'USD', pricesAsOf: '2026-12-04', complete: true });
      expect(cost.lines.map((l) => [l.kind, l.item, l.monthly])).toEqual([
        ['controllers', '5 x s-4vcpu-8gb', 240],
        ['workers', '1 x s-4vcpu-8gb', 48],
        ['volumes', '6 volumes of 100 GiB (Ceph, raw)', 60],
        ['load balancers', '2 load balancers (API, ingress), 1 node each', 24],
        ['buckets', 'Spaces (backups and node secret parts)', 5],
        ['traffic', 'outbound transfer', 0],
      ]);
      expect(cost.total).toBe(377);
      expect(cost.lines.find((l) => l.kind === 'traffic')?.note).toBe("30 TB out included (pooled over the team's droplets); $0.01 per GiB beyond");
      const unknown = new DigitalOceanProvider().monthlyCost(specOf((c) => (c.nodes.workers = { count: 1, size: 'g-2vcpu-8gb' })));
      expect(unknown.complete).toBe(false);
      expect(unknown.lines.find((l) => l.kind === 'workers')).toMatchObject({ monthly: undefined, note: expect.stringMatching(/no price for g-2vcpu-8gb/) });
    });

    it('refuses a Hetzner server type as a droplet size, naming the field', () => {
      const hetznerSizes = specOf((c) => {
        c.nodes.controllers.size = 'cx33';
      });
      expect(() => new DigitalOceanProvider().checkSpec(hetznerSizes)).toThrow(/nodes\.controllers\.size: "cx33" is not a DigitalOcean droplet size slug; use one such as "s-4vcpu-8gb"/);
      expect(() => new DigitalOceanProvider().renderTerraform({ spec: hetznerSizes, nodes: bootConfigs(hetznerSizes) })).toThrow(/"cx33" is not a DigitalOcean droplet size slug/);
    });

    it('refuses boot configs that do not match the topology', () => {
      const nodes = bootConfigs(spec).slice(1);
      expect(() => new DigitalOceanProvider().renderTerraform({ spec, nodes })).toThrow(/pass one NodeBootConfig per topology node, in order/);
    });

    it('refuses a secret part key the pointer does not fetch', () => {
      const nodes = bootConfigs(spec).map((n, i) => (i === 0 ? { ...n, secretPartKey: 'other.ign' } : n));
      expect(() => new DigitalOceanProvider().renderTerraform({ spec, nodes })).toThrow(/keelson-controller-1 has secretPartKey "other.ign".*use "keelson-controller-1.ign"/);
    });

    it('refuses a VPC range that overlaps the pod or Service range, or is no CIDR', () => {
      expect(() => new DigitalOceanProvider({ vpcIpRange: '10.0.0.0/8' })).toThrow(/overlaps the pods range 10.244.0.0\/16/);
      expect(() => new DigitalOceanProvider({ vpcIpRange: '10.96.128.0/24' })).toThrow(/overlaps the services range 10.96.0.0\/16/);
      expect(() => new DigitalOceanProvider({ vpcIpRange: '10.10.0.0' })).toThrow(/is not an IPv4 CIDR/);
    });

    it('refuses ingress ports the nodes use among themselves, port 22, or one port for both', () => {
      expect(() => new DigitalOceanProvider({ ingressTargetPorts: { http: 10250, https: 443 } })).toThrow(/ingressTargetPorts.http is 10250; use a free TCP port/);
      expect(() => new DigitalOceanProvider({ ingressTargetPorts: { http: 80, https: 22 } })).toThrow(/ingressTargetPorts.https is 22/);
      expect(() => new DigitalOceanProvider({ ingressTargetPorts: { http: 6900, https: 443 } })).toThrow(/ingressTargetPorts.http is 6900/);
      expect(() => new DigitalOceanProvider({ ingressTargetPorts: { http: 443, https: 443 } })).toThrow(/both 443/);
    });

    it('refuses a DNS zone that does not contain the domain', () => {
      expect(() => new DigitalOceanProvider({ dns: { zone: 'example.org' } }).renderTerraform({ spec, nodes: bootConfigs(spec) })).toThrow(
        /dns.zone "example.org" does not contain the domain "example.com"/,
      );
    });

    it('refuses a backup retention under a day', () => {
      expect(() => new DigitalOceanProvider({ backupNoncurrentVersionDays: 0 })).toThrow(/backupNoncurrentVersionDays is 0/);
    });
  });

  describe('Terraform', () => {
    it('references only resources and data sources it renders', () => {
      const known = new Set(addresses(json).keys());
      // `$${` is an escaped literal, not a reference.
      const refs = [...content.matchAll(/(?<!\$)\$\{([^}]+)\}/g)].map((m) => m[1]);
      expect(refs.length).toBeGreaterThan(50);
      for (const ref of refs) {
        const parts = ref.split('.');
        const address = parts[0] === 'data' ? parts.slice(0, 3).join('.') : parts.slice(0, 2).join('.');
        expect(known.has(address) ? address : `unknown reference ${ref}`).toBe(address);
      }
      const dependsOn = findKeys(json, 'depends_on').flat() as string[];
      expect(dependsOn.length).toBeGreaterThan(0);
      for (const address of dependsOn) expect(known.has(address) ? address : `unknown depends_on ${address}`).toBe(address);
    });

  });
});

describe('nodeProviderFor', () => {
  it('picks the provider the config names, with its options', () => {
    const spec = specOf();
    const provider = nodeProviderFor(spec, { digitalocean: { ingressProxyProtocol: true } });
    expect(provider).toBeInstanceOf(DigitalOceanProvider);
    expect(provider.id).toBe('digitalocean');
    const json = JSON.parse(provider.renderTerraform({ spec, nodes: bootConfigs(spec) }).content) as Json;
    expect(json.resource.digitalocean_loadbalancer.ingress.enable_proxy_protocol).toBe(true);
    expect(nodeProviderFor(specOf((c) => (c.provider = { name: 'hetzner', region: 'fsn1' }))).id).toBe('hetzner');
  });
});
