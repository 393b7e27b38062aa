export { CloudApiMimic } from './cloud-api-mimic';
export type { CloudApiMimicOptions, MimicRequest } from './cloud-api-mimic';
