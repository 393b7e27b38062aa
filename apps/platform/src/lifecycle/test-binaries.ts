// Stand-in binaries for the adapter tests (adapters.test.ts and adapters.int.test.ts). Not published (test-*.ts).
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const tmp = () => mkdtempSync(join(tmpdir(), 'keelson-adapters-'));

/** A stand-in binary that prints its argv and working folder, and fails when told. */
export function fakeBinary(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    ['#!/bin/sh', 'echo "cwd=$(pwd)"', 'echo "args=$*"', 'if [ "$2" = "destroy" ]; then echo "Error: BucketNotEmpty" >&2; echo "  the bucket holds objects" >&2; exit 1; fi', 'if [ "$3" = "-json" ]; then echo \'{"secret":"x"}\'; fi', ''].join('\n'),
  );
  chmodSync(path, 0o755);
  return path;
}
