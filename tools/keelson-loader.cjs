#!/usr/bin/env node
// tools/bundle.mjs copies this file to apps/platform/dist/keelson.cjs.
// Loads the keelson CLI bundle (keelson-cli.cjs, beside this file) through
// V8's code cache, as Node 22's module.enableCompileCache does: the compiled
// code of the bundle and of every function a run used is kept in
// $KEELSON_CACHE_DIR/v8 (else ~/.cache/keelson/v8), keyed by the bundle's
// size, time and the Node version, and written after a run that had none,
// whose cache V8 refused, or whose command (synth, verify, ...) it does not
// hold yet: V8 compiles a function on its first call, so a cache written
// after `keelson --version` would leave every synth compiling synth's code.
// The commands a cache holds are listed beside it (<cache>.commands). The
// cache holds compiled code of the bundle's own source only, never data of a
// run. KEELSON_CODE_CACHE=0 turns it off.
'use strict';
const { isAscii } = require('node:buffer');
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const file = join(__dirname, 'keelson-cli.cjs');
// The bundle is ASCII (tools/bundle.mjs): read as one-byte text, three times faster than decoding UTF-8.
// A hashbang line is no JavaScript inside the module wrapper: keep the line, drop the '#!'.
const bytes = readFileSync(file);
const source = (isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')).replace(/^#!/, '//');
const env = process.env;

function cacheFile() {
  if (env.KEELSON_CODE_CACHE === '0') return undefined;
  const root = env.KEELSON_CACHE_DIR ? env.KEELSON_CACHE_DIR : join(env.HOME ? env.HOME : homedir(), '.cache', 'keelson');
  const stat = statSync(file);
  return join(root, 'v8', `keelson-cli-${stat.size}-${Math.trunc(stat.mtimeMs)}-${process.version}-${process.arch}.bin`);
}

const cachePath = cacheFile();
// The command of this run: its first word that is not an option ("-" for none, such as --version).
const command = (process.argv.slice(2).find((a) => !a.startsWith('-')) ?? '-').replace(/[^a-z0-9-]/g, '').slice(0, 32) || '-';
const readOr = (path, fallback) => {
  try {
    return readFileSync(path);
  } catch {
    return fallback;
  }
};
const cachedData = cachePath ? readOr(cachePath, undefined) : undefined;
const commands = cachePath && cachedData ? String(readOr(`${cachePath}.commands`, '')).split('\n').filter(Boolean) : [];
// The bundle holds no import() (tools/bundle.mjs refuses one): a vm.Script serves it only with an experimental flag.
const script = new Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
if (cachePath && (!cachedData || script.cachedDataRejected || !commands.includes(command))) {
  // After the run, so the functions it compiled lazily are in the cache too (with those the cache brought).
  // Best effort: a read-only home is no error. A rejected cache starts a new list.
  const held = cachedData && !script.cachedDataRejected ? commands : [];
  process.once('exit', () => {
    try {
      mkdirSync(dirname(cachePath), { recursive: true });
      const tmp = `${cachePath}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cachePath);
      writeFileSync(tmp, `${[...held, command].join('\n')}\n`);
      renameSync(tmp, `${cachePath}.commands`);
    } catch {
      // no cache this time
    }
  });
}
const bundle = new Module(file, module);
bundle.filename = file;
bundle.paths = Module._nodeModulePaths(__dirname);
bundle.loaded = true;
script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, __dirname);
module.exports = bundle.exports;
if (require.main === module) bundle.exports.main(process.argv);
