import type { CloudApiOptions, CloudPower } from '@keelson/platform-spec';
import { CloudApiPower, messageIn, type CloudPowerDialect, type CloudServer } from '../internal/cloud-api';

/** The DigitalOcean API's base URL. */
export const DIGITALOCEAN_API_URL = 'https://api.digitalocean.com/v2';
/** The variable the DigitalOcean Terraform provider (and `keelson drill`) reads the API token from. */
export const DIGITALOCEAN_TOKEN_VARIABLE = 'DIGITALOCEAN_TOKEN';

/**
 * DigitalOcean's droplet power actions, as its API documents them:
 *
 * - `GET /v2/droplets?name=<name>`: droplets whose name matches exactly
 *   (case-insensitive), `200 {"droplets": [{"id", "name", "status": "active" | "off" | ...}]}`;
 * - `POST /v2/droplets/<id>/actions` with `{"type": "power_off"}` (a hard
 *   power cut, not `shutdown`) or `{"type": "power_on"}`: `201 {"action": {"id", "status": "in-progress", ...}}`;
 *   a droplet with an action still running is locked and refuses another with 422;
 * - `GET /v2/actions/<id>`: `200 {"action": {"status": "in-progress" | "completed" | "errored"}}`;
 * - every error: `{"id": "not_found", "message": "..."}`; 5,000 requests an
 *   hour and 250 a minute per token, then 429 until `RateLimit-Reset`.
 *
 * @see https://docs.digitalocean.com/products/droplets/reference/api/droplet-actions
 * @see https://docs.digitalocean.com/reference/pydo/reference/droplets/list
 * @see https://docs.digitalocean.com/notes/2022/droplet-names-api
 * @see https://github.com/digitalocean/openapi/blob/main/specification/shared/description.md (errors, rate limit)
 * @see https://github.com/digitalocean/openapi/blob/main/specification/resources/actions/models/action.yml
 */
export const DIGITALOCEAN_POWER: CloudPowerDialect = {
  cloud: 'DigitalOcean',
  serverWord: 'droplet',
  defaultBaseUrl: DIGITALOCEAN_API_URL,
  findPath: (name) => `/droplets?name=${encodeURIComponent(name)}`,
  servers: (body) => ((body as { droplets?: CloudServer[] } | undefined)?.droplets ?? []).map((d) => ({ id: d.id, name: d.name, status: d.status })),
  actionRequest: (action, id) => ({ path: `/droplets/${id}/actions`, body: { type: action === 'powerOff' ? 'power_off' : 'power_on' } }),
  targetStatus: (action) => (action === 'powerOff' ? 'off' : 'active'),
  actionId: (body) => (body as { action?: { id?: number } } | undefined)?.action?.id,
  actionPath: (id) => `/actions/${id}`,
  actionState: (body) => {
    const status = (body as { action?: { status?: string } } | undefined)?.action?.status;
    if (status === 'completed') return { done: true };
    if (status === 'errored') return { done: true, error: 'DigitalOcean reports the action errored' };
    return { done: false };
  },
  errorMessage: (body) => messageIn(body),
};

/** DigitalOcean's power switch for the platform's droplets (see {@link DIGITALOCEAN_POWER}). */
export function digitalOceanPower(options: CloudApiOptions): CloudPower {
  return new CloudApiPower(DIGITALOCEAN_POWER, options);
}
