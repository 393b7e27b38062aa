#!/usr/bin/env node
// Generates packages/k8s-schemas/src/generated/*.json from the pinned upstream CRDs in
// shared/schemas/crds/*.crds.yaml: one JSON file per CRD file, mapping
// "<group>/<version>/<Kind>" to that version's openAPIV3Schema.
//
// Only derived schema JSON is committed, never the upstream YAML. Schema `description`s are
// stripped (they are most of the bytes and validation never reads them), versions with
// `served: false` are left out (the API server rejects them), and object keys are sorted so
// that the output is byte-stable: re-running on the same input changes nothing.
//
// Usage (from the repo root): node tools/crd-schemas.mjs
// The shared folder defaults to ../shared next to the repo; override with KEELSON_SHARED=/path/to/shared.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = path.join(repoRoot, 'packages', 'k8s-schemas');
// Resolve yaml from the package that declares it (yaml@2); the root node_modules holds yaml@1.
const YAML = createRequire(path.join(pkgDir, 'package.json'))('yaml');

const sharedDir = path.resolve(process.env.KEELSON_SHARED ?? path.join(repoRoot, '..', 'shared'));
const crdDir = path.join(sharedDir, 'schemas', 'crds');
const outDir = path.join(pkgDir, 'src', 'generated');

if (!fs.existsSync(crdDir)) {
  console.error(`crd-schemas: no CRD folder at ${crdDir}; set KEELSON_SHARED to the shared/ folder of your checkout.`);
  process.exit(1);
}

/** Keywords whose value is a map of name -> schema. */
const SCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', 'dependencies'];
/** Keywords whose value is one schema (or a boolean). */
const SCHEMA_ONE = ['additionalProperties', 'additionalItems', 'not', 'items'];
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST = ['allOf', 'anyOf', 'oneOf'];

/**
 * Removes `description` from every schema node.
 *
 * Walks schema keywords only, so a property that is itself called `description`
 * (Argo CD's AppProject `spec.description`) and data under `default`/`enum`/`example` stay intact.
 */
function stripDescriptions(schema) {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description' && typeof value === 'string') continue;
    if (SCHEMA_MAPS.includes(key) && value && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, stripDescriptions(sub)]));
    } else if (SCHEMA_ONE.includes(key)) {
      out[key] = Array.isArray(value) ? value.map(stripDescriptions) : stripDescriptions(value);
    } else if (SCHEMA_LIST.includes(key) && Array.isArray(value)) {
      out[key] = value.map(stripDescriptions);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Deep copy with object keys in code-point order (arrays keep their order). */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .map((k) => [k, sortKeys(value[k])]),
    );
  }
  return value;
}

/** License and upstream tag per CRD file, read from the table in shared/schemas/README.md. */
function readProvenance() {
  const readme = path.join(sharedDir, 'schemas', 'README.md');
  const out = new Map();
  if (!fs.existsSync(readme)) return out;
  for (const line of fs.readFileSync(readme, 'utf8').split('\n')) {
    const m = /^\| `crds\/([^`]+)` \|/.exec(line);
    if (!m) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const clean = (s) => s.replace(/[*`]/g, '').trim();
    const upstream = /^([\w.-]+\/[\w.-]+) @ (v[\w.+-]+)/.exec(clean(cells[3] ?? ''));
    out.set(m[1], {
      license: clean(cells[cells.length - 1] ?? '').replace(/\s*\(.*\)$/, '') || 'unknown',
      upstream: upstream ? `${upstream[1]}@${upstream[2]}` : undefined,
    });
  }
  return out;
}

function serialize(value) {
  // One line per kind keeps git diffs readable at the level that matters (which kinds changed)
  // without paying for indentation inside deeply nested schemas.
  const { source, schemas } = value;
  const lines = Object.keys(schemas).map((k) => `    ${JSON.stringify(k)}: ${JSON.stringify(schemas[k])}`);
  return `{\n  "schemas": {\n${lines.join(',\n')}\n  },\n  "source": ${JSON.stringify(source)}\n}\n`;
}

const provenance = readProvenance();
const crdFiles = fs
  .readdirSync(crdDir)
  .filter((f) => f.endsWith('.crds.yaml'))
  .sort();

fs.mkdirSync(outDir, { recursive: true });
for (const stale of fs.readdirSync(outDir)) {
  if (stale.endsWith('.json')) fs.rmSync(path.join(outDir, stale));
}

const index = [];
let total = 0;
for (const file of crdFiles) {
  const raw = fs.readFileSync(path.join(crdDir, file));
  const sha256 = createHash('sha256').update(raw).digest('hex');
  const schemas = {};
  for (const doc of YAML.parseAllDocuments(raw.toString('utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
    const crd = doc.toJS({ maxAliasCount: -1 });
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    for (const version of crd.spec.versions) {
      if (version.served === false) continue;
      const key = `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`;
      if (schemas[key]) throw new Error(`${file}: ${key} is defined twice`);
      schemas[key] = sortKeys(stripDescriptions(version.schema.openAPIV3Schema));
    }
  }
  const sortedSchemas = Object.fromEntries(Object.keys(schemas).sort().map((k) => [k, schemas[k]]));
  const name = file.replace(/\.crds\.yaml$/, '.json');
  const prov = provenance.get(file) ?? { license: 'unknown' };
  const source = { file, sha256, ...(prov.upstream ? { upstream: prov.upstream } : {}), license: prov.license };
  const text = serialize({ source, schemas: sortedSchemas });
  fs.writeFileSync(path.join(outDir, name), text);
  total += Buffer.byteLength(text);
  index.push({ file: name, source: file, sha256, ...(prov.upstream ? { upstream: prov.upstream } : {}), license: prov.license, kinds: Object.keys(sortedSchemas) });
  console.log(`${name.padEnd(32)} ${String(Object.keys(sortedSchemas).length).padStart(3)} kinds ${(Buffer.byteLength(text) / 1024).toFixed(0).padStart(6)} KiB`);
}

const indexText = `${JSON.stringify({ files: index }, null, 2)}\n`;
fs.writeFileSync(path.join(outDir, 'index.json'), indexText);
total += Buffer.byteLength(indexText);
console.log(`total ${(total / 1024).toFixed(0)} KiB in ${index.length + 1} files under ${path.relative(repoRoot, outDir)}`);
