import { exampleConfig, parsePlatformConfig, type NodeBootConfig, type NodeProvider, type PlatformSpec } from '@keelson/platform-spec';
import { CLOUD_RESOURCE_TYPES, USER_DATA_LIMIT_BYTES } from './security-assertions';
import { nodeProviderFor, nodeProviders } from './provider';

// What the rest of the platform asks a NodeProvider instead of naming a
// cloud (issue 24), checked against each provider's own rendering.

const specs: Record<NodeProvider['id'], PlatformSpec> = {
  digitalocean: parsePlatformConfig(exampleConfig()),
  hetzner: parsePlatformConfig({ ...exampleConfig(), provider: { name: 'hetzner', region: 'fsn1' }, nodes: { controllers: { count: 3, size: 'cx33' }, workers: { count: 1, size: 'cx43' } } }),
};

/** A pointer that fetches the node's secret part from the provider's URL, padded to `bytes` when given. */
function boots(provider: NodeProvider, spec: PlatformSpec, bytes?: number): NodeBootConfig[] {
  return spec.topology.nodes.map((node) => {
    const pointer = JSON.stringify({ ignition: { version: '3.3.0', config: { merge: [{ source: provider.secretPartUrl(spec, node) }] } } });
    return { name: node.name, userData: bytes === undefined ? pointer : pointer + ' '.repeat(bytes - Buffer.byteLength(pointer)), secretPart: '{}', secretPartKey: `${node.name}.ign` };
  });
}

type Json = { resource: Record<string, Record<string, Record<string, unknown>>> };

describe.each(Object.keys(specs) as NodeProvider['id'][])('the %s provider', (id) => {
  const spec = specs[id];
  const provider = nodeProviderFor(spec);
  const render = (input: Partial<Parameters<NodeProvider['renderTerraform']>[0]> = {}): { json: Json; content: string } => {
    const { content } = provider.renderTerraform({ spec, nodes: boots(provider, spec), ...input });
    return { json: JSON.parse(content) as Json, content };
  };
  const { json, content } = render();

  it('is the one nodeProviders() holds for its id, with a name for people', () => {
    expect(provider.id).toBe(id);
    expect(nodeProviders().map((p) => p.id)).toContain(id);
    expect(provider.displayName).toMatch(/^[A-Z]/);
    expect(provider.consoleHint).toMatch(/console/i);
  });

  it("names each node's server by the address and type attribute its Terraform has", () => {
    const servers = json.resource[provider.server.resourceType];
    for (const node of spec.topology.nodes) {
      const address = provider.serverAddress(node);
      const [type, name] = address.split('.');
      expect(type).toBe(provider.server.resourceType);
      expect(servers[name]?.[provider.server.typeAttribute]).toBe(node.size);
      expect(provider.serverSize(node.size)).toEqual({ vcpus: expect.any(Number), memoryGiB: expect.any(Number) });
    }
    expect(CLOUD_RESOURCE_TYPES.servers).toContain(provider.server.resourceType);
    expect(provider.serverSize('no-such-type')).toBeUndefined();
  });

  it("declares the bucket type its Terraform creates, for verify's backup checks", () => {
    expect(CLOUD_RESOURCE_TYPES.buckets.filter((t) => json.resource[t])).toHaveLength(1);
  });

  it('states the user-data limit it refuses a pointer over', () => {
    const limit = provider.userDataLimitBytes;
    expect(USER_DATA_LIMIT_BYTES[provider.server.resourceType]).toBe(limit);
    expect(() => provider.renderTerraform({ spec, nodes: boots(provider, spec, limit) })).not.toThrow();
    expect(() => provider.renderTerraform({ spec, nodes: boots(provider, spec, limit + 1) })).toThrow(new RegExp(`${limit + 1} bytes; .*at most ${limit}`));
  });

  it("forwards the ingress load balancer to the ingress layer's target when the input gives one", () => {
    expect(content).not.toMatch(/30443/);
    const target = render({ ingressTarget: { http: 30080, https: 30443, proxyProtocol: true } }).content;
    expect(target).toMatch(/"(target_port|destination_port)":\s*30443/);
    expect(target).toMatch(/"(target_port|destination_port)":\s*30080/);
    expect(target).toMatch(/"(enable_proxy_protocol|proxyprotocol)":\s*true/);
    expect(() => render({ ingressTarget: { http: 30080, https: 30080, proxyProtocol: false } })).toThrow(/ingressTargetPorts\.http and \.https are both 30080/);
  });

  it('gives the storage layer an anchored device filter', () => {
    const filter = provider.volumeDevicePathFilter(spec);
    expect(filter).toMatch(/^\^\/dev\/disk\/by-id\//);
    expect(new RegExp(filter).test('/dev/sda')).toBe(false);
  });
});
