import type { CloudApiOptions, CloudPower } from '@keelson/platform-spec';
import { CloudApiPower, messageIn, type CloudPowerDialect, type CloudServer } from '../internal/cloud-api';

/** The Hetzner Cloud API's base URL. */
export const HETZNER_API_URL = 'https://api.hetzner.cloud/v1';
/** The variable the hcloud Terraform provider (and `keelson drill`) reads the API token from. */
export const HETZNER_TOKEN_VARIABLE = 'HCLOUD_TOKEN';

/**
 * Hetzner Cloud's server power actions, as its API documents them:
 *
 * - `GET /v1/servers?name=<name>`: the server with exactly this name,
 *   `200 {"servers": [{"id", "name", "status": "running" | "off" | ...}]}`;
 * - `POST /v1/servers/<id>/actions/poweroff` (a hard power cut, not
 *   `shutdown`) or `.../poweron`, no body: `201 {"action": {"id", "command", "status": "running", ...}}`;
 * - `GET /v1/actions/<id>`: `200 {"action": {"status": "running" | "success" | "error", "error": {"code", "message"} | null}}`;
 * - every error: `{"error": {"code": "not_found" | "unauthorized" | "locked" | "conflict" | ..., "message": "..."}}`
 *   (`locked`: another action is running on the server); 3,600 requests an
 *   hour per project, then 429 `rate_limit_exceeded` until `RateLimit-Reset`.
 *
 * @see https://docs.hetzner.cloud/reference/cloud#server-actions-power-off-a-server
 * @see https://docs.hetzner.cloud/reference/cloud#server-actions-power-on-a-server
 * @see https://docs.hetzner.cloud/reference/cloud#servers-list-servers
 * @see https://docs.hetzner.cloud/reference/cloud#actions-get-an-action
 * @see https://docs.hetzner.cloud/reference/cloud#errors
 * @see https://github.com/hetznercloud/hcloud-go/blob/main/hcloud/error.go (the error codes)
 */
export const HETZNER_POWER: CloudPowerDialect = {
  cloud: 'Hetzner Cloud',
  serverWord: 'server',
  defaultBaseUrl: HETZNER_API_URL,
  findPath: (name) => `/servers?name=${encodeURIComponent(name)}`,
  servers: (body) => ((body as { servers?: CloudServer[] } | undefined)?.servers ?? []).map((s) => ({ id: s.id, name: s.name, status: s.status })),
  actionRequest: (action, id) => ({ path: `/servers/${id}/actions/${action === 'powerOff' ? 'poweroff' : 'poweron'}` }),
  targetStatus: (action) => (action === 'powerOff' ? 'off' : 'running'),
  actionId: (body) => (body as { action?: { id?: number } } | undefined)?.action?.id,
  actionPath: (id) => `/actions/${id}`,
  actionState: (body) => {
    const action = (body as { action?: { status?: string; error?: { code?: string; message?: string } | null } } | undefined)?.action;
    if (action?.status === 'success') return { done: true };
    if (action?.status === 'error') return { done: true, error: action.error ? `${action.error.message} (${action.error.code})` : 'Hetzner Cloud reports the action failed' };
    return { done: false };
  },
  errorMessage: (body) => messageIn(body, 'error'),
};

/** Hetzner Cloud's power switch for the platform's servers (see {@link HETZNER_POWER}). */
export function hetznerPower(options: CloudApiOptions): CloudPower {
  return new CloudApiPower(HETZNER_POWER, options);
}
