import { tmpdir } from 'node:os';
import { App, TerraformStack } from 'cdktf';

/**
 * A fresh cdktf app and stack that are rendered in memory.
 *
 * `App` creates its output folder when it is missing, so it is pointed at one
 * that always exists (the OS temp folder); `app.synth()` is never called, so
 * nothing is written there. Stack traces are off: cdktf records one per
 * construct otherwise, which costs time and is never shown.
 */
export function newStack(id: string): TerraformStack {
  const app = new App({ outdir: tmpdir(), stackTraces: false });
  return new TerraformStack(app, id);
}

/**
 * The stack's Terraform JSON, byte-stable: keys sorted, cdktf's `//`
 * metadata (construct paths, cdktf version) dropped, two-space indent, one
 * trailing newline.
 *
 * This is what `app.synth()` writes to `cdk.tf.json`, minus the files and
 * the metadata Terraform ignores anyway.
 */
export function renderStack(stack: TerraformStack): string {
  // What app.synth() checks too (a provider for every resource, backend shape).
  stack.runAllValidations();
  return `${JSON.stringify(canonical(stack.toTerraform()), null, 2)}\n`;
}

/** Sorts object keys by code unit (never by locale) and drops `//` comments. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (key === '//') continue;
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = canonical(v);
  }
  return out;
}
