import { assignFailureDomains, computeFaultBudget, type FaultBudget } from './fault-budget';
import { RECOVERY } from './recovery';

const anyThird = { type: 'any-third' } as const;

function budgetFor(controllers: number, workers: number): FaultBudget {
  const result = computeFaultBudget({ controllers, workers, faultModel: anyThird });
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.budget;
}

describe('any-third fault budget', () => {
  // N, k = floor(N/3), etcd/mons 2k+1, pool size k+2, stateless k+1
  const table: Array<[number, number, number, number, number]> = [
    [3, 1, 3, 3, 2],
    [4, 1, 3, 3, 2],
    [5, 1, 3, 3, 2],
    [6, 2, 5, 4, 3],
    [7, 2, 5, 4, 3],
    [8, 2, 5, 4, 3],
    [9, 3, 7, 5, 4],
    [10, 3, 7, 5, 4],
    [11, 3, 7, 5, 4],
  ];
  it.each(table)('N = %i: k = %i, %i etcd members and mons, pools of %i, %i stateless replicas', (n, k, quorum, pool, replicas) => {
    const b = budgetFor(quorum, n - quorum);
    expect(b).toMatchObject({
      nodes: n,
      k,
      quorumMembers: quorum,
      etcdMembers: quorum,
      cephMonitors: quorum,
      poolSize: pool,
      poolMinSize: 2,
      poolFailureDomain: 'host',
      statelessReplicas: replicas,
      rawSpaceOverhead: pool,
    });
  });

  it.each(table)('N = %i: losing k nodes keeps a majority of etcd and at least min_size copies', (n, k, quorum) => {
    const b = budgetFor(quorum, n - quorum);
    // Worst case: every failed node is an etcd member / holds a copy.
    expect(b.etcdMembers - k).toBeGreaterThan(b.etcdMembers / 2);
    expect(b.cephMonitors - k).toBeGreaterThan(b.cephMonitors / 2);
    expect(b.poolSize - k).toBeGreaterThanOrEqual(b.poolMinSize);
    expect(b.statelessReplicas - k).toBeGreaterThanOrEqual(1);
    expect(b.poolSize).toBeLessThanOrEqual(n);
  });

  it('N = 12: refuses the 9 etcd members 2k+1 would need and points to failure domains', () => {
    const r = computeFaultBudget({ controllers: 7, workers: 5, faultModel: anyThird });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/12 nodes give k = floor\(12\/3\) = 4, which needs 9 etcd members.*failure-domains/),
    ]);
  });

  it('accepts more controllers than 2k+1 when the count is odd and at most 7', () => {
    expect(budgetFor(5, 0)).toMatchObject({ k: 1, etcdMembers: 5, cephMonitors: 3 });
  });

  it('fails when controllers cannot keep quorum: 6 nodes with 3 controllers', () => {
    const r = computeFaultBudget({ controllers: 3, workers: 3, faultModel: anyThird });
    expect(r.ok ? [] : r.problems).toEqual([
      {
        path: 'nodes.controllers.count',
        message: expect.stringMatching(/losing 2 of 6 nodes can take 2 of 3 etcd members.*use 5 controllers/),
      },
    ]);
  });

  it('fails on an even controller count', () => {
    const r = computeFaultBudget({ controllers: 4, workers: 0, faultModel: anyThird });
    expect(r.ok ? [] : r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/4 is even; etcd needs an odd member count.*Use 3 or 5/)]);
  });

  it('fails below 3 nodes, where k = 0', () => {
    const r = computeFaultBudget({ controllers: 1, workers: 1, faultModel: anyThird });
    expect(r.ok ? [] : r.problems).toEqual([{ path: 'nodes', message: expect.stringMatching(/2 nodes .* cannot survive losing any node/) }]);
  });

  it('fails on more than 7 controllers', () => {
    const r = computeFaultBudget({ controllers: 9, workers: 3, faultModel: anyThird });
    expect(r.ok ? [] : r.problems.map((p) => p.message)).toContainEqual(expect.stringMatching(/Keelson runs at most 7/));
  });
});

describe('failure-domains fault budget', () => {
  it('deals nodes round-robin and keeps existing placement when a worker is added', () => {
    const before = assignFailureDomains(5, 3, 3);
    const after = assignFailureDomains(5, 4, 3);
    expect(before).toEqual([0, 1, 2, 0, 1, 2, 0, 1]);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after[8]).toBe(2);
  });

  it('sizes a 60-node platform for the loss of one of 3 domains', () => {
    const r = computeFaultBudget({ controllers: 5, workers: 55, faultModel: { type: 'failure-domains', domains: 3 } });
    expect(r.ok && r.budget).toMatchObject({
      model: 'failure-domains',
      k: 20,
      failureDomains: 3,
      etcdMembers: 5,
      cephMonitors: 5,
      poolSize: 3,
      poolMinSize: 2,
      poolFailureDomain: 'zone',
      statelessReplicas: 2,
      spreadTopologyKey: 'topology.kubernetes.io/zone',
    });
  });

  it('fails when there are fewer nodes than failure domains', () => {
    const r = computeFaultBudget({ controllers: 3, workers: 0, faultModel: { type: 'failure-domains', domains: 4 } });
    expect(r.ok ? [] : r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/3 nodes cannot fill 4 failure domains/)]);
  });

  it('fails with a single controller', () => {
    const r = computeFaultBudget({ controllers: 1, workers: 5, faultModel: { type: 'failure-domains', domains: 3 } });
    expect(r.ok ? [] : r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/1 controller cannot keep etcd quorum/)]);
  });
});

describe('failure-domains placement', () => {
  it('never puts half of an odd etcd membership in one domain, for 3 to 7 controllers over 3 to 26 domains', () => {
    for (let domains = 3; domains <= 26; domains++) {
      for (const m of [3, 5, 7]) {
        const perDomain = new Array<number>(domains).fill(0);
        assignFailureDomains(m, 40, domains)
          .slice(0, m)
          .forEach((d) => perDomain[d]++);
        expect(m - Math.max(...perDomain)).toBeGreaterThan(m / 2);
      }
    }
  });
});

describe('even controller counts suggest counts that also keep quorum', () => {
  it.each([
    [4, 2, 'Use 5'],
    [2, 1, 'Use 3'],
    [6, 0, 'Use 5 or 7'],
    [4, 0, 'Use 3 or 5'],
  ])('%i controllers and %i workers: %s', (controllers, workers, suggestion) => {
    const r = computeFaultBudget({ controllers, workers, faultModel: anyThird });
    expect(r.ok ? [] : r.problems.map((p) => p.message)).toEqual([expect.stringMatching(new RegExp(`is even; .*${suggestion}$`))]);
  });
});

describe('the recovery bound', () => {
  it("sizes a singleton's failover toleration to fit the bound exactly: grace period + toleration + start allowance", () => {
    expect(RECOVERY.nodeMonitorGracePeriodSeconds + RECOVERY.failoverTolerationSeconds + RECOVERY.startAllowanceSeconds).toBe(RECOVERY.boundSeconds);
  });
});
