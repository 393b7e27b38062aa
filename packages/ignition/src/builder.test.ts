import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  decodeInlineContents,
  ignitionHash,
  IgnitionConfig,
  IgnitionConfigError,
  type FileProps,
  type UnitProps,
} from './builder';

/** gzip as the builder makes it: a fixed header (OS \"Unix\"). */
const gzip = (bytes: Buffer, level: number) => {
  const out = gzipSync(bytes, { level });
  out[9] = 3;
  return out;
};

const SHA256 = `sha256-${'a'.repeat(64)}`;
const SHA512 = `sha512-${'b'.repeat(128)}`;
const SERVICE = '[Unit]\nDescription=demo\n[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n';

describe('IgnitionConfig output', () => {
  it('declares spec 3.3.0 and leaves out empty sections', () => {
    expect(new IgnitionConfig().toJSON()).toEqual({ ignition: { version: '3.3.0' } });
    expect(new IgnitionConfig().render()).toBe('{"ignition":{"version":"3.3.0"}}');
  });

  it('renders octal modes as the decimal integers Ignition reads, with 0644/0755 defaults', () => {
    const json = new IgnitionConfig()
      .addFile({ path: '/etc/secret', mode: 0o600, contents: { text: 'x' } })
      .addFile({ path: '/etc/plain', contents: { text: 'x' } })
      .addDirectory({ path: '/var/lib/keelson' })
      .toJSON();
    expect(json.storage?.files?.map((f) => [f.path, f.mode])).toEqual([
      ['/etc/plain', 420],
      ['/etc/secret', 384],
    ]);
    expect(json.storage?.directories?.[0]?.mode).toBe(493);
  });

  it('maps numeric owners to ids and names to names', () => {
    const file = new IgnitionConfig().addFile({ path: '/etc/x', contents: { text: 'x' }, user: 0, group: 'core' }).toJSON().storage?.files?.[0];
    expect(file?.user).toEqual({ id: 0 });
    expect(file?.group).toEqual({ name: 'core' });
  });

  it('renders the same bytes whatever the order of the calls', () => {
    const steps: Array<(c: IgnitionConfig) => void> = [
      (c) => c.addFile({ path: '/etc/b', contents: { text: 'b' } }),
      (c) => c.addFile({ path: '/etc/a', contents: { text: 'a' }, mode: 0o600, user: 0 }),
      (c) => c.addDirectory({ path: '/opt/keelson' }),
      (c) => c.addLink({ path: '/etc/c', target: '/etc/a' }),
      (c) => c.addUnit({ name: 'z.service', contents: SERVICE, enabled: true }),
      (c) => c.addUnit({ name: 'sshd.service', mask: true }),
      (c) => c.addDropin('containerd.service', { name: '20-b.conf', contents: '[Service]\nLimitNOFILE=1048576\n' }),
      (c) => c.addDropin('containerd.service', { name: '10-a.conf', contents: '[Service]\nEnvironment=A=1\n' }),
      (c) => c.addUnit({ name: 'containerd.service', enabled: true }),
    ];
    const forward = new IgnitionConfig();
    steps.forEach((s) => s(forward));
    const backward = new IgnitionConfig();
    [...steps].reverse().forEach((s) => s(backward));
    expect(backward.render()).toBe(forward.render());
    expect(forward.render()).toBe(forward.render());
    const json = forward.toJSON();
    expect(json.storage?.files?.map((f) => f.path)).toEqual(['/etc/a', '/etc/b']);
    expect(json.systemd?.units?.map((u) => u.name)).toEqual(['containerd.service', 'sshd.service', 'z.service']);
    expect(json.systemd?.units?.[0]).toEqual({
      name: 'containerd.service',
      enabled: true,
      dropins: [
        { name: '10-a.conf', contents: '[Service]\nEnvironment=A=1\n' },
        { name: '20-b.conf', contents: '[Service]\nLimitNOFILE=1048576\n' },
      ],
    });
  });

  it('renders compact JSON with keys in a fixed order', () => {
    const rendered = new IgnitionConfig().addFile({ path: '/etc/x', mode: 0o600, user: 0, overwrite: true, contents: { text: 'x' } }).render();
    expect(rendered).toBe('{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/x","mode":384,"user":{"id":0},"overwrite":true,"contents":{"source":"data:,x"}}]}}');
    expect(rendered).not.toMatch(/\s/);
  });

  it('keeps merges in call order, each pinned by its hash', () => {
    const json = new IgnitionConfig()
      .mergeConfig({ source: 'https://example.com/b.ign', hash: SHA512 })
      .mergeConfig({ source: 'https://example.com/a.ign', hash: SHA256 })
      .toJSON();
    expect(json.ignition.config).toEqual({
      merge: [
        { source: 'https://example.com/b.ign', verification: { hash: SHA512 } },
        { source: 'https://example.com/a.ign', verification: { hash: SHA256 } },
      ],
    });
  });

  it('renders a replace reference', () => {
    const json = new IgnitionConfig().replaceConfig({ source: 'https://example.com/full.ign', hash: SHA512 }).toJSON();
    expect(json.ignition.config).toEqual({ replace: { source: 'https://example.com/full.ign', verification: { hash: SHA512 } } });
  });

  it('pins remote file contents by their hash', () => {
    const file = new IgnitionConfig()
      .addFile({ path: '/opt/k.raw', contents: { source: 'https://example.com/k.raw', hash: SHA256 } })
      .toJSON().storage?.files?.[0];
    expect(file?.contents).toEqual({ source: 'https://example.com/k.raw', verification: { hash: SHA256 } });
  });

  it('adds another config\'s content as the same calls would, without its merges', () => {
    const publicSteps: Array<(c: IgnitionConfig) => void> = [
      (c) => c.addFile({ path: '/etc/b', contents: { text: 'b'.repeat(300) } }),
      (c) => c.addDirectory({ path: '/opt/keelson', mode: 0o700 }),
      (c) => c.addLink({ path: '/etc/c', target: '/etc/b' }),
      (c) => c.addUnit({ name: 'sshd.service', mask: true }),
      (c) => c.addDropin('containerd.service', { name: '20-b.conf', contents: '[Service]\nLimitNOFILE=1048576\n' }),
    ];
    const secretSteps: Array<(c: IgnitionConfig) => void> = [
      (c) => c.addFile({ path: '/etc/keelson/key.pem', mode: 0o600, user: 0, contents: { text: 'not a key' } }),
      (c) => c.addUnit({ name: 'containerd.service', enabled: true, dropins: [{ name: '10-a.conf', contents: '[Service]\nEnvironment=A=1\n' }] }),
    ];
    const publicPart = new IgnitionConfig();
    publicSteps.forEach((step) => step(publicPart));
    const secretPart = new IgnitionConfig();
    secretSteps.forEach((step) => step(secretPart));
    publicPart.mergeConfig({ source: 'https://example.com/secret.ign', hash: SHA512 });
    const direct = new IgnitionConfig();
    [...publicSteps, ...secretSteps].forEach((step) => step(direct));

    const combined = new IgnitionConfig().addContentOf(publicPart).addContentOf(secretPart);
    expect(combined.render()).toBe(direct.render());
    expect(combined.toJSON().ignition.config).toBeUndefined();
    // The sources are unchanged, and a conflict between them is refused as a direct call is.
    expect(secretPart.toJSON().storage?.files?.map((f) => f.path)).toEqual(['/etc/keelson/key.pem']);
    const clash = new IgnitionConfig().addFile({ path: '/etc/b', contents: { text: 'other' } });
    expect(() => clash.addContentOf(publicPart)).toThrow(/storage\.files\[\]\.path "\/etc\/b" is already used by storage\.files\[\]; add it once/);
    expect(() => new IgnitionConfig().addContentOf(secretPart).addContentOf(secretPart)).toThrow(/"\/etc\/keelson\/key\.pem" is already used/);
    expect(() => publicPart.addContentOf(publicPart)).toThrow(/cannot add its own content again/);
  });

  it('returns copies from toJSON, so changing them does not change the config', () => {
    const config = new IgnitionConfig().addFile({ path: '/etc/x', contents: { text: 'x' } });
    const before = config.render();
    const json = config.toJSON();
    (json.storage?.files?.[0] as { path: string }).path = '/etc/changed';
    (json.storage?.files?.[0]?.contents as { source: string }).source = 'data:,changed';
    expect(config.render()).toBe(before);
  });
});

