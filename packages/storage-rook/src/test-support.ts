import { App, Testing } from 'cdk8s';
import { exampleConfig, parsePlatformConfig, type PlatformSpec } from '@keelson/platform-spec';
import { nodeProviderFor } from '@keelson/infra-nodes';
import { RookStorage, type RookStorageProps } from './rook-storage';

/** A spec with `controllers` + `workers` nodes (any-third unless `domains` is given). */
export function specFor(controllers: number, workers: number, options: { domains?: number; provider?: 'digitalocean' | 'hetzner' } = {}): PlatformSpec {
  const config = exampleConfig();
  const input = {
    ...config,
    nodes:
      options.provider === 'hetzner'
        ? { controllers: { count: controllers, size: 'cx33' }, workers: { count: workers, size: 'cx33' } }
        : { controllers: { count: controllers }, workers: { count: workers } },
    ...(options.domains ? { faultModel: { type: 'failure-domains' as const, domains: options.domains } } : {}),
    ...(options.provider === 'hetzner' ? { provider: { name: 'hetzner' as const, region: 'fsn1' } } : {}),
  };
  return parsePlatformConfig(input, 'test');
}

/** Renders the storage layer and returns its JSON manifests. */
export function render(spec: PlatformSpec, props: Partial<Omit<RookStorageProps, 'spec'>> = {}): { chart: RookStorage; objects: any[] } {
  // The filter of the volume the config's cloud attaches, as the app passes it.
  const chart = new RookStorage(new App(), 'storage', { spec, devicePathFilter: nodeProviderFor(spec).volumeDevicePathFilter(spec), ...props });
  return { chart, objects: Testing.synth(chart) };
}

export const find = (objects: any[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
};
