import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { CLUSTER_NETWORK, type PlatformSpec } from '@keelson/platform-spec';
import { nthAddress } from './internal/cidr';

/**
 * The CoreDNS image, pinned: the release kubeadm ships for Kubernetes 1.35
 * (kubeadm's `CoreDNSVersion` constant), served from registry.k8s.io.
 *
 * @see https://github.com/kubernetes/kubernetes/blob/master/cmd/kubeadm/app/constants/constants.go
 */
export const COREDNS_IMAGE = 'registry.k8s.io/coredns/coredns:v1.13.1';

/** kubeadm's selector for the cluster DNS pods; Services and policies select it. */
export const KUBE_DNS_LABELS = { 'k8s-app': 'kube-dns' } as const;

const NAMESPACE = 'kube-system';

/**
 * The Corefile: answers cluster names from the API, forwards the rest to
 * the node's resolvers (the pod runs with `dnsPolicy: Default`).
 *
 * @see https://coredns.io/plugins/kubernetes/
 * @see https://github.com/kubernetes/kubernetes/blob/master/cmd/kubeadm/app/phases/addons/dns/manifests.go
 */
function corefile(domain: string): string {
  return [
    '.:53 {',
    '    errors',
    '    health {',
    '        lameduck 5s',
    '    }',
    '    ready',
    `    kubernetes ${domain} in-addr.arpa ip6.arpa {`,
    '        pods insecure',
    '        fallthrough in-addr.arpa ip6.arpa',
    '        ttl 30',
    '    }',
    '    prometheus :9153',
    '    forward . /etc/resolv.conf {',
    '        max_concurrent 1000',
    '    }',
    '    cache 30 {',
    `        disable success ${domain}`,
    `        disable denial ${domain}`,
    '    }',
    '    loop',
    '    reload',
    '    loadbalance',
    '}',
    '',
  ].join('\n');
}

/**
 * CoreDNS in full, replacing kubeadm's addon (two replicas that may share a
 * node): `k+1` replicas, at most one per node (or zone, as the fault model
 * says), a PodDisruptionBudget, and the Service at the address kubelets are
 * configured with (the 10th of the service range, as kubeadm picks it).
 */
export class CoreDns extends Construct {
  /** Every object, in apply order. */
  public readonly objects: readonly ApiObject[];
  public readonly replicas: number;
  public readonly clusterIP: string;

  constructor(scope: Construct, id: string, spec: PlatformSpec) {
    super(scope, id);
    const { budget } = spec;
    this.replicas = budget.statelessReplicas;
    this.clusterIP = nthAddress(CLUSTER_NETWORK.serviceSubnet, 10);
    const labels = { ...KUBE_DNS_LABELS };

    const serviceAccount: IServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: NAMESPACE } };
    const clusterRole: IClusterRole = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:coredns' },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    };
    const binding: IClusterRoleBinding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: NAMESPACE }],
    };
    const config: IConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'coredns', namespace: NAMESPACE },
      data: { Corefile: corefile(CLUSTER_NETWORK.dnsDomain) },
    };
    const service: IService = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: NAMESPACE, labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        selector: labels,
        clusterIP: this.clusterIP,
        ports: [
          { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, targetPort: 9153, protocol: 'TCP' },
        ],
      },
    };
    const deployment: IDeployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: NAMESPACE, labels },
      spec: {
        replicas: this.replicas,
        selector: { matchLabels: labels },
        // A new pod starts before an old one stops: there is always a node without a replica (k+1 < N).
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'coredns',
            priorityClassName: 'system-cluster-critical',
            // Upstream resolvers are the node's; the cluster's own DNS is this pod.
            dnsPolicy: 'Default',
            tolerations: [
              { key: 'CriticalAddonsOnly', operator: 'Exists' },
              { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
              // Reschedule off a dead node in 30 s rather than the default 5 min.
              { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
              { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
            ],
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: budget.spreadTopologyKey, labelSelector: { matchLabels: labels } }],
              },
            },
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              seccompProfile: { type: 'RuntimeDefault' },
              // A safe sysctl (allowed by every Pod Security level): port 53 binds
              // without a capability, so it works however the runtime treats
              // NET_BIND_SERVICE for a non-root user.
              sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '53' }],
            },
            containers: [
              {
                name: 'coredns',
                image: COREDNS_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                args: ['-conf', '/etc/coredns/Corefile'],
                resources: { requests: { cpu: '100m', memory: '70Mi' }, limits: { cpu: '1', memory: '170Mi' } },
                volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
                ports: [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
                ],
                livenessProbe: {
                  httpGet: { path: '/health', port: 8080, scheme: 'HTTP' },
                  initialDelaySeconds: 60,
                  timeoutSeconds: 5,
                  successThreshold: 1,
                  failureThreshold: 5,
                },
                readinessProbe: { httpGet: { path: '/ready', port: 8181, scheme: 'HTTP' }, periodSeconds: 5 },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  // As kubeadm's manifest: the one capability DNS on port 53 needs.
                  capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
                },
              },
            ],
            volumes: [{ name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } }],
          },
        },
      },
    };
    const pdb: IPodDisruptionBudget = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'coredns', namespace: NAMESPACE },
      // One replica at a time during drains: k stay up, so k-1 further node losses still leave one.
      spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
    };
    const manifests: Array<[string, object]> = [
      ['service-account', serviceAccount],
      ['cluster-role', clusterRole],
      ['cluster-role-binding', binding],
      ['config', config],
      ['service', service],
      ['deployment', deployment],
      ['pdb', pdb],
    ];
    this.objects = manifests.map(([cid, m]) => new ApiObject(this, cid, m as ConstructorParameters<typeof ApiObject>[2]));
  }
}