describe('inline contents', () => {
  const contentsOf = (text: string) => new IgnitionConfig().addFile({ path: '/etc/x', contents: { text } }).toJSON().storage?.files?.[0]?.contents ?? {};

  it('stores short text as a readable percent-encoded data URL', () => {
    expect(contentsOf('node-1\n')).toEqual({ source: 'data:,node-1%0A' });
  });

  it('gzips and base64-encodes text when that is shorter, and the data URL round-trips', () => {
    const text = `${'[Service]\nEnvironment=KUBELET_EXTRA_ARGS=--node-ip=${COREOS_DIGITALOCEAN_IPV4_PRIVATE_0}\n'.repeat(40)}ünïcödé ✓\n`;
    const contents = contentsOf(text);
    expect(contents.compression).toBe('gzip');
    expect(contents.source).toMatch(/^data:;base64,H4sI/);
    expect((contents.source as string).length).toBeLessThan(text.length / 4);
    expect(decodeInlineContents(contents)?.toString('utf8')).toBe(text);
  });

  it('gzips byte-stably: a fixed header and the same bytes on every call', () => {
    const text = 'a'.repeat(5000);
    const first = contentsOf(text);
    expect(contentsOf(text)).toEqual(first);
    const gz = Buffer.from((first.source as string).replace('data:;base64,', ''), 'base64');
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  });

  it('round-trips text with every kind of character through the chosen encoding', () => {
    for (const text of ['', 'a b%20c#d?e&f=g+h/i;j,k\'l"m(n)o*p!q~r\n\t\r', '\u0000\u007f\u00e9\u4e2d\u{1f600}', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n']) {
      expect(decodeInlineContents(contentsOf(text))?.toString('utf8')).toBe(text);
    }
  });

  it('picks base64 without compression for short text that percent-encoding would blow up', () => {
    const contents = contentsOf('\u4e2d\u6587\u4e2d\u6587');
    expect(contents).toEqual({ source: `data:;base64,${Buffer.from('\u4e2d\u6587\u4e2d\u6587').toString('base64')}` });
  });

  it('picks the shortest of the three encodings, as if all three were built (ties: percent, base64, gzip), and above 64 KiB gzips at level 2', () => {
    const pct = (t: string) => `data:,${encodeURIComponent(t).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
    const b64 = (t: string) => `data:;base64,${Buffer.from(t).toString('base64')}`;
    const gz = (t: string) => `data:;base64,${gzip(Buffer.from(t), t.length > 64 * 1024 ? 2 : 9).toString('base64')}`;
    const big = readFileSync(join(__dirname, '..', 'scripts', 'kubeadm-bootstrap.sh'), 'utf8').repeat(8);
    expect(Buffer.byteLength(big)).toBeGreaterThan(64 * 1024);
    // A tie between percent and base64 (57 characters each): percent wins, though its count stops once it has lost.
    const tie = 'abc def ghi jkl mno pqr stu v w x';
    expect(pct(tie).length).toBe(b64(tie).length);
    expect(gz(tie).length).toBeGreaterThan(pct(tie).length);
    // Around the length below which gzip is not tried (it cannot win there): repetitive text gzip shrinks most.
    const short = Array.from({ length: 61 }, (_, n) => [' '.repeat(n), 'a'.repeat(n), 'ab\n'.repeat(n / 3)]).flat();
    for (const text of ['abc', 'A-Z_a.z~0', '\u4e2d\u6587', 'x'.repeat(300), '%%%%', '~'.repeat(10), big, 'a\n'.repeat(40_000), tie, `${tie} `, ...short]) {
      const candidates = [pct(text), b64(text), gz(text)];
      const shortest = candidates.reduce((best, c) => (c.length < best.length ? c : best));
      const contents = contentsOf(text);
      expect(contents.source).toBe(shortest);
      expect(decodeInlineContents(contents)?.toString('utf8')).toBe(text);
    }
  });

  it('encodes a repeated text the same each time (it is encoded once per process), as a fresh builder does', () => {
    const big = readFileSync(join(__dirname, '..', 'scripts', 'kubeadm-bootstrap.sh'), 'utf8').repeat(9);
    const fresh = (text: string) => {
      let source: { source?: string | null; compression?: string | null } = {};
      // A fresh copy of the builder: nothing encoded yet in it.
      jest.isolateModules(() => {
        const builder = jest.requireActual<typeof import('./builder')>('./builder');
        source = new builder.IgnitionConfig().addFile({ path: '/etc/big', contents: { text } }).toJSON().storage?.files?.[0]?.contents ?? {};
      });
      return source;
    };
    const first = contentsOf(big);
    expect(contentsOf(big)).toEqual(first);
    expect(first).toEqual(fresh(big));
    expect(first.compression).toBe('gzip');
    expect(decodeInlineContents(first)?.toString('utf8')).toBe(big);
  });

  it('decodes data URLs only: remote sources stay undefined', () => {
    expect(decodeInlineContents({ source: 'https://example.com/x' })).toBeUndefined();
    expect(decodeInlineContents({ source: 'data:text/plain;charset=utf-8,a%2Cb' })?.toString()).toBe('a,b');
  });
});

describe('size limit', () => {
  it('fails with the size, the limit and the fix when the config is larger', () => {
    const config = new IgnitionConfig();
    // Random-looking text does not compress, so the config really is this big.
    const noise = createHash('sha512');
    let text = '';
    for (let i = 0; text.length < 70_000; i++) text += noise.copy().update(String(i)).digest('base64');
    config.addFile({ path: '/etc/big', contents: { text } });
    const size = Buffer.byteLength(config.render());
    expect(() => config.render({ maxBytes: 64 * 1024 })).toThrow(IgnitionConfigError);
    expect(() => config.render({ maxBytes: 64 * 1024 })).toThrow(
      new RegExp(`is ${size} bytes, over the limit of 65536 bytes \\(64 KiB\\); move files and units into a second config fetched at first boot with mergeConfig`),
    );
    expect(config.render({ maxBytes: size })).toHaveLength(size);
  });
});

describe('ignitionHash', () => {
  it('hashes with sha512 by default and sha256 on request, in Ignition\'s format', () => {
    expect(ignitionHash('x')).toBe(`sha512-${createHash('sha512').update('x').digest('hex')}`);
    expect(ignitionHash(Buffer.from('x'), 'sha256')).toBe(`sha256-${createHash('sha256').update('x').digest('hex')}`);
  });
});

describe('IgnitionConfig errors', () => {
  const file = (props: Partial<FileProps>) => () => new IgnitionConfig().addFile({ path: '/etc/x', contents: { text: 'x' }, ...props } as FileProps);

  it('throws IgnitionConfigError', () => {
    expect(file({ path: 'etc/x' })).toThrow(IgnitionConfigError);
  });

  it('refuses relative paths and shows the absolute one', () => {
    expect(file({ path: 'etc/x' })).toThrow('storage.files[].path "etc/x" is relative; Ignition needs absolute paths such as "/etc/x"');
    expect(() => new IgnitionConfig().addDirectory({ path: 'opt/d' })).toThrow(/storage\.directories\[\]\.path "opt\/d" is relative/);
    expect(() => new IgnitionConfig().addLink({ path: 'l', target: '/x' })).toThrow(/storage\.links\[\]\.path "l" is relative/);
  });

  it('refuses paths that are not normalized', () => {
    expect(file({ path: '/etc//x/../y/' })).toThrow('storage.files[].path "/etc//x/../y/" is not normalized; write it as "/etc/y"');
    expect(file({ path: '' })).toThrow(/storage\.files\[\]\.path "" is empty/);
    expect(() => new IgnitionConfig().addDirectory({ path: '/' })).toThrow(/"\/" is the root directory/);
  });

  it('refuses a path used twice, within or across files, directories and links', () => {
    const config = new IgnitionConfig().addFile({ path: '/etc/x', contents: { text: 'x' } });
    expect(() => config.addFile({ path: '/etc/x', contents: { text: 'y' } })).toThrow('storage.files[].path "/etc/x" is already used by storage.files[]; add it once');
    expect(() => config.addDirectory({ path: '/etc/x' })).toThrow(
      'storage.directories[].path "/etc/x" is already used by storage.files[]; a path can be a file, a directory or a link, not two of them',
    );
    expect(() => config.addLink({ path: '/etc/x', target: '/y' })).toThrow(/storage\.links\[\]\.path "\/etc\/x" is already used by storage\.files\[\]/);
  });

  it('refuses entries under a file or a link', () => {
    const config = new IgnitionConfig().addFile({ path: '/etc/x', contents: { text: 'x' } }).addLink({ path: '/opt/l', target: '/opt/t' });
    expect(() => config.addFile({ path: '/etc/x/y', contents: { text: 'y' } })).toThrow(/"\/etc\/x\/y" lies under "\/etc\/x", which storage\.files\[\] makes a file/);
    expect(() => config.addDirectory({ path: '/opt/l/d' })).toThrow(/lies under "\/opt\/l", which storage\.links\[\] makes a link/);
    const parentLater = new IgnitionConfig().addDirectory({ path: '/srv/a/b' });
    expect(() => parentLater.addFile({ path: '/srv/a', contents: { text: 'x' } })).toThrow(/"\/srv\/a" would be a file, but storage\.directories\[\] "\/srv\/a\/b" needs it to be a directory/);
  });

  it('refuses modes outside 0..0o7777', () => {
    expect(file({ mode: 0o10000 })).toThrow('storage.files[].mode 4096 of "/etc/x" is outside 0..0o7777; write permission bits as an octal literal such as 0o644');
    expect(file({ mode: -1 })).toThrow(/mode -1 of "\/etc\/x" is outside 0\.\.0o7777/);
    expect(file({ mode: 1.5 })).toThrow(/mode 1\.5 of "\/etc\/x" is outside/);
    expect(() => new IgnitionConfig().addDirectory({ path: '/d', mode: 0o20000 })).toThrow(/storage\.directories\[\]\.mode 8192 of "\/d" is outside/);
  });

  it('refuses a decimal mode written where an octal one was meant', () => {
    expect(file({ mode: 644 })).toThrow('storage.files[].mode 644 of "/etc/x" is decimal 644 (0o1204), which sets special bits; you probably meant 0o644. Write modes as octal literals');
  });

  it('refuses remote contents without a hash or with a malformed one', () => {
    expect(file({ contents: { source: 'https://example.com/k.raw' } as never })).toThrow(
      'storage.files[].contents of "/etc/x" downloads "https://example.com/k.raw" without a hash; add hash: "sha512-<hex>" so Ignition refuses anything else',
    );
    expect(file({ contents: { source: 'https://example.com/k', hash: 'md5-abc' } })).toThrow(
      'storage.files[].contents.verification.hash "md5-abc" of "/etc/x" is not "sha256-<hex>" or "sha512-<hex>"; Ignition 3.3 supports only these two (see ignitionHash())',
    );
    expect(file({ contents: { source: 'https://example.com/k', hash: `sha256-${'A'.repeat(64)}` } })).toThrow(/needs exactly 64 lowercase hex digits after "sha256-"/);
    expect(file({ contents: { source: 'https://example.com/k', hash: `sha512-${'a'.repeat(64)}` } })).toThrow(/needs exactly 128 lowercase hex digits after "sha512-"/);
  });

  it('refuses remote contents that are not http(s) URLs, and contents that are both or neither', () => {
    expect(file({ contents: { source: 'ftp://example.com/k', hash: SHA256 } })).toThrow('storage.files[].contents.source of "/etc/x" "ftp://example.com/k" is not an http(s) URL; give a URL such as "https://bucket.example.com/node.ign"');
    expect(file({ contents: { text: 'x', source: 'https://example.com', hash: SHA256 } as never })).toThrow(/has both text and source/);
    expect(file({ contents: {} as never })).toThrow(/storage\.files\[\]\.contents of "\/etc\/x" is missing/);
    expect(file({ contents: { source: 'https://example.com/k', hash: SHA256, compression: 'xz' as never } })).toThrow(/compression "xz" of "\/etc\/x" is not supported/);
  });

  it('refuses bad owners', () => {
    expect(file({ user: -1 })).toThrow('storage.files[].user -1 of "/etc/x" is not a valid id; use a whole number >= 0 or a name');
    expect(file({ group: 'bad name' })).toThrow(/storage\.files\[\]\.group "bad name" of "\/etc\/x" is not a valid user or group name/);
  });

  it('refuses links without a target and hard links with a relative one', () => {
    expect(() => new IgnitionConfig().addLink({ path: '/l', target: '' })).toThrow('storage.links[].target of "/l" is empty; give the path the link points to, such as "/usr/bin/true"');
    expect(() => new IgnitionConfig().addLink({ path: '/l', target: 'x/y', hard: true })).toThrow(
      'storage.links[].target "x/y" of hard link "/l" is relative; a hard link needs an absolute target such as "/x/y"',
    );
  });

  it('refuses unit names systemd would not load', () => {
    const unit = (name: string) => () => new IgnitionConfig().addUnit({ name, contents: SERVICE });
    expect(unit('kubelet')).toThrow(
      'systemd.units[].name "kubelet" has no unit type suffix systemd knows; end it in one of .automount .device .mount .path .scope .service .slice .socket .swap .target .timer',
    );
    expect(unit('kubelet.conf')).toThrow(/"kubelet\.conf" has no unit type suffix systemd knows/);
    expect(unit('kube let.service')).toThrow('systemd.units[].name "kube let.service" contains " "; systemd unit names allow only ASCII letters, digits and ":-_.\\" (plus one "@" before a template instance); escape other characters with systemd-escape');
    expect(unit('.service')).toThrow(/has no unit type suffix/);
    expect(unit('@x.service')).toThrow(/has an empty name before the suffix/);
    expect(unit(`${'a'.repeat(250)}.service`)).toThrow(/is 258 characters long; systemd allows at most 255/);
    expect(unit('')).toThrow(/systemd\.units\[\]\.name "" is empty/);
    expect(() => new IgnitionConfig().addDropin('nope', { name: 'a.conf', contents: 'x' })).toThrow(/systemd\.units\[\]\.name "nope" has no unit type suffix/);
  });

  it('accepts template and instance names', () => {
    const json = new IgnitionConfig().addUnit({ name: 'getty@tty1.service', mask: true }).addUnit({ name: 'demo@.service', contents: SERVICE }).toJSON();
    expect(json.systemd?.units?.map((u) => u.name)).toEqual(['demo@.service', 'getty@tty1.service']);
  });

  it('refuses drop-ins that do not end in .conf', () => {
    expect(() => new IgnitionConfig().addDropin('kubelet.service', { name: '10-kubeadm', contents: '[Service]\n' })).toThrow(
      'systemd.units[].dropins[].name "10-kubeadm" of "kubelet.service" does not end in ".conf"; systemd ignores other drop-in files. Rename it, for example "10-kubeadm.conf"',
    );
    expect(() => new IgnitionConfig().addUnit({ name: 'a.service', dropins: [{ name: 'x/y.conf', contents: 'x' }] })).toThrow(/dropins\[\]\.name "x\/y\.conf" of "a\.service" contains "\/"/);
    expect(() => new IgnitionConfig().addDropin('a.service', { name: '10-x.conf', contents: ' ' })).toThrow('systemd.units[].dropins[].contents of "a.service/10-x.conf" is empty; give the drop-in\'s settings');
  });

  it('refuses a unit added twice and points to addDropin', () => {
    const config = new IgnitionConfig().addUnit({ name: 'kubelet.service', contents: SERVICE });
    expect(() => config.addUnit({ name: 'kubelet.service', enabled: true })).toThrow(
      'systemd.units[].name "kubelet.service" is added twice; add it once, and add further configuration with addDropin("kubelet.service", { name: "20-more.conf", contents })',
    );
  });

  it('merges drop-ins into the unit entry and refuses a drop-in name twice', () => {
    const config = new IgnitionConfig().addUnit({ name: 'kubelet.service', contents: SERVICE, dropins: [{ name: '10-a.conf', contents: '[Service]\nA=1\n' }] });
    config.addDropin('kubelet.service', { name: '20-b.conf', contents: '[Service]\nB=1\n' });
    expect(config.toJSON().systemd?.units?.[0]?.dropins?.map((d) => d.name)).toEqual(['10-a.conf', '20-b.conf']);
    expect(() => config.addDropin('kubelet.service', { name: '10-a.conf', contents: '[Service]\nC=1\n' })).toThrow(
      'systemd.units[].dropins[].name "10-a.conf" is added twice to "kubelet.service"; give each drop-in its own name, such as "20-a.conf"',
    );
  });

  it('refuses a masked unit with anything else', () => {
    const masked = { name: 'sshd.service', mask: true, contents: SERVICE } as unknown as UnitProps;
    expect(() => new IgnitionConfig().addUnit(masked)).toThrow(
      'systemd.units[] "sshd.service" is masked and also has contents, enabled or drop-ins; a masked unit never runs, so give it only { name, mask: true }',
    );
    const config = new IgnitionConfig().addUnit({ name: 'sshd.service', mask: true });
    expect(() => config.addDropin('sshd.service', { name: '10-x.conf', contents: '[Service]\n' })).toThrow(/"sshd\.service" is masked; a drop-in "10-x\.conf" would never apply/);
    const dropinFirst = new IgnitionConfig().addDropin('sshd.service', { name: '10-x.conf', contents: '[Service]\n' });
    expect(() => dropinFirst.addUnit({ name: 'sshd.service', mask: true })).toThrow(/is masked and also has contents, enabled or drop-ins/);
  });

  it('refuses empty unit contents', () => {
    expect(() => new IgnitionConfig().addUnit({ name: 'a.service', contents: '\n' })).toThrow('systemd.units[].contents of "a.service" is empty; give the unit file, or leave contents out to configure a unit the OS ships');
  });

  it('refuses an enabled unit without an [Install] section, unless a drop-in brings one', () => {
    const noInstall = '[Service]\nExecStart=/usr/bin/true\n';
    const config = new IgnitionConfig().addUnit({ name: 'a.service', contents: noInstall, enabled: true });
    expect(() => config.render()).toThrow(
      'systemd.units[] "a.service" is enabled but has no [Install] section; systemd presets enable nothing without one. Add "[Install]\\nWantedBy=multi-user.target" (or the target it belongs to)',
    );
    config.addDropin('a.service', { name: '10-install.conf', contents: '[Install]\nWantedBy=multi-user.target\n' });
    expect(config.toJSON().systemd?.units?.[0]?.enabled).toBe(true);
  });

  it('refuses a file, link or directory where Ignition writes a unit or drop-in, whatever the order of calls', () => {
    const fileFirst = new IgnitionConfig().addFile({ path: '/etc/systemd/system/kubelet.service', contents: { text: SERVICE } }).addUnit({ name: 'kubelet.service', contents: SERVICE });
    expect(() => fileFirst.render()).toThrow(
      'storage.files[].path "/etc/systemd/system/kubelet.service" is where Ignition writes systemd.units[] "kubelet.service"; configure the unit with addUnit/addDropin only, or move the file',
    );
    const masked = new IgnitionConfig().addUnit({ name: 'sshd.service', mask: true }).addLink({ path: '/etc/systemd/system/sshd.service', target: '/dev/null' });
    expect(() => masked.toJSON()).toThrow(/storage\.links\[\]\.path "\/etc\/systemd\/system\/sshd\.service" is where Ignition writes the mask of systemd\.units\[\] "sshd\.service"/);
    const dropin = new IgnitionConfig().addDropin('containerd.service', { name: '10-x.conf', contents: '[Service]\n' });
    expect(() => dropin.addFile({ path: '/etc/systemd/system/containerd.service.d', contents: { text: 'x' } }).render()).toThrow(/is where Ignition writes the drop-in directory of systemd\.units\[\] "containerd\.service"/);
    const dir = new IgnitionConfig().addDropin('containerd.service', { name: '10-x.conf', contents: '[Service]\n' }).addDirectory({ path: '/etc/systemd/system/containerd.service.d' });
    expect(dir.toJSON().storage?.directories).toHaveLength(1);
    const other = new IgnitionConfig().addFile({ path: '/etc/systemd/system/containerd.service.d/20-own.conf', contents: { text: '[Service]\n' } }).addDropin('containerd.service', { name: '10-x.conf', contents: '[Service]\n' });
    expect(other.toJSON().storage?.files).toHaveLength(1);
  });

  it('refuses config references without a hash, with a bad one, or not over http(s)', () => {
    expect(() => new IgnitionConfig().mergeConfig({ source: 'https://example.com/p.ign' } as never)).toThrow(
      'ignition.config.merge[] "https://example.com/p.ign" has no hash; add hash: ignitionHash(renderedConfig) so Ignition refuses any other config',
    );
    expect(() => new IgnitionConfig().replaceConfig({ source: 'https://example.com/p.ign', hash: 'sha1-abc' })).toThrow(/ignition\.config\.replace\.verification\.hash "sha1-abc" is not "sha256-<hex>" or "sha512-<hex>"/);
    expect(() => new IgnitionConfig().mergeConfig({ source: 'not a url', hash: SHA512 })).toThrow(/ignition\.config\.merge\[\]\.source "not a url" is not an http\(s\) URL/);
  });

  it('refuses merging the same config twice, two replaces, and merge with replace', () => {
    const merged = new IgnitionConfig().mergeConfig({ source: 'https://example.com/a.ign', hash: SHA512 });
    expect(() => merged.mergeConfig({ source: 'https://example.com/a.ign', hash: SHA512 })).toThrow('ignition.config.merge[].source "https://example.com/a.ign" is merged twice; merge each config once');
    expect(() => merged.replaceConfig({ source: 'https://example.com/b.ign', hash: SHA512 })).toThrow(
      'ignition.config.replace "https://example.com/b.ign" cannot be combined with ignition.config.merge "https://example.com/a.ign"; Ignition replaces the whole config, merges included. Use one of them',
    );
    const replaced = new IgnitionConfig().replaceConfig({ source: 'https://example.com/b.ign', hash: SHA512 });
    expect(() => replaced.replaceConfig({ source: 'https://example.com/c.ign', hash: SHA512 })).toThrow(/ignition\.config\.replace is already "https:\/\/example\.com\/b\.ign"/);
    expect(() => replaced.mergeConfig({ source: 'https://example.com/a.ign', hash: SHA512 })).toThrow(/ignition\.config\.merge "https:\/\/example\.com\/a\.ign" cannot be combined with ignition\.config\.replace/);
  });

  it('refuses data URLs it cannot decode', () => {
    expect(() => decodeInlineContents({ source: 'data:abc' })).toThrow(/is not a data: URL \(no comma\)/);
    expect(() => decodeInlineContents({ source: 'data:,x', compression: 'xz' })).toThrow(/contents\.compression "xz" is not supported by Ignition 3\.3/);
  });
});
