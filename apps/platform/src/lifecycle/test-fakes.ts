// Fakes of the two adapters (the boundary of the orchestration) and a
// rendered platform to drive them with. Not published (test-*.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReplacementMember } from '@keelson/etcd-tls';
import type { NodeBootStatus } from '@keelson/ignition';
import type { PlatformSpec } from '@keelson/platform-spec';
import type { ApplicationState, ClusterAdapter, EtcdAccess, EtcdMemberState, Observation, SecretManifest, StatusCheck } from './cluster';
import { synth } from '../synth';
import type { LifecycleOptions } from './options';
import type { Rendered } from './render';
import { STATE_FILE } from './state';
import type { StepEvent } from './steps';
import { TerraformError, type TerraformAdapter } from './terraform';

export const defaultConfig = join(__dirname, '../../platform.yaml');

/**
 * A real synth of `configPath` into a fresh folder, with its own secrets
 * bundle. Verify is not asked to pass here (layers under construction must
 * not block the orchestration tests); `renderAndVerify`'s own tests cover it.
 */
export async function renderInto(configPath = defaultConfig): Promise<{ rendered: Rendered; outDir: string }> {
  const outDir = mkdtempSync(join(tmpdir(), 'keelson-lifecycle-'));
  const secretsDir = join(outDir, 'secrets');
  const result = await synth({ configPath, outDir, secretsDir, env: {} });
  return { rendered: { spec: result.spec, declarations: result.declarations, provider: result.provider, infraDir: result.infraDir, chartsDir: result.chartsDir, secretsDir, notes: [] }, outDir };
}

/** A Terraform plan as `show -json` prints it. */
export function planJson(changes: readonly { address: string; type: string; actions: string[] }[]): string {
  return JSON.stringify({ format_version: '1.2', resource_changes: changes.map((c) => ({ address: c.address, type: c.type, mode: 'managed', change: { actions: c.actions } })) });
}

/** Records every argv; answers show/output/state list; fails where told. */
export class FakeTerraform implements TerraformAdapter {
  public readonly binary = 'terraform';
  public readonly calls: string[][] = [];
  /** `show -json` answer. */
  public plan = planJson([{ address: 'digitalocean_droplet.keelson-worker-1', type: 'digitalocean_droplet', actions: ['create'] }]);
  public addresses: Record<string, { public: string; private: string }> = {};
  public stateAfterDestroy: string[] = [];
  /** Return an error to fail that call (once per entry in the array, in order). */
  public failures: ((args: readonly string[]) => Error | undefined)[] = [];
  /** Told about every successful call (the fake cluster learns about replaced nodes here). */
  public onRun?: (args: readonly string[]) => void;

  async run(args: readonly string[]): Promise<string> {
    this.calls.push([...args]);
    for (const [i, f] of this.failures.entries()) {
      const e = f(args);
      if (e) {
        this.failures.splice(i, 1);
        throw e;
      }
    }
    this.onRun?.(args);
    if (args[1] === 'show') return this.plan;
    if (args[1] === 'output') return JSON.stringify({ node_addresses: { sensitive: true, value: this.addresses } });
    if (args[1] === 'state') return this.stateAfterDestroy.join('\n');
    return '';
  }

  /** Argv of calls whose subcommand is `sub`. */
  of(sub: string): string[][] {
    return this.calls.filter((c) => c[1] === sub);
  }
}

export const terraformFailure = (sub: string, tail: string) => (args: readonly string[]) =>
  args[1] === sub ? new TerraformError(`terraform ${sub} exited with 1: ${tail}`, args, 1, tail) : undefined;

/**
 * A cluster: nodes that are Ready unless out of service, which come back a
 * couple of polls after Terraform replaced their machine. Records every call
 * and every moment two nodes were out at once.
 */
export class FakeCluster implements ClusterAdapter {
  public readonly calls: string[] = [];
  public readonly secrets: SecretManifest[] = [];
  /** Nodes drained and not Ready again. */
  public readonly out = new Set<string>();
  /** Every drain that happened while another node was out. */
  public readonly overlaps: string[] = [];
  public readonly replacedMachines = new Set<string>();
  public neverReady = new Set<string>();
  /** What every object a declared status check reads reports at its field (the CephCluster's health, with the shipped storage). */
  public ceph: () => string = () => 'HEALTH_OK';
  public apps: ApplicationState[] = [
    { name: 'root', sync: 'Synced', health: 'Healthy' },
    { name: 'storage', sync: 'Synced', health: 'Healthy' },
  ];
  public apiAnswersAfter = 0;
  public namespaces = new Set(['cert-manager', 'velero', 'nextcloud']);
  public backupPhases: string[] = ['InProgress', 'Completed'];
  private bootPolls = new Map<string, number>();
  /** Nodes that never joined (deploy): not registered, whatever else happens. */
  public notJoined = new Set<string>();
  /** What the nodes' first boots published (Leases in keelson-boot). */
  public boot: NodeBootStatus[] = [];

  constructor(private readonly spec: PlatformSpec) {}

  /** Wire to FakeTerraform.onRun: a `-replace=<type>.<node>` creates the node's new machine. */
  readonly terraformRan = (args: readonly string[]) => {
    const replace = args.find((a) => a.startsWith('-replace='));
    if (replace) this.replacedMachines.add(replace.split('.').pop()!);
  };

