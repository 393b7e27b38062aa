import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries';

/** What the real `ignition-validate` said about a config. */
export interface IgnitionValidateResult {
  /**
   * `true` only when `ignition-validate` exits 0 *and* prints no warning. Ignition treats unknown
   * keys as warnings and then ignores them, so a warning means a setting that will not happen.
   */
  readonly ok: boolean;
  /** The exit code: 0 unless there is an error (warnings do not change it). */
  readonly exitCode: number;
  /** Everything it printed (stdout and stderr). */
  readonly output: string;
  /** Lines such as `warning at $.storage.filez, line 1 col 44: Unused key filez`. */
  readonly warnings: string[];
  /** Lines such as `error at $.storage.files.0.path, line 1 col 61: path not absolute`. */
  readonly errors: string[];
}

/**
 * Runs the real `ignition-validate` (Debian package `ignition`, 2.14: specs up to 3.3.0) on a config.
 *
 * Throws with an install hint when the binary is missing; the temporary file is always removed.
 * @param config the parsed config or its JSON text
 * @see https://coreos.github.io/ignition/getting-started/#config-validation
 */
export function runIgnitionValidate(config: unknown): IgnitionValidateResult {
  const binary = requireBinary(process.env.KEELSON_IGNITION_VALIDATE ?? 'ignition-validate', 'runIgnitionValidate');
  const dir = mkdtempSync(join(tmpdir(), 'keelson-ignition-validate-'));
  try {
    const file = join(dir, 'config.ign');
    writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
    const run = spawnSync(binary, [file], { encoding: 'utf8', timeout: 30_000 });
    if (run.error) throw run.error;
    const output = `${run.stdout}${run.stderr}`;
    const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
    const warnings = lines.filter((l) => l.startsWith('warning'));
    const errors = lines.filter((l) => !l.startsWith('warning'));
    const exitCode = run.status ?? 1;
    return { ok: exitCode === 0 && warnings.length === 0 && errors.length === 0, exitCode, output, warnings, errors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
