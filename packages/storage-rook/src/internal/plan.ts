import { MAX_CEPH_MONITORS, type PlatformSpec } from '@keelson/platform-spec';

/** What the storage layer decides from the spec: counts, sizes, placement keys and device selection. */
export interface StoragePlan {
  readonly monitors: number;
  readonly managers: number;
  /** Copies kept by every replicated pool. */
  readonly poolSize: number;
  readonly poolMinSize: number;
  /** CRUSH failure domain of every pool. */
  readonly failureDomain: 'host' | 'zone';
  /** Node label the MDS and mgr daemons are kept apart on, and mons spread over (zone model). */
  readonly spreadTopologyKey: 'kubernetes.io/hostname' | 'topology.kubernetes.io/zone';
  /** Failure domains the pools can use: nodes (host) or zones (zone). */
  readonly failureDomainCount: number;
  /** The OSD device filter, when one was given (a cost estimate plans without one). */
  readonly devicePathFilter?: string;
  /** The erasure-coded block data pool, when asked for. */
  readonly erasureCoded?: ErasureCodedPlan;
}

/** An erasure-coded data pool: `dataChunks + codingChunks` chunks on distinct failure domains. */
export interface ErasureCodedPlan {
  readonly dataChunks: number;
  readonly codingChunks: number;
  /** Ceph's default for EC pools: dataChunks + 1. */
  readonly minSize: number;
}

/** Inputs beyond the spec. */
export interface PlanOptions {
  readonly devicePathFilter?: string;
  readonly erasureCodedDataChunks?: number;
}

/** Two managers: one active, one standby (Ceph runs one active mgr at a time). */
const MANAGERS = 2;

/**
 * Derives the storage plan from the fault budget, or throws with the
 * arithmetic when the budget cannot be met.
 */
