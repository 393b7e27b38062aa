// The firewall check on a Hetzner render: the API load balancer stays
// private (Hetzner load balancers have no source filter), and admins reach
// 6443 only through the controller firewall limited to adminCidrs. The
// mutation suite runs on the committed DigitalOcean render; these mutations
// run on a real HetznerProvider render.
import { HetznerProvider } from '@keelson/infra-nodes';
import { exampleConfig, parsePlatformConfig, type NodeBootConfig } from '@keelson/platform-spec';
import { checkFirewall } from './firewall';
import type { TerraformDocument } from './types';

const spec = parsePlatformConfig({
  ...exampleConfig(),
  provider: { name: 'hetzner', region: 'fsn1' },
  nodes: { controllers: { count: 3, size: 'cx33' }, workers: { count: 1, size: 'cx33' } },
});
const adminCidrs = spec.config.adminCidrs;

/** The Terraform JSON HetznerProvider renders, with pointers that merge each node's secret part as @keelson/ignition's do. */
function hetznerRender(): TerraformDocument & { resource: Record<string, Record<string, Record<string, unknown>>> } {
  const provider = new HetznerProvider();
  const nodes: NodeBootConfig[] = spec.topology.nodes.map((node) => ({
    name: node.name,
    userData: JSON.stringify({ ignition: { version: '3.3.0', config: { merge: [{ source: provider.secretPartUrl(spec, node), verification: { hash: `sha512-${'ab'.repeat(64)}` } }] } } }),
    secretPart: JSON.stringify({ ignition: { version: '3.3.0' } }),
    secretPartKey: `${node.name}.ign`,
  }));
  return JSON.parse(provider.renderTerraform({ spec, nodes }).content);
}

describe('the firewall check on a Hetzner render', () => {
  it('passes the render as HetznerProvider makes it: 6443 open to adminCidrs on the controllers only, the API load balancer private', () => {
    const result = checkFirewall(hetznerRender(), 'infra-out/main.tf.json', adminCidrs);
    expect(result.findings).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('refuses a public interface on the API load balancer, naming it', () => {
    const tf = hetznerRender();
    tf.resource.hcloud_load_balancer_network.api.enable_public_interface = true;
    const result = checkFirewall(tf, 'infra-out/main.tf.json', adminCidrs);
    expect(result.ok).toBe(false);
    expect(result.findings).toEqual([
      {
        file: 'infra-out/main.tf.json',
        message:
          'hcloud_load_balancer.api serves 6443 (hcloud_load_balancer_service.api) on its public interface, and Hetzner load balancers have no source filter; attach it with hcloud_load_balancer_network enable_public_interface = false',
      },
    ]);
  });

  it('refuses an API load balancer with no network attachment at all (the provider then gives it a public interface)', () => {
    const tf = hetznerRender();
    delete tf.resource.hcloud_load_balancer_network.api;
    expect(checkFirewall(tf, 'infra-out/main.tf.json', adminCidrs).findings.map((f) => f.message)).toEqual([expect.stringMatching(/^hcloud_load_balancer\.api serves 6443/)]);
  });

  it('refuses 6443 on the controllers opened beyond adminCidrs', () => {
    const tf = hetznerRender();
    const rules = tf.resource.hcloud_firewall.controllers.rule as Array<{ port?: string; source_ips: string[] }>;
    rules.find((r) => r.port === '6443' && r.source_ips.includes(adminCidrs[0]))!.source_ips = ['0.0.0.0/0'];
    expect(checkFirewall(tf, 'infra-out/main.tf.json', adminCidrs).findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/^hcloud_firewall\.controllers opens the API server \(tcp 6443\) to 0\.0\.0\.0\/0, outside the config's adminCidrs/),
    ]);
  });
  it('reads the Object Storage buckets: the real render passes; a public bucket and an Ignition bucket nothing expires are refused', () => {
    const summary = checkFirewall(hetznerRender(), 'infra-out/main.tf.json', adminCidrs).summary;
    expect(summary).toMatch(/; 2 buckets private, the Ignition secret parts expiring/);
    const open = hetznerRender();
    open.resource.minio_s3_bucket.backups.acl = 'public-read';
    expect(checkFirewall(open, 'infra-out/main.tf.json', adminCidrs).findings.map((f) => f.message)).toEqual([expect.stringMatching(/^minio_s3_bucket\.backups sets acl = "public-read": anyone can read it/)]);
    const kept = hetznerRender();
    delete kept.resource.minio_ilm_policy.ignition;
    expect(checkFirewall(kept, 'infra-out/main.tf.json', adminCidrs).findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/^minio_s3_bucket\.ignition holds the nodes' Ignition secret parts but no minio_ilm_policy rule expires them/),
    ]);
  });
});
