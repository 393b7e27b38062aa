import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import YAML from 'yaml';
import * as z from 'zod';
import { platformConfigSchema, type PlatformConfig } from './config-schema';
import { computeFaultBudget, type FaultBudget } from './fault-budget';
import { planLayers, type LayerInfo } from './layers';
import { deriveTopology, type Topology } from './topology';

/** The parsed, checked platform: what every layer is built from. */
export interface PlatformSpec {
  readonly config: PlatformConfig;
  readonly budget: FaultBudget;
  readonly topology: Topology;
  readonly layers: readonly LayerInfo[];
}

/** One problem in a config file. */
export interface ConfigProblem {
  /** Dotted path to the field (`nodes.controllers.count`), or `(file)` for the file itself. */
  readonly path: string;
  /** What is wrong, the value received, what is allowed, and the fix. */
  readonly message: string;
}

/** Thrown when a config cannot be used; lists every problem at once. */
export class PlatformConfigError extends Error {
  constructor(
    public readonly source: string,
    public readonly problems: readonly ConfigProblem[],
  ) {
    super(
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'),
    );
    this.name = 'PlatformConfigError';
  }
}

/** A URL's user info (`user:token@`) replaced, so an error never repeats a credential. */
const redactUserInfo = (s: string): string => s.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/i, '$1***@');

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(redactUserInfo(v));
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return 'a list';
  return 'a mapping';
};

const describeType = (v: unknown): string =>
  v === undefined ? 'nothing' : v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `${show(v)} (a ${typeof v})`;

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

function closest(value: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = distance(value.toLowerCase(), o.toLowerCase());
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(value.length / 3)) ? best : undefined;
}

/** Field-specific fixes, where a generic "use a number" is not enough. */
const FIXES: Record<string, string> = {
  'cluster.name': 'use 2-20 lower-case letters, digits and dashes, starting with a letter (e.g. "keelson")',
  domain: 'use a fully qualified domain name in lower case, such as "cloud.example.com"',
  'acme.email': 'use a full e-mail address such as "ops@example.com"',
  'gitops.repoURL': 'use an https:// or ssh Git URL such as "https://github.com/you/platform.git"',
  'gitops.revision': 'use a branch, tag or commit name as Git allows it, such as "main" or "v1.2.0"',
  'gitops.path': 'use a relative folder of its own, such as "charts-out" (no ".", "..", ".git" or absolute path)',
  'nodes.controllers.size': 'use a DigitalOcean size slug such as "s-4vcpu-8gb"',
  'nodes.workers.size': 'use a DigitalOcean size slug such as "s-4vcpu-8gb"',
};

/**
 * The keys allowed at `path`. For a discriminated union, the keys of the
 * option the input chose (its `type`/`name` value), or of every option.
 */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] {
  // Walk the schema along the path to list the keys allowed at that level.
  let s: unknown = schema;
  const unwrap = (x: unknown): unknown => {
    let cur = x as { def?: { innerType?: unknown; type?: string; options?: unknown[] } };
    while (cur?.def?.innerType) cur = cur.def.innerType as typeof cur;
    return cur;
  };
  for (const seg of path) {
    const cur = unwrap(s) as { shape?: Record<string, unknown>; def?: { element?: unknown } };
    if (cur?.shape && typeof seg === 'string') s = cur.shape[seg];
    else if (cur?.def?.element) s = cur.def.element;
    else return [];
  }
  const obj = unwrap(s) as { shape?: Record<string, unknown>; def?: { options?: unknown[] } };
  if (obj?.shape) return Object.keys(obj.shape);
  const options = (obj?.def?.options ?? []).map((o) => (unwrap(o) as { shape?: Record<string, { def?: { values?: unknown[] } }> }).shape ?? {});
  const chosen = options.filter((shape) =>
    Object.entries(shape).some(([k, v]) => v.def?.values && input && typeof input === 'object' && v.def.values.includes((input as Record<string, unknown>)[k])),
  );
  return [...new Set((chosen.length > 0 ? chosen : options).flatMap((shape) => Object.keys(shape)))];
}

const dotted = (path: readonly PropertyKey[]) =>
  path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');

