export { HetznerProvider, SERVER_IGNORED_CHANGES } from './hetzner-provider';
export type { HetznerProviderProps, HetznerDnsProps, HetznerBackend } from './hetzner-provider';
export { FLATCAR_SNAPSHOT_SELECTOR } from './pins';
