import { memoize } from './memo';

describe('memoize', () => {
  it('computes once per key, and starts over when the cap is reached', () => {
    const calls: string[] = [];
    const upper = memoize((s: string) => s, (s: string) => (calls.push(s), s.toUpperCase()), 2);
    expect([upper('a'), upper('a'), upper('b'), upper('a')]).toEqual(['A', 'A', 'B', 'A']);
    expect(calls).toEqual(['a', 'b']);
    upper('c'); // the third key empties the memo first
    upper('a');
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });

  it('remembers a value that is undefined', () => {
    let calls = 0;
    const nothing = memoize((s: string) => s, () => void calls++);
    nothing('x');
    nothing('x');
    expect(calls).toBe(1);
  });
});
