#!/usr/bin/env node
// Installs what the tests run for real, when it is missing: the Debian tools
// (ignition, systemd-analyze, shellcheck, chromium; as root, with apt-get) and
// the upstream peers built from their Go modules (helm, Kubernetes, etcd; see
// packages/upstream/src/peers.json) into $KEELSON_PEERS_DIR (default
// ~/.cache/keelson/peers). A second run only checks stamps. The README's test
// command (`npm test`) runs it first.
//
//   node tools/test-prerequisites.mjs [--peers-only | --host-only] [--check]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const root = resolve(new URL('.', import.meta.url).pathname, '..');
const args = new Set(process.argv.slice(2));
const started = Date.now();

// The logic lives in @keelson/upstream; compile it first (a few seconds, no dependencies).
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'packages/upstream/tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('test-prerequisites: cannot compile packages/upstream (above); if typescript is missing, run `npm ci` first');
  process.exit(1);
}
const upstream = createRequire(import.meta.url)(join(root, 'packages/upstream/dist/index.js'));

try {
  if (!args.has('--peers-only')) {
    if (args.has('--check')) {
      const missing = upstream.checkHostTools().filter((s) => !s.path);
      if (missing.length > 0) throw new upstream.HostToolsMissingError(`missing: ${missing.map((s) => s.tool.name).join(', ')}; run: ${upstream.aptInstallCommand(missing.map((s) => s.tool.debianPackage))}`);
    } else {
      upstream.ensureHostTools((line) => console.log(`test-prerequisites: ${line}`));
    }
  }
  if (!args.has('--host-only')) {
    const results = upstream.buildPeers({ checkOnly: args.has('--check'), log: (line) => console.log(`test-prerequisites: ${line}`) });
    const missing = results.filter((r) => r.outcome === 'missing');
    if (missing.length > 0) throw new upstream.PeerMissingError(`peers not built: ${missing.map((r) => `${r.group} ${r.version}`).join(', ')}; run: ${upstream.PEERS_INSTALL_COMMAND}`);
  }
} catch (err) {
  console.error(`test-prerequisites: ${err.message}`);
  process.exit(1);
}
console.log(`test-prerequisites: ready in ${((Date.now() - started) / 1000).toFixed(1)} s (peers in ${upstream.peersDir()})`);
