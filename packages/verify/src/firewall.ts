// The firewall and buckets check: from outside, nothing but the web ports
// (and the API server for the admin ranges) is reachable, and the buckets
// are private, the Ignition one emptied by an expiry rule.
import { findOpenApiLoadBalancers, inboundRules, opensPort, type TerraformJson } from '@keelson/infra-nodes/security-assertions';
import { asArray, check, isRecord, type CheckResult, type Finding, type Loose, type TerraformDocument } from './types';
import { cidrContains } from './network-policy';
import { checkHostFirewalls } from './host-firewall';
import type { NodeInfo } from './types';

/** Ports anyone may reach: HTTP (redirected) and HTTPS. */
const PUBLIC_PORTS = [80, 443];
const API_PORT = 6443;
/** Address ranges that are not the internet: private, carrier-grade NAT, link-local. */
const INTERNAL = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'];

/** Whether a source CIDR is only inside the private network. */
const internal = (source: string) => INTERNAL.some((range) => cidrContains(range, source.split('/')[0]) && Number(source.split('/')[1] ?? 32) >= Number(range.split('/')[1]));

/** The ports a rule opens, as a list (a range gives its ends). */
function portsOf(rule: { protocol: string; ports: string }): string {
  return `${rule.protocol || 'any protocol'} ${rule.ports}`;
}

/**
 * The firewall and the buckets, from the Terraform JSON:
 * - an inbound firewall rule open to a public address (anything outside the
 *   private ranges: `0.0.0.0/0`, `::/0`, any public CIDR) opens only TCP
 *   80/443, or TCP 6443 from the config's admin ranges; load balancers,
 *   tags and droplets as sources are inside the platform;
 * - the API load balancer's own firewall allows no `0.0.0.0/0`; a Hetzner
 *   load balancer serving 6443 has no public interface (Hetzner load
 *   balancers have no source filter, so a public one answers everyone);
 * - every bucket and bucket object is `private`; the bucket holding the
 *   nodes' Ignition secret parts has an enabled lifecycle rule that expires
 *   them;
 * - with `nodes`: every node's host firewall ({@link checkHostFirewalls}),
 *   since Hetzner's firewall does not filter the private network.
 *
 * @see https://docs.hetzner.com/cloud/firewalls/faq/
 * @see https://docs.digitalocean.com/products/networking/firewalls/
 * @see https://docs.digitalocean.com/products/spaces/how-to/configure-lifecycle-rules/
 * @see https://docs.hetzner.com/cloud/load-balancers/overview
 * @see https://registry.terraform.io/providers/aminueza/minio/latest/docs/resources/s3_bucket
 * @see https://registry.terraform.io/providers/aminueza/minio/latest/docs/resources/ilm_policy
 */
