// Hand-made rendered output for the verify tests: nodes as infra-out would
// describe them, and manifests as charts-out would hold them.
import type { K8sObject, Manifest, NodeInfo } from './types';

/** `controllers` + `workers` nodes; with `zones`, dealt round-robin over that many zones (the failure-domains model). */
export function fixtureNodes(controllers: number, workers: number, zones = 0): NodeInfo[] {
  return [...Array(controllers + workers).keys()].map((i) => {
    const controller = i < controllers;
    const name = controller ? `c${i + 1}` : `w${i - controllers + 1}`;
    const zone = zones > 0 ? `zone-${String.fromCharCode(97 + (i % zones))}` : 'fra1';
    return {
      name,
      role: controller ? 'controller' : 'worker',
      labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zone },
      ignition: { systemd: { units: [{ name: 'sshd.service', mask: true }, { name: 'sshd.socket', mask: true }] } },
      kubeadm: [{ kind: controller ? 'JoinConfiguration' : 'JoinConfiguration', nodeRegistration: { taints: [] }, ...(controller ? { controlPlane: {} } : {}) }],
      file: `infra-out/ignition/${name}.ign`,
    };
  });
}

export const manifest = (object: K8sObject, file = `charts-out/test/${String(object.kind).toLowerCase()}-${object.metadata?.name}.yaml`): Manifest => ({ file, object });

const restricted = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** A Deployment that follows every pod-security rule; `change` breaks it in one way. */
export function deployment(name: string, replicas: number, options: { antiAffinity?: boolean; topologyKey?: string; spread?: boolean; securityContext?: object; image?: string } = {}): K8sObject {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'web' },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          ...(options.antiAffinity ? { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: labels }, topologyKey: options.topologyKey ?? 'kubernetes.io/hostname' }] } } } : {}),
          ...(options.spread ? { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: labels } }] } : {}),
          containers: [
            {
              name,
              image: options.image ?? 'registry.example/web:1.2.3',
              securityContext: options.securityContext ?? restricted,
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
              livenessProbe: { httpGet: { path: '/', port: 8080 } },
              readinessProbe: { httpGet: { path: '/', port: 8080 } },
            },
          ],
        },
      },
    },
  };
}

export const pdb = (name: string): K8sObject => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name, namespace: 'web' },
  spec: { maxUnavailable: 1, selector: { matchLabels: { app: name } } },
});

export const cephPool = (name: string, size: number, failureDomain = 'host', minSize?: number): K8sObject => ({
  apiVersion: 'ceph.rook.io/v1',
  kind: 'CephBlockPool',
  metadata: { name, namespace: 'rook-ceph' },
  spec: { failureDomain, replicated: { size }, ...(minSize ? { parameters: { min_size: String(minSize) } } : {}) },
});
