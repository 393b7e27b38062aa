// Jest globalSetup/globalTeardown: every test run gets its own TMPDIR, removed
// afterwards, so tests (and the processes they start) leave nothing in /tmp.
//
// It also points the tests at the pinned upstream charts and Git sources in
// ../shared (read only), unless KEELSON_CHARTS_DIR / KEELSON_MANIFESTS_DIR say
// otherwise, and keeps them offline: a test never fills the sources cache
// from the network (KEELSON_OFFLINE=1).
const { existsSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const shared = resolve(__dirname, '..', '..', 'shared');

module.exports.setup = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keelson-jest-'));
  process.env.KEELSON_JEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
  if (!process.env.KEELSON_CHARTS_DIR && existsSync(join(shared, 'charts', 'index.json'))) process.env.KEELSON_CHARTS_DIR = join(shared, 'charts');
  if (!process.env.KEELSON_MANIFESTS_DIR && existsSync(join(shared, 'manifests'))) process.env.KEELSON_MANIFESTS_DIR = join(shared, 'manifests');
  process.env.KEELSON_OFFLINE ??= '1';
  // Nor does a test write compiled CRD validators to ~/.cache/keelson/validators (@keelson/k8s-schemas):
  // the run has its own folder, so each validator is compiled once per run, not once per process.
  process.env.KEELSON_VALIDATOR_CACHE ??= join(dir, 'validators');
};

module.exports.teardown = async () => {
  if (process.env.KEELSON_JEST_TMPDIR) rmSync(process.env.KEELSON_JEST_TMPDIR, { recursive: true, force: true });
};
