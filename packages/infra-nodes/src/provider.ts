import type { NodeProvider, PlatformSpec } from '@keelson/platform-spec';
import { DigitalOceanProvider, type DigitalOceanProviderProps } from './digitalocean';
import { HetznerProvider, type HetznerProviderProps } from './hetzner';

/** Per-provider options for {@link nodeProviderFor}; only the chosen provider's are used. */
export interface NodeProviderOptions {
  readonly digitalocean?: DigitalOceanProviderProps;
  readonly hetzner?: HetznerProviderProps;
}

/**
 * The {@link NodeProvider} the config's `provider.name` picks: the one line
 * of config that moves the platform to another cloud.
 */
export function nodeProviderFor(spec: PlatformSpec, options: NodeProviderOptions = {}): NodeProvider {
  const name = spec.config.provider.name;
  switch (name) {
    case 'digitalocean':
      return new DigitalOceanProvider(options.digitalocean);
    case 'hetzner':
      return new HetznerProvider(options.hetzner);
    default: {
      // A provider added to the config schema but not here fails the build.
      const unknown: never = name;
      throw new Error(`nodeProviderFor: no provider for "${String(unknown)}"; use digitalocean or hetzner`);
    }
  }
}

/**
 * One provider of every cloud, with default options: for readers of
 * rendered output that must find which cloud wrote it (a rehearsal reads
 * the server types in `infra-out/`), never for rendering.
 */
export function nodeProviders(): readonly NodeProvider[] {
  return [new DigitalOceanProvider(), new HetznerProvider()];
}
