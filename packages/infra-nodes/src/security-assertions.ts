import { gunzipSync } from 'node:zlib';
import { RESOURCE_TYPES as DIGITALOCEAN_TYPES, USER_DATA_LIMIT_BYTES as DIGITALOCEAN_USER_DATA_LIMIT_BYTES } from './digitalocean/pins';
import { RESOURCE_TYPES as HETZNER_TYPES, USER_DATA_LIMIT_BYTES as HETZNER_USER_DATA_LIMIT_BYTES } from './hetzner/pins';
import { isKeylessSshPublicKey } from './internal/keyless-ssh-key';

/**
 * Provider-neutral checks on a parsed Terraform JSON document: the promises
 * of the security model (no SSH, no secret in user-data, only the intended
 * inbound rules, no API load balancer open to the internet) that every
 * provider's rendering must keep.
 *
 * Each check returns a list of problems, empty when the document is fine;
 * each problem names the resource address and the offending value, so a
 * test can print them all at once. Secrets are never printed in full.
 *
 * @see https://developer.hashicorp.com/terraform/language/syntax/json
 */

/**
 * The largest user-data each cloud's server accepts, in bytes, by the
 * Terraform resource type of the server: what a node's Ignition pointer must
 * fit in (everything else goes into the secret part it fetches).
 *
 * @see https://docs.digitalocean.com/products/droplets/how-to/provide-user-data/ (64 KiB)
 * @see https://docs.hetzner.cloud/reference/cloud#servers-create-a-server (32 KiB)
 */
export const USER_DATA_LIMIT_BYTES: Readonly<Record<string, number>> = {
  [DIGITALOCEAN_TYPES.server]: DIGITALOCEAN_USER_DATA_LIMIT_BYTES,
  [HETZNER_TYPES.server]: HETZNER_USER_DATA_LIMIT_BYTES,
};

/**
 * The Terraform resource types every provider renders, for readers of the
 * rendered Terraform (verify, rehearse): each cloud's servers, buckets and
 * SSH keys, declared in the cloud's own folder.
 */
export const CLOUD_RESOURCE_TYPES: { readonly servers: readonly string[]; readonly buckets: readonly string[]; readonly sshKeys: readonly string[] } = {
  servers: [DIGITALOCEAN_TYPES.server, HETZNER_TYPES.server],
  buckets: [DIGITALOCEAN_TYPES.bucket, HETZNER_TYPES.bucket],
  sshKeys: [DIGITALOCEAN_TYPES.sshKey, HETZNER_TYPES.sshKey],
};

/** A parsed Terraform JSON document (`JSON.parse` of `main.tf.json`). */
export interface TerraformJson {
  readonly resource?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly data?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly [key: string]: unknown;
}

/** One problem found in a document. */
export interface SecurityProblem {
  /** `<type>.<name>`, or `data.<type>.<name>` for a data source. */
  readonly resource: string;
  /** What is wrong, with the offending value. */
  readonly message: string;
}

/** A resource or data source of a document. */
export interface TerraformBlock {
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** An inbound firewall rule, the same shape for every provider. */
export interface InboundRule {
  /** Address of the firewall resource. */
  readonly resource: string;
  /** `tcp`, `udp`, `icmp`, ... as written. */
  readonly protocol: string;
  /** A port (`"22"`), a range (`"6800-7300"`), or `"all"` for every port (also when none is given). */
  readonly ports: string;
  /**
   * Where traffic may come from: CIDRs as written, and references prefixed by
   * kind: `tag:<tag>`, `load_balancer:<uid>`, `droplet:<id>`, `kubernetes:<id>`.
   */
  readonly sources: readonly string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A nested block may be written as one object or a list of objects. */
const blocks = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : isRecord(v) ? [v] : []);

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)]);

/** Every resource (and, with `data: true`, data source) of a document, optionally of one type. */
export function listResources(doc: TerraformJson, options: { type?: string; data?: boolean } = {}): TerraformBlock[] {
  const out: TerraformBlock[] = [];
  const sections: Array<[string, unknown]> = [['', doc.resource]];
  if (options.data) sections.push(['data.', doc.data]);
  for (const [prefix, section] of sections) {
    if (!isRecord(section)) continue;
    for (const [type, byName] of Object.entries(section)) {
      if ((options.type && type !== options.type) || !isRecord(byName)) continue;
      for (const [name, attributes] of Object.entries(byName)) {
        for (const block of blocks(attributes)) out.push({ address: `${prefix}${type}.${name}`, type, name, attributes: block });
      }
    }
  }
  return out;
}

