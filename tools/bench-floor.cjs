// The floor synth is measured against: a plain Node script that writes the
// same objects synth wrote, in the same tree, one file each, with the same
// serializers (`yaml` for charts-out/, JSON for infra-out/) and nothing else.
//   node tools/bench-floor.cjs <objects.json> <outDir>
// <objects.json> is made from a synth's output by tools/bench.mjs (untimed):
// [{ path, yaml: [object, ...] } | { path, json: value, indent } | { path, text }].
// The bytes written are synth's, file for file (tools/bench.mjs checks).
//
// The floor before issue 25's change wrote as many small Namespace objects as
// synth writes files, whatever their size; it stays for comparison:
//   node tools/bench-floor.cjs --namespaces <count> <outDir>
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const YAML = require('yaml');

const YAML_OPTIONS = { aliasDuplicateObjects: false, lineWidth: 0 };

function sameObjects(snapshot, out) {
  const files = JSON.parse(readFileSync(snapshot, 'utf8'));
  const made = new Set();
  for (const f of files) {
    const file = join(out, f.path);
    const dir = dirname(file);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    const content = f.yaml
      ? f.yaml.map((o) => YAML.stringify(o, YAML_OPTIONS)).join('---\n')
      : f.json !== undefined
        ? `${JSON.stringify(f.json, null, f.indent)}${f.indent ? '\n' : ''}`
        : f.text;
    writeFileSync(file, content);
  }
}

function namespaces(count, out) {
  mkdirSync(out, { recursive: true });
  for (let i = 0; i < count; i++) {
    const labels = {
      'app.kubernetes.io/part-of': 'keelson',
      'keelson.dev/layer': 'apps',
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'v1.36',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/audit-version': 'v1.36',
    };
    const object = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `namespace-${i}`, labels } };
    writeFileSync(join(out, `namespace-${i}.yaml`), YAML.stringify(object, { aliasDuplicateObjects: false }));
  }
}

if (process.argv[2] === '--namespaces') namespaces(Number(process.argv[3]), process.argv[4]);
else sameObjects(process.argv[2], process.argv[3]);
