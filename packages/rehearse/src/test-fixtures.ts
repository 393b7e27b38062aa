// For the rehearse tests: renders made by the built CLI, hand-made infra-out
// (node configs that write only their kubeadm config, and the Terraform JSON
// with each server's type).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { exampleConfig } from '@keelson/platform-spec';

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

const CLI = resolve(__dirname, '../../../apps/platform/dist/keelson.cjs');

/**
 * Synthesises `config` with the built CLI into `<dir>/out` (its secrets in
 * `<dir>/secrets`), as a user's `keelson synth` would, without blocking the
 * event loop (other rehearsals in the process keep their clocks).
 */
export async function synthWithCli(config: string, dir: string): Promise<{ chartsDir: string; infraDir: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; build it with npx nx run platform:build (rehearse's test targets depend on it)`);
  try {
    await promisify(execFile)(process.execPath, [CLI, 'synth', '--config', config, '--out', join(dir, 'out'), '--secrets', join(dir, 'secrets')], { encoding: 'utf8', timeout: 120_000 });
  } catch (e) {
    throw new Error(`keelson synth --config ${config} failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
  return { chartsDir: join(dir, 'out', 'charts-out'), infraDir: join(dir, 'out', 'infra-out') };
}

/** The example platform (`exampleConfig()`) written to `<dir>/platform.json` and synthesised there with the built CLI. */
export async function synthExamplePlatform(dir: string): Promise<{ config: string; chartsDir: string; infraDir: string }> {
  const config = join(dir, 'platform.json');
  writeFileSync(config, JSON.stringify(exampleConfig()));
  return { config, ...(await synthWithCli(config, dir)) };
}
