import { CloudApiMimic } from '../testing';
import { DigitalOceanProvider } from './digitalocean-provider';

const TOKEN = 'dop_v1_test';
let mimic: CloudApiMimic;
const switched: string[] = [];

beforeEach(async () => {
  switched.length = 0;
  mimic = await CloudApiMimic.start({ cloud: 'digitalocean', token: TOKEN, servers: ['keelson-controller-1', 'keelson-controller-2', 'keelson-worker-1'], onPower: (name, on) => void switched.push(`${name} ${on ? 'on' : 'off'}`) });
});
afterEach(() => mimic.close());

const power = (token = TOKEN) => new DigitalOceanProvider().cloudPower({ token, baseUrl: mimic.url, pollIntervalMs: 10 });

describe('DigitalOcean power actions', () => {
  it('names the token variable the Terraform provider reads', () => {
    expect(new DigitalOceanProvider().apiTokenVariable).toBe('DIGITALOCEAN_TOKEN');
  });

  it('finds each droplet by its name, posts one power_off action each and polls every action until completed', async () => {
    await power().powerOff(['keelson-controller-1', 'keelson-controller-2']);
    const seen = mimic.requests.map((r) => `${r.method} ${r.path}${r.body !== undefined ? ` ${JSON.stringify(r.body)}` : ''} -> ${r.status}`);
    expect(seen.slice(0, 2).sort()).toEqual(['GET /droplets?name=keelson-controller-1 -> 200', 'GET /droplets?name=keelson-controller-2 -> 200']);
    expect(seen.slice(2, 4).sort()).toEqual(['POST /droplets/3164400/actions {"type":"power_off"} -> 201', 'POST /droplets/3164401/actions {"type":"power_off"} -> 201']);
    // Each action read until it reports completed (the mimic answers in-progress once).
    expect(seen.slice(4).sort()).toEqual(['GET /actions/7000 -> 200', 'GET /actions/7000 -> 200', 'GET /actions/7001 -> 200', 'GET /actions/7001 -> 200']);
    for (const r of mimic.requests) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
    for (const r of mimic.requests.filter((x) => x.method === 'POST')) expect(r.contentType).toBe('application/json');
    expect(switched.sort()).toEqual(['keelson-controller-1 off', 'keelson-controller-2 off']);
    expect(mimic.status('keelson-controller-1')).toBe('off');
    expect(mimic.status('keelson-worker-1')).toBe('active');
  });

  it('powers droplets back on with power_on, and skips a droplet that is already in the state asked for', async () => {
    await power().powerOff(['keelson-controller-1']);
    await power().powerOn(['keelson-controller-1', 'keelson-worker-1']);
    expect(mimic.powerRequests()).toEqual(['POST /droplets/3164400/actions {"type":"power_off"}', 'POST /droplets/3164400/actions {"type":"power_on"}']);
    expect(mimic.status('keelson-controller-1')).toBe('active');
  });

  it('plans the exact requests against the public API and sends none', () => {
    const plan = new DigitalOceanProvider().cloudPower({ token: '' }).plan('powerOff', ['keelson-controller-1']);
    expect(plan.map((r) => [r.method, r.url, r.body])).toEqual([
      ['GET', 'https://api.digitalocean.com/v2/droplets?name=keelson-controller-1', undefined],
      ['POST', 'https://api.digitalocean.com/v2/droplets/{id of keelson-controller-1}/actions', { type: 'power_off' }],
      ['GET', 'https://api.digitalocean.com/v2/actions/{action id of keelson-controller-1}', undefined],
    ]);
    expect(power().plan('powerOn', ['keelson-worker-1'])[1].body).toEqual({ type: 'power_on' });
    expect(mimic.requests).toEqual([]);
  });

  it('fails with the server, the status and the API message when the token is refused (401)', async () => {
    await expect(power('wrong').powerOff(['keelson-controller-1'])).rejects.toThrow('DigitalOcean: keelson-controller-1: GET /droplets?name=keelson-controller-1 answered 401: Unable to authenticate you (unauthorized)');
    expect(mimic.powerRequests()).toEqual([]);
  });

  it('fails naming the droplet when no droplet has its name, and powers off none of the others', async () => {
    await expect(power().powerOff(['keelson-controller-1', 'keelson-controller-9'])).rejects.toThrow(/DigitalOcean: keelson-controller-9: no droplet has this name \(GET \/droplets\?name=keelson-controller-9 found none\)/);
    expect(mimic.powerRequests()).toEqual([]);
  });

  it('fails with the API message when the droplet is locked by another action (422)', async () => {
    mimic.lock('keelson-controller-2');
    await expect(power().powerOff(['keelson-controller-2'])).rejects.toThrow('DigitalOcean: keelson-controller-2: POST /droplets/3164401/actions answered 422, expected 201 (action created): Droplet already has a pending event. (unprocessable_entity)');
  });

  it('mimics the API: any other request is refused with its error shape', async () => {
    const res = await fetch(`${mimic.url}/account`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ id: 'not_found', message: 'the mimic does not answer GET /account', request_id: 'mimic' });
  });
});
