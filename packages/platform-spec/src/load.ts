import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import YAML, { isMap, isScalar, Lexer, LineCounter } from 'yaml';
import * as z from 'zod';
import { platformConfigSchema, type PlatformConfig } from './config-schema';
import { computeFaultBudget, type FaultBudget } from './fault-budget';
import { planLayers, type LayerInfo } from './layers';
import { deriveTopology, type Topology } from './topology';
import { ConfigFileError, readConfigFile } from './internal/read-config-file';
import { printable, quote } from './internal/quote';

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

/** Problems an error message lists; `problems` keeps them all. */
const MAX_PROBLEMS_SHOWN = 40;

/** Thrown when a config cannot be used; lists every problem at once (the message, the first 40). */
export class PlatformConfigError extends Error {
  constructor(
    public readonly source: string,
    public readonly problems: readonly ConfigProblem[],
  ) {
    super(
      `${printable(source)}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems
          .slice(0, MAX_PROBLEMS_SHOWN)
          .map((p) => `  ${p.path}: ${p.message}`)
          .join('\n') +
        (problems.length > MAX_PROBLEMS_SHOWN ? `\n  … and ${problems.length - MAX_PROBLEMS_SHOWN} more of the same kinds; fix these first` : ''),
    );
    this.name = 'PlatformConfigError';
  }
}

const describeType = (v: unknown): string =>
  v === undefined ? 'nothing' : v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `${quote(v)} (a ${typeof v})`;

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
  // A long value is no typo of a short option, and comparing costs its length times theirs.
  if (value.length > 64) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = distance(value.toLowerCase(), o.toLowerCase());
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(value.length / 3)) ? best : undefined;
}

/** Field-specific fixes, where a generic "use a number" is not enough. */
const FIXES: Readonly<Record<string, string>> = {
  'cluster.name': 'use 2-20 lower-case letters, digits and dashes, starting with a letter (e.g. "keelson")',
  domain: 'use a fully qualified domain name in lower case, such as "cloud.example.com"',
  'acme.email': 'use a full e-mail address such as "ops@example.com"',
  'gitops.repoURL': 'use an https:// or ssh Git URL such as "https://github.com/you/platform.git"',
  'gitops.revision': 'use a branch, tag or commit name as Git allows it, such as "main" or "v1.2.0"',
  'gitops.path': 'use a relative folder of its own, such as "charts-out" (no ".", "..", ".git" or absolute path)',
  'nodes.controllers.size': 'use a server type of the cloud in lower-case letters, digits and dashes, such as "s-4vcpu-8gb" or "cx33"',
  'nodes.workers.size': 'use a server type of the cloud in lower-case letters, digits and dashes, such as "s-4vcpu-8gb" or "cx33"',
};

/**
 * The fix for a missing or malformed `cluster.id`: a fresh random value to
 * paste, made here so that two users who both copy the example never share
 * one (bucket names are global on both clouds).
 */
const clusterIdFix = (): string =>
  `use 8 lower-case hex digits made once for this cluster, such as this freshly generated one: id: "${randomBytes(4).toString('hex')}" (keep it: a changed id means new buckets and orphans the old ones)`;

const fixFor = (path: string): string | undefined => (path === 'cluster.id' ? clusterIdFix() : Object.hasOwn(FIXES, path) ? FIXES[path] : undefined);

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

/** A path segment as written in a dotted path: a plain key bare, any other key quoted (`cluster["a\\u0000b"]`). */
const segment = (acc: string, seg: PropertyKey): string => {
  if (typeof seg === 'number') return `${acc}[${seg}]`;
  const key = String(seg);
  if (/^[A-Za-z_][\w-]{0,59}$/.test(key)) return acc ? `${acc}.${key}` : key;
  return `${acc}[${quote(key)}]`;
};

const dotted = (path: readonly PropertyKey[]) => path.reduce<string>(segment, '');

function explain(issue: z.core.$ZodIssue, raw: unknown): ConfigProblem[] {
  const path = dotted(issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(platformConfigSchema, issue.path, input);
      return issue.keys.map((key) => {
        const guess = closest(key, allowed);
        return {
          path: segment(path, key),
          message: `unknown key ${quote(key)}; allowed here: ${allowed.join(', ')}. ${guess ? `Did you mean "${guess}"? ` : ''}Remove it or fix its spelling`,
        };
      });
    }
    case 'invalid_type': {
      if (input === undefined) {
        return [{ path, message: `is required (expected ${issue.expected}); add it${fixFor(path) ? `: ${fixFor(path)}` : ''}` }];
      }
      const numeric = issue.expected === 'number' || issue.expected === 'int';
      const expected = numeric ? 'a whole number' : issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`;
      let fix = fixFor(path) ?? `write ${expected}`;
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
      return [{ path, message: `got ${quote(input)}; allowed: ${options.join(', ')}${guess ? `. Did you mean "${guess}"?` : ''}` }];
    }
    case 'invalid_union': {
      const { discriminator, options } = issue as unknown as { discriminator?: string; options?: unknown[] };
      if (discriminator) {
        const allowed = (options ?? []).map(String);
        const value = input && typeof input === 'object' ? (input as Record<string, unknown>)[discriminator] : input;
        return [{ path, message: `got ${quote(value)}; allowed: ${allowed.join(', ')}` }];
      }
      return [{ path, message: `${issue.message}; got ${quote(input)}` }];
    }
    case 'invalid_format':
    case 'too_small':
    case 'too_big': {
      const what = issue.code === 'invalid_format' ? `not a valid ${issue.format === 'regex' ? 'value' : issue.format}` : issue.message.replace(/^Too (small|big): /, '');
      const fix = fixFor(path) ?? (issue.code === 'too_small' ? 'raise it' : issue.code === 'too_big' ? 'lower it' : 'fix its format');
      return [{ path, message: `got ${quote(input)}, ${what}; ${fix}` }];
    }
    default:
      return [{ path, message: `${issue.message}; got ${quote(input ?? raw)}` }];
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

/** Most times a document may use an alias (`*name`): enough to share node settings, far too few for a "billion laughs". */
export const MAX_ALIAS_COUNT = 100;
/** Deepest nesting of `[` and `{` accepted; a config needs 4. */
const MAX_FLOW_DEPTH = 32;
/** Most YAML tokens (keys, values, punctuation, comments) parsed; the example config has 226. */
const MAX_TOKENS = 5000;

/**
 * Reads a YAML or JSON config file and returns the checked platform spec.
 *
 * The file is refused before it is parsed when it is no regular file (a
 * directory, a FIFO, a device such as /dev/zero, a dangling link), larger
 * than 64 KiB, not UTF-8, or holds control characters.
 *
 * @throws PlatformConfigError listing every problem, including unreadable
 * files and YAML syntax errors (with line and column).
 */
export function loadPlatformSpec(file: string): PlatformSpec {
  const source = basename(file);
  let text: string;
  try {
    text = readConfigFile(file);
  } catch (e) {
    if (e instanceof ConfigFileError) throw new PlatformConfigError(source, [{ path: '(file)', message: e.message }]);
    throw e;
  }
  return parsePlatformConfig(parseConfigText(text, source), source);
}

/** Line and column (1-based) of `offset`. */
type Where = (offset: number) => { line: number; col: number };

/**
 * Where the text first nests `[`/`{` more than {@link MAX_FLOW_DEPTH} deep or
 * passes {@link MAX_TOKENS} tokens, found with yaml's lexer, which is fast and
 * linear where the parser is not (50 000 `[` take the parser 30 s, 6000 keys
 * half a second).
 */
function scanTokens(text: string): { readonly problem: 'deep' | 'long'; readonly offset: number } | undefined {
  let depth = 0;
  let offset = 0;
  let tokens = 0;
  for (const token of new Lexer().lex(text)) {
    if (++tokens > MAX_TOKENS) return { problem: 'long', offset };
    if (token === '[' || token === '{') {
      if (++depth > MAX_FLOW_DEPTH) return { problem: 'deep', offset };
    } else if (token === ']' || token === '}') depth = Math.max(0, depth - 1);
    // Single control characters mark token types and are not part of the source.
    if (!(token.length === 1 && token < ' ')) offset += token.length;
  }
  return undefined;
}

/**
 * Duplicate keys in every mapping, with a set per mapping: yaml's own
 * `uniqueKeys` compares each key with every earlier one, which takes seconds
 * for a few thousand keys.
 */
function duplicateKeys(doc: YAML.Document, where: Where): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  YAML.visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) {
          const { line, col } = where(key.range?.[0] ?? 0);
          problems.push({ path: '(file)', message: `key ${quote(key.value)} appears twice in one mapping (again at line ${line}, column ${col}); YAML keeps only one of them: delete one` });
        }
        seen.add(key.value);
      }
    },
  });
  return problems;
}

