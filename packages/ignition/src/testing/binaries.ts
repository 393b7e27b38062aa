import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where Debian's `ignition` package puts the Ignition binary (it is meant to run from the initramfs). */
export const DEFAULT_IGNITION_BINARY = '/usr/lib/dracut/modules.d/30ignition/ignition';

const INSTALL_HINT = 'install it with `apt-get install -y ignition systemd` (CI does this in .ci/run)';

/**
 * The absolute path of an executable: `name` itself when it contains a slash, otherwise the first
 * match on PATH. Throws (never skips) with an install hint when there is none.
 */
export function requireBinary(name: string, purpose: string): string {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(`${purpose} needs ${name}, which is not installed here; ${INSTALL_HINT}`);
}
