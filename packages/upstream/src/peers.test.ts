import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPeers, recipeHash } from './build';
import { locatePeer, PEER_GROUPS, peerEntry, peerOverrideVariable, peersDir, PeerMissingError, requirePeer } from './peers';
import { firstVersion, mentionsVersion } from './probe';
import { fakeBinary } from './test-binaries';

const recipes = resolve(__dirname, '..', 'go');

describe('the peer manifest', () => {
  it('pins what production runs: helm v4.3.2, Kubernetes v1.36.3, etcd v3.6.8; and kwok v0.8.0', () => {
    expect(PEER_GROUPS.map((g) => [g.name, g.version])).toEqual([
      ['helm', 'v4.3.2'],
      ['kubernetes', 'v1.36.3'],
      ['etcd', 'v3.6.8'],
      ['kwok', 'v0.8.0'],
    ]);
  });

  it.each(PEER_GROUPS.map((g) => [g.name, g] as const))('%s: the wrapper module requires the pinned release', (_name, group) => {
    const goMod = readFileSync(join(recipes, group.name, 'go.mod'), 'utf8');
    expect(goMod).toMatch(new RegExp(`\\b${group.module.replace(/\./g, '\\.')} ${group.version.replace(/\./g, '\\.')}\\b`));
    const tools = readFileSync(join(recipes, group.name, 'tools.go'), 'utf8');
    for (const b of group.binaries) expect(tools).toContain(`_ "${b.package}"`);
  });

  it('replaces every Kubernetes staging module with its v0.36.3 release, and stamps the version into the binaries', () => {
    const goMod = readFileSync(join(recipes, 'kubernetes', 'go.mod'), 'utf8');
    const replaced = [...goMod.matchAll(/^\s+(k8s\.io\/[\w-]+) => \1 (v\S+)$/gm)];
    expect(replaced.length).toBeGreaterThanOrEqual(30);
    expect(new Set(replaced.map((m) => m[2]))).toEqual(new Set(['v0.36.3']));
    const kubernetes = PEER_GROUPS.find((g) => g.name === 'kubernetes');
    expect(kubernetes?.ldflags).toContain('-X k8s.io/component-base/version.gitVersion=v1.36.3');
  });

  it('names every program once, and refuses a name no group builds', () => {
    const names = PEER_GROUPS.flatMap((g) => g.binaries.map((b) => b.name));
    expect(new Set(names).size).toBe(names.length);
    expect(peerEntry('kubeadm').group.name).toBe('kubernetes');
    expect(() => peerEntry('kind')).toThrow(/no upstream peer is named "kind"; the peers are helm, kube-apiserver/);
  });
});

describe('finding a peer', () => {
  it('uses KEELSON_PEERS_DIR, else ~/.cache/keelson/peers', () => {
    expect(peersDir({ KEELSON_PEERS_DIR: '/opt/peers', HOME: '/home/u' })).toBe('/opt/peers');
    expect(peersDir({ HOME: '/home/u' })).toBe('/home/u/.cache/keelson/peers');
  });

  it('refuses a peer that was never built, naming the version, the folder and the command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peers-'));
    expect(() => requirePeer('kube-apiserver', 'the test', { KEELSON_PEERS_DIR: dir })).toThrow(PeerMissingError);
    expect(() => requirePeer('kube-apiserver', 'the test', { KEELSON_PEERS_DIR: dir })).toThrow(
      `the test needs kube-apiserver v1.36.3, which is not built in ${dir}; run \`node tools/test-prerequisites.mjs --peers-only\``,
    );
  });

  it('refuses a binary whose stamp names another version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peers-'));
    fakeBinary(join(dir, 'bin'), 'helm', 'v4.3.2');
    mkdirSync(join(dir, 'stamps'));
    writeFileSync(join(dir, 'stamps', 'helm.json'), JSON.stringify({ group: 'helm', version: 'v4.2.0' }));
    expect(locatePeer('helm', { KEELSON_PEERS_DIR: dir }).stamped).toBe(false);
    expect(() => requirePeer('helm', 'the test', { KEELSON_PEERS_DIR: dir })).toThrow(/needs helm v4\.3\.2, which is not built/);
    writeFileSync(join(dir, 'stamps', 'helm.json'), JSON.stringify({ group: 'helm', version: 'v4.3.2' }));
    expect(requirePeer('helm', 'the test', { KEELSON_PEERS_DIR: dir })).toBe(join(dir, 'bin', 'helm'));
  });

  it('takes a binary you already have from KEELSON_PEER_<NAME>', () => {
    const mine = fakeBinary(mkdtempSync(join(tmpdir(), 'mine-')), 'kubectl', 'Client Version: v1.36.3');
    expect(peerOverrideVariable('kube-apiserver')).toBe('KEELSON_PEER_KUBE_APISERVER');
    expect(requirePeer('kubectl', 'the test', { KEELSON_PEERS_DIR: '/nonexistent', KEELSON_PEER_KUBECTL: mine })).toBe(mine);
    expect(() => requirePeer('kubectl', 'the test', { KEELSON_PEER_KUBECTL: '/nonexistent/kubectl' })).toThrow(/KEELSON_PEER_KUBECTL=\/nonexistent\/kubectl is not an executable file/);
  });
});

describe('version probes', () => {
  it('finds the pinned version as a whole word, with or without its v', () => {
    expect(mentionsVersion('Kubernetes v1.36.3', 'v1.36.3')).toBe(true);
    expect(mentionsVersion('etcd Version: 3.6.8\nGit SHA: abc', 'v3.6.8')).toBe(true);
    expect(mentionsVersion('Kubernetes v1.36.30', 'v1.36.3')).toBe(false);
    expect(mentionsVersion('Kubernetes v1.36.2', 'v1.36.3')).toBe(false);
    expect(mentionsVersion('v11.36.3', 'v1.36.3')).toBe(false);
    expect(firstVersion('Client Version: v1.36.3\nKustomize Version: v5.7.1')).toBe('v1.36.3');
  });

});

describe('buildPeers', () => {
  it('reports missing groups in check-only mode without building', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peers-'));
    const results = buildPeers({ dir, checkOnly: true, log: () => undefined });
    expect(results.map((r) => [r.group, r.outcome])).toEqual([
      ['helm', 'missing'],
      ['kubernetes', 'missing'],
      ['etcd', 'missing'],
      ['kwok', 'missing'],
    ]);
  });

  it('rebuilds when the recipe changes: the hash covers the manifest entry, the module files and the Go version', () => {
    const group = PEER_GROUPS[0];
    const base = recipeHash(group, join(recipes, group.name), 'go1.26.8');
    expect(recipeHash(group, join(recipes, group.name), 'go1.26.9')).not.toBe(base);
    expect(recipeHash({ ...group, version: 'v4.3.3' }, join(recipes, group.name), 'go1.26.8')).not.toBe(base);
    expect(recipeHash(group, join(recipes, group.name), 'go1.26.8')).toBe(base);
  });

});

