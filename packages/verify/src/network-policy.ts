// The network-policy check: every namespace that runs pods denies by default,
// nothing opens everything, and pods never reach the cloud's metadata service.
import { NETWORK_POLICY_EXCEPTIONS, type NetworkPolicyException } from './exceptions';
import { neverApplied, POD_KINDS, selectsAll } from './objects';
import { asArray, check, describe, isRecord, type CheckResult, type Finding, type K8sObject, type Loose, type Manifest } from './types';

/** Where a server's user-data is served (on most clouds). */
export const METADATA_ADDRESS = '169.254.169.254';

/** Custom resources that make pods in their namespace (operators run them). */
const POD_MAKERS = new Set(['Cluster', 'CephCluster', 'CephFilesystem', 'CephObjectStore']);

const EXCEPTIONS_FILE = 'packages/verify/src/exceptions.ts';

/** An IPv4 CIDR as [network, mask]; undefined for IPv6 or garbage. */
function cidr4(text: unknown): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(String(text ?? '').trim());
  if (!m) return undefined;
  const bits = m[5] === undefined ? 32 : Number(m[5]);
  if (bits > 32) return undefined;
  const ip = m.slice(1, 5).reduce((n, o) => n * 256 + Number(o), 0);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [(ip & mask) >>> 0, mask];
}

/** Whether `range` (a CIDR) holds `address`. */
export function cidrContains(range: unknown, address: string): boolean {
  const r = cidr4(range);
  const a = cidr4(address);
  return r !== undefined && a !== undefined && ((a[0] & r[1]) >>> 0) === r[0];
}

/** A NetworkPolicy's effective policy types (the API's defaulting when `policyTypes` is unset). */
function policyTypes(spec: Loose): string[] {
  if (Array.isArray(spec?.policyTypes)) return spec.policyTypes;
  return ['Ingress', ...(spec?.egress !== undefined ? ['Egress'] : [])];
}

/** Whether a rule lets everything in (or out): no peer restriction and no port restriction. */
function opensEverything(rule: Loose, peers: 'from' | 'to'): boolean {
  if (!isRecord(rule)) return false;
  const list = asArray<Loose>(rule[peers]);
  const anyPeer = list.length === 0 || list.some((p) => isRecord(p) && ((isRecord(p.namespaceSelector) && selectsAll(p.namespaceSelector) && (p.podSelector === undefined || selectsAll(p.podSelector))) || (isRecord(p.ipBlock) && (p.ipBlock.cidr === '0.0.0.0/0' || p.ipBlock.cidr === '::/0'))));
  return anyPeer && asArray(rule.ports).length === 0;
}

/** Whether a Cilium rule reaches every endpoint or the whole world on every port. */
function ciliumOpensEverything(rule: Loose, entities: 'fromEntities' | 'toEntities', cidrs: 'fromCIDR' | 'toCIDR'): boolean {
  if (!isRecord(rule) || asArray(rule.toPorts).length > 0) return false;
  const ents = asArray<string>(rule[entities]);
  const nets = [...asArray<string>(rule[cidrs]), ...asArray<Loose>(rule[`${cidrs}Set`]).map((c) => c?.cidr)];
  return ents.includes('all') || ents.includes('world') || nets.includes('0.0.0.0/0');
}

/** The rule specs of a Cilium policy (`spec` and `specs`). */
const ciliumSpecs = (o: K8sObject): Loose[] => [...(isRecord(o.spec) ? [o.spec] : []), ...asArray<Loose>((o as Loose).specs)];

/** Whether a Cilium rule spec denies every endpoint's egress to the metadata service. */
function blocksMetadata(spec: Loose): boolean {
  if (!isRecord(spec) || !selectsAll(spec.endpointSelector)) return false;
  return asArray<Loose>(spec.egressDeny).some((rule) => {
    if (asArray(rule?.toPorts).length > 0) return false;
    const sets = [...asArray<string>(rule?.toCIDR).map((c) => ({ cidr: c, except: [] as string[] })), ...asArray<Loose>(rule?.toCIDRSet).map((c) => ({ cidr: c?.cidr, except: asArray<string>(c?.except) }))];
    return sets.some((s) => cidrContains(s.cidr, METADATA_ADDRESS) && !s.except.some((e) => cidrContains(e, METADATA_ADDRESS)));
  });
}

const exceptionMatches = (e: NetworkPolicyException, namespace: string, what: NetworkPolicyException['rule'], policy?: string) =>
  e.namespace === namespace && e.rule === what && (e.policy === undefined || e.policy === policy);

