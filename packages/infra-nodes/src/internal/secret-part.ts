import type { NodeBootConfig } from '@keelson/platform-spec';

/**
 * A literal string as Terraform must see it in JSON: `${` and `%{` start a
 * template there, so they are doubled (`$${`, `%%{`) and Terraform turns them
 * back into the original text. Use it for every string we did not write
 * ourselves (user-data, file contents), never for one that holds a reference.
 *
 * @see https://developer.hashicorp.com/terraform/language/syntax/json#expression-mapping
 * @see https://developer.hashicorp.com/terraform/language/expressions/strings#escape-sequences
 */
export function terraformLiteral(text: string): string {
  // Function replacements: in a replacement string, `$$` would mean one `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/**
 * Whether a secret part's file path is fit for `file("${path.module}/...")`:
 * relative (no absolute path puts this machine's layout into the JSON), no
 * `.` or `..` segments, and only characters a Terraform string takes
 * unescaped. Both clouds apply the same rule.
 */
export function isPlainRelativePath(path: string): boolean {
  return /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(path) && !path.split('/').some((segment) => segment === '..' || segment === '.');
}

/**
 * The content of a node's secret-part object: read from `secretPartFile`
 * through `sensitive(file(...))` when given, so no key is in the JSON and
 * `terraform plan` prints `(sensitive value)`; otherwise the escaped literal.
 *
 * @see https://developer.hashicorp.com/terraform/language/functions/file
 * @see https://developer.hashicorp.com/terraform/language/functions/sensitive
 */
export function secretPartContent(boot: NodeBootConfig): string {
  return boot.secretPartFile === undefined ? terraformLiteral(boot.secretPart) : `\${sensitive(file("\${path.module}/${boot.secretPartFile}"))}`;
}
