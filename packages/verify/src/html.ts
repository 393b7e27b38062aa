import type { VerifyReport } from './verify';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const BOX_W = 260;
const GAP = 20;
const PER_ROW = 4;
const LINE = 15;

/**
 * The report as one self-contained HTML file (inline CSS and SVG, nothing
 * fetched): a picture of the nodes with what the proof places on each in the
 * platform's worst case, the failed nodes in red, then every check's table.
 */
export function renderHtmlReport(report: VerifyReport): string {
  const p = report.platform;
  let svg = '';
  if (p) {
    const failed = new Set(p.worst.failedNodes);
    const byNode = new Map<string, string[]>(p.nodes.map((n) => [n.name, []]));
    for (const [service, placement] of Object.entries(p.worst.placements)) {
      for (const [node, count] of Object.entries(placement)) byNode.get(node)?.push(count > 1 ? `${service} x${count}` : service);
    }
    const height = Math.max(...[...byNode.values()].map((s) => s.length), 1) * LINE + 60;
    const rows = Math.ceil(p.nodes.length / PER_ROW);
    const width = Math.min(p.nodes.length, PER_ROW) * (BOX_W + GAP) + GAP;
    const boxes = p.nodes.map((n, i) => {
      const x = GAP + (i % PER_ROW) * (BOX_W + GAP);
      const y = GAP + Math.floor(i / PER_ROW) * (height + GAP);
      const down = failed.has(n.name);
      const services = byNode.get(n.name) ?? [];
      return [
        `<g class="node${down ? ' failed' : ''}" data-node="${esc(n.name)}" data-failed="${down}">`,
        `<rect x="${x}" y="${y}" width="${BOX_W}" height="${height}" rx="6"/>`,
        `<text class="title" x="${x + 10}" y="${y + 20}">${esc(n.name)}${down ? ' — FAILED' : ''}</text>`,
        `<text class="sub" x="${x + 10}" y="${y + 36}">${esc(n.role)}${n.zone ? `, zone ${esc(n.zone)}` : ''}</text>`,
        ...services.map((s, j) => {
          const service = s.replace(/ x\d+$/, '');
          const cls = p.worst.broken.includes(service) ? ' broken' : p.worst.recovering.includes(service) ? ' recovering' : '';
          return `<text class="svc${cls}" x="${x + 10}" y="${y + 56 + j * LINE}">${esc(s.length > 36 ? `${s.slice(0, 35)}…` : s)}</text>`;
        }),
        '</g>',
      ].join('');
    });
    svg = `<svg xmlns="http://www.w3.org/2000/svg" id="platform" width="${width}" height="${rows * (height + GAP) + GAP}" role="img" aria-label="nodes and what runs on them in the worst case">${boxes.join('')}</svg>`;
  }
  const tables = report.checks.map((c) => {
    const rows = (c.rows ?? []).map(
      (r) => `<tr class="row ${r.ok ? 'pass' : 'fail'}" data-name="${esc(r.name)}"><td>${esc(r.name)}</td><td>${r.ok ? 'pass' : 'FAIL'}</td><td>${esc(r.detail)}</td><td>${esc((r.failedNodes ?? []).join(', '))}</td></tr>`,
    );
    const from = (f: { application?: string }) => (f.application ? ` <span class="app" data-application="${esc(f.application)}">[Application ${esc(f.application)}]</span>` : '');
    const findings = c.findings.map((f) => `<li class="finding"><code>${esc(f.file)}</code>${from(f)} ${esc(f.message)}</li>`);
    const warnings = c.warnings.map((f) => `<li class="warning"><code>${esc(f.file)}</code>${from(f)} ${esc(f.message)}</li>`);
    return [
      `<section class="check ${c.ok ? 'pass' : 'fail'}" data-check="${esc(c.check)}">`,
      `<h2>${esc(c.check)} <span class="result">${c.ok ? 'pass' : 'FAIL'}</span></h2><p>${esc(c.summary)}</p>`,
      rows.length ? `<table><thead><tr><th>${c.check === 'fault-tolerance' ? 'service' : 'channel'}</th><th>result</th><th>${c.check === 'fault-tolerance' ? 'worst case' : 'encrypted by'}</th><th>failed nodes</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '',
      findings.length ? `<ul class="findings">${findings.join('')}</ul>` : '',
      warnings.length ? `<ul class="warnings">${warnings.join('')}</ul>` : '',
      '</section>',
    ].join('');
  });
  const apps = (report.applications ?? []).map(
    (a) =>
      `<tr class="application" data-application="${esc(a.name)}"><td>${esc(a.name)}</td><td>${esc(a.parent ?? '')}</td><td>${a.wave}</td><td>${esc(a.type)}</td><td>${esc(a.source)}</td><td>${esc(a.version)}</td><td><code>${esc(a.digest ?? '')}</code></td><td>${a.objects}</td></tr>`,
  );
  const appTable = apps.length
    ? `<section id="applications"><h2>What Argo CD would apply: ${apps.length} Applications</h2><table><thead><tr><th>application</th><th>parent</th><th>wave</th><th>type</th><th>chart or path</th><th>version</th><th>digest</th><th>objects</th></tr></thead><tbody>${apps.join('')}</tbody></table></section>`
    : '';
  const title = `keelson verify: ${report.ok ? 'all checks passed' : `${report.checks.filter((c) => !c.ok).length} of ${report.checks.length} checks failed`}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d232b}
h1{font-size:20px}h2{font-size:16px;margin:0}.result{font-weight:normal}
.check{border:1px solid #ccd;border-radius:6px;padding:10px 14px;margin:12px 0}.check.fail{border-color:#c62828}
.check.fail .result,tr.fail td:nth-child(2){color:#c62828;font-weight:bold}
table{border-collapse:collapse;width:100%;margin-top:6px}td,th{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}
.node rect{fill:#eef6ee;stroke:#2e7d32;stroke-width:2}.node.failed rect{fill:#fdecea;stroke:#c62828;stroke-width:3}
.node text{font-size:12px;fill:#1d232b}.node .title{font-weight:bold;font-size:13px}.node.failed .title{fill:#c62828}.node .sub{fill:#555}.node .broken{fill:#c62828;font-weight:bold}.node .recovering{fill:#b26a00;font-style:italic}
.warning{color:#8a6d00}code{font-size:12px}.app{color:#555}#applications{margin-top:18px}
</style></head><body>
<h1 id="verdict" data-ok="${report.ok}">${esc(title)}</h1>
<p>${esc(report.dir)}: ${report.files} files, ${report.objects} objects.${p ? ` Promise: ${esc(p.description)}. Worst case shown: ${esc(p.worst.failedNodes.join(', ') || 'no node')} fail${p.worst.broken.length ? `, breaking ${esc(p.worst.broken.join(', '))}` : ', every service keeps running'}${p.worst.recovering.length ? `; back within their stated bound: ${esc(p.worst.recovering.join(', '))}` : ''}. Red: failed nodes and broken services; amber: services that come back within their bound.` : ''}</p>
${svg}
${tables.join('\n')}
${appTable}
</body></html>
`;
}
