/**
 * `compute` made to run once per distinct key in a process: a render's nodes
 * share most of their documents, so the second node on reads them from here.
 * At `cap` entries the memo is emptied, so a long-lived process (a test run,
 * many renders) never grows it without bound.
 */
export function memoize<A, V>(keyOf: (arg: A) => string, compute: (arg: A) => V, cap = 256): (arg: A) => V {
  const known = new Map<string, V>();
  return (arg) => {
    const key = keyOf(arg);
    if (known.has(key)) return known.get(key) as V;
    const value = compute(arg);
    if (known.size >= cap) known.clear();
    known.set(key, value);
    return value;
  };
}
