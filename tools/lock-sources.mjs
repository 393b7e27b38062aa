#!/usr/bin/env node
// Writes packages/upstream/src/sources.lock.json: the content digest of every
// pinned Helm chart and the sha256 of every file of every pinned Git tag, read
// from folders laid out as KEELSON_CHARTS_DIR and KEELSON_MANIFESTS_DIR expect
// (default: ../shared/charts and ../shared/manifests). Run it when a pin moves,
// review the diff, commit it. Needs `npx nx run upstream:build` first.
//
//   node tools/lock-sources.mjs [--charts DIR] [--manifests DIR]
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const { lockCharts, lockGitTag, requirePeer } = require(join(root, 'packages/upstream/dist/index.js'));
const arg = (flag, fallback) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? resolve(process.argv[i + 1]) : fallback;
};
const chartsDir = arg('--charts', process.env.KEELSON_CHARTS_DIR || resolve(root, '../shared/charts'));
const manifestsDir = arg('--manifests', process.env.KEELSON_MANIFESTS_DIR || resolve(root, '../shared/manifests'));

const index = JSON.parse(readFileSync(join(chartsDir, 'index.json'), 'utf8'));
const charts = lockCharts(chartsDir, index.map(({ repoURL, chart, version }) => ({ repoURL, chart, version })), requirePeer("helm", "locking the charts"));
const git = [];
for (const owner of readdirSync(manifestsDir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
  for (const repo of readdirSync(join(manifestsDir, owner.name), { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const tag of readdirSync(join(manifestsDir, owner.name, repo.name), { withFileTypes: true }).filter((d) => d.isDirectory())) {
      git.push(lockGitTag(manifestsDir, `https://github.com/${owner.name}/${repo.name}.git`, tag.name));
    }
  }
}
const out = join(root, 'packages/upstream/src/sources.lock.json');
writeFileSync(out, `${JSON.stringify({ charts, git }, null, 2)}\n`);
console.log(`${out}: ${charts.length} charts, ${git.length} Git tags (${git.reduce((n, g) => n + Object.keys(g.files).length, 0)} files)`);
