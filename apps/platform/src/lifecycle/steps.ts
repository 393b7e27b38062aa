import type { Observation } from './cluster';

/** How progress is shown: listr2's renderers (`default` on a terminal, `simple` in logs, `silent` in tests). */
export type ProgressRenderer = 'default' | 'simple' | 'verbose' | 'silent';

/** One thing that happened to a step, in order: what tests assert on and what a log shows. */
export interface StepEvent {
  readonly step: string;
  readonly status: 'started' | 'skipped' | 'done' | 'failed';
  readonly detail?: string;
}

/** A stop the user can act on: which step, what was observed, and the command to run next. */
export class LifecycleError extends Error {
  constructor(
    /** The step that stopped (`terraform-apply`, `keelson-worker-1: node Ready`). */
    public readonly step: string,
    message: string,
    /** What to do, ending with the command to run next. */
    public readonly next: string,
  ) {
    super(`${step}: ${message}\n  next: ${next}`);
    this.name = 'LifecycleError';
  }
}

/** A step of a task list. */
export interface Step {
  /** Stable id, recorded in the state file when `resumable`. */
  readonly id: string;
  readonly title: string;
  /** A reason to skip it (shown in the task list), or undefined to run it. */
  readonly skip?: () => string | undefined;
  /** Runs the step; `report` updates the line under its title. Resolves with an optional final note. */
  readonly run: (report: (text: string) => void) => Promise<string | void>;
  /** What to do when it fails, ending with the command to run next (a {@link LifecycleError} says it itself). */
  readonly next?: string;
}

export interface RunStepsOptions {
  readonly renderer: ProgressRenderer;
  /** Every step's events are appended here. */
  readonly events: StepEvent[];
}

/**
 * Runs `steps` one after another as a listr2 task list (spinners and elapsed
 * time on a terminal), stopping at the first failure with a
 * {@link LifecycleError} that names the step and the next command.
 *
 * @see https://listr2.kilic.dev/renderer/default.html (timer)
 */
export async function runSteps(steps: readonly Step[], options: RunStepsOptions): Promise<void> {
  const { Listr, PRESET_TIMER } = await import('listr2');
  const { events } = options;
  let stopped: LifecycleError | undefined;
  const tasks = steps.map((s) => ({
    title: s.title,
    skip: () => {
      const reason = s.skip?.();
      if (reason) events.push({ step: s.id, status: 'skipped', detail: reason });
      return reason ? `${s.title} (${reason})` : false;
    },
    task: async (_ctx: unknown, task: { output: string; title: string }) => {
      events.push({ step: s.id, status: 'started' });
      try {
        const note = await s.run((text) => {
          task.output = text;
        });
        if (note) task.title = `${s.title}: ${note}`;
        events.push({ step: s.id, status: 'done', detail: note || undefined });
      } catch (e) {
        const error = e instanceof LifecycleError ? e : new LifecycleError(s.id, (e as Error).message ?? String(e), s.next ?? 'fix the cause above and run the same command again');
        events.push({ step: s.id, status: 'failed', detail: error.message });
        stopped = error;
        // The task list shows the first line; the caller prints the whole explanation once.
        throw new Error(error.message.split('\n')[0]);
      }
    },
  }));
  const list = new Listr(tasks, {
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: options.renderer,
    rendererOptions: { timer: PRESET_TIMER, collapseErrors: false, showErrorMessage: false },
    fallbackRenderer: 'simple',
    fallbackRendererOptions: { timer: PRESET_TIMER },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- listr2's renderer option types are keyed by literal renderer names
  } as any);
  try {
    await list.run();
  } catch (e) {
    throw stopped ?? e;
  }
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** Called with each observation that is not yet ok. */
  readonly onWaiting?: (detail: string) => void;
}

/** Polls `probe` until it is ok or `timeoutMs` passed; returns the last observation either way. A probe that throws counts as not ok, unless it throws a {@link LifecycleError}. */
export async function waitFor(probe: () => Promise<Observation>, options: WaitOptions): Promise<Observation> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    let seen: Observation;
    try {
      seen = await probe();
    } catch (e) {
      // A probe that decides the wait is over (a backup that failed) says so with a LifecycleError.
      if (e instanceof LifecycleError) throw e;
      seen = { ok: false, detail: (e as Error).message };
    }
    if (seen.ok || Date.now() >= deadline) return seen;
    options.onWaiting?.(seen.detail);
    await new Promise((r) => setTimeout(r, options.pollMs));
  }
}

/** `1234567` ms as `20 min 34 s`, for messages. */
export function describeDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
}