export function planStorage(spec: PlatformSpec, options: PlanOptions = {}): StoragePlan {
  const { budget, topology } = spec;
  const where = 'RookStorage';
  const m = budget.cephMonitors;
  if (m % 2 === 0) {
    throw new Error(`${where}: budget.cephMonitors is ${m}; Ceph monitors need an odd count (an even count survives no more failures than one fewer). Use ${m + 1} or ${m - 1}`);
  }
  if (m > MAX_CEPH_MONITORS) {
    throw new Error(
      `${where}: budget.cephMonitors is ${m} (2k+1 with k = ${budget.k}); Ceph runs at most ${MAX_CEPH_MONITORS} monitors. Use fewer nodes per failure (smaller N) or faultModel: { type: failure-domains }`,
    );
  }
  if (m > topology.nodes.length) {
    throw new Error(`${where}: budget.cephMonitors is ${m} but there are only ${topology.nodes.length} nodes; monitors run one per node. Add nodes or lower the fault budget`);
  }
  if (budget.poolMinSize < 2) {
    throw new Error(`${where}: budget.poolMinSize is ${budget.poolMinSize}; a pool must never accept writes with a single copy. Use 2`);
  }
  if (budget.poolSize < budget.poolMinSize + (budget.model === 'any-third' ? budget.k : 1)) {
    const lose = budget.model === 'any-third' ? budget.k : 1;
    throw new Error(
      `${where}: budget.poolSize is ${budget.poolSize}; losing ${lose} failure domain${lose === 1 ? '' : 's'} would leave ${budget.poolSize - lose} cop${budget.poolSize - lose === 1 ? 'y' : 'ies'}, below min_size ${budget.poolMinSize}. Use poolSize ${budget.poolMinSize + lose} (k+2)`,
    );
  }

  const zones = new Map<string, number>();
  for (const n of topology.nodes) zones.set(n.failureDomain, (zones.get(n.failureDomain) ?? 0) + 1);
  const failureDomainCount = budget.poolFailureDomain === 'zone' ? zones.size : topology.nodes.length;
  const unit = budget.poolFailureDomain === 'zone' ? 'zones' : 'nodes';
  if (failureDomainCount < budget.poolSize) {
    throw new Error(
      `${where}: pools keep ${budget.poolSize} copies on distinct ${unit} (failure domain ${budget.poolFailureDomain}) but there are only ${failureDomainCount} ${unit}; Ceph could not place every copy. Add ${unit} (nodes.workers.count or faultModel.domains) or lower the pool size`,
    );
  }

  if (budget.poolFailureDomain === 'zone') {
    // Mons are spread over zones with maxSkew 1: every zone holds at least
    // floor(m/D) and at most ceil(m/D) of them, one per node.
    const d = zones.size;
    const most = Math.ceil(m / d);
    const least = Math.floor(m / d);
    const small = [...zones].filter(([, count]) => count < least);
    if (small.length > 0) {
      throw new Error(
        `${where}: ${m} monitors spread evenly over ${d} zones need at least ${least} nodes in every zone; ${small.map(([z, c]) => `${z} has ${c}`).join(', ')}. Add workers`,
      );
    }
    const quorum = Math.floor(m / 2) + 1;
    if (m - most < quorum) {
      throw new Error(
        `${where}: ${m} monitors over ${d} zones put up to ${most} in one zone; losing it leaves ${m - most}, short of quorum (${quorum}). Use more zones (faultModel.domains)`,
      );
    }
  }

  const filter = options.devicePathFilter;
  if (filter !== undefined) {
    try {
      new RegExp(filter);
    } catch (e) {
      throw new Error(`${where}: devicePathFilter "${filter}" is not a regular expression (${(e as Error).message}); give a pattern such as "^/dev/disk/by-id/scsi-0ABC_Volume_.*", or pass NodeProvider.volumeDevicePathFilter(spec)`);
    }
    if (!filter.startsWith('^/dev/')) {
      throw new Error(`${where}: devicePathFilter "${filter}" must be anchored at a device path ("^/dev/..."); an unanchored filter could hand Ceph the boot disk`);
    }
  }

  let erasureCoded: ErasureCodedPlan | undefined;
  if (options.erasureCodedDataChunks !== undefined) {
    erasureCoded = planErasureCoding(options.erasureCodedDataChunks, budget.model === 'any-third' ? budget.k : 1, failureDomainCount, unit);
  }

  return {
    monitors: m,
    managers: MANAGERS,
    poolSize: budget.poolSize,
    poolMinSize: budget.poolMinSize,
    failureDomain: budget.poolFailureDomain,
    spreadTopologyKey: budget.spreadTopologyKey,
    failureDomainCount,
    devicePathFilter: filter,
    erasureCoded,
  };
}

/**
 * An erasure-coded pool survives losing `codingChunks - 1` chunks while
 * still writable (min_size dataChunks + 1), so codingChunks = lost + 1.
 */
function planErasureCoding(dataChunks: number, lost: number, domains: number, unit: string): ErasureCodedPlan {
  const where = 'RookStorage: erasureCoded.dataChunks';
  if (!Number.isInteger(dataChunks) || dataChunks < 2) {
    throw new Error(`${where} is ${dataChunks}; use an integer of at least 2 (one data chunk is plain replication at a higher price)`);
  }
  const codingChunks = lost + 1;
  if (dataChunks + codingChunks > domains) {
    const most = domains - codingChunks;
    throw new Error(
      `${where} is ${dataChunks}: surviving the loss of ${lost} needs ${codingChunks} coding chunks (k+1), so ${dataChunks}+${codingChunks} = ${dataChunks + codingChunks} chunks on distinct ${unit}, but there are only ${domains}. ${most >= 2 ? `Use dataChunks <= ${most}` : `Erasure coding needs at least ${codingChunks + 2} ${unit}; leave erasureCoded unset`}`,
    );
  }
  return { dataChunks, codingChunks, minSize: dataChunks + 1 };
}
