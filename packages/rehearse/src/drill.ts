import { existsSync, readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { CloudApiRequest, CloudPower, PlatformSpec } from '@keelson/platform-spec';
import { verifyPlatform } from '@keelson/verify';
import { RehearsalInputError, requireRendered } from './errors';
import { PRODUCTION_TIMERS, restoreNodes, runFaultScenario, type FaultScenarioReport, type FaultTimers, type NodePower } from './faults';
import { ApiClient } from './internal/api';
import { seconds, sleep } from './internal/util';

/** An HTTP(S) endpoint a drill keeps asking while the nodes are down. */
export interface DrillProbeTarget {
  /** `www.example.org`. */
  readonly name: string;
  /** `https://www.example.org/`: a `GET` answered with a status under 500 counts as up. */
  readonly url: string;
}

export interface DrillOptions {
  /** The rendered GitOps folder (`charts-out/`): verify's worst case is computed from it. */
  readonly chartsDir: string;
  /** `infra-out/`: the node configs verify reads the failure domains from. */
  readonly infraDir: string;
  /** The live cluster's admin kubeconfig (JSON or YAML, certificates inline); not read by a dry run. */
  readonly kubeconfig?: string;
  /** What powers the nodes off and on: the cloud's power actions (`NodeProvider.cloudPower`). */
  readonly power: CloudPower;
  /**
   * The public services to probe through the ingress, besides the API server's `/readyz`.
   * @default - https://<host>/ of each enabled app (the website, Nextcloud, the media server)
   */
  readonly probes?: readonly DrillProbeTarget[];
  /** Only return the plan: no request to the cloud or the cluster. @default false */
  readonly dryRun?: boolean;
  /** The nodes to power off. @default - the worst case `keelson verify` names */
  readonly failNodes?: readonly string[];
  /**
   * The node-failure timers the cluster runs with.
   * @default PRODUCTION_TIMERS — Kubernetes' defaults, which Keelson's kubeadm config keeps
   */
  readonly timers?: FaultTimers;
  /** How long to wait for the workloads to recover. @default - the fault engine's estimate, at most 5 minutes */
  readonly maxWaitMs?: number;
  /** How long to wait for the nodes to be Ready again after the power-on. @default 600000 */
  readonly restoreTimeoutMs?: number;
  /** How often each probe asks. @default 2000 */
  readonly probeIntervalMs?: number;
  /** The longest outage of a probe that still counts as keeping the service. @default 0 — any failed probe is a failure */
  readonly toleratedOutageMs?: number;
  /** A line per step. */
  readonly onProgress?: (line: string) => void;
}

/** What one probe saw from just before the power-off until the nodes were back. */
export interface ProbeReport {
  readonly name: string;
  readonly url: string;
  readonly checks: number;
  readonly failedChecks: number;
  /** The longest outage: from the first failed check to the next good one (to the end when none came). */
  readonly longestOutageMs: number;
  /** All outages together. */
  readonly totalDownMs: number;
  /** Milliseconds from the power-off until its last outage ended; absent when it never failed. */
  readonly recoveredAfterMs?: number;
  /** Still failing when the drill ended. */
  readonly downAtEnd: boolean;
  /** The first failure: the status or the error. */
  readonly firstFailure?: string;
}

/** What a drill would do (a dry run) or did. */
export interface DrillPlan {
  readonly nodes: readonly string[];
  /** The cloud requests that power them off, then on, in order. */
  readonly powerOff: readonly CloudApiRequest[];
  readonly powerOn: readonly CloudApiRequest[];
  /** What is probed every `probeIntervalMs` while they are down. */
  readonly probes: readonly DrillProbeTarget[];
}

export interface DrillReport {
  /** Every workload recovered, every probe kept within the tolerated outage, every node back. */
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly cluster: string;
  readonly provider: string;
  /** The failure model and k, as `keelson verify` reads them. */
  readonly failureModel?: { readonly model: string; readonly k: number; readonly description: string };
  readonly plan: DrillPlan;
  readonly timers: FaultTimers;
  /** Each probe's downtime and time to recover (empty in a dry run). */
  readonly probes: readonly ProbeReport[];
  /** Each Deployment's and StatefulSet's recovery, from the fault engine (absent in a dry run). */
  readonly fault?: FaultScenarioReport;
  /** Milliseconds from the power-on until the nodes were Ready again. */
  readonly restoredMs?: number;
  readonly failures: readonly string[];
  readonly durationMs: number;
}

/** The drill did not start: the cluster is not healthy. Nothing was powered off. */
export class DrillRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DrillRefusedError';
  }
}

