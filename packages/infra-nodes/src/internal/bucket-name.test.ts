import { exampleConfig, parsePlatformConfig, type PlatformConfigInput, type PlatformSpec } from '@keelson/platform-spec';
import { DigitalOceanProvider } from '../digitalocean';
import { HetznerProvider } from '../hetzner';
import { clusterBucketName, MAX_BUCKET_NAME_LENGTH } from './bucket-name';

const spec = (cluster: PlatformConfigInput['cluster'], hetzner = false): PlatformSpec =>
  parsePlatformConfig({
    ...exampleConfig(),
    cluster,
    ...(hetzner ? { provider: { name: 'hetzner', region: 'fsn1' }, nodes: { controllers: { count: 5, size: 'cx33' }, workers: { count: 1, size: 'cx33' } } } : {}),
  } as PlatformConfigInput);

/** Both clouds' rule: 3-63 lower-case letters, digits, dashes, a letter or digit at each end. */
const CLOUD_RULE = /^(?=.{3,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

describe('bucket names', () => {
  const clouds = [
    ['DigitalOcean', new DigitalOceanProvider(), false],
    ['Hetzner', new HetznerProvider(), true],
  ] as const;

  it.each(clouds)('on %s, two users\' clusters of the same name get different buckets, each <name>-<id>-<purpose>', (_, provider, hetzner) => {
    const mine = spec({ name: 'example', id: '8bef49a9' }, hetzner);
    const theirs = spec({ name: 'example', id: '2e498d68' }, hetzner);
    expect(provider.backupBucket(mine).bucket).toBe('example-8bef49a9-backups');
    expect(provider.backupBucket(theirs).bucket).toBe('example-2e498d68-backups');
    expect(new URL(provider.secretPartUrl(mine, mine.topology.nodes[0])).host).toMatch(/^example-8bef49a9-ignition\./);
    expect(new URL(provider.secretPartUrl(theirs, theirs.topology.nodes[0])).host).toMatch(/^example-2e498d68-ignition\./);
  });

  it('stay within both clouds\' rules for the longest name and id the schema allows', () => {
    const longest = spec({ name: `k${'x'.repeat(18)}9`, id: 'ffffffff' });
    for (const purpose of ['backups', 'ignition'] as const) expect(clusterBucketName(longest, purpose)).toMatch(CLOUD_RULE);
  });

  it('refuse a cluster name and id that would pass the 63-character limit, naming it', () => {
    const valid = spec({ name: 'keelson', id: '8bef49a9' });
    const long = { ...valid, config: { ...valid.config, cluster: { name: 'k'.repeat(50), id: '8bef49a9' } } };
    expect(() => clusterBucketName(long, 'ignition')).toThrow(
      new RegExp(`cluster\\.name "k{50}" with cluster\\.id "8bef49a9" makes the ignition bucket name "k{50}-8bef49a9-ignition" \\(68 characters\\); bucket names are at most ${MAX_BUCKET_NAME_LENGTH} lower-case letters, digits and dashes on both clouds: shorten cluster\\.name`),
    );
    expect(() => new DigitalOceanProvider().backupBucket(long)).toThrow(/makes the backups bucket name .*at most 63/);
  });
});
