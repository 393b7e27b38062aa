import YAML from 'yaml';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { requirePeer, resolveGitSource } from '@keelson/upstream';
import { ARGOCD_RELEASE } from './app-of-apps';

describe('Argo CD managing itself', () => {

  it('pins the install to the digest of the staged file, which holds the objects of the kustomize base the Application syncs afterwards', () => {
    // The staged tag (KEELSON_MANIFESTS_DIR), checked against @keelson/upstream's lock by the resolver.
    const git = { repoURL: ARGOCD_RELEASE.repoURL, revision: ARGOCD_RELEASE.version };
    const install = resolveGitSource({ ...git, path: ARGOCD_RELEASE.installPath }).dir;
    expect(createHash('sha256').update(readFileSync(install)).digest('hex')).toBe(ARGOCD_RELEASE.installSha256);
    expect(ARGOCD_RELEASE.installUrl).toBe(`https://raw.githubusercontent.com/argoproj/argo-cd/${ARGOCD_RELEASE.version}/${ARGOCD_RELEASE.installPath}`);
    // What the Application renders: the real kustomize (kubectl kustomize, as Argo CD's repo server builds a kustomization).
    const base = resolveGitSource({ ...git, path: ARGOCD_RELEASE.path }).dir;
    const built = spawnSync(requirePeer('kubectl', 'building the Argo CD kustomize base'), ['kustomize', base], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(built.stderr).toBe('');
    const objects = (text: string) =>
      YAML.parseAllDocuments(text)
        .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
        .filter((o) => o?.kind)
        .map((o) => `${o?.kind}/${o?.metadata?.name}`)
        .sort();
    const installed = objects(readFileSync(install, 'utf8'));
    expect(installed.length).toBeGreaterThan(60);
    expect(installed).toEqual(objects(built.stdout));
    expect(new Set(installed.map((o) => o.split('/')[0]))).toEqual(new Set(['CustomResourceDefinition', 'ServiceAccount', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Service', 'Deployment', 'StatefulSet', 'NetworkPolicy']));
  });

});
