import Ajv, { _ } from 'ajv';
import type { Options, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats';
import standaloneCode from 'ajv/dist/standalone';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Script } from 'node:vm';
import generatedIndex from '../generated/index.json';
import { isRecord } from './paths';
import { problemsFromAjv } from './problems';
import type { ManifestProblem } from './problems';

type Schema = Record<string, unknown>;

/** The module name standalone validator code requires for what only this file has (see {@link loadStandalone}). */
const RUNTIME = 'keelson:k8s-schemas/validator-runtime';

/**
 * CRD patterns are Go (RE2) regular expressions. RE2 writes a Unicode class
 * with one letter as `\pC`; JavaScript's `u` mode needs `\p{C}` (Cilium's
 * CRDs use `^\PC*$`). Everything else the CRDs use reads the same in both.
 *
 * @see https://github.com/google/re2/wiki/Syntax
 */
const goRegExp = Object.assign((pattern: string, flags: string) => new RegExp(pattern.replace(/(?<!\\)\\([pP])([A-Z])/g, '\\$1{$2}'), flags), {
  // How standalone code (the validator cache, below) reaches this function.
  code: `require(${JSON.stringify(RUNTIME)}).goRegExp`,
});

/** `"<group>/<version>/<Kind>"` -> generated file that holds its schema. */
const fileByKey = new Map<string, string>();
for (const entry of generatedIndex.files) {
  for (const key of entry.kinds) fileByKey.set(key, entry.file);
}

const schemaFiles = new Map<string, Record<string, Schema>>();
const validators = new Map<string, ValidateFunction>();
let ajv: Ajv | undefined;

/** Every `"<group>/<version>/<Kind>"` that has a committed CRD schema, sorted. */
export function customResourceKeys(): string[] {
  return [...fileByKey.keys()].sort();
}

/** The schema key for `apiVersion` + `kind`, or `undefined` when no committed CRD defines it. */
export function findCustomResource(apiVersion: string, kind: string): string | undefined {
  const key = `${apiVersion}/${kind}`;
  return fileByKey.has(key) ? key : undefined;
}

/**
 * Validates a custom resource against its CRD's `openAPIV3Schema`, strictly.
 *
 * Follows shared/schemas/README.md: nulls are dropped and defaults applied before the checking
 * pass, as the API server does, and every object schema with `properties` is closed, so an unknown
 * field is an error instead of being pruned silently. Validators are compiled on first use per kind
 * (Argo CD's ApplicationSet alone takes over a second), kept for the process, and their standalone
 * code kept in the validator cache (see {@link compileValidator}).
 */
export function validateCustomResource(key: string, doc: Record<string, unknown>): ManifestProblem[] {
  const validate = validatorFor(key);
  const { problems } = checkWith(validate, doc);
  writeCodeCache(validate);
  return problems;
}

/** Runs one validator as {@link validateCustomResource} does; `data` is the document with nulls dropped and defaults applied. */
export function checkWith(validate: ValidateFunction, doc: Record<string, unknown>): { problems: ManifestProblem[]; errors: ValidateFunction['errors']; data: Record<string, unknown> } {
  const data = dropNulls(doc) as Record<string, unknown>;
  validate(data); // the first pass only fills in defaults (an oneOf may depend on them)
  if (validate(data)) return { problems: [], errors: null, data };
  return { problems: problemsFromAjv(validate.errors ?? [], data), errors: validate.errors, data };
}

function validatorFor(key: string): ValidateFunction {
  const cached = validators.get(key);
  if (cached !== undefined) return cached;
  const validate = compileValidator(key, validatorCacheDir()).validate;
  validators.set(key, validate);
  return validate;
}

function schemaFor(key: string): Schema {
  const file = fileByKey.get(key);
  if (file === undefined) throw new Error(`k8s-schemas: no CRD schema for ${key}`);
  let schemas = schemaFiles.get(file);
  if (schemas === undefined) {
    const parsed = JSON.parse(readFileSync(join(__dirname, '..', 'generated', file), 'utf8')) as { schemas: Record<string, Schema> };
    schemas = parsed.schemas;
    schemaFiles.set(file, schemas);
  }
  return schemas[key];
}

/**
 * Bump when anything in this file changes the code Ajv generates or what that code
 * requires at run time (strictSchema, goRegExp, the formats): it is part of every
 * cache key, so validators written by an older Keelson are never loaded.
 */
const VALIDATOR_CODE_VERSION = 1;

