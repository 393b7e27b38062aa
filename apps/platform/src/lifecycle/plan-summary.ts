// The cdktf-free entry point: the plan summary never loads the providers.
import { CLOUD_RESOURCE_TYPES } from '@keelson/infra-nodes/security-assertions';
import type { MonthlyCost, PlatformSpec } from '@keelson/platform-spec';

/** What a plan does to one category of resources. */
export interface CategoryChanges {
  readonly category: PlanCategory;
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
  /** Replaced (destroy then create, or create then destroy): counted here only. */
  readonly replace: number;
  /** Addresses destroyed or replaced: the ones worth a second look. */
  readonly risky: readonly string[];
  /** Resource types seen in this category. */
  readonly types: readonly string[];
}

/** A Terraform plan, counted by what a platform owner cares about. */
export interface PlanSummary {
  /** `terraform`: from `terraform show -json tfplan`; `rendered`: from main.tf.json, as if nothing existed yet. */
  readonly source: 'terraform' | 'rendered';
  /** Why Terraform's own plan could not be used (one line), for `rendered`. */
  readonly reason?: string;
  readonly categories: readonly CategoryChanges[];
  readonly totals: { readonly add: number; readonly change: number; readonly destroy: number; readonly replace: number };
}

export type PlanCategory = 'nodes' | 'load balancers' | 'volumes' | 'buckets' | 'firewalls' | 'DNS' | 'other';

const CATEGORIES: readonly [PlanCategory, RegExp][] = [
  // Each cloud's server type, as its node provider declares it.
  ['nodes', new RegExp(`^(${CLOUD_RESOURCE_TYPES.servers.join('|')})$`)],
  ['load balancers', /(loadbalancer|load_balancer)/],
  ['volumes', /_volume/],
  ['buckets', /(bucket|_ilm_)/],
  ['firewalls', /firewall/],
  ['DNS', /(_record|_domain|_dns|_zone|_rrset)/],
];

/** Sorts a resource type into a {@link PlanCategory}. */
export function categoryOf(type: string): PlanCategory {
  return CATEGORIES.find(([, re]) => re.test(type))?.[0] ?? 'other';
}

type Action = 'add' | 'change' | 'destroy' | 'replace';

function summarize(source: PlanSummary['source'], changes: readonly { type: string; address: string; action: Action }[], reason?: string): PlanSummary {
  const byCategory = new Map<PlanCategory, { add: number; change: number; destroy: number; replace: number; risky: string[]; types: Set<string> }>();
  for (const [c] of [...CATEGORIES, ['other'] as const]) byCategory.set(c, { add: 0, change: 0, destroy: 0, replace: 0, risky: [], types: new Set() });
  for (const c of changes) {
    const entry = byCategory.get(categoryOf(c.type))!;
    entry[c.action] += 1;
    entry.types.add(c.type);
    if (c.action === 'destroy' || c.action === 'replace') entry.risky.push(c.address);
  }
  const categories = [...byCategory].map(([category, e]) => ({ category, add: e.add, change: e.change, destroy: e.destroy, replace: e.replace, risky: e.risky, types: [...e.types].sort() }));
  const sum = (k: Action) => categories.reduce((n, c) => n + c[k], 0);
  return { source, reason, categories, totals: { add: sum('add'), change: sum('change'), destroy: sum('destroy'), replace: sum('replace') } };
}

/**
 * Summarizes `terraform show -json tfplan`: each `resource_changes[]`
 * entry's `change.actions` (`["create"]`, `["update"]`, `["delete"]`,
 * `["delete","create"]` or `["create","delete"]` for a replacement;
 * `["no-op"]` and `["read"]` are not changes).
 *
 * @see https://developer.hashicorp.com/terraform/internals/json-format#change-representation
 */
export function summarizeTerraformPlan(showJson: string): PlanSummary {
  const plan = JSON.parse(showJson) as { resource_changes?: { address?: string; type?: string; mode?: string; change?: { actions?: string[] } }[] };
  const changes = (plan.resource_changes ?? []).flatMap((rc) => {
    if (rc.mode === 'data') return [];
    const a = rc.change?.actions ?? [];
    const action: Action | undefined =
      a.length === 2 ? 'replace' : a[0] === 'create' ? 'add' : a[0] === 'update' ? 'change' : a[0] === 'delete' ? 'destroy' : undefined;
    return action ? [{ type: rc.type ?? '?', address: rc.address ?? '?', action }] : [];
  });
  return summarize('terraform', changes);
}

/**
 * Summarizes the rendered Terraform JSON (`main.tf.json`) as Terraform would
 * plan it against empty state: every resource added. Used when Terraform
 * cannot run or cannot reach the cloud; `reason` says why, in one line.
 */