/** `https://<host>/` of each enabled public app. */
export function publicProbes(spec: PlatformSpec): DrillProbeTarget[] {
  const { apps, domain } = spec.config;
  const host = (h: string) => (h === '@' ? domain : `${h}.${domain}`);
  return [apps.website, apps.nextcloud, apps.media].filter((a) => a.enabled).map((a) => ({ name: host(a.host), url: `https://${host(a.host)}/` }));
}

type LiveNode = { metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } };
type LiveWorkload = { metadata: { name: string; namespace: string }; spec?: { replicas?: number }; status?: { availableReplicas?: number; readyReplicas?: number } };

const ready = (n: LiveNode) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** What keeps the cluster from being a fair starting point: NotReady nodes, workloads not fully available, nodes to fail that do not exist. */
async function clusterProblems(api: ApiClient, failNodes: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  const nodes = await api.list<LiveNode>('/api/v1/nodes');
  for (const n of nodes) if (!ready(n)) problems.push(`node ${n.metadata.name} is not Ready`);
  const names = new Set(nodes.map((n) => n.metadata.name));
  for (const n of failNodes) if (!names.has(n)) problems.push(`node ${n} (to power off) is not in the cluster`);
  for (const [kind, path] of [
    ['Deployment', '/apis/apps/v1/deployments'],
    ['StatefulSet', '/apis/apps/v1/statefulsets'],
  ] as const) {
    for (const w of await api.list<LiveWorkload>(path)) {
      const want = w.spec?.replicas ?? 1;
      const have = kind === 'StatefulSet' ? (w.status?.availableReplicas ?? w.status?.readyReplicas ?? 0) : (w.status?.availableReplicas ?? 0);
      if (have < want) problems.push(`${kind} ${w.metadata.namespace}/${w.metadata.name} has ${have}/${want} replicas available`);
    }
  }
  return problems;
}

/** One probe, asking every `intervalMs` until stopped. */
class Probe {
  private readonly samples: Array<{ at: number; up: boolean; detail: string }> = [];
  private running = true;
  private loop?: Promise<void>;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly check: () => Promise<{ up: boolean; detail: string }>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const started = Date.now();
        const result = await this.check().catch((e: Error) => ({ up: false, detail: `${e.message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}` }));
        this.samples.push({ at: started, ...result });
        if (this.running) await sleep(Math.max(0, this.intervalMs - (Date.now() - started)));
      }
    })();
  }

  /** Stops it and sums up its outages, timed from `t0` (the power-off). */
  async stop(t0: number): Promise<ProbeReport> {
    this.running = false;
    await this.loop;
    const end = Date.now();
    let open: number | undefined;
    let longest = 0;
    let total = 0;
    let lastEnd: number | undefined;
    for (const s of this.samples) {
      if (!s.up && open === undefined) open = s.at;
      if (s.up && open !== undefined) {
        longest = Math.max(longest, s.at - open);
        total += s.at - open;
        lastEnd = s.at;
        open = undefined;
      }
    }
    const downAtEnd = open !== undefined;
    if (open !== undefined) {
      longest = Math.max(longest, end - open);
      total += end - open;
    }
    const failed = this.samples.filter((s) => !s.up);
    return {
      name: this.name,
      url: this.url,
      checks: this.samples.length,
      failedChecks: failed.length,
      longestOutageMs: longest,
      totalDownMs: total,
      ...(lastEnd !== undefined && !downAtEnd ? { recoveredAfterMs: Math.max(0, lastEnd - t0) } : {}),
      downAtEnd,
      ...(failed.length > 0 ? { firstFailure: failed[0].detail } : {}),
    };
  }
}

