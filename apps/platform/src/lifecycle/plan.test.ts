import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HetznerProvider } from '@keelson/infra-nodes';
import { synth } from '../synth';
import type { Rendered } from './render';
import { plan } from './plan';
import { categoryOf, formatMonthlyCost, formatPlanSummary, summarizeRenderedTerraform, summarizeTerraformPlan } from './plan-summary';
import { defaultConfig, FakeTerraform, fakeOptions, planJson, renderInto, terraformFailure } from './test-fakes';

let r: { rendered: Rendered; outDir: string };
beforeAll(async () => {
  r = await renderInto();
}, 60_000);

const counts = (s: ReturnType<typeof summarizeTerraformPlan>) => Object.fromEntries(s.categories.map((c) => [c.category, [c.add, c.change, c.destroy, c.replace]]));

describe('plan summary', () => {
  it('counts the rendered main.tf.json by category, everything to add', () => {
    const s = summarizeRenderedTerraform(readFileSync(join(r.rendered.infraDir, 'main.tf.json'), 'utf8'), 'terraform init failed');
    expect(s.source).toBe('rendered');
    expect(counts(s)).toEqual({
      nodes: [6, 0, 0, 0],
      'load balancers': [2, 0, 0, 0],
      volumes: [12, 0, 0, 0],
      buckets: [8, 0, 0, 0],
      firewalls: [4, 0, 0, 0],
      DNS: [2, 0, 0, 0],
      // the VPC, the image, the domain, the project and the keyless SSH key DigitalOcean requires
      other: [6, 0, 0, 0],
    });
    const lines = formatPlanSummary(s);
    expect(lines[0]).toBe('Terraform plan (from infra-out/main.tf.json, as if nothing existed yet): 40 to add');
    expect(lines[1]).toBe('  (not from Terraform: terraform init failed)');
    expect(lines).toContain('  nodes           +6             digitalocean_droplet');
    expect(lines.length).toBeLessThanOrEqual(20);
  });

  it('reads create, update, delete and replace from terraform show -json, ignoring no-op and read', () => {
    const s = summarizeTerraformPlan(
      planJson([
        { address: 'digitalocean_droplet.keelson-worker-2', type: 'digitalocean_droplet', actions: ['create'] },
        { address: 'digitalocean_droplet.keelson-worker-1', type: 'digitalocean_droplet', actions: ['delete', 'create'] },
        { address: 'digitalocean_loadbalancer.api', type: 'digitalocean_loadbalancer', actions: ['update'] },
        { address: 'digitalocean_record.api', type: 'digitalocean_record', actions: ['delete'] },
        { address: 'digitalocean_vpc.network', type: 'digitalocean_vpc', actions: ['no-op'] },
        { address: 'digitalocean_domain.zone', type: 'digitalocean_domain', actions: ['read'] },
      ]),
    );
    expect(s.totals).toEqual({ add: 1, change: 1, destroy: 1, replace: 1 });
    const lines = formatPlanSummary(s);
    expect(lines).toEqual([
      'Terraform plan: 1 to add, 1 to change, 1 to destroy, 1 to replace',
      '  nodes           +1 -/+1        digitalocean_droplet',
      '    ! digitalocean_droplet.keelson-worker-1',
      '  load balancers  ~1             digitalocean_loadbalancer',
      '  DNS             -1             digitalocean_record',
      '    ! digitalocean_record.api',
    ]);
    expect(formatPlanSummary(summarizeTerraformPlan(planJson([])))).toEqual(['Terraform plan: 0 to add, 0 to change, 0 to destroy, 0 to replace', '  no changes: the infrastructure matches the configuration']);
  });

  it('sorts Hetzner and DigitalOcean types alike', () => {
    expect(['hcloud_server', 'hcloud_load_balancer', 'hcloud_volume', 'minio_s3_bucket', 'minio_ilm_policy', 'hcloud_firewall', 'hcloud_zone_rrset', 'hcloud_network'].map(categoryOf)).toEqual([
      'nodes',
      'load balancers',
      'volumes',
      'buckets',
      'buckets',
      'firewalls',
      'DNS',
      'other',
    ]);
  });
});