export function summarizeRenderedTerraform(mainTfJson: string, reason: string): PlanSummary {
  const doc = JSON.parse(mainTfJson) as { resource?: Record<string, Record<string, unknown>> };
  const changes = Object.entries(doc.resource ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((name) => ({ type, address: `${type}.${name}`, action: 'add' as const })));
  return summarize('rendered', changes, reason);
}

/** Whether applying the plan would change anything. */
export function planHasChanges(summary: PlanSummary): boolean {
  const t = summary.totals;
  return t.add + t.change + t.destroy + t.replace > 0;
}

/** The summary in one screen: a headline, one line per category, and what is destroyed or replaced. */
export function formatPlanSummary(summary: PlanSummary): string[] {
  const t = summary.totals;
  const head =
    summary.source === 'terraform'
      ? `Terraform plan: ${t.add} to add, ${t.change} to change, ${t.destroy} to destroy, ${t.replace} to replace`
      : `Terraform plan (from infra-out/main.tf.json, as if nothing existed yet): ${t.add} to add`;
  const lines = [head];
  if (summary.reason) lines.push(`  (not from Terraform: ${summary.reason})`);
  for (const c of summary.categories) {
    if (c.add + c.change + c.destroy + c.replace === 0) continue;
    const counts = [c.add && `+${c.add}`, c.change && `~${c.change}`, c.destroy && `-${c.destroy}`, c.replace && `-/+${c.replace}`].filter(Boolean).join(' ');
    lines.push(`  ${c.category.padEnd(15)} ${counts.padEnd(14)} ${c.types.join(', ')}`);
    const shown = c.risky.slice(0, 3);
    for (const address of shown) lines.push(`    ! ${address}`);
    if (c.risky.length > shown.length) lines.push(`    ! ... and ${c.risky.length - shown.length} more`);
  }
  if (!planHasChanges(summary)) lines.push('  no changes: the infrastructure matches the configuration');
  return lines;
}

/** `$1,234.50` or `€1,234.50`. */
function money(amount: number, currency: MonthlyCost['currency']): string {
  return `${currency === 'USD' ? '$' : '€'}${amount.toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/**
 * The monthly cost in one screen: one line per priced item, the total, and
 * what the fault budget costs in it, said plainly: the etcd members beyond
 * one (2k+1 controllers where a cluster that may lose nothing needs one) and
 * the Ceph copies beyond one (k+2 copies of every byte, so that share of the
 * volumes holds copies).
 */
export function formatMonthlyCost(cost: MonthlyCost, spec: Pick<PlatformSpec, 'budget' | 'config'>): string[] {
  const $ = (n: number | undefined) => (n === undefined ? 'not priced' : money(n, cost.currency));
  const lines = [`Monthly cost (list prices of ${cost.pricesAsOf}; refresh: ${cost.source}):`];
  for (const l of cost.lines) {
    lines.push(`  ${l.kind.padEnd(15)} ${l.item.padEnd(48)} ${$(l.monthly).padStart(11)}${l.note ? `  ${l.note}` : ''}`);
  }
  lines.push(`  ${'total'.padEnd(15)} ${(cost.complete ? '' : 'at least (some lines are not priced)').padEnd(48)} ${$(cost.total).padStart(11)} a month`);
  if (cost.caveat) lines.push(`  ! ${cost.caveat}`);

  const { budget, config } = spec;
  const controllers = cost.lines.find((l) => l.kind === 'controllers');
  const volumes = cost.lines.find((l) => l.kind === 'volumes');
  const promise = budget.model === 'any-third' ? `any ${budget.k} of ${budget.nodes} nodes may fail` : `any one of ${budget.failureDomains} zones may fail`;
  const extraMembers = budget.etcdMembers - 1;
  const etcd =
    controllers?.unitPrice !== undefined
      ? `${money(extraMembers * controllers.unitPrice, cost.currency)} a month for ${extraMembers} controllers more than a cluster that may lose none (etcd keeps ${budget.etcdMembers} members${budget.model === 'any-third' ? ', 2k+1' : ''})`
      : `${extraMembers} controllers more than a cluster that may lose none (etcd keeps ${budget.etcdMembers} members; their size is not priced)`;
  const raw = budget.nodes * config.nodes.volumeSizeGiB;
  const copies = budget.poolSize;
  const storage =
    volumes?.monthly !== undefined
      ? `${money((volumes.monthly * (copies - 1)) / copies, cost.currency)} a month of the ${money(volumes.monthly, cost.currency)} of volumes holds extra copies (Ceph keeps ${copies}${budget.model === 'any-third' ? ', k+2' : ''}: ${raw} GiB raw hold ${Math.floor(raw / copies)} GiB)`
      : `Ceph keeps ${copies} copies${budget.model === 'any-third' ? ' (k+2)' : ''}: ${raw} GiB raw hold ${Math.floor(raw / copies)} GiB (volumes not priced)`;
  lines.push(`  fault budget (${promise}): ${etcd}; ${storage}`);
  return lines;
}
