#!/usr/bin/env node
// An Nx runtime input for platform:synth: the digest of the secrets bundle
// (secrets/ at the repo root), so synth re-runs when the bundle changes. The
// bundle itself is git-ignored, so Nx cannot hash it as a file input, and
// infra-out/ (which holds secrets) is never an Nx output: nothing secret
// enters the Nx cache.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const secrets = join(dirname(fileURLToPath(import.meta.url)), '..', 'secrets');
const hash = createHash('sha256');
const walk = (dir, rel) => {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`);
    else hash.update(`${rel}${e.name}\0`).update(readFileSync(join(dir, e.name))).update('\0');
  }
};
if (existsSync(secrets)) walk(secrets, '');
console.log(existsSync(secrets) ? hash.digest('hex') : 'no secrets bundle yet');
