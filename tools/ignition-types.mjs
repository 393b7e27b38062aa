#!/usr/bin/env node
// Generates the Ignition spec 3.3.0 artifacts of @keelson/ignition from the pinned upstream schema
// in shared/schemas/ignition/ignition-v3_3.schema.json (coreos/ignition config/v3_3/schema/ignition.json):
//
//   packages/ignition/src/generated/ignition-v3_3.schema.json  the schema, byte for byte (the validator
//                                                             loads it at run time; tests never read ../shared)
//   packages/ignition/src/generated/ignition-v3_3.ts           TypeScript types (json-schema-to-typescript)
//
// Types are named after Ignition's own Go types (config/v3_3/types: Config, Ignition, File, Node, Unit, ...)
// by giving the schema nodes a `title` before compiling; the committed schema copy is not changed.
// The output is byte-stable: no dates, fixed generator options, the input's sha256 in the header.
//
// Usage (from the repo root): node tools/ignition-types.mjs
// The shared folder defaults to ../shared next to the repo; override with KEELSON_SHARED=/path/to/shared.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(repoRoot, 'package.json'));
const { compile } = require('json-schema-to-typescript');
const generatorVersion = require('json-schema-to-typescript/package.json').version;

const sharedDir = path.resolve(process.env.KEELSON_SHARED ?? path.join(repoRoot, '..', 'shared'));
const schemaFile = path.join(sharedDir, 'schemas', 'ignition', 'ignition-v3_3.schema.json');
const noticeFile = path.join(sharedDir, 'schemas', 'LICENSES', 'NOTICE-coreos-ignition.txt');
const outDir = path.join(repoRoot, 'packages', 'ignition', 'src', 'generated');

if (!fs.existsSync(schemaFile)) {
  console.error(`ignition-types: no schema at ${schemaFile}; set KEELSON_SHARED to the shared/ folder of your checkout.`);
  process.exit(1);
}

/** Upstream tag of the Ignition schemas, read from the table in shared/schemas/README.md. */
function readUpstream() {
  const readme = path.join(sharedDir, 'schemas', 'README.md');
  if (!fs.existsSync(readme)) return 'coreos/ignition';
  for (const line of fs.readFileSync(readme, 'utf8').split('\n')) {
    if (!line.startsWith('| `ignition/')) continue;
    const m = /coreos\/ignition @ \*{0,2}(v[\w.+-]+)\*{0,2} \(`([0-9a-f]{40})`/.exec(line);
    if (m) return `coreos/ignition@${m[1]} (${m[2]}) config/v3_3/schema/ignition.json`;
  }
  return 'coreos/ignition config/v3_3/schema/ignition.json';
}

const raw = fs.readFileSync(schemaFile);
const sha256 = createHash('sha256').update(raw).digest('hex');
const schema = JSON.parse(raw.toString('utf8'));

// Names from Ignition's Go package config/v3_3/types, so the TypeScript reads like upstream docs.
const titled = JSON.parse(JSON.stringify(schema));
const defs = titled.definitions;
titled.title = 'Config';
const titles = [
  [defs.resource, 'Resource'],
  [defs.verification, 'Verification'],
  [defs.httpHeaders.items, 'HTTPHeader'],
  [defs.ignition, 'Ignition'],
  [defs.ignition.definitions['ignition-config'], 'IgnitionConfig'],
  [defs.ignition.definitions.timeouts, 'Timeouts'],
  [defs.ignition.definitions.security, 'Security'],
  [defs.ignition.definitions.security.properties.tls, 'TLS'],
  [defs.ignition.definitions.proxy, 'Proxy'],
  [defs.storage, 'Storage'],
  [defs.storage.definitions.node, 'Node'],
  [defs.storage.definitions.node.properties.user, 'NodeUser'],
  [defs.storage.definitions.node.properties.group, 'NodeGroup'],
  [defs.storage.definitions.file, 'File'],
  [defs.storage.definitions.file.allOf[1], 'FileEmbedded1'],
  [defs.storage.definitions.directory, 'Directory'],
  [defs.storage.definitions.directory.allOf[1], 'DirectoryEmbedded1'],
  [defs.storage.definitions.link, 'Link'],
  [defs.storage.definitions.link.allOf[1], 'LinkEmbedded1'],
  [defs.systemd, 'Systemd'],
  [defs.systemd.definitions.unit, 'Unit'],
  [defs.systemd.definitions.dropin, 'Dropin'],
  [defs.passwd, 'Passwd'],
  [defs.passwd.definitions.user, 'PasswdUser'],
  [defs.passwd.definitions.group, 'PasswdGroup'],
  [defs.kernelArguments, 'KernelArguments'],
];
for (const [node, title] of titles) {
  if (!node || typeof node !== 'object') throw new Error(`ignition-types: the schema changed shape; no node for ${title}`);
  node.title = title;
}

const notice = fs.existsSync(noticeFile) ? fs.readFileSync(noticeFile, 'utf8').trim().split('\n') : [];
const banner = [
  '/* eslint-disable */',
  '/**',
  ' * Ignition config spec 3.3.0, as TypeScript types. GENERATED: do not edit; run `node tools/ignition-types.mjs`.',
  ' *',
  ` * Source: shared/schemas/ignition/ignition-v3_3.schema.json (sha256 ${sha256})`,
  ` * Upstream: ${readUpstream()}`,
  ` * Generator: json-schema-to-typescript ${generatorVersion}; type names follow Ignition's Go package config/v3_3/types.`,
  ' * License: Apache-2.0. NOTICE from coreos/ignition:',
  ...notice.map((l) => ` *   ${l}`.trimEnd()),
  ' *',
  ' * @see https://coreos.github.io/ignition/configuration-v3_3/',
  ' */',
].join('\n');

const ts = await compile(titled, 'Config', {
  bannerComment: banner,
  additionalProperties: false,
  unreachableDefinitions: false,
  declareExternallyReferenced: true,
  enableConstEnums: false,
  strictIndexSignatures: true,
  format: true,
  style: { singleQuote: true, printWidth: 120 },
  cwd: path.dirname(schemaFile),
});

fs.mkdirSync(outDir, { recursive: true });
const tsOut = path.join(outDir, 'ignition-v3_3.ts');
const jsonOut = path.join(outDir, 'ignition-v3_3.schema.json');
fs.writeFileSync(tsOut, ts.endsWith('\n') ? ts : `${ts}\n`);
fs.writeFileSync(jsonOut, raw);
console.log(`${path.relative(repoRoot, tsOut)} (${ts.length} bytes) and ${path.relative(repoRoot, jsonOut)} (${raw.length} bytes, sha256 ${sha256})`);
