import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { parsePlatformConfig } from './load';

const base = YAML.parse(readFileSync(join(__dirname, 'test-fixtures/platform.yaml'), 'utf8'));

describe('planLayers', () => {
  it('gives every namespace looser than restricted a reason', () => {
    const { layers } = parsePlatformConfig(base);
    const loose = layers.flatMap((l) => l.namespaces).filter((n) => n.podSecurity !== 'restricted');
    expect(loose.length).toBeGreaterThan(0);
    for (const ns of loose) expect(ns.reason).toMatch(/^.{20,}$/);
  });

  it('orders layers by sync wave with gitops first and apps last', () => {
    const { layers } = parsePlatformConfig(base);
    const waves = layers.map((l) => l.syncWave);
    expect([...waves].sort((a, b) => a - b)).toEqual(waves);
    expect(layers.map((l) => l.id)).toEqual(['gitops', 'network', 'maintenance', 'storage', 'ingress', 'backups', 'apps']);
  });

  it('swapping the ingress changes only the ingress layer', () => {
    const a = parsePlatformConfig(base).layers;
    const b = parsePlatformConfig({ ...base, layers: { ...base.layers, ingress: 'gateway-api' } }).layers;
    const changed = a.filter((l, i) => JSON.stringify(l) !== JSON.stringify(b[i])).map((l) => l.id);
    expect(changed).toEqual(['ingress']);
    expect(b.find((l) => l.id === 'ingress')?.namespaces.map((n) => n.name)).toEqual(['cert-manager', 'gateway-system']);
  });

  it('gives each namespace the platform creates to one layer only (preexisting kube-system may be shared)', () => {
    const names = parsePlatformConfig(base).layers.flatMap((l) => l.namespaces.filter((n) => !n.preexisting).map((n) => n.name));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('planLayers for the app namespaces', () => {
  const apps = (change: object) => parsePlatformConfig({ ...base, apps: change }).layers.find((l) => l.id === 'apps')?.namespaces ?? [];

  it('plans the media namespace baseline for Emby, which starts as root, and restricted for Jellyfin', () => {
    expect(apps({}).find((n) => n.name === 'emby')).toMatchObject({ podSecurity: 'baseline', reason: expect.stringMatching(/Emby image starts as root/) });
    const jellyfin = apps({ media: { server: 'jellyfin' } }).find((n) => n.name === 'emby');
    expect(jellyfin?.podSecurity).toBe('restricted');
    expect(jellyfin?.reason).toBeUndefined();
  });

  it('marks the namespaces whose apps keep volumes (Nextcloud, the media server), not the website or the operator', () => {
    expect(apps({}).filter((n) => n.volumes).map((n) => n.name)).toEqual(['nextcloud', 'emby']);
    expect(apps({ nextcloud: { enabled: false } }).filter((n) => n.volumes).map((n) => n.name)).toEqual(['emby']);
    expect(apps({ nextcloud: { enabled: false }, media: { enabled: false } }).filter((n) => n.volumes)).toEqual([]);
  });
});
