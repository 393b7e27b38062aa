export { DigitalOceanProvider, DROPLET_IGNORED_CHANGES, FLATCAR_DIGITALOCEAN_IMAGE, digitalOceanPower, DIGITALOCEAN_API_URL, DIGITALOCEAN_TOKEN_VARIABLE } from './digitalocean';
export type { DigitalOceanProviderProps, DigitalOceanBackend, DigitalOceanDnsProps, IngressTargetPorts, FlatcarImage } from './digitalocean';
export { nodeProviderFor } from './provider';
export type { NodeProviderOptions } from './provider';
export { presignS3Url } from './presign';
export type { PresignS3UrlOptions } from './presign';
export { HetznerProvider, SERVER_IGNORED_CHANGES, FLATCAR_SNAPSHOT_SELECTOR, hetznerPower, HETZNER_API_URL, HETZNER_TOKEN_VARIABLE } from './hetzner';
export type { HetznerProviderProps, HetznerDnsProps, HetznerBackend } from './hetzner';
export { findSshAccess, findSecretsInUserData, findOpenApiLoadBalancers, inboundRules } from './security-assertions';
