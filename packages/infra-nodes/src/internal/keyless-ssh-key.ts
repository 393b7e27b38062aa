import { createHash, createPublicKey } from 'node:crypto';

/**
 * An SSH public key nobody holds the private half of.
 *
 * DigitalOcean refuses a droplet from a custom image without an SSH key, and
 * Keelson's nodes take no key (sshd is masked, port 22 is closed). So each
 * cluster gets an Ed25519 public key that is a point *hashed* onto the curve
 * from the cluster's name: a valid key whose discrete logarithm (the private
 * key) nobody knows, not even Keelson, because no key pair was ever generated.
 * Unlike a key pair generated at synth and thrown away, it is the same on
 * every synth (a changed key would replace every droplet: `ssh_keys` forces a
 * new droplet) and needs nothing stored; unlike a key derived from a cluster
 * secret, nobody can re-derive a private half from the secrets bundle.
 * Anyone can check it: {@link isKeylessSshPublicKey} recomputes the point from
 * the label in the key's comment.
 *
 * The point is found by try-and-increment (SHA-512 of a domain string, the
 * label and a counter, read as a y-coordinate until one lies on the curve),
 * then multiplied by the cofactor 8 so it lies in the prime-order subgroup,
 * like every honestly generated Ed25519 public key.
 *
 * @see https://docs.digitalocean.com/products/custom-images/details/limits/ ("You must add an SSH key when creating Droplets from a custom image")
 * @see https://www.rfc-editor.org/rfc/rfc8032#section-5.1.3 (decoding a point)
 * @see https://www.rfc-editor.org/rfc/rfc9380#section-7 (clearing the cofactor; try-and-increment is the simple variant)
 * @see https://www.rfc-editor.org/rfc/rfc8709#section-4 (the ssh-ed25519 public key format)
 */

const P = 2n ** 255n - 19n;
const mod = (a: bigint): bigint => ((a % P) + P) % P;
function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}
const inv = (a: bigint): bigint => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);
/** The order of the prime-order subgroup. */
export const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

type Point = readonly [x: bigint, y: bigint];
const IDENTITY: Point = [0n, 1n];

/** Affine addition on -x^2 + y^2 = 1 + d x^2 y^2 (complete for this curve). */
export function addPoints([x1, y1]: Point, [x2, y2]: Point): Point {
  const t = mod(D * x1 * x2 * y1 * y2);
  return [mod((x1 * y2 + y1 * x2) * inv(1n + t)), mod((y1 * y2 + x1 * x2) * inv(1n - t))];
}

export function multiplyPoint(point: Point, scalar: bigint): Point {
  let result = IDENTITY;
  let addend = point;
  for (let k = scalar; k > 0n; k >>= 1n) {
    if (k & 1n) result = addPoints(result, addend);
    addend = addPoints(addend, addend);
  }
  return result;
}

/** The point with this y and an even x, or undefined when y is not on the curve. */
function decodeY(y: bigint): Point | undefined {
  if (y >= P) return undefined;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  const x2 = mod(u * inv(v));
  let x = pow(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1);
  if (mod(x * x - x2) !== 0n) return undefined;
  return [x & 1n ? P - x : x, y];
}

/** RFC 8032 encoding: y little-endian, the sign of x in the top bit. */
export function encodePoint([x, y]: Point): Buffer {
  const bytes = Buffer.alloc(32);
  let v = y;
  for (let i = 0; i < 32; i++) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (x & 1n) bytes[31] |= 0x80;
  return bytes;
}

/** RFC 8032 decoding, for checks. */
export function decodePoint(bytes: Buffer): Point | undefined {
  if (bytes.length !== 32) return undefined;
  const copy = Buffer.from(bytes);
  const sign = copy[31] >> 7;
  copy[31] &= 0x7f;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(copy[i]);
  const point = decodeY(y);
  if (!point) return undefined;
  return (point[0] & 1n) === BigInt(sign) ? point : [mod(-point[0]), y];
}

const DOMAIN = 'keelson keyless ssh-ed25519 v1';
const COMMENT_PREFIX = 'keelson-no-private-key:';

/** The raw 32-byte public key hashed onto the curve from `label`. */
export function keylessEd25519Key(label: string): Buffer {
  for (let counter = 0; counter < 1000; counter++) {
    const digest = createHash('sha512').update(`${DOMAIN}\0${label}\0${counter}`).digest();
    let y = 0n;
    for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(digest[i]);
    const point = decodeY(y & ((1n << 255n) - 1n));
    if (!point) continue;
    const cleared = multiplyPoint(point, 8n);
    if (cleared[0] === 0n) continue; // a small-order point: try the next
    const raw = encodePoint(cleared);
    // node:crypto takes it as an Ed25519 public key, as ssh-keygen would.
    createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    return raw;
  }
  throw new Error(`keylessEd25519Key: no curve point found for ${JSON.stringify(label)}`);
}

/** The OpenSSH wire blob of an ssh-ed25519 key: string "ssh-ed25519", string key. */
function wireBlob(raw: Buffer): Buffer {
  const type = Buffer.from('ssh-ed25519');
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  return Buffer.concat([u32(type.length), type, u32(raw.length), raw]);
}

/**
 * `ssh-ed25519 AAAA... keelson-no-private-key:<label>`: the keyless public
 * key of `label` (the cluster name), in OpenSSH `authorized_keys` format.
 */
export function keylessSshPublicKey(label: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(label)) throw new Error(`keylessSshPublicKey: label ${JSON.stringify(label)} must be a DNS label (the cluster name)`);
  return `ssh-ed25519 ${wireBlob(keylessEd25519Key(label)).toString('base64')} ${COMMENT_PREFIX}${label}`;
}

/**
 * Whether `publicKey` is a keyless key: its comment names a label, and the
 * key is exactly the point hashed from that label, so no private half exists
 * anywhere. Any other key (a real one, or a keyless comment on a real key) is not.
 */
export function isKeylessSshPublicKey(publicKey: string): boolean {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/=]+) keelson-no-private-key:([a-z0-9][a-z0-9-]*)$/.exec(publicKey.trim());
  if (!m) return false;
  try {
    return keylessSshPublicKey(m[2]) === publicKey.trim();
  } catch {
    return false;
  }
}
