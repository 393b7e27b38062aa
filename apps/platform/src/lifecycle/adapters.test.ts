import { fakeBinary, tmp } from './test-binaries';
import { KubectlCluster, kubectlArgs, type CommandRunner, type StatusCheck } from './cluster';
import { findTerraformBinary, lastLines, terraformArgs } from './terraform';

describe('CommandTerraform (the real Terraform adapter)', () => {

  it('gives the exact argv of every call', () => {
    expect(terraformArgs.replace('hcloud_server.keelson-worker-1')).toEqual(['-chdir=infra-out', 'apply', '-input=false', '-no-color', '-auto-approve', '-replace=hcloud_server.keelson-worker-1']);
    expect(terraformArgs.apply()).toEqual(['-chdir=infra-out', 'apply', '-input=false', '-no-color', 'tfplan']);
    expect(terraformArgs.output()).toEqual(['-chdir=infra-out', 'output', '-json']);
    expect(terraformArgs.stateList()).toEqual(['-chdir=infra-out', 'state', 'list']);
  });

  it('finds terraform, then tofu, on PATH; --terraform-bin and KEELSON_TERRAFORM win', () => {
    const a = tmp();
    const b = tmp();
    const tofu = fakeBinary(a, 'tofu');
    const terraform = fakeBinary(b, 'terraform');
    expect(findTerraformBinary(undefined, { PATH: `${a}:${b}` })).toBe(terraform);
    expect(findTerraformBinary(undefined, { PATH: a })).toBe(tofu);
    expect(findTerraformBinary(undefined, { PATH: tmp() })).toBeUndefined();
    expect(findTerraformBinary('tofu', { PATH: `${b}:${a}` })).toBe(tofu);
    expect(findTerraformBinary(undefined, { PATH: b, KEELSON_TERRAFORM: tofu })).toBe(tofu);
    expect(findTerraformBinary('/nowhere/terraform', { PATH: b })).toBeUndefined();
  });

  it('keeps the Error lines of Terraform\'s boxed diagnostics', () => {
    expect(lastLines('Initializing...\n╷\n│ Error: Failed to query available provider packages\n│ \n│ Could not retrieve the list\n╵\n')).toBe('Error: Failed to query available provider packages Could not retrieve the list');
  });
});

/** The storage layer's gate, as RookStorage declares it. */
const CEPH_GATE: StatusCheck = { kind: 'status', resource: 'cephclusters.ceph.rook.io', namespace: 'rook-ceph', field: 'status.ceph.health', healthy: 'HEALTH_OK' };

