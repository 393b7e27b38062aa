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