/**
 * Inbound rules of DigitalOcean firewalls (`digitalocean_firewall.inbound_rule`)
 * and Hetzner Cloud firewalls (`hcloud_firewall.rule` with `direction = "in"`).
 *
 * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/firewall
 * @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/firewall
 */
export function inboundRules(doc: TerraformJson): InboundRule[] {
  const rules: InboundRule[] = [];
  for (const fw of listResources(doc, { type: 'digitalocean_firewall' })) {
    for (const rule of blocks(fw.attributes.inbound_rule)) {
      rules.push({
        resource: fw.address,
        protocol: String(rule.protocol ?? ''),
        ports: portsOf(rule.port_range),
        sources: [
          ...strings(rule.source_addresses),
          ...strings(rule.source_tags).map((t) => `tag:${t}`),
          ...strings(rule.source_load_balancer_uids).map((u) => `load_balancer:${u}`),
          ...strings(rule.source_droplet_ids).map((d) => `droplet:${d}`),
          ...strings(rule.source_kubernetes_ids).map((k) => `kubernetes:${k}`),
        ],
      });
    }
  }
  for (const fw of listResources(doc, { type: 'hcloud_firewall' })) {
    for (const rule of blocks(fw.attributes.rule)) {
      if (rule.direction !== 'in') continue;
      rules.push({ resource: fw.address, protocol: String(rule.protocol ?? ''), ports: portsOf(rule.port), sources: strings(rule.source_ips) });
    }
  }
  return rules;
}

function portsOf(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v).trim();
  return s === '' || s === 'any' || s === 'all' || s === '0' ? 'all' : s;
}

/**
 * Whether a rule lets `port` in: a single port, a range (`"1-65535"`) or all
 * ports, for TCP/UDP (or any protocol when the rule names none).
 */
export function opensPort(rule: Pick<InboundRule, 'protocol' | 'ports'>, port: number, protocol: 'tcp' | 'udp' = 'tcp'): boolean {
  const p = rule.protocol.toLowerCase();
  if (p !== protocol && p !== '' && p !== 'any' && p !== 'all') return false;
  if (rule.ports === 'all') return true;
  return rule.ports.split(',').some((part) => {
    const [from, to = from] = part.trim().split('-').map((x) => Number(x.trim()));
    return Number.isFinite(from) && Number.isFinite(to) && from <= port && port <= to;
  });
}

export { isKeylessSshPublicKey, keylessSshPublicKey } from './internal/keyless-ssh-key';

const SSH_KEY_TYPES = new Set(CLOUD_RESOURCE_TYPES.sshKeys);

/**
 * The SSH key resources whose `public_key` is keyless (a point hashed onto
 * the curve from the cluster name: no private half exists anywhere), by
 * type and name: the only keys a node may be given, where a cloud requires one.
 */
export function keylessSshKeys(doc: TerraformJson): TerraformBlock[] {
  return listResources(doc).filter((b) => SSH_KEY_TYPES.has(b.type) && typeof b.attributes.public_key === 'string' && isKeylessSshPublicKey(b.attributes.public_key));
}

/** Whether `value` is a reference to the `id` or `fingerprint` of one of `keyless`. */
const refersToKeyless = (value: unknown, keyless: readonly TerraformBlock[]): boolean =>
  typeof value === 'string' && keyless.some((k) => value === `\${${k.type}.${k.name}.fingerprint}` || value === `\${${k.type}.${k.name}.id}`);

/**
 * Every way into a node over SSH: an `ssh_keys` attribute anywhere (even
 * empty: the promise is that none is ever passed) unless it lists only keyless
 * keys of the same document, an inbound rule that opens TCP 22 (ranges and
 * "all" included), an SSH key data source, or an SSH key resource whose
 * public key is not keyless (one whose private half may exist).
 */
