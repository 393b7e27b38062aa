// The mutation suite, part 1: what the cluster gets (network policy, RBAC,
// ingress, Argo CD, pinned sources and images). The table is
// test-mutations.ts, the run test-mutation-runner.ts; part 2 runs in parallel.
import { MutationRun } from './test-mutation-runner';
import { CLUSTER_AREAS, MUTATIONS } from './test-mutations';

const run = new MutationRun('cluster');
beforeAll(() => run.start());
afterAll(() => run.finish());

describe('the mutation table', () => {
  it('holds at least 120 mutations with unique names, a reason and a change each', () => {
    expect(MUTATIONS.length).toBeGreaterThanOrEqual(120);
    expect(new Set(MUTATIONS.map((m) => m.name)).size).toBe(MUTATIONS.length);
    expect(MUTATIONS.filter((m) => m.reason.length < 10 || ![m.charts, m.infra, m.desired].some(Boolean)).map((m) => m.name)).toEqual([]);
  });
});

describe('the in-memory patch of a mutated charts-out', () => {
  it.each(['no default-deny in website', 'an allow-everything policy in nextcloud', 'AppProject trusts every repository', 'metadata block selects one namespace', "cluster-admin for nextcloud's default ServiceAccount"])('places the objects of "%s" as the real render does', (name) => {
    const m = MUTATIONS.find((x) => x.name === name);
    const { patched, rendered } = run.patchAndRender(m ?? MUTATIONS[0]);
    expect(patched).toEqual(rendered);
  });

  it('leaves a change to an Application to the real render', () => {
    expect(run.patchAndRender(MUTATIONS.find((m) => m.name === 'storage without prune') ?? MUTATIONS[0]).patched).toBeUndefined();
  });
});

describe('the committed render', () => {
  it('passes every check verify runs, so each mutation breaks only what it changes', () => {
    expect([...run.before].map((f) => f.split('\n'))).toEqual([]);
  });
});

describe('verify refuses every mutation of what the cluster gets, naming what changed', () => {
  it.each(MUTATIONS.map((m, i) => [`[${m.area}] ${m.name}`, m, i] as const).filter(([, m]) => CLUSTER_AREAS.has(m.area)))('%s', (_title, m, i) => {
    const outcome = run.run(m, i);
    expect({ mutation: m.name, killed: outcome.killed, newFindings: outcome.fresh, renderError: outcome.renderError }).toEqual(expect.objectContaining({ killed: true }));
  });
});