async function httpCheck(url: string, timeoutMs: number): Promise<{ up: boolean; detail: string }> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  return { up: res.status < 500, detail: `HTTP ${res.status}` };
}

/** The API server's URL in a kubeconfig (its current context's cluster), for the plan. */
function serverOf(kubeconfig: string): string | undefined {
  try {
    const c = YAML.parse(readFileSync(kubeconfig, 'utf8')) as { 'current-context'?: string; contexts?: Array<{ name: string; context: { cluster: string } }>; clusters?: Array<{ name?: string; cluster: { server: string } }> };
    const name = c.contexts?.find((x) => x.name === c['current-context'])?.context.cluster;
    return (name ? c.clusters?.find((x) => x.name === name) : c.clusters?.[0])?.cluster.server;
  } catch {
    return undefined;
  }
}

/**
 * The fault drill on a live cluster, Keelson's promise taken literally: the
 * worst-case `k` nodes `keelson verify` names are powered off through the
 * cloud's API while every public service is probed through the ingress and
 * the API server through `/readyz`, each Deployment's and StatefulSet's
 * recovery is timed by the same fault engine as a rehearsal's, and the
 * nodes are powered back on, always: on success, on an error and on
 * Ctrl-C (SIGINT, SIGTERM, SIGHUP).
 *
 * Refuses to start (`DrillRefusedError`) unless every node is Ready and
 * every Deployment and StatefulSet has every replica available. With
 * `dryRun`, returns the plan (each cloud request, the probes, the nodes)
 * and sends nothing anywhere.
 */