/** A parser error as one line: where, what (cut to a readable length), and the fix. */
function describeYamlError(e: YAML.YAMLError, where: Where): ConfigProblem {
  const { line, col } = where(e.pos[0]);
  const at = `line ${line}, column ${col}`;
  const what = printable(e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''), 120);
  switch (e.code) {
    case 'MULTIPLE_DOCS':
      return { path: '(file)', message: `a second YAML document ("---") starts at ${at}; a config is one document: delete the second or merge it into the first` };
    case 'TAB_AS_INDENT':
      return { path: '(file)', message: `a tab indents ${at}; YAML indents with spaces only: replace the tab with spaces` };
    case 'BAD_ALIAS':
      return { path: '(file)', message: `not valid YAML at ${at}: ${what}; define the anchor (&name) before its alias (*name)` };
    default:
      return { path: '(file)', message: `not valid YAML at ${at}: ${what}; fix the syntax (JSON is valid YAML too)` };
  }
}

/**
 * Parses YAML (a superset of JSON) into the object {@link parsePlatformConfig}
 * checks.
 *
 * Refused, each with its line and column: syntax errors, duplicate keys, more
 * than one document, `[`/`{` nested more than 32 deep, more than 5000
 * tokens, aliases without an anchor and aliases expanded more than
 * {@link MAX_ALIAS_COUNT} times (a "billion laughs"); also an empty document
 * and a top level that is not a mapping.
 *
 * @throws PlatformConfigError naming `source`.
 */
