/**
 * Shared Jest settings for every project.
 *
 * ts-jest transpiles only (`isolatedModules`): `tsc -b` in the build target
 * (the sources) and `tsc -p tsconfig.spec.json` in lint (the tests and test
 * helpers, against the declarations the build wrote) are the type checks, so
 * tests stay fast on a 2-core machine.
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

/**
 * Integration tests, `*.int.test.ts`: they start a real upstream program (etcd,
 * a control plane, kubeadm, helm, kubectl, ignition, git, tofu) or the keelson
 * CLI. Each project's `test-int` target runs them (`jest.int.config.cjs`).
 * @type {import('jest').Config}
 */
const integration = { ...base, testMatch: ['**/*.int.test.ts'], passWithNoTests: true };

/**
 * Unit tests, every other `*.test.ts`: in-process, no child process
 * (`tools/jest-unit-guard.cjs` fails a test that starts one).
 */
const unit = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/', '\\.int\\.test\\.ts$'],
  setupFilesAfterEnv: [require.resolve('./tools/jest-unit-guard.cjs')],
};

/**
 * The unit preset (or, with `{ integration: true }`, the integration one) plus
 * the workspace summary reporter, named `<project>` or `<project>-int`.
 */
const forProject = (name, options = {}) => {
  const reportAs = options.integration ? `${name}-int` : name;
  return {
    ...(options.integration ? integration : unit),
    displayName: reportAs,
    reporters: ['default', [require.resolve('./tools/jest-summary-reporter.cjs'), { name: reportAs }]],
  };
};

module.exports = { base, unit, integration, forProject };
