import { rehearseExample } from './test-example';

jest.setTimeout(600_000);

it('rehearses the smallest platform: three controllers, one may fail', async () => {
  const report = await rehearseExample('three-nodes');
  expect(report.failureModel).toMatchObject({ model: 'any-third', k: 1 });
  expect(report.faults[0].failedNodes).toHaveLength(1);
  expect(report.faults[0].quorum?.find((q) => q.service === 'etcd')).toMatchObject({ total: 3, lost: 1, left: 2, need: 2, ok: true });
});
