import { CloudApiMimic } from '../testing';
import { HetznerProvider } from './hetzner-provider';

const TOKEN = 'hcloud-test-token';
let mimic: CloudApiMimic;
const switched: string[] = [];

beforeEach(async () => {
  switched.length = 0;
  mimic = await CloudApiMimic.start({ cloud: 'hetzner', token: TOKEN, servers: ['keelson-controller-1', 'keelson-controller-2', 'keelson-worker-1'], onPower: (name, on) => void switched.push(`${name} ${on ? 'on' : 'off'}`) });
});
afterEach(() => mimic.close());

const power = (token = TOKEN) => new HetznerProvider().cloudPower({ token, baseUrl: mimic.url, pollIntervalMs: 10 });

describe('Hetzner Cloud power actions', () => {
  it('names the token variable the hcloud Terraform provider reads', () => {
    expect(new HetznerProvider().apiTokenVariable).toBe('HCLOUD_TOKEN');
  });

  it('finds each server by its name, posts one poweroff action each without a body and polls every action until it succeeded', async () => {
    await power().powerOff(['keelson-controller-1', 'keelson-worker-1']);
    const seen = mimic.requests.map((r) => `${r.method} ${r.path}${r.body !== undefined ? ` ${JSON.stringify(r.body)}` : ''} -> ${r.status}`);
    expect(seen.slice(0, 2).sort()).toEqual(['GET /servers?name=keelson-controller-1 -> 200', 'GET /servers?name=keelson-worker-1 -> 200']);
    expect(seen.slice(2, 4).sort()).toEqual(['POST /servers/3164400/actions/poweroff -> 201', 'POST /servers/3164402/actions/poweroff -> 201']);
    expect(seen.slice(4).sort()).toEqual(['GET /actions/7000 -> 200', 'GET /actions/7000 -> 200', 'GET /actions/7001 -> 200', 'GET /actions/7001 -> 200']);
    for (const r of mimic.requests) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
    expect(switched.sort()).toEqual(['keelson-controller-1 off', 'keelson-worker-1 off']);
    expect(mimic.status('keelson-controller-1')).toBe('off');
  });

  it('powers servers back on with poweron, skipping one that is already running', async () => {
    await power().powerOff(['keelson-controller-2']);
    await power().powerOn(['keelson-controller-2', 'keelson-controller-1']);
    expect(mimic.powerRequests()).toEqual(['POST /servers/3164401/actions/poweroff', 'POST /servers/3164401/actions/poweron']);
    expect(mimic.status('keelson-controller-2')).toBe('running');
  });

  it('plans the exact requests against the public API and sends none', () => {
    const plan = new HetznerProvider().cloudPower({ token: '' }).plan('powerOn', ['keelson-worker-1']);
    expect(plan.map((r) => [r.method, r.url, r.body])).toEqual([
      ['GET', 'https://api.hetzner.cloud/v1/servers?name=keelson-worker-1', undefined],
      ['POST', 'https://api.hetzner.cloud/v1/servers/{id of keelson-worker-1}/actions/poweron', undefined],
      ['GET', 'https://api.hetzner.cloud/v1/actions/{action id of keelson-worker-1}', undefined],
    ]);
    expect(mimic.requests).toEqual([]);
  });

  it('fails with the server, the status and the API message when the token is refused (401)', async () => {
    await expect(power('wrong').powerOn(['keelson-worker-1'])).rejects.toThrow('Hetzner Cloud: keelson-worker-1: GET /servers?name=keelson-worker-1 answered 401: unable to authenticate (unauthorized)');
  });

  it('fails naming the server when no server has its name (404)', async () => {
    await expect(power().powerOff(['keelson-worker-7'])).rejects.toThrow('Hetzner Cloud: keelson-worker-7: no server has this name (GET /servers?name=keelson-worker-7 found none)');
    expect(mimic.powerRequests()).toEqual([]);
  });

  it('fails with the API message when another action locks the server (423 locked)', async () => {
    mimic.lock('keelson-controller-1');
    await expect(power().powerOff(['keelson-controller-1'])).rejects.toThrow('Hetzner Cloud: keelson-controller-1: POST /servers/3164400/actions/poweroff answered 423, expected 201 (action created): server is locked (locked)');
  });

  it('fails with the API message on a conflict (409)', async () => {
    mimic.conflictNext();
    await expect(power().powerOff(['keelson-worker-1'])).rejects.toThrow('Hetzner Cloud: keelson-worker-1: POST /servers/3164402/actions/poweroff answered 409, expected 201 (action created): the resource has changed during the request, please retry (conflict)');
  });

  it('mimics the API: any other request is refused with its error shape', async () => {
    const res = await fetch(`${mimic.url}/servers/3164400/actions/reset`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'the mimic does not answer POST /servers/3164400/actions/reset', details: {} } });
  });
});