describe('keelson plan', () => {
  it('uses Terraform\'s plan when it can: init, plan -out=tfplan, show -json', async () => {
    const terraform = new FakeTerraform();
    const o = fakeOptions(r, { terraform });
    const result = await plan(o);
    expect(terraform.calls).toEqual([
      ['-chdir=infra-out', 'init', '-input=false', '-no-color'],
      ['-chdir=infra-out', 'plan', '-input=false', '-no-color', '-out=tfplan'],
      ['-chdir=infra-out', 'show', '-json', 'tfplan'],
    ]);
    expect(result.summary.source).toBe('terraform');
    expect(o.printed).toContain('Terraform plan: 1 to add, 0 to change, 0 to destroy, 0 to replace');
  });

  it('shows the monthly cost from the provider\'s dated price table and what the fault budget costs in it', async () => {
    const o = fakeOptions(r, { terraform: new FakeTerraform() });
    const result = await plan(o);
    expect(result.cost).toMatchObject({ currency: 'USD', total: 377, complete: true });
    const at = o.printed.indexOf('Monthly cost (list prices of 2026-12-04; refresh: https://www.digitalocean.com/pricing):');
    expect(at).toBeGreaterThan(o.printed.indexOf('Terraform plan: 1 to add, 0 to change, 0 to destroy, 0 to replace'));
    const lines = o.printed.slice(at);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}controllers {5}5 x s-4vcpu-8gb +\$240\.00$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}total +\$377\.00 a month$/));
    expect(lines).toContainEqual(
      '  fault budget (any 2 of 6 nodes may fail): $192.00 a month for 4 controllers more than a cluster that may lose none (etcd keeps 5 members, 2k+1); $45.00 a month of the $60.00 of volumes holds extra copies (Ceph keeps 4, k+2: 600 GiB raw hold 150 GiB)',
    );
  });

  it('says what is not priced and that the total is a lower bound', () => {
    const cost = { currency: 'EUR' as const, pricesAsOf: '2026-02-23', source: 'https://www.hetzner.com/cloud', total: 10, complete: false, caveat: 'old table', lines: [
      { kind: 'controllers' as const, item: '3 x cx53', quantity: 3, unit: 'server' },
      { kind: 'volumes' as const, item: '3 volumes of 100 GiB (Ceph, raw)', quantity: 300, unit: 'GiB', unitPrice: 0.1, monthly: 10 },
    ] };
    const lines = formatMonthlyCost(cost, { budget: { ...r.rendered.spec.budget, model: 'any-third', k: 1, nodes: 3, etcdMembers: 3, poolSize: 3 }, config: { ...r.rendered.spec.config, nodes: { ...r.rendered.spec.config.nodes, volumeSizeGiB: 100 } } });
    expect(lines[1]).toMatch(/^ {2}controllers {5}3 x cx53 +not priced$/);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}total +at least \(some lines are not priced\) +€10\.00 a month$/));
    expect(lines).toContain('  ! old table');
    expect(lines[lines.length - 1]).toBe('  fault budget (any 1 of 3 nodes may fail): 2 controllers more than a cluster that may lose none (etcd keeps 3 members; their size is not priced); €6.67 a month of the €10.00 of volumes holds extra copies (Ceph keeps 3, k+2: 300 GiB raw hold 100 GiB)');
  });

  it('falls back to the rendered JSON, with the reason in one line, when terraform init cannot reach the registry', async () => {
    const terraform = new FakeTerraform();
    terraform.failures.push(terraformFailure('init', 'Error: Failed to query available provider packages'));
    const o = fakeOptions(r, { terraform });
    const result = await plan(o);
    expect(result.summary.source).toBe('rendered');
    expect(result.summary.reason).toBe('terraform init failed (no network to download the providers?): Error: Failed to query available provider packages');
    expect(terraform.of('plan')).toEqual([]);
    expect(o.printed).toContain('Terraform plan (from infra-out/main.tf.json, as if nothing existed yet): 40 to add');
  });

  it("names the cloud's own credentials when Terraform's plan is refused for want of them", async () => {
    const terraform = new FakeTerraform();
    terraform.failures.push(terraformFailure('plan', 'Error: 401 Unauthorized'));
    const result = await plan(fakeOptions(r, { terraform }));
    expect(result.summary.reason).toBe('terraform plan failed (set DIGITALOCEAN_TOKEN, SPACES_ACCESS_KEY_ID, SPACES_SECRET_ACCESS_KEY): Error: 401 Unauthorized');
    const refused = new FakeTerraform();
    refused.failures.push(terraformFailure('plan', 'Error: 401 Unauthorized'));
    const hetzner = await plan(fakeOptions(r, { terraform: refused }, { render: async () => ({ ...r.rendered, provider: new HetznerProvider(), spec: { ...r.rendered.spec, config: { ...r.rendered.spec.config, provider: { name: 'hetzner', region: 'fsn1' }, nodes: { ...r.rendered.spec.config.nodes, controllers: { ...r.rendered.spec.config.nodes.controllers, size: 'cx33' }, workers: { ...r.rendered.spec.config.nodes.workers, size: 'cx33' } } } } as typeof r.rendered.spec }) }));
    expect(hetzner.summary.reason).toBe('terraform plan failed (set HCLOUD_TOKEN, MINIO_USER, MINIO_PASSWORD): Error: 401 Unauthorized');
  });

  it('shows the summary of a config that fails verify, then the report, and says deploy refuses it', async () => {
    const o = fakeOptions(r, { terraform: new FakeTerraform() }, { render: async () => ({ ...r.rendered, verifyFailure: 'gitops  FAIL  1 problem' }) });
    const result = await plan(o);
    expect(result.verified).toBe(false);
    expect(o.printed).toContain('keelson plan: verify FAILED; "keelson deploy" refuses this config until "keelson verify" passes');
    expect(o.printed.indexOf('gitops  FAIL  1 problem')).toBeGreaterThan(o.printed.indexOf('Terraform plan: 1 to add, 0 to change, 0 to destroy, 0 to replace'));
  });

  it('falls back to the rendered JSON when no Terraform binary is found', async () => {
    const o = fakeOptions(r, {}, { terraformMissing: 'neither terraform nor tofu is on PATH' });
    const result = await plan(o);
    expect(result.summary.reason).toBe('neither terraform nor tofu is on PATH');
  });
});

