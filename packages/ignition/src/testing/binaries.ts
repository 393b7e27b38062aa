import { basename } from 'node:path';
import { aptInstallCommand, HOST_TOOLS, IGNITION_BINARY, which } from '@keelson/upstream';

/** Where Debian's `ignition` package puts the Ignition binary (it is meant to run from the initramfs). */
export const DEFAULT_IGNITION_BINARY = IGNITION_BINARY;

/**
 * The absolute path of an executable: `name` itself when it contains a slash, otherwise the first
 * match on PATH. Throws (never skips) with the install command when there is none.
 */
export function requireBinary(name: string, purpose: string): string {
  const found = which(name);
  if (found) return found;
  const tool = HOST_TOOLS.find((t) => t.command === name || t.name === basename(name));
  const fix = tool ? `as root, run: ${aptInstallCommand([tool.debianPackage])}` : 'install it';
  throw new Error(`${purpose} needs ${name}, which is not installed here; ${fix} (the README's test command, npm test, installs it when missing)`);
}
