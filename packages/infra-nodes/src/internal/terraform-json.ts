import { tmpdir } from 'node:os';
import { App, DefaultTokenResolver, LocalBackend, S3Backend, StringConcat, TerraformElement, TerraformStack, Token, Tokenization } from 'cdktf';
import { deepMerge } from 'cdktf/lib/util';

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
  return `${JSON.stringify(canonical(stackJson(stack)), null, 2)}\n`;
}

/**
 * `stack.toTerraform()` without its `//` metadata, in a fifth of the time at
 * 60 nodes (issue 25). cdktf resolves every value of every element through
 * its token resolver (a new context per value), then the whole merged tree
 * a second time; a value that holds no token resolves to itself. This merges
 * the elements as `toTerraform()` does and hands cdktf's resolver only the
 * values that hold a token, whole (a string, a list, a map, an object that
 * resolves); everything else is kept as it is. The tests prove the result
 * equal to `stack.toTerraform()` for both clouds' stacks.
 *
 * @see node_modules/cdktf/lib/terraform-stack.js (`toTerraform`)
 * @see node_modules/cdktf/lib/tokens/private/resolve.js
 */
export function stackJson(stack: TerraformStack): Record<string, unknown> {
  // The overrides of stack.addOverride (private in cdktf's types; the tests catch a change).
  const overrides = (stack as unknown as { rawOverrides?: unknown }).rawOverrides;
  if (overrides === null || typeof overrides !== 'object') return withoutMetadata(stack.toTerraform());
  const tf: Record<string, unknown> = {};
  for (const element of terraformElements(stack)) deepMerge(tf, resolveTokens(stack, element.toTerraform()));
  deepMerge(tf, resolveTokens(stack, overrides));
  return tf;
}

function withoutMetadata(tf: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...tf };
  delete rest['//'];
  return rest;
}

/** The stack's elements in cdktf's order: depth first, not into nested stacks. */
function terraformElements(scope: { node: { children: readonly unknown[] } }, into: TerraformElement[] = []): TerraformElement[] {
  if (TerraformElement.isTerraformElement(scope)) into.push(scope);
  for (const child of scope.node.children) {
    if (TerraformStack.isStack(child)) continue;
    terraformElements(child as { node: { children: readonly unknown[] } }, into);
  }
  return into;
}

/**
 * A number token written into a string: cdktf encodes a number token as a
 * double whose top 16 bits are 0xFDFF (a list's as 0xFBFF), which prints as
 * about -8.1e+298 (-1.9e+289); it finds them with NUMBER_TOKEN_REGEX and looks
 * each match up. Any number it could find has a digit, then `e+2` and two
 * digits, which user-data and keys (base64) rarely hold; where one does,
 * cdktf's resolver gets the string as before.
 * @see node_modules/cdktf/lib/tokens/private/encoding.js (NUMBER_TOKEN_REGEX, DOUBLE_TOKEN_MARKER_BITS)
 */
const NUMBER_TOKEN_IN_STRING = /\de\+2\d\d/;
const STRING_TOKEN_MARK = 'TfToken[';

/** Whether cdktf's resolver could change this string: a string, list or map token, or a number token in it. */
const stringMayHoldToken = (s: string) => s.includes(STRING_TOKEN_MARK) || NUMBER_TOKEN_IN_STRING.test(s);

/** What cdktf's stack does with a value: its `_tokens.resolve(stack, value)`. */
const RESOLVER = new DefaultTokenResolver(new StringConcat());
const cdktfResolve = (stack: TerraformStack, value: unknown): unknown => Tokenization.resolve(value, { scope: stack, resolver: RESOLVER, preparing: false });

/** `value` with its tokens resolved as cdktf's `resolve` does, undefined members dropped. */
function resolveTokens(stack: TerraformStack, value: unknown): unknown {
  if (value === undefined || value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string') return stringMayHoldToken(value) ? cdktfResolve(stack, value) : value;
  if (typeof value === 'number') return Token.isUnresolved(value) || value === Token.NUMBER_MAP_TOKEN_VALUE ? cdktfResolve(stack, value) : value;
  if (Array.isArray(value)) {
    if (value.some((x) => (typeof x === 'string' && stringMayHoldToken(x)) || (typeof x === 'number' && Token.isUnresolved(x)))) return cdktfResolve(stack, value);
    return value.map((x) => resolveTokens(stack, x)).filter((x) => x !== undefined);
  }
  const proto: unknown = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  // Tokens, constructs, dates, functions: cdktf's own rules (and its errors).
  if ((proto !== Object.prototype && proto !== null) || Tokenization.isResolvable(value)) return cdktfResolve(stack, value);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.some(([key]) => stringMayHoldToken(key))) return cdktfResolve(stack, value);
  const out: Record<string, unknown> = {};
  for (const [key, v] of entries) {
    const resolved = resolveTokens(stack, v);
    if (resolved !== undefined) out[key] = resolved;
  }
  return out;
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

/** Where Terraform keeps state: a local file, or an S3-compatible bucket that is not AWS. */
export type StateBackend =
  | { readonly type: 'local'; readonly path: string }
  | { readonly type: 's3'; readonly bucket: string; readonly key: string; readonly region: string; readonly endpoint: string };

/**
 * The Terraform (or OpenTofu) versions that read the rendered JSON: 1.6.3
 * added the S3 backend's `skip_s3_checksum` (Spaces and Hetzner Object
 * Storage reject the checksum header), and 1.6.0 its `endpoints.s3` and
 * `skip_requesting_account_id`; nothing else rendered is newer. OpenTofu
 * forked from Terraform 1.6 and has the same S3 backend arguments.
 *
 * @see https://github.com/hashicorp/terraform/blob/v1.6.4/CHANGELOG.md#163-november-1-2023
 * @see https://github.com/hashicorp/terraform-schema/pull/303
 * @see https://developer.hashicorp.com/terraform/language/backend/s3
 * @see https://opentofu.org/docs/language/settings/backends/s3/
 */
export const TERRAFORM_REQUIRED_VERSION = '>= 1.6.3';

/**
 * Adds the state backend to the stack, and the `required_version` it needs
 * ({@link TERRAFORM_REQUIRED_VERSION}, set for the local backend too so a
 * switch to remote state never needs a newer Terraform). Spaces and Hetzner Object Storage
 * speak S3 but are not AWS: no account, STS, region or checksum checks.
 * Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY set to the store's key.
 *
 * @see https://developer.hashicorp.com/terraform/language/backend/s3
 */
export function addStateBackend(stack: TerraformStack, backend: StateBackend): void {
  stack.addOverride('terraform.required_version', TERRAFORM_REQUIRED_VERSION);
  if (backend.type === 'local') {
    new LocalBackend(stack, { path: backend.path });
    return;
  }
  new S3Backend(stack, {
    bucket: backend.bucket,
    key: backend.key,
    region: backend.region,
    endpoints: { s3: backend.endpoint },
    skipCredentialsValidation: true,
    skipRequestingAccountId: true,
    skipMetadataApiCheck: true,
    skipRegionValidation: true,
    skipS3Checksum: true,
  });
}
