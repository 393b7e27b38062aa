import { allExamples, NOT_REHEARSED, rehearsedExamples } from './test-example';

it('rehearses every example but sixty-nodes, one file each', () => {
  expect([...rehearsedExamples(), ...NOT_REHEARSED].sort()).toEqual(allExamples().sort());
});
