// Every example config shipped in examples/ synthesises and passes every
// verify check (issue 22: every variant shipped and proven). The rehearse
// package's examples test rehearses them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadPlatformSpec } from '@keelson/platform-spec';
import { formatReport, verifyPlatform } from '@keelson/verify';
import { keelson, tempDir } from './test-helpers';

const examples = resolve(__dirname, '../../../examples');
const names = readdirSync(examples)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -'.yaml'.length))
  .sort();

it('ships the variants the README promises, each saying what it shows', () => {
  expect(names).toEqual(['failure-domains', 'flannel', 'gateway-api', 'hetzner', 'jellyfin', 'media-off', 'nextcloud-off', 'nine-nodes', 'sixty-nodes', 'three-nodes']);
  for (const n of names) expect(readFileSync(join(examples, `${n}.yaml`), 'utf8')).toMatch(/^# \S.*\n/);
});

it.each(names)('examples/%s.yaml synthesises and passes every verify check', (name) => {
  const config = join(examples, `${name}.yaml`);
  const out = tempDir();
  const synth = keelson('synth', '--config', config, '--out', out, '--secrets', join(out, 'secrets'));
  expect({ status: synth.status, stderr: synth.stderr }).toEqual({ status: 0, stderr: '' });
  const spec = loadPlatformSpec(config);
  const report = verifyPlatform(spec, { chartsDir: join(out, spec.config.gitops.path), infraDir: join(out, 'infra-out') });
  expect({ ok: report.ok, report: report.ok ? '' : formatReport(report) }).toEqual({ ok: true, report: '' });
});
