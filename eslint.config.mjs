// Workspace lint rules. Module boundaries follow STYLE.md:
// layer:spec <- layer:kit (shared cdk8s helpers) <- layer:cluster; layer:spec <- layer:host; all <- type:app.
import nx from '@nx/eslint-plugin';
import jest from 'eslint-plugin-jest';
import tseslint from 'typescript-eslint';
import js from '@eslint/js';

/**
 * Which tags may import which. `clusterMayUse` differs between published
 * code and tests: tests of cluster layers may run host-layer fixtures (a real
 * etcd from @keelson/etcd-tls/testing); their published code still may not.
 */
const moduleBoundaries = (clusterMayUse) => [
  'error',
  {
    enforceBuildableLibDependency: true,
    banTransitiveDependencies: true,
    allow: [],
    depConstraints: [
      { sourceTag: 'layer:spec', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'layer:host', onlyDependOnLibsWithTags: ['layer:spec'] },
      { sourceTag: 'layer:kit', onlyDependOnLibsWithTags: ['layer:spec'] },
      { sourceTag: 'layer:cluster', onlyDependOnLibsWithTags: clusterMayUse },
      // The harness (a real control plane from the upstream peers) reads host-layer output; cluster
      // tests may use it as a fixture, published cluster code may not.
      { sourceTag: 'layer:harness', onlyDependOnLibsWithTags: ['layer:spec', 'layer:host'] },
      // verify reads what the host layers render (node configs, Terraform) and the desired state.
      { sourceTag: 'layer:check', onlyDependOnLibsWithTags: ['layer:spec', 'layer:host'] },
      // rehearse syncs the rendered platform onto the harness's control plane and fails the nodes verify names.
      { sourceTag: 'layer:rehearse', onlyDependOnLibsWithTags: ['layer:spec', 'layer:host', 'layer:harness', 'layer:check'] },
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['layer:spec', 'layer:kit', 'layer:host', 'layer:harness', 'layer:check', 'layer:rehearse', 'layer:cluster'] },
    ],
  },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'charts-out/**', 'infra-out/**', '**/src/generated/**', '.nx/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { '@nx': nx },
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries(['layer:spec', 'layer:kit']),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.test.ts', '**/test-*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries(['layer:spec', 'layer:kit', 'layer:host', 'layer:harness']),
    },
  },
  {
    files: ['**/*.test.ts', '**/test-*.ts'],
    plugins: { jest },
    languageOptions: { globals: jest.environments.globals.globals },
    rules: {
      ...jest.configs['flat/recommended'].rules,
      'jest/valid-expect': 'error',
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expect*'] }],
      'jest/no-disabled-tests': 'error',
      'jest/no-focused-tests': 'error',
      'jest/no-commented-out-tests': 'error',
      // Tests mutate loose copies of config fixtures to produce bad input.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', module: 'writable', require: 'readonly', __dirname: 'readonly', URL: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
