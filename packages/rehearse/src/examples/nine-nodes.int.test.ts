import { rehearseExample } from './test-example';

jest.setTimeout(600_000);

it('rehearses nine nodes under any-third: seven etcd members keep quorum after losing the worst three nodes, and every service keeps running', async () => {
  const report = await rehearseExample('nine-nodes');
  expect(report.nodes).toHaveLength(9);
  expect(report.failureModel).toMatchObject({ model: 'any-third', k: 3 });
  const [worst] = report.faults;
  expect(worst.failedNodes).toHaveLength(3);
  expect(worst.quorum?.find((q) => q.service === 'etcd')).toMatchObject({ total: 7, lost: 3, left: 4, need: 4, ok: true });
});
