import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPeers, PeerBuildError } from './build';
import { diagnose, formatDoctorReport } from './doctor';
import { PEER_GROUPS, requirePeer, type PeerName } from './peers';
import { probeVersion } from './probe';
import { fakeBinary } from './test-binaries';

describe('version probes', () => {

  it('reports another version, a failing program and a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-'));
    expect(probeVersion(fakeBinary(dir, 'old', 'Kubernetes v1.35.0'), ['--version'], 'v1.36.3')).toEqual({ ok: false, found: 'v1.35.0', problem: `${join(dir, 'old')} is v1.35.0, not v1.36.3` });
    expect(probeVersion(join(dir, 'absent'), ['--version'], 'v1.36.3').problem).toMatch(/cannot run .*absent/);
    expect(probeVersion(fakeBinary(dir, 'ok', 'Kubernetes v1.36.3'), ['--version'], 'v1.36.3')).toEqual({ ok: true, found: 'v1.36.3' });
  });
});

describe('buildPeers', () => {

  it('skips a group whose every binary is overridden, after checking their versions', () => {
    const mine = mkdtempSync(join(tmpdir(), 'mine-'));
    const env = { ...process.env, KEELSON_PEER_HELM: fakeBinary(mine, 'helm', 'v4.3.2') };
    const log: string[] = [];
    expect(buildPeers({ dir: mkdtempSync(join(tmpdir(), 'peers-')), only: ['helm'], env, log: (l) => log.push(l) })).toEqual([{ group: 'helm', version: 'v4.3.2', outcome: 'overridden', seconds: 0 }]);
    expect(log).toEqual(['peers: helm v4.3.2: using KEELSON_PEER_HELM']);
    const wrong = { ...process.env, KEELSON_PEER_HELM: fakeBinary(mine, 'helm3', 'v3.19.0') };
    expect(() => buildPeers({ dir: mkdtempSync(join(tmpdir(), 'peers-')), only: ['helm'], env: wrong, log: () => undefined })).toThrow(/KEELSON_PEER_HELM: .* is v3\.19\.0, not v4\.3\.2; point it at helm v4\.3\.2/);
  });

  it('says what to install when Go is missing, and refuses unknown groups', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peers-'));
    expect(() => buildPeers({ dir, only: ['helm'], go: '/nonexistent/go', log: () => undefined })).toThrow(PeerBuildError);
    expect(() => buildPeers({ dir, only: ['helm'], go: '/nonexistent/go', log: () => undefined })).toThrow(/built with Go 1\.26\.0 or newer, and `\/nonexistent\/go` cannot run/);
    expect(() => buildPeers({ dir, only: ['kind'], log: () => undefined })).toThrow(/no peer group is named kind; the groups are helm, kubernetes, etcd, kwok/);
  });

  it('finds the peers the README test command built, each printing its pinned version', () => {
    const results = buildPeers({ checkOnly: true, log: () => undefined });
    expect(results.map((r) => r.outcome)).toEqual(['cached', 'cached', 'cached', 'cached']);
    for (const group of PEER_GROUPS) {
      for (const b of group.binaries) expect(probeVersion(requirePeer(b.name as PeerName, 'the test'), b.versionArgs, group.version)).toMatchObject({ ok: true });
    }
  });
});

describe('keelson doctor', () => {
  it('lists every peer with its version and path, and every host tool', () => {
    const report = diagnose();
    const text = formatDoctorReport(report);
    expect(text).toMatch(/^ok +helm +v4\.3\.2 +\/\S+\/helm$/m);
    for (const name of ['kube-apiserver', 'kube-scheduler', 'kube-controller-manager', 'kubeadm', 'kubectl']) expect(text).toMatch(new RegExp(`^ok +${name} +v1\\.36\\.3 +/\\S+/${name}$`, 'm'));
    expect(text).toMatch(/^ok +etcd +3\.6\.8 +\/\S+\/etcd$/m);
    expect(text).toMatch(/^ok +ignition-validate /m);
    expect(report.ok).toBe(true);
  });

  it('names what is missing and the command that installs it', () => {
    const env = { ...process.env, KEELSON_PEERS_DIR: mkdtempSync(join(tmpdir(), 'peers-')) };
    const report = diagnose(env);
    expect(report.ok).toBe(false);
    const text = formatDoctorReport(report);
    expect(text).toMatch(/^MISSING kube-apiserver +v1\.36\.3 +not built \(.*\/bin\/kube-apiserver\)$/m);
    expect(text).toMatch(/^to fix: node tools\/test-prerequisites\.mjs --peers-only$/m);
  });

  it('names a peer at the wrong version', () => {
    const mine = fakeBinary(mkdtempSync(join(tmpdir(), 'mine-')), 'helm', 'v3.19.0');
    const report = diagnose({ ...process.env, KEELSON_PEER_HELM: mine });
    expect(report.lines.find((l) => l.name === 'helm')).toMatchObject({ ok: false, problem: `${mine} is v3.19.0, not v4.3.2` });
    expect(report.fixes).toContain('point each KEELSON_PEER_* variable at the pinned version, or unset it to use the built peer');
  });
});
