export { validateManifest, knownCustomResourceKinds } from './validate';
export type { ManifestProblem } from './validate';
export { scanForSecrets } from './secrets';
export type { SecretFinding } from './secrets';
