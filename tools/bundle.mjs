#!/usr/bin/env node
// Bundles the keelson CLI into one file (apps/platform/dist/keelson.cjs) with
// esbuild, from the TypeScript sources of the workspace packages (export
// condition "@keelson/source"), so zod and yaml are tree-shaken and a cold
// `keelson synth` loads one file instead of hundreds. The verify-only
// dependencies (k8s-schemas with ajv and kubernetes-models) stay external,
// loaded from node_modules when verify runs, and so are Ajv for Ignition
// configs and @peculiar/x509, which are required lazily when a config is
// validated or a certificate is made.
//
// The bundle is dist/keelson-cli.cjs; dist/keelson.cjs is a small loader that
// compiles it with V8's code cache (Node 22's module.enableCompileCache, done
// by hand for Node 20): the first run of a build writes the compiled code,
// the functions that run included, to the cache folder, and every later run
// skips parsing and compiling 4 MiB of JavaScript (issue 25).
import { build } from 'esbuild';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * cdktf requires archiver (and with it glob, readable-stream, async: 0.9 MiB)
 * at load time, only to zip TerraformAssets, which Keelson never makes. The
 * bundle keeps archiver but loads it on its first call, not at start.
 */
const lazyArchiver = {
  name: 'lazy-archiver',
  setup(b) {
    const cdktfFs = /[\\/]cdktf[\\/]lib[\\/]private[\\/]fs\.js$/;
    b.onResolve({ filter: /^archiver$/ }, (args) => (cdktfFs.test(args.importer) ? { path: 'archiver', namespace: 'lazy-archiver', pluginData: { importer: args.importer } } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-archiver' }, (args) => {
      const real = createRequire(args.pluginData.importer).resolve('archiver');
      return {
        contents: `let real;\nmodule.exports = function archiver(...args) { return (real ??= require(${JSON.stringify(real)}))(...args); };\n`,
        resolveDir: dirname(real),
        loader: 'js',
      };
    });
  },
};

/**
 * cdktf records a full stack trace (no depth limit, formatted to strings) for
 * every token it creates: each reference between resources, each function
 * call, even with the app's `stackTraces: false`. It only ever prints one in a
 * token's error message. At 60 nodes that is 50 ms of a synth (--cpu-prof);
 * the bundle's copy records none (an error still names the token and the
 * value). @see node_modules/cdktf/lib/tokens/private/stack-trace.js
 */
const noCdktfStackTraces = {
  name: 'no-cdktf-stack-traces',
  setup(b) {
    b.onLoad({ filter: /[\\/]cdktf[\\/]lib[\\/]tokens[\\/]private[\\/]stack-trace\.js$/ }, () => ({
      contents: 'exports.captureStackTrace = function captureStackTrace() { return []; };\n',
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: [join(app, 'src/cli.ts')],
  outfile: join(app, 'dist/keelson-cli.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  conditions: ['@keelson/source'],
  // Loaded lazily at run time, from node_modules, only by the commands that need them.
  external: ['@keelson/k8s-schemas', 'ajv-draft-04', '@peculiar/x509', 'reflect-metadata'],
  plugins: [oneYaml, lazyArchiver, noCdktfStackTraces],
  legalComments: 'linked',
  charset: 'ascii',
  minifyWhitespace: true,
  logLevel: 'warning',
});

// No import() left in the bundle: the loader compiles it as a vm.Script, which serves a dynamic import only
// with an experimental flag ("A dynamic import callback was not specified"). esbuild turns import() of bundled
// modules into require(); one of a Node builtin or an external stays: import it statically instead.
const bundled = readFileSync(join(app, 'dist/keelson-cli.cjs'), 'utf8');
const dynamicImport = bundled.match(/.{0,60}\bimport\(\s*["'`][^"'`]+["'`]\s*\).{0,20}/);
if (dynamicImport) {
  console.error(`bundle: dist/keelson-cli.cjs keeps a dynamic import the loader cannot serve: ${JSON.stringify(dynamicImport[0])}; import that module statically (import { x } from 'node:...') in the source`);
  process.exit(1);
}
// ASCII, so the loader reads it as one-byte text; esbuild escapes strings but not regular expressions.
const nonAscii = readFileSync(join(app, 'dist/keelson-cli.cjs'), 'utf8').match(/.{0,40}[^\x00-\x7f].{0,10}/);
if (nonAscii) console.warn(`bundle: dist/keelson-cli.cjs is not ASCII (${JSON.stringify(nonAscii[0])}); write the character as \\u escape in the source (the CLI still loads, decoding UTF-8)`);
writeFileSync(join(app, 'dist/keelson.cjs'), readFileSync(join(root, 'tools/keelson-loader.cjs'), 'utf8'));
chmodSync(join(app, 'dist/keelson.cjs'), 0o755);
