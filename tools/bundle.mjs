#!/usr/bin/env node
// Bundles the keelson CLI into one file (apps/platform/dist/keelson.cjs) with
// esbuild, from the TypeScript sources of the workspace packages (export
// condition "@keelson/source"), so zod and yaml are tree-shaken and a cold
// `keelson synth` loads one file instead of hundreds. The verify-only
// dependencies (k8s-schemas with ajv and kubernetes-models) stay external,
// loaded from node_modules when verify runs, and so are Ajv for Ignition
// configs and @peculiar/x509, which are required lazily when a config is
// validated or a certificate is made.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const app = join(root, 'apps/platform');
const requireFromApp = createRequire(join(app, 'package.json'));

/** cdk8s ships its own copy of yaml 2.x; bundle one copy for both. */
const oneYaml = {
  name: 'one-yaml',
  setup(b) {
    const yamlMain = requireFromApp.resolve('yaml');
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: yamlMain }));
  },
};

await build({
  entryPoints: [join(app, 'src/cli.ts')],
  outfile: join(app, 'dist/keelson.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  conditions: ['@keelson/source'],
  // Loaded lazily at run time, from node_modules, only by the commands that need them.
  external: ['@keelson/k8s-schemas', 'ajv-draft-04', '@peculiar/x509', 'reflect-metadata'],
  plugins: [oneYaml],
  legalComments: 'linked',
  logLevel: 'warning',
});
