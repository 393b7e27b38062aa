// Each rehearsal mostly waits on the real controllers' clocks (minReadySeconds,
// the node grace period, tolerations), so five run side by side, one per file
// (src/examples/ holds one file per example); 2 cores stay busy, not saturated.
// Their Go programs (about ten per rehearsal, fifty at once) run one OS thread
// of Go code each unless the caller sets GOMAXPROCS: none keeps idle threads
// spinning for work while the others need the cores. Measured alone on 2 cores:
// 547 → 476 s and 798 → 718 CPU-s. Inside the whole of npm test it made no
// difference that one run each could show (805 s with it everywhere, 794 s
// without), so npm test sets nothing more.
process.env.GOMAXPROCS ??= '1';
module.exports = { ...require('../../jest.preset.cjs').forProject(require('./package.json').name, { integration: true }), maxWorkers: 5 };
