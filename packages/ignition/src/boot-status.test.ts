import YAML from 'yaml';
import { BOOT_NAMESPACE, bootGaveUp, bootRbacManifest, bootStatusFromLeases } from './boot-status';

describe('the first-boot status the deploy reads', () => {
  it('reads every node status Lease, leaving out the join lock', () => {
    const lease = (name: string, holder: string, annotations?: Record<string, string>) => ({ metadata: { name, annotations }, spec: { holderIdentity: holder } });
    const list = {
      items: [
        lease('status-keelson-worker-1', 'keelson-worker-1', { 'keelson.dev/state': 'failed', 'keelson.dev/step': 'wait-cluster-info', 'keelson.dev/attempt': '3', 'keelson.dev/max-attempts': '10', 'keelson.dev/time': '2026-12-04T15:00:00Z', 'keelson.dev/message': 'no signature' }),
        lease('control-plane-join', 'keelson-controller-2'),
        lease('status-keelson-controller-2', 'keelson-controller-2', { 'keelson.dev/state': 'joined', 'keelson.dev/step': 'finish', 'keelson.dev/attempt': '1' }),
      ],
    };
    expect(bootStatusFromLeases(list)).toEqual([
      { node: 'keelson-controller-2', state: 'joined', step: 'finish', attempt: 1, maxAttempts: 0, time: '', message: '' },
      { node: 'keelson-worker-1', state: 'failed', step: 'wait-cluster-info', attempt: 3, maxAttempts: 10, time: '2026-12-04T15:00:00Z', message: 'no signature' },
    ]);
    expect(bootStatusFromLeases({})).toEqual([]);
  });

  it('counts a node as given up when it says so or its last attempt failed, not while attempts remain', () => {
    const status = { node: 'keelson-worker-1', step: 'kubeadm-join', time: '', message: '' };
    expect(bootGaveUp({ ...status, state: 'gave-up', attempt: 11, maxAttempts: 10 })).toBe(true);
    expect(bootGaveUp({ ...status, state: 'failed', attempt: 10, maxAttempts: 10 })).toBe(true);
    expect(bootGaveUp({ ...status, state: 'failed', attempt: 9, maxAttempts: 10 })).toBe(false);
    // A node that does not state its bound is never judged by its attempt count.
    expect(bootGaveUp({ ...status, state: 'failed', attempt: 50, maxAttempts: 0 })).toBe(false);
    expect(bootGaveUp({ ...status, state: 'running', attempt: 10, maxAttempts: 10 })).toBe(false);
  });

  it('gives the boot RBAC the script applies: Leases in keelson-boot for the bootstrap token group only', () => {
    const docs = YAML.parseAllDocuments(bootRbacManifest()).map((d) => d.toJS());
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Namespace/keelson-boot', 'Role/keelson-boot-leases', 'RoleBinding/keelson-boot-leases']);
    expect(docs[1]).toMatchObject({ metadata: { namespace: BOOT_NAMESPACE }, rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update', 'patch', 'delete'] }] });
    expect(docs[2].subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:bootstrappers:kubeadm:default-node-token' }]);
  });
});
