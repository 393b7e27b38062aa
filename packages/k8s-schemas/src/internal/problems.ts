import type { ErrorObject } from 'ajv';
import { describeValue, formatPath, isRecord, pointerToSegments, valueAt } from './paths';
import type { Segment } from './paths';

/** One thing wrong with a manifest. */
export interface ManifestProblem {
  /** Where, e.g. `spec.template.spec.containers[0].imagePullPolicy`; `(root)` for the whole document. */
  readonly path: string;
  /** What was received, what is allowed, and the likely fix. */
  readonly message: string;
}

/** Message for a key the schema does not define, with the nearest allowed key when one is close. */
export function unknownFieldMessage(key: string, allowed: readonly string[]): string {
  const sorted = [...allowed].sort();
  const hint = closest(key, sorted);
  let message = `unknown field "${key}"`;
  if (hint !== undefined) message += `; did you mean "${hint}"?`;
  if (sorted.length > 0 && sorted.length <= 12) message += ` (allowed: ${sorted.join(', ')})`;
  else if (sorted.length > 12) message += ` (${sorted.length} fields allowed here)`;
  return message;
}

/**
 * Converts ajv errors into problems with readable paths and messages.
 *
 * Works for errors from ajv-compiled kubernetes-models validators (no `data`, no `parentSchema`)
 * and from our own ajv instance (`verbose: true`); received values are read from `root` when the
 * error does not carry them.
 */
export function problemsFromAjv(errors: readonly ErrorObject[], root: unknown): ManifestProblem[] {
  const typeErrors = new Map<string, { segments: Segment[]; types: string[]; value: unknown }>();
  const out: ManifestProblem[] = [];
  const combinators: ManifestProblem[] = [];
  for (const err of errors) {
    const segments = pointerToSegments(err.instancePath, root);
    const value = 'data' in err ? err.data : valueAt(root, segments);
    const params = err.params as Record<string, unknown>;
    const at = (message: string, extra: Segment[] = []): void => {
      out.push({ path: formatPath([...segments, ...extra]), message });
    };
    switch (err.keyword) {
      case 'required':
        at('required field is missing', [String(params.missingProperty)]);
        break;
      case 'additionalProperties': {
        const parent = err.parentSchema;
        const allowed = isRecord(parent) && isRecord(parent.properties) ? Object.keys(parent.properties) : [];
        at(unknownFieldMessage(String(params.additionalProperty), allowed), [String(params.additionalProperty)]);
        break;
      }
      case 'type': {
        // anyOf [integer, string] (int-or-string) fails once per branch: report one combined line.
        const key = err.instancePath;
        const entry = typeErrors.get(key) ?? { segments, types: [], value };
        entry.types.push(...String(params.type).split(','));
        typeErrors.set(key, entry);
        break;
      }
      case 'enum':
        at(`expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}; got ${describeValue(value)}`);
        break;
      case 'const':
        at(`expected ${JSON.stringify(params.allowedValue)}; got ${describeValue(value)}`);
        break;
      case 'pattern':
        at(`${describeValue(value)} does not match the pattern ${String(params.pattern)}`);
        break;
      case 'format':
        at(`expected a value in format "${String(params.format)}"; got ${describeValue(value)}`);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        at(`expected a number ${String(params.comparison)} ${String(params.limit)}; got ${describeValue(value)}`);
        break;
      case 'minLength':
      case 'maxLength':
        at(`expected ${err.keyword === 'minLength' ? 'at least' : 'at most'} ${String(params.limit)} characters; got ${describeValue(value)} (${typeof value === 'string' ? value.length : '?'})`);
        break;
      case 'minItems':
      case 'maxItems':
        at(`expected ${err.keyword === 'minItems' ? 'at least' : 'at most'} ${String(params.limit)} items; got ${Array.isArray(value) ? value.length : describeValue(value)}`);
        break;
      case 'minProperties':
      case 'maxProperties':
        at(`expected ${err.keyword === 'minProperties' ? 'at least' : 'at most'} ${String(params.limit)} fields; got ${isRecord(value) ? Object.keys(value).length : describeValue(value)}`);
        break;
      case 'uniqueItems':
        at(`items ${String(params.j)} and ${String(params.i)} are identical; items must be unique`);
        break;
      case 'anyOf':
      case 'oneOf':
        combinators.push({
          path: formatPath(segments),
          message:
            err.keyword === 'oneOf' && Array.isArray(params.passingSchemas)
              ? `matches more than one of the allowed forms (oneOf); got ${describeValue(value)}`
              : `matches none of the allowed forms (${err.keyword}); got ${describeValue(value)}`,
        });
        break;
      default:
        at(`${err.message ?? `fails "${err.keyword}"`}; got ${describeValue(value)}`);
    }
  }
  for (const { segments, types, value } of typeErrors.values()) {
    out.push({ path: formatPath(segments), message: `expected ${[...new Set(types)].join(' or ')}; got ${describeValue(value)}` });
  }
  // An anyOf/oneOf line adds nothing when its branches already explained the same path.
  const explained = new Set(out.map((p) => p.path));
  out.push(...combinators.filter((p) => !explained.has(p.path)));
  return out;
}

/** Keeps the first problem per path+message, in order. */
export function dedupe(problems: readonly ManifestProblem[]): ManifestProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
