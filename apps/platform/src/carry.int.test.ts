// Synth carries Argo CD's install into the first controller's secret part
// (issue 20, item 5): read once through @keelson/upstream's resolver, checked
// by its digest, refused with both digests when it differs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARGOCD_RELEASE } from '@keelson/gitops-argocd';
import { decodeInlineContents } from '@keelson/ignition';
import { keelson, keelsonWithEnv, tempDir } from './test-helpers';

const manifestsDir = process.env.KEELSON_MANIFESTS_DIR as string;
const relInstall = join('argoproj/argo-cd', ARGOCD_RELEASE.version, ARGOCD_RELEASE.installPath);
const installBytes = readFileSync(join(manifestsDir, relInstall));
/** A KEELSON_MANIFESTS_DIR holding only the install, `change`d; an empty cache so nothing else is found. */
function stagedWith(change: (text: Buffer) => Buffer) {
  const dir = tempDir('keelson-manifests-');
  mkdirSync(join(dir, relInstall, '..'), { recursive: true });
  writeFileSync(join(dir, relInstall), change(installBytes));
  return { KEELSON_MANIFESTS_DIR: dir, KEELSON_CACHE_DIR: tempDir('keelson-cache-'), KEELSON_OFFLINE: '1' };
}
const changed = Buffer.concat([installBytes, Buffer.from('# changed\n')]);
const changedSha = createHash('sha256').update(changed).digest('hex');

describe('keelson synth and the carried install', () => {
  it('puts the checked install into keelson-controller-1\'s secret part only, gzip-compressed', () => {
    const out = tempDir();
    const r = keelson('synth', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    type Files = { storage: { files: Array<{ path: string; contents: { source?: string; compression?: string } }> } };
    const files = (node: string, part: string) => (JSON.parse(readFileSync(join(out, 'infra-out/ignition', `${node}${part}`), 'utf8')) as Files).storage.files;
    const carried = files('keelson-controller-1', '.secret.ign').find((f) => f.path.endsWith('-argocd-install.yaml'));
    expect(carried?.contents.compression).toBe('gzip');
    expect(decodeInlineContents(carried?.contents ?? {})?.equals(installBytes)).toBe(true);
    expect(files('keelson-controller-1', '.pointer.ign').some((f) => f.path.endsWith('-argocd-install.yaml'))).toBe(false);
    expect(files('keelson-controller-2', '.ign').some((f) => f.path.endsWith('-argocd-install.yaml'))).toBe(false);
  });

  it('refuses a changed install with a non-zero exit, before writing anything (no output, no secrets bundle)', () => {
    const out = tempDir();
    const r = keelsonWithEnv(stagedWith(() => changed), 'synth', '--out', out);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`manifests/ha/install.yaml differs (sha256 ${changedSha}, pinned ${ARGOCD_RELEASE.installSha256}); restore them from the tag`);
    for (const f of ['infra-out', 'charts-out', 'secrets']) expect(existsSync(join(out, f))).toBe(false);
  });
});
