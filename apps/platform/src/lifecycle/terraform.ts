import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * Everything the lifecycle asks of Terraform (or OpenTofu), as a small seam:
 * the real implementation runs the binary; tests use a fake that records the
 * argv it would have run.
 *
 * Every call runs in the `--out` folder with `-chdir=infra-out`, so the argv
 * is the same on every machine and can be asserted exactly (see
 * {@link terraformArgs}).
 */
export interface TerraformAdapter {
  /** The binary that runs, for messages (`terraform`, `tofu`, a path). */
  readonly binary: string;
  /** Runs `args` (without the binary); resolves with stdout, rejects with a {@link TerraformError}. */
  run(args: readonly string[]): Promise<string>;
}

/** A Terraform command that failed: its argv, exit code and the last lines it printed. */
export class TerraformError extends Error {
  constructor(
    message: string,
    public readonly args: readonly string[],
    public readonly exitCode: number | null,
    /** The last lines of stderr (or stdout), for a one-line reason. */
    public readonly tail: string,
  ) {
    super(message);
    this.name = 'TerraformError';
  }
}

/** The folder under `--out` Terraform runs in (synth's INFRA_OUT). */
export const TERRAFORM_DIR = 'infra-out';
/** The saved plan `plan` writes and `apply` applies, inside infra-out/. */
export const PLAN_FILE = 'tfplan';
/** Where the real adapter appends every command's output, inside infra-out/ (mode 0600: plans can name secrets). */
export const TERRAFORM_LOG = 'keelson-terraform.log';

const chdir = `-chdir=${TERRAFORM_DIR}`;

/**
 * The exact argv of every Terraform call the lifecycle makes (without the
 * binary). `-input=false` everywhere: a prompt would hang a run that shows a
 * task list. `-no-color` on the commands whose text goes to the log.
 *
 * @see https://developer.hashicorp.com/terraform/cli/commands/plan (saved plans, -out, -replace)
 * @see https://developer.hashicorp.com/terraform/cli/commands/show (show -json of a saved plan)
 * @see https://developer.hashicorp.com/terraform/internals/json-format (resource_changes[].change.actions)
 */
export const terraformArgs = {
  init: (): string[] => [chdir, 'init', '-input=false', '-no-color'],
  plan: (): string[] => [chdir, 'plan', '-input=false', '-no-color', `-out=${PLAN_FILE}`],
  show: (): string[] => [chdir, 'show', '-json', PLAN_FILE],
  /** Applies the saved plan the user saw: no -auto-approve needed, and nothing beyond the plan. */
  apply: (): string[] => [chdir, 'apply', '-input=false', '-no-color', PLAN_FILE],
  /** Replaces one node (its server's address, `NodeProvider.serverAddress`), applying any other pending change with it. */
  replace: (address: string): string[] => [chdir, 'apply', '-input=false', '-no-color', '-auto-approve', `-replace=${address}`],
  output: (): string[] => [chdir, 'output', '-json'],
  stateList: (): string[] => [chdir, 'state', 'list'],
  destroy: (): string[] => [chdir, 'destroy', '-input=false', '-no-color', '-auto-approve'],
} as const;

/**
 * The Terraform binary to run: `--terraform-bin`, else `KEELSON_TERRAFORM`,
 * else `terraform` or `tofu`, whichever is first on PATH. Undefined when none is found.
 */
export function findTerraformBinary(explicit: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const wanted = explicit ?? env.KEELSON_TERRAFORM;
  if (wanted) return isAbsolute(wanted) || wanted.includes('/') ? (existsSync(wanted) ? wanted : undefined) : onPath(wanted, env);
  return onPath('terraform', env) ?? onPath('tofu', env);
}

function onPath(name: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Whether `binary` runs at all (`version`), so a broken install is reported as such. */
export function terraformRuns(binary: string): boolean {
  return spawnSync(binary, ['version'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
}

export interface CommandTerraformOptions {
  readonly binary: string;
  /** The `--out` folder; commands run here, with `-chdir=infra-out`. */
  readonly outDir: string;
  /** @default process.env (the cloud's Terraform provider reads its API token and object-store keys from it: `NodeProvider.apiTokenVariable`, `objectStoreCredentialVariables`) */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The real adapter: runs the binary, appending its output to
 * infra-out/keelson-terraform.log (mode 0600), never to the terminal, where
 * the task list is.
 */
export class CommandTerraform implements TerraformAdapter {
  public readonly binary: string;
  public readonly logFile: string;
  constructor(private readonly options: CommandTerraformOptions) {
    this.binary = options.binary;
    this.logFile = join(options.outDir, TERRAFORM_DIR, TERRAFORM_LOG);
  }

  run(args: readonly string[]): Promise<string> {
    const log = (text: string) => {
      appendFileSync(this.logFile, text, { mode: 0o600 });
      chmodSync(this.logFile, 0o600);
    };
    log(`\n$ ${this.binary} ${args.join(' ')}   # ${new Date().toISOString()}\n`);
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, [...args], {
        cwd: this.options.outDir,
        env: { ...(this.options.env ?? process.env), TF_IN_AUTOMATION: '1' } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      // JSON output (show, output) is kept out of the log: it can hold sensitive values.
      const json = args.includes('-json');
      child.stdout.on('data', (b: Buffer) => {
        out.push(b);
        if (!json) log(b.toString());
      });
      child.stderr.on('data', (b: Buffer) => {
        err.push(b);
        log(b.toString());
      });
      child.on('error', (e) => reject(new TerraformError(`${this.binary} could not start: ${e.message}`, args, null, e.message)));
      child.on('close', (code) => {
        const stdout = Buffer.concat(out).toString();
        if (code === 0) return resolve(stdout);
        const tail = lastLines(Buffer.concat(err).toString() || (json ? '' : stdout));
        reject(new TerraformError(`${this.binary} ${args.slice(1).join(' ')} exited with ${code}: ${tail} (full output in ${this.logFile})`, args, code, tail));
      });
    });
  }
}

/** The last meaningful lines of a command's output, on one line. */
export function lastLines(text: string, count = 3): string {
  const lines = text
    .split('\n')
    // Terraform's box drawing (U+2502, U+2577, U+2575), escaped: the CLI bundle is ASCII.
    .map((l) => l.replace(/^[\u2502\u2577\u2575\s]+/, '').trim())
    .filter((l) => l.length > 0);
  const errorAt = lines.findIndex((l) => /^Error:/.test(l));
  return (errorAt >= 0 ? lines.slice(errorAt, errorAt + count) : lines.slice(-count)).join(' ');
}
