export { HetznerProvider, SERVER_IGNORED_CHANGES } from './hetzner-provider';
export type { HetznerProviderProps, HetznerDnsProps, HetznerBackend } from './hetzner-provider';
export { FLATCAR_SNAPSHOT_SELECTOR } from './pins';
export { hetznerPower, HETZNER_API_URL, HETZNER_TOKEN_VARIABLE } from './hetzner-power';
export { SERVER_TYPES as HETZNER_SERVER_TYPES, RETIRED_SERVER_TYPES as HETZNER_RETIRED_SERVER_TYPES, SERVER_TYPES_AS_OF as HETZNER_SERVER_TYPES_AS_OF } from './pins';
export type { HetznerServerType } from './pins';
