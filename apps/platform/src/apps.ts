import type { AppFactory } from './platform';

/**
 * Apps of your own, built in the apps layer next to Nextcloud, the media
 * server and the website. Add one file that exports an {@link AppFactory}
 * (`src/examples/whoami-app.ts` is a complete one) and list it here.
 */
export const PLATFORM_APPS: readonly AppFactory[] = [];
