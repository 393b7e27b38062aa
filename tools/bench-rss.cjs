// Preloaded with `node --require` by tools/bench.mjs: writes the process's
// peak resident set size (KiB) to $KEELSON_BENCH_RSS_FILE when it exits.
const { writeFileSync } = require('node:fs');
process.on('exit', () => {
  if (process.env.KEELSON_BENCH_RSS_FILE) writeFileSync(process.env.KEELSON_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
});