  async apiReady(): Promise<Observation> {
    this.calls.push('apiReady');
    return this.apiAnswersAfter-- > 0 ? { ok: false, detail: 'connection refused' } : { ok: true, detail: 'ok' };
  }

  async nodeReady(name: string): Promise<Observation> {
    this.calls.push(`nodeReady ${name}`);
    if (this.notJoined.has(name)) return { ok: false, detail: 'not registered' };
    if (!this.out.has(name)) return { ok: true, detail: 'Ready=True' };
    if (!this.replacedMachines.has(name) || this.neverReady.has(name)) return { ok: false, detail: this.replacedMachines.has(name) ? 'Ready=False (KubeletNotReady)' : 'not registered' };
    const polls = (this.bootPolls.get(name) ?? 0) + 1;
    this.bootPolls.set(name, polls);
    if (polls < 2) return { ok: false, detail: 'not registered' };
    this.out.delete(name);
    return { ok: true, detail: 'Ready=True' };
  }

  async cordon(name: string): Promise<void> {
    this.calls.push(`cordon ${name}`);
  }

  async drain(name: string): Promise<void> {
    this.calls.push(`drain ${name}`);
    const others = [...this.out].filter((n) => n !== name);
    if (others.length > 0) this.overlaps.push(`${name} drained while ${others.join(', ')} out`);
    this.out.add(name);
  }

  async deleteNode(name: string): Promise<void> {
    this.calls.push(`deleteNode ${name}`);
  }

  async applications(namespace: string): Promise<readonly ApplicationState[]> {
    this.calls.push(`applications ${namespace}`);
    return this.apps;
  }

  async statusHealth(check: StatusCheck): Promise<Observation> {
    this.calls.push(`statusHealth ${check.resource} -n ${check.namespace} ${check.field}`);
    const h = this.ceph();
    return { ok: h === check.healthy, detail: h };
  }

  async namespaceExists(namespace: string): Promise<boolean> {
    return this.namespaces.has(namespace);
  }

  async applySecret(secret: SecretManifest): Promise<void> {
    this.calls.push(`applySecret ${secret.metadata.namespace}/${secret.metadata.name}`);
    this.secrets.push(secret);
  }

  async createBackup(name: string): Promise<void> {
    this.calls.push(`createBackup ${name}`);
  }

  async backupPhase(name: string): Promise<string> {
    this.calls.push(`backupPhase ${name}`);
    return this.backupPhases.length > 1 ? this.backupPhases.shift()! : this.backupPhases[0];
  }

  async bootStatus(): Promise<NodeBootStatus[]> {
    return this.boot;
  }

  async applyBootRbac(): Promise<void> {
    this.calls.push('applyBootRbac');
  }

  /** Whether the cluster saw the spec's nodes (for assertions on the spec in use). */
  get nodeNames(): string[] {
    return this.spec.topology.nodes.map((n) => n.name);
  }
}

/** etcd: one member per controller, healthy unless its node is out; replacements recorded. */
export class FakeEtcd implements EtcdAccess {
  public readonly replacements: { dead: string; replacement: ReplacementMember; machineReplaced: boolean }[] = [];
  constructor(
    private readonly spec: PlatformSpec,
    private readonly cluster: FakeCluster,
  ) {}

  async members(): Promise<readonly EtcdMemberState[]> {
    return this.spec.topology.controllers.map((n, i) => ({ name: n.name, id: `${i + 1}`, started: true, healthy: !this.cluster.out.has(n.name) || this.replacements.some((r) => r.dead === n.name) }));
  }

  async replaceMember(dead: string, replacement: ReplacementMember): Promise<void> {
    this.cluster.calls.push(`etcd replace ${dead} -> ${replacement.peerURL}`);
    this.replacements.push({ dead, replacement, machineReplaced: this.cluster.replacedMachines.has(dead) });
  }
}

/** Options for a lifecycle run against the fakes, with tiny timeouts. */
export function fakeOptions(
  r: { rendered: Rendered; outDir: string },
  fakes: { terraform?: FakeTerraform; cluster?: FakeCluster; etcd?: FakeEtcd },
  extra: Partial<LifecycleOptions> = {},
): LifecycleOptions & { events: StepEvent[]; printed: string[] } {
  const printed: string[] = [];
  const events: StepEvent[] = [];
  return {
    configPath: defaultConfig,
    outDir: r.outDir,
    secretsDir: r.rendered.secretsDir,
    env: { DIGITALOCEAN_TOKEN: 'dop_v1_test', SPACES_ACCESS_KEY_ID: 'AKIATEST', SPACES_SECRET_ACCESS_KEY: 'spaces-secret-test' },
    renderer: 'silent',
    print: (l) => printed.push(l),
    terraform: fakes.terraform,
    cluster: fakes.cluster ? () => fakes.cluster! : undefined,
    etcd: fakes.etcd ? async () => fakes.etcd! : undefined,
    yes: true,
    timeouts: { apiMs: 200, nodesMs: 60, namespaceMs: 50, applicationsMs: 50, nodeReadyMs: 60, gateMs: 40, backupMs: 100, pollMs: 2, drainSeconds: 60 },
    render: async () => r.rendered,
    events,
    printed,
    ...extra,
  };
}

export const resetState = (r: { rendered: Rendered }) => rmSync(join(r.rendered.infraDir, STATE_FILE), { force: true });

/** The ids of events with `status`, in order. */
export const stepsWith = (events: readonly StepEvent[], status: StepEvent['status']) => events.filter((e) => e.status === status).map((e) => e.step);
