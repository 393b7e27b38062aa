import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type NodeBootConfig, type NodeSpec, type PlatformConfigInput, type PlatformSpec } from '@keelson/platform-spec';
import { listResources, type TerraformBlock, type TerraformJson } from '../security-assertions';
import { HetznerProvider, type HetznerProviderProps } from './index';

const BOOTSTRAP_TOKEN = 'abcdef.0123456789abcdef';
const PRIVATE_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function hetznerSpec(workers = 1, overrides: Partial<PlatformConfigInput> = {}): PlatformSpec {
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
function fakeBoot(provider: HetznerProvider, spec: PlatformSpec, node: NodeSpec, source = provider.secretPartUrl(spec, node)): NodeBootConfig {
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

function render(
  spec: PlatformSpec,
  props: HetznerProviderProps = {},
  tweak: (boot: NodeBootConfig) => NodeBootConfig = (boot) => boot,
): { provider: HetznerProvider; boots: NodeBootConfig[]; content: string; doc: TerraformJson } {
  const provider = new HetznerProvider(props);
  const boots = spec.topology.nodes.map((node) => tweak(fakeBoot(provider, spec, node)));
  const { content } = provider.renderTerraform({ spec, nodes: boots });
  return { provider, boots, content, doc: JSON.parse(content) as TerraformJson };
}

const one = (doc: TerraformJson, address: string): TerraformBlock => {
  const found = listResources(doc, { data: true }).filter((b) => b.address === address);
  expect(found.map((b) => b.address)).toEqual([address]);
  return found[0];
};

/** Runs the real `terraform`; fails (never skips) when it is not installed. */
function terraform(args: string[], cwd: string): string {
  try {
    return execFileSync('terraform', [...args, '-no-color'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('this test needs terraform (1.5 or newer) on PATH; install it from https://developer.hashicorp.com/terraform/install');
    }
    throw new Error(`terraform ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
}

function inTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'keelson-hetzner-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('HetznerProvider', () => {
  const spec = hetznerSpec();
  const { boots, doc } = render(spec);

  describe('security promises (the same assertions as DigitalOcean)', () => {

    describe('secret parts read from files', () => {
      const withFiles = render(spec, {}, (boot) => ({ ...boot, secretPartFile: `ignition/${boot.name}.secret.ign` }));

      it('is read by the real terraform from next to the Terraform file, and never printed by plan', () => {
        const boot = withFiles.boots[0];
        const expression = one(withFiles.doc, `minio_s3_object.${boot.name}`).attributes.content as string;
        const { plan, value } = inTempDir((dir) => {
          mkdirSync(join(dir, 'ignition'));
          writeFileSync(join(dir, 'ignition', `${boot.name}.secret.ign`), boot.secretPart);
          // terraform_data is built into Terraform: no provider download.
          writeFileSync(
            join(dir, 'main.tf.json'),
            JSON.stringify({ resource: { terraform_data: { part: { input: expression } } }, output: { part: { value: '${terraform_data.part.output}', sensitive: true } } }),
          );
          terraform(['init', '-input=false'], dir);
          const planText = terraform(['plan', '-input=false'], dir);
          terraform(['apply', '-auto-approve', '-input=false'], dir);
          return { plan: planText, value: (JSON.parse(terraform(['output', '-json'], dir)) as Record<string, { value: string }>).part.value };
        });
        expect(plan).toMatch(/input\s+= \(sensitive value\)/);
        expect(plan).not.toContain(BOOTSTRAP_TOKEN);
        expect(value).toBe(boot.secretPart);
      });

    });
  });

  describe('rendering', () => {

    it('escapes template syntax so Terraform passes user-data and secret parts through unchanged', () => {
      const literals = boots.flatMap((b) => [one(doc, `hcloud_server.${b.name}`).attributes.user_data as string, one(doc, `minio_s3_object.${b.name}`).attributes.content as string]);
      const expected = boots.flatMap((b) => [b.userData, b.secretPart]);
      expect(expected.some((s) => s.includes('${') && s.includes('%{'))).toBe(true);
      const values = inTempDir((dir) => {
        const outputs = Object.fromEntries(literals.map((value, i) => [`v${i}`, { value }]));
        writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({ output: outputs }));
        terraform(['init', '-input=false'], dir);
        terraform(['apply', '-auto-approve', '-input=false'], dir);
        const out = JSON.parse(terraform(['output', '-json'], dir)) as Record<string, { value: string }>;
        return literals.map((_, i) => out[`v${i}`].value);
      });
      expect(values).toEqual(expected);
    });

    it('requires exactly the pinned hcloud (1.66.1) and minio providers, as Terraform reads the document', () => {
      const providers = inTempDir((dir) => {
        // A backend block needs `terraform init`, which downloads providers; the rest is read as is.
        const withoutBackend = structuredClone(doc) as { terraform: { backend?: unknown } };
        delete withoutBackend.terraform.backend;
        writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(withoutBackend));
        return terraform(['providers'], dir);
      });
      // Terraform lists them in no fixed order.
      expect(providers.match(/provider\[[^\]]+\][^\n]*/g)?.sort()).toEqual([
        'provider[registry.terraform.io/aminueza/minio] 3.38.3',
        'provider[registry.terraform.io/hetznercloud/hcloud] 1.66.1',
      ]);
    });

  });

});
