import { tmpdir } from 'node:os';
import { App, LocalBackend, S3Backend, TerraformStack } from 'cdktf';

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
