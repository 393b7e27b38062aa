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
