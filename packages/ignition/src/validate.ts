import type AjvDraft04 from 'ajv-draft-04';
import type { ErrorObject, ValidateFunction } from 'ajv-draft-04';
import { dropinNameProblem, hashProblem, IGNITION_SPEC_VERSION, pathProblem, systemdPathConflicts, unitNameProblem } from './builder';
import type { Config } from './generated/ignition-v3_3';
import schema from './generated/ignition-v3_3.schema.json';

type SchemaNode = {
  $ref?: string;
  allOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  definitions?: Record<string, SchemaNode>;
};

let validator: ValidateFunction | undefined;

/**
 * Checks an Ignition config against spec 3.3.0, offline, and returns every problem found.
 *
 * - The committed upstream JSON Schema (draft-04, `src/generated/ignition-v3_3.schema.json`).
 * - What the schema leaves open: `ignition.version` must be `"3.3.0"`; no unknown keys anywhere
 *   (Ignition only *warns* about them and then ignores them, so a typo silently drops a setting);
 *   absolute, normalized paths; unit and drop-in names systemd accepts; no path or unit twice;
 *   verification hashes in Ignition's `sha256-`/`sha512-` form; modes within 0..0o7777; no file,
 *   directory or link where Ignition writes a unit or drop-in.
 *
 * Accepts the parsed object or the JSON text (`config.render()`).
 * @returns problems as `"<field>: <what is wrong and how to fix it>"`; empty when the config is valid
 * @see https://coreos.github.io/ignition/configuration-v3_3/
 */
export function validateIgnitionConfig(json: unknown): string[] {
  let config = json;
  if (typeof json === 'string') {
    try {
      config = JSON.parse(json) as unknown;
    } catch (e) {
      return [`config: not JSON (${(e as Error).message}); Ignition reads a JSON document`];
    }
  }
  if (!isRecord(config)) return [`config: expected a JSON object with an "ignition" section; got ${describe(config)}`];

  const problems: string[] = [];
  const validate = getValidator();
  const shapeOk = validate(config);
  if (!shapeOk) problems.push(...(validate.errors ?? []).map(ajvProblem));

  const ignition = config.ignition;
  const version = isRecord(ignition) ? ignition.version : undefined;
  if (version !== IGNITION_SPEC_VERSION) {
    problems.push(
      `ignition.version: ${version === undefined ? 'is missing' : `is ${JSON.stringify(version)}`}; this package writes and checks spec "${IGNITION_SPEC_VERSION}" (Flatcar's Butane 1.0.0 and the Debian ignition-validate 2.14 speak it)`,
    );
  }
  unknownKeys(config, schema as SchemaNode, 'config', problems);
  problems.push(...semanticProblems(config));
  if (shapeOk) {
    // The schema passed, so the document has the shape of Config.
    for (const c of systemdPathConflicts(config as unknown as Config)) {
      problems.push(`storage.${c.kind}[${c.index}].path: "${c.path}" is where Ignition writes ${c.writes}; one of them would silently lose`);
    }
  }
  return [...new Set(problems)];
}

/**
 * Every way the config would let someone log in: passwords and SSH keys of `passwd.users`, and
 * files or links that write SSH `authorized_keys` or `/etc/shadow`.
 *
 * Keelson nodes have no login at all (no SSH, no password for `core`); a test asserts this returns
 * nothing for every rendered config, each merged part included (this looks at one document only).
 * @returns one line per finding; empty when there is none
 * @see https://coreos.github.io/ignition/configuration-v3_3/ (`passwd.users`)
 */
export function findLoginCredentials(json: unknown): string[] {
  const config = typeof json === 'string' ? (JSON.parse(json) as unknown) : json;
  const findings: string[] = [];
  if (!isRecord(config)) return findings;
  const passwd = isRecord(config.passwd) ? config.passwd : {};
  for (const [kind, list] of [['users', passwd.users], ['groups', passwd.groups]] as const) {
    asArray(list).forEach((entry, i) => {
      if (!isRecord(entry)) return;
      const who = JSON.stringify(entry.name);
      if (entry.passwordHash !== undefined && entry.passwordHash !== null) findings.push(`passwd.${kind}[${i}].passwordHash: sets a password for ${who}`);
      if (asArray(entry.sshAuthorizedKeys).length > 0) findings.push(`passwd.${kind}[${i}].sshAuthorizedKeys: authorizes ${asArray(entry.sshAuthorizedKeys).length} SSH key(s) for ${who}`);
    });
  }
  const storage = isRecord(config.storage) ? config.storage : {};
  for (const kind of ['files', 'links'] as const) {
    asArray(storage[kind]).forEach((entry, i) => {
      const path = isRecord(entry) ? entry.path : undefined;
      if (typeof path !== 'string') return;
      if (/\/\.ssh\/authorized_keys(\.d(\/|$)|$)/.test(path)) findings.push(`storage.${kind}[${i}].path: writes SSH keys to "${path}"`);
      if (/^\/etc\/(g?shadow|passwd|sudoers)(\.d(\/|$)|$)/.test(path)) findings.push(`storage.${kind}[${i}].path: writes login configuration "${path}"`);
    });
  }
  return findings;
}

function getValidator(): ValidateFunction {
  if (!validator) {
    // Loaded on first use: rendering configs (keelson synth) never needs Ajv.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load; import() would make validation async
    const Ajv = (require('ajv-draft-04') as { default: typeof AjvDraft04 }).default;
    const ajv = new Ajv({ strict: false, allErrors: true });
    validator = ajv.compile(schema);
  }
  return validator;
}

