import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import generatedIndex from '../generated/index.json';
import { isRecord } from './paths';
import { problemsFromAjv } from './problems';
import type { ManifestProblem } from './problems';

type Schema = Record<string, unknown>;

/**
 * CRD patterns are Go (RE2) regular expressions. RE2 writes a Unicode class
 * with one letter as `\pC`; JavaScript's `u` mode needs `\p{C}` (Cilium's
 * CRDs use `^\PC*$`). Everything else the CRDs use reads the same in both.
 *
 * @see https://github.com/google/re2/wiki/Syntax
 */
const goRegExp = Object.assign((pattern: string, flags: string) => new RegExp(pattern.replace(/(?<!\\)\\([pP])([A-Z])/g, '\\$1{$2}'), flags), {
  code: 'new RegExp',
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
 * (Argo CD's ApplicationSet alone takes over a second) and cached.
 */
export function validateCustomResource(key: string, doc: Record<string, unknown>): ManifestProblem[] {
  const validate = validatorFor(key);
  const data = dropNulls(doc) as Record<string, unknown>;
  validate(data); // the first pass only fills in defaults (an oneOf may depend on them)
  if (validate(data)) return [];
  return problemsFromAjv(validate.errors ?? [], data);
}

function validatorFor(key: string): ValidateFunction {
  const cached = validators.get(key);
  if (cached !== undefined) return cached;
  const file = fileByKey.get(key);
  if (file === undefined) throw new Error(`k8s-schemas: no CRD schema for ${key}`);
  let schemas = schemaFiles.get(file);
  if (schemas === undefined) {
    const parsed = JSON.parse(readFileSync(join(__dirname, '..', 'generated', file), 'utf8')) as { schemas: Record<string, Schema> };
    schemas = parsed.schemas;
    schemaFiles.set(file, schemas);
  }
  const validate = getAjv().compile(strictSchema(schemas[key]));
  validators.set(key, validate);
  return validate;
}

function getAjv(): Ajv {
  if (ajv === undefined) {
    ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true, verbose: true, code: { regExp: goRegExp } });
    // Formats only: the formatMaximum/... keywords are not used by CRDs.
    addFormats(ajv, { mode: 'full', keywords: false });
    // OpenAPI formats that ajv does not know and the API server does not check.
    for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password', 'idn-hostname']) ajv.addFormat(f, true);
    // The API server does check "cidr" (Cilium's toCIDR, ...).
    ajv.addFormat('cidr', { type: 'string', validate: isCidr });
  }
  return ajv;
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
