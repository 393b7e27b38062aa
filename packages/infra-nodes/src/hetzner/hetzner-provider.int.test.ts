import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BOOTSTRAP_TOKEN, hetznerSpec, render, one } from './test-fixtures';

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
