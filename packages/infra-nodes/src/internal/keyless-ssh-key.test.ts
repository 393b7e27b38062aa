import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { decodePoint, ED25519_L, isKeylessSshPublicKey, keylessEd25519Key, keylessSshPublicKey, multiplyPoint } from './keyless-ssh-key';

describe('keyless SSH public keys', () => {
  const key = keylessSshPublicKey('keelson');

  it('is the same for a cluster on every call, and differs between clusters', () => {
    expect(keylessSshPublicKey('keelson')).toBe(key);
    expect(keylessSshPublicKey('other')).not.toBe(key);
    expect(key).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} keelson-no-private-key:keelson$/);
  });

  it('is a point of the prime-order subgroup, as a generated Ed25519 public key is', () => {
    const point = decodePoint(keylessEd25519Key('keelson'));
    expect(point).toBeDefined();
    expect(multiplyPoint(point!, ED25519_L)).toEqual([0n, 1n]);
    expect(multiplyPoint(point!, 8n)).not.toEqual([0n, 1n]);
    // The same check on a key node:crypto generated, so the arithmetic is right.
    const real = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
    expect(multiplyPoint(decodePoint(real)!, ED25519_L)).toEqual([0n, 1n]);
    expect(createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: keylessEd25519Key('keelson').toString('base64url') }, format: 'jwk' }).asymmetricKeyType).toBe('ed25519');
  });

  it('tells a keyless key from a real one, even one with a keyless comment', () => {
    expect(isKeylessSshPublicKey(key)).toBe(true);
    const real = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.from(real, 'base64url')]).toString('base64');
    expect(isKeylessSshPublicKey(`ssh-ed25519 ${blob} keelson-no-private-key:keelson`)).toBe(false);
    expect(isKeylessSshPublicKey(key.replace(':keelson', ':other'))).toBe(false);
    expect(isKeylessSshPublicKey('ssh-rsa AAAA keelson-no-private-key:keelson')).toBe(false);
  });

  it('refuses a label that is not a cluster name', () => {
    expect(() => keylessSshPublicKey('Bad Name')).toThrow(/must be a DNS label/);
  });
});
