import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { DesiredState } from '@keelson/upstream';
import { checkRenderTarget, RENDER_INDEX, RENDER_MARKER, writeDesiredState } from './render';
import { tempDir, treeDigest } from './test-helpers';

const state: DesiredState = {
  applications: [
    {
      name: 'network-cilium',
      parent: 'network',
      wave: 0,
      manifest: {},
      file: 'charts-out/network/application-argocd-network-cilium.yaml',
      project: 'keelson',
      destinationNamespace: 'kube-system',
      type: 'helm',
      repoURL: 'https://helm.cilium.io',
      chartOrPath: 'cilium',
      revision: '1.19.4',
      digest: 'sha256:abc',
      syncOptions: [],
      objectCount: 2,
    },
  ],
  objects: [
    { object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace: 'kube-system' }, data: { 'enable-wireguard': 'true' } }, application: 'network-cilium', wave: 0, namespace: 'kube-system', source: 'helm cilium 1.19.4: templates/cilium-configmap.yaml' },
    { object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hubble-ca', namespace: 'kube-system' }, data: { 'ca.key': 'c2VjcmV0LWtleQ==' } }, application: 'network-cilium', wave: 0, namespace: 'kube-system', source: 'helm cilium 1.19.4: templates/hubble-ca.yaml' },
  ],
};

describe('writeDesiredState', () => {
  it('writes one file per object under its Application, with where it came from, and an index with chart, version, digest and count', () => {
    const into = join(tempDir(), 'desired-out');
    const result = writeDesiredState(state, into);
    expect(result).toEqual({ into, applications: 1, objects: 2 });
    expect(readdirSync(into).sort()).toEqual([RENDER_MARKER, RENDER_INDEX, 'network-cilium'].sort());
    const config = readFileSync(join(into, 'network-cilium/configmap-kube-system-cilium-config.yaml'), 'utf8');
    expect(config.split('\n').slice(0, 2)).toEqual(['# Application: network-cilium, sync wave 0', '# Source: helm cilium 1.19.4: templates/cilium-configmap.yaml']);
    expect(YAML.parse(config).data).toEqual({ 'enable-wireguard': 'true' });
    expect(JSON.parse(readFileSync(join(into, RENDER_INDEX), 'utf8'))).toEqual([
      { name: 'network-cilium', parent: 'network', wave: 0, type: 'helm', repoURL: 'https://helm.cilium.io', source: 'cilium', version: '1.19.4', digest: 'sha256:abc', destinationNamespace: 'kube-system', objects: 2, folder: 'network-cilium' },
    ]);
  });

  it("redacts a Secret's values (a chart's generated keys are not for reading or diffing)", () => {
    const into = join(tempDir(), 'desired-out');
    writeDesiredState(state, into);
    const secret = readFileSync(join(into, 'network-cilium/secret-kube-system-hubble-ca.yaml'), 'utf8');
    expect(secret).not.toContain('c2VjcmV0LWtleQ==');
    expect(YAML.parse(secret).data).toEqual({ 'ca.key': '(redacted: 16 characters)' });
  });

  it('replaces its earlier output whole, and leaves it as it was when writing fails', () => {
    const into = join(tempDir(), 'desired-out');
    writeDesiredState(state, into);
    writeFileSync(join(into, 'network-cilium/stale.yaml'), 'old: true\n');
    writeDesiredState(state, into);
    expect(existsSync(join(into, 'network-cilium/stale.yaml'))).toBe(false);
    const before = treeDigest(into);
    // An object that cannot be written (its data throws when read) fails the run half-way.
    const unwritable = Object.defineProperty({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'z' } }, 'data', { enumerable: true, get: () => { throw new Error('cannot read'); } });
    const broken: DesiredState = { ...state, objects: [...state.objects, { ...state.objects[0], object: unwritable }] };
    expect(() => writeDesiredState(broken, into)).toThrow();
    expect(treeDigest(into)).toEqual(before);
    expect(readdirSync(join(into, '..')).sort()).toEqual(['desired-out']);
  });
});

describe('checkRenderTarget', () => {
  const root = tempDir();
  mkdirSync(join(root, '.git'));
  mkdirSync(join(root, 'charts-out'));
  mkdirSync(join(root, 'docs'));
  writeFileSync(join(root, 'docs/readme.md'), 'mine\n');
  const dirs = { repoRoot: root, owned: [join(root, '.git'), join(root, 'charts-out'), join(root, 'secrets')] };

  it.each([
    [root, 'is'],
    [join(root, '..'), 'holds'],
    [join(root, '.git'), 'is'],
    [join(root, 'charts-out'), 'is'],
  ])('refuses %s, which holds or is a folder render must not replace', (into, verb) => {
    expect(() => checkRenderTarget(into, dirs)).toThrow(new RegExp(`^--into .*: .* ${verb} .*, which render must not replace; choose a folder of its own`));
  });

  it('refuses a folder inside synth output or the secrets bundle, and a non-empty folder it did not write', () => {
    expect(() => checkRenderTarget(join(root, 'charts-out/x'), dirs)).toThrow(/is inside .*charts-out, which render must not write into/);
    expect(() => checkRenderTarget(join(root, 'secrets/keelson/x'), dirs)).toThrow(/is inside .*secrets, which render must not write into/);
    expect(() => checkRenderTarget(join(root, 'docs'), dirs)).toThrow(/is not empty and was not written by keelson render \(no \.keelson-desired-state\); choose a new folder, or empty this one/);
  });

  it('accepts a new folder, an empty one, and its own earlier output', () => {
    expect(() => checkRenderTarget(join(root, 'desired-out'), dirs)).not.toThrow();
    mkdirSync(join(root, 'empty'));
    expect(() => checkRenderTarget(join(root, 'empty'), dirs)).not.toThrow();
    writeDesiredState(state, join(root, 'rendered'));
    expect(() => checkRenderTarget(join(root, 'rendered'), dirs)).not.toThrow();
  });
});

