import { deriveTopology } from './topology';
import { parsePlatformConfig } from './load';
import { parseConfigText } from './load';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const base = parseConfigText(readFileSync(join(__dirname, 'test-fixtures/platform.yaml'), 'utf8'), 'platform.yaml') as Record<string, any>;

describe('deriveTopology', () => {
  it('names nodes by role and index', () => {
    const { topology } = parsePlatformConfig(base);
    expect(topology.nodes.map((n) => n.name)).toEqual([
      'keelson-controller-1',
      'keelson-controller-2',
      'keelson-controller-3',
      'keelson-controller-4',
      'keelson-controller-5',
      'keelson-worker-1',
    ]);
    expect(topology.controllers.every((n) => n.etcdMember)).toBe(true);
    expect(topology.workers.map((n) => n.etcdMember)).toEqual([false]);
    expect(topology.nodes[0].labels['topology.kubernetes.io/zone']).toBe('fra1');
  });

  it('adding workers appends nodes and changes no existing one', () => {
    const more = structuredClone(base);
    more.nodes.workers.count = 3;
    const before = parsePlatformConfig(base).topology.nodes;
    const after = deriveTopology(parsePlatformConfig(more).config).nodes;
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).map((n) => n.name)).toEqual(['keelson-worker-2', 'keelson-worker-3']);
  });

  it('labels nodes with their failure domain under the failure-domains model', () => {
    const fd = structuredClone(base);
    fd.faultModel = { type: 'failure-domains', domains: 3 };
    const { topology } = parsePlatformConfig(fd);
    expect(topology.failureDomains).toEqual(['zone-a', 'zone-b', 'zone-c']);
    expect(topology.controllers.map((n) => n.failureDomain)).toEqual(['zone-a', 'zone-b', 'zone-c', 'zone-a', 'zone-b']);
    expect(topology.workers.map((n) => n.labels['topology.kubernetes.io/zone'])).toEqual(['zone-c']);
  });
});
