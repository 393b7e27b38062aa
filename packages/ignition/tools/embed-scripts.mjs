#!/usr/bin/env node
// Embeds the first-boot shell scripts (packages/ignition/scripts/*.sh) into
// packages/ignition/src/generated/bootstrap-scripts.ts, so the node configs
// carry the files byte for byte wherever the package runs (ts-jest, dist/,
// the esbuild bundle of the keelson CLI) without reading the repo at render time.
//
// Usage: node packages/ignition/tools/embed-scripts.mjs [--check]
// Runs before `tsc` in the package's build; --check exits 1 when the
// generated module is stale (a test does the same).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scriptsDir = path.join(pkg, 'scripts');
const outFile = path.join(pkg, 'src', 'generated', 'bootstrap-scripts.ts');

export function renderModule() {
  const names = fs.readdirSync(scriptsDir).filter((f) => f.endsWith('.sh')).sort();
  const entries = names.map((name) => {
    const text = fs.readFileSync(path.join(scriptsDir, name), 'utf8');
    const sha256 = createHash('sha256').update(text).digest('hex');
    return `  ${JSON.stringify(name)}: {\n    sha256: ${JSON.stringify(sha256)},\n    text: ${JSON.stringify(text)},\n  },\n`;
  });
  return [
    '/**',
    ' * The first-boot shell scripts of packages/ignition/scripts, embedded. GENERATED: do not edit;',
    ' * edit the .sh files and run `node packages/ignition/tools/embed-scripts.mjs` (the build does).',
    ' */',
    'export const BOOTSTRAP_SCRIPTS = {',
    ...entries,
    '} as const;',
    '',
    'export type BootstrapScriptName = keyof typeof BOOTSTRAP_SCRIPTS;',
    '',
  ].join('\n');
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const text = renderModule();
  const current = fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : '';
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error(`embed-scripts: ${path.relative(process.cwd(), outFile)} is stale; run node packages/ignition/tools/embed-scripts.mjs`);
      process.exit(1);
    }
  } else if (current !== text) {
    fs.writeFileSync(outFile, text);
    console.log(`embed-scripts: wrote ${path.relative(process.cwd(), outFile)}`);
  }
}