/**
 * Network policy on the desired state (the charts' own NetworkPolicies
 * included):
 * - every namespace that runs pods (a workload, or a custom resource whose
 *   operator makes pods: a CloudNativePG Cluster, a CephCluster) has a
 *   default-deny NetworkPolicy: `podSelector: {}`, policy types Ingress and
 *   Egress, no rules;
 * - no NetworkPolicy rule (nor Cilium policy rule) lets everything in or
 *   out: no peer restriction (or every namespace, or 0.0.0.0/0) and no port
 *   restriction;
 * - pods never reach the metadata service (169.254.169.254, where droplet
 *   user-data is served): a CiliumClusterwideNetworkPolicy selecting every
 *   endpoint denies egress to a CIDR holding it, and Cilium enforces policy
 *   (`enable-policy` is not `never`). Without Cilium, every NetworkPolicy
 *   egress ipBlock that holds the address must list it in `except`.
 *
 * Deviations only through {@link NETWORK_POLICY_EXCEPTIONS}, each with its
 * reason; one that excuses nothing rendered fails as stale.
 *
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies
 * @see https://docs.cilium.io/en/stable/security/policy/language/#deny-policies
 * @see https://docs.digitalocean.com/reference/api/metadata/
 */
export function checkNetworkPolicy(manifests: readonly Manifest[], exceptions: readonly NetworkPolicyException[] = NETWORK_POLICY_EXCEPTIONS): CheckResult {
  const findings: Finding[] = [];
  const used = new Set<NetworkPolicyException>();
  const excused = (namespace: string, rule: NetworkPolicyException['rule'], policy?: string) => {
    const e = exceptions.find((x) => exceptionMatches(x, namespace, rule, policy));
    if (e) used.add(e);
    return e !== undefined;
  };
  const applied = manifests.filter((m) => !neverApplied(m.object));
  const policies = applied.filter((m) => m.object.kind === 'NetworkPolicy' && String(m.object.apiVersion).startsWith('networking.k8s.io/'));
  const nsOf = (o: K8sObject) => o.metadata?.namespace ?? 'default';

  // Namespaces that run pods, with the first thing that runs one (for the message).
  const running = new Map<string, Manifest>();
  for (const m of applied) {
    if (!POD_KINDS.has(String(m.object.kind)) && !POD_MAKERS.has(String(m.object.kind))) continue;
    if (!running.has(nsOf(m.object))) running.set(nsOf(m.object), m);
  }
  for (const [namespace, first] of [...running].sort(([a], [b]) => a.localeCompare(b))) {
    const mine = policies.filter((p) => nsOf(p.object) === namespace);
    const deny = mine.find((p) => {
      const spec = p.object.spec ?? {};
      const types = policyTypes(spec);
      return selectsAll(spec.podSelector) && types.includes('Ingress') && types.includes('Egress') && asArray(spec.ingress).length === 0 && asArray(spec.egress).length === 0;
    });
    if (deny || excused(namespace, 'default-deny')) continue;
    const near = mine.find((p) => selectsAll(p.object.spec?.podSelector) && /deny/.test(String(p.object.metadata?.name)));
    const why = near
      ? `its ${describe(near.object)} is not one (it needs podSelector: {}, policyTypes [Ingress, Egress] and no ingress or egress rules; it has ${JSON.stringify({ podSelector: near.object.spec?.podSelector, policyTypes: near.object.spec?.policyTypes, ingress: near.object.spec?.ingress, egress: near.object.spec?.egress })})`
      : 'none of its NetworkPolicies is one';
    findings.push({ file: near?.file ?? first.file, message: `namespace ${namespace} runs pods (${describe(first.object)}) but has no default-deny NetworkPolicy for ingress and egress selecting every pod: ${why}; add NetworkPolicy ${namespace}/default-deny with podSelector: {} and policyTypes [Ingress, Egress]` });
  }

  // No rule that opens everything.
  for (const { file, object } of policies) {
    const spec = object.spec ?? {};
    const types = policyTypes(spec);
    for (const [list, peers, type] of [['ingress', 'from', 'Ingress'], ['egress', 'to', 'Egress']] as const) {
      if (!types.includes(type)) continue;
      const open = asArray<Loose>(spec[list]).findIndex((r) => opensEverything(r, peers));
      if (open < 0 || excused(nsOf(object), 'allow-all', object.metadata?.name)) continue;
      findings.push({ file, message: `${describe(object)}: spec.${list}[${open}] ${JSON.stringify(spec[list][open])} allows all ${type.toLowerCase()} traffic (no ${peers} restriction and no ports), undoing the namespace's default-deny; name the peers and ports it needs` });
    }
  }
  const cilium = applied.filter((m) => /^(CiliumNetworkPolicy|CiliumClusterwideNetworkPolicy)$/.test(String(m.object.kind)));
  for (const { file, object } of cilium) {
    ciliumSpecs(object).forEach((spec, i) => {
      for (const [list, entities, cidrs] of [['ingress', 'fromEntities', 'fromCIDR'], ['egress', 'toEntities', 'toCIDR']] as const) {
        const open = asArray<Loose>(spec?.[list]).findIndex((r) => ciliumOpensEverything(r, entities, cidrs));
        if (open < 0 || excused(nsOf(object), 'allow-all', object.metadata?.name)) continue;
        findings.push({ file, message: `${describe(object)}: ${Array.isArray((object as Loose).specs) ? `specs[${i}]` : 'spec'}.${list}[${open}] ${JSON.stringify(spec[list][open]).slice(0, 160)} allows all ${list} traffic of the endpoints it selects (every entity or the world, on every port); name the entities and ports it needs` });
      }
    });
  }

  // The metadata service.
  const ciliumConfig = applied.find((m) => m.object.kind === 'ConfigMap' && m.object.metadata?.name === 'cilium-config');
  let metadata = 'no pod network with policy found';
  const unenforced: Finding[] = [];
  if (ciliumConfig) {
    const mode = String((ciliumConfig.object as Loose).data?.['enable-policy'] ?? 'default');
    if (mode === 'never') findings.push({ file: ciliumConfig.file, message: `ConfigMap kube-system/cilium-config sets enable-policy "never": Cilium enforces no NetworkPolicy at all (no default-deny, no metadata block); remove the chart value policyEnforcementMode: never (use default)` });
    const blocker = cilium.find((m) => m.object.kind === 'CiliumClusterwideNetworkPolicy' && ciliumSpecs(m.object).some(blocksMetadata));
    if (blocker) metadata = `${describe(blocker.object)} denies every pod egress to ${METADATA_ADDRESS}`;
    else {
      const near = cilium.find((m) => m.object.kind === 'CiliumClusterwideNetworkPolicy' && /link-local|metadata/.test(String(m.object.metadata?.name)));
      findings.push({
        file: near?.file ?? ciliumConfig.file,
        message: `no CiliumClusterwideNetworkPolicy denies every pod egress to the metadata service ${METADATA_ADDRESS} (where each server's user-data is served)${near ? `: ${describe(near.object)} does not (it needs endpointSelector: {} and egressDeny toCIDRSet holding ${METADATA_ADDRESS}, not excepted, on every port)` : ''}; render keelson-deny-link-local with endpointSelector: {} and egressDeny [{ toCIDRSet: [{ cidr: 169.254.0.0/16 }] }]`,
      });
    }
  } else {
    const flannel = applied.find((m) => m.object.kind === 'ConfigMap' && m.object.metadata?.name === 'kube-flannel-cfg');
    if (flannel) {
      unenforced.push({
        file: flannel.file,
        message: `the pod network is flannel, which enforces no NetworkPolicy: the default-deny policies are rendered but not enforced, and pods can reach the metadata service ${METADATA_ADDRESS} (each server's user-data); use network: cilium for these promises`,
      });
    }
    for (const { file, object } of policies) {
      asArray<Loose>(object.spec?.egress).forEach((rule, i) =>
        asArray<Loose>(rule?.to).forEach((peer) => {
          const block = peer?.ipBlock;
          if (isRecord(block) && cidrContains(block.cidr, METADATA_ADDRESS) && !asArray<string>(block.except).some((e) => cidrContains(e, METADATA_ADDRESS))) {
            findings.push({ file, message: `${describe(object)}: spec.egress[${i}] allows ${String(block.cidr)}, which holds the metadata service ${METADATA_ADDRESS}; add 169.254.0.0/16 to its except` });
          }
        }),
      );
    }
    metadata = unenforced.length > 0 ? 'NOT ENFORCED by the pod network (flannel)' : `every egress ipBlock excepts ${METADATA_ADDRESS}`;
  }

  // Exceptions that excuse nothing rendered are stale.
  for (const e of exceptions) {
    if (used.has(e)) continue;
    if (!running.has(e.namespace) && !policies.some((p) => nsOf(p.object) === e.namespace)) continue;
    findings.push({ file: EXCEPTIONS_FILE, message: `stale exception: network policy ${e.rule} in namespace ${e.namespace}${e.policy ? ` (${e.policy})` : ''} excuses nothing rendered: remove it from NETWORK_POLICY_EXCEPTIONS` });
  }
  return check('network-policy', `${running.size} namespaces run pods, ${policies.length} NetworkPolicies and ${cilium.length} Cilium policies; ${metadata}; ${used.size} listed exceptions`, findings, [...unenforced, ...[...used].map((e) => ({ file: EXCEPTIONS_FILE, message: `excused: ${e.rule} in namespace ${e.namespace}${e.policy ? ` (${e.policy})` : ''}: ${e.reason}` }))]);
}
