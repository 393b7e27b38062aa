import type { ObjectBucket, ObjectStoreCredentials } from '@keelson/platform-spec';
import { presignS3Url } from '../presign';

/** How long a link to a backup object works: 7 days, the SigV4 maximum (as the secret-part links). */
export const BACKUP_LINK_SECONDS = 7 * 24 * 3600;

/** S3 keys are at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

/**
 * The virtual-hosted URL of `key` in `bucket` (`https://<bucket>.<endpoint
 * host>/<key>`, each segment percent-encoded), presigned for
 * {@link BACKUP_LINK_SECONDS} from `signing.now` when credentials are given.
 * Both clouds use it, so a key means the same object on either. `who` names
 * the caller in error messages.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
 */
export function backupObjectUrl(who: string, bucket: ObjectBucket, key: string, signing?: { readonly credentials: ObjectStoreCredentials; readonly now: Date }): string {
  const example = 'e.g. "etcd/20261125T081500Z.db"';
  if (key === '') throw new Error(`${who}: the object key is empty; pass the key of an object in the backups bucket, ${example}`);
  if (key.startsWith('/')) throw new Error(`${who}: object key ${JSON.stringify(key)} starts with "/"; keys are relative to the bucket: use ${JSON.stringify(key.replace(/^\/+/, ''))}`);
  if (key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new Error(`${who}: object key ${JSON.stringify(key)} has an empty, "." or ".." segment; pass the key exactly as the bucket lists it, ${example}`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new Error(`${who}: object key ${JSON.stringify(key)} holds a control character; pass the key exactly as the bucket lists it, ${example}`);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new Error(`${who}: object key is ${Buffer.byteLength(key)} bytes long; S3 keys are at most ${MAX_KEY_BYTES} bytes, ${example}`);
  const path = key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
  const url = `https://${bucket.bucket}.${new URL(bucket.endpoint).host}/${path}`;
  if (!signing) return url;
  return presignS3Url({
    url,
    accessKeyId: signing.credentials.accessKeyId,
    secretAccessKey: signing.credentials.secretAccessKey,
    region: bucket.region,
    expiresSeconds: BACKUP_LINK_SECONDS,
    now: signing.now,
  });
}
