import { createHash, createHmac } from 'node:crypto';

/** What {@link presignS3Url} signs. */
export interface PresignS3UrlOptions {
  /** The object's URL, e.g. `https://keelson-ignition.fra1.digitaloceanspaces.com/keelson-controller-1.ign`. */
  readonly url: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Signing region: the Spaces region slug (`fra1`), or the AWS region. */
  readonly region: string;
  /** Seconds the link works for: 1 to 604800 (7 days, the SigV4 maximum). */
  readonly expiresSeconds: number;
  /**
   * The signing time; the link works from then for `expiresSeconds`.
   * @default new Date()
   */
  readonly now?: Date;
}

/** SigV4 caps presigned URLs at seven days. */
const MAX_EXPIRES_SECONDS = 7 * 24 * 3600;

/**
 * A presigned `GET` URL for an object in S3 or DigitalOcean Spaces (AWS
 * Signature Version 4, query-string form, unsigned payload, only the `host`
 * header signed), so a node can fetch its private Ignition secret part once,
 * without credentials, until the link expires.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 * @see https://docs.digitalocean.com/products/spaces/reference/s3-compatibility/
 */
export function presignS3Url(options: PresignS3UrlOptions): string {
  const { accessKeyId, secretAccessKey, region, expiresSeconds } = options;
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > MAX_EXPIRES_SECONDS) {
    throw new Error(`presignS3Url: expiresSeconds is ${expiresSeconds}; use a whole number from 1 to ${MAX_EXPIRES_SECONDS} (7 days, the SigV4 limit)`);
  }
  if (!accessKeyId || !secretAccessKey) throw new Error('presignS3Url: accessKeyId and secretAccessKey are required; pass the Spaces access key pair');
  if (!/^[a-z0-9-]+$/.test(region)) throw new Error(`presignS3Url: region ${JSON.stringify(region)} is not a region slug such as "fra1" or "us-east-1"`);
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new Error(`presignS3Url: ${JSON.stringify(options.url)} is not a URL; pass the object's https:// URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`presignS3Url: ${url.protocol} URLs cannot be presigned; use https://`);

  const now = options.now ?? new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // 20130524T000000Z
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;

  const query: [string, string][] = [...url.searchParams.entries()];
  query.push(
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expiresSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  );
  const canonicalQuery = query
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  // S3 keys are signed as-is: each segment encoded once, slashes kept.
  const canonicalPath = url.pathname
    .split('/')
    .map((segment) => encode(decodeURIComponent(segment)))
    .join('/');
  const canonicalRequest = ['GET', canonicalPath, canonicalQuery, `host:${url.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');

  let key: Buffer = hmac(`AWS4${secretAccessKey}`, day);
  for (const part of [region, 's3', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');

  return `${url.protocol}//${url.host}${canonicalPath}?${canonicalQuery}&X-Amz-Signature=${signature}`;
}

/** RFC 3986 percent-encoding, as SigV4 wants it: only unreserved characters stay. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
