import { rehearseExample } from './test-example';

jest.setTimeout(600_000);

it('rehearses nine nodes in three failure domains: a whole zone fails and every service keeps running', async () => {
  const report = await rehearseExample('failure-domains');
  expect(report.failureModel?.model).toBe('failure-domains');
  expect(new Set(report.nodes.map((n) => n.zone)).size).toBe(3);
  const [worst] = report.faults;
  // The failed nodes are one whole zone.
  const failedZones = new Set(worst.failedNodes.map((n) => report.nodes.find((x) => x.name === n)?.zone));
  expect(failedZones.size).toBe(1);
  expect(worst.failedNodes).toEqual(report.nodes.filter((n) => failedZones.has(n.zone)).map((n) => n.name));
  expect(worst.quorum?.filter((q) => !q.ok)).toEqual([]);
});