export function checkFirewall(terraform: TerraformDocument, terraformFile: string, adminCidrs: readonly string[] = [], nodes?: readonly NodeInfo[]): CheckResult {
  const findings: Finding[] = [];
  const rules = inboundRules(terraform as TerraformJson);
  for (const r of rules) {
    const publicSources = r.sources.filter((s) => /^[0-9a-f.:]+(\/\d+)?$/i.test(s) && !internal(s));
    if (publicSources.length === 0) continue;
    if (PUBLIC_PORTS.some((p) => r.ports === String(p)) && /^tcp$/i.test(r.protocol)) continue;
    if (r.ports === String(API_PORT) && /^tcp$/i.test(r.protocol)) {
      const outside = publicSources.filter((s) => !adminCidrs.includes(s));
      if (outside.length === 0) continue;
      findings.push({ file: terraformFile, message: `${r.resource} opens the API server (tcp ${API_PORT}) to ${outside.join(', ')}, outside the config's adminCidrs (${adminCidrs.join(', ') || 'none'}); allow only the admin ranges` });
      continue;
    }
    findings.push({ file: terraformFile, message: `${r.resource} opens ${portsOf(r)}${opensPort(r, 22) ? ' (SSH included)' : ''} to ${publicSources.join(', ')}: only TCP 80 and 443 (and the API server for the admin ranges) may be reachable from outside; restrict its sources to the cluster's tags or load balancers` });
  }
  for (const [key, lb] of Object.entries(terraform.resource?.digitalocean_loadbalancer ?? {})) {
    const allow = asArray<string>((lb as Loose)?.firewall?.allow);
    const open = allow.filter((a) => /^cidr:(0\.0\.0\.0\/0|::\/0)$/.test(a));
    if (open.length > 0 && asArray((lb as Loose)?.forwarding_rule).some((f: Loose) => Number(f?.entry_port) === API_PORT)) findings.push({ file: terraformFile, message: `digitalocean_loadbalancer.${key} firewall allows ${open.join(', ')} to the API server: allow only the admin ranges and the nodes` });
  }
  // DigitalOcean's balancers are checked above; Hetzner's here, by infra-nodes' own assertion.
  for (const p of findOpenApiLoadBalancers(terraform as TerraformJson).filter((p) => p.resource.startsWith('hcloud_'))) {
    findings.push({ file: terraformFile, message: `${p.resource} ${p.message}` });
  }
  let buckets = 0;
  for (const [type, acl] of [['digitalocean_spaces_bucket', 'acl'], ['digitalocean_spaces_bucket_object', 'acl']] as const) {
    for (const [key, attributes] of Object.entries(terraform.resource?.[type] ?? {})) {
      if (!isRecord(attributes)) continue;
      if (type === 'digitalocean_spaces_bucket') buckets++;
      if (attributes[acl] !== undefined && attributes[acl] !== 'private') findings.push({ file: terraformFile, message: `${type}.${key} sets ${acl} = ${JSON.stringify(attributes[acl])}: anyone can read it; set ${acl} = "private"` });
    }
  }
  // The bucket the nodes' secret parts are uploaded to.
  const objects = Object.values(terraform.resource?.digitalocean_spaces_bucket_object ?? {}).filter(isRecord);
  const ignitionBuckets = new Set(objects.filter((o) => /\.ign$/.test(String(o.key))).map((o) => String(o.bucket).replace(/^\$\{digitalocean_spaces_bucket\.([^.]+)\.(name|id)\}$/, '$1')));
  for (const key of ignitionBuckets) {
    const bucket = (terraform.resource?.digitalocean_spaces_bucket ?? {})[key] as Loose;
    if (!isRecord(bucket)) continue;
    const expiring = asArray<Loose>(bucket.lifecycle_rule).some((r) => r?.enabled === true && Number(r?.expiration?.days) > 0);
    if (!expiring) findings.push({ file: terraformFile, message: `digitalocean_spaces_bucket.${key} holds the nodes' Ignition secret parts but no enabled lifecycle_rule expires them: the secrets stay readable to anyone holding an old URL or key; add lifecycle_rule { enabled = true, expiration { days = 1 } }` });
  }
  buckets += checkHetznerBuckets(terraform, terraformFile, findings);
  const host = nodes ? checkHostFirewalls(nodes) : undefined;
  if (host) findings.push(...host.findings);
  const hostText = host ? `; host firewalls on ${nodes?.length} nodes: etcd from controllers only, kubelet and Ceph from the node network and pods${host.wholeNetwork > 0 ? ` (controllers' set = the node network on ${host.wholeNetwork} controllers: addresses not pinned)` : ''}` : '';
  return check('firewall', `${rules.length} inbound firewall rules: only 80/443 (and ${API_PORT} for the admin ranges) open to the internet; ${buckets} buckets private, the Ignition secret parts expiring${hostText}`, findings, [], host?.rows);
}

/**
 * Hetzner Object Storage, as the minio provider renders it: every
 * `minio_s3_bucket` private, and the bucket that holds the nodes' secret
 * parts (`minio_s3_object`s named `*.ign`) expired by a `minio_ilm_policy`
 * rule. Returns how many buckets it read.
 */
function checkHetznerBuckets(terraform: TerraformDocument, terraformFile: string, findings: Finding[]): number {
  const buckets = Object.entries(terraform.resource?.minio_s3_bucket ?? {}).filter((e): e is [string, Loose] => isRecord(e[1]));
  for (const [key, b] of buckets) {
    if (b.acl !== undefined && b.acl !== 'private') findings.push({ file: terraformFile, message: `minio_s3_bucket.${key} sets acl = ${JSON.stringify(b.acl)}: anyone can read it; set acl = "private"` });
  }
  const refOf = (value: unknown) => /^\$\{minio_s3_bucket\.([^.]+)\.(bucket|id)\}$/.exec(String(value))?.[1];
  const objects = Object.values(terraform.resource?.minio_s3_object ?? {}).filter(isRecord) as Loose[];
  const ignitionBuckets = new Set(objects.filter((o) => /\.ign$/.test(String(o.object_name))).map((o) => refOf(o.bucket_name) ?? String(o.bucket_name)));
  const policies = Object.values(terraform.resource?.minio_ilm_policy ?? {}).filter(isRecord) as Loose[];
  for (const key of ignitionBuckets) {
    const expiring = policies.some((p) => refOf(p.bucket) === key && asArray<Loose>(p.rule).some((r) => r?.status !== 'Disabled' && /^[1-9]\d*d$/.test(String(r?.expiration ?? ''))));
    if (!expiring) findings.push({ file: terraformFile, message: `minio_s3_bucket.${key} holds the nodes' Ignition secret parts but no minio_ilm_policy rule expires them: the secrets stay readable to anyone holding an old URL or key; add a minio_ilm_policy on it with rule { expiration = "1d" }` });
  }
  return buckets.length;
}
