export { HetznerProvider, SERVER_IGNORED_CHANGES } from './hetzner-provider';
export type { HetznerProviderProps, HetznerDnsProps, HetznerBackend } from './hetzner-provider';
export { FLATCAR_SNAPSHOT_SELECTOR } from './pins';
export { hetznerPower, HETZNER_API_URL, HETZNER_TOKEN_VARIABLE } from './hetzner-power';
