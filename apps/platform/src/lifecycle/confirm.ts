import type { LifecycleOptions } from './options';
import { LifecycleError } from './steps';

/** Asks for a yes; throws when there is no terminal to ask on. */
export async function confirm(o: LifecycleOptions, question: string, step: string, rerun: string): Promise<boolean> {
  if (o.yes) return true;
  if (!o.ask) throw new LifecycleError(step, 'there is no terminal to confirm on', `run "${rerun} --yes" to proceed without a question`);
  return /^y(es)?$/i.test((await o.ask(`${question} [y/N] `)).trim());
}
