import { ApiObject, App } from 'cdk8s';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { yamlDocuments } from '@keelson/cluster-kit';
import type { BootstrapStep, PlatformSpec } from '@keelson/platform-spec';
import { PodNetwork, type PodNetworkProps } from './pod-network';

/** Seconds the CNI installer Job may run, retries included: under the node's 600 s wait for it. */
export const CNI_INSTALLER_DEADLINE_SECONDS = 540;
/** Pod retries of the CNI installer Job (Helm against a young API server can fail a few times). */
export const CNI_INSTALLER_BACKOFF_LIMIT = 6;

/**
 * The Helm image the bootstrap Job runs, pinned by tag and digest.
 *
 * @see https://hub.docker.com/r/alpine/helm
 */
export const HELM_IMAGE = 'alpine/helm:3.19.0@sha256:aef9b56f64e866207d9591d0abd8f6d767b36aadd12edf68f8a719716d9d29c9';

/**
 * Names of the one-shot installer's objects in kube-system. Its
 * ServiceAccount is bound to cluster-admin for the install only: delete
 * the binding (and the rest) once the Job completed.
 */
export const CNI_INSTALLER = {
  namespace: 'kube-system',
  job: 'keelson-cni-install',
  serviceAccount: 'keelson-cni-installer',
  clusterRoleBinding: 'keelson-cni-installer',
  configMap: 'keelson-cni-values',
} as const;

/** A Kubernetes object as the bootstrap applies it. */
export interface BootstrapObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

const asObject = (o: object) => o as BootstrapObject;

/**
 * The network layer's bootstrap step: {@link bootstrapManifests} as one
 * multi-document file, and the installer's objects removed once its Job
 * completed, so its cluster-admin binding does not outlive the install.
 */
export function networkBootstrapStep(spec: PlatformSpec, props: Omit<PodNetworkProps, 'spec'> = {}): BootstrapStep {
  const installer = CNI_INSTALLER;
  return {
    name: 'network',
    manifests: yamlDocuments(bootstrapManifests(spec, props)),
    cleanup: {
      job: { namespace: installer.namespace, name: installer.job },
      delete: [`job/${installer.job}`, `configmap/${installer.configMap}`, `serviceaccount/${installer.serviceAccount}`, `clusterrolebinding/${installer.clusterRoleBinding}`],
    },
  };
}

/**
 * What the first controller applies right after `kubeadm init`, before
 * any pod network exists:
 *
 * 1. the network layer's own namespaces (kube-flannel with flannel) and
 *    CoreDNS, exactly as `charts-out/network/` renders them, so Argo CD
 *    later adopts them unchanged (kubeadm must skip its CoreDNS addon);
 * 2. a host-network Job that runs `helm upgrade --install` of the pinned
 *    CNI chart with the same release name and values as the layer's Argo CD
 *    Application, so Argo CD adopts the release's objects with no diff.
 *
 * Apply them in order (kubectl apply of one multi-document file does).
 */
export function bootstrapManifests(spec: PlatformSpec, props: Omit<PodNetworkProps, 'spec'> = {}): BootstrapObject[] {
  const network = new PodNetwork(new App(), 'network', { ...props, spec });
  const rendered = (o: ApiObject) => asObject(o.toJson() as object);
  const namespaces = network.node
    .findAll()
    .filter((c): c is ApiObject => c instanceof ApiObject && c.kind === 'Namespace')
    .map(rendered);
  const install = network.cniInstall;
  const { namespace } = CNI_INSTALLER;

  const serviceAccount: IServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CNI_INSTALLER.serviceAccount, namespace } };
  const binding: IClusterRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: CNI_INSTALLER.clusterRoleBinding },
    // A CNI chart creates cluster-wide RBAC and CRDs; only cluster-admin may grant what it grants.
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: CNI_INSTALLER.serviceAccount, namespace }],
  };
  // JSON is YAML: Helm reads it as the values file.
  const values: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CNI_INSTALLER.configMap, namespace },
    data: { 'values.yaml': `${JSON.stringify(install.values, null, 2)}\n` },
  };
  const job: IJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: CNI_INSTALLER.job, namespace, labels: { 'app.kubernetes.io/name': CNI_INSTALLER.job } },
    spec: {
      // Fails (condition Failed, reason DeadlineExceeded or BackoffLimitExceeded)
      // before the first controller stops waiting for it (ignition's
      // BOOTSTRAP_JOB_WAIT_SECONDS, 600 s), so the node reports the Job's own
      // reason and its last log lines rather than a bare timeout.
      // @see https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup
      backoffLimit: CNI_INSTALLER_BACKOFF_LIMIT,
      activeDeadlineSeconds: CNI_INSTALLER_DEADLINE_SECONDS,
      // Kept an hour after it ends, for `kubectl logs` on a failure; the node deletes it after a success.
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': CNI_INSTALLER.job } },
        spec: {
          serviceAccountName: CNI_INSTALLER.serviceAccount,
          restartPolicy: 'OnFailure',
          // No pod network yet: the Job uses the node's, and the node's resolvers.
          hostNetwork: true,
          dnsPolicy: 'Default',
          priorityClassName: 'system-cluster-critical',
          tolerations: [
            { key: 'node.kubernetes.io/not-ready', operator: 'Exists' },
            { key: 'node.cloudprovider.kubernetes.io/uninitialized', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' },
            { key: 'node.cilium.io/agent-not-ready', operator: 'Exists' },
          ],
          securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'helm',
              image: HELM_IMAGE,
              command: ['helm'],
              args: [
                'upgrade',
                '--install',
                install.releaseName,
                install.chart,
                '--repo',
                install.repoURL,
                '--version',
                install.version,
                '--namespace',
                install.namespace,
                '--values',
                '/values/values.yaml',
                '--wait',
                '--timeout',
                '15m',
              ],
              env: [
                { name: 'HOME', value: '/tmp' },
                { name: 'HELM_CACHE_HOME', value: '/tmp/cache' },
                { name: 'HELM_CONFIG_HOME', value: '/tmp/config' },
                { name: 'HELM_DATA_HOME', value: '/tmp/data' },
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'values', mountPath: '/values', readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'values', configMap: { name: CNI_INSTALLER.configMap } },
            { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
          ],
        },
      },
    },
  };
  return [...namespaces, ...network.coreDns.objects.map(rendered), ...[serviceAccount, binding, values, job].map(asObject)];
}
