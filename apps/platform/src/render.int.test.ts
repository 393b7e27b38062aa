import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RENDER_INDEX } from './render';
import { keelson, repoRoot, tempDir, treeDigest } from './test-helpers';

describe('keelson render', () => {
  it('writes the desired state of the committed charts-out: every Application, Argo CD install and charts included', () => {
    const into = join(tempDir(), 'desired');
    const run = keelson('render', '--into', into);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^keelson render: wrote \d+ objects of \d+ Argo CD Applications to .*desired \(index: applications\.json\)\n$/);
    const index = JSON.parse(readFileSync(join(into, RENDER_INDEX), 'utf8'));
    expect(index.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['root', 'argocd', 'network-cilium', 'storage-rook-ceph']));
    expect(index.find((a: { name: string }) => a.name === 'network-cilium')).toMatchObject({ type: 'helm', source: 'cilium', version: '1.19.4', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(existsSync(join(into, 'network-cilium/daemonset-kube-system-cilium.yaml'))).toBe(true);
  });

  it('refuses to write into the repository and leaves it untouched', () => {
    const before = treeDigest(join(repoRoot, 'charts-out'));
    const run = keelson('render', '--into', join(repoRoot, 'charts-out'));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^keelson: --into .*charts-out: .* is .*charts-out, which render must not replace; choose a folder of its own, e\.g\. --into desired-out\n$/);
    expect(treeDigest(join(repoRoot, 'charts-out'))).toEqual(before);
  });
});
