// Fixtures of the DigitalOcean provider's tests (unit and integration): a spec, boot configs, a render.
import { randomBytes } from 'node:crypto';
import { exampleConfig, parsePlatformConfig, type NodeBootConfig, type PlatformConfigInput, type PlatformSpec } from '@keelson/platform-spec';
import { DigitalOceanProvider, type DigitalOceanProviderProps } from './digitalocean-provider';

type Json = Record<string, any>;

export const specOf = (change: (c: PlatformConfigInput) => void = () => undefined): PlatformSpec => {
  const config = exampleConfig();
  change(config);
  return parsePlatformConfig(config);
};

/**
 * Boot configs shaped like @keelson/ignition's: a pointer with no secret and
 * a secret part holding a private key and a bootstrap token, both made at
 * run time so nothing secret-looking is committed.
 */
export const secretsByNode = new Map<string, { pem: string; token: string }>();
export const secretsOf = (name: string) => {
  if (!secretsByNode.has(name)) {
    const pem = [`-----BEGIN EC PRIVATE KEY-----`, randomBytes(48).toString('base64'), `-----END EC PRIVATE KEY-----`].join('\n');
    secretsByNode.set(name, { pem, token: `${randomBytes(3).toString('hex')}.${randomBytes(8).toString('hex')}` });
  }
  return secretsByNode.get(name)!;
};

export function bootConfigs(spec: PlatformSpec, userData: (name: string) => string = () => ''): NodeBootConfig[] {
  const provider = new DigitalOceanProvider();
  return spec.topology.nodes.map((node) => {
    // Made once per node name, so two renderings of one platform see the same secrets.
    const { pem, token } = secretsOf(node.name);
    const pointer =
      userData(node.name) ||
      JSON.stringify({
        ignition: { version: '3.3.0', config: { merge: [{ source: provider.secretPartUrl(spec, node), verification: { hash: `sha512-${'0'.repeat(128)}` } }] } },
      });
    return {
      name: node.name,
      userData: pointer,
      secretPart: JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/kubernetes/pki/ca.key', contents: { source: `data:;base64,${Buffer.from(pem).toString('base64')}` } }] }, token }),
      secretPartKey: `${node.name}.ign`,
    };
  });
}

export function render(spec: PlatformSpec, props: DigitalOceanProviderProps = {}, nodes = bootConfigs(spec)): { json: Json; content: string } {
  const doc = new DigitalOceanProvider(props).renderTerraform({ spec, nodes });
  expect(doc.fileName).toBe('main.tf.json');
  return { json: JSON.parse(doc.content) as Json, content: doc.content };
}
