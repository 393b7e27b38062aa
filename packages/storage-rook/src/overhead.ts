import type { PlatformSpec } from '@keelson/platform-spec';
import { planStorage } from './internal/plan';

/** Options for {@link storageOverhead}: the same storage choices given to `RookStorage`. */
export interface StorageOverheadOptions {
  /**
   * Data chunks of the erasure-coded block class, as given to `RookStorage`.
   * @default - no erasure-coded class
   */
  readonly erasureCodedDataChunks?: number;
}

const fixed = (x: number) => x.toFixed(1);

/**
 * The raw-space price of the fault budget, one line per storage class, for
 * `keelson synth` to print.
 *
 * Every pool shares the same raw disks (one volume of
 * `nodes.volumeSizeGiB` per node), so "usable" is what the whole raw space
 * would hold if it all went to that class.
 */
export function storageOverhead(spec: PlatformSpec, options: StorageOverheadOptions = {}): string {
  const plan = planStorage(spec, { erasureCodedDataChunks: options.erasureCodedDataChunks });
  const nodes = spec.topology.nodes.length;
  const volume = spec.config.nodes.volumeSizeGiB;
  const raw = nodes * volume;
  const where = plan.failureDomain === 'host' ? 'distinct nodes' : 'distinct zones';
  const replicated = (label: string) =>
    `${label}: ${plan.poolSize} copies on ${where}, ${fixed(plan.poolSize)}x raw per usable GiB; usable ≈ ${nodes}*${volume} GiB/${plan.poolSize} = ${Math.floor(raw / plan.poolSize)} GiB`;
  const lines = [
    `raw: ${nodes} volumes of ${volume} GiB = ${raw} GiB, shared by every pool`,
    replicated('block (ceph-block)'),
    replicated('filesystem (ceph-filesystem)'),
  ];
  const ec = plan.erasureCoded;
  if (ec) {
    const chunks = ec.dataChunks + ec.codingChunks;
    lines.push(
      `block, erasure-coded (ceph-block-ec): ${ec.dataChunks}+${ec.codingChunks} chunks on ${where}, ${fixed(chunks / ec.dataChunks)}x raw per usable GiB; usable ≈ ${nodes}*${volume} GiB*${ec.dataChunks}/${chunks} = ${Math.floor((raw * ec.dataChunks) / chunks)} GiB`,
    );
  }
  return lines.join('\n');
}
