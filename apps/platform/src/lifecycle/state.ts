import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The state file, inside infra-out/ (mode 0600). It holds step names, node names and a digest: no secret. */
export const STATE_FILE = 'deploy-state.json';

/** Where a controller or worker replacement stands, so a rerun continues it instead of starting another node. */
export type ReplacementPhase = 'drained' | 'replaced' | 'etcd-replaced';

/**
 * What `deploy` and `upgrade` finished, so a rerun continues where the last
 * one stopped. Reset when the config changes (another digest).
 */
export interface LifecycleState {
  readonly version: 1;
  readonly cluster: string;
  /** sha256 of the config file the steps ran with. */
  readonly configDigest: string;
  /** Deploy steps that completed, in order. */
  readonly deploy: readonly string[];
  /** The rolling replacement of `upgrade`, when one ran with this config. */
  readonly upgrade?: {
    /** Nodes replaced and past every gate, in order. */
    readonly replaced: readonly string[];
    /** The node out of service right now and how far its replacement got. */
    readonly current?: { readonly node: string; readonly phase: ReplacementPhase };
  };
  readonly updatedAt: string;
}

/** sha256 of the config file's bytes. */
export function configDigest(configPath: string): string {
  return createHash('sha256').update(readFileSync(configPath)).digest('hex');
}

/** Reads and updates the state file; every write is atomic (rename) and mode 0600. */
export class StateStore {
  public readonly file: string;
  private state: LifecycleState;

  constructor(
    infraDir: string,
    cluster: string,
    digest: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.file = join(infraDir, STATE_FILE);
    const previous = readState(this.file);
    this.state =
      previous && previous.configDigest === digest && previous.cluster === cluster
        ? previous
        : { version: 1, cluster, configDigest: digest, deploy: [], updatedAt: this.now().toISOString() };
  }

  get current(): LifecycleState {
    return this.state;
  }

  deployDone(step: string): boolean {
    return this.state.deploy.includes(step);
  }

  markDeployed(step: string): void {
    if (!this.deployDone(step)) this.update({ deploy: [...this.state.deploy, step] });
  }

  update(change: Partial<Omit<LifecycleState, 'version' | 'cluster' | 'configDigest'>>): void {
    this.state = { ...this.state, ...change, updatedAt: this.now().toISOString() };
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.state, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}

/** The state in `file`, or undefined when there is none (or it is not ours). */
export function readState(file: string): LifecycleState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as LifecycleState;
    return s.version === 1 && Array.isArray(s.deploy) ? s : undefined;
  } catch {
    return undefined;
  }
}

