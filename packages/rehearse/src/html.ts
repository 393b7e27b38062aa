import type { FaultScenarioReport } from './faults';
import type { RehearsalReport } from './rehearse';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
const sec = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

const LABEL_W = 380;
const PLOT_W = 560;
const ROW_H = 18;

/** One bar per row on a shared time axis, as SVG. */
function timeline(rows: ReadonlyArray<{ label: string; from: number; to: number; cls: string; title: string; marks?: ReadonlyArray<{ at: number; cls: string; title: string }> }>, spanMs: number, ariaLabel: string): string {
  const scale = (ms: number) => LABEL_W + Math.max(0, Math.min(PLOT_W, (ms / Math.max(spanMs, 1)) * PLOT_W));
  const height = rows.length * ROW_H + 24;
  const ticks: string[] = [];
  const step = spanMs > 240_000 ? 60_000 : spanMs > 60_000 ? 30_000 : 10_000;
  for (let t = 0; t <= spanMs; t += step) {
    ticks.push(`<line x1="${scale(t)}" y1="0" x2="${scale(t)}" y2="${rows.length * ROW_H}" class="tick"/><text x="${scale(t)}" y="${rows.length * ROW_H + 14}" class="axis">${Math.round(t / 1000)} s</text>`);
  }
  const bars = rows.map((r, i) => {
    const y = i * ROW_H;
    const marks = (r.marks ?? []).map((m) => `<line x1="${scale(m.at)}" y1="${y + 1}" x2="${scale(m.at)}" y2="${y + ROW_H - 1}" class="${m.cls}"><title>${esc(m.title)}</title></line>`).join('');
    return (
      `<text x="0" y="${y + 13}" class="label">${esc(r.label)}</text>` +
      `<rect x="${scale(r.from)}" y="${y + 3}" width="${Math.max(2, scale(r.to) - scale(r.from))}" height="${ROW_H - 6}" class="${r.cls}"><title>${esc(r.title)}</title></rect>${marks}`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_W + PLOT_W + 40}" height="${height}" role="img" aria-label="${esc(ariaLabel)}">${ticks.join('')}${bars.join('')}</svg>`;
}

function faultSection(f: FaultScenarioReport): string {
  const affected = f.workloads.filter((w) => w.status !== 'unaffected');
  const span = Math.max(f.durationMs, ...affected.map((w) => w.recoveredMs ?? 0));
  const marks = f.nodes.flatMap((n) => [
    ...(n.notReadyMs !== undefined ? [{ at: n.notReadyMs, cls: 'notready', title: `${n.node} NotReady after ${sec(n.notReadyMs)}` }] : []),
    ...(n.taintedMs !== undefined ? [{ at: n.taintedMs, cls: 'tainted', title: `${n.node} tainted unreachable after ${sec(n.taintedMs)}` }] : []),
  ]);
  const rows = [
    ...f.nodes.map((n) => ({ label: `node ${n.node}`, from: 0, to: span, cls: 'node', title: `${n.node}: failed at 0 s, NotReady after ${sec(n.notReadyMs)}, tainted unreachable after ${sec(n.taintedMs)}`, marks })),
    ...affected.map((w) => {
      const ok = w.status === 'recovered';
      const cls = ok ? 'recovered' : w.accepted ? 'accepted' : 'failed';
      const title = ok
        ? `${w.workload}: every replica back after ${sec(w.recoveredMs)} (about ${sec(w.productionEstimateMs)} at production timers)`
        : `${w.workload}: ${w.status}, ${w.minAvailable} of ${w.replicas} available at worst: ${w.accepted ? `accepted: ${w.accepted}` : (w.reason ?? '')}`;
      return { label: w.workload, from: 0, to: ok ? (w.recoveredMs ?? 0) : span, cls, title, marks };
    }),
  ];
  const quorum = (f.quorum ?? [])
    .map((q) => `<tr class="${q.ok ? 'ok' : 'bad'}"><td>${esc(q.service)}</td><td>${q.total} ${esc(q.noun)}</td><td>${q.lost}</td><td>${q.left}</td><td>${q.need}</td></tr>`)
    .join('');
  const rowsHtml = affected
    .map(
      (w) =>
        `<tr class="${w.status === 'recovered' ? 'ok' : w.accepted ? 'accepted' : 'bad'}"><td>${esc(w.workload)}</td><td>${w.replicas}</td><td>${w.podsOnFailedNodes}</td><td>${w.minAvailable}</td><td>${esc(w.status)}</td><td>${sec(w.recoveredMs)}</td><td>${w.productionEstimateMs === undefined ? '-' : `~${sec(w.productionEstimateMs)}`}</td><td>${esc(w.accepted ? `accepted: ${w.accepted}` : (w.reason ?? ''))}</td></tr>`,
    )
    .join('');
  return `<h2>Faults: ${esc(f.name)} (${esc(f.failedNodes.join(', '))})</h2>
<p>Bars run from the failure to every replica available again; red bars never recovered, amber ones are outages within the promise. Ticks: the failed nodes NotReady (dashed) and tainted unreachable (solid).</p>
${timeline(rows, span, `failure timeline of ${f.name}`)}
<table><tr><th>workload</th><th>replicas</th><th>on failed</th><th>min available</th><th>status</th><th>recovered</th><th>at production timers</th><th>why</th></tr>${rowsHtml}</table>
${quorum ? `<h3>Quorum on the survivors (counted from the rendered objects)</h3><table><tr><th>service</th><th>total</th><th>lost</th><th>left</th><th>needs</th></tr>${quorum}</table>` : ''}`;
}

/**
 * The rehearsal as one self-contained HTML file (inline CSS and SVG,
 * nothing fetched): the sync timeline (each Application from its start to
 * healthy, failures in red), requested against allocatable per node, the
 * PodDisruptionBudgets and the drain, then each fault scenario's failure
 * timeline, every failure, and what was simulated.
 */
export function renderRehearsalHtml(report: RehearsalReport): string {
  const apps = report.sync.applications;
  const syncSpan = Math.max(1, ...apps.map((a) => a.startMs + a.durationMs));
  const syncRows = apps.map((a) => ({
    label: `${a.parent ? '  ' : ''}${a.name} (wave ${a.wave})`,
    from: a.startMs,
    to: a.startMs + a.durationMs,
    cls: a.status === 'Synced' ? 'recovered' : 'failed',
    title: `${a.name}: ${a.status}, ${a.health}, ${a.applied} objects applied in ${sec(a.durationMs)}${a.failures.length > 0 ? `: ${a.failures.map((f) => `${f.object}: ${f.stage}: ${f.message}`).join('; ')}` : ''}`,
  }));
  const nodes = (report.scheduling?.nodes ?? [])
    .map(
      (n) =>
        `<tr><td>${esc(n.node)}</td><td>${n.pods}/${n.podsAllocatable}</td><td>${(n.cpuRequestedMillis / 1000).toFixed(2)}/${(n.cpuAllocatableMillis / 1000).toFixed(2)}</td><td>${(n.memoryRequestedBytes / 1024 ** 3).toFixed(1)}/${(n.memoryAllocatableBytes / 1024 ** 3).toFixed(1)} GiB</td></tr>`,
    )
    .join('');
  const d = report.disruptions;
  const budgets = (d?.budgets ?? [])
    .filter((b) => b.expectedPods > 0)
    .map((b) => `<tr class="${b.blocking ? 'bad' : 'ok'}"><td>${esc(b.budget)}</td><td>${b.expectedPods}</td><td>${b.currentHealthy}</td><td>${b.disruptionsAllowed}</td></tr>`)
    .join('');
  const t = report.timings;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>keelson rehearse: ${esc(report.cluster)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}
tr.bad td{background:#fde2e2}tr.accepted td{background:#fff4d6}
.label{font:12px monospace;white-space:pre}.axis{font:11px sans-serif;fill:#666}.tick{stroke:#eee}
.recovered{fill:#4caf50}.failed{fill:#e53935}.accepted{fill:#ffb300}.node{fill:#9e9e9e}
.notready{stroke:#000;stroke-dasharray:2,2}.tainted{stroke:#000}
.verdict{font-size:1.3em;font-weight:bold}.pass{color:#2e7d32}.fail{color:#c62828}
</style></head><body>
<h1>keelson rehearse: ${esc(report.cluster)}</h1>
<p class="verdict ${report.ok ? 'pass' : 'fail'}">${report.ok ? 'PASS' : `FAIL (${report.failures.length} failures)`}</p>
<p>${report.nodes.length} simulated nodes, control plane ${esc(report.kubernetesVersion)}${report.failureModel ? `, ${esc(report.failureModel.description)}` : ''}. Time: control plane ${sec(t.controlPlaneMs)}, nodes ${sec(t.nodesMs)}, sync ${sec(t.syncMs)}, scheduling ${sec(t.schedulingMs)}, disruptions ${sec(t.disruptionsMs)}, faults ${sec(t.faultsMs)}; total ${sec(t.totalMs)}.</p>
${report.failures.length > 0 ? `<h2>Failures</h2><ul>${report.failures.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : ''}
<h2>Sync timeline</h2>
<p>${apps.filter((a) => a.status === 'Synced').length}/${apps.length} Applications synced the way Argo CD would, in waves; each bar from the start of its sync to healthy.</p>
${timeline(syncRows, syncSpan, 'sync timeline')}
<h2>Scheduling</h2>
<table><tr><th>node</th><th>pods</th><th>CPU requested/allocatable</th><th>memory</th></tr>${nodes}</table>
${d ? `<h2>Disruptions</h2><table><tr><th>budget</th><th>expected</th><th>healthy</th><th>allowed</th></tr>${budgets}</table>${d.drain ? `<p>Drained ${esc(d.drain.node)} through the eviction API in ${sec(d.drain.durationMs)}: ${d.drain.pods.filter((p) => p.evicted).length}/${d.drain.pods.length} pods evicted.</p>` : ''}` : ''}
${report.faults.map(faultSection).join('\n')}
<h2>Simulated</h2><ul>${report.simulated.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>
<h2>What a rehearsal cannot show</h2><ul>${report.limits.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>
</body></html>
`;
}
