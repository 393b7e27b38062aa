import { spawn, type ChildProcess } from 'node:child_process';
import { requirePeer, requirePeerData } from '@keelson/upstream';
import type { NodePower } from '../faults';

/**
 * The simulated kubelets' `nodeLeaseDurationSeconds`, a kubelet's default:
 * kwok, like the kubelet, renews the lease every quarter of it (10 s), so
 * the rehearsal's `--node-monitor-grace-period` (20 s) spans two renewals.
 *
 * @see https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/
 * @see https://kwok.sigs.k8s.io/docs/user/kwok-in-cluster/
 */
export const KWOK_LEASE_DURATION_SECONDS = 40;

const running = new Set<ChildProcess>();
let hooked = false;

function killAllSync(): void {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  running.clear();
}

function installExitHooks(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllSync();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/**
 * One kwok process per simulated node, each managing only its own node
 * (selected by the kwok annotation and its hostname label): it keeps the
 * node's status and lease fresh and runs the pods the scheduler places
 * there, as that node's kubelet would. Killing a node's process is the node
 * dying: its lease stops, and the real node-lifecycle controller takes it
 * from there.
 *
 * @see https://kwok.sigs.k8s.io/docs/user/kwok-in-cluster/
 */
export class KwokFleet implements NodePower {
  private readonly processes = new Map<string, ChildProcess>();
  private readonly logs = new Map<string, string[]>();
  private readonly indexes = new Map<string, number>();

  constructor(
    private readonly kubeconfig: string,
    private readonly annotation: string,
  ) {}

  /** Starts (or restarts) the kubelet stand-in of `node`. */
  start(node: string): void {
    const current = this.processes.get(node);
    if (current && current.exitCode === null && current.signalCode === null) return;
    installExitHooks();
    if (!this.indexes.has(node)) this.indexes.set(node, this.indexes.size);
    const i = this.indexes.get(node) as number;
    const child = spawn(
      requirePeer('kwok', 'rehearse'),
      [
        `--kubeconfig=${this.kubeconfig}`,
        `--config=${requirePeerData('kwok', 'stages.yaml', 'rehearse')}`,
        `--manage-nodes-with-annotation-selector=${this.annotation}=fake`,
        `--manage-nodes-with-label-selector=kubernetes.io/hostname=${node}`,
        `--node-ip=10.250.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        // Leases as a kubelet keeps them (renewed every quarter of their duration).
        `--node-lease-duration-seconds=${KWOK_LEASE_DURATION_SECONDS}`,
        `--cidr=10.244.${i % 256}.0/24`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const chunks: string[] = [];
    this.logs.set(node, chunks);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c: string) => {
      chunks.push(c);
      if (chunks.length > 500) chunks.splice(0, chunks.length - 500);
    });
    child.on('exit', () => running.delete(child));
    running.add(child);
    this.processes.set(node, child);
  }

  /** Whether the node's kwok exited on its own (with the tail of its log). */
  crashed(node: string): string | undefined {
    const p = this.processes.get(node);
    if (!p || (p.exitCode === null && p.signalCode === null) || p.signalCode === 'SIGKILL') return undefined;
    return `kwok for ${node} exited (${p.exitCode ?? p.signalCode}): ${(this.logs.get(node) ?? []).join('').trim().split('\n').slice(-5).join('\n')}`;
  }

  /** Kills the node's kubelet stand-in at once, as a power cut would. */
  async kill(node: string): Promise<void> {
    const p = this.processes.get(node);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGKILL');
    await exited;
  }

  async powerOff(nodes: readonly string[]): Promise<void> {
    await Promise.all(nodes.map((n) => this.kill(n)));
  }

  async powerOn(nodes: readonly string[]): Promise<void> {
    for (const n of nodes) this.start(n);
  }

  /** Stops every process. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((n) => this.kill(n)));
  }
}
