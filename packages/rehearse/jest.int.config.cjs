// Each rehearsal mostly waits on the real controllers' clocks (minReadySeconds,
// the node grace period, tolerations), so five run side by side, one per file
// (src/examples/ holds one file per example); 2 cores stay busy, not saturated.
module.exports = { ...require('../../jest.preset.cjs').forProject(require('./package.json').name, { integration: true }), maxWorkers: 5 };
