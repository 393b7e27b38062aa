import { ApiObject, App, Chart } from 'cdk8s';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTreeAtomically } from './output-trees';
import { renderCharts, yamlDocuments } from './render';

function appWith(objects: Record<string, Array<{ kind: string; name: string; namespace?: string; data?: unknown }>>): App {
  const app = new App();
  for (const [folder, list] of Object.entries(objects)) {
    const chart = new Chart(app, folder, { disableResourceNameHashes: true });
    list.forEach((o, i) =>
      new ApiObject(chart, `o${i}`, {
        apiVersion: 'v1',
        kind: o.kind,
        metadata: { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) },
        ...(o.data ? { data: o.data } : {}),
      }),
    );
  }
  return app;
}

describe('renderCharts', () => {
  it('writes one file per object under its chart folder, sorted', () => {
    const files = renderCharts(
      appWith({ storage: [{ kind: 'Namespace', name: 'rook-ceph' }, { kind: 'ConfigMap', name: 'x', namespace: 'rook-ceph' }], apps: [{ kind: 'Namespace', name: 'emby' }] }),
    );
    expect(files.map((f) => f.path)).toEqual(['apps/namespace-emby.yaml', 'storage/configmap-rook-ceph-x.yaml', 'storage/namespace-rook-ceph.yaml']);
    expect(files[0].content).toBe('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: emby\n');
  });

  it('writes shared values in full, never as YAML anchors', () => {
    const shared = { key: { deep: 'value' } };
    const files = renderCharts(appWith({ a: [{ kind: 'ConfigMap', name: 'one', namespace: 'n', data: { a: shared, b: shared } }] }));
    expect(files[0].content).not.toMatch(/[&*]a\d/);
    expect(files[0].content.match(/deep: value/g)).toHaveLength(2);
  });

  it('renders the same bytes twice', () => {
    const build = () => renderCharts(appWith({ a: [{ kind: 'Namespace', name: 'x' }, { kind: 'Namespace', name: 'y' }] }));
    expect(build()).toEqual(build());
  });

  it('fails when two objects would share a file', () => {
    expect(() => renderCharts(appWith({ a: [{ kind: 'Namespace', name: 'x' }, { kind: 'Namespace', name: 'x' }] }))).toThrow(
      /would both be written to a\/namespace-x\.yaml; give one a different metadata\.name/,
    );
  });
});

describe('writeTreeAtomically', () => {
  const parent = () => mkdtempSync(join(tmpdir(), 'keelson-render-'));

  it('replaces the folder with exactly the new files', () => {
    const dir = parent();
    writeTreeAtomically({ parent: dir, name: 'out', files: [{ path: 'a/old.yaml', content: 'old' }] });
    writeTreeAtomically({ parent: dir, name: 'out', files: [{ path: 'b/new.yaml', content: 'new' }] });
    expect(readdirSync(join(dir, 'out'))).toEqual(['b']);
    expect(readFileSync(join(dir, 'out/b/new.yaml'), 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['out']);
  });

  it('leaves the previous output untouched when writing fails', () => {
    const dir = parent();
    writeTreeAtomically({ parent: dir, name: 'out', files: [{ path: 'a/keep.yaml', content: 'keep' }] });
    // 'x' as a file and as a folder cannot both exist: the second write fails midway.
    expect(() =>
      writeTreeAtomically({ parent: dir, name: 'out', files: [{ path: 'x', content: '1' }, { path: 'x/y.yaml', content: '2' }] }),
    ).toThrow(/ENOTDIR|EEXIST/);
    expect(readFileSync(join(dir, 'out/a/keep.yaml'), 'utf8')).toBe('keep');
    expect(readdirSync(dir)).toEqual(['out']);
  });

  it('writes secret trees with private modes', () => {
    const dir = parent();
    writeTreeAtomically({ parent: dir, name: 'secret', mode: 0o700, files: [{ path: 'k/key.pem', content: 'k', mode: 0o600 }] });
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'secret/k')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'secret/k/key.pem')).mode & 0o777).toBe(0o600);
  });

  it('creates the parent folder when it does not exist', () => {
    const dir = join(parent(), 'new', 'deeper');
    writeTreeAtomically({ parent: dir, name: 'out', files: [{ path: 'f.yaml', content: 'x' }] });
    expect(existsSync(join(dir, 'out/f.yaml'))).toBe(true);
  });

  it('keeps unrelated siblings', () => {
    const dir = parent();
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other/file'), 'x');
    writeTreeAtomically({ parent: dir, name: 'out', files: [{ path: 'f.yaml', content: 'x' }] });
    expect(readdirSync(dir).sort()).toEqual(['other', 'out']);
  });
});

describe('writeTreeAtomically with keep', () => {
  it('carries over the entries it is told to keep (Terraform state beside the rendered configuration) and drops the rest', () => {
    const parent = mkdtempSync(join(tmpdir(), 'keelson-keep-'));
    const target = join(parent, 'infra-out');
    const keepTerraform = (name: string) => name !== 'stale.json';
    writeTreeAtomically({ parent, name: 'infra-out', files: [{ path: 'main.tf.json', content: '{"v":1}' }] });
    writeFileSync(join(target, 'terraform.tfstate'), 'state', { mode: 0o600 });
    mkdirSync(join(target, '.terraform', 'providers'), { recursive: true });
    writeFileSync(join(target, '.terraform', 'providers', 'p'), 'provider');
    writeFileSync(join(target, 'stale.json'), 'old');
    writeTreeAtomically({ parent, name: 'infra-out', keep: keepTerraform, files: [{ path: 'main.tf.json', content: '{"v":2}' }] });
    expect(readFileSync(join(target, 'main.tf.json'), 'utf8')).toBe('{"v":2}');
    expect(readFileSync(join(target, 'terraform.tfstate'), 'utf8')).toBe('state');
    expect(statSync(join(target, 'terraform.tfstate')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(target, '.terraform', 'providers', 'p'), 'utf8')).toBe('provider');
    expect(existsSync(join(target, 'stale.json'))).toBe(false);
    // A generated name always wins over a kept one.
    writeTreeAtomically({ parent, name: 'infra-out', keep: () => true, files: [{ path: 'terraform.tfstate', content: 'rendered' }] });
    expect(readFileSync(join(target, 'terraform.tfstate'), 'utf8')).toBe('rendered');
    expect(readdirSync(parent)).toEqual(['infra-out']);
  });
});

describe('yamlDocuments', () => {
  it('writes objects as documents kubectl applies in order, with shared values written out (no anchors)', () => {
    const shared = { app: 'x' };
    const text = yamlDocuments([{ kind: 'A', metadata: { labels: shared } }, { kind: 'B', metadata: { labels: shared } }]);
    expect(text).toBe('kind: A\nmetadata:\n  labels:\n    app: x\n---\nkind: B\nmetadata:\n  labels:\n    app: x\n');
  });
});
