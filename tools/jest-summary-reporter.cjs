// Jest reporter: records each project's totals in tmp/jest-summary/ so that
// .ci/run can print one "N passed, N failed" line for the whole workspace.
// The unit and integration runs record apart: `<project>` and `<project>-int`
// (jest.preset.cjs names them), so the sum counts both.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

module.exports = class SummaryReporter {
  constructor(globalConfig, options) {
    this.name = (options && options.name) || 'project';
  }
  onRunComplete(_contexts, results) {
    const dir = join(__dirname, '..', 'tmp', 'jest-summary');
    mkdirSync(dir, { recursive: true });
    const { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped } = results;
    writeFileSync(join(dir, `${this.name.replace(/[^\w.-]/g, '_')}.json`), JSON.stringify({ passed, failed, skipped }));
  }
};
