import { renderCharts } from '@keelson/cluster-kit';
import { configReferenceMarkdown, exampleConfig, parsePlatformConfig, type PlatformConfigInput } from '@keelson/platform-spec';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composePlatform } from './platform';
import { repoRoot } from './test-helpers';

const render = (change: (c: PlatformConfigInput) => void = () => undefined) => {
  const config = exampleConfig();
  change(config);
  return new Map(renderCharts(composePlatform(parsePlatformConfig(config))).map((f) => [f.path, f.content]));
};

describe('composePlatform', () => {
  it('renders one Argo CD Application per layer folder', () => {
    const files = render();
    const folders = new Set([...files.keys()].map((p) => p.split('/')[0]));
    expect([...folders].sort()).toEqual(['apps', 'argocd', 'backups', 'ingress', 'maintenance', 'storage']);
    for (const folder of folders) expect(files.has(`argocd/application-argocd-${folder === 'argocd' ? 'root' : folder}.yaml`)).toBe(true);
  });

  it('swapping the ingress changes only the ingress folder and the AppProject that allows its namespace', () => {
    const a = render();
    const b = render((c) => (c.layers = { ingress: 'gateway-api' }));
    const changed = [...new Set([...a.keys(), ...b.keys()])].filter((p) => a.get(p) !== b.get(p)).sort();
    expect(changed).toEqual(['argocd/appproject-argocd-keelson.yaml', 'ingress/namespace-gateway-system.yaml', 'ingress/namespace-traefik.yaml']);
  });

  it('renders a network folder only when the network layer owns a namespace (flannel)', () => {
    expect([...render().keys()].some((p) => p.startsWith('network/'))).toBe(false);
    const flannel = render((c) => (c.layers = { network: 'flannel' }));
    expect(flannel.get('network/namespace-kube-flannel.yaml')).toMatch(/pod-security.kubernetes.io\/enforce: privileged/);
    expect(flannel.has('argocd/application-argocd-network.yaml')).toBe(true);
  });
});

describe('README', () => {
  it('carries the current config reference', () => {
    expect(readFileSync(join(repoRoot, 'README.md'), 'utf8')).toContain(configReferenceMarkdown());
  });
});
