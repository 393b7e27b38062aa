#!/usr/bin/env node
// The `keelson` command. npm links bins when it installs, before anything is
// built, so this stable file is the bin and it loads the esbuild bundle.
'use strict';
let cli;
try {
  cli = require('../dist/keelson.cjs');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('keelson.cjs')) {
    process.stderr.write('keelson: the CLI is not built yet; run `npm run build` (or `npx nx run platform:build`) first\n');
    process.exit(2);
  }
  throw e;
}
cli.main(process.argv);
