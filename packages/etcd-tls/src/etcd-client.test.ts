import { EtcdClient, hexToDecimal, prefixEnd } from './etcd-client';

// Real etcd, three members with client and peer mTLS. Short Raft timers keep
// the file fast; nothing here depends on them.
jest.setTimeout(120_000);

describe('EtcdClient options', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it('fails without endpoints', () => {
    expect(() => new EtcdClient({ endpoints: [], ca: pem, cert: pem, key: pem })).toThrow(/endpoints is empty/);
  });

  it('fails on a plaintext endpoint', () => {
    expect(() => new EtcdClient({ endpoints: ['http://127.0.0.1:2379'], ca: pem, cert: pem, key: pem })).toThrow(/"http:\/\/127.0.0.1:2379" is not https/);
  });

  it('fails on an endpoint that is not a URL or has a path', () => {
    expect(() => new EtcdClient({ endpoints: ['127.0.0.1:2379'], ca: pem, cert: pem, key: pem })).toThrow(/is not a URL|is not https/);
    expect(() => new EtcdClient({ endpoints: ['https://127.0.0.1:2379/v3'], ca: pem, cert: pem, key: pem })).toThrow(/has a path/);
  });

  it('fails when given a file path instead of PEM', () => {
    expect(() => new EtcdClient({ endpoints: ['https://127.0.0.1:2379'], ca: '/etc/etcd/ca.crt', cert: pem, key: pem })).toThrow(/ca is not PEM/);
  });

  it('fails on a non-positive request timeout', () => {
    expect(() => new EtcdClient({ endpoints: ['https://127.0.0.1:2379'], ca: pem, cert: pem, key: pem, requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs must be > 0/);
  });

  it('computes the range end of a prefix', () => {
    expect(prefixEnd('/a/')).toEqual(Buffer.from('/a0'));
    expect(prefixEnd('a')).toEqual(Buffer.from('b'));
    expect(prefixEnd('')).toEqual(Buffer.from([0]));
  });

  it('refuses a member ID that is not hex', () => {
    expect(hexToDecimal('ff')).toBe('255');
    expect(() => hexToDecimal('etcd-1')).toThrow(/member ID "etcd-1" is not hex/);
  });
});
