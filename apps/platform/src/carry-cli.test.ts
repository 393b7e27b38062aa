// Synth carries Argo CD's install into the first controller's secret part
// (issue 20, item 5): read once through @keelson/upstream's resolver, checked
// by its digest, refused with both digests when it differs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARGOCD_RELEASE } from '@keelson/gitops-argocd';
import { decodeInlineContents } from '@keelson/ignition';
import { changed, changedSha, installBytes, stagedWith } from './test-carry';
import { runCli } from './test-cli';
import { tempDir } from './test-helpers';


describe('keelson synth and the carried install', () => {
  it('puts the checked install into keelson-controller-1\'s secret part only, gzip-compressed', async () => {
    const out = tempDir();
    const r = await runCli(['synth', '--out', out]);
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

  it('refuses a changed install with a non-zero exit, before writing anything (no output, no secrets bundle)', async () => {
    const out = tempDir();
    const r = await runCli(['synth', '--out', out], { env: stagedWith(() => changed) });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`manifests/ha/install.yaml differs (sha256 ${changedSha}, pinned ${ARGOCD_RELEASE.installSha256}); restore them from the tag`);
    for (const f of ['infra-out', 'charts-out', 'secrets']) expect(existsSync(join(out, f))).toBe(false);
  });
});