function ajvProblem(e: ErrorObject): string {
  const field = fieldOf(e.instancePath);
  if (e.keyword === 'required') return `${field}: required field "${String((e.params as { missingProperty?: string }).missingProperty)}" is missing`;
  return `${field}: ${e.message ?? 'is invalid'} (schema ${e.schemaPath})`;
}

/** `/storage/files/0/mode` -> `storage.files[0].mode`. */
function fieldOf(pointer: string): string {
  if (pointer === '') return 'config';
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`), '');
}

/** Reports every key the schema does not define, walking `$ref`, `allOf`, `properties` and `items`. */
function unknownKeys(data: unknown, node: SchemaNode, field: string, problems: string[]): void {
  const resolved = resolve(node);
  if (Array.isArray(data)) {
    if (resolved.items) data.forEach((item, i) => unknownKeys(item, resolved.items as SchemaNode, `${field}[${i}]`, problems));
    return;
  }
  if (!isRecord(data) || !resolved.properties) return;
  for (const [key, value] of Object.entries(data)) {
    const child = resolved.properties[key];
    const childField = field === 'config' ? key : `${field}.${key}`;
    if (!child) {
      const known = Object.keys(resolved.properties).sort().join(', ');
      problems.push(`${childField}: unknown key ${JSON.stringify(key)}; Ignition ignores it with only a warning. Known keys here: ${known}`);
      continue;
    }
    unknownKeys(value, child, childField, problems);
  }
}

/** A schema node with `$ref`s followed and `allOf` members' properties merged. */
function resolve(node: SchemaNode): { properties?: Record<string, SchemaNode>; items?: SchemaNode } {
  const target = node.$ref ? pointerTarget(node.$ref) : node;
  if (target.allOf) {
    const properties: Record<string, SchemaNode> = {};
    for (const member of target.allOf) Object.assign(properties, resolve(member).properties ?? {});
    return { properties: { ...properties, ...(target.properties ?? {}) } };
  }
  return { ...(target.properties ? { properties: target.properties } : {}), ...(target.items ? { items: target.items } : {}) };
}

function pointerTarget(ref: string): SchemaNode {
  if (!ref.startsWith('#/')) throw new Error(`ignition schema: unsupported $ref ${ref}`);
  let node: unknown = schema;
  for (const part of ref.slice(2).split('/')) {
    node = isRecord(node) ? node[part] : undefined;
  }
  if (!isRecord(node)) throw new Error(`ignition schema: dangling $ref ${ref}`);
  return node as SchemaNode;
}

/** What Ignition checks beyond the schema (and a few things it would only find at boot). */
function semanticProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const storage = isRecord(config.storage) ? config.storage : {};
  const seen = new Map<string, string>();
  for (const kind of ['files', 'directories', 'links'] as const) {
    asArray(storage[kind]).forEach((entry, i) => {
      if (!isRecord(entry)) return;
      const field = `storage.${kind}[${i}]`;
      if (typeof entry.path === 'string') {
        const problem = pathProblem(entry.path);
        if (problem) problems.push(`${field}.path: ${JSON.stringify(entry.path)} ${problem}`);
        const first = seen.get(entry.path);
        if (first) problems.push(`${field}.path: "${entry.path}" is also ${first}; each path may appear once`);
        else seen.set(entry.path, field);
      }
      if (typeof entry.mode === 'number' && (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777)) {
        problems.push(`${field}.mode: ${entry.mode} is outside 0..4095 (0o7777); Ignition wants the permission bits as a decimal integer, such as 420 for 0o644`);
      }
      if (kind === 'links' && entry.hard === true && typeof entry.target === 'string' && !entry.target.startsWith('/')) {
        problems.push(`${field}.target: "${entry.target}" is relative; a hard link needs an absolute target`);
      }
    });
  }
  const systemd = isRecord(config.systemd) ? config.systemd : {};
  const unitNames = new Map<string, number>();
  asArray(systemd.units).forEach((unit, i) => {
    if (!isRecord(unit) || typeof unit.name !== 'string') return;
    const field = `systemd.units[${i}]`;
    const problem = unitNameProblem(unit.name);
    if (problem) problems.push(`${field}.name: ${JSON.stringify(unit.name)} ${problem}`);
    const first = unitNames.get(unit.name);
    if (first !== undefined) problems.push(`${field}.name: "${unit.name}" is also systemd.units[${first}]; list each unit once and put its drop-ins together`);
    else unitNames.set(unit.name, i);
    asArray(unit.dropins).forEach((dropin, j) => {
      if (!isRecord(dropin) || typeof dropin.name !== 'string') return;
      const dropinProblem = dropinNameProblem(dropin.name);
      if (dropinProblem) problems.push(`${field}.dropins[${j}].name: ${JSON.stringify(dropin.name)} ${dropinProblem}`);
    });
  });
  forEachHash(config, 'config', (field, hash) => {
    const problem = hashProblem(hash);
    if (problem) problems.push(`${field}: ${JSON.stringify(hash)} ${problem}`);
  });
  return problems;
}

/** Calls `fn` for every `verification.hash` string in the document. */
function forEachHash(data: unknown, field: string, fn: (field: string, hash: string) => void): void {
  if (Array.isArray(data)) {
    data.forEach((item, i) => forEachHash(item, `${field}[${i}]`, fn));
    return;
  }
  if (!isRecord(data)) return;
  for (const [key, value] of Object.entries(data)) {
    const childField = field === 'config' ? key : `${field}.${key}`;
    if (key === 'verification' && isRecord(value) && typeof value.hash === 'string') fn(`${childField}.hash`, value.hash);
    else forEachHash(value, childField, fn);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
