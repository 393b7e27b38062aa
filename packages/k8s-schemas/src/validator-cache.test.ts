import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWith, compileValidator, validatorCacheDir } from './internal/custom-resources';

const tempDir = () => mkdtempSync(join(tmpdir(), 'validators-'));

const application = (syncPolicy: Record<string, unknown>) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name: 'platform', namespace: 'argocd' },
  spec: {
    project: 'default',
    source: { repoURL: 'https://github.com/keelson-dev/keelson.git', targetRevision: 'main', path: 'charts-out', directory: { recurse: true } },
    destination: { server: 'https://kubernetes.default.svc', namespace: 'apps' },
    syncPolicy,
  },
});
const pool = (spec: Record<string, unknown>) => ({ apiVersion: 'ceph.rook.io/v1', kind: 'CephBlockPool', metadata: { name: 'replicapool', namespace: 'rook-ceph' }, spec });
const policy = (log: string, toCIDR: string[]) => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'p', namespace: 'default' },
  spec: { endpointSelector: {}, egress: [{ toCIDR, toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }] }], log: { value: log } },
});
const route = (rule: Record<string, unknown>) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'web', namespace: 'apps' },
  spec: { parentRefs: [{ name: 'gateway', namespace: 'traefik' }], rules: [rule] },
});

/** Good and bad custom resources: unknown field, wrong type, missing field, bad enum, RE2 `\PC`, `cidr`, defaults. */
const cases: [string, Record<string, unknown>][] = [
  ['argoproj.io/v1alpha1/Application', application({ automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] })],
  ['argoproj.io/v1alpha1/Application', application({ automated: { prunez: true } })],
  ['ceph.rook.io/v1/CephBlockPool', pool({ failureDomain: 'host', replicated: { size: 3 }, erasureCoded: null })],
  ['ceph.rook.io/v1/CephBlockPool', pool({ replicated: { size: 'three' } })],
  ['ceph.rook.io/v1/CephBlockPool', pool({ replicated: {} })],
  ['ceph.rook.io/v1/CephBlockPool', pool({ replicated: { size: 3 }, compressionMode: 'sometimes' })],
  ['cilium.io/v2/CiliumNetworkPolicy', policy('dns-egress', ['10.0.0.0/8', '2001:db8::/32'])],
  ['cilium.io/v2/CiliumNetworkPolicy', policy('bell\u0007', ['10.0.0.0/33', '10.0.0.0'])],
  ['gateway.networking.k8s.io/v1/HTTPRoute', route({ backendRefs: [{ name: 'web', port: 80 }] })],
  ['gateway.networking.k8s.io/v1/HTTPRoute', route({ matches: [{ path: { type: 'Prefix', value: '/' } }], backendRefs: [{ name: 'web', port: 'http' }] })],
];

