/** The `n`-th address of an IPv4 range (`10.96.0.0/16`, 10 -> `10.96.0.10`), as kubeadm picks the DNS Service address. */
export function nthAddress(cidr: string, n: number): string {
  const [base, bitsText] = cidr.split('/');
  const octets = base.split('.').map(Number);
  const bits = Number(bitsText);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new Error(`nthAddress: "${cidr}" is not an IPv4 range such as 10.96.0.0/16`);
  }
  const size = 2 ** (32 - bits);
  if (n < 0 || n >= size) throw new Error(`nthAddress: address ${n} is outside ${cidr} (${size} addresses)`);
  const value = ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256 + octets[3] + n;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
