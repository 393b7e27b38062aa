import { find, render, specFor } from './test-support';
import { worstCaseStorageLoss, type FailureNode } from './worst-case';

const nodes = (n: number): FailureNode[] => Array.from({ length: n }, (_, i) => ({ name: `node-${i + 1}`, failureDomain: 'fra1' }));

describe('worstCaseStorageLoss', () => {
  it('finds the failed nodes that take a pool below min_size when it keeps too few copies', () => {
    const spec = specFor(5, 1);
    const { objects } = render(spec);
    // The same objects with the block pool cut to 3 copies: 2 failures leave 1.
    const weakened = objects.map((o) =>
      o.kind === 'CephBlockPool' && o.metadata.name === 'ceph-block' ? { ...o, spec: { ...o.spec, replicated: { size: 3 } } } : o,
    );
    const report = worstCaseStorageLoss(weakened, spec.topology.nodes, { model: 'any-third', k: 2 });
    expect(report.scenarios).toBe(15); // C(6, 2)
    expect(report.quorumAndPoolsOk).toBe(false);
    const block = report.checks.find((c) => c.pool === 'ceph-block');
    expect(block).toMatchObject({ resource: 'CephBlockPool/ceph-block', total: 3, needed: 2, lost: 2, left: 1, ok: false });
    expect(block?.failedNodes).toEqual(['keelson-controller-1', 'keelson-controller-2']);
  });

  it('uses Ceph’s default min_size when a pool does not set one', () => {
    const pool = { kind: 'CephBlockPool', metadata: { name: 'p' }, spec: { failureDomain: 'host', replicated: { size: 5 } } };
    // Default min_size of 5 copies is 3: losing 3 of 5 nodes leaves 2.
    expect(worstCaseStorageLoss([pool], nodes(9), { model: 'any-third', k: 3 }).checks[0]).toMatchObject({ needed: 3, left: 2, ok: false });
  });

  it('counts monitors allowed to share a node as all lost with that node', () => {
    const cluster = { kind: 'CephCluster', metadata: { name: 'c' }, spec: { mon: { count: 3, allowMultiplePerNode: true } } };
    expect(worstCaseStorageLoss([cluster], nodes(3), { model: 'any-third', k: 1 }).checks[0]).toMatchObject({ what: 'monitors', lost: 3, left: 0, ok: false });
  });

  it('reports that both MDS can fail together once k >= 2 (CephFS then waits for a rescheduled MDS)', () => {
    const three = specFor(3, 0);
    const six = specFor(5, 1);
    const mds = (spec: ReturnType<typeof specFor>, k: number) =>
      worstCaseStorageLoss(render(spec).objects, spec.topology.nodes, { model: 'any-third', k });
    expect(mds(three, 1)).toMatchObject({ metadataServersOk: true, quorumAndPoolsOk: true });
    const report = mds(six, 2);
    expect(report).toMatchObject({ metadataServersOk: false, quorumAndPoolsOk: true });
    expect(report.checks.find((c) => c.what === 'metadata-servers')).toMatchObject({ resource: 'CephFilesystem/ceph-filesystem', total: 2, needed: 1, left: 0 });
  });

  it('reads placement from the objects: a failure domain of zone loses one copy per zone', () => {
    const spec = specFor(3, 6, { domains: 3 });
    const { objects } = render(spec);
    const cluster = find(objects, 'CephCluster', 'rook-ceph');
    // Without the zone spread, a zone with 3 nodes could hold 3 of the 5 monitors.
    const unspread = { ...cluster, spec: { ...cluster.spec, placement: { ...cluster.spec.placement, mon: { ...cluster.spec.placement.mon, topologySpreadConstraints: [] } } } };
    const report = worstCaseStorageLoss([unspread], spec.topology.nodes, { model: 'failure-domains' });
    expect(report.checks[0]).toMatchObject({ total: 5, lost: 3, left: 2, ok: false });
  });

  it('refuses to enumerate more failure sets than it can check', () => {
    expect(() => worstCaseStorageLoss([], nodes(60), { model: 'any-third', k: 20 })).toThrow(
      /ways to choose k = 20 of 60 nodes is more than 200000; check failure domains instead/,
    );
  });
});
