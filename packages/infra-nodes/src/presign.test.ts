import { presignS3Url } from './presign';

// AWS's worked example for query-string authentication (GET test.txt, valid for 24 hours).
// @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
const AWS_EXAMPLE = {
  url: 'https://examplebucket.s3.amazonaws.com/test.txt',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  expiresSeconds: 86400,
  now: new Date('2013-05-24T00:00:00Z'),
};

describe('presignS3Url', () => {
  it('reproduces the signature of AWS’s documented presigned-URL example', () => {
    expect(presignS3Url(AWS_EXAMPLE)).toBe(
      'https://examplebucket.s3.amazonaws.com/test.txt' +
        '?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20130524T000000Z' +
        '&X-Amz-Expires=86400' +
        '&X-Amz-SignedHeaders=host' +
        '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });

  it('signs a Spaces object with the Spaces region in the credential scope', () => {
    const url = presignS3Url({ ...AWS_EXAMPLE, url: 'https://keelson-ignition.fra1.digitaloceanspaces.com/keelson-controller-1.ign', region: 'fra1', expiresSeconds: 3600 });
    const parsed = new URL(url);
    expect(parsed.host).toBe('keelson-ignition.fra1.digitaloceanspaces.com');
    expect(parsed.pathname).toBe('/keelson-controller-1.ign');
    expect(parsed.searchParams.get('X-Amz-Credential')).toBe('AKIAIOSFODNN7EXAMPLE/20130524/fra1/s3/aws4_request');
    expect(parsed.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(parsed.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('never puts the secret key in the URL', () => {
    const url = presignS3Url(AWS_EXAMPLE);
    expect(url).not.toContain(AWS_EXAMPLE.secretAccessKey);
    expect(url).not.toContain(encodeURIComponent(AWS_EXAMPLE.secretAccessKey));
  });

  it('encodes keys once, the SigV4 way, keeping slashes', () => {
    const url = presignS3Url({ ...AWS_EXAMPLE, url: 'https://examplebucket.s3.amazonaws.com/a dir/it’s (1).ign' });
    expect(new URL(url).pathname).toBe('/a%20dir/it%E2%80%99s%20%281%29.ign');
    const again = presignS3Url({ ...AWS_EXAMPLE, url: 'https://examplebucket.s3.amazonaws.com/a%20dir/it%E2%80%99s%20(1).ign' });
    expect(again).toBe(url);
  });

  it('changes the signature with the time, the expiry and the key', () => {
    const base = presignS3Url(AWS_EXAMPLE);
    const sig = (u: string) => new URL(u).searchParams.get('X-Amz-Signature');
    expect(sig(presignS3Url({ ...AWS_EXAMPLE, now: new Date('2013-05-24T00:00:01Z') }))).not.toBe(sig(base));
    expect(sig(presignS3Url({ ...AWS_EXAMPLE, expiresSeconds: 86399 }))).not.toBe(sig(base));
    expect(sig(presignS3Url({ ...AWS_EXAMPLE, url: 'https://examplebucket.s3.amazonaws.com/test2.txt' }))).not.toBe(sig(base));
  });

  it('refuses expiries outside 1 s to 7 days', () => {
    expect(() => presignS3Url({ ...AWS_EXAMPLE, expiresSeconds: 0 })).toThrow(/expiresSeconds is 0; use a whole number from 1 to 604800/);
    expect(() => presignS3Url({ ...AWS_EXAMPLE, expiresSeconds: 604801 })).toThrow(/7 days, the SigV4 limit/);
    expect(() => presignS3Url({ ...AWS_EXAMPLE, expiresSeconds: 1.5 })).toThrow(/expiresSeconds is 1.5/);
  });

  it('refuses a missing key pair, a bad region and a non-URL', () => {
    expect(() => presignS3Url({ ...AWS_EXAMPLE, secretAccessKey: '' })).toThrow(/accessKeyId and secretAccessKey are required/);
    expect(() => presignS3Url({ ...AWS_EXAMPLE, region: 'FRA 1' })).toThrow(/is not a region slug/);
    expect(() => presignS3Url({ ...AWS_EXAMPLE, url: 'examplebucket/test.txt' })).toThrow(/is not a URL/);
    expect(() => presignS3Url({ ...AWS_EXAMPLE, url: 'ftp://examplebucket/test.txt' })).toThrow(/ftp: URLs cannot be presigned/);
  });
});
