/** One step into a document: an object key or an array index. */
export type Segment = string | number;

/** Path of the document itself, used when a problem is about the whole object. */
export const ROOT_PATH = '(root)';

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Formats a path the way people write it: `spec.template.spec.containers[0].image`.
 *
 * Keys that are not plain identifiers are quoted: `metadata.labels["app.kubernetes.io/name"]`.
 */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? ROOT_PATH : out;
}

/**
 * Turns an ajv `instancePath` (a JSON pointer) into segments.
 *
 * The document tells array indexes apart from map keys that happen to be digits.
 */
export function pointerToSegments(pointer: string, root: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = isRecord(node) ? node[key] : undefined;
    }
  }
  return out;
}

/** The value at `segments`, or `undefined` when the path does not exist. */
export function valueAt(root: unknown, segments: readonly Segment[]): unknown {
  let node = root;
  for (const seg of segments) {
    if (typeof seg === 'number') node = Array.isArray(node) ? node[seg] : undefined;
    else node = isRecord(node) ? node[seg] : undefined;
  }
  return node;
}

/** A short rendering of a received value for messages: `"three"`, `3`, `a list`, `an object`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
