import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSecretsBundle } from '@keelson/etcd-tls';
import { renderNodeConfigs, type IgnitionV3_3 } from '@keelson/ignition';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { apiGroup, BUILT_IN_API_GROUPS, BUILT_IN_API_VERSIONS, CLUSTER_SCOPED_KINDS } from '@keelson/upstream';
import { controlPlaneOptionsFromIgnition } from './from-ignition';
import { LocalControlPlane, SIMULATED_NODE_ANNOTATION } from './local-control-plane';

jest.setTimeout(240_000);

const spec = parsePlatformConfig(exampleConfig());
let plane: LocalControlPlane;
let options: ReturnType<typeof controlPlaneOptionsFromIgnition>;

beforeAll(async () => {
  // The first controller's whole config, from the platform's own secrets bundle code.
  const secretsDir = mkdtempSync(join(tmpdir(), 'keelson-bundle-'));
  try {
    const { bundle } = await openSecretsBundle({ dir: join(secretsDir, 'example'), spec });
    const nodes = renderNodeConfigs({ spec, secrets: bundle, secretPartUrl: (n) => `https://bucket.invalid/${n.name}.ign`, initialize: true });
    const first = nodes.find((n) => n.node.name === 'keelson-controller-1');
    if (!first) throw new Error('no keelson-controller-1 in the render');
    options = controlPlaneOptionsFromIgnition(JSON.parse(first.full) as IgnitionV3_3.Config);
  } finally {
    rmSync(secretsDir, { recursive: true, force: true });
  }
  plane = await LocalControlPlane.start(options);
});

afterAll(async () => {
  await plane?.stop();
});

const restrictedNamespace = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'locked', labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } },
};

const deployment = (securityContext: Record<string, unknown>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'locked' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'registry.example/web@sha256:' + 'a'.repeat(64), securityContext }] },
    },
  },
});

const restricted = { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } };

