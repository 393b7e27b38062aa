// The mutation suite, part 2: what keeps the platform whole (backups,
// firewall and buckets, encryption, fault tolerance, pod security, secrets).
// The table is test-mutations.ts, the run test-mutation-runner.ts; part 1
// (mutations-cluster.int.test.ts) runs in parallel.
import { MutationRun } from './test-mutation-runner';
import { CLUSTER_AREAS, MUTATIONS } from './test-mutations';

const run = new MutationRun('platform');
beforeAll(() => run.start());
afterAll(() => run.finish());

describe('the committed render', () => {
  it('passes every check verify runs, so each mutation breaks only what it changes', () => {
    expect([...run.before].map((f) => f.split('\n'))).toEqual([]);
  });
});

describe('verify refuses every mutation of what keeps the platform whole, naming what changed', () => {
  it.each(MUTATIONS.map((m, i) => [`[${m.area}] ${m.name}`, m, i] as const).filter(([, m]) => !CLUSTER_AREAS.has(m.area)))('%s', (_title, m, i) => {
    const outcome = run.run(m, i);
    expect({ mutation: m.name, killed: outcome.killed, newFindings: outcome.fresh, renderError: outcome.renderError }).toEqual(expect.objectContaining({ killed: true }));
  });
});
