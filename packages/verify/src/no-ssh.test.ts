import { generateKeyPairSync } from 'node:crypto';
import { keylessSshPublicKey } from '@keelson/infra-nodes/security-assertions';
import { checkNoSsh } from './no-ssh';
import { fixtureNodes } from './test-fixtures';

/** A DigitalOcean document as synth renders it: the keyless key, two droplets that list it, a firewall without 22. */
const rendered = (publicKey = keylessSshPublicKey('keelson'), sshKeys: unknown = ['${digitalocean_ssh_key.no-login.fingerprint}']) => ({
  resource: {
    digitalocean_ssh_key: { 'no-login': { name: 'keelson-no-private-key', public_key: publicKey } },
    digitalocean_droplet: { c1: { name: 'c1', ssh_keys: sshKeys }, c2: { name: 'c2', ssh_keys: sshKeys } },
    digitalocean_firewall: { nodes: { name: 'nodes', inbound_rule: [{ protocol: 'tcp', port_range: '6443', source_addresses: ['0.0.0.0/0'] }] } },
  },
});

/** `ssh-ed25519 <blob> <comment>` of a key node:crypto generated: one whose private half exists. */
function realKey(comment: string): string {
  const raw = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), raw]).toString('base64');
  return `ssh-ed25519 ${blob} ${comment}`;
}

describe('the no-SSH audit with the SSH key DigitalOcean requires', () => {
  it('passes the keyless key on every droplet and says so: key present, private half nonexistent, sshd masked, port 22 closed', () => {
    const { check } = checkNoSsh(fixtureNodes(2, 0), rendered(), 'infra-out/main.tf.json');
    expect(check.findings).toEqual([]);
    expect(check.summary).toMatch(
      /^SSH key present as the cloud requires \(digitalocean_ssh_key\.no-login on 2 servers\), private half nonexistent \(a point hashed from the cluster name, recomputed here\); sshd masked and no login on 2 node configs; port 22 closed in 1 inbound firewall rules;/,
    );
  });

  it('fails a key whose private half exists, even under the keyless comment', () => {
    const { check } = checkNoSsh(fixtureNodes(2, 0), rendered(realKey('keelson-no-private-key:keelson')), 'infra-out/main.tf.json');
    expect(check.findings.map((f) => f.message)).toEqual([
      'digitalocean_ssh_key.no-login declares an SSH key; nodes take no keys: remove it',
      'digitalocean_droplet.c1 sets ssh_keys = ["${digitalocean_ssh_key.no-login.fingerprint}"]; remove it (no SSH, ever)',
      'digitalocean_droplet.c2 sets ssh_keys = ["${digitalocean_ssh_key.no-login.fingerprint}"]; remove it (no SSH, ever)',
    ]);
  });

  it('fails a droplet that lists another key beside the keyless one', () => {
    const { check } = checkNoSsh(fixtureNodes(2, 0), rendered(undefined, ['${digitalocean_ssh_key.no-login.fingerprint}', '12:34']), 'infra-out/main.tf.json');
    expect(check.findings.map((f) => f.message)).toContainEqual('digitalocean_droplet.c1 sets ssh_keys = ["${digitalocean_ssh_key.no-login.fingerprint}","12:34"]; remove it (no SSH, ever)');
  });

  it('says "no SSH key" where the cloud needs none (Hetzner)', () => {
    const { check } = checkNoSsh(fixtureNodes(2, 0), { resource: { hcloud_server: { c1: { name: 'c1' } } } }, 'infra-out/main.tf.json');
    expect(check.findings).toEqual([]);
    expect(check.summary).toMatch(/^no SSH key; sshd masked and no login on 2 node configs; port 22 closed in 0 inbound firewall rules;/);
  });
});