const AJV_OPTIONS = {
  strict: false,
  allErrors: true,
  useDefaults: true,
  verbose: true,
  // source: keep the generated code, so standaloneCode can write it to the cache.
  // formats: how standalone code reaches the formats (the in-memory validators use them directly).
  code: { source: true, regExp: goRegExp, formats: _`require(${RUNTIME}).formats` },
} satisfies Options;

/** The formats the validators check, in memory and in standalone code alike. */
const formats = {
  ...fullFormats,
  // The API server does check "cidr" (Cilium's toCIDR, ...).
  cidr: { type: 'string' as const, validate: isCidr },
};

function getAjv(): Ajv {
  if (ajv === undefined) {
    ajv = new Ajv(AJV_OPTIONS);
    // Formats only: the formatMaximum/... keywords are not used by CRDs. (code.formats is set: kept.)
    addFormats(ajv, { mode: 'full', keywords: false });
    // OpenAPI formats that ajv does not know and the API server does not check (no code is generated for them).
    for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password', 'idn-hostname']) ajv.addFormat(f, true);
    ajv.addFormat('cidr', formats.cidr);
  }
  return ajv;
}

/**
 * The validator cache: `$KEELSON_CACHE_DIR/validators`, else `~/.cache/keelson/validators`;
 * `KEELSON_VALIDATOR_CACHE=<absolute folder>` puts it there (the tests' global setup gives each
 * test run its own), `KEELSON_VALIDATOR_CACHE=0` turns it off (`undefined`).
 */
export function validatorCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const own = env.KEELSON_VALIDATOR_CACHE;
  if (own === '0') return undefined;
  if (own && isAbsolute(own)) return own;
  const set = env.KEELSON_CACHE_DIR;
  return set && set.length > 0 ? resolve(set, 'validators') : join(env.HOME && env.HOME.length > 0 ? env.HOME : homedir(), '.cache', 'keelson', 'validators');
}

/** Where a validator came from: the cache, a compile written to the cache, or a compile kept in memory only. */
export type ValidatorOrigin = 'cache' | 'compiled' | 'memory';

/**
 * The validator of one CRD kind. With a cache folder, Ajv's standalone code for the kind is
 * loaded from `<cacheDir>/<key>.js` when present and intact, else compiled and written there
 * (atomically, best effort: a folder that cannot be written only costs the compile next time).
 * The key is the sha256 of the strict schema, Ajv's and ajv-formats' versions, the Ajv options
 * and {@link VALIDATOR_CODE_VERSION}; the file holds the key and the sha256 of its code, so a
 * damaged or foreign file is compiled again (and replaced).
 *
 * @see https://ajv.js.org/standalone.html
 */
export function compileValidator(key: string, cacheDir: string | undefined): { validate: ValidateFunction; origin: ValidatorOrigin } {
  const schema = strictSchema(schemaFor(key));
  if (cacheDir === undefined) return { validate: getAjv().compile(schema), origin: 'memory' };
  const cacheKey = validatorCacheKey(schema);
  const file = join(cacheDir, `${cacheKey}.js`);
  const loaded = loadStandalone(file, cacheKey);
  if (loaded !== undefined) return { validate: loaded, origin: 'cache' };
  const validate = getAjv().compile(schema);
  let code: string;
  try {
    code = standaloneCode(getAjv(), validate);
  } catch {
    return { validate, origin: 'memory' }; // a kind Ajv cannot write as standalone code stays in memory
  }
  const header = `// keelson-validator ${cacheKey} ${sha256(code)}\n`;
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(tmp, header + code);
    renameSync(tmp, file);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the folder is not writable: nothing was left in it
    }
    return { validate, origin: 'memory' };
  }
  return { validate, origin: 'compiled' };
}

function validatorCacheKey(schema: Schema): string {
  return sha256(
    JSON.stringify({
      schema,
      ajv: ajvVersions.ajv,
      ajvFormats: ajvVersions.ajvFormats,
      options: { ...AJV_OPTIONS, code: { ...AJV_OPTIONS.code, regExp: AJV_OPTIONS.code.regExp.code, formats: AJV_OPTIONS.code.formats.toString() } },
      formats: 'full+openapi+cidr',
      version: VALIDATOR_CODE_VERSION,
    }),
  );
}

const packageRequire = createRequire(__filename);
const ajvVersions = {
  ajv: (packageRequire('ajv/package.json') as { version: string }).version,
  ajvFormats: (packageRequire('ajv-formats/package.json') as { version: string }).version,
};

/** What standalone code requires: Ajv's runtime modules from this package's node_modules, and {@link RUNTIME}. */
function standaloneRequire(id: string): unknown {
  if (id === RUNTIME) return { goRegExp, formats };
  if (!id.startsWith('ajv/dist/runtime/') && id !== 'ajv-formats/dist/formats') throw new Error(`k8s-schemas: a cached validator requires ${id}`);
  return packageRequire(id);
}