export async function drill(spec: PlatformSpec, options: DrillOptions): Promise<DrillReport> {
  const t0 = Date.now();
  const progress = (line: string) => options.onProgress?.(line);
  requireRendered('drill', options.chartsDir, options.infraDir, (what) => `the worst case is read from ${what}`);
  const proof = verifyPlatform(spec, { chartsDir: options.chartsDir, infraDir: options.infraDir });
  const failureModel = proof.platform ? { model: proof.platform.model, k: proof.platform.k, description: proof.platform.description } : undefined;
  const nodes = [...(options.failNodes ?? proof.platform?.worst.failedNodes ?? [])];
  if (nodes.length === 0) throw new RehearsalInputError('drill: keelson verify names no worst-case node set (a platform of fewer than 3 nodes tolerates no failure); there is nothing to drill');
  const timers = options.timers ?? PRODUCTION_TIMERS;
  const interval = options.probeIntervalMs ?? 2000;
  const targets = options.probes ?? publicProbes(spec);
  const apiServer = (options.kubeconfig && existsSync(options.kubeconfig) && serverOf(options.kubeconfig)) || `https://api.${spec.config.domain}:6443`;
  const plan: DrillPlan = {
    nodes,
    powerOff: options.power.plan('powerOff', nodes),
    powerOn: options.power.plan('powerOn', nodes),
    probes: [...targets, { name: 'kube-apiserver', url: `${apiServer}/readyz` }],
  };
  const base = { cluster: spec.config.cluster.name, provider: spec.config.provider.name, ...(failureModel ? { failureModel } : {}), plan, timers };
  if (options.dryRun) return { ...base, ok: true, dryRun: true, probes: [], failures: [], durationMs: Date.now() - t0 };
  if (!options.kubeconfig) throw new RehearsalInputError('drill: no kubeconfig for the live cluster; pass the admin kubeconfig keelson deploy wrote');

  const api = new ApiClient(options.kubeconfig);
  const power = options.power;
  let poweredOff = false;
  let poweringOn: Promise<void> | undefined;
  const powerOn = () => (poweringOn ??= power.powerOn(nodes));
  const tracked: NodePower = {
    powerOff: async (n) => {
      poweredOff = true;
      progress(`powering off ${n.join(', ')} through the ${spec.config.provider.name} API`);
      await power.powerOff(n);
    },
    powerOn: async () => {
      progress(`powering ${nodes.join(', ')} back on through the ${spec.config.provider.name} API`);
      await powerOn();
    },
  };
  const onSignal = (signal: NodeJS.Signals) => {
    detach();
    progress(`${signal}: powering ${nodes.join(', ')} back on before exiting`);
    const exit = () => process.kill(process.pid, signal);
    if (poweredOff) powerOn().then(exit, (e: Error) => {
      process.stderr.write(`drill: could not power ${nodes.join(', ')} back on: ${e.message}; power them on in the cloud's console\n`);
      exit();
    });
    else exit();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const detach = () => signals.forEach((s) => process.removeListener(s, onSignal));
  const probes: Probe[] = [];
  let faultAt = Date.now();
  const run = async (): Promise<DrillReport> => {
    const problems = await clusterProblems(api, nodes);
    if (problems.length > 0) {
      throw new DrillRefusedError(`drill: the cluster is not healthy, so losing ${nodes.join(', ')} would not show what the platform survives; nothing was powered off:\n  ${problems.join('\n  ')}`);
    }
    progress(`cluster healthy; probing ${plan.probes.map((p) => p.name).join(', ')} every ${interval / 1000} s`);
    signals.forEach((s) => process.on(s, onSignal));
    for (const t of targets) probes.push(new Probe(t.name, t.url, () => httpCheck(t.url, 5000), interval));
    probes.push(
      new Probe('kube-apiserver', `${apiServer}/readyz`, async () => {
        const res = await api.request('GET', '/readyz');
        return { up: res.status === 200, detail: `HTTP ${res.status}` };
      }, interval),
    );
    probes.forEach((p) => p.start());
    faultAt = Date.now();
    const fault = await runFaultScenario(api, tracked, { name: 'drill', failedNodes: nodes }, { timers, production: timers, onProgress: progress, ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}) });
    const back = Date.now();
    await restoreNodes(api, tracked, nodes, options.restoreTimeoutMs ?? 600_000);
    const restoredMs = Date.now() - back;
    const live = await api.list<LiveNode>('/api/v1/nodes');
    const notBack = nodes.filter((n) => !live.some((l) => l.metadata.name === n && ready(l)));
    progress(notBack.length === 0 ? `${nodes.join(', ')} Ready again after ${seconds(restoredMs)}` : `${notBack.join(', ')} not Ready ${seconds(restoredMs)} after the power-on`);
    const probeReports = await Promise.all(probes.map((p) => p.stop(faultAt)));
    const tolerated = options.toleratedOutageMs ?? 0;
    const failures: string[] = [];
    for (const w of fault.workloads) if (w.status === 'degraded' || w.status === 'down') failures.push(`faults: ${w.workload} is ${w.status} (${w.minAvailable} of ${w.replicas} available at worst): ${w.reason}`);
    for (const p of probeReports) {
      if (p.downAtEnd) failures.push(`probe ${p.name}: still down when the drill ended (${p.firstFailure})`);
      else if (p.longestOutageMs > tolerated) failures.push(`probe ${p.name}: down for ${seconds(p.longestOutageMs)} at longest, ${seconds(p.totalDownMs)} in all (${p.failedChecks} of ${p.checks} checks failed; first: ${p.firstFailure})`);
    }
    for (const n of notBack) failures.push(`restore: ${n} is not Ready ${seconds(restoredMs)} after its power-on`);
    return { ...base, ok: failures.length === 0, dryRun: false, probes: probeReports, fault, restoredMs, failures, durationMs: Date.now() - t0 };
  };
  const outcome = await run().then(
    (report) => ({ report }),
    (error: unknown) => ({ error }),
  );
  // Whatever happened, the nodes go back on.
  detach();
  await Promise.all(probes.map((p) => p.stop(faultAt)));
  let notOn: Error | undefined;
  if (poweredOff) await powerOn().catch((e: Error) => (notOn = e));
  api.close();
  const notOnMessage = notOn && `drill: could not power ${nodes.join(', ')} back on: ${notOn.message}; power them on in the cloud's console`;
  if ('error' in outcome) {
    if (notOnMessage) progress(notOnMessage);
    throw outcome.error;
  }
  if (notOnMessage) throw new Error(notOnMessage);
  return outcome.report;
}

