import type { FlatcarChannel } from '@keelson/platform-spec';

/** A Flatcar release image DigitalOcean imports as a custom image. */
export interface FlatcarImage {
  /** Flatcar release, e.g. `4459.2.1`. */
  readonly version: string;
  /** The release's `flatcar_production_digitalocean_image.bin.bz2` (DigitalOcean accepts bzip2). */
  readonly url: string;
}

const flatcarDigitalOceanImage = (channel: FlatcarChannel, version: string): FlatcarImage => ({
  version,
  url: `https://${channel}.release.flatcar-linux.net/amd64-usr/${version}/flatcar_production_digitalocean_image.bin.bz2`,
});

/**
 * The Flatcar image new droplets boot from, per channel: the one place to bump.
 *
 * Only the first boot uses it: Flatcar updates itself in place afterwards, so
 * a bump changes the image of nodes created later and never replaces a
 * running one (droplets ignore `image` changes, see the README). Bump to the
 * channel's current release when it changes; the image is fetched by
 * DigitalOcean, not checksummed by us (custom-image imports take no hash).
 *
 * @see https://www.flatcar.org/releases
 * @see https://www.flatcar.org/docs/latest/installing/cloud/digitalocean/
 */
export const FLATCAR_DIGITALOCEAN_IMAGE: Readonly<Record<FlatcarChannel, FlatcarImage>> = {
  stable: flatcarDigitalOceanImage('stable', '4459.2.1'),
  beta: flatcarDigitalOceanImage('beta', '4547.1.0'),
};

/**
 * Why DigitalOcean would refuse to import `url` as a custom image, or
 * undefined when it keeps the rules the Terraform schema does not show: an
 * `https://` URL whose path ends in the image's file name (no query, no
 * trailing slash; DigitalOcean fetches it, after a `HEAD` request), a disk image (raw `.img`/`.bin`/`.raw`,
 * `.qcow2`, `.vhdx`, `.vdi` or `.vmdk`), compressed with gzip or bzip2 or not
 * at all (not xz or zstd).
 *
 * Flatcar's `flatcar_production_digitalocean_image.bin.bz2` is a raw disk
 * image with bzip2, the URL DigitalOcean's own Terraform docs import.
 *
 * @see https://docs.digitalocean.com/products/custom-images/details/limits/
 * @see https://docs.digitalocean.com/reference/pydo/reference/images/create_custom (raw, qcow2, vhdx, vdi or vmdk; gzip or bzip2)
 * @see https://docs.digitalocean.com/reference/terraform/reference/resources/custom_image/
 */
export function customImageUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL`;
  }
  if (parsed.protocol !== 'https:') return `${url} is not https://`;
  if (parsed.search || parsed.hash) return `${url} has a query or fragment; DigitalOcean needs a URL that ends in the image's file name`;
  const file = parsed.pathname.split('/').pop() ?? '';
  if (!file) return `${url} ends in "/", not a file name; point it at the image file`;
  const m = /^[^/]+\.(img|bin|raw|qcow2|vhdx|vdi|vmdk)(\.(gz|bz2))?$/.exec(file);
  if (!m) {
    if (/\.(xz|zst|zip|7z|tar)$/.test(file)) return `${file} is compressed in a way DigitalOcean cannot import; use gzip (.gz) or bzip2 (.bz2)`;
    return `${file} is not a disk image DigitalOcean imports (.img/.bin/.raw, .qcow2, .vhdx, .vdi or .vmdk, optionally .gz or .bz2)`;
  }
  return undefined;
}

/**
 * The largest user-data DigitalOcean accepts for a droplet: 64 KiB.
 *
 * @see https://docs.digitalocean.com/products/droplets/how-to/provide-user-data/
 */
export const USER_DATA_LIMIT_BYTES = 64 * 1024;

/**
 * vCPUs and memory of a droplet size slug: the slugs name them
 * (`s-4vcpu-8gb`, `g-2vcpu-8gb`, `s-1vcpu-512mb-10gb`), and the
 * CPU-optimized droplets (`c-N`, `c2-N`) sell 2 GiB per vCPU. Undefined for
 * a slug that names neither.
 *
 * @see https://docs.digitalocean.com/products/droplets/details/pricing/
 */
export function dropletSize(slug: string): { vcpus: number; memoryGiB: number } | undefined {
  const named = /(?:^|-)(\d+)vcpu-(\d+)(gb|mb)(?:-|$)/.exec(slug);
  if (named) return { vcpus: Number(named[1]), memoryGiB: named[3] === 'gb' ? Number(named[2]) : Number(named[2]) / 1024 };
  const cpu = /^c2?-(\d+)(?:-intel)?$/.exec(slug);
  if (cpu) return { vcpus: Number(cpu[1]), memoryGiB: Number(cpu[1]) * 2 };
  return undefined;
}

/** Terraform resource types of what the checks read: a node's server, a bucket, an SSH key. */
export const RESOURCE_TYPES = { server: 'digitalocean_droplet', bucket: 'digitalocean_spaces_bucket', sshKey: 'digitalocean_ssh_key' } as const;