describe('KubectlCluster (the real cluster adapter)', () => {
  const recording = (answers: Record<string, string> = {}) => {
    const calls: { args: readonly string[]; stdin?: string }[] = [];
    const run: CommandRunner = async (args, stdin) => {
      calls.push({ args, stdin });
      return answers[args.join(' ')] ?? '';
    };
    return { calls, cluster: new KubectlCluster(run) };
  };

  it('runs the exact kubectl argv for drain, Node deletion, Applications, CephCluster and Backups', async () => {
    const { calls, cluster } = recording({ [kubectlArgs.applications('argocd').join(' ')]: '{"items":[]}', [kubectlArgs.objects('cephclusters.ceph.rook.io', 'rook-ceph').join(' ')]: '{"items":[]}' });
    await cluster.cordon('keelson-worker-1');
    await cluster.drain('keelson-worker-1', 900);
    await cluster.deleteNode('keelson-worker-1');
    await cluster.applications('argocd');
    await cluster.statusHealth(CEPH_GATE);
    await cluster.backupPhase('keelson-final-1');
    expect(calls.map((c) => c.args)).toEqual([
      ['cordon', 'keelson-worker-1'],
      ['drain', 'keelson-worker-1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=900s'],
      ['delete', 'node', 'keelson-worker-1', '--ignore-not-found', '--wait=true'],
      ['get', 'applications.argoproj.io', '-n', 'argocd', '-o', 'json'],
      ['get', 'cephclusters.ceph.rook.io', '-n', 'rook-ceph', '-o', 'json'],
      ['get', 'backups.velero.io', 'keelson-final-1', '-n', 'velero', '--ignore-not-found', '-o', 'jsonpath={.status.phase}'],
    ]);
  });

  it('sends Secrets and Backups on stdin, never in argv', async () => {
    const { calls, cluster } = recording();
    await cluster.applySecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cloud-credentials', namespace: 'velero' }, type: 'Opaque', data: { cloud: 'c2VjcmV0' } });
    await cluster.createBackup('keelson-final-1');
    expect(calls[0].args).toEqual(['apply', '--server-side', '--field-manager=keelson-deploy', '--force-conflicts', '-f', '-']);
    expect(JSON.parse(calls[0].stdin!).data).toEqual({ cloud: 'c2VjcmV0' });
    expect(calls[0].args.join(' ')).not.toContain('c2VjcmV0');
    expect(calls[1].args).toEqual(['create', '-f', '-']);
    expect(JSON.parse(calls[1].stdin!)).toMatchObject({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'keelson-final-1', namespace: 'velero' }, spec: { includedNamespaces: ['*'] } });
  });

  it('reads Node Ready, Application and Ceph health from their status', async () => {
    const node = (status: string, reason?: string) => JSON.stringify({ status: { conditions: [{ type: 'Ready', status, reason }] } });
    const { cluster } = recording({
      [kubectlArgs.node('a').join(' ')]: node('True'),
      [kubectlArgs.node('b').join(' ')]: node('False', 'KubeletNotReady'),
      [kubectlArgs.applications('argocd').join(' ')]: JSON.stringify({ items: [{ metadata: { name: 'root' }, status: { sync: { status: 'Synced' }, health: { status: 'Healthy' } } }, { metadata: { name: 'apps' } }] }),
      [kubectlArgs.objects('cephclusters.ceph.rook.io', 'rook-ceph').join(' ')]: JSON.stringify({ items: [{ status: { ceph: { health: 'HEALTH_WARN' } } }] }),
      [kubectlArgs.apiReady().join(' ')]: 'ok',
    });
    expect(await cluster.nodeReady('a')).toEqual({ ok: true, detail: 'Ready=True' });
    expect(await cluster.nodeReady('b')).toEqual({ ok: false, detail: 'Ready=False (KubeletNotReady)' });
    expect(await cluster.nodeReady('c')).toEqual({ ok: false, detail: 'not registered' });
    expect(await cluster.applications('argocd')).toEqual([
      { name: 'root', sync: 'Synced', health: 'Healthy' },
      { name: 'apps', sync: '', health: '' },
    ]);
    expect(await cluster.statusHealth(CEPH_GATE)).toEqual({ ok: false, detail: 'HEALTH_WARN' });
    expect(await cluster.apiReady()).toEqual({ ok: true, detail: 'ok' });
  });

  it("reads a declared status gate where its layer says: none there, no value yet, and each unhealthy object by name", async () => {
    const gate: StatusCheck = { kind: 'status', resource: 'deployments.apps', namespace: 'local-path-storage', field: 'status.conditions.0.status', healthy: 'True' };
    const answer = (items: unknown[]) => recording({ [kubectlArgs.objects(gate.resource, gate.namespace).join(' ')]: JSON.stringify({ items }) }).cluster.statusHealth(gate);
    expect(await answer([])).toEqual({ ok: false, detail: 'no deployments.apps in local-path-storage' });
    expect(await answer([{ metadata: { name: 'a' }, status: {} }])).toEqual({ ok: false, detail: 'no status.conditions.0.status yet' });
    expect(await answer([{ metadata: { name: 'a' }, status: { conditions: [{ status: 'True' }] } }])).toEqual({ ok: true, detail: 'True' });
    const replicas: StatusCheck = { ...gate, field: 'status.readyReplicas', healthy: '1' };
    expect(await recording({ [kubectlArgs.objects(gate.resource, gate.namespace).join(' ')]: JSON.stringify({ items: [{ status: { readyReplicas: 1 } }] }) }).cluster.statusHealth(replicas)).toEqual({ ok: true, detail: '1' });
    expect(await answer([{ metadata: { name: 'a' }, status: { conditions: [{ status: 'True' }] } }, { metadata: { name: 'b' }, status: { conditions: [{ status: 'False' }] } }])).toEqual({ ok: false, detail: 'b False' });
  });

});
