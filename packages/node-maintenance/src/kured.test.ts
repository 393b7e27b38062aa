import { App, Testing } from 'cdk8s';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { validateManifest } from '@keelson/k8s-schemas';
import { KuredRebootCoordinator } from './kured';

const spec = parsePlatformConfig(exampleConfig());

describe('KuredRebootCoordinator', () => {
  const chart = new KuredRebootCoordinator(new App(), 'maintenance', { spec });
  const objects = Testing.synth(chart);
  const app = objects.find((o) => o.kind === 'Application');

  it('installs the pinned kured chart through an Argo CD Application', () => {
    expect(app.metadata).toMatchObject({ name: 'maintenance-kured', namespace: 'argocd' });
    expect(app.spec.source).toMatchObject({ repoURL: 'https://kubereboot.github.io/charts', chart: 'kured', targetRevision: '6.0.0' });
    expect(app.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'kured' });
  });

  it('reboots one node at a time, never forcing a reboot past a blocked drain', () => {
    expect(app.spec.source.helm.valuesObject.configuration).toMatchObject({ concurrency: 1, forceReboot: false, drainTimeout: '0', rebootSentinel: '/var/run/reboot-required' });
  });

  it('runs in its own privileged namespace, with the reason stated', () => {
    const ns = objects.find((o) => o.kind === 'Namespace');
    expect(ns.metadata.name).toBe('kured');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(ns.metadata.annotations['keelson.dev/pod-security-reason']).toMatch(/reboot/);
  });

  it('declares the chart repository and cluster-scoped kinds for the AppProject', () => {
    expect(chart.upstreamDeclarations).toEqual([
      {
        repoURL: 'https://kubereboot.github.io/charts',
        namespace: 'kured',
        clusterResources: [
          { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
          { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
        ],
      },
    ]);
  });

  it('renders objects that validate against their schemas', () => {
    expect(objects.flatMap((o) => validateManifest(o).map((p) => `${o.kind} ${p.path}: ${p.message}`))).toEqual([]);
  });
});