describe('synth and Terraform\'s files', () => {
  it('keeps Terraform state, providers, the plan and the state file across a synth, and a failed synth touches nothing', async () => {
    const infra = r.rendered.infraDir;
    writeFileSync(join(infra, 'terraform.tfstate'), '{"resources":[]}', { mode: 0o600 });
    mkdirSync(join(infra, '.terraform/providers'), { recursive: true });
    writeFileSync(join(infra, '.terraform/providers/marker'), 'x');
    writeFileSync(join(infra, 'deploy-state.json'), '{}', { mode: 0o600 });
    await synth({ configPath: defaultConfig, outDir: r.outDir, secretsDir: r.rendered.secretsDir, env: {} });
    expect(readFileSync(join(infra, 'terraform.tfstate'), 'utf8')).toBe('{"resources":[]}');
    expect(statSync(join(infra, 'terraform.tfstate')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(infra, '.terraform/providers/marker'))).toBe(true);
    expect(existsSync(join(infra, 'deploy-state.json'))).toBe(true);
    expect(existsSync(join(infra, 'main.tf.json'))).toBe(true);

    // And when the render fails.
    await expect(synth({ configPath: join(r.outDir, 'missing.yaml'), outDir: r.outDir, secretsDir: r.rendered.secretsDir, env: {} })).rejects.toThrow(/missing\.yaml/);
    expect(readFileSync(join(infra, 'terraform.tfstate'), 'utf8')).toBe('{"resources":[]}');
  }, 60_000);
});
