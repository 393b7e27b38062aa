// Synth carries Argo CD's install into the first controller's secret part
// (issue 20, item 5): read once through @keelson/upstream's resolver, checked
// by its digest, refused with both digests when it differs.
import { join } from 'node:path';
import { ARGOCD_RELEASE } from '@keelson/gitops-argocd';
import type { BootstrapStep } from '@keelson/platform-spec';
import { carryPinnedManifests } from './carry';
import { changed, changedSha, installBytes, manifestsDir, relInstall, stagedWith } from './test-carry';
import { tempDir } from './test-helpers';

const step: BootstrapStep = {
  name: 'argocd-install',
  url: ARGOCD_RELEASE.installUrl,
  namespace: 'argocd',
  sha256: ARGOCD_RELEASE.installSha256,
  gitSource: { repoURL: ARGOCD_RELEASE.repoURL, revision: ARGOCD_RELEASE.version, path: ARGOCD_RELEASE.installPath },
};

describe('carryPinnedManifests', () => {
  it('reads the pinned file from KEELSON_MANIFESTS_DIR and carries it with its digest; other steps pass through', () => {
    const inline: BootstrapStep = { name: 'network', manifests: 'kind: List\n' };
    const [passed, carried] = carryPinnedManifests([inline, step]);
    expect(passed).toBe(inline);
    expect(carried).toEqual({ name: 'argocd-install', url: ARGOCD_RELEASE.installUrl, namespace: 'argocd', sha256: ARGOCD_RELEASE.installSha256, contents: installBytes.toString('utf8') });
  });

  it('refuses a staged file that differs, naming the file, both digests and the fix', () => {
    const env = stagedWith(() => changed);
    expect(() => carryPinnedManifests([step], env)).toThrow(
      `bootstrap step argocd-install (${ARGOCD_RELEASE.installUrl}): ${ARGOCD_RELEASE.repoURL} at v3.5.1 in ${join(env.KEELSON_MANIFESTS_DIR, 'argoproj/argo-cd/v3.5.1')} does not match the pinned files: manifests/ha/install.yaml differs (sha256 ${changedSha}, pinned ${ARGOCD_RELEASE.installSha256}); restore them from the tag`,
    );
  });

  it('refuses a file that does not have the digest pinned next to the URL, even when the lock takes it', () => {
    const other = 'f'.repeat(64);
    expect(() => carryPinnedManifests([{ ...step, sha256: other }])).toThrow(
      `bootstrap step argocd-install (${ARGOCD_RELEASE.installUrl}): ${join(manifestsDir, relInstall)} has sha256 ${ARGOCD_RELEASE.installSha256}, not the pinned ${other}; restore that file from ${ARGOCD_RELEASE.repoURL} at v3.5.1 (or remove it from the cache so synth fetches the tag again), or, for another release, update the pin next to the URL`,
    );
    expect(() => carryPinnedManifests([{ ...step, sha256: undefined }])).toThrow(/bootstrap step argocd-install .*: sha256 undefined is not 64 lower-case hex digits; a carried file needs its pin/);
  });

  it('says where it looked when the file is nowhere and fetching is off', () => {
    const env = { KEELSON_MANIFESTS_DIR: tempDir('keelson-manifests-'), KEELSON_CACHE_DIR: tempDir('keelson-cache-'), KEELSON_OFFLINE: '1' };
    expect(() => carryPinnedManifests([step], env)).toThrow(/^bootstrap step argocd-install .*is in neither KEELSON_MANIFESTS_DIR .* nor the cache .*fetching is off \(KEELSON_OFFLINE=1\)\. Set KEELSON_MANIFESTS_DIR, or go online once to fill the cache\.$/);
  });
});