export function parseConfigText(text: string, source: string): unknown {
  const lineCounter = new LineCounter();
  const where: Where = (offset) => lineCounter.linePos(offset);
  const scan = scanTokens(text);
  if (scan) {
    const { line, col } = lineOf(text, scan.offset);
    throw new PlatformConfigError(source, [
      scan.problem === 'deep'
        ? { path: '(file)', message: `lists or mappings nest more than ${MAX_FLOW_DEPTH} levels deep at line ${line}, column ${col}; a config nests 4 at most: check the brackets` }
        : {
            path: '(file)',
            message: `holds more than ${MAX_TOKENS} YAML tokens (the example has 226) by line ${line}; a platform config is short: check that --config names it, and remove repeated or generated content`,
          },
    ]);
  }
  // merge: YAML 1.1 merge keys (`<<: *defaults`), which people use to share node settings.
  // uniqueKeys is checked below, in linear time.
  const doc = YAML.parseDocument(text, { prettyErrors: false, uniqueKeys: false, merge: true, lineCounter });
  if (doc.errors.length > 0) throw new PlatformConfigError(source, doc.errors.map((e) => describeYamlError(e, where)));
  const duplicates = duplicateKeys(doc, where);
  if (duplicates.length > 0) throw new PlatformConfigError(source, duplicates);
  if (doc.contents === null) {
    throw new PlatformConfigError(source, [{ path: '(file)', message: 'the file is empty or holds only comments; write the platform settings, starting from apps/platform/platform.yaml' }]);
  }

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError && /excessive alias count/i.test(e.message)) {
      throw new PlatformConfigError(source, [
        {
          path: '(file)',
          message: `its aliases (*name) expand to more than ${MAX_ALIAS_COUNT} copies, the shape of a "billion laughs" attack; a config needs a few aliases at most: write the values out`,
        },
      ]);
    }
    if (e instanceof ReferenceError && /unresolved alias/i.test(e.message)) {
      const name = /: (.*)$/s.exec(e.message)?.[1] ?? '';
      throw new PlatformConfigError(source, [
        { path: '(file)', message: `the alias *${printable(name, 60)} names no anchor before it; define the anchor (&${printable(name, 60)}) before its alias, or write the value out` },
      ]);
    }
    throw e;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PlatformConfigError(source, [{ path: '(file)', message: `expected a mapping of settings at the top level, got ${describeType(value)}; start from apps/platform/platform.yaml` }]);
  }
  return value;
}

/** Line and column (1-based) of `offset` in `text`, for an offset found before parsing. */
function lineOf(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, col: offset - before.lastIndexOf('\n') };
}
