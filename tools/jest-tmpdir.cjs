// Jest globalSetup/globalTeardown: every test run gets its own TMPDIR, removed
// afterwards, so tests (and the processes they start) leave nothing in /tmp.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports.setup = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keelson-jest-'));
  process.env.KEELSON_JEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
};

module.exports.teardown = async () => {
  if (process.env.KEELSON_JEST_TMPDIR) rmSync(process.env.KEELSON_JEST_TMPDIR, { recursive: true, force: true });
};
