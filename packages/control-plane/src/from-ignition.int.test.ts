import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSecretsBundle } from '@keelson/etcd-tls';
import { NODE_PATHS, renderNodeConfigs, type IgnitionV3_3, type NodeIgnition } from '@keelson/ignition';
import { exampleConfig, parsePlatformConfig, type ClusterSecrets } from '@keelson/platform-spec';
import { controlPlaneOptionsFromIgnition } from './from-ignition';

jest.setTimeout(120_000);

const spec = parsePlatformConfig(exampleConfig());
let secrets: ClusterSecrets;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keelson-bundle-'));
  secrets = (await openSecretsBundle({ dir: join(dir, 'example'), spec })).bundle;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const render = (initialize: boolean) => renderNodeConfigs({ spec, secrets, secretPartUrl: (n) => `https://bucket.invalid/${n.name}.ign`, initialize });
const optionsOf = (node: NodeIgnition | undefined) => controlPlaneOptionsFromIgnition(JSON.parse(node?.full ?? '{}') as IgnitionV3_3.Config);
const fileNames = (node: NodeIgnition | undefined) => ((JSON.parse(node?.full ?? '{}') as IgnitionV3_3.Config).storage?.files ?? []).map((f) => f.path);

describe('the control plane read from a controller\'s Ignition', () => {
  it('is the same for a render where every node joins as for the first deploy\'s init config', () => {
    const first = render(true).find((n) => n.node.name === 'keelson-controller-1');
    const joiner = render(false).find((n) => n.node.name === 'keelson-controller-1');
    expect(fileNames(first)).toContain(NODE_PATHS.kubeadmInit);
    expect(fileNames(joiner)).not.toContain(NODE_PATHS.kubeadmInit);
    expect(fileNames(joiner)).toContain(NODE_PATHS.kubeadmCluster);
    const init = optionsOf(first);
    expect(init.apiServerExtraArgs).toContainEqual({ name: 'encryption-provider-config', value: NODE_PATHS.encryptionConfig });
    expect(optionsOf(joiner)).toEqual(init);
  });

  it('refuses a worker\'s config, which has neither file', () => {
    const worker = render(false).find((n) => n.node.role === 'worker');
    expect(() => optionsOf(worker)).toThrow(/controlPlaneOptionsFromIgnition: the config has neither \/etc\/keelson\/kubeadm-init\.yaml nor \/etc\/keelson\/kubeadm-cluster\.yaml; pass a controller's config/);
  });
});