function explain(issue: z.core.$ZodIssue, raw: unknown): ConfigProblem[] {
  const path = dotted(issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(platformConfigSchema, issue.path, input);
      return issue.keys.map((key) => {
        const guess = closest(key, allowed);
        return {
          path: path ? `${path}.${key}` : key,
          message: `unknown key "${key}"; allowed here: ${allowed.join(', ')}. ${guess ? `Did you mean "${guess}"? ` : ''}Remove it or fix its spelling`,
        };
      });
    }
    case 'invalid_type': {
      if (input === undefined) {
        return [{ path, message: `is required (expected ${issue.expected}); add it${FIXES[path] ? `: ${FIXES[path]}` : ''}` }];
      }
      const numeric = issue.expected === 'number' || issue.expected === 'int';
      const expected = numeric ? 'a whole number' : issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`;
      let fix = FIXES[path] ?? `write ${expected}`;
      if (numeric && typeof input === 'string' && /^\d+$/.test(input.trim())) fix = `drop the quotes: ${input.trim()}`;
      return [{ path, message: `expected ${expected}, got ${describeType(input)}; ${fix}` }];
    }
    case 'invalid_value': {
      const options = issue.values.map(String);
      if (typeof input === 'number' && path === 'versions.kubernetes') {
        return [{ path, message: `got the number ${input}; YAML reads 1.30 as 1.3, so quote the version: kubernetes: "${options.at(-1)}" (supported: ${options.join(', ')})` }];
      }
      // No guess for versions: the nearest string is not the nearest release.
      const guess = typeof input === 'string' && path !== 'versions.kubernetes' ? closest(input, options) : undefined;
      return [{ path, message: `got ${show(input)}; allowed: ${options.join(', ')}${guess ? `. Did you mean "${guess}"?` : ''}` }];
    }
    case 'invalid_union': {
      const { discriminator, options } = issue as unknown as { discriminator?: string; options?: unknown[] };
      if (discriminator) {
        const allowed = (options ?? []).map(String);
        const value = input && typeof input === 'object' ? (input as Record<string, unknown>)[discriminator] : input;
        return [{ path, message: `got ${show(value)}; allowed: ${allowed.join(', ')}` }];
      }
      return [{ path, message: `${issue.message}; got ${show(input)}` }];
    }
    case 'invalid_format':
    case 'too_small':
    case 'too_big': {
      const what = issue.code === 'invalid_format' ? `not a valid ${issue.format === 'regex' ? 'value' : issue.format}` : issue.message.replace(/^Too (small|big): /, '');
      const fix = FIXES[path] ?? (issue.code === 'too_small' ? 'raise it' : issue.code === 'too_big' ? 'lower it' : 'fix its format');
      return [{ path, message: `got ${show(input)}, ${what}; ${fix}` }];
    }
    default:
      return [{ path, message: `${issue.message}; got ${show(input ?? raw)}` }];
  }
}

/**
 * Parses and checks an already-read config object.
 *
 * Every structural problem and every fault-budget refusal is collected, then
 * thrown at once as a {@link PlatformConfigError} naming `source`.
 */
export function parsePlatformConfig(raw: unknown, source = 'platform config'): PlatformSpec {
  const parsed = platformConfigSchema.safeParse(raw, { reportInput: true });
  const problems: ConfigProblem[] = parsed.success ? [] : parsed.error.issues.flatMap((i) => explain(i, raw));

  // Check the fault budget whenever the parts it needs parsed, even when
  // other fields are wrong, so one run reports everything.
  const nodesAndModel = z
    .object({ nodes: platformConfigSchema.shape.nodes, faultModel: platformConfigSchema.shape.faultModel })
    .safeParse(raw);
  const budget = nodesAndModel.success
    ? computeFaultBudget({
        controllers: nodesAndModel.data.nodes.controllers.count,
        workers: nodesAndModel.data.nodes.workers.count,
        faultModel: nodesAndModel.data.faultModel,
      })
    : undefined;
  if (budget && !budget.ok) problems.push(...budget.problems);

  if (!parsed.success || !budget?.ok || problems.length > 0) {
    throw new PlatformConfigError(source, dedupe(problems));
  }
  const config = parsed.data;
  return { config, budget: budget.budget, topology: deriveTopology(config), layers: planLayers(config) };
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Reads a YAML or JSON config file and returns the checked platform spec.
 *
 * @throws PlatformConfigError listing every problem, including unreadable
 * files and YAML syntax errors (with line and column).
 */
export function loadPlatformSpec(file: string): PlatformSpec {
  const source = basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new PlatformConfigError(source, [
      { path: '(file)', message: `cannot read ${file} (${err.code ?? err.message}); pass an existing file with --config` },
    ]);
  }
  return parsePlatformConfig(parseConfigText(text, source), source);
}

/** Parses YAML (a superset of JSON); syntax errors become a {@link PlatformConfigError}. */
export function parseConfigText(text: string, source: string): unknown {
  // merge: YAML 1.1 merge keys (`<<: *defaults`), which people use to share node settings.
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    throw new PlatformConfigError(
      source,
      doc.errors.map((e) => ({
        path: '(file)',
        message: `not valid YAML at line ${e.linePos?.[0].line ?? '?'}, column ${e.linePos?.[0].col ?? '?'}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}; fix the syntax (JSON is valid YAML too)`,
      })),
    );
  }
  const value = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PlatformConfigError(source, [
      { path: '(file)', message: `expected a mapping of settings at the top level, got ${describeType(value)}; start from apps/platform/platform.yaml` },
    ]);
  }
  return value;
}
