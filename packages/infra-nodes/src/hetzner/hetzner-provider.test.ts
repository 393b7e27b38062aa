import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { scanForSecrets } from '@keelson/k8s-schemas';
import { exampleConfig, parsePlatformConfig, PlatformConfigError, type NodeBootConfig, type PlatformSpec } from '@keelson/platform-spec';
import { DigitalOceanProvider } from '../digitalocean';
import { presignS3Url } from '../presign';
import { findOpenApiLoadBalancers, findSecretsInUserData, findSshAccess, inboundRules, listResources, type TerraformJson } from '../security-assertions';
import { HetznerProvider } from './index';
import { LOAD_BALANCER_TYPES, PRIVATE_NETWORK } from './pins';

import { BOOTSTRAP_TOKEN, PRIVATE_KEY, hetznerSpec, fakeBoot, render, one } from './test-fixtures';

/** An IPv4 address as a number. */
const ipv4 = (address: string): number => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
/** The first and last address of a CIDR. */
function cidr(range: string): { first: number; last: number } {
  const [base, bits] = range.split('/');
  const size = 2 ** (32 - Number(bits));
  const first = ipv4(base) - (ipv4(base) % size);
  return { first, last: first + size - 1 };
}

type SchemaType = 'string' | 'int' | 'bool' | 'ip' | 'labels' | { readonly set: Readonly<Record<string, { readonly type: 'string'; readonly required?: true }>>; readonly minItems: number };
interface ResourceSchema {
  readonly attributes: Readonly<Record<string, { readonly type: SchemaType; readonly required?: true; readonly computedOnly?: true }>>;
  /** `ExactlyOneOf` config validators. */
  readonly exactlyOneOf?: readonly string[];
}

/**
 * The schemas of the hcloud resources that carry the API address, as the
 * provider declares them at v1.66.1 (terraform-plugin-framework): no
 * provider binary can be built or downloaded here (the Go module proxy
 * refuses the module), so the declarations are transcribed and checked the
 * way Terraform checks a configuration: unknown attributes, required ones,
 * literal types, the `ip` validator (`net.ParseIP`), the set's minimum size
 * and `ExactlyOneOf(network_id, subnet_id)`.
 * @see https://github.com/hetznercloud/terraform-provider-hcloud/blob/v1.66.1/internal/loadbalancer/resource_network.go
 * @see https://github.com/hetznercloud/terraform-provider-hcloud/blob/v1.66.1/internal/zonerrset/resource.go
 */
const HCLOUD_SCHEMAS: Readonly<Record<string, ResourceSchema>> = {
  hcloud_load_balancer_network: {
    attributes: {
      id: { type: 'string', computedOnly: true },
      load_balancer_id: { type: 'int', required: true },
      network_id: { type: 'int' },
      subnet_id: { type: 'string' },
      ip: { type: 'ip' },
      enable_public_interface: { type: 'bool' },
    },
    exactlyOneOf: ['network_id', 'subnet_id'],
  },
  hcloud_zone_rrset: {
    attributes: {
      id: { type: 'string', computedOnly: true },
      zone: { type: 'string', required: true },
      name: { type: 'string', required: true },
      type: { type: 'string', required: true },
      ttl: { type: 'int' },
      labels: { type: 'labels' },
      change_protection: { type: 'bool' },
      records: { type: { set: { value: { type: 'string', required: true }, comment: { type: 'string' } }, minItems: 1 }, required: true },
    },
  },
};
/** Terraform's meta-arguments, allowed on every resource. */
const META_ARGUMENTS = new Set(['provider', 'depends_on', 'lifecycle', 'count', 'for_each']);

/** What Terraform would refuse in the resources of {@link HCLOUD_SCHEMAS}, one line each. */
function schemaProblems(doc: TerraformJson): string[] {
  const problems: string[] = [];
  const reference = (v: unknown) => typeof v === 'string' && /^\$\{.*\}$/s.test(v);
  const typeProblem = (type: SchemaType, v: unknown): string | undefined => {
    if (reference(v)) return undefined;
    if (type === 'string') return typeof v === 'string' ? undefined : 'must be a string';
    if (type === 'int') return Number.isInteger(v) ? undefined : 'must be a whole number';
    if (type === 'bool') return typeof v === 'boolean' ? undefined : 'must be a bool';
    if (type === 'ip') return typeof v === 'string' && (isIP(v) !== 0) ? undefined : 'must be a valid ip';
    if (type === 'labels') return v !== null && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'string') ? undefined : 'must be a map of strings';
    if (!Array.isArray(v)) return 'must be a set of objects';
    if (v.length < type.minItems) return `needs at least ${type.minItems} element`;
    for (const item of v as Array<Record<string, unknown>>) {
      for (const [k, nested] of Object.entries(type.set)) if (nested.required && item[k] === undefined) return `element lacks ${k}`;
      const unknown = Object.keys(item).filter((k) => !(k in type.set));
      if (unknown.length > 0) return `element has unknown ${unknown.join(', ')}`;
    }
    return undefined;
  };
  for (const [type, schema] of Object.entries(HCLOUD_SCHEMAS)) {
    for (const block of listResources(doc, { type })) {
      const { attributes } = block;
      for (const [name, value] of Object.entries(attributes)) {
        if (META_ARGUMENTS.has(name)) continue;
        const declared = schema.attributes[name];
        if (!declared || declared.computedOnly) {
          problems.push(`${block.address}: ${name} is not an attribute of ${type} (hcloud 1.66.1)`);
          continue;
        }
        const wrong = typeProblem(declared.type, value);
        if (wrong) problems.push(`${block.address}: ${name} ${wrong}${wrong.startsWith('must') ? `, got ${JSON.stringify(value)}` : ''}`);
      }
      for (const [name, declared] of Object.entries(schema.attributes)) if (declared.required && attributes[name] === undefined) problems.push(`${block.address}: ${name} is required`);
      if (schema.exactlyOneOf && schema.exactlyOneOf.filter((a) => attributes[a] !== undefined).length !== 1) {
        problems.push(`${block.address}: exactly one of ${schema.exactlyOneOf.join(', ')} must be set`);
      }
    }
  }
  return problems.sort();
}

/** The `terraform.backend` block of a document. */
const backendOf = (doc: TerraformJson): unknown => (doc.terraform as { backend?: unknown } | undefined)?.backend;

/** Servers a Hetzner label selector (`k=v,k2=v2`) matches. */
const selectServers = (doc: TerraformJson, selector: string): string[] => {
  const wanted = selector.split(',').map((term) => term.split('='));
  return listResources(doc, { type: 'hcloud_server' })
    .filter((s) => wanted.every(([k, v]) => (s.attributes.labels as Record<string, string>)[k] === v))
    .map((s) => s.attributes.name as string);
};

