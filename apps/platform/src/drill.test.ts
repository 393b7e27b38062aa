import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { drillKubeconfig } from './drill';
import { runCli } from './test-cli';
import { configWith, tempDir } from './test-helpers';

let dir: string;
let config: string;

/** The example platform synthesized into a scratch folder: the drill reads verify's worst case from it. */
beforeAll(async () => {
  dir = tempDir('keelson-drill-cli-');
  config = configWith(() => undefined, dir);
  const run = await runCli(['synth', '--config', config, '--out', join(dir, 'out')]);
  if (run.status !== 0) throw new Error(`keelson synth failed: ${run.stderr}`);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keelson drill', () => {
  it('with --dry-run prints every cloud request for the worst case and exits 0', async () => {
    const run = await runCli(['drill', '--config', config, '--out', join(dir, 'out'), '--dry-run'], { env: { DIGITALOCEAN_TOKEN: '' } });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^drill \(dry run: nothing sent\): keelson on digitalocean; power off keelson-controller-1, keelson-controller-2/);
    expect(run.stdout).toContain('POST https://api.digitalocean.com/v2/droplets/{id of keelson-controller-1}/actions {"type":"power_off"}');
    expect(run.stdout).toContain('POST https://api.digitalocean.com/v2/droplets/{id of keelson-controller-2}/actions {"type":"power_on"}');
  }, 60_000);

  it('without --yes prints the plan and refuses with exit 2', async () => {
    const run = await runCli(['drill', '--config', config, '--out', join(dir, 'out')]);
    expect(run.status).toBe(2);
    expect(run.stdout).toMatch(/power off keelson-controller-1, keelson-controller-2/);
    expect(run.stderr).toMatch(/keelson: drill: this powers off keelson-controller-1, keelson-controller-2 of the live cluster keelson; add --yes to run it/);
  }, 60_000);

  it('with --yes and no token exits 2 naming the variable, before touching anything', async () => {
    const run = await runCli(['drill', '--config', config, '--out', join(dir, 'out'), '--yes', '--kubeconfig', join(dir, 'none.kubeconfig')], { env: { DIGITALOCEAN_TOKEN: '' } });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/keelson: drill: DIGITALOCEAN_TOKEN is not set/);
  }, 60_000);

  it("takes the kubeconfig from --kubeconfig, else deploy's admin kubeconfig, else $KUBECONFIG", () => {
    const root = tempDir('keelson-drill-root-');
    try {
      expect(drillKubeconfig(undefined, root, 'keelson', { KUBECONFIG: '/k/one:/k/two' })).toBe('/k/one');
      expect(drillKubeconfig(undefined, root, 'keelson', {})).toBeUndefined();
      mkdirSync(join(root, 'secrets', 'keelson'), { recursive: true });
      writeFileSync(join(root, 'secrets', 'keelson', 'admin.kubeconfig'), '{}');
      expect(drillKubeconfig(undefined, root, 'keelson', { KUBECONFIG: '/k/one' })).toBe(join(root, 'secrets', 'keelson', 'admin.kubeconfig'));
      expect(drillKubeconfig('/x/given', root, 'keelson', { KUBECONFIG: '/k/one' })).toBe('/x/given');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
