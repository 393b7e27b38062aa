import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { exampleConfig, SHIPPED_CLUSTER_IDS } from '@keelson/platform-spec';
import { shippedClusterIdNotice } from './synth';
import { repoRoot } from './test-helpers';

/** The `cluster.id` of every config file the repository ships. */
function shippedIds(): string[] {
  const files = [join(repoRoot, 'apps/platform/platform.yaml'), ...readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.yaml')).map((f) => join(repoRoot, 'examples', f))];
  return [...files.map((f) => String(YAML.parse(readFileSync(f, 'utf8')).cluster.id)), exampleConfig().cluster.id];
}

describe('the cluster ids Keelson ships', () => {
  it('are listed in SHIPPED_CLUSTER_IDS, each once, and every file has its own', () => {
    const ids = shippedIds();
    expect(new Set(ids)).toEqual(SHIPPED_CLUSTER_IDS);
    // The example config and platform.yaml share one id; every example file has its own.
    expect(new Set(ids).size).toBe(ids.length - 1);
  });

  it("make synth warn that a copy shares the example's bucket names, naming the fix", () => {
    expect(shippedClusterIdNotice('8bef49a9')).toEqual([expect.stringMatching(/^ {2}cluster\.id "8bef49a9" is the one Keelson's own configs ship: every copy of them names the same buckets .* set cluster\.id to your own \(e\.g\. "[0-9a-f]{8}"\) before the first deploy$/)]);
    expect(shippedClusterIdNotice('0a1b2c3d')).toEqual([]);
  });
});
