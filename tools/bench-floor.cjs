// The floor synth is measured against: a plain Node script that writes the
// same number of Kubernetes-shaped objects, one YAML file each, with `yaml`.
//   node tools/bench-floor.cjs <objects> <outDir>
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const YAML = require('yaml');

const [count, out] = [Number(process.argv[2]), process.argv[3]];
mkdirSync(out, { recursive: true });
for (let i = 0; i < count; i++) {
  const object = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: `namespace-${i}`,
      labels: {
        'app.kubernetes.io/part-of': 'keelson',
        'keelson.dev/layer': 'apps',
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'v1.36',
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/audit-version': 'v1.36',
      },
    },
  };
  writeFileSync(join(out, `namespace-${i}.yaml`), YAML.stringify(object, { aliasDuplicateObjects: false }));
}
