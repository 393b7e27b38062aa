/** JSON with object keys sorted, so equal data gives equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Whether two repository URLs name the same repository (trailing `/` and `.git` aside, any case). */
export function sameRepo(a: string | undefined, b: string): boolean {
  const norm = (u: string) => u.replace(/\/+$/, '').replace(/\.git$/, '').toLowerCase();
  return a !== undefined && norm(a) === norm(b);
}
