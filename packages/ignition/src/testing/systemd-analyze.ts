import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { unitNameProblem } from '../builder';
import { requireBinary } from './binaries';

export interface SystemdAnalyzeVerifyOptions {
  /**
   * Units the OS on the node provides but this machine may not (Flatcar's `containerd.service`,
   * `coreos-metadata.service`): a stand-in is written next to the units under test so dependencies
   * on them resolve. Only `.service`, `.target`, `.socket`, `.timer` and `.slice` can be stood in for.
   * @default []
   */
  readonly assumeUnits?: readonly string[];
  /**
   * Absolute paths of programs that exist on the node but not here (the kubelet from the Kubernetes
   * sysext): verify's "Command ... is not executable" for exactly these paths is not a finding.
   * @default []
   */
  readonly assumeExecutables?: readonly string[];
}

/** What `systemd-analyze verify` said about a set of units. */
export interface SystemdAnalyzeVerifyResult {
  /** `true` when there is no finding. Warnings count: systemd *ignores* an unknown directive. */
  readonly ok: boolean;
  readonly exitCode: number;
  /** Everything it printed. */
  readonly output: string;
  /** Output lines that are problems with the units under test (assumed executables removed). */
  readonly findings: string[];
  /** Output lines dropped because of `assumeExecutables`. */
  readonly assumed: string[];
}

/**
 * Runs `systemd-analyze verify --man=no --generators=no` on unit files written to a temporary
 * directory, without systemd as PID 1.
 *
 * `units` maps file names to contents: units (`kubelet.service`) and drop-ins
 * (`kubelet.service.d/10-kubeadm.conf`, applied to their unit as systemd would). Every unit is
 * verified; the temporary directory joins the unit search path, so units may depend on each other.
 *
 * What it checks: unit file syntax, unknown sections and directives (as warnings), bad values,
 * `ExecStart=` paths that are relative or not executable on this machine, missing dependencies,
 * and whether a start job for each unit can be built (ordering cycles included), against this
 * machine's systemd version and units.
 *
 * What it cannot check here: anything that depends on Flatcar itself. The host's systemd may be
 * older than Flatcar's (directives newer than the host's version are reported as unknown), the host
 * lacks Flatcar's units and programs (stand in for them with `assumeUnits` and `assumeExecutables`),
 * generators do not run (`--generators=no`: they need privileges and would describe this machine,
 * not the node), `Documentation=` man pages are not looked up (`--man=no`), and nothing is started:
 * conditions, environment files and runtime behaviour stay untested.
 * @see https://www.freedesktop.org/software/systemd/man/latest/systemd-analyze.html
 */
export function systemdAnalyzeVerify(units: Record<string, string>, options: SystemdAnalyzeVerifyOptions = {}): SystemdAnalyzeVerifyResult {
  const binary = requireBinary(process.env.KEELSON_SYSTEMD_ANALYZE ?? 'systemd-analyze', 'systemdAnalyzeVerify');
  const dir = mkdtempSync(join(tmpdir(), 'keelson-systemd-verify-'));
  try {
    const verified: string[] = [];
    for (const [name, contents] of Object.entries(units)) {
      const unit = name.includes('/') ? dirname(name).replace(/\.d$/, '') : name;
      const problem = unitNameProblem(unit);
      if (problem || (name.includes('/') && (!dirname(name).endsWith('.d') || name.split('/').length !== 2))) {
        throw new Error(`systemdAnalyzeVerify: ${JSON.stringify(name)} is neither a unit file name nor "<unit>.d/<name>.conf"${problem ? `: the unit name ${problem}` : ''}`);
      }
      mkdirSync(join(dir, dirname(name)), { recursive: true });
      writeFileSync(join(dir, name), contents);
      if (!name.includes('/')) verified.push(join(dir, name));
    }
    for (const unit of options.assumeUnits ?? []) {
      if (units[unit] !== undefined) continue;
      writeFileSync(join(dir, unit), standIn(unit));
    }
    if (verified.length === 0) throw new Error('systemdAnalyzeVerify: no unit to verify (only drop-ins were given); add the unit they belong to');
    const run = spawnSync(binary, ['verify', '--man=no', '--generators=no', '--no-pager', ...verified], {
      encoding: 'utf8',
      cwd: dir,
      timeout: 30_000,
      env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: 'cat', NO_COLOR: '1' },
    });
    if (run.error) throw run.error;
    const output = `${run.stdout}${run.stderr}`.split(dir).join('<units>');
    const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
    const assumedPaths = new Set(options.assumeExecutables ?? []);
    const assumed = lines.filter((l) => {
      const m = /Command (\S+) is not executable: No such file or directory/.exec(l);
      return m !== null && assumedPaths.has(m[1] as string);
    });
    const findings = lines.filter((l) => !assumed.includes(l));
    const exitCode = run.status ?? 1;
    if (exitCode !== 0 && findings.length === 0 && assumed.length === 0) findings.push(`systemd-analyze verify exited ${exitCode} without saying why`);
    return { ok: findings.length === 0, exitCode, output, findings, assumed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A minimal unit that loads and starts cleanly, standing in for one the node's OS ships. */
function standIn(unit: string): string {
  const type = unit.slice(unit.lastIndexOf('.') + 1);
  const head = `[Unit]\nDescription=Stand-in for ${unit}, which the node's OS provides\n`;
  switch (type) {
    case 'service':
      return `${head}\n[Service]\nType=oneshot\nExecStart=/bin/true\n`;
    case 'socket':
      return `${head}\n[Socket]\nListenStream=/run/keelson-stand-in-${basename(unit, '.socket')}.sock\n`;
    case 'timer':
      return `${head}\n[Timer]\nOnActiveSec=1h\n`;
    case 'target':
    case 'slice':
      return head;
    default:
      throw new Error(`systemdAnalyzeVerify: cannot stand in for ${JSON.stringify(unit)}; only .service, .target, .socket, .timer and .slice units can be assumed`);
  }
}
