// api.<domain> at a private address in every node's /etc/hosts
// (apiPrivateAddress): on Hetzner public DNS gives the name the controllers'
// public addresses, for admins, and nodes reach the private API load balancer.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type NodeSpec } from '@keelson/platform-spec';
import { decodeInlineContents } from './builder';
import { NODE_PATHS, renderNodeConfigs } from './node-configs';
import { applyIgnition, runIgnitionValidate } from './testing';
import { testClusterSecrets } from './test-cluster-secrets';
import { validateIgnitionConfig } from './validate';

jest.setTimeout(60_000);

const secrets = testClusterSecrets();
const spec = parsePlatformConfig({
  ...exampleConfig(),
  provider: { name: 'hetzner', region: 'fsn1' },
  nodes: { controllers: { count: 3, size: 'cx33' }, workers: { count: 1, size: 'cx33' } },
});
const ADDRESS = '10.10.15.254';
const render = (apiPrivateAddress?: string, url = (n: NodeSpec) => `http://127.0.0.1:1/${n.name}.ign`) =>
  renderNodeConfigs({ spec, secrets, secretPartUrl: url, initialize: true, apiPrivateAddress });

type IgnitionFile = { path: string; mode?: number; overwrite?: boolean; contents?: { source?: string; compression?: string } };
const filesOf = (json: string): IgnitionFile[] => (JSON.parse(json) as { storage?: { files?: IgnitionFile[] } }).storage?.files ?? [];
const hostsOf = (json: string) => filesOf(json).find((f) => f.path === NODE_PATHS.hosts);

const EXPECTED_HOSTS = [
  '# Written by Ignition (Keelson): nodes reach the API server privately; public DNS gives api.<domain> to admins.',
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost',
  `${ADDRESS}\tapi.example.com`,
  '',
].join('\n');

describe('api.<domain> at the private API address (apiPrivateAddress)', () => {
  const configs = render(ADDRESS);

  it('writes /etc/hosts into every node\'s public pointer, replacing the image\'s file, with the localhost lines kept', () => {
    expect(configs.map((c) => c.node.name)).toEqual(spec.topology.nodes.map((n) => n.name));
    for (const c of configs) {
      const hosts = hostsOf(c.pointer);
      expect(hosts).toMatchObject({ path: '/etc/hosts', mode: 0o644, overwrite: true });
      expect(decodeInlineContents(hosts!.contents ?? {})?.toString('utf8')).toBe(EXPECTED_HOSTS);
      // Public content: never in the secret part.
      expect(hostsOf(c.secretPart)).toBeUndefined();
    }
  });

  it('passes the real ignition-validate and the schema, every part of every node', () => {
    for (const c of configs) {
      for (const part of [c.pointer, c.secretPart, c.full]) {
        expect(validateIgnitionConfig(JSON.parse(part))).toEqual([]);
        expect(runIgnitionValidate(part)).toMatchObject({ ok: true, errors: [], warnings: [] });
      }
    }
  });

  it('writes no /etc/hosts without it: nodes resolve api.<domain> through DNS (DigitalOcean)', () => {
    for (const c of render()) for (const part of [c.pointer, c.full]) expect(hostsOf(part)).toBeUndefined();
  });

  describe('applied by the real Ignition over the image\'s /etc/hosts', () => {
    const imageHosts = '127.0.0.1\tlocalhost\n::1\t\tlocalhost\n';
    const served = Object.fromEntries(render(ADDRESS).map((c) => [`/${c.node.name}.ign`, c.secretPart]));
    const pointerOf = (node: NodeSpec, url: string) => render(ADDRESS, (n) => `${url}/${n.name}.ign`).find((c) => c.node.name === node.name)!.pointer;

    it.each([
      ['a controller', spec.topology.controllers[1]],
      ['a worker', spec.topology.workers[0]],
    ])('lands on %s, mode 0644, mapping api.<domain> to the address', async (_what, node) => {
      const applied = await applyIgnition((server) => pointerOf(node, server.url), { serve: served, seed: { 'etc/hosts': imageHosts } });
      try {
        const path = join(applied.root, NODE_PATHS.hosts);
        expect(readFileSync(path, 'utf8')).toBe(EXPECTED_HOSTS);
        expect(statSync(path).mode & 0o777).toBe(0o644);
      } finally {
        applied.cleanup();
      }
    });

    it('is refused by Ignition without overwrite, so the image\'s file could never stay silently', async () => {
      const node = spec.topology.workers[0];
      const withoutOverwrite = (url: string) => {
        const pointer = JSON.parse(pointerOf(node, url)) as { storage: { files: IgnitionFile[] } };
        delete pointer.storage.files.find((f) => f.path === NODE_PATHS.hosts)!.overwrite;
        return JSON.stringify(pointer);
      };
      await expect(applyIgnition((server) => withoutOverwrite(server.url), { serve: served, seed: { 'etc/hosts': imageHosts } })).rejects.toThrow(/Ignition stage files failed: .*\/etc\/hosts/s);
    });
  });

  it.each([
    ['a public address', '203.0.113.10'],
    ['a host name', 'api.internal'],
    ['an address with a port', '10.10.15.254:6443'],
    ['an IPv6 address', 'fd00::1'],
    ['a line break (another hosts line)', '10.10.15.254\n203.0.113.10'],
  ])('refuses %s, naming the field, the value and the fix', (_what, value) => {
    expect(() => render(value)).toThrow(
      `renderNodeConfigs: apiPrivateAddress ${JSON.stringify(value)} is not a private IPv4 address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); pass NodeProvider.apiPrivateAddress(spec), e.g. "10.10.15.254", or leave it out to resolve api.<domain> through DNS`,
    );
  });
});
