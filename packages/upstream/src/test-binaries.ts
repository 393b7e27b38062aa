// A stand-in program for the peers' tests (peers.test.ts and peers.int.test.ts). Not published (test-*.ts).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A stand-in program that prints `text` for any arguments. */
export function fakeBinary(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho '${text}'\n`);
  chmodSync(path, 0o755);
  return path;
}
