import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { renderDesiredState, type DesiredState } from '@keelson/upstream';
import { checkProject } from './project';

jest.setTimeout(300_000);

// The real default platform: the committed charts-out rendered as Argo CD would.
const repoRoot = resolve(__dirname, '../../..');
const gitops = YAML.parse(readFileSync(join(repoRoot, 'apps/platform/platform.yaml'), 'utf8')).gitops;

describe('checkProject on the default platform', () => {
  let real: DesiredState;
  beforeAll(() => {
    real = renderDesiredState({ dir: join(repoRoot, gitops.path), gitops, kubeVersion: '1.36.2', cacheDir: join(tmpdir(), 'verify-render-cache') });
  });

  /** The real state with the AppProject's spec changed. */
  const withProject = (change: (spec: Record<string, unknown[]>) => void): DesiredState => ({
    applications: real.applications,
    objects: real.objects.map((o) => {
      if (o.object.kind !== 'AppProject') return o;
      const spec = structuredClone(o.object.spec) as Record<string, unknown[]>;
      change(spec);
      return { ...o, object: { ...o.object, spec } };
    }),
  });

  it('checks every Application and every object, and any finding names its Application, an object and the fix', () => {
    const result = checkProject(real);
    expect(result.summary).toMatch(new RegExp(`^${real.applications.length} Applications and ${real.objects.length} objects checked against 1 AppProject`));
    for (const f of result.findings) {
      expect(f.application).toEqual(expect.any(String));
      expect(f.message).toMatch(/Application \S+/);
      expect(f.message).toMatch(/; (add|remove|set|declare|send|AppProject \S+'s namespaceResourceWhitelist is empty)/);
    }
  });

  it("refuses the render once cilium-secrets leaves the AppProject's destinations, naming the Namespace Cilium creates and its Roles", () => {
    const state = withProject((spec) => (spec.destinations = spec.destinations.filter((d) => (d as { namespace: string }).namespace !== 'cilium-secrets')));
    const result = checkProject(state);
    expect(result.ok).toBe(false);
    expect(result.findings).toContainEqual({
      file: expect.stringContaining('helm cilium'),
      application: 'network-cilium',
      message: expect.stringMatching(/^Application network-cilium creates Namespace cilium-secrets, .* and puts Role cilium-secrets\/\S+, .* into namespace cilium-secrets, .*; add namespace cilium-secrets \(server https:\/\/kubernetes\.default\.svc\) to AppProject keelson's destinations .*: declare it as a namespace the chart of Application network-cilium creates/),
    });
  });

  it('refuses the render once StorageClass leaves clusterResourceWhitelist, naming each StorageClass', () => {
    const state = withProject((spec) => (spec.clusterResourceWhitelist = spec.clusterResourceWhitelist.filter((k) => (k as { kind: string }).kind !== 'StorageClass')));
    const found = checkProject(state).findings.filter((f) => f.message.includes('storage.k8s.io/StorageClass'));
    expect(found.length).toBeGreaterThan(0);
    for (const f of found) expect(f.message).toMatch(/^StorageClass \S+ \(Application storage\): .*; add \{group: 'storage\.k8s\.io', kind: StorageClass\} to AppProject keelson's clusterResourceWhitelist/);
  });
});