export function findSshAccess(doc: TerraformJson): SecurityProblem[] {
  const problems: SecurityProblem[] = [];
  const keyless = keylessSshKeys(doc);
  for (const block of listResources(doc, { data: true })) {
    if (SSH_KEY_TYPES.has(block.type) && !keyless.some((k) => k.address === block.address)) {
      problems.push({ resource: block.address, message: `declares an SSH key (${block.type}) that is not keyless: its private half may exist` });
    }
    walk(block.attributes, '', (path, key, value) => {
      if (key !== 'ssh_keys') return;
      if (Array.isArray(value) && value.length > 0 && value.every((v) => refersToKeyless(v, keyless))) return;
      problems.push({ resource: block.address, message: `sets ${path} = ${JSON.stringify(value)}` });
    });
  }
  for (const rule of inboundRules(doc)) {
    if (opensPort(rule, 22)) {
      problems.push({ resource: rule.resource, message: `opens port 22: ${rule.protocol} ${rule.ports} from ${rule.sources.join(', ') || 'nowhere listed'}` });
    }
  }
  return problems;
}

function walk(value: unknown, path: string, visit: (path: string, key: string, value: unknown) => void): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
  } else if (isRecord(value)) {
    for (const [key, v] of Object.entries(value)) {
      const p = path ? `${path}.${key}` : key;
      visit(p, key, v);
      walk(v, p, visit);
    }
  }
}

/** Options of {@link findSecretsInUserData}. */
export interface SecretScanOptions {
  /** Exact strings that must not appear (a bootstrap token, a key's base64), e.g. from the secrets bundle. */
  readonly tokens?: readonly string[];
}

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----/;
const KUBEADM_TOKEN = /(?<![a-z0-9])([a-z0-9]{6})\.[a-z0-9]{16}(?![a-z0-9])/;

/**
 * Secrets in any resource's `user_data` (droplets, servers): a PEM block, a
 * kubeadm bootstrap token, or one of `options.tokens`. User-data is read
 * through Terraform's template escapes and into Ignition's inline `data:`
 * URLs (base64, percent-encoded, gzip), where plain text search would miss
 * them. A `user_data` that is not a literal (a `${...}` reference) cannot be
 * proven clean and is reported too.
 */
export function findSecretsInUserData(doc: TerraformJson, options: SecretScanOptions = {}): SecurityProblem[] {
  const problems: SecurityProblem[] = [];
  const tokens = (options.tokens ?? []).filter((t) => t.length > 0);
  for (const block of listResources(doc)) {
    const raw = block.attributes.user_data;
    if (raw === undefined) continue;
    if (typeof raw !== 'string') {
      problems.push({ resource: block.address, message: `user_data is not a string (${typeof raw}); cannot prove it holds no secret` });
      continue;
    }
    const reference = /(?<!\$)\$\{([^}]*)\}/.exec(raw);
    if (reference) {
      problems.push({ resource: block.address, message: `user_data refers to \${${reference[1]}}; only literal user-data can be proven free of secrets` });
    }
    for (const { where, text } of readableTexts(untemplate(raw))) {
      const pem = PEM.exec(text);
      if (pem) problems.push({ resource: block.address, message: `user_data ${where} holds a PEM block "-----BEGIN ${pem[1]}-----"` });
      const token = KUBEADM_TOKEN.exec(text);
      if (token) problems.push({ resource: block.address, message: `user_data ${where} holds a kubeadm token "${token[1]}.****************"` });
      tokens.forEach((secret, i) => {
        if (text.includes(secret)) problems.push({ resource: block.address, message: `user_data ${where} holds secret #${i + 1} ("${redact(secret)}")` });
      });
    }
  }
  return problems;
}

const redact = (secret: string): string => (secret.length <= 8 ? '****' : `${secret.slice(0, 4)}…(${secret.length} characters)`);

