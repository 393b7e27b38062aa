import type { PlatformSpec } from '@keelson/platform-spec';

/** What a bucket holds: Velero's and etcd's backups, or each node's secret Ignition part. */
export type BucketPurpose = 'backups' | 'ignition';

/** Longest bucket name DigitalOcean Spaces and Hetzner Object Storage accept. */
export const MAX_BUCKET_NAME_LENGTH = 63;

/** 3-63 lower-case letters, digits and dashes, starting and ending with a letter or digit. */
const BUCKET_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * The cluster's bucket for `purpose`: `<cluster.name>-<cluster.id>-<purpose>`.
 *
 * Bucket names are global on both clouds (across every customer), so the
 * name carries the cluster's random `cluster.id`: two users' `example`
 * clusters do not collide, and nobody can create the bucket first from a
 * name they can predict. The id lives in the config, not in the secrets
 * bundle, because the backups bucket's name is rendered into charts-out/
 * (Velero's BackupStorageLocation), which CI re-renders without the bundle.
 *
 * Both clouds take 3-63 lower-case letters, digits and dashes (no dots: a
 * dot breaks virtual-host HTTPS). The schema keeps every name well inside
 * that; this refuses one that is not, naming the limit, before a cloud does.
 *
 * @see https://docs.digitalocean.com/products/spaces/how-to/create/ (bucket names: unique across all Spaces, 3-63 characters, lower-case letters, numbers, dashes)
 * @see https://docs.hetzner.com/storage/object-storage/faq/buckets-objects (bucket names: unique across all Hetzner Object Storage, 3-63 characters)
 */
export function clusterBucketName(spec: PlatformSpec, purpose: BucketPurpose): string {
  const { name, id } = spec.config.cluster;
  const bucket = `${name}-${id}-${purpose}`;
  if (bucket.length > MAX_BUCKET_NAME_LENGTH || !BUCKET_NAME.test(bucket)) {
    throw new Error(
      `cluster.name ${JSON.stringify(name)} with cluster.id ${JSON.stringify(id)} makes the ${purpose} bucket name "${bucket}" (${bucket.length} characters); ` +
        `bucket names are at most ${MAX_BUCKET_NAME_LENGTH} lower-case letters, digits and dashes on both clouds: shorten cluster.name`,
    );
  }
  return bucket;
}
