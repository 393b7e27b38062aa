module.exports = require('../../jest.preset.cjs').forProject(require('./package.json').name, { integration: true });
