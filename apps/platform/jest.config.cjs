// The CLI loads its commands with `import('./synth.js')` (the path the bundle and tsc resolve); runCli runs that source under ts-jest.
module.exports = { ...require('../../jest.preset.cjs').forProject(require('./package.json').name), moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' } };
