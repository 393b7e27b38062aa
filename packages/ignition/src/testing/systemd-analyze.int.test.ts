import { systemdAnalyzeVerify } from './index';

const GOOD = '[Unit]\nDescription=good\nWants=network-online.target\nAfter=network-online.target\n[Service]\nType=oneshot\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n';

describe('systemdAnalyzeVerify', () => {
  it('accepts a good unit', () => {
    expect(systemdAnalyzeVerify({ 'good.service': GOOD })).toMatchObject({ ok: true, exitCode: 0, findings: [] });
  });

  it('rejects a relative ExecStart= path', () => {
    const result = systemdAnalyzeVerify({ 'bad.service': '[Service]\nExecStart=bin/true\n' });
    expect(result.ok).toBe(false);
    expect(result.exitCode).not.toBe(0);
    expect(result.findings).toContainEqual('<units>/bad.service:2: Neither a valid executable name nor an absolute path: bin/true');
  });

  it('rejects an unknown directive, which systemd itself only warns about and ignores', () => {
    const result = systemdAnalyzeVerify({ 'typo.service': GOOD.replace('Type=oneshot', 'Tpye=oneshot') });
    expect(result.exitCode).toBe(0);
    expect(result.ok).toBe(false);
    expect(result.findings).toEqual(["<units>/typo.service:6: Unknown key 'Tpye' in section [Service], ignoring."]);
  });

  it('checks drop-ins together with their unit', () => {
    const result = systemdAnalyzeVerify({ 'good.service': GOOD, 'good.service.d/10-x.conf': '[Service]\nRestartSec=soon\n' });
    expect(result.ok).toBe(false);
    expect(result.findings).toEqual(['<units>/good.service.d/10-x.conf:2: Failed to parse sec value, ignoring: soon']);
  });

  it('resolves dependencies on units it stands in for, and on each other', () => {
    const kubelet = '[Unit]\nRequires=containerd.service keelson-prep.service\nAfter=containerd.service keelson-prep.service\n[Service]\nExecStart=/bin/true\n';
    const prep = '[Service]\nType=oneshot\nExecStart=/bin/true\n';
    expect(systemdAnalyzeVerify({ 'kubelet.service': kubelet, 'keelson-prep.service': prep }).findings).toEqual([
      'kubelet.service: Failed to create kubelet.service/start: Unit containerd.service not found.',
    ]);
    expect(systemdAnalyzeVerify({ 'kubelet.service': kubelet, 'keelson-prep.service': prep }, { assumeUnits: ['containerd.service'] })).toMatchObject({ ok: true, findings: [] });
  });

  it('reports programs missing here unless the node is assumed to have them', () => {
    const unit = { 'kubelet.service': '[Service]\nExecStart=/opt/keelson-nonexistent/kubelet --v=2\n' };
    expect(systemdAnalyzeVerify(unit).findings).toEqual(['kubelet.service: Command /opt/keelson-nonexistent/kubelet is not executable: No such file or directory']);
    const assumed = systemdAnalyzeVerify(unit, { assumeExecutables: ['/opt/keelson-nonexistent/kubelet'] });
    expect(assumed).toMatchObject({ ok: true, findings: [], assumed: ['kubelet.service: Command /opt/keelson-nonexistent/kubelet is not executable: No such file or directory'] });
  });

  it('refuses file names that are neither units nor drop-ins, and stand-ins it cannot make', () => {
    expect(() => systemdAnalyzeVerify({ kubelet: GOOD })).toThrow(/"kubelet" is neither a unit file name nor "<unit>\.d\/<name>\.conf": the unit name has no unit type suffix/);
    expect(() => systemdAnalyzeVerify({ 'a.service.d/x.conf': '[Service]\n' })).toThrow(/no unit to verify \(only drop-ins were given\)/);
    expect(() => systemdAnalyzeVerify({ 'good.service': GOOD }, { assumeUnits: ['var-lib.mount'] })).toThrow(/cannot stand in for "var-lib\.mount"/);
  });
});
