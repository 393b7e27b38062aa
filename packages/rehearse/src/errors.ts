import { statSync } from 'node:fs';
/**
 * Thrown when the rehearsal's input is unusable (no infra-out, an unknown
 * server type, a seed that is not a number): the CLI exits 2, as for a bad
 * config, and nothing was started.
 */
export class RehearsalInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RehearsalInputError';
  }
}

/** Refuses to start without synth's output: both folders the command reads must exist. */
export function requireRendered(command: string, chartsDir: string, infraDir: string, why: (what: string) => string): void {
  for (const [what, dir] of [
    ['charts-out', chartsDir],
    ['infra-out', infraDir],
  ] as const) {
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new RehearsalInputError(`${command}: ${dir} does not exist; run "keelson synth" first (${why(what)})`);
  }
}
