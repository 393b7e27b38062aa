// A secrets bundle outside any git checkout opens without running git: the
// unit preset's guard (tools/jest-unit-guard.cjs) fails this file if any child
// process starts. Inside a checkout, bundle.int.test.ts runs the real git.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { openSecretsBundle } from './bundle';

describe('openSecretsBundle outside a git checkout', () => {
  it('creates, then reopens, the bundle without starting git', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'keelson-bundle-nogit-')), 'secrets', 'keelson');
    for (let p = dirname(dir); dirname(p) !== p; p = dirname(p)) expect(existsSync(join(p, '.git'))).toBe(false);
    const spec = parsePlatformConfig(exampleConfig());
    const first = await openSecretsBundle({ dir, spec });
    expect(first.created.length).toBeGreaterThan(0);
    const again = await openSecretsBundle({ dir, spec });
    expect(again.created).toEqual([]);
    expect(again.bundle.kubernetesCa.certPem).toBe(first.bundle.kubernetesCa.certPem);
  });
});
