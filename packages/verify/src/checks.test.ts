import { checkNoSsh, opensTcpPort } from './no-ssh';
import { deployment, fixtureNodes, manifest } from './test-fixtures';
import { checkWorkloadSecurity, isPinnedImage } from './workload-security';

describe('the SSH check', () => {
  it('fails ssh_keys on a droplet, an SSH key resource and an unmasked sshd', () => {
    const nodes = fixtureNodes(3, 0);
    nodes[1] = { ...nodes[1], ignition: { systemd: { units: [{ name: 'sshd.service', mask: true }] } } };
    const tf = { resource: { digitalocean_droplet: { c1: { name: 'c1', ssh_keys: ['123'] } }, digitalocean_ssh_key: { admin: { name: 'admin' } } } };
    const messages = checkNoSsh(nodes, tf, 'main.tf.json').check.findings.map((f) => f.message);
    expect(messages).toEqual([
      'digitalocean_droplet.c1 sets ssh_keys = ["123"]; remove it (no SSH, ever)',
      'digitalocean_ssh_key.admin declares an SSH key; nodes take no keys: remove it',
      "node c2: sshd.socket is not masked; mask it in the node's Ignition (systemd.units: { name: sshd.socket, mask: true })",
    ]);
  });

  it('reads port ranges and "all ports" as opening 22', () => {
    expect(opensTcpPort({ protocol: 'tcp', ports: '1-65535' }, 22)).toBe(true);
    expect(opensTcpPort({ protocol: 'tcp', ports: 'all' }, 22)).toBe(true);
    expect(opensTcpPort({ protocol: 'udp', ports: '22' }, 22)).toBe(false);
    expect(opensTcpPort({ protocol: 'tcp', ports: '2379-2380' }, 22)).toBe(false);
  });
});

