// Fixtures of the Hetzner provider's tests (unit and integration): a spec, boot configs shaped like @keelson/ignition's, a render.
import { generateKeyPairSync } from 'node:crypto';
import { exampleConfig, parsePlatformConfig, type NodeBootConfig, type NodeSpec, type PlatformConfigInput, type PlatformSpec } from '@keelson/platform-spec';
import { listResources, type TerraformBlock, type TerraformJson } from '../security-assertions';
import { HetznerProvider, type HetznerProviderProps } from './index';

export const BOOTSTRAP_TOKEN = 'abcdef.0123456789abcdef';
export const PRIVATE_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

export function hetznerSpec(workers = 1, overrides: Partial<PlatformConfigInput> = {}): PlatformSpec {
  return parsePlatformConfig({
    ...exampleConfig(),
    provider: { name: 'hetzner', region: 'fsn1' },
    nodes: { controllers: { count: 5, size: 'cx33' }, workers: { count: workers, size: 'cx33' } },
    ...overrides,
  });
}

/**
 * A boot config shaped like `@keelson/ignition`'s: a pointer that merges the
 * secret part from the provider's URL, with shell and systemd text holding
 * `${...}` (which Terraform would read as a template), and a secret part
 * holding a private key and the bootstrap token.
 */
export function fakeBoot(provider: HetznerProvider, spec: PlatformSpec, node: NodeSpec, source = provider.secretPartUrl(spec, node)): NodeBootConfig {
  const script = `#!/bin/bash\nsource /run/metadata/flatcar\nip="\${COREOS_HETZNER_PRIVATE_IPV4_0:?no private address}"\necho "%{not a template}"\n`;
  const pointer = {
    ignition: {
      version: '3.3.0',
      config: { merge: [{ source, verification: { hash: `sha512-${'ab'.repeat(64)}` } }] },
    },
    storage: {
      files: [
        { path: '/etc/hostname', mode: 0o644, contents: { source: `data:,${node.name}%0A` } },
        { path: '/opt/keelson/bin/kubeadm-bootstrap', mode: 0o755, contents: { source: `data:,${encodeURIComponent(script)}` } },
      ],
    },
    systemd: {
      units: [
        { name: 'sshd.service', mask: true },
        { name: 'keelson-bootstrap.service', enabled: true, contents: '[Unit]\nDescription=%{not a template either}\n[Service]\nExecStart=/bin/sh -c "echo ${HOSTNAME}"\n' },
      ],
    },
  };
  const secretPart = {
    ignition: { version: '3.3.0' },
    storage: {
      files: [
        { path: '/etc/kubernetes/pki/ca.key', mode: 0o600, contents: { source: `data:;base64,${Buffer.from(PRIVATE_KEY).toString('base64')}` } },
        { path: '/etc/keelson/kubeadm-join.yaml', mode: 0o600, contents: { source: `data:,${encodeURIComponent(`token: ${BOOTSTRAP_TOKEN}\n`)}` } },
      ],
    },
  };
  return { name: node.name, userData: JSON.stringify(pointer), secretPart: JSON.stringify(secretPart), secretPartKey: `${node.name}.ign` };
}

export function render(
  spec: PlatformSpec,
  props: HetznerProviderProps = {},
  tweak: (boot: NodeBootConfig) => NodeBootConfig = (boot) => boot,
): { provider: HetznerProvider; boots: NodeBootConfig[]; content: string; doc: TerraformJson } {
  const provider = new HetznerProvider(props);
  const boots = spec.topology.nodes.map((node) => tweak(fakeBoot(provider, spec, node)));
  const { content } = provider.renderTerraform({ spec, nodes: boots });
  return { provider, boots, content, doc: JSON.parse(content) as TerraformJson };
}

export const one = (doc: TerraformJson, address: string): TerraformBlock => {
  const found = listResources(doc, { data: true }).filter((b) => b.address === address);
  expect(found.map((b) => b.address)).toEqual([address]);
  return found[0];
};
