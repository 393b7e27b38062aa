import type { RehearsalReport } from './rehearse';

const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
const cores = (millis: number) => `${(millis / 1000).toFixed(2).replace(/\.?0+$/, '')}`;
const pct = (a: number, b: number) => (b > 0 ? `${Math.round((a / b) * 100)}%` : '-');

/** Columns padded to their widest cell, indented by two spaces. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * The rehearsal as a terminal summary: one section per phase (nodes, sync
 * per Application, scheduling per node, each fault scenario per service),
 * then every failure, what was simulated, what a rehearsal cannot show, and
 * the time of each phase.
 */
export function formatRehearsal(report: RehearsalReport): string {
  const out: string[] = [];
  const t = report.timings;
  out.push(
    `keelson rehearse: cluster ${report.cluster}, ${report.nodes.length} simulated nodes, control plane ${report.kubernetesVersion}${report.failureModel ? `, ${report.failureModel.model} (k = ${report.failureModel.k})` : ''}`,
  );
  out.push('');
  out.push(`nodes (${s(t.nodesMs)})`);
  out.push(
    ...table(
      ['NODE', 'ROLE', 'SIZE', 'ZONE', 'CPU', 'MEMORY', 'PODS', 'TAINTS'],
      report.nodes.map((n) => [n.name, n.role, n.size, n.zone ?? '-', cores(n.cpuMillis), gib(n.memoryBytes), String(n.pods), n.taints.join(',') || '-']),
    ),
  );
  out.push('');
  const apps = report.sync.applications;
  const applied = apps.reduce((a, x) => a + x.applied, 0);
  out.push(`sync (${s(t.syncMs)}): ${apps.filter((a) => a.status === 'Synced').length}/${apps.length} Applications synced, ${applied} objects applied, ${report.sync.failures.length} failures`);
  if (report.sync.bootstrap.length > 0) out.push(`  bootstrap: ${report.sync.bootstrap.join('; ')}`);
  if (report.rendering.changes.length > 0) out.push(`  rendered for this API server (as Argo CD's repo server would): ${report.rendering.changes.join('; ')}`);
  out.push(
    ...table(
      ['APPLICATION', 'PARENT', 'WAVE', 'STATUS', 'HEALTH', 'APPLIED', 'DRY-RUN SKIPPED', 'FAILURES', 'TIME'],
      apps.map((a) => [
        a.name,
        a.parent ?? '-',
        String(a.wave),
        a.status,
        a.health,
        String(a.applied),
        String(a.dryRunSkipped),
        String(a.failures.length),
        s(a.durationMs),
      ]),
    ),
  );
  out.push('');
  const sched = report.scheduling;
  if (sched) {
    out.push(`scheduling (${s(t.schedulingMs)}): ${sched.pods.running}/${sched.pods.total} pods of ${sched.workloads.length} Deployments, StatefulSets and DaemonSets Running, ${sched.pending.length} Pending`);
    out.push(
      ...table(
        ['NODE', 'PODS', 'CPU REQUESTED', 'MEMORY REQUESTED'],
        sched.nodes.map((n) => [
          n.node,
          `${n.pods}/${n.podsAllocatable}`,
          `${cores(n.cpuRequestedMillis)}/${cores(n.cpuAllocatableMillis)} (${pct(n.cpuRequestedMillis, n.cpuAllocatableMillis)})`,
          `${gib(n.memoryRequestedBytes)}/${gib(n.memoryAllocatableBytes)} (${pct(n.memoryRequestedBytes, n.memoryAllocatableBytes)})`,
        ]),
      ),
    );
    for (const p of sched.pending) out.push(`  Pending ${p.pod} (${p.workload}): ${p.reason}`);
    out.push('');
  }
  const d = report.disruptions;
  if (d) {
    const blocking = d.budgets.filter((b) => b.blocking);
    out.push(`disruptions (${s(t.disruptionsMs)}): ${d.budgets.length} PodDisruptionBudgets counted by the disruption controller, ${blocking.length} blocking every eviction`);
    out.push(...table(['BUDGET', 'EXPECTED', 'HEALTHY', 'ALLOWED'], d.budgets.filter((b) => b.expectedPods > 0).map((b) => [b.budget, String(b.expectedPods), String(b.currentHealthy), `${b.disruptionsAllowed}${b.blocking ? ' (blocks every drain)' : ''}`])));
    if (d.drain) {
      const evicted = d.drain.pods.filter((p) => p.evicted);
      out.push(`  drained ${d.drain.node} through the eviction API in ${s(d.drain.durationMs)}: ${evicted.length}/${d.drain.pods.length} pods evicted${evicted.some((p) => (p.afterMs ?? 0) > 1500) ? ` (slowest after ${s(Math.max(...evicted.map((p) => p.afterMs ?? 0)))}: a budget made it wait for a replacement)` : ''}`);
      for (const p of d.drain.pods.filter((x) => !x.evicted)) out.push(`  refused: ${p.pod}: ${p.message}`);
    }
    out.push('');
  }
  for (const f of report.faults) {
    const affected = f.workloads.filter((w) => w.status !== 'unaffected');
    out.push(`faults, ${f.name} (${s(f.durationMs)}): ${f.failedNodes.join(', ')} fail; ${affected.length} of ${f.workloads.length} Deployments and StatefulSets had pods there`);
    out.push(`  ${f.nodes.map((n) => `${n.node} NotReady after ${s(n.notReadyMs)}, tainted unreachable after ${s(n.taintedMs)}`).join('; ')}`);
    out.push(
      ...table(
        ['WORKLOAD', 'REPLICAS', 'ON FAILED', 'MIN AVAILABLE', 'STATUS', 'RECOVERED', 'AT PRODUCTION TIMERS', 'TOLERATION'],
        affected.map((w) => [
          w.workload,
          String(w.replicas),
          String(w.podsOnFailedNodes),
          String(w.minAvailable),
          w.status,
          s(w.recoveredMs),
          w.productionEstimateMs === undefined ? '-' : `~${s(w.productionEstimateMs)}`,
          Number.isFinite(w.tolerationSeconds) ? `${w.tolerationSeconds} s (${w.tolerationSource === 'pod' ? 'own' : 'default'})` : 'for ever',
        ]),
      ),
    );
    if (f.quorum && f.quorum.length > 0) {
      out.push('  quorum, counted from the rendered objects on the surviving nodes (no operator runs here):');
      out.push(...table(['SERVICE', 'TOTAL', 'LOST', 'LEFT', 'NEEDS', 'STATUS'], f.quorum.map((q) => [q.service, `${q.total} ${q.noun}`, String(q.lost), String(q.left), String(q.need), q.ok ? 'keeps quorum' : 'LOST'])).map((l) => `  ${l}`));
    }
    for (const w of affected.filter((x) => x.accepted)) out.push(`  ${w.workload} ${w.status}, accepted: ${w.accepted}`);
    if (f.skipped.length > 0) out.push(`  not rehearsed (short of replicas before the fault): ${f.skipped.join(', ')}`);
    out.push('');
  }
  if (report.failures.length > 0) {
    out.push(`failures (${report.failures.length}):`);
    for (const f of report.failures) out.push(`  ${f}`);
    out.push('');
  }
  out.push('simulated:');
  for (const x of report.simulated) out.push(`  - ${x}`);
  out.push('cannot show:');
  for (const x of report.limits) out.push(`  - ${x}`);
  out.push('');
  out.push(`time: control plane ${s(t.controlPlaneMs)}, nodes ${s(t.nodesMs)}, sync ${s(t.syncMs)}, scheduling ${s(t.schedulingMs)}, disruptions ${s(t.disruptionsMs)}, faults ${s(t.faultsMs)}; total ${s(t.totalMs)}`);
  out.push(report.ok ? 'rehearse: PASS' : `rehearse: FAIL (${report.failures.length} failures)`);
  if (report.kept) out.push(`kept running: ${report.kept.url}, kubeconfig ${report.kept.kubeconfig}`);
  return out.join('\n');
}
