import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keylessSshPublicKey } from './keyless-ssh-key';

describe('keyless SSH public keys', () => {
  const key = keylessSshPublicKey('keelson');

  it('is read by ssh-keygen (OpenSSH) as an ED25519 public key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyless-'));
    try {
      writeFileSync(join(dir, 'key.pub'), `${key}\n`);
      expect(execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'key.pub')], { encoding: 'utf8' })).toMatch(/^256 SHA256:\S+ keelson-no-private-key:keelson \(ED25519\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

});