describe('validator cache (Ajv standalone code)', () => {
  it('gives the same problems, errors and defaults as a fresh in-memory compile', () => {
    const dir = tempDir();
    const keys = [...new Set(cases.map(([key]) => key))];
    // First pass compiles and writes each kind; the second loads the written code.
    expect(keys.map((key) => compileValidator(key, dir).origin)).toEqual(keys.map(() => 'compiled'));
    const loaded = new Map(keys.map((key) => [key, compileValidator(key, dir)]));
    expect([...loaded.values()].map((v) => v.origin)).toEqual(keys.map(() => 'cache'));
    expect(readdirSync(dir).filter((f) => f.endsWith('.js'))).toHaveLength(keys.length);

    let refused = 0;
    for (const [key, doc] of cases) {
      const fresh = checkWith(compileValidator(key, undefined).validate, structuredClone(doc));
      const cached = checkWith(loaded.get(key)!.validate, structuredClone(doc));
      expect({ key, ...cached }).toEqual({ key, ...fresh });
      if (fresh.problems.length > 0) refused += 1;
    }
    // The set really holds refused documents of each sort, and defaults that were applied.
    expect(refused).toBe(6);
    const [, defaulted] = cases[8];
    expect(checkWith(loaded.get('gateway.networking.k8s.io/v1/HTTPRoute')!.validate, structuredClone(defaulted)).data).toMatchObject({
      spec: { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }] }] },
    });
    const bad = checkWith(loaded.get('cilium.io/v2/CiliumNetworkPolicy')!.validate, structuredClone(cases[7][1])).problems;
    expect(bad.map((p) => p.path)).toEqual(['spec.egress[0].toCIDR[0]', 'spec.egress[0].toCIDR[1]', 'spec.log.value']);
  });

  it('does not trust a damaged or foreign file: compiles again and writes it anew', () => {
    const dir = tempDir();
    const key = 'ceph.rook.io/v1/CephBlockPool';
    compileValidator(key, dir);
    const [file] = readdirSync(dir);
    const good = readFileSync(join(dir, file), 'utf8');

    writeFileSync(join(dir, file), good.slice(0, good.length - 200)); // truncated
    expect(compileValidator(key, dir).origin).toBe('compiled');
    expect(compileValidator(key, dir).origin).toBe('cache'); // written anew

    // Another kind's (intact) validator under this kind's name.
    const other = compileValidator('cilium.io/v2/CiliumNetworkPolicy', dir);
    expect(other.origin).toBe('compiled');
    const otherFile = readdirSync(dir).find((f) => f !== file && f.endsWith('.js'))!;
    writeFileSync(join(dir, file), readFileSync(join(dir, otherFile)));
    const again = compileValidator(key, dir);
    expect(again.origin).toBe('compiled');
    expect(checkWith(again.validate, pool({ replicated: { size: 'three' } })).problems).toEqual([{ path: 'spec.replicated.size', message: 'expected integer; got "three"' }]);

    // Changed code that kept its header: the digest of the code no longer matches.
    writeFileSync(join(dir, file), good.replace('"use strict";', '"use strict";module.exports = () => true;'));
    expect(compileValidator(key, dir).origin).toBe('compiled');
    expect(compileValidator(key, dir).origin).toBe('cache');
  });

  it('works without a cache when the folder cannot be written', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), '');
    const result = compileValidator('ceph.rook.io/v1/CephBlockPool', join(dir, 'file', 'validators'));
    expect(result.origin).toBe('memory');
    expect(checkWith(result.validate, pool({ replicated: {} })).problems).toEqual([{ path: 'spec.replicated.size', message: 'required field is missing' }]);
    expect(readdirSync(dir)).toEqual(['file']);
  });

  it('validateCustomResource fills the cache, then V8 code cache of the loaded code, and reports the same each run', () => {
    const root = tempDir();
    const saved = { ...process.env };
    process.env.KEELSON_CACHE_DIR = root;
    delete process.env.KEELSON_VALIDATOR_CACHE;
    try {
      const run = () => {
        let problems: unknown;
        jest.isolateModules(() => {
          const fresh = jest.requireActual<typeof import('./internal/custom-resources')>('./internal/custom-resources');
          problems = fresh.validateCustomResource('ceph.rook.io/v1/CephBlockPool', pool({ replicated: { size: 'three' } }));
        });
        const dir = join(root, 'validators');
        const files = readdirSync(dir).sort();
        return { problems, files: files.map((f) => f.replace(/^[0-9a-f]{64}\.([0-9a-f]{16}\.)?/, '')).sort(), v8: files.filter((f) => f.endsWith('.v8')).map((f) => statSync(join(dir, f)).mtimeMs) };
      };
      const expected = [{ path: 'spec.replicated.size', message: 'expected integer; got "three"' }];
      expect(run()).toMatchObject({ problems: expected, files: ['js'] });
      const second = run();
      expect(second).toMatchObject({ problems: expected, files: ['js', 'v8'] });
      // V8 took the code cache: not written again.
      expect(run()).toEqual(second);
    } finally {
      process.env = saved;
    }
  });

  it('lives in $KEELSON_CACHE_DIR/validators, else ~/.cache/keelson/validators; KEELSON_VALIDATOR_CACHE names another folder, or 0 turns it off', () => {
    expect(validatorCacheDir({ KEELSON_CACHE_DIR: '/var/cache/k', HOME: '/home/a' })).toBe('/var/cache/k/validators');
    expect(validatorCacheDir({ HOME: '/home/a' })).toBe('/home/a/.cache/keelson/validators');
    expect(validatorCacheDir({ HOME: '/home/a', KEELSON_VALIDATOR_CACHE: '0' })).toBeUndefined();
    expect(validatorCacheDir({ HOME: '/home/a', KEELSON_CACHE_DIR: '/var/cache/k', KEELSON_VALIDATOR_CACHE: '/tmp/run-1/validators' })).toBe('/tmp/run-1/validators');
    // Only an absolute folder: a relative one would land wherever the command runs.
    expect(validatorCacheDir({ HOME: '/home/a', KEELSON_VALIDATOR_CACHE: 'validators' })).toBe('/home/a/.cache/keelson/validators');
    // The tests keep out of the home cache: npm test (or else Jest's global setup) gives the run its own folder, removed
    // after it, unless the caller named one.
    expect(validatorCacheDir()).toBe(process.env.KEELSON_VALIDATOR_CACHE);
    expect(validatorCacheDir()).not.toBe(validatorCacheDir({ ...process.env, KEELSON_VALIDATOR_CACHE: undefined }));
  });
});
