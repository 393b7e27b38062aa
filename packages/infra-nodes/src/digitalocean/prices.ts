import type { CostLine, MonthlyCost, PlatformSpec } from '@keelson/platform-spec';

/**
 * DigitalOcean list prices, USD a month before tax, as checked on
 * {@link PRICES_AS_OF}. Refresh from the pricing pages below (or
 * `doctl compute size list`, which prints each size's monthly price and
 * transfer) and move the date with them.
 *
 * @see https://www.digitalocean.com/pricing/droplets
 * @see https://docs.digitalocean.com/products/droplets/details/pricing/ (transfer: pooled allowance, $0.01 per GiB beyond)
 * @see https://gist.github.com/colinwilson/cd31bde012f6727b24b2fc4ebee749c0 (Basic droplets and load balancers since the July 2022 change)
 * @see https://www.digitalocean.com/community/questions/prices-explanation-5-per-space-or-5-for-spaces (Spaces: $5 for 250 GiB and 1 TiB out, $0.02 per GiB stored beyond)
 * @see https://adhdecode-articles-1.pages.dev/articles/digitalocean/digitalocean-cost-estimation-guide/ (volumes: $0.10 per GiB)
 */
export const PRICES_AS_OF = '2026-12-04';

/** Basic (shared CPU) droplets: monthly price and outbound transfer included, GiB. */
export const DROPLET_PRICES: Readonly<Record<string, { readonly monthly: number; readonly transferGiB: number }>> = {
  's-1vcpu-1gb': { monthly: 6, transferGiB: 1000 },
  's-1vcpu-2gb': { monthly: 12, transferGiB: 2000 },
  's-2vcpu-2gb': { monthly: 18, transferGiB: 3000 },
  's-2vcpu-4gb': { monthly: 24, transferGiB: 4000 },
  's-4vcpu-8gb': { monthly: 48, transferGiB: 5000 },
  's-8vcpu-16gb': { monthly: 96, transferGiB: 6000 },
};

/** Block storage volumes, per GiB a month. */
export const VOLUME_PRICE_PER_GIB = 0.1;
/** A regional load balancer of one node (Keelson's two balancers each have one). */
export const LOAD_BALANCER_PRICE = 12;
/** The Spaces subscription: every bucket of the team, 250 GiB stored and 1 TiB out included. */
export const SPACES_PRICE = 5;
export const SPACES_EXTRA_PER_GIB = 0.02;
/** Outbound transfer beyond the pooled allowance, per GiB. */
export const TRANSFER_PRICE_PER_GIB = 0.01;

/** The monthly cost of the resources `DigitalOceanProvider` renders for `spec`. */
export function digitalOceanMonthlyCost(spec: PlatformSpec): MonthlyCost {
  const { nodes } = spec.config;
  const lines: CostLine[] = [];
  let transferGiB = 0;
  for (const [kind, role] of [
    ['controllers', nodes.controllers],
    ['workers', nodes.workers],
  ] as const) {
    if (role.count === 0) continue;
    const price = DROPLET_PRICES[role.size];
    if (price) transferGiB += role.count * price.transferGiB;
    lines.push({
      kind,
      item: `${role.count} x ${role.size}`,
      quantity: role.count,
      unit: 'droplet',
      unitPrice: price?.monthly,
      monthly: price ? role.count * price.monthly : undefined,
      ...(price ? {} : { note: `no price for ${role.size} in the table of ${PRICES_AS_OF}; see doctl compute size list` }),
    });
  }
  const count = nodes.controllers.count + nodes.workers.count;
  const gib = count * nodes.volumeSizeGiB;
  lines.push({ kind: 'volumes', item: `${count} volumes of ${nodes.volumeSizeGiB} GiB (Ceph, raw)`, quantity: gib, unit: 'GiB', unitPrice: VOLUME_PRICE_PER_GIB, monthly: round(gib * VOLUME_PRICE_PER_GIB) });
  lines.push({ kind: 'load balancers', item: '2 load balancers (API, ingress), 1 node each', quantity: 2, unit: 'load balancer', unitPrice: LOAD_BALANCER_PRICE, monthly: 2 * LOAD_BALANCER_PRICE });
  lines.push({
    kind: 'buckets',
    item: 'Spaces (backups and node secret parts)',
    quantity: 1,
    unit: 'subscription',
    unitPrice: SPACES_PRICE,
    monthly: SPACES_PRICE,
    note: `250 GiB stored and 1 TiB out included; $${SPACES_EXTRA_PER_GIB} per GiB stored beyond`,
  });
  lines.push({
    kind: 'traffic',
    item: 'outbound transfer',
    quantity: transferGiB,
    unit: 'GiB included',
    unitPrice: 0,
    monthly: 0,
    note: `${(transferGiB / 1000).toLocaleString('en')} TB out included (pooled over the team's droplets); $${TRANSFER_PRICE_PER_GIB} per GiB beyond`,
  });
  return summarize('USD', lines, 'https://www.digitalocean.com/pricing');
}

const round = (n: number): number => Math.round(n * 100) / 100;

function summarize(currency: 'USD', lines: CostLine[], source: string): MonthlyCost {
  return {
    currency,
    pricesAsOf: PRICES_AS_OF,
    source,
    lines,
    total: round(lines.reduce((sum, l) => sum + (l.monthly ?? 0), 0)),
    complete: lines.every((l) => l.monthly !== undefined),
  };
}
