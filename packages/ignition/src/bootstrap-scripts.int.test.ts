import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { decodeInlineContents } from './builder';
import { BOOTSTRAP_SCRIPTS } from './generated/bootstrap-scripts';
import { NODE_PATHS, renderNodeConfigs } from './node-configs';
import { requireBinary } from './testing/binaries';
import { testClusterSecrets } from './test-cluster-secrets';

const scriptsDir = join(__dirname, '..', 'scripts');
const scripts = readdirSync(scriptsDir).filter((f) => f.endsWith('.sh')).sort();

describe('the first-boot shell scripts (packages/ignition/scripts)', () => {
  it('are embedded byte for byte: the generated module is not stale', () => {
    expect(Object.keys(BOOTSTRAP_SCRIPTS).sort()).toEqual(scripts);
    for (const name of scripts) {
      const text = readFileSync(join(scriptsDir, name), 'utf8');
      const embedded = BOOTSTRAP_SCRIPTS[name as keyof typeof BOOTSTRAP_SCRIPTS];
      // When this fails: node packages/ignition/tools/embed-scripts.mjs (the package's build runs it).
      expect({ name, sha256: embedded.sha256, same: embedded.text === text }).toEqual({ name, sha256: createHash('sha256').update(text).digest('hex'), same: true });
    }
  });

  it('pass shellcheck, style notes included, following what they source', () => {
    const shellcheck = requireBinary('shellcheck', 'the first-boot script test');
    const run = spawnSync(shellcheck, ['--shell=bash', '--external-sources', '--severity=style', ...scripts], { cwd: scriptsDir, encoding: 'utf8' });
    expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({ status: 0, output: '' });
  });

  it('fails shellcheck on a script with an unquoted expansion, so the check above is real', () => {
    const shellcheck = requireBinary('shellcheck', 'the first-boot script test');
    const run = spawnSync(shellcheck, ['--shell=bash', '-'], { input: '#!/bin/bash\nset -euo pipefail\nrm -rf $1/pki\n', encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/SC2086/);
  });

  it('start with set -Eeuo pipefail and log every step with the node, the step and the attempt', () => {
    const main = BOOTSTRAP_SCRIPTS['kubeadm-bootstrap.sh'].text;
    expect(main.split('\n')[0]).toBe('#!/bin/bash');
    expect(main).toMatch(/^set -Eeuo pipefail$/m);
    expect(BOOTSTRAP_SCRIPTS['bootstrap-lib.sh'].text).toContain(`printf 'keelson-bootstrap node=%s step=%s attempt=%s: %s\\n'`);
  });

  it('are what every node gets; only bootstrap.env differs between nodes', () => {
    const spec = parsePlatformConfig(exampleConfig());
    const configs = renderNodeConfigs({ spec, secrets: testClusterSecrets(), secretPartUrl: () => 'https://unused/', initialize: true });
    const filesOf = (json: string) => new Map((JSON.parse(json) as { storage: { files: Array<{ path: string; mode?: number; contents: { source?: string; compression?: string } }> } }).storage.files.map((f) => [f.path, { mode: f.mode, text: decodeInlineContents(f.contents)?.toString('utf8') }]));
    const envs = new Set<string>();
    for (const c of configs) {
      const files = filesOf(c.pointer);
      expect(files.get(NODE_PATHS.bootstrapScript)).toEqual({ mode: 0o755, text: BOOTSTRAP_SCRIPTS['kubeadm-bootstrap.sh'].text });
      expect(files.get(NODE_PATHS.bootstrapLib)).toEqual({ mode: 0o644, text: BOOTSTRAP_SCRIPTS['bootstrap-lib.sh'].text });
      envs.add(files.get(NODE_PATHS.bootstrapEnv)?.text ?? '');
    }
    expect(envs.size).toBe(configs.length);
  });
});
