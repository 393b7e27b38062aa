import { storageOverhead } from './overhead';
import { specFor } from './test-support';

describe('storageOverhead', () => {
  it('states the copies, the raw-space factor and the usable space of the default platform', () => {
    expect(storageOverhead(specFor(5, 1))).toBe(
      [
        'raw: 6 volumes of 100 GiB = 600 GiB, shared by every pool',
        'block (ceph-block): 4 copies on distinct nodes, 4.0x raw per usable GiB; usable ≈ 6*100 GiB/4 = 150 GiB',
        'filesystem (ceph-filesystem): 4 copies on distinct nodes, 4.0x raw per usable GiB; usable ≈ 6*100 GiB/4 = 150 GiB',
      ].join('\n'),
    );
  });

  it('prints the cheaper erasure-coded class when chosen', () => {
    expect(storageOverhead(specFor(7, 2), { erasureCodedDataChunks: 5 })).toMatch(
      /block, erasure-coded \(ceph-block-ec\): 5\+4 chunks on distinct nodes, 1\.8x raw per usable GiB; usable ≈ 9\*100 GiB\*5\/9 = 500 GiB$/,
    );
  });

  it('prints 3 copies across zones under the failure-domains model', () => {
    expect(storageOverhead(specFor(3, 6, { domains: 3 }))).toMatch(/block \(ceph-block\): 3 copies on distinct zones, 3\.0x raw per usable GiB; usable ≈ 9\*100 GiB\/3 = 300 GiB/);
  });
});