/** What Terraform hands the provider for a JSON string without references. */
const untemplate = (s: string) => s.replace(/\$\$\{/g, () => '${').replace(/%%\{/g, () => '%{');

describe('HetznerProvider', () => {
  const spec = hetznerSpec();
  const { provider, boots, content, doc } = render(spec);
  const servers = listResources(doc, { type: 'hcloud_server' });

  describe('security promises (the same assertions as DigitalOcean)', () => {
    it('opens no way in over SSH: no ssh_keys, no SSH key resource, no rule reaching port 22', () => {
      expect(findSshAccess(doc)).toEqual([]);
      expect(content).not.toContain('ssh_keys');
    });

    it('keeps every key, token and credential out of user-data', () => {
      expect(findSecretsInUserData(doc, { tokens: [BOOTSTRAP_TOKEN, Buffer.from(PRIVATE_KEY).toString('base64')] })).toEqual([]);
      for (const server of servers) expect(scanForSecrets(untemplate(server.attributes.user_data as string), server.address)).toEqual([]);
    });

    it('holds no credential outside the secret-part objects (tokens come from the environment)', () => {
      const withoutSecretParts = { ...doc, resource: { ...doc.resource, minio_s3_object: {} } };
      expect(scanForSecrets(JSON.stringify(withoutSecretParts, null, 2), 'main.tf.json')).toEqual([]);
      expect(doc.provider).toEqual({
        hcloud: [{}],
        minio: [{ minio_server: 'fsn1.your-objectstorage.com', minio_region: 'fsn1', minio_ssl: true, skip_bucket_tagging: true }],
      });
    });

    it('allows in only the admin CIDRs on 6443 and the private network on the node-to-node ports', () => {
      const privateNetwork = ['10.10.0.0/16'];
      const allowed = (resource: string, rules: Array<[string, string]>) => rules.map(([protocol, ports]) => ({ resource, protocol, ports, sources: privateNetwork }));
      expect(inboundRules(doc)).toEqual([
        { resource: 'hcloud_firewall.controllers', protocol: 'tcp', ports: '6443', sources: ['203.0.113.0/24'] },
        ...allowed('hcloud_firewall.controllers', [
          ['tcp', '6443'],
          ['tcp', '2379-2380'],
        ]),
        ...allowed('hcloud_firewall.nodes', [
          ['tcp', '80'],
          ['tcp', '443'],
          ['tcp', '10250'],
          ['udp', '51871'],
          ['udp', '8472'],
          ['tcp', '4240'],
          ['tcp', '4244'],
          ['icmp', 'all'],
          ['tcp', '3300'],
          ['tcp', '6789'],
          ['tcp', '6800-7300'],
        ]),
      ]);
    });

    it('opens the same ports as the DigitalOcean firewalls', () => {
      const onDigitalOcean = parsePlatformConfig({ ...exampleConfig(), nodes: { controllers: { count: 5 }, workers: { count: 1 } } });
      const digitalocean = new DigitalOceanProvider();
      const doBoots = onDigitalOcean.topology.nodes.map((node) => ({ ...fakeBoot(provider, spec, node), userData: digitalocean.secretPartUrl(onDigitalOcean, node) }));
      const doDoc = JSON.parse(digitalocean.renderTerraform({ spec: onDigitalOcean, nodes: doBoots }).content) as TerraformJson;
      const ports = (d: TerraformJson) => [...new Set(inboundRules(d).map((r) => `${r.protocol} ${r.ports}`))].sort();
      expect(ports(doc)).toEqual(ports(doDoc));
      // Neither cloud's API load balancer answers the internet.
      expect(findOpenApiLoadBalancers(doDoc)).toEqual([]);
    });

    it('gives the API load balancer no public interface (Hetzner load balancers have no source filter)', () => {
      expect(findOpenApiLoadBalancers(doc)).toEqual([]);
      expect(one(doc, 'hcloud_load_balancer_network.api').attributes).toMatchObject({ load_balancer_id: '${hcloud_load_balancer.api.id}', enable_public_interface: false });
      // The ingress load balancer stays public; it serves 80 and 443 only.
      expect(one(doc, 'hcloud_load_balancer_network.ingress').attributes).toMatchObject({ enable_public_interface: true });
      // Admins reach 6443 on the controllers' public addresses, from the admin CIDRs only.
      const publicApi = inboundRules(doc).filter((r) => r.ports === '6443' && !r.sources.includes('10.10.0.0/16'));
      expect(publicApi).toEqual([{ resource: 'hcloud_firewall.controllers', protocol: 'tcp', ports: '6443', sources: ['203.0.113.0/24'] }]);
    });

    it('applies the node firewall to every node and the controller firewall to controllers, by label, outbound left open', () => {
      expect(one(doc, 'hcloud_firewall.nodes').attributes.apply_to).toEqual([{ label_selector: 'keelson.dev/cluster=keelson' }]);
      expect(one(doc, 'hcloud_firewall.controllers').attributes.apply_to).toEqual([{ label_selector: 'keelson.dev/cluster=keelson,keelson.dev/role=controller' }]);
      expect(selectServers(doc, 'keelson.dev/cluster=keelson')).toEqual(spec.topology.nodes.map((n) => n.name));
      expect(selectServers(doc, 'keelson.dev/cluster=keelson,keelson.dev/role=controller')).toEqual(spec.topology.controllers.map((n) => n.name));
      for (const firewall of listResources(doc, { type: 'hcloud_firewall' })) {
        expect((firewall.attributes.rule as Array<{ direction: string }>).filter((r) => r.direction !== 'in')).toEqual([]);
      }
    });

    it('keeps secret parts in a private bucket that forgets them after a day, uploaded before their server boots', () => {
      expect(one(doc, 'minio_s3_bucket.ignition').attributes).toMatchObject({ bucket: 'keelson-8bef49a9-ignition', acl: 'private' });
      expect(listResources(doc, { type: 'minio_s3_bucket_policy' })).toEqual([]);
      expect(one(doc, 'minio_ilm_policy.ignition').attributes).toEqual({
        bucket: '${minio_s3_bucket.ignition.bucket}',
        provider: 'minio',
        rule: [{ id: 'expire-secret-parts', expiration: '1d' }],
      });
      boots.forEach((boot) => {
        const object = one(doc, `minio_s3_object.${boot.name}`).attributes;
        expect(object).toMatchObject({ bucket_name: '${minio_s3_bucket.ignition.bucket}', object_name: `${boot.name}.ign` });
        expect(object).not.toHaveProperty('acl');
        expect(untemplate(object.content as string)).toBe(boot.secretPart);
        const controller = boot.name.includes('controller');
        expect(one(doc, `hcloud_server.${boot.name}`).attributes.depends_on).toEqual([
          'hcloud_firewall.nodes',
          ...(controller ? ['hcloud_firewall.controllers'] : []),
          `minio_s3_object.${boot.name}`,
          'hcloud_load_balancer_network.api',
        ]);
      });
    });

    it('keeps backups in a private, versioned bucket that expires replaced versions after 30 days and survives destroy', () => {
      expect(one(doc, 'minio_s3_bucket.backups').attributes).toEqual({ bucket: 'keelson-8bef49a9-backups', acl: 'private', force_destroy: false, provider: 'minio' });
      expect(one(doc, 'minio_s3_bucket_versioning.backups').attributes).toEqual({
        bucket: '${minio_s3_bucket.backups.bucket}',
        provider: 'minio',
        versioning_configuration: [{ status: 'Enabled' }],
      });
      expect(one(doc, 'minio_ilm_policy.backups').attributes).toEqual({
        bucket: '${minio_s3_bucket.backups.bucket}',
        provider: 'minio',
        depends_on: ['minio_s3_bucket_versioning.backups'],
        rule: [{ id: 'expire-noncurrent-versions', noncurrent_expiration: [{ days: '30d' }] }],
      });
      // Noncurrent versions only: the current backup never expires.
      expect(one(doc, 'minio_ilm_policy.backups').attributes.rule).not.toContainEqual(expect.objectContaining({ expiration: expect.anything() }));
    });

    it('accepts pointers that fetch the secret part through a presigned, expiring link', () => {
      const presigned = spec.topology.nodes.map((node) =>
        fakeBoot(
          provider,
          spec,
          node,
          presignS3Url({ url: provider.secretPartUrl(spec, node), accessKeyId: 'EXAMPLEKEYID', secretAccessKey: 'example-not-a-secret', region: 'fsn1', expiresSeconds: 3600, now: new Date(0) }),
        ),
      );
      const json = JSON.parse(provider.renderTerraform({ spec, nodes: presigned }).content) as TerraformJson;
      const userData = untemplate(one(json, 'hcloud_server.keelson-worker-1').attributes.user_data as string);
      expect(userData).toContain('https://keelson-8bef49a9-ignition.fsn1.your-objectstorage.com/keelson-worker-1.ign?X-Amz-Algorithm=AWS4-HMAC-SHA256');
      expect(userData).toContain('X-Amz-Expires=3600');
    });

    describe('secret parts read from files', () => {
      const withFiles = render(spec, {}, (boot) => ({ ...boot, secretPartFile: `ignition/${boot.name}.secret.ign` }));

      it('reads each secret part through sensitive(file(...)), so main.tf.json holds no key material', () => {
        for (const boot of withFiles.boots) {
          expect(one(withFiles.doc, `minio_s3_object.${boot.name}`).attributes.content).toBe(`\${sensitive(file("\${path.module}/ignition/${boot.name}.secret.ign"))}`);
        }
        expect(scanForSecrets(withFiles.content, 'main.tf.json')).toEqual([]);
        for (const secret of [BOOTSTRAP_TOKEN, Buffer.from(PRIVATE_KEY).toString('base64'), withFiles.boots[0].secretPart]) expect(withFiles.content).not.toContain(secret);
        // Everything else is the same document.
        const withoutObjects = (d: TerraformJson) => ({ ...d, resource: { ...d.resource, minio_s3_object: {} } });
        expect(withoutObjects(withFiles.doc)).toEqual(withoutObjects(doc));
      });

      it('keeps the escaped literal when no file is given (the default)', () => {
        for (const boot of boots) expect(one(doc, `minio_s3_object.${boot.name}`).attributes.content).toBe(boot.secretPart.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{'));
        expect(content).toContain(BOOTSTRAP_TOKEN);
      });

      it('refuses a secret-part path that is absolute or that Terraform would read as syntax', () => {
        for (const bad of ['/abs/node.ign', 'ignition/${x}.ign', 'ignition/"x".ign', 'ignition\\x.ign', 'ignition//x.ign', '']) {
          expect(() => render(spec, {}, (b) => ({ ...b, secretPartFile: bad }))).toThrow(/secretPartFile of "keelson-controller-1" is .*; give a path relative to the Terraform file/);
        }
        expect(() => render(spec, {}, (b) => ({ ...b, secretPartFile: `../ignition-out/${b.name}.ign` }))).toThrow(/secretPartFile/);
      });
    });
  });

  describe('nodes', () => {
    it('creates one server per node from the Flatcar snapshot, with its size, location, role labels and pointer', () => {
      expect(servers.map((s) => s.name)).toEqual(spec.topology.nodes.map((n) => n.name).sort());
      expect(one(doc, 'data.hcloud_image.flatcar').attributes).toMatchObject({ with_selector: 'os=flatcar,flatcar-channel=stable', with_architecture: 'x86', most_recent: true });
      spec.topology.nodes.forEach((node, i) => {
        const server = one(doc, `hcloud_server.${node.name}`).attributes;
        expect(server).toMatchObject({
          name: node.name,
          server_type: 'cx33',
          location: 'fsn1',
          image: '${data.hcloud_image.flatcar.id}',
          labels: { 'keelson.dev/cluster': 'keelson', 'keelson.dev/role': node.role, 'keelson.dev/node': node.name },
          network: [{ subnet_id: '${hcloud_network_subnet.nodes.id}', ...(node.role === 'controller' ? { ip: `10.10.15.${240 + node.index}` } : {}), alias_ips: [] }],
          public_net: [{ ipv4_enabled: true, ipv6_enabled: false }],
        });
        expect(untemplate(server.user_data as string)).toBe(boots[i].userData);
      });
    });

    it('never replaces or resizes a running server for new user-data, a newer snapshot or another server type', () => {
      for (const server of servers) expect(server.attributes.lifecycle).toEqual({ ignore_changes: ['user_data', 'image', 'server_type'] });
      expect(provider.serverAddress(spec.topology.nodes[0])).toBe('hcloud_server.keelson-controller-1');
    });

    it('attaches exactly one raw volume of the configured size to every server', () => {
      const volumes = listResources(doc, { type: 'hcloud_volume' });
      expect(volumes.map((v) => v.attributes.server_id).sort()).toEqual(servers.map((s) => `\${hcloud_server.${s.name}.id}`).sort());
      for (const volume of volumes) {
        expect(volume.attributes).toMatchObject({ size: 100, automount: false });
        expect(volume.attributes).not.toHaveProperty('format');
      }
    });

    it('puts the nodes on a private network clear of the pod and service ranges', () => {
      expect(one(doc, 'hcloud_network.network').attributes).toMatchObject({ name: 'keelson', ip_range: '10.10.0.0/16' });
      expect(one(doc, 'hcloud_network_subnet.nodes').attributes).toMatchObject({ type: 'cloud', network_zone: 'eu-central', ip_range: '10.10.0.0/20' });
    });

    describe('spread placement groups', () => {
      /** Servers of each placement group, in topology order, keyed by the group's address. */
      const groupsOf = (d: TerraformJson, s: PlatformSpec): Map<string, string[]> => {
        const members = new Map<string, string[]>();
        for (const node of s.topology.nodes) {
          const group = (one(d, `hcloud_server.${node.name}`).attributes.placement_group_id as string).replace(/^\$\{(.*)\.id\}$/, '$1');
          members.set(group, [...(members.get(group) ?? []), node.name]);
        }
        for (const group of listResources(d, { type: 'hcloud_placement_group' })) expect(group.attributes.type).toBe('spread');
        expect(listResources(d, { type: 'hcloud_placement_group' }).map((g) => g.address).sort()).toEqual([...members.keys()].sort());
        return members;
      };

      it('puts a cluster of up to 10 nodes, controllers and workers alike, in one group: one node per host', () => {
        // N = 4, k = 1: per-role groups would let a controller and a worker share a host.
        const small = hetznerSpec(1, { nodes: { controllers: { count: 3, size: 'cx33' }, workers: { count: 1, size: 'cx33' } } });
        expect(small.budget.k).toBe(1);
        expect([...groupsOf(render(small).doc, small)]).toEqual([['hcloud_placement_group.spread-1', small.topology.nodes.map((n) => n.name)]]);
        expect([...groupsOf(doc, spec)]).toEqual([['hcloud_placement_group.spread-1', spec.topology.nodes.map((n) => n.name)]]);
        expect(one(doc, 'hcloud_placement_group.spread-1').attributes).toMatchObject({ name: 'keelson-spread-1', type: 'spread' });
      });

      it('beyond 10 nodes, fills ceil(N/10) groups of at most 10 in topology order, all controllers in the first', () => {
        const big = hetznerSpec(25, { faultModel: { type: 'failure-domains', domains: 3 } });
        const groups = groupsOf(render(big).doc, big);
        const names = big.topology.nodes.map((n) => n.name);
        expect([...groups]).toEqual([
          ['hcloud_placement_group.spread-1', names.slice(0, 10)],
          ['hcloud_placement_group.spread-2', names.slice(10, 20)],
          ['hcloud_placement_group.spread-3', names.slice(20)],
        ]);
        expect(groups.get('hcloud_placement_group.spread-1')).toEqual(expect.arrayContaining(big.topology.controllers.map((n) => n.name)));
      });

      // A spread group puts each member on its own host; servers of different
      // groups may share one. So a host holds at most one node per group.
      it.each([
        ...[3, 4, 5].map((n) => ({ model: 'any-third', controllers: 3, workers: n - 3, domains: 0 })),
        ...[6, 7, 8].map((n) => ({ model: 'any-third', controllers: 5, workers: n - 5, domains: 0 })),
        ...[9, 10, 11].map((n) => ({ model: 'any-third', controllers: 7, workers: n - 7, domains: 0 })),
        ...[3, 5, 10].flatMap((domains) => [10, 11, 21, 35].map((n) => ({ model: 'failure-domains', controllers: 5, workers: n - 5, domains }))),
      ])('keeps the nodes one host can hold within the fault budget k ($model, $controllers + $workers nodes, $domains domains)', ({ model, controllers, workers, domains }) => {
        const s = hetznerSpec(workers, {
          nodes: { controllers: { count: controllers, size: 'cx33' }, workers: { count: workers, size: 'cx33' } },
          faultModel: model === 'any-third' ? { type: 'any-third' } : { type: 'failure-domains', domains },
        });
        const groups = [...groupsOf(render(s).doc, s).values()];
        const n = s.topology.nodes.length;
        for (const members of groups) expect(members.length).toBeLessThanOrEqual(10);
        const perHost = groups.length;
        // 1 for N <= 10, 2 for N <= 20, ...
        expect(perHost).toBe(Math.ceil(n / 10));
        expect(perHost).toBeLessThanOrEqual(s.budget.k);
        // No two etcd members on one host.
        expect(groups[0]).toEqual(expect.arrayContaining(s.topology.controllers.map((c) => c.name)));
      });

      it('never moves a running server to another group when workers are added', () => {
        const before = hetznerSpec(5, { faultModel: { type: 'failure-domains', domains: 3 } }); // 10 nodes, one group
        const after = hetznerSpec(6, { faultModel: { type: 'failure-domains', domains: 3 } }); // 11 nodes, two groups
        const groupOf = (s: PlatformSpec) => {
          const d = render(s).doc;
          return new Map(s.topology.nodes.map((node) => [node.name, one(d, `hcloud_server.${node.name}`).attributes.placement_group_id]));
        };
        const was = groupOf(before);
        const now = groupOf(after);
        for (const [name, group] of was) expect(now.get(name)).toBe(group);
        expect(now.get('keelson-worker-6')).toBe('${hcloud_placement_group.spread-2.id}');
      });
    });
  });

  describe('load balancers and DNS', () => {
    it('sends the API to every controller, and only controllers, over the private network, health-checking /readyz on 6443', () => {
      const target = one(doc, 'hcloud_load_balancer_target.api');
      expect(target.attributes).toMatchObject({ type: 'label_selector', load_balancer_id: '${hcloud_load_balancer.api.id}', use_private_ip: true });
      expect(target.attributes.depends_on).toEqual(['hcloud_load_balancer_network.api']);
      expect(selectServers(doc, target.attributes.label_selector as string)).toEqual(spec.topology.controllers.map((n) => n.name));
      expect(one(doc, 'hcloud_load_balancer_network.api').attributes).toMatchObject({ subnet_id: '${hcloud_network_subnet.nodes.id}', enable_public_interface: false, ip: '10.10.15.254' });
      expect(one(doc, 'hcloud_load_balancer_service.api').attributes).toMatchObject({
        load_balancer_id: '${hcloud_load_balancer.api.id}',
        protocol: 'tcp',
        listen_port: 6443,
        destination_port: 6443,
        health_check: [{ protocol: 'http', port: 6443, http: [{ path: '/readyz', tls: true, status_codes: ['200'] }] }],
      });
    });

    it('passes 80 and 443 from the ingress load balancer to every node, on the configured ports, PROXY protocol only when asked', () => {
      const target = one(doc, 'hcloud_load_balancer_target.ingress').attributes;
      expect(selectServers(doc, target.label_selector as string)).toEqual(spec.topology.nodes.map((n) => n.name));
      expect(one(doc, 'hcloud_load_balancer_service.ingress-http').attributes).toMatchObject({ protocol: 'tcp', listen_port: 80, destination_port: 80, proxyprotocol: false });
      expect(one(doc, 'hcloud_load_balancer_service.ingress-https').attributes).toMatchObject({ protocol: 'tcp', listen_port: 443, destination_port: 443, proxyprotocol: false });
      const nodePorts = render(spec, { ingressTargetPorts: { http: 30080, https: 30443 }, ingressProxyProtocol: true }).doc;
      expect(one(nodePorts, 'hcloud_load_balancer_service.ingress-https').attributes).toMatchObject({ listen_port: 443, destination_port: 30443, proxyprotocol: true });
      expect(inboundRules(nodePorts).filter((r) => r.resource === 'hcloud_firewall.nodes').map((r) => r.ports).slice(0, 2)).toEqual(['30080', '30443']);
    });

    it('sizes load balancers to the servers they target', () => {
      expect(one(doc, 'hcloud_load_balancer.ingress').attributes.load_balancer_type).toBe('lb11');
      const big = render(hetznerSpec(25, { faultModel: { type: 'failure-domains', domains: 3 } })).doc;
      expect(one(big, 'hcloud_load_balancer.ingress').attributes.load_balancer_type).toBe('lb21');
      expect(one(big, 'hcloud_load_balancer.api').attributes.load_balancer_type).toBe('lb11');
    });

    it("points api.<domain> at every controller's public address, one record each, and *.<domain> at the ingress load balancer in the existing zone", () => {
      expect(one(doc, 'data.hcloud_zone.zone').attributes).toEqual({ name: 'example.com', provider: 'hcloud' });
      expect(listResources(doc, { type: 'hcloud_zone' })).toEqual([]);
      expect(one(doc, 'hcloud_zone_rrset.api').attributes).toMatchObject({
        zone: '${data.hcloud_zone.zone.name}',
        name: 'api',
        type: 'A',
        records: spec.topology.controllers.map((n) => ({ value: `\${hcloud_server.${n.name}.ipv4_address}` })),
      });
      // Never a worker's address, and never the private load balancer's.
      expect(JSON.stringify(one(doc, 'hcloud_zone_rrset.api').attributes)).not.toMatch(/worker|load_balancer/);
      expect(one(doc, 'hcloud_zone_rrset.ingress').attributes).toMatchObject({ name: '*', type: 'A', records: [{ value: '${hcloud_load_balancer.ingress.ipv4}' }] });
    });

    it('creates the zone when asked, and names records relative to a parent zone', () => {
      const sub = hetznerSpec(1, { domain: 'cloud.example.com' });
      const created = render(sub, { dns: { zone: 'example.com', createZone: true } }).doc;
      expect(one(created, 'hcloud_zone.zone').attributes).toMatchObject({ name: 'example.com', mode: 'primary' });
      expect(one(created, 'hcloud_zone_rrset.api').attributes).toMatchObject({ zone: '${hcloud_zone.zone.name}', name: 'api.cloud' });
      expect(one(created, 'hcloud_zone_rrset.ingress').attributes).toMatchObject({ name: '*.cloud' });
      expect(() => render(sub, { dns: { zone: 'example.org' } })).toThrow(/dns\.zone "example\.org" does not contain the domain "cloud\.example\.com"/);
    });

    it('outputs the API endpoint, load balancer and bucket addresses, and node addresses as sensitive', () => {
      expect(doc.output).toEqual({
        api_endpoint: {
          description: "Kubernetes API endpoint: from outside, the controllers' public addresses (6443 open to adminCidrs only); nodes map the name to the private API load balancer",
          value: 'api.example.com:6443',
        },
        api_public_addresses: {
          description: 'Public IPv4 of every controller: what api.<domain> resolves to in public DNS, reachable on 6443 from adminCidrs only',
          value: spec.topology.controllers.map((n) => `\${hcloud_server.${n.name}.ipv4_address}`),
        },
        api_load_balancer_ip: { description: "Private IPv4 of the API load balancer (no public interface): api.<domain> in every node's /etc/hosts", value: '${hcloud_load_balancer_network.api.ip}' },
        ingress_load_balancer_ip: { description: 'Public IPv4 of the ingress load balancer', value: '${hcloud_load_balancer.ingress.ipv4}' },
        backups_bucket: expect.objectContaining({ value: 'keelson-8bef49a9-backups' }),
        backups_bucket_endpoint: expect.objectContaining({ value: 'https://fsn1.your-objectstorage.com' }),
        ignition_bucket: expect.objectContaining({ value: 'keelson-8bef49a9-ignition' }),
        ignition_bucket_endpoint: expect.objectContaining({ value: 'https://fsn1.your-objectstorage.com' }),
        node_addresses: expect.objectContaining({ sensitive: true }),
      });
      expect((doc.output as Record<string, { value: Record<string, unknown> }>).node_addresses.value['keelson-worker-1']).toEqual({
        public: '${hcloud_server.keelson-worker-1.ipv4_address}',
        private: '${one(hcloud_server.keelson-worker-1.network[*].ip)}',
      });
    });
  });

  describe("the controllers' fixed private addresses (controllerPrivateAddresses)", () => {
    const subnet = cidr(PRIVATE_NETWORK.subnet);
    const addresses = provider.controllerPrivateAddresses(spec);
    const networkIp = (name: string) => (one(doc, `hcloud_server.${name}`).attributes.network as Array<Record<string, unknown>>)[0].ip;

    it("are what each controller's server requests in its network block, in topology order, and no worker requests one", () => {
      expect(addresses).toEqual(['10.10.15.241', '10.10.15.242', '10.10.15.243', '10.10.15.244', '10.10.15.245']);
      expect(spec.topology.controllers.map((c) => networkIp(c.name))).toEqual(addresses);
      for (const worker of spec.topology.workers) expect(networkIp(worker.name)).toBeUndefined();
    });

    it('are unique, inside the node subnet, clear of the API load balancer, the addresses Hetzner reserves and every automatic address', () => {
      const most = hetznerSpec(1, { nodes: { controllers: { count: 7, size: 'cx33' }, workers: { count: 1, size: 'cx33' } } });
      const seven = provider.controllerPrivateAddresses(most);
      expect(seven).toHaveLength(7);
      expect((one(render(most).doc, 'hcloud_server.keelson-controller-7').attributes.network as Array<Record<string, unknown>>)[0].ip).toBe(seven[6]);
      expect(new Set(seven).size).toBe(7);
      const automatic = Math.max(...LOAD_BALANCER_TYPES.map((t) => t.maxTargets)) + 1;
      for (const address of seven) {
        expect(isIP(address)).toBe(4);
        const ip = ipv4(address);
        expect(ip >= subnet.first && ip <= subnet.last).toBe(true);
        expect([subnet.first, subnet.first + 1, cidr(PRIVATE_NETWORK.ipRange).first + 1, subnet.last, ipv4(PRIVATE_NETWORK.apiLoadBalancerIp)]).not.toContain(ip);
        expect(address).not.toBe('172.31.1.1');
        expect(subnet.first + 1 + automatic).toBeLessThan(ip);
      }
    });

    it('are refused for a platform on another provider, and DigitalOcean pins none (a droplet cannot choose its VPC address)', () => {
      const onDo = parsePlatformConfig(exampleConfig());
      expect(() => provider.controllerPrivateAddresses(onDo)).toThrow(/provider\.name: got "digitalocean", but HetznerProvider renders Hetzner Cloud only/);
      expect(new DigitalOceanProvider().controllerPrivateAddresses(onDo)).toBeUndefined();
    });
  });

  describe('the API address nodes use (apiPrivateAddress)', () => {
    const subnet = cidr(PRIVATE_NETWORK.subnet);
    const address = provider.apiPrivateAddress(spec);

    it("is the API load balancer's fixed private address, which the attachment requests", () => {
      expect(address).toBe('10.10.15.254');
      expect(one(doc, 'hcloud_load_balancer_network.api').attributes.ip).toBe(address);
      // The ingress load balancer takes an automatic address, like the servers.
      expect(one(doc, 'hcloud_load_balancer_network.ingress').attributes).not.toHaveProperty('ip');
      for (const server of servers.filter((s) => (s.attributes.labels as Record<string, string>)['keelson.dev/role'] === 'worker')) {
        expect((server.attributes.network as Array<Record<string, unknown>>)[0]).not.toHaveProperty('ip');
      }
    });

    it('lies inside the node subnet, clear of the addresses Hetzner reserves and of every automatic address', () => {
      const ip = ipv4(address!);
      expect(ip >= subnet.first && ip <= subnet.last).toBe(true);
      // Not the network or subnet address, the gateway (the first address of the network), or the broadcast address.
      expect([subnet.first, subnet.first + 1, cidr(PRIVATE_NETWORK.ipRange).first + 1, subnet.last]).not.toContain(ip);
      expect(address).not.toBe('172.31.1.1');
      // Automatic addresses start above the gateway: the most servers one rendering may have
      // (the largest load balancer's targets) plus the ingress load balancer stay below it.
      const automatic = Math.max(...LOAD_BALANCER_TYPES.map((t) => t.maxTargets)) + 1;
      expect(subnet.first + 1 + automatic).toBeLessThan(ip);
    });

    it('is claimed before any server is created, so no automatic address can take it', () => {
      for (const server of servers) expect(server.attributes.depends_on).toContain('hcloud_load_balancer_network.api');
    });

    it('is refused for a platform on another provider, and DigitalOcean has none (its API load balancer is public, with its own firewall)', () => {
      const onDo = parsePlatformConfig(exampleConfig());
      expect(() => provider.apiPrivateAddress(onDo)).toThrow(/provider\.name: got "digitalocean", but HetznerProvider renders Hetzner Cloud only/);
      expect(new DigitalOceanProvider().apiPrivateAddress(onDo)).toBeUndefined();
    });
  });

  describe('the Terraform JSON against the hcloud 1.66.1 schema of the resources the API address uses', () => {
    it('gives hcloud_load_balancer_network and hcloud_zone_rrset only attributes of their schema, with every required one, of the right type', () => {
      expect(schemaProblems(doc)).toEqual([]);
    });

    it('refuses a render that breaks the schema: an unknown attribute, a missing required one, an empty record set, a wrong type', () => {
      const broken = structuredClone(doc) as { resource: Record<string, Record<string, Record<string, unknown>>> };
      broken.resource.hcloud_load_balancer_network.api.private_ip = '10.10.15.254';
      delete broken.resource.hcloud_zone_rrset.api.type;
      broken.resource.hcloud_zone_rrset.ingress.records = [];
      broken.resource.hcloud_load_balancer_network.ingress.enable_public_interface = 'yes';
      broken.resource.hcloud_load_balancer_network.ingress.network_id = 1;
      expect(schemaProblems(broken as TerraformJson)).toEqual([
        'hcloud_load_balancer_network.api: private_ip is not an attribute of hcloud_load_balancer_network (hcloud 1.66.1)',
        'hcloud_load_balancer_network.ingress: enable_public_interface must be a bool, got "yes"',
        'hcloud_load_balancer_network.ingress: exactly one of network_id, subnet_id must be set',
        'hcloud_zone_rrset.api: type is required',
        'hcloud_zone_rrset.ingress: records needs at least 1 element',
      ]);
    });
  });

  describe('rendering', () => {
    it('changes only the new workers, their volumes, secret parts and addresses when two workers are added', () => {
      const scaled = render(hetznerSpec(3)).doc;
      const byAddress = (d: TerraformJson) => new Map(listResources(d, { data: true }).map((b) => [b.address, JSON.stringify(b.attributes)]));
      const before = byAddress(doc);
      const after = byAddress(scaled);
      const added = [...after.keys()].filter((a) => !before.has(a)).sort();
      const removed = [...before.keys()].filter((a) => !after.has(a));
      const changed = [...before.keys()].filter((a) => after.has(a) && after.get(a) !== before.get(a));
      expect(added).toEqual(
        ['hcloud_server', 'hcloud_volume', 'minio_s3_object'].flatMap((type) => [`${type}.keelson-worker-2`, `${type}.keelson-worker-3`]).sort(),
      );
      expect(removed).toEqual([]);
      // Firewall and load-balancer membership follows the new servers' labels: no existing resource changes.
      expect(changed).toEqual([]);
      const outputs = (d: TerraformJson) => d.output as Record<string, { value: Record<string, unknown> }>;
      expect(Object.keys(outputs(scaled).node_addresses.value).filter((n) => !(n in outputs(doc).node_addresses.value))).toEqual(['keelson-worker-2', 'keelson-worker-3']);
      expect({ ...outputs(scaled), node_addresses: undefined }).toEqual({ ...outputs(doc), node_addresses: undefined });
      expect(scaled.provider).toEqual(doc.provider);
      expect(scaled.terraform).toEqual(doc.terraform);
    });

    it('renders byte-identical JSON for the same input, with no path or time in it', () => {
      expect(render(spec).content).toBe(content);
      expect(content).not.toContain(tmpdir());
      expect(content).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
      expect(content.endsWith('}\n')).toBe(true);
    });

    it('requires the Terraform that has the S3 backend arguments it renders (skip_s3_checksum: 1.6.3)', () => {
      expect((doc.terraform as { required_version?: string }).required_version).toBe('>= 1.6.3');
    });

    it('keeps state next to the configuration by default', () => {
      expect(backendOf(doc)).toEqual({ local: { path: 'terraform.tfstate' } });
    });

    it('keeps state in a Hetzner Object Storage bucket when asked, without AWS-only checks', () => {
      const s3 = {
        key: 'keelson/terraform.tfstate',
        skip_credentials_validation: true,
        skip_metadata_api_check: true,
        skip_region_validation: true,
        skip_requesting_account_id: true,
        skip_s3_checksum: true,
      };
      expect(backendOf(render(spec, { backend: { type: 's3', bucket: 'keelson-state' } }).doc)).toEqual({
        s3: { ...s3, bucket: 'keelson-state', region: 'fsn1', endpoints: { s3: 'https://fsn1.your-objectstorage.com' } },
      });
      expect(backendOf(render(spec, { backend: { type: 's3', bucket: 'keelson-state', key: 'prod/state', region: 'hel1' } }).doc)).toEqual({
        s3: { ...s3, bucket: 'keelson-state', key: 'prod/state', region: 'hel1', endpoints: { s3: 'https://hel1.your-objectstorage.com' } },
      });
      // A cluster in a location without Object Storage keeps its state where its buckets are.
      const ash = hetznerSpec(1, { provider: { name: 'hetzner', region: 'ash' } });
      expect(backendOf(render(ash, { backend: { type: 's3', bucket: 'keelson-state' } }).doc)).toMatchObject({ s3: { region: 'fsn1', endpoints: { s3: 'https://fsn1.your-objectstorage.com' } } });
    });

    it('refuses an S3 backend in a location without Object Storage, or in a bucket this configuration creates', () => {
      expect(() => new HetznerProvider({ backend: { type: 's3', bucket: 'keelson-state', region: 'ash' } })).toThrow(/backend\.region is "ash"; Object Storage exists in fsn1, nbg1, hel1 only/);
      expect(() => new HetznerProvider({ backend: { type: 's3', bucket: '' } })).toThrow(/backend\.bucket is empty/);
      expect(() => render(spec, { backend: { type: 's3', bucket: 'keelson-8bef49a9-backups' } })).toThrow(/backend\.bucket "keelson-8bef49a9-backups" is a bucket this configuration creates/);
      expect(() => render(spec, { backend: { type: 's3', bucket: 'keelson-8bef49a9-ignition' } })).toThrow(/is a bucket this configuration creates/);
    });

    it('boots from another snapshot when given a selector', () => {
      const custom = render(spec, { imageSelector: 'os=flatcar,flatcar-version=4459.2.1' }).doc;
      expect(one(custom, 'data.hcloud_image.flatcar').attributes.with_selector).toBe('os=flatcar,flatcar-version=4459.2.1');
    });
  });

  describe('secretPartUrl', () => {
    it("names the node's object in the cluster's bucket in the location's Object Storage", () => {
      expect(provider.secretPartUrl(spec, spec.topology.nodes[0])).toBe('https://keelson-8bef49a9-ignition.fsn1.your-objectstorage.com/keelson-controller-1.ign');
    });

    const credentials = { accessKeyId: 'EXAMPLEKEYID', secretAccessKey: 'example-not-a-secret' };
    const now = new Date('2026-01-02T03:04:05Z');

    it('signs the link with presignS3Url when given credentials: the location as region, valid for seven days from now', () => {
      const node = spec.topology.nodes[0];
      const bare = provider.secretPartUrl(spec, node);
      const signed = provider.secretPartUrl(spec, node, { credentials, now });
      expect(signed).toBe(presignS3Url({ url: bare, ...credentials, region: 'fsn1', expiresSeconds: 7 * 24 * 3600, now }));
      expect(signed.startsWith(`${bare}?`)).toBe(true);
      const query = new URL(signed).searchParams;
      expect(query.get('X-Amz-Credential')).toBe('EXAMPLEKEYID/20260102/fsn1/s3/aws4_request');
      expect(query.get('X-Amz-Date')).toBe('20260102T030405Z');
      expect(query.get('X-Amz-Expires')).toBe('604800');
      expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(signed).not.toContain(credentials.secretAccessKey);
    });

    it('signs the same link for the same time, another for another time, key or node', () => {
      const [first, second] = spec.topology.nodes;
      const signed = provider.secretPartUrl(spec, first, { credentials, now });
      expect(new HetznerProvider().secretPartUrl(spec, first, { credentials, now: new Date(now.getTime()) })).toBe(signed);
      expect(provider.secretPartUrl(spec, first, { credentials, now: new Date(now.getTime() + 1000) })).not.toBe(signed);
      expect(provider.secretPartUrl(spec, first, { credentials: { ...credentials, secretAccessKey: 'other' }, now })).not.toBe(signed);
      expect(provider.secretPartUrl(spec, second, { credentials, now })).not.toBe(signed);
    });

    it('signs for the Falkenstein Object Storage where the location has none', () => {
      const ash = hetznerSpec(1, { provider: { name: 'hetzner', region: 'ash' } });
      expect(new URL(provider.secretPartUrl(ash, ash.topology.nodes[0], { credentials, now })).searchParams.get('X-Amz-Credential')).toBe('EXAMPLEKEYID/20260102/fsn1/s3/aws4_request');
    });

    it('renders pointers signed by the provider, byte-identical for the same time', () => {
      const signedRender = () => {
        const nodes = spec.topology.nodes.map((node) => fakeBoot(provider, spec, node, provider.secretPartUrl(spec, node, { credentials, now })));
        return provider.renderTerraform({ spec, nodes }).content;
      };
      const signed = signedRender();
      expect(signedRender()).toBe(signed);
      expect(signed).toContain('X-Amz-Expires=604800');
    });

    it('keeps secret parts in Falkenstein for locations without Object Storage', () => {
      const ash = hetznerSpec(1, { provider: { name: 'hetzner', region: 'ash' } });
      expect(provider.secretPartUrl(ash, ash.topology.nodes[0])).toBe('https://keelson-8bef49a9-ignition.fsn1.your-objectstorage.com/keelson-controller-1.ign');
      expect(one(render(ash).doc, 'hcloud_network_subnet.nodes').attributes.network_zone).toBe('us-east');
    });
  });

  describe('backupObjectUrl', () => {
    const credentials = { accessKeyId: 'EXAMPLEKEYID', secretAccessKey: 'example-not-a-secret' };
    const now = new Date('2026-11-25T00:00:00Z');
    const key = 'etcd/20261125T081500Z.db';

    it('names the object in the backups bucket in the location\'s Object Storage', () => {
      expect(provider.backupObjectUrl(spec, key)).toBe('https://keelson-8bef49a9-backups.fsn1.your-objectstorage.com/etcd/20261125T081500Z.db');
      expect(provider.backupBucket(spec).bucket).toBe('keelson-8bef49a9-backups');
      const ash = hetznerSpec(1, { provider: { name: 'hetzner', region: 'ash' } });
      expect(new URL(provider.backupObjectUrl(ash, key)).host).toBe('keelson-8bef49a9-backups.fsn1.your-objectstorage.com');
    });

    it('presigns a GET for 7 days with the location as region: the same inputs give the same link', () => {
      const bare = provider.backupObjectUrl(spec, key);
      const signed = provider.backupObjectUrl(spec, key, { credentials, now });
      expect(signed).toBe(presignS3Url({ url: bare, ...credentials, region: 'fsn1', expiresSeconds: 7 * 24 * 3600, now }));
      expect(signed.startsWith(`${bare}?`)).toBe(true);
      const query = new URL(signed).searchParams;
      expect(query.get('X-Amz-Credential')).toBe('EXAMPLEKEYID/20261125/fsn1/s3/aws4_request');
      expect(query.get('X-Amz-Expires')).toBe('604800');
      expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(new HetznerProvider().backupObjectUrl(spec, key, { credentials, now: new Date(now) })).toBe(signed);
      expect(provider.backupObjectUrl(spec, key, { credentials: { ...credentials, secretAccessKey: 'other' }, now })).not.toBe(signed);
    });

    it('refuses keys that leave the bucket\'s listing, naming the provider, the key and the fix', () => {
      expect(() => provider.backupObjectUrl(spec, '')).toThrow(/HetznerProvider\.backupObjectUrl: the object key is empty/);
      expect(() => provider.backupObjectUrl(spec, '/etcd/x.db')).toThrow(/HetznerProvider\.backupObjectUrl: object key "\/etcd\/x\.db" starts with "\/"; keys are relative to the bucket: use "etcd\/x\.db"/);
      expect(() => provider.backupObjectUrl(spec, 'etcd/../x.db')).toThrow(/HetznerProvider\.backupObjectUrl: object key "etcd\/\.\.\/x\.db" has an empty, "\." or "\.\." segment/);
    });
  });

  describe('credentialsFromEnv', () => {
    it('reads the Object Storage key pair from MINIO_USER and MINIO_PASSWORD, the minio provider\'s variables', () => {
      expect(provider.credentialsFromEnv({ MINIO_USER: 'KEYID', MINIO_PASSWORD: 'secret', HCLOUD_TOKEN: 'token' })).toEqual({ accessKeyId: 'KEYID', secretAccessKey: 'secret' });
    });

    it('returns undefined unless both are set and non-empty', () => {
      expect(provider.credentialsFromEnv({})).toBeUndefined();
      expect(provider.credentialsFromEnv({ MINIO_USER: 'KEYID' })).toBeUndefined();
      expect(provider.credentialsFromEnv({ MINIO_PASSWORD: 'secret' })).toBeUndefined();
      // What synth's "links NOT signed" warning names on Hetzner.
      expect(provider.objectStoreCredentialVariables).toEqual(['MINIO_USER', 'MINIO_PASSWORD']);
      expect(new DigitalOceanProvider().objectStoreCredentialVariables).toEqual(['SPACES_ACCESS_KEY_ID', 'SPACES_SECRET_ACCESS_KEY']);
      expect(provider.credentialsFromEnv({ MINIO_USER: '', MINIO_PASSWORD: 'secret' })).toBeUndefined();
      expect(provider.credentialsFromEnv({ SPACES_ACCESS_KEY_ID: 'KEYID', SPACES_SECRET_ACCESS_KEY: 'secret' })).toBeUndefined();
    });
  });

  describe('refusals', () => {
    it('refuses a DigitalOcean size slug, naming the field, the value and the current line-up', () => {
      const doSizes = hetznerSpec(1, { nodes: { controllers: { count: 5, size: 's-4vcpu-8gb' }, workers: { count: 1, size: 's-2vcpu-4gb' } } });
      expect(() => render(doSizes)).toThrow(PlatformConfigError);
      expect(() => render(doSizes)).toThrow(
        /HetznerProvider: 2 problems\n {2}nodes\.controllers\.size: "s-4vcpu-8gb" is a DigitalOcean size slug, not a Hetzner Cloud server type; use a current x86 Hetzner Cloud server type \(line-up of 2026-01-01\), e\.g\. "cx33" \(4 shared vCPU, 8 GiB\), "cpx32" \(4 shared vCPU, 8 GiB\), "ccx13" \(2 dedicated vCPU, 8 GiB\); all: cx23, cx33, .*, ccx63\n {2}nodes\.workers\.size: "s-2vcpu-4gb" is a DigitalOcean size slug/,
      );
      expect(() => provider.secretPartUrl(doSizes, doSizes.topology.nodes[0])).toThrow(/nodes\.controllers\.size: "s-4vcpu-8gb"/);
      expect(() => provider.checkSpec(doSizes)).toThrow(/nodes\.workers\.size: "s-2vcpu-4gb"/);
    });

    it.each([
      ['cx22', /"cx22" \(2 vCPU, 4 GiB\) is no longer sold by Hetzner Cloud \(since 2026-01-01\); use a current server type of that size: "cx23" \(2 shared vCPU, 4 GiB\), "cpx22" \(2 shared vCPU, 4 GiB\), "ccx13"/],
      ['cx32', /"cx32" \(4 vCPU, 8 GiB\) is no longer sold by Hetzner Cloud \(since 2026-01-01\); use a current server type of that size: "cx33" \(4 shared vCPU, 8 GiB\), "cpx32" \(4 shared vCPU, 8 GiB\), "ccx13" \(2 dedicated vCPU, 8 GiB\)$/m],
      ['cpx11', /"cpx11" \(2 vCPU, 2 GiB\) is no longer sold .*: "cpx12" \(1 shared vCPU, 2 GiB\), "cx23"/],
      ['cpx31', /"cpx31" \(4 vCPU, 8 GiB\) is no longer sold .*: "cx33" .*, "cpx32" .*, "ccx13"/],
      ['cpx51', /"cpx51" \(16 vCPU, 32 GiB\) is no longer sold .*: "cx53" \(16 shared vCPU, 32 GiB\), "cpx62" \(16 shared vCPU, 32 GiB\), "ccx33" \(8 dedicated vCPU, 32 GiB\)/],
    ])('refuses the retired server type %s with the current types of its size', (size, message) => {
      const retired = hetznerSpec(1, { nodes: { controllers: { count: 5, size }, workers: { count: 1, size: 'cx33' } } });
      expect(() => provider.checkSpec(retired)).toThrow(PlatformConfigError);
      expect(() => provider.checkSpec(retired)).toThrow(message);
      expect(() => render(retired)).toThrow(/nodes\.controllers\.size: ".*" .* no longer sold/);
    });

    it('prices servers and load balancers from the dated table, says what is not priced, and that the table predates the 2026 increases', () => {
      const cost = provider.monthlyCost(hetznerSpec(1));
      expect(cost).toMatchObject({ currency: 'EUR', pricesAsOf: '2026-02-23', complete: false, caveat: expect.stringMatching(/raised prices on 2026-04-01/) });
      expect(cost.lines.map((l) => [l.kind, l.item, l.monthly])).toEqual([
        ['controllers', '5 x cx33', 29.95],
        ['workers', '1 x cx33', 5.99],
        ['addresses', '6 primary IPv4 addresses', undefined],
        ['volumes', '6 volumes of 100 GiB (Ceph, raw)', undefined],
        ['load balancers', 'API load balancer (lb11)', 5.39],
        ['load balancers', 'ingress load balancer (lb11)', 5.39],
        ['buckets', 'Object Storage (backups and node secret parts)', undefined],
        ['traffic', 'outbound traffic', 0],
      ]);
      expect(cost.total).toBe(46.72);
      expect(() => provider.monthlyCost(hetznerSpec(1, { nodes: { controllers: { count: 5, size: 'cx32' }, workers: { count: 1, size: 'cx33' } } }))).toThrow(/no longer sold/);
    });

    it('accepts every server type of the current line-up', () => {
      for (const size of ['cx23', 'cx33', 'cx43', 'cx53', 'cpx12', 'cpx22', 'cpx32', 'cpx42', 'cpx52', 'cpx62', 'ccx13', 'ccx23', 'ccx33', 'ccx43', 'ccx53', 'ccx63']) {
        expect(() => provider.checkSpec(hetznerSpec(1, { nodes: { controllers: { count: 5, size }, workers: { count: 1, size } } }))).not.toThrow();
      }
    });

    it('refuses Arm and unknown server types', () => {
      expect(() => render(hetznerSpec(1, { nodes: { controllers: { count: 5, size: 'cax21' }, workers: { count: 1, size: 'cx33' } } }))).toThrow(
        /nodes\.controllers\.size: "cax21" is an Arm server type, but nodes download x86-64 Kubernetes system extensions/,
      );
      expect(() => render(hetznerSpec(1, { nodes: { controllers: { count: 5, size: 'cx33' }, workers: { count: 1, size: 'big' } } }))).toThrow(
        /nodes\.workers\.size: "big" is not a Hetzner Cloud server type Keelson knows; .*; all: cx23, cx33, cx43, cx53, cpx12, cpx22, cpx32, cpx42, cpx52, cpx62, ccx13/,
      );
      expect(() => render(hetznerSpec(1, { nodes: { controllers: { count: 5, size: 'cx99' }, workers: { count: 1, size: 'cx33' } } }))).toThrow(/"cx99" is not a Hetzner Cloud server type Keelson knows/);
    });

    it('ignores the default size of a role with no nodes', () => {
      const noWorkers = parsePlatformConfig({ ...exampleConfig(), provider: { name: 'hetzner', region: 'fsn1' }, nodes: { controllers: { count: 3, size: 'cpx32' } } });
      expect(listResources(render(noWorkers).doc, { type: 'hcloud_server' }).map((s) => s.attributes.server_type)).toEqual(['cpx32', 'cpx32', 'cpx32']);
    });

    it('refuses a platform on another provider', () => {
      const digitalocean = parsePlatformConfig({ ...exampleConfig(), nodes: { controllers: { count: 5, size: 'cx33' }, workers: { count: 1, size: 'cx33' } } });
      expect(() => render(digitalocean)).toThrow(/provider\.name: got "digitalocean", but HetznerProvider renders Hetzner Cloud only/);
    });

    it('refuses boot configs that do not match the topology, the pointer URL or the user-data limit', () => {
      const nodes = spec.topology.nodes;
      const good = nodes.map((n) => fakeBoot(provider, spec, n));
      const renderWith = (bootConfigs: NodeBootConfig[]) => () => provider.renderTerraform({ spec, nodes: bootConfigs });
      expect(renderWith(good.slice(1))).toThrow(/got 5 boot configs for 6 nodes/);
      expect(renderWith([good[1], good[0], ...good.slice(2)])).toThrow(/boot config #1 is for "keelson-controller-2", but node #1 of the topology is "keelson-controller-1"/);
      expect(renderWith([{ ...good[0], secretPartKey: 'other.ign' }, ...good.slice(1)])).toThrow(/secretPartKey of "keelson-controller-1" is "other.ign"/);
      expect(renderWith([{ ...good[0], userData: good[0].userData.replace('your-objectstorage.com', 'digitaloceanspaces.com') }, ...good.slice(1)])).toThrow(
        /user-data of "keelson-controller-1" does not fetch its secret part from https:\/\/keelson-8bef49a9-ignition\.fsn1\.your-objectstorage\.com\/keelson-controller-1\.ign/,
      );
      expect(renderWith([{ ...good[0], userData: `${good[0].userData}${' '.repeat(33 * 1024)}` }, ...good.slice(1)])).toThrow(/user-data of "keelson-controller-1" is \d+ bytes; Hetzner Cloud accepts at most 32768/);
    });

    it('refuses ingress target ports that are SSH, taken by the nodes, or shared', () => {
      expect(() => new HetznerProvider({ ingressTargetPorts: { http: 22, https: 443 } })).toThrow(/ingressTargetPorts\.http is 22; use a free TCP port/);
      expect(() => new HetznerProvider({ ingressTargetPorts: { http: 80, https: 10250 } })).toThrow(/ingressTargetPorts\.https is 10250; use a free TCP port/);
      expect(() => new HetznerProvider({ ingressTargetPorts: { http: 30080, https: 30080 } })).toThrow(/ingressTargetPorts\.http and \.https are both 30080/);
    });

    it('refuses more servers than the largest load balancer takes', () => {
      const huge = hetznerSpec(150, { faultModel: { type: 'failure-domains', domains: 3 } });
      expect(() => render(huge)).toThrow(/the ingress load balancer would target 155 servers; the largest type \(lb31\) takes 150/);
    });
  });
});