describe('a real control plane with the first controller\'s flags', () => {
  it('takes the flags and files of the controller\'s kubeadm ClusterConfiguration', () => {
    const names = options.apiServerExtraArgs?.map((a) => a.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['encryption-provider-config', 'admission-control-config-file', 'authentication-config', 'audit-policy-file']));
    expect(Object.keys(options.nodeFiles ?? {})).toEqual(
      expect.arrayContaining(['/etc/kubernetes/encryption/config.yaml', '/etc/kubernetes/admission/config.yaml', '/etc/kubernetes/authn/config.yaml', '/etc/kubernetes/audit/policy.yaml']),
    );
  });

  it('reports v1.36.3 on /version', async () => {
    const res = await plane.request('GET', '/version');
    expect(res.status).toBe(200);
    expect((res.body as { gitVersion: string }).gitVersion).toBe('v1.36.3');
  });

  it('accepts a server-side dry-run of a restricted Deployment', () => {
    expect(plane.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(restrictedNamespace)).status).toBe(0);
    const run = plane.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], JSON.stringify(deployment(restricted)));
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/deployment.apps\/web serverside-applied \(server dry run\)/);
  });

  it("refuses a root pod in a restricted namespace with Pod Security admission's own message", () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root', namespace: 'locked' }, spec: deployment({ runAsUser: 0 }).spec.template.spec };
    const run = plane.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
    expect(run.stderr).toMatch(/runAsNonRoot != true|allowPrivilegeEscalation != false/);
  });

  it('enforces baseline on a namespace without a label, as the admission config says', () => {
    expect(plane.kubectl(['create', 'namespace', 'plain']).status).toBe(0);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'host', namespace: 'plain' }, spec: { hostNetwork: true, containers: [{ name: 'c', image: 'registry.example/c:1' }] } };
    const run = plane.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/violates PodSecurity "baseline:v1\.\d+": host namespaces \(hostNetwork=true\)/);
  });

  it('stores Secrets encrypted with the bundle key (secretbox), not in plain text', async () => {
    expect(plane.kubectl(['-n', 'default', 'create', 'secret', 'generic', 'probe', '--from-literal=word=keelson-plaintext-probe']).status).toBe(0);
    const etcd = plane.etcdClient();
    const stored = await etcd.get('/registry/secrets/default/probe');
    expect(stored).toMatch(/^k8s:enc:secretbox:v1:keelson-1:/);
    expect(stored).not.toContain('keelson-plaintext-probe');
  });

  it('places a Deployment\'s pod on a node: the controller manager and the scheduler run', async () => {
    const now = new Date().toISOString();
    // Node status may be set on create ("Nodes allow all fields, including status, to be set on create").
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'sim-1', labels: { 'kubernetes.io/hostname': 'sim-1', 'kubernetes.io/os': 'linux' } },
      status: {
        allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
        capacity: { cpu: '2', memory: '4Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    };
    expect(plane.kubectl(['create', '-f', '-'], JSON.stringify(node)).status).toBe(0);
    const app = deployment(restricted);
    const created = plane.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify({ ...app, metadata: { name: 'web', namespace: 'plain' } }));
    expect(created.stderr).toBe('');
    let placed = '';
    for (let i = 0; i < 120 && placed === ''; i++) {
      await new Promise((r) => setTimeout(r, 250));
      placed = plane.kubectl(['get', 'pods', '-n', 'plain', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.nodeName}']).stdout.trim();
    }
    expect(placed).toBe('sim-1');
  });

  it('runs the pods on a node kwok simulates: Ready, with a lease, its pods Running', async () => {
    plane.startKwok();
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'sim-kwok', annotations: { [SIMULATED_NODE_ANNOTATION]: 'fake' }, labels: { 'kubernetes.io/hostname': 'sim-kwok', 'kubernetes.io/os': 'linux', type: 'kwok' } },
      status: { allocatable: { cpu: '2', memory: '4Gi', pods: '110' }, capacity: { cpu: '2', memory: '4Gi', pods: '110' } },
    };
    expect(plane.kubectl(['create', '-f', '-'], JSON.stringify(node)).status).toBe(0);
    expect(plane.kubectl(['create', 'namespace', 'simulated']).status).toBe(0);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'on-kwok', namespace: 'simulated' }, spec: { nodeSelector: { type: 'kwok' }, containers: [{ name: 'c', image: 'registry.example/c:1' }] } };
    expect(plane.kubectl(['create', '-f', '-'], JSON.stringify(pod)).status).toBe(0);
    let state = { ready: '', lease: '', phase: '' };
    for (let i = 0; i < 240 && !(state.ready === 'True' && state.lease !== '' && state.phase === 'Running'); i++) {
      await new Promise((r) => setTimeout(r, 250));
      state = {
        ready: plane.kubectl(['get', 'node', 'sim-kwok', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout.trim(),
        lease: plane.kubectl(['get', 'lease', 'sim-kwok', '-n', 'kube-node-lease', '-o', 'jsonpath={.spec.renewTime}', '--ignore-not-found']).stdout.trim(),
        phase: plane.kubectl(['get', 'pod', 'on-kwok', '-n', 'simulated', '-o', 'jsonpath={.status.phase}']).stdout.trim(),
      };
    }
    if (state.phase !== 'Running') console.log(plane.log('kwok').slice(-3000));
    expect(state).toEqual({ ready: 'True', lease: expect.stringMatching(/^\d{4}-/), phase: 'Running' });
  });

  it("knows every kind the API server serves cluster-scoped, as the desired state's namespace placement assumes", () => {
    const run = plane.kubectl(['api-resources', '--namespaced=false', '--no-headers']);
    expect(run.status).toBe(0);
    const served = new Set(run.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/).pop() ?? ''));
    expect([...served].filter((k) => !CLUSTER_SCOPED_KINDS.has(k)).sort()).toEqual([]);
    const namespaced = plane.kubectl(['api-resources', '--namespaced=true', '--no-headers']).stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '');
    expect(namespaced.filter((k) => CLUSTER_SCOPED_KINDS.has(k))).toEqual([]);
  });

  it('knows every API group the API server serves by itself, as the sync-order check tells custom resources from built-in kinds', () => {
    const run = plane.kubectl(['api-versions']);
    expect(run.status).toBe(0);
    const served = new Set(run.stdout.trim().split('\n').map((v) => apiGroup(v.trim())));
    expect([...served].filter((g) => !BUILT_IN_API_GROUPS.has(g)).sort()).toEqual([]);
    // Groups the list names that this API server (its feature gates off) does not serve are beta groups of 1.36.
    expect([...BUILT_IN_API_GROUPS].filter((g) => !served.has(g)).every((g) => g.endsWith('.k8s.io'))).toBe(true);
  });

  it("serves exactly the built-in API versions the desired state hands helm, as Argo CD's repo server would read them from this API server", () => {
    const served = new Set<string>();
    for (const gv of plane.kubectl(['api-versions']).stdout.trim().split('\n')) {
      served.add(gv);
      const list = JSON.parse(plane.kubectl(['get', '--raw', gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`]).stdout) as { resources: Array<{ name: string; kind: string }> };
      for (const r of list.resources) if (!r.name.includes('/')) served.add(`${gv}/${r.kind}`);
    }
    expect([...served].sort()).toEqual([...BUILT_IN_API_VERSIONS].sort());
  });
});
