import { statSync } from 'node:fs';
import { join } from 'node:path';
import { nodeProviders } from '@keelson/infra-nodes';
import type { NodeProvider, ServerSize } from '@keelson/platform-spec';
import { readInfraOut, terraformServers, type InfraOut } from '@keelson/verify';
import { RehearsalInputError } from './errors';

/** A node taint as kubeadm's `nodeRegistration.taints` and the Node object spell it. */
export interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** What a server type offers: vCPUs and memory, as the cloud sells it. */
export type { ServerSize };

/** One topology node as the rehearsal registers it. */
export interface SimulatedNode {
  readonly name: string;
  readonly role: 'controller' | 'worker';
  /** The server type, as the cloud names it. */
  readonly size: string;
  /** `kubernetes.io/hostname`, the kubelet's well-known labels, kubeadm's control-plane labels and the node's `node-labels`. */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly NodeTaint[];
  /** `cpu` (cores), `memory` (bytes) and `pods`, as the kubelet reports them. */
  readonly capacity: { readonly cpuMillis: number; readonly memoryBytes: number; readonly pods: number };
  /** Capacity less the kubelet's reservations and hard eviction threshold. */
  readonly allocatable: { readonly cpuMillis: number; readonly memoryBytes: number; readonly pods: number };
}

/** vCPUs and memory of a server type, from the cloud's node provider, or an error naming the type. */
export function serverSize(provider: NodeProvider, type: string): ServerSize {
  const size = provider.serverSize(type);
  if (!size) {
    throw new RehearsalInputError(`rehearse: the ${provider.displayName} server type "${type}" has no known CPU and memory, so its node cannot be simulated; use one of ${provider.serverTypeHint}`);
  }
  return size;
}

type KubeadmDoc = Record<string, unknown> & { kind?: string };

/** Kubelet settings that decide allocatable resources. @see https://kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources/ */
interface KubeletReservations {
  readonly kubeReserved?: Record<string, string>;
  readonly systemReserved?: Record<string, string>;
  readonly evictionHard?: Record<string, string>;
  readonly maxPods?: number;
}

/** The kubelet's default hard eviction threshold for memory. @see https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/#hard-eviction-thresholds */
const DEFAULT_EVICTION_MEMORY = '100Mi';
const DEFAULT_MAX_PODS = 110;

/** The control-plane taint kubeadm sets when `nodeRegistration.taints` is left out. @see https://kubernetes.io/docs/reference/setup-tools/kubeadm/implementation-details/ */
const KUBEADM_CONTROL_PLANE_TAINT: NodeTaint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

/** A Kubernetes quantity in bytes or millicores (`100Mi`, `8Gi`, `250m`, `2`). */
export function parseQuantity(q: string | number | undefined, unit: 'bytes' | 'millis'): number {
  if (q === undefined) return 0;
  const text = String(q).trim();
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E|m|n|u)?$/.exec(text);
  if (!m) return 0;
  const n = Number(m[1]);
  const factor: Record<string, number> = {
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    Pi: 1024 ** 5,
    Ei: 1024 ** 6,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    m: 1e-3,
    u: 1e-6,
    n: 1e-9,
  };
  const value = n * (m[2] ? factor[m[2]] : 1);
  return unit === 'millis' ? Math.round(value * 1000) : Math.round(value);
}

/**
 * The nodes of `infra-out/` as their kubelets would register them: name,
 * role, labels (the kubelet's well-known ones, kubeadm's on controllers, the
 * `node-labels` of the node's kubeadm config), taints (`nodeRegistration.taints`,
 * kubeadm's control-plane taint when they are left out), and capacity and
 * allocatable resources of the server type with the kubelet settings of the
 * cluster's KubeletConfiguration (reservations, hard eviction, max pods).
 *
 * @see https://kubernetes.io/docs/reference/labels-annotations-taints/
 */
