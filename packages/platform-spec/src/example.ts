import type { PlatformConfigInput } from './config-schema';

/**
 * A small, valid platform config (the shape of `apps/platform/platform.yaml`
 * with defaults left out): 6 nodes in fra1 that survive losing any 2.
 *
 * Returns a fresh copy each call, so tests and examples can change it freely.
 */
export function exampleConfig(): PlatformConfigInput {
  return {
    cluster: { name: 'keelson', id: '8bef49a9' },
    provider: { name: 'digitalocean', region: 'fra1' },
    nodes: { controllers: { count: 5 }, workers: { count: 1 } },
    domain: 'example.com',
    acme: { email: 'ops@example.com' },
    gitops: { repoURL: 'https://github.com/keelson-dev/keelson.git' },
    adminCidrs: ['203.0.113.0/24'],
  };
}
