export { DigitalOceanProvider, DROPLET_IGNORED_CHANGES } from './digitalocean-provider';
export type { DigitalOceanProviderProps, DigitalOceanBackend, DigitalOceanDnsProps, IngressTargetPorts } from './digitalocean-provider';
export { FLATCAR_DIGITALOCEAN_IMAGE } from './pins';
export type { FlatcarImage } from './pins';
export { digitalOceanPower, DIGITALOCEAN_API_URL, DIGITALOCEAN_TOKEN_VARIABLE } from './digitalocean-power';