/** The drill's summary, for a terminal. */
export function formatDrill(report: DrillReport): string {
  const lines: string[] = [];
  const req = (r: CloudApiRequest) => `    ${r.method} ${r.url}${r.body !== undefined ? ` ${JSON.stringify(r.body)}` : ''}  (${r.purpose})`;
  lines.push(`drill${report.dryRun ? ' (dry run: nothing sent)' : ''}: ${report.cluster} on ${report.provider}; power off ${report.plan.nodes.join(', ')}${report.failureModel ? ` (verify's worst case, ${report.failureModel.description})` : ''}`);
  if (report.dryRun) {
    lines.push('  power off, each request with Authorization: Bearer <token>:', ...report.plan.powerOff.map(req));
    lines.push(`  probe every few seconds while they are down: ${report.plan.probes.map((p) => p.url).join(', ')}`);
    lines.push('  then power on:', ...report.plan.powerOn.map(req));
    lines.push(`  timers: node-monitor-grace-period ${report.timers.nodeMonitorGracePeriodSeconds}s, default toleration ${report.timers.defaultTolerationSeconds}s`);
    return lines.join('\n');
  }
  lines.push('  PROBE                     CHECKS  FAILED  LONGEST OUTAGE  DOWN IN ALL  RECOVERED AFTER');
  for (const p of report.probes) {
    lines.push(`  ${p.name.padEnd(24)}  ${String(p.checks).padEnd(6)}  ${String(p.failedChecks).padEnd(6)}  ${seconds(p.longestOutageMs).padEnd(14)}  ${seconds(p.totalDownMs).padEnd(11)}  ${p.downAtEnd ? 'still down' : p.recoveredAfterMs !== undefined ? seconds(p.recoveredAfterMs) : '-'}`);
  }
  if (report.fault) {
    const affected = report.fault.workloads.filter((w) => w.status !== 'unaffected');
    lines.push(`  ${affected.length} of ${report.fault.workloads.length} Deployments and StatefulSets had pods on the powered-off nodes`);
    for (const n of report.fault.nodes) lines.push(`  ${n.node}: NotReady after ${n.notReadyMs !== undefined ? seconds(n.notReadyMs) : '-'}, tainted unreachable after ${n.taintedMs !== undefined ? seconds(n.taintedMs) : '-'}`);
    for (const w of affected) lines.push(`  ${w.workload.padEnd(50)} ${w.status.padEnd(9)} ${w.recoveredMs !== undefined ? `recovered after ${seconds(w.recoveredMs)}` : ''}${w.downMs ? `, no replica for ${seconds(w.downMs)}` : ''}`);
  }
  if (report.restoredMs !== undefined) lines.push(`  nodes Ready again ${seconds(report.restoredMs)} after the power-on`);
  if (report.failures.length > 0) lines.push(`failures (${report.failures.length}):`, ...report.failures.map((f) => `  ${f}`));
  lines.push(`drill: ${report.ok ? 'OK' : `FAIL (${report.failures.length} failures)`} in ${seconds(report.durationMs)}`);
  return lines.join('\n');
}
