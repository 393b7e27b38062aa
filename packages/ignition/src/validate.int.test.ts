import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ignitionHash, IgnitionConfig } from './builder';
import { runIgnitionValidate } from './testing';
import { findLoginCredentials, validateIgnitionConfig } from './validate';

const SERVICE = '[Unit]\nDescription=demo\n[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n';

/** A config with every kind of entry the builder makes. */
function fullConfig(): IgnitionConfig {
  return new IgnitionConfig()
    .addFile({ path: '/etc/kubernetes/pki/ca.key', mode: 0o600, user: 0, group: 0, contents: { text: 'not a real key\n' } })
    .addFile({ path: '/etc/big.conf', contents: { text: 'line of text\n'.repeat(200) } })
    .addFile({ path: '/opt/k.raw', contents: { source: 'https://example.com/k.raw', hash: ignitionHash('k', 'sha256') } })
    .addDirectory({ path: '/var/lib/keelson', mode: 0o700 })
    .addLink({ path: '/etc/extensions/kubernetes.raw', target: '/opt/k.raw' })
    .addUnit({ name: 'keelson.service', contents: SERVICE, enabled: true, dropins: [{ name: '10-env.conf', contents: '[Service]\nEnvironment=A=1\n' }] })
    .addUnit({ name: 'sshd.service', mask: true })
    .addDropin('containerd.service', { name: '10-limits.conf', contents: '[Service]\nLimitNOFILE=1048576\n' })
    .mergeConfig({ source: 'https://example.com/secret.ign', hash: ignitionHash('{}') });
}

const clone = (config: IgnitionConfig): any => JSON.parse(config.render());

