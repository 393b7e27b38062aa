// Each rehearsal mostly waits on the real controllers' clocks (minReadySeconds,
// the node grace period, tolerations), so five run side by side, one per file
// (src/examples/ holds one file per example); 2 cores stay busy, not saturated.
// Their Go programs (about ten per rehearsal) run one OS thread of Go code each
// unless the caller says otherwise, as under npm test (tools/test.mjs says why).
process.env.GOMAXPROCS ??= '1';
module.exports = { ...require('../../jest.preset.cjs').forProject(require('./package.json').name, { integration: true }), maxWorkers: 5 };
