import type { CostLine, MonthlyCost, PlatformSpec } from '@keelson/platform-spec';
import { LOAD_BALANCER_TYPES } from './pins';

/**
 * Hetzner Cloud list prices, EUR a month, as published on
 * {@link PRICES_AS_OF} by the sources below: only what a source we could
 * check states. Hetzner raised its cloud prices on 2026-04-01 and reprices
 * new orders and rescales from 2026-06-15, with no table in those sources,
 * so this table is known to be low ({@link PRICES_CAVEAT}). Volumes, Object
 * Storage and primary IPv4 addresses have no checked price here: the plan
 * shows them unpriced and the total as a lower bound. Refresh from
 * https://www.hetzner.com/cloud (or `hcloud server-type describe <type>`,
 * which prints the prices per location) and move the date with them.
 *
 * @see https://github.com/fabianwimberger/cloud-bench/pull/23 (cx23, cx33, cpx22, cpx32, ccx13, ccx23 monthly, 2026-02-23)
 * @see https://www.hetzner.com/cloud/load-balancer (LB11 "from € 5.39")
 * @see https://cloudtally.eu/blog/hetzner-june-2026-price-increase (the 2026-04-01 and 2026-06-15 changes)
 */
export const PRICES_AS_OF = '2026-02-23';

export const PRICES_CAVEAT = 'Hetzner raised prices on 2026-04-01 and reprices new orders from 2026-06-15; this table predates both: the real bill is higher';

/** Server types with a checked monthly price. */
export const SERVER_PRICES: Readonly<Record<string, number>> = {
  cx23: 3.59,
  cx33: 5.99,
  cpx22: 7.19,
  cpx32: 12.59,
  ccx13: 14.39,
  ccx23: 28.79,
};

/** Load balancer types with a checked monthly price. */
export const LOAD_BALANCER_PRICES: Readonly<Record<string, number>> = { lb11: 5.39 };

/** The monthly cost of the resources `HetznerProvider` renders for `spec`; `loadBalancerTypes` as it sizes them. */
export function hetznerMonthlyCost(spec: PlatformSpec): MonthlyCost {
  const { nodes } = spec.config;
  const lines: CostLine[] = [];
  for (const [kind, role] of [
    ['controllers', nodes.controllers],
    ['workers', nodes.workers],
  ] as const) {
    if (role.count === 0) continue;
    const price = SERVER_PRICES[role.size];
    lines.push({
      kind,
      item: `${role.count} x ${role.size}`,
      quantity: role.count,
      unit: 'server',
      unitPrice: price,
      monthly: price === undefined ? undefined : round(role.count * price),
      ...(price === undefined ? { note: `no checked price for ${role.size}; see hcloud server-type describe ${role.size}` } : {}),
    });
  }
  const count = nodes.controllers.count + nodes.workers.count;
  lines.push({ kind: 'addresses', item: `${count} primary IPv4 addresses`, quantity: count, unit: 'address', note: 'no checked price' });
  lines.push({ kind: 'volumes', item: `${count} volumes of ${nodes.volumeSizeGiB} GiB (Ceph, raw)`, quantity: count * nodes.volumeSizeGiB, unit: 'GiB', note: 'no checked price' });
  // The API balancer targets the controllers, the ingress balancer every node (as the provider sizes them).
  const lbType = (targets: number) => LOAD_BALANCER_TYPES.find((t) => t.maxTargets >= targets)?.name ?? 'lb31';
  for (const [what, targets] of [
    ['API', nodes.controllers.count],
    ['ingress', count],
  ] as const) {
    const type = lbType(targets);
    const price = LOAD_BALANCER_PRICES[type];
    lines.push({ kind: 'load balancers', item: `${what} load balancer (${type})`, quantity: 1, unit: 'load balancer', unitPrice: price, monthly: price, ...(price === undefined ? { note: `no checked price for ${type}` } : {}) });
  }
  lines.push({ kind: 'buckets', item: 'Object Storage (backups and node secret parts)', quantity: 1, unit: 'subscription', note: 'no checked price' });
  lines.push({ kind: 'traffic', item: 'outbound traffic', quantity: 0, unit: 'GiB included', unitPrice: 0, monthly: 0, note: 'each server and load balancer includes traffic in EU locations; see the server type' });
  return {
    currency: 'EUR',
    pricesAsOf: PRICES_AS_OF,
    source: 'https://www.hetzner.com/cloud',
    lines,
    total: round(lines.reduce((sum, l) => sum + (l.monthly ?? 0), 0)),
    complete: lines.every((l) => l.monthly !== undefined),
    caveat: PRICES_CAVEAT,
  };
}

const round = (n: number): number => Math.round(n * 100) / 100;