describe('workload security', () => {
  it('passes a restricted Deployment and names every rule a bare one breaks', () => {
    expect(checkWorkloadSecurity([manifest(deployment('ok', 3))], []).findings).toEqual([]);
    const bare = deployment('bare', 1, { securityContext: {}, image: 'nginx' });
    const rules = checkWorkloadSecurity([manifest(bare)], []).findings.map((f) => f.message.match(/\[([a-z-]+)\]/)?.[1]);
    expect(rules).toEqual(['run-as-non-root', 'no-privilege-escalation', 'drop-all-capabilities', 'read-only-root-filesystem', 'seccomp-runtime-default', 'pinned-image']);
  });

  it('excuses a listed deviation and reports an exception that excuses nothing', () => {
    const root = deployment('agent', 1, { securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } } });
    const exceptions = [
      { namespace: 'web', kind: 'Deployment', name: 'agent', rules: ['run-as-non-root' as const], reason: 'reads root-owned files' },
      { namespace: 'web', kind: 'Deployment', name: 'agent', rules: ['probes' as const], reason: 'had no health endpoint once' },
    ];
    expect(checkWorkloadSecurity([manifest(root)], exceptions).findings.map((f) => f.message)).toEqual([
      'stale exception: Deployment web/agent (probes) excuses nothing; its workload is rendered (charts-out/test/deployment-agent.yaml) and follows that rule: remove the exception',
    ]);
  });

  it('does not call an exception stale when this config does not render its workload, and counts it', () => {
    const exceptions = [{ namespace: 'web', kind: 'Deployment', name: 'gone-*', rules: ['probes' as const], reason: 'an app switched off in this config' }];
    const result = checkWorkloadSecurity([manifest(deployment('ok', 3))], exceptions);
    expect(result.findings).toEqual([]);
    expect(result.summary).toMatch(/0 listed exceptions, 1 more for workloads this config does not render \(Deployment web\/gone-\*\)/);
  });

  it('reports each listed rule a rendered workload no longer breaks, and an exception for a container it lacks as not rendered', () => {
    const writable = deployment('agent', 1, { securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } } });
    const exceptions = [
      { namespace: 'web', kind: 'Deployment', name: 'agent', container: 'agent', rules: ['run-as-non-root' as const, 'read-only-root-filesystem' as const], reason: 'writes its runtime files' },
      { namespace: 'web', kind: 'Deployment', name: 'agent', container: 'sidecar', rules: ['probes' as const], reason: 'a sidecar this config leaves out' },
    ];
    const result = checkWorkloadSecurity([manifest(writable)], exceptions);
    expect(result.findings.map((f) => [f.file, f.message])).toEqual([
      [
        'packages/verify/src/exceptions.ts',
        'stale exception: Deployment web/agent container agent lists run-as-non-root, which its rendered workload follows (charts-out/test/deployment-agent.yaml): remove that rule from the exception',
      ],
    ]);
    expect(result.summary).toMatch(/1 listed exceptions, 1 more for workloads this config does not render \(Deployment web\/agent container sidecar\)/);
  });

  describe('with the platform\'s exception table', () => {
    const inEmby = (o: ReturnType<typeof deployment>) => ({ ...o, metadata: { ...o.metadata, namespace: 'emby' } });
    const embyRoot = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'] }, seccompProfile: { type: 'RuntimeDefault' } };

    it('passes Emby as it starts (root, writable root filesystem) and Jellyfin restricted in its place, with no stale exception', () => {
      expect(checkWorkloadSecurity([manifest(inEmby(deployment('emby', 1, { securityContext: embyRoot })))]).findings).toEqual([]);
      const jellyfin = checkWorkloadSecurity([manifest(inEmby(deployment('jellyfin', 1)))]);
      expect(jellyfin.findings).toEqual([]);
      expect(jellyfin.summary).toMatch(/0 listed exceptions, 1 more for workloads this config does not render \(Deployment emby\/emby container emby\)/);
    });

    it('holds Jellyfin to every rule: the Emby exception does not excuse it', () => {
      const rules = checkWorkloadSecurity([manifest(inEmby(deployment('jellyfin', 1, { securityContext: embyRoot })))]).findings.map((f) => f.message.match(/\[([a-z-]+)\]/)?.[1]);
      expect(rules).toEqual(['run-as-non-root', 'drop-all-capabilities', 'read-only-root-filesystem']);
    });

    it('fails the Emby exception as stale once Emby runs restricted', () => {
      expect(checkWorkloadSecurity([manifest(inEmby(deployment('emby', 1)))]).findings.map((f) => f.message)).toEqual([
        'stale exception: Deployment emby/emby container emby (run-as-non-root, read-only-root-filesystem, drop-all-capabilities) excuses nothing; its workload is rendered (charts-out/test/deployment-emby.yaml) and follows those rules: remove the exception',
      ]);
    });
  });

  it('counts capabilities added back after dropping ALL, except NET_BIND_SERVICE', () => {
    const withCaps = (add: string[]) => deployment('caps', 1, { securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add }, seccompProfile: { type: 'RuntimeDefault' } } });
    expect(checkWorkloadSecurity([manifest(withCaps(['NET_BIND_SERVICE']))], []).findings).toEqual([]);
    expect(checkWorkloadSecurity([manifest(withCaps(['NET_BIND_SERVICE', 'SETUID', 'CHOWN']))], []).findings.map((f) => f.message)).toEqual([
      'Deployment web/caps container caps: adds SETUID, CHOWN back after dropping ALL (only NET_BIND_SERVICE may be) [drop-all-capabilities]; fix it, or list it with the reason in packages/verify/src/exceptions.ts',
    ]);
  });

  it('accepts tags and digests as pinned, not latest or no tag', () => {
    expect(isPinnedImage('quay.io/cilium/cilium:v1.19.4')).toBe(true);
    expect(isPinnedImage(`ghcr.io/x/y@sha256:${'a'.repeat(64)}`)).toBe(true);
    expect(isPinnedImage('registry:5000/app')).toBe(false);
    expect(isPinnedImage('nginx:latest')).toBe(false);
  });
});
