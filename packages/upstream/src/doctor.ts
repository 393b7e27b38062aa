import { checkHostTools, aptInstallCommand, type HostTool } from './host-tools';
import { locatePeer, PEER_GROUPS, PEERS_INSTALL_COMMAND, peerOverrideVariable } from './peers';
import { probeVersion } from './probe';

/** One line of the doctor's report. */
export interface DoctorLine {
  readonly name: string;
  readonly kind: 'peer' | 'host';
  /** The pinned version (peers) or the version found (host tools). */
  readonly version?: string;
  readonly path?: string;
  readonly ok: boolean;
  /** Why it is not ok. */
  readonly problem?: string;
}

/** Everything the doctor found, and the commands that fix what is missing. */
export interface DoctorReport {
  readonly lines: readonly DoctorLine[];
  readonly ok: boolean;
  readonly fixes: readonly string[];
}

/**
 * Checks every upstream peer (present, runnable, printing its pinned version)
 * and every Debian tool the tests use.
 */
export function diagnose(env: NodeJS.ProcessEnv = process.env): DoctorReport {
  const lines: DoctorLine[] = [];
  let peersMissing = false;
  let overrideWrong = false;
  for (const group of PEER_GROUPS) {
    for (const binary of group.binaries) {
      const where = locatePeer(binary.name, env);
      const probe = where.executable ? probeVersion(where.path, binary.versionArgs, group.version) : undefined;
      const problem = !where.executable
        ? where.source === 'override'
          ? `${peerOverrideVariable(binary.name)}=${where.path} is not an executable file`
          : `not built (${where.path})`
        : probe?.ok
          ? undefined
          : probe?.problem;
      if (problem) {
        if (where.source === 'override') overrideWrong = true;
        else peersMissing = true;
      }
      lines.push({ name: binary.name, kind: 'peer', version: probe?.ok ? (probe.found ?? group.version) : group.version, path: where.path, ok: !problem, ...(problem ? { problem } : {}) });
    }
  }
  const missingHost: HostTool[] = [];
  for (const status of checkHostTools()) {
    if (!status.path) missingHost.push(status.tool);
    lines.push({
      name: status.tool.name,
      kind: 'host',
      ...(status.version ? { version: status.version } : {}),
      ...(status.path ? { path: status.path } : {}),
      ok: Boolean(status.path),
      ...(status.path ? {} : { problem: `not installed (Debian package ${status.tool.debianPackage})` }),
    });
  }
  const fixes: string[] = [];
  if (peersMissing) fixes.push(PEERS_INSTALL_COMMAND);
  if (overrideWrong) fixes.push('point each KEELSON_PEER_* variable at the pinned version, or unset it to use the built peer');
  if (missingHost.length > 0) fixes.push(aptInstallCommand(missingHost.map((t) => t.debianPackage)));
  return { lines, ok: lines.every((l) => l.ok), fixes };
}

/** The report as text: `helm v4.3.2 /path`, one line each, then what to run. */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.lines.map((l) => l.name.length));
  const versionWidth = Math.max(8, ...report.lines.map((l) => (l.version ?? '?').length));
  const out = report.lines.map((l) => {
    const head = `${l.ok ? 'ok     ' : 'MISSING'} ${l.name.padEnd(width)} ${(l.version ?? '?').padEnd(versionWidth)}`;
    return l.ok ? `${head} ${l.path}` : `${head} ${l.problem}`;
  });
  if (report.ok) out.push('every upstream peer and host tool is in place');
  else out.push(...report.fixes.map((fix) => `to fix: ${fix}`));
  return `${out.join('\n')}\n`;
}
