/**
 * Shared Jest settings for every project.
 *
 * ts-jest transpiles only (`isolatedModules`): `tsc -b` in the build target and
 * `tsc -p tsconfig.spec.json` in lint are the type checks, so tests stay fast
 * on a 2-core machine.
 * @type {import('jest').Config}
 */
const base = {
  testEnvironment: 'node',
  // Jest's 5 s default fails slow-but-correct tests when CI runs three
  // projects at once on 2 cores (real etcd, kube-apiserver, spawned CLIs).
  // No test asserts a duration through this timeout; bounds are asserted
  // explicitly where they are a promise.
  testTimeout: 60_000,
  roots: ['<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true, target: 'es2022' } }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  globalSetup: require.resolve('./tools/jest-global-setup.cjs'),
  globalTeardown: require.resolve('./tools/jest-global-teardown.cjs'),
};

/** The preset plus the workspace summary reporter, named after the project. */
const forProject = (name) => ({
  ...base,
  displayName: name,
  reporters: ['default', [require.resolve('./tools/jest-summary-reporter.cjs'), { name }]],
});

module.exports = { base, forProject };
