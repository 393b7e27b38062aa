// Fixtures of the carried-install tests (carry.test.ts through synth(), carry-cli.test.ts through the CLI):
// the pinned Argo CD install from KEELSON_MANIFESTS_DIR, and a copy of it changed by one line.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARGOCD_RELEASE } from '@keelson/gitops-argocd';
import { tempDir } from './test-helpers';

export const manifestsDir = process.env.KEELSON_MANIFESTS_DIR as string;
export const relInstall = join('argoproj/argo-cd', ARGOCD_RELEASE.version, ARGOCD_RELEASE.installPath);
export const installBytes = readFileSync(join(manifestsDir, relInstall));
/** A KEELSON_MANIFESTS_DIR holding only the install, `change`d; an empty cache so nothing else is found. */
export function stagedWith(change: (text: Buffer) => Buffer) {
  const dir = tempDir('keelson-manifests-');
  mkdirSync(join(dir, relInstall, '..'), { recursive: true });
  writeFileSync(join(dir, relInstall), change(installBytes));
  return { KEELSON_MANIFESTS_DIR: dir, KEELSON_CACHE_DIR: tempDir('keelson-cache-'), KEELSON_OFFLINE: '1' };
}
export const changed = Buffer.concat([installBytes, Buffer.from('# changed\n')]);
export const changedSha = createHash('sha256').update(changed).digest('hex');