describe('validateIgnitionConfig and the real ignition-validate', () => {
  it('accept a config the builder made', () => {
    const config = fullConfig();
    expect(validateIgnitionConfig(config.toJSON())).toEqual([]);
    expect(validateIgnitionConfig(config.render())).toEqual([]);
    const real = runIgnitionValidate(config.render());
    expect(real).toMatchObject({ ok: true, exitCode: 0, warnings: [], errors: [] });
  });

  it('both flag an unknown key (Ignition itself only warns and ignores it)', () => {
    const config = clone(fullConfig());
    config.storage.files[0].modee = 384;
    config.systemd.unitz = [];
    expect(validateIgnitionConfig(config)).toEqual([
      expect.stringMatching(/^storage\.files\[0\]\.modee: unknown key "modee"; Ignition ignores it with only a warning\. Known keys here: append, contents, group, mode, overwrite, path, user$/),
      expect.stringMatching(/^systemd\.unitz: unknown key "unitz"/),
    ]);
    const real = runIgnitionValidate(config);
    expect(real.ok).toBe(false);
    expect(real.exitCode).toBe(0);
    expect(real.warnings).toEqual([expect.stringMatching(/^warning at \$\.storage\.files\.0\.modee.*Unused key modee$/), expect.stringMatching(/Unused key unitz$/)]);
  });

  it('both reject a version other than 3.3.0', () => {
    for (const version of ['3.4.0', '3.3', undefined]) {
      const config = clone(fullConfig());
      config.ignition.version = version;
      expect(validateIgnitionConfig(config)).toContainEqual(expect.stringMatching(/^ignition\.version: (is "3\.4\.0"|is "3\.3"|is missing); this package writes and checks spec "3\.3\.0"/));
      const real = runIgnitionValidate(config);
      expect(real.ok).toBe(false);
      expect(real.exitCode).toBe(1);
    }
  });

  it('both reject a relative path', () => {
    const config = clone(fullConfig());
    config.storage.directories[0].path = 'var/lib/keelson';
    expect(validateIgnitionConfig(config)).toEqual([
      'storage.directories[0].path: "var/lib/keelson" is relative; Ignition needs absolute paths such as "/var/lib/keelson"',
    ]);
    const real = runIgnitionValidate(config);
    expect(real.errors).toEqual([expect.stringMatching(/error at \$\.storage\.directories\.0\.path.*path not absolute/)]);
  });

  it('both reject a wrong type, with the field named', () => {
    const config = clone(fullConfig());
    config.storage.files[0].mode = '0644';
    expect(validateIgnitionConfig(config)).toEqual([expect.stringMatching(/^storage\.files\[0\]\.mode: must be integer,null \(schema /)]);
    expect(runIgnitionValidate(config)).toMatchObject({ ok: false, exitCode: 1 });
  });

  it('both reject a unit name without a systemd suffix', () => {
    const config = clone(fullConfig());
    config.systemd.units[0].name = 'containerd';
    expect(validateIgnitionConfig(config)).toEqual([expect.stringMatching(/^systemd\.units\[0\]\.name: "containerd" has no unit type suffix systemd knows/)]);
    expect(runIgnitionValidate(config).errors).toEqual([expect.stringMatching(/invalid systemd unit extension/)]);
  });

  it('reports duplicates, bad drop-in names, hashes and modes that the schema lets through', () => {
    const config = clone(fullConfig());
    config.storage.files.push({ path: '/etc/big.conf', mode: 70000, contents: { source: 'https://example.com/x', verification: { hash: 'sha1-00' } } });
    config.systemd.units.push({ name: 'sshd.service', mask: true });
    config.systemd.units[0].dropins[0].name = '10-limits';
    expect(validateIgnitionConfig(config)).toEqual([
      'storage.files[3].path: "/etc/big.conf" is also storage.files[0]; each path may appear once',
      'storage.files[3].mode: 70000 is outside 0..4095 (0o7777); Ignition wants the permission bits as a decimal integer, such as 420 for 0o644',
      expect.stringMatching(/^systemd\.units\[0\]\.dropins\[0\]\.name: "10-limits" does not end in "\.conf"/),
      'systemd.units[3].name: "sshd.service" is also systemd.units[2]; list each unit once and put its drop-ins together',
      expect.stringMatching(/^storage\.files\[3\]\.contents\.verification\.hash: "sha1-00" is not "sha256-<hex>" or "sha512-<hex>"/),
    ]);
  });

  it('reports a file where Ignition writes a unit, which the real ignition-validate 2.14 lets through', () => {
    const config = clone(fullConfig());
    config.storage.files.push({ path: '/etc/systemd/system/keelson.service', contents: { source: 'data:,x' } });
    expect(validateIgnitionConfig(config)).toEqual([
      'storage.files[3].path: "/etc/systemd/system/keelson.service" is where Ignition writes systemd.units[] "keelson.service"; one of them would silently lose',
    ]);
    expect(runIgnitionValidate(config).ok).toBe(true);
  });

  it('rejects documents that are not a config', () => {
    expect(validateIgnitionConfig('{')).toEqual([expect.stringMatching(/^config: not JSON \(.*\); Ignition reads a JSON document$/)]);
    expect(validateIgnitionConfig([])).toEqual(['config: expected a JSON object with an "ignition" section; got an array']);
    expect(validateIgnitionConfig({})).toContain('config: required field "ignition" is missing');
    expect(runIgnitionValidate('{').ok).toBe(false);
  });
});

describe('findLoginCredentials', () => {
  it('finds nothing in a config the builder made', () => {
    expect(findLoginCredentials(fullConfig().render())).toEqual([]);
  });

  it('finds passwords, SSH keys and authorized_keys files', () => {
    const config = clone(fullConfig());
    config.passwd = { users: [{ name: 'core', passwordHash: '$6$x', sshAuthorizedKeys: ['ssh-ed25519 AAAA'] }] };
    config.storage.files.push({ path: '/home/core/.ssh/authorized_keys.d/ignition', contents: { source: 'data:,x' } });
    config.storage.links.push({ path: '/root/.ssh/authorized_keys', target: '/tmp/k' });
    expect(findLoginCredentials(config)).toEqual([
      'passwd.users[0].passwordHash: sets a password for "core"',
      'passwd.users[0].sshAuthorizedKeys: authorizes 1 SSH key(s) for "core"',
      'storage.files[3].path: writes SSH keys to "/home/core/.ssh/authorized_keys.d/ignition"',
      'storage.links[1].path: writes SSH keys to "/root/.ssh/authorized_keys"',
    ]);
  });
});

describe('generated files', () => {
  it('types were generated from exactly the committed schema', () => {
    const dir = join(__dirname, 'generated');
    const schema = readFileSync(join(dir, 'ignition-v3_3.schema.json'));
    const types = readFileSync(join(dir, 'ignition-v3_3.ts'), 'utf8');
    const sha256 = createHash('sha256').update(schema).digest('hex');
    expect(types).toContain(`Source: shared/schemas/ignition/ignition-v3_3.schema.json (sha256 ${sha256})`);
    expect(JSON.parse(schema.toString('utf8'))).toMatchObject({ $schema: 'http://json-schema.org/draft-04/schema#', title: 'ignition' });
  });
});
