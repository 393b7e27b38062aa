import { exampleConfig } from './example';
import { parsePlatformConfig, PlatformConfigError } from './load';
import { configReference } from './reference';

const withApps = (apps: unknown) => ({ ...exampleConfig(), apps }) as Parameters<typeof parsePlatformConfig>[0];

function problems(apps: unknown): Array<{ path: string; message: string }> {
  try {
    parsePlatformConfig(withApps(apps), 'platform.yaml');
  } catch (e) {
    if (e instanceof PlatformConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('expected the config to be refused');
}

describe('apps config', () => {
  it('enables every app with its default host and the built-in website when the section is left out', () => {
    expect(parsePlatformConfig(exampleConfig()).config.apps).toEqual({
      nextcloud: { enabled: true, host: 'cloud', dataSizeGiB: 100, databaseSizeGiB: 10 },
      media: { enabled: true, server: 'emby', host: 'media', librarySizeGiB: 500 },
      website: { enabled: true, host: 'www', source: { type: 'builtin' } },
    });
  });

  it('fills defaults inside a partly written section', () => {
    const { apps } = parsePlatformConfig(withApps({ media: { server: 'jellyfin' }, website: { source: { type: 'git', repoURL: 'https://github.com/you/site.git', revision: 'v1.0.0' } } })).config;
    expect(apps.media).toEqual({ enabled: true, server: 'jellyfin', host: 'media', librarySizeGiB: 500 });
    expect(apps.website.source).toEqual({ type: 'git', repoURL: 'https://github.com/you/site.git', revision: 'v1.0.0', path: '.' });
    expect(apps.nextcloud.host).toBe('cloud');
  });

  it('accepts the apex as a host and an image source pinned by tag', () => {
    const { apps } = parsePlatformConfig(withApps({ website: { host: '@', source: { type: 'image', image: 'ghcr.io/you/site:1.4.0' } } })).config;
    expect(apps.website).toEqual({ enabled: true, host: '@', source: { type: 'image', image: 'ghcr.io/you/site:1.4.0', path: '/site' } });
  });

  it('refuses a content image that is not pinned', () => {
    expect(problems({ website: { source: { type: 'image', image: 'ghcr.io/you/site:latest' } } })).toEqual([
      { path: 'apps.website.source.image', message: expect.stringMatching(/ghcr.io\/you\/site:latest/) },
    ]);
    expect(problems({ website: { source: { type: 'image', image: 'ghcr.io/you/site' } } }).map((p) => p.path)).toEqual(['apps.website.source.image']);
  });

  it('refuses a host that is not one DNS label, and a media server Keelson does not have', () => {
    expect(problems({ nextcloud: { host: 'cloud.example.com' }, media: { server: 'plex' } }).map((p) => p.path)).toEqual(['apps.nextcloud.host', 'apps.media.server']);
  });

  it('refuses a git source over plain http or with a path leaving the repository', () => {
    expect(problems({ website: { source: { type: 'git', repoURL: 'http://example.com/site.git', revision: 'main', path: '../etc' } } }).map((p) => p.path)).toEqual([
      'apps.website.source.repoURL',
      'apps.website.source.path',
    ]);
  });

  it('describes every apps key in the config reference', () => {
    const rows = configReference().filter((r) => r.key.startsWith('apps.'));
    expect(rows.map((r) => r.key)).toEqual(
      expect.arrayContaining(['apps.nextcloud.enabled', 'apps.nextcloud.host', 'apps.media.server', 'apps.website.source.type', 'apps.website.source.image', 'apps.website.source.repoURL']),
    );
    for (const r of rows) expect(r.description.length).toBeGreaterThan(10);
  });
});

describe('planLayers for the apps', () => {
  const appsLayer = (apps: unknown) => parsePlatformConfig(withApps(apps)).layers.find((l) => l.id === 'apps')!;

  it('plans every app namespace when all apps are on', () => {
    expect(appsLayer(undefined).namespaces.map((n) => n.name)).toEqual(['cnpg-system', 'nextcloud', 'emby', 'website']);
    expect(appsLayer(undefined).description).toBe('Nextcloud, Emby, and the website');
  });

  it('drops the namespaces of a disabled app, and the CloudNativePG operator with Nextcloud', () => {
    expect(appsLayer({ nextcloud: { enabled: false } }).namespaces.map((n) => n.name)).toEqual(['emby', 'website']);
    expect(appsLayer({ media: { enabled: false } }).namespaces.map((n) => n.name)).toEqual(['cnpg-system', 'nextcloud', 'website']);
    expect(appsLayer({ website: { enabled: false }, media: { server: 'jellyfin' } }).description).toBe('Nextcloud and Jellyfin');
  });

  it('describes the apps as English lists them (Intl.ListFormat), whichever are on', () => {
    const off = { enabled: false };
    for (const apps of [undefined, { website: off }, { media: off, website: off }, { nextcloud: off, media: off, website: off }, { nextcloud: off, media: { server: 'jellyfin' } }]) {
      const names = appsLayer(apps).namespaces.flatMap((n) => ({ nextcloud: ['Nextcloud'], emby: [apps?.media && 'server' in apps.media ? 'Jellyfin' : 'Emby'], website: ['the website'] })[n.name] ?? []);
      expect(appsLayer(apps).description).toBe(new Intl.ListFormat('en').format(names) || 'no apps');
    }
    expect(appsLayer({ nextcloud: off, media: off, website: off }).description).toBe('no apps');
  });
});

describe('cluster.id', () => {
  const refusal = (cluster: unknown): Array<{ path: string; message: string }> => {
    try {
      parsePlatformConfig({ ...exampleConfig(), cluster } as Parameters<typeof parsePlatformConfig>[0], 'platform.yaml');
    } catch (e) {
      if (e instanceof PlatformConfigError) return [...e.problems];
      throw e;
    }
    throw new Error('expected the config to be refused');
  };
  const pasted = (message: string) => /id: "([0-9a-f]{8})"/.exec(message)?.[1];

  it('refuses a config without one, naming the field and giving a fresh random value that the schema accepts', () => {
    const [first] = refusal({ name: 'keelson' });
    expect(first).toEqual({ path: 'cluster.id', message: expect.stringMatching(/^is required \(expected string\); add it: use 8 lower-case hex digits made once for this cluster, such as this freshly generated one: id: "[0-9a-f]{8}" \(keep it: a changed id means new buckets/) });
    const [second] = refusal({ name: 'keelson' });
    // Two users copying the same example must not be handed the same id.
    expect(pasted(second.message)).not.toBe(pasted(first.message));
    expect(parsePlatformConfig({ ...exampleConfig(), cluster: { name: 'keelson', id: pasted(first.message) } }).config.cluster.id).toBe(pasted(first.message));
  });

  it('refuses an id that is not 8 lower-case hex digits, and one YAML read as a number', () => {
    for (const id of ['8BEF49A9', '8bef49a', '8bef49a9a', 'keelson1', '']) {
      expect(refusal({ name: 'keelson', id })).toEqual([{ path: 'cluster.id', message: expect.stringMatching(new RegExp(`^got "${id}", not a valid value; use 8 lower-case hex digits .* id: "[0-9a-f]{8}"`)) }]);
    }
    expect(refusal({ name: 'keelson', id: 12345678 })).toEqual([{ path: 'cluster.id', message: expect.stringMatching(/^expected a string, got 12345678 \(a number\); use 8 lower-case hex digits/) }]);
  });

  it('says in the config reference that changing it orphans the old buckets', () => {
    expect(configReference().find((r) => r.key === 'cluster.id')?.description).toMatch(/changing it later means new, empty buckets and orphans the old ones/);
  });
});
