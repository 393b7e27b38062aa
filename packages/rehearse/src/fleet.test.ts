import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigitalOceanProvider, HETZNER_SERVER_TYPES, HetznerProvider } from '@keelson/infra-nodes';
import { nodeObject, parseQuantity, serverSize, simulatedFleet } from './fleet';
import { ignition, infraOut as makeInfraOut, kubeadmInit as init, kubeadmJoin as join_ } from './test-fixtures';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

let dir: string;
const digitalocean = new DigitalOceanProvider();
const hetzner = new HetznerProvider();
const infraOut = (nodes: Parameters<typeof makeInfraOut>[1], resource?: string, sizeKey?: string) => makeInfraOut(dir, nodes, resource, sizeKey);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keelson-fleet-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('serverSize', () => {
  it.each([
    ['s-4vcpu-8gb', 4, 8],
    ['s-2vcpu-4gb-amd', 2, 4],
    ['g-2vcpu-8gb', 2, 8],
    ['s-1vcpu-512mb-10gb', 1, 0.5],
    ['c-8', 8, 16],
  ])('reads DigitalOcean %s as %i vCPUs and %d GiB', (slug, vcpus, memoryGiB) => {
    expect(serverSize(digitalocean, slug)).toEqual({ vcpus, memoryGiB });
  });

  it('knows Hetzner server types by name', () => {
    expect(serverSize(hetzner, 'cx33')).toEqual({ vcpus: 4, memoryGiB: 8 });
    expect(serverSize(hetzner, 'ccx23')).toEqual({ vcpus: 4, memoryGiB: 16 });
  });

  it("sizes exactly the Hetzner provider's current line-up, as it states it", () => {
    for (const t of HETZNER_SERVER_TYPES) expect(serverSize(hetzner, t.name)).toEqual({ vcpus: t.vcpus, memoryGiB: t.memoryGiB });
  });

  it('refuses a server type it cannot size, naming it', () => {
    expect(() => serverSize(hetzner, 'cax21')).toThrow(/Hetzner Cloud server type "cax21" has no known CPU and memory.*use one of the current Hetzner Cloud server types \(cx23, /);
    expect(() => serverSize(digitalocean, 'gpu-h100x1-80gb')).toThrow(/"gpu-h100x1-80gb"/);
  });
});

describe('parseQuantity', () => {
  it('reads binary and decimal suffixes and millicores', () => {
    expect(parseQuantity('100Mi', 'bytes')).toBe(100 * MiB);
    expect(parseQuantity('1G', 'bytes')).toBe(1e9);
    expect(parseQuantity('250m', 'millis')).toBe(250);
    expect(parseQuantity('2', 'millis')).toBe(2000);
    expect(parseQuantity(undefined, 'bytes')).toBe(0);
  });
});

describe('simulatedFleet', () => {
  it('registers each node with the labels the kubelet and kubeadm set and its node-labels', () => {
    const out = infraOut({
      'k-controller-1': { size: 's-4vcpu-8gb', kubeadm: { '/etc/keelson/kubeadm-init.yaml': init('k-controller-1') } },
      'k-worker-1': { size: 's-2vcpu-4gb', kubeadm: { '/etc/keelson/kubeadm-join.yaml': join_('k-worker-1', false) } },
    });
    const [controller, worker] = simulatedFleet(out);
    expect(controller.role).toBe('controller');
    expect(controller.labels).toMatchObject({
      'kubernetes.io/hostname': 'k-controller-1',
      'kubernetes.io/os': 'linux',
      'node-role.kubernetes.io/control-plane': '',
      'topology.kubernetes.io/zone': 'fra1',
      'topology.kubernetes.io/region': 'fra1',
      'keelson.dev/role': 'controller',
    });
    expect(controller.taints).toEqual([]);
    expect(worker.role).toBe('worker');
    expect(worker.labels['node-role.kubernetes.io/control-plane']).toBeUndefined();
    expect(worker.labels['topology.kubernetes.io/zone']).toBe('zone-b');
  });

  it("sizes allocatable from the server type less the kubelet's hard eviction threshold (100Mi) when nothing is reserved", () => {
    const out = infraOut({ 'k-controller-1': { size: 's-4vcpu-8gb', kubeadm: { '/etc/keelson/kubeadm-init.yaml': init('k-controller-1') } } });
    const [node] = simulatedFleet(out);
    expect(node.capacity).toEqual({ cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 110 });
    expect(node.allocatable).toEqual({ cpuMillis: 4000, memoryBytes: 8 * GiB - 100 * MiB, pods: 110 });
  });

  it("takes the KubeletConfiguration's reservations, eviction threshold and maxPods", () => {
    const kubelet = 'maxPods: 60\nkubeReserved:\n  cpu: 100m\n  memory: 256Mi\nsystemReserved:\n  cpu: 150m\nevictionHard:\n  memory.available: 200Mi\n';
    const out = infraOut({ 'k-controller-1': { size: 's-4vcpu-8gb', kubeadm: { '/etc/keelson/kubeadm-init.yaml': init('k-controller-1', kubelet) } } });
    expect(simulatedFleet(out)[0].allocatable).toEqual({ cpuMillis: 3750, memoryBytes: 8 * GiB - 256 * MiB - 200 * MiB, pods: 60 });
  });

  it("gives a joining controller kubeadm's control-plane taint when its config leaves taints out, and keeps declared ones", () => {
    const out = infraOut({
      'k-controller-1': { size: 's-4vcpu-8gb', kubeadm: { '/etc/keelson/kubeadm-init.yaml': init('k-controller-1') } },
      'k-controller-2': { size: 's-4vcpu-8gb', kubeadm: { '/etc/keelson/kubeadm-join.yaml': join_('k-controller-2', true) } },
      'k-worker-1': { size: 's-4vcpu-8gb', kubeadm: { '/etc/keelson/kubeadm-join.yaml': join_('k-worker-1', false, '  taints:\n    - key: dedicated\n      value: media\n      effect: NoSchedule\n') } },
    });
    const fleet = simulatedFleet(out);
    expect(fleet[1].taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    expect(fleet[2].taints).toEqual([{ key: 'dedicated', value: 'media', effect: 'NoSchedule' }]);
  });

  it('reads Hetzner server types from hcloud_server', () => {
    const out = infraOut({ 'k-controller-1': { size: 'cx43', kubeadm: { '/etc/keelson/kubeadm-init.yaml': init('k-controller-1') } } }, 'hcloud_server', 'server_type');
    expect(simulatedFleet(out)[0].capacity.cpuMillis).toBe(8000);
  });

  it('fails when no server in infra-out belongs to a cloud with a node provider', () => {
    const out = infraOut({ 'k-controller-1': { size: 't3.large', kubeadm: { '/etc/keelson/kubeadm-init.yaml': init('k-controller-1') } } }, 'aws_instance', 'instance_type');
    expect(() => simulatedFleet(out)).toThrow(/no server of a known cloud \(digitalocean_droplet, hcloud_server\); run keelson synth/);
  });

  it('fails naming the node when infra-out has no server for it', () => {
    const out = infraOut({ 'k-controller-1': { size: 's-4vcpu-8gb', kubeadm: { '/etc/keelson/kubeadm-init.yaml': init('k-controller-1') } } });
    writeFileSync(join(out, 'ignition', 'k-stray.ign'), ignition({ '/etc/keelson/kubeadm-join.yaml': join_('k-stray', false) }));
    expect(() => simulatedFleet(out)).toThrow(/node k-stray has no server in infra-out's Terraform JSON/);
  });

  it('fails when infra-out has no ignition folder', () => {
    expect(() => simulatedFleet(join(dir, 'nowhere'))).toThrow(/does not exist; run keelson synth first/);
  });

  it('builds a Node that kwok manages, with its capacity in the status', () => {
    const out = infraOut({ 'k-controller-1': { size: 's-4vcpu-8gb', kubeadm: { '/etc/keelson/kubeadm-init.yaml': init('k-controller-1') } } });
    const node = nodeObject(simulatedFleet(out)[0], 'kwok.x-k8s.io/node') as { metadata: { annotations: Record<string, string> }; status: { allocatable: Record<string, string> } };
    expect(node.metadata.annotations['kwok.x-k8s.io/node']).toBe('fake');
    expect(node.status.allocatable).toEqual({ cpu: '4000m', memory: String(8 * GiB - 100 * MiB), pods: '110' });
  });
});
