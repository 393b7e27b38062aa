import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

type Json = Record<string, any>;

import { specOf, bootConfigs, render } from './test-fixtures';

describe('DigitalOceanProvider', () => {
  const spec = specOf();
  const { json } = render(spec);

  describe('Terraform', () => {
    const terraform = process.env.PATH?.split(delimiter)
      .map((dir) => join(dir, 'terraform'))
      .find((file) => existsSync(file));
    // terraform is no Debian package, so CI cannot install it: run where it is, say so where it is not.
    const describeWithTerraform = terraform ? describe : describe.skip;
    describeWithTerraform('with the terraform binary (offline: terraform validate needs the provider download, so it is not run)', () => {
      it('terraform providers decodes the configuration and finds exactly the pinned DigitalOcean provider', () => {
        const dir = mkdtempSync(join(tmpdir(), 'keelson-infra-tf-'));
        try {
          // The backend block needs `terraform init`, which downloads providers; the rest is checked as is.
          const withoutBackend = structuredClone(json);
          delete withoutBackend.terraform.backend;
          writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(withoutBackend));
          const ok = spawnSync(terraform!, ['providers', '-no-color'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
          expect(ok.status).toBe(0);
          expect(ok.stdout.trim().split('\n').slice(-1)[0]).toBe('└── provider[registry.terraform.io/digitalocean/digitalocean] 2.71.0');
          // The same command refuses a broken lifecycle block: the check has teeth.
          const broken = structuredClone(json);
          delete broken.terraform.backend;
          broken.resource.digitalocean_droplet['keelson-worker-1'].lifecycle.ignore_changes = ['${user_data}'];
          writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(broken));
          const refused = spawnSync(terraform!, ['providers', '-no-color'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
          expect(refused.status).toBe(1);
          expect(refused.stderr).toMatch(/A single static variable reference is required/);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('terraform reads every user-data and secret part back byte for byte, template syntax included', () => {
        const tricky = 'echo ${NODE_IP} %{ if x } $${kept} %%{ 100% $';
        const nodes = bootConfigs(spec).map((n, i) => (i === 0 ? { ...n, userData: `{"x":"${tricky}"}`, secretPart: `${n.secretPart}${tricky}` } : n));
        const rendered = render(spec, {}, nodes).json;
        const values: Record<string, string> = {};
        for (const [name, d] of Object.entries<Json>(rendered.resource.digitalocean_droplet)) values[`user_data/${name}`] = d.user_data;
        for (const [name, o] of Object.entries<Json>(rendered.resource.digitalocean_spaces_bucket_object)) values[`secret/${name}`] = o.content;
        const dir = mkdtempSync(join(tmpdir(), 'keelson-infra-console-'));
        try {
          // A provider-free configuration: `terraform console` evaluates it without `init`.
          writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({ locals: { values } }));
          const r = spawnSync(terraform!, ['console'], { cwd: dir, encoding: 'utf8', input: 'base64encode(jsonencode(local.values))\n', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
          expect(r.status).toBe(0);
          const evaluated = JSON.parse(Buffer.from(JSON.parse(r.stdout.trim()) as string, 'base64').toString('utf8')) as Record<string, string>;
          const expected: Record<string, string> = {};
          for (const n of nodes) {
            expected[`user_data/${n.name}`] = n.userData;
            expected[`secret/${n.name}`] = n.secretPart;
          }
          expect(evaluated).toEqual(expected);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('terraform reads each secret part back from its file, marked sensitive', () => {
        const tricky = 'echo ${NODE_IP} %{ if x } $${kept} 100% "quoted" \\ \n';
        const nodes = bootConfigs(spec).map((n, i) => ({ ...n, secretPart: i === 0 ? `${n.secretPart}${tricky}` : n.secretPart, secretPartFile: `ignition/${n.name}.secret.ign` }));
        const rendered = render(spec, {}, nodes).json;
        const values: Record<string, string> = {};
        for (const [name, o] of Object.entries<Json>(rendered.resource.digitalocean_spaces_bucket_object)) values[name] = o.content;
        const dir = mkdtempSync(join(tmpdir(), 'keelson-infra-file-'));
        try {
          mkdirSync(join(dir, 'ignition'));
          for (const n of nodes) writeFileSync(join(dir, n.secretPartFile), n.secretPart);
          writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({ locals: { values } }));
          const run = (input: string) => spawnSync(terraform!, ['console'], { cwd: dir, encoding: 'utf8', input, env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
          const hidden = run('local.values\n');
          expect(hidden.status).toBe(0);
          expect(hidden.stdout).toMatch(/\(sensitive value\)/);
          expect(hidden.stdout).not.toContain('BEGIN');
          const r = run('nonsensitive(base64encode(jsonencode(local.values)))\n');
          expect(r.status).toBe(0);
          const evaluated = JSON.parse(Buffer.from(JSON.parse(r.stdout.trim()) as string, 'base64').toString('utf8')) as Record<string, string>;
          expect(evaluated).toEqual(Object.fromEntries(nodes.map((n) => [n.name, n.secretPart])));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
      // `terraform fmt -check` refuses .tf.json files ("Only .tf, .tfvars, and .tftest.hcl files can be
      // processed"), so it checks nothing here; the README says so.
    });
  });
});

