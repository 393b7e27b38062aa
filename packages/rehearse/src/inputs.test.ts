import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { RehearsalInputError } from './errors';
import { rehearse, seededNodes } from './rehearse';
import { infraOut, kubeadmInit } from './test-fixtures';

const spec = parsePlatformConfig(exampleConfig());
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keelson-rehearse-inputs-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('bad input, refused before anything starts', () => {
  it('refuses a missing charts-out, telling to run synth', async () => {
    await expect(rehearse(spec, { chartsDir: join(dir, 'none', 'charts-out'), infraDir: dir })).rejects.toThrow(/charts-out does not exist; run "keelson synth" first/);
  });

  it('refuses a negative seed', async () => {
    const promise = rehearse(spec, { chartsDir: dir, infraDir: dir, seed: -1 });
    await expect(promise).rejects.toThrow(RehearsalInputError);
    await expect(promise).rejects.toThrow(/the seed must be a whole number of at least 0, got -1/);
  });

  it('refuses a GitOps folder without the app of apps, naming why the desired state cannot be rendered', async () => {
    const infra = infraOut(dir, { 'keelson-controller-1': { size: 's-4vcpu-8gb', kubeadm: { '/etc/keelson/kubeadm-init.yaml': kubeadmInit('keelson-controller-1') } } });
    const charts = join(dir, 'empty-charts');
    mkdirSync(charts);
    await expect(rehearse(spec, { chartsDir: charts, infraDir: infra })).rejects.toThrow(/the desired state cannot be rendered: .* has no argocd\/ folder/);
  });
});

describe('seededNodes', () => {
  const nodes = ['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'w-1'];

  it('draws the same k nodes for the same seed', () => {
    expect(seededNodes(nodes, 2, 7)).toEqual(seededNodes(nodes, 2, 7));
    expect(seededNodes(nodes, 2, 7)).toHaveLength(2);
  });

  it('draws another set than the one to avoid', () => {
    for (let seed = 0; seed < 20; seed++) expect(seededNodes(nodes, 2, seed, ['c-1', 'c-2'])).not.toEqual(['c-1', 'c-2']);
  });
});