/** The text Terraform passes on for a JSON string: `$${` and `%%{` are escapes for `${` and `%{`. */
const untemplate = (s: string): string => s.replace(/\$\$\{/g, () => '${').replace(/%%\{/g, () => '%{');

/**
 * The user-data itself, then every inline `data:` URL in it decoded: from a
 * JSON Ignition config's string values, or found in plain text.
 */
function readableTexts(userData: string): Array<{ where: string; text: string }> {
  const texts = [{ where: 'text', text: userData }];
  const sources = new Set<string>();
  try {
    walkStrings(JSON.parse(userData), (s) => {
      if (s.startsWith('data:')) sources.add(s);
    });
  } catch {
    // Not JSON (a cloud-config or script): look for data URLs in the text instead.
  }
  for (const match of userData.matchAll(/data:[^,\s"']*,[^\s"']*/g)) sources.add(match[0]);
  for (const source of sources) {
    const decoded = decodeDataUrl(source);
    if (decoded !== undefined) texts.push({ where: `(inline ${source.slice(0, source.indexOf(',') + 1)}… decoded)`, text: decoded });
  }
  return texts;
}

function walkStrings(value: unknown, visit: (s: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) value.forEach((v) => walkStrings(v, visit));
  else if (isRecord(value)) Object.values(value).forEach((v) => walkStrings(v, visit));
}

function decodeDataUrl(source: string): string | undefined {
  const comma = source.indexOf(',');
  const meta = source.slice(5, comma);
  const payload = source.slice(comma + 1);
  let bytes: Buffer;
  try {
    bytes = /(^|;)base64$/i.test(meta) ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'utf8');
  } catch {
    return undefined;
  }
  // gzip magic: Ignition's `compression: gzip` contents.
  if (bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      return undefined;
    }
  }
  return bytes.toString('utf8');
}

/** The Kubernetes API port. */
const API_PORT = 6443;

/** Allow-list entries that let in every address. */
const ANY_ADDRESS = new Set(['cidr:0.0.0.0/0', 'cidr:::/0']);

const servesApi = (...ports: unknown[]): boolean => ports.some((p) => p !== undefined && p !== null && Number(p) === API_PORT);

/**
 * Load balancers that answer the Kubernetes API (6443, as listen or target
 * port) to the whole internet. Firewalls on the nodes cannot see this: the
 * balancer forwards from its own address, which the node firewall allows.
 *
 * - DigitalOcean `digitalocean_loadbalancer` with a 6443 forwarding rule, not
 *   `network = "INTERNAL"`, and no `firewall` allow list (or one allowing
 *   0.0.0.0/0 or ::/0).
 * - Hetzner `hcloud_load_balancer` with a 6443 `hcloud_load_balancer_service`
 *   and its public interface on: no `hcloud_load_balancer_network` of it sets
 *   `enable_public_interface = false` (Hetzner load balancers have no source
 *   filter, so a public one answers everyone). Services and networks are
 *   matched to the balancer by reference (`${hcloud_load_balancer.<name>.id}`).
 *
 * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/loadbalancer
 * @see https://registry.terraform.io/providers/hetznercloud/hcloud/latest/docs/resources/load_balancer_network
 */
export function findOpenApiLoadBalancers(doc: TerraformJson): SecurityProblem[] {
  const problems: SecurityProblem[] = [];
  for (const lb of listResources(doc, { type: 'digitalocean_loadbalancer' })) {
    const api = blocks(lb.attributes.forwarding_rule).filter((r) => servesApi(r.entry_port, r.target_port));
    if (api.length === 0 || String(lb.attributes.network ?? '').toUpperCase() === 'INTERNAL') continue;
    const forwards = api.map((r) => `${String(r.entry_port)}->${String(r.target_port)}`).join(', ');
    const allow = blocks(lb.attributes.firewall).flatMap((f) => strings(f.allow));
    const open = allow.filter((a) => ANY_ADDRESS.has(a.replace(/\s/g, '')));
    if (allow.length === 0) {
      problems.push({ resource: lb.address, message: `forwards ${forwards} from the internet with no firewall allow list; set firewall.allow to the admin CIDRs and the nodes` });
    } else if (open.length > 0) {
      problems.push({ resource: lb.address, message: `forwards ${forwards}, and its firewall allows ${open.join(', ')} (every address)` });
    }
  }
  const refersTo = (block: TerraformBlock, lb: TerraformBlock) => strings(block.attributes.load_balancer_id).some((id) => id.includes(`hcloud_load_balancer.${lb.name}.`));
  const services = listResources(doc, { type: 'hcloud_load_balancer_service' });
  const networks = listResources(doc, { type: 'hcloud_load_balancer_network' });
  for (const lb of listResources(doc, { type: 'hcloud_load_balancer' })) {
    const api = services.filter((s) => refersTo(s, lb) && servesApi(s.attributes.listen_port, s.attributes.destination_port));
    if (api.length === 0) continue;
    const privateOnly = networks.some((n) => refersTo(n, lb) && String(n.attributes.enable_public_interface) === 'false');
    if (privateOnly) continue;
    problems.push({
      resource: lb.address,
      message: `serves 6443 (${api.map((s) => s.address).join(', ')}) on its public interface, and Hetzner load balancers have no source filter; attach it with hcloud_load_balancer_network enable_public_interface = false`,
    });
  }
  return problems;
}