export function simulatedFleet(infraDir: string): SimulatedNode[] {
  const ignitionDir = join(infraDir, 'ignition');
  if (!statSync(ignitionDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new RehearsalInputError(`rehearse: ${ignitionDir} does not exist; run keelson synth first (infra-out holds each node's Ignition config)`);
  }
  // infra-out read once, the way verify reads it: each node's kubeadm configs and labels, the Terraform servers.
  let infra: InfraOut;
  try {
    infra = readInfraOut(infraDir);
  } catch (e) {
    throw new RehearsalInputError(`rehearse: ${(e as Error).message.replace(/^verify: /, '')}`);
  }
  const servers = terraformServers(infra.terraform);
  // The cloud that rendered infra-out, known by its servers' resource type; its provider knows the server types.
  const providers = nodeProviders();
  const provider = providers.find((p) => servers.some((s) => s.address.startsWith(`${p.server.resourceType}.`)));
  if (!provider) {
    throw new RehearsalInputError(`rehearse: infra-out's Terraform JSON has no server of a known cloud (${providers.map((p) => p.server.resourceType).join(', ')}); run keelson synth`);
  }
  const sizes = new Map(servers.map((s) => [s.name, String(s.attributes[provider.server.typeAttribute])]));
  if (infra.nodes.length === 0) throw new RehearsalInputError(`rehearse: ${ignitionDir} holds no node config (<node>.ign); run keelson synth`);
  const parsed = infra.nodes.map((n) => ({ name: n.name, docs: n.kubeadm as KubeadmDoc[], nodeLabels: n.labels }));
  // One KubeletConfiguration for the cluster: kubeadm init uploads it, joining nodes download it.
  const kubelet = (parsed.flatMap((p) => p.docs).find((d) => d.kind === 'KubeletConfiguration') ?? {}) as KubeletReservations;
  return parsed.map(({ name, docs, nodeLabels }) => {
    const init = docs.find((d) => d.kind === 'InitConfiguration');
    const join = docs.find((d) => d.kind === 'JoinConfiguration');
    const registrationDoc = init ?? join;
    if (!registrationDoc) throw new RehearsalInputError(`rehearse: node ${name} has no kubeadm InitConfiguration or JoinConfiguration in its Ignition config; run keelson synth`);
    const controller = init !== undefined || (join !== undefined && join.controlPlane !== undefined);
    const registration = (registrationDoc.nodeRegistration ?? {}) as Record<string, unknown>;
    const type = sizes.get(name);
    if (!type) throw new RehearsalInputError(`rehearse: node ${name} has no server in infra-out's Terraform JSON; infra-out is stale: run keelson synth`);
    const size = serverSize(provider, type);
    const labels: Record<string, string> = {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': name,
      ...(controller ? { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } : {}),
      ...nodeLabels,
    };
    const declared = registration.taints as NodeTaint[] | null | undefined;
    const taints = declared === undefined || declared === null ? (controller ? [KUBEADM_CONTROL_PLANE_TAINT] : []) : declared.map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect }));
    const cpuMillis = size.vcpus * 1000;
    const memoryBytes = Math.round(size.memoryGiB * 1024 ** 3);
    const pods = kubelet.maxPods ?? DEFAULT_MAX_PODS;
    const reserved = (r: Record<string, string> | undefined, key: string, unit: 'bytes' | 'millis') => parseQuantity(r?.[key], unit);
    const evictionMemory = parseQuantity((kubelet.evictionHard ?? {})['memory.available'] ?? DEFAULT_EVICTION_MEMORY, 'bytes');
    return {
      name,
      role: controller ? 'controller' : 'worker',
      size: type,
      labels,
      taints,
      capacity: { cpuMillis, memoryBytes, pods },
      allocatable: {
        cpuMillis: cpuMillis - reserved(kubelet.kubeReserved, 'cpu', 'millis') - reserved(kubelet.systemReserved, 'cpu', 'millis'),
        memoryBytes: memoryBytes - reserved(kubelet.kubeReserved, 'memory', 'bytes') - reserved(kubelet.systemReserved, 'memory', 'bytes') - evictionMemory,
        pods,
      },
    };
  });
}

/** The Node object the rehearsal creates for a simulated node, handed to kwok by its annotation. */
export function nodeObject(node: SimulatedNode, annotation: string): Record<string, unknown> {
  const resources = (r: SimulatedNode['capacity']) => ({ cpu: `${r.cpuMillis}m`, memory: String(r.memoryBytes), pods: String(r.pods) });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: node.labels, annotations: { [annotation]: 'fake', 'keelson.dev/server-type': node.size } },
    spec: node.taints.length > 0 ? { taints: node.taints } : {},
    // "Nodes allow all fields, including status, to be set on create": the kubelet's first report.
    status: { capacity: resources(node.capacity), allocatable: resources(node.allocatable) },
  };
}