/** The cached validator in `file`, or `undefined` when it is missing, damaged or not the one for `cacheKey` (then written again). */
function loadStandalone(file: string, cacheKey: string): ValidateFunction | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const newline = text.indexOf('\n');
  const [tag, key, digest] = text.slice(0, newline).split(' ').slice(1);
  const code = text.slice(newline + 1);
  if (newline < 0 || tag !== 'keelson-validator' || key !== cacheKey || digest !== sha256(code)) return undefined;
  try {
    // V8's compiled code of this very code (named by its digest), as tools/keelson-loader.cjs keeps the
    // CLI's: a large validator's first call otherwise spends most of its time compiling it. V8 refuses
    // a cache that is not its own (version, flags); then it is written again after the first check.
    const codeCacheFile = `${file.slice(0, -'.js'.length)}.${digest.slice(0, 16)}.v8`;
    const cachedData = readOrUndefined(codeCacheFile);
    const script = new Script(`(function (module, exports, require) {${code}\n})`, { filename: file, ...(cachedData ? { cachedData } : {}) });
    const module = { exports: {} as unknown };
    const run = script.runInThisContext() as (m: typeof module, e: unknown, r: typeof standaloneRequire) => void;
    run(module, module.exports, standaloneRequire);
    if (typeof module.exports !== 'function') return undefined;
    const validate = module.exports as ValidateFunction;
    if (cachedData === undefined || script.cachedDataRejected === true) codeCacheToWrite.set(validate, { script, file: codeCacheFile });
    return validate;
  } catch {
    return undefined;
  }
}

/** Loaded validators whose V8 code cache is to be written after their first check (so it holds the compiled validator). */
const codeCacheToWrite = new WeakMap<ValidateFunction, { script: Script; file: string }>();

function writeCodeCache(validate: ValidateFunction): void {
  const pending = codeCacheToWrite.get(validate);
  if (pending === undefined) return;
  codeCacheToWrite.delete(validate);
  const tmp = `${pending.file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, pending.script.createCachedData());
    renameSync(tmp, pending.file);
  } catch {
    // best effort, as the validator cache itself
  }
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function isCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const family = isIP(value.slice(0, slash));
  const bits = value.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const SCHEMA_MAPS = ['properties', 'patternProperties', 'definitions'];
const SCHEMA_ONE = ['additionalProperties', 'not', 'items'];
const SCHEMA_LIST = ['allOf', 'anyOf', 'oneOf'];

/** Calls `fn` on every schema node, following schema keywords only (never into `default`/`enum` data). */
function walkSchema(schema: unknown, fn: (node: Schema) => void): void {
  if (!isRecord(schema)) return;
  fn(schema);
  for (const key of SCHEMA_MAPS) {
    const map = schema[key];
    if (isRecord(map)) Object.values(map).forEach((s) => walkSchema(s, fn));
  }
  for (const key of SCHEMA_ONE) {
    const sub = schema[key];
    if (Array.isArray(sub)) sub.forEach((s) => walkSchema(s, fn));
    else walkSchema(sub, fn);
  }
  for (const key of SCHEMA_LIST) {
    const list = schema[key];
    if (Array.isArray(list)) list.forEach((s) => walkSchema(s, fn));
  }
}

/** A copy of a CRD schema that ajv accepts and that rejects unknown fields. */
function strictSchema(source: Schema): Schema {
  const schema = structuredClone(source);
  walkSchema(schema, (node) => {
    // Kubernetes allows nullable without type (next to x-kubernetes-preserve-unknown-fields); ajv throws on it.
    if (node.nullable !== undefined && node.type === undefined) delete node.nullable;
    if (node.type === 'object' && isRecord(node.properties) && node['x-kubernetes-preserve-unknown-fields'] !== true && node.additionalProperties === undefined) {
      node.additionalProperties = false;
      if (node['x-kubernetes-embedded-resource'] === true) addTypeMeta(node.properties);
    }
  });
  if (isRecord(schema.properties)) addTypeMeta(schema.properties);
  return schema;
}

/** apiVersion/kind/metadata are implicit in every (embedded) resource; metadata is checked separately. */
function addTypeMeta(properties: Schema): void {
  properties.apiVersion ??= { type: 'string' };
  properties.kind ??= { type: 'string' };
  properties.metadata ??= { type: 'object' };
}

/** The API server prunes nulls before validating; a null is the same as an absent field. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, dropNulls(v)]));
  }
  return value;
}
