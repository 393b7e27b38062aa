// Hand-made infra-out for the rehearse tests: node configs that write only
// their kubeadm config, and the Terraform JSON with each server's type.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A node's full Ignition config that writes only the given files, as infra-out holds it. */
export function ignition(files: Record<string, string>): string {
  return JSON.stringify({
    ignition: { version: '3.3.0' },
    storage: { files: Object.entries(files).map(([path, text]) => ({ path, mode: 0o600, contents: { source: `data:,${encodeURIComponent(text)}` } })) },
  });
}

/** The first controller's kubeadm config: InitConfiguration, ClusterConfiguration and a KubeletConfiguration with `kubelet` in it. */
export const kubeadmInit = (name: string, kubelet = '') => `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  name: ${name}
  taints: []
  kubeletExtraArgs:
    - name: node-labels
      value: keelson.dev/role=controller,topology.kubernetes.io/region=fra1,topology.kubernetes.io/zone=fra1
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: test
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
${kubelet}`;

/** A joining node's kubeadm config; `taints` is the YAML of `nodeRegistration.taints`, left out when undefined. */
export const kubeadmJoin = (name: string, controlPlane: boolean, taints?: string) => `apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
nodeRegistration:
  name: ${name}
${taints ?? ''}  kubeletExtraArgs:
    - name: node-labels
      value: keelson.dev/role=${controlPlane ? 'controller' : 'worker'},topology.kubernetes.io/zone=zone-b
${controlPlane ? 'controlPlane:\n  localAPIEndpoint:\n    bindPort: 6443\n' : ''}`;

/** An infra-out folder under `parent` with these nodes. */
export function infraOut(parent: string, nodes: Record<string, { size: string; kubeadm: Record<string, string> }>, resource = 'digitalocean_droplet', sizeKey = 'size'): string {
  const out = mkdtempSync(join(parent, 'infra-'));
  mkdirSync(join(out, 'ignition'));
  const servers: Record<string, unknown> = {};
  for (const [name, n] of Object.entries(nodes)) {
    writeFileSync(join(out, 'ignition', `${name}.ign`), ignition(n.kubeadm));
    writeFileSync(join(out, 'ignition', `${name}.pointer.ign`), '{}');
    servers[name] = { name, [sizeKey]: n.size };
  }
  writeFileSync(join(out, 'main.tf.json'), JSON.stringify({ resource: { [resource]: servers } }));
  return out;
}
