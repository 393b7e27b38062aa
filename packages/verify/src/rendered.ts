import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import YAML from 'yaml';
import { decodeInlineContents } from '@keelson/ignition';
// The cdktf-free entry point: verify never loads the providers.
import { CLOUD_RESOURCE_TYPES } from '@keelson/infra-nodes/security-assertions';
import { asArray, isRecord, type Finding, type IgnitionLike, type KubeadmDocument, type NodeInfo, type TerraformDocument } from './types';

/** Terraform resource types that are nodes: each cloud's, as its node provider declares it. */
export const SERVER_TYPES: readonly string[] = CLOUD_RESOURCE_TYPES.servers;

/** kubelet node label of the failure domain. @see https://kubernetes.io/docs/reference/labels-annotations-taints/#topologykubernetesiozone */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** What infra-out holds, parsed, with anything inconsistent in it. */
export interface InfraOut {
  readonly nodes: NodeInfo[];
  readonly terraform: TerraformDocument;
  readonly terraformFile: string;
  readonly findings: Finding[];
}

/** Decoded text of a file an Ignition config writes, or undefined when it writes none there (or fetches it). */
export function ignitionFileText(ignition: IgnitionLike, path: string): string | undefined {
  const file = asArray<{ path: string; contents?: { source?: string; compression?: string } }>(ignition.storage?.files).find((f) => f.path === path);
  return file?.contents ? decodeInlineContents(file.contents)?.toString('utf8') : undefined;
}

/** The nodes of a Terraform document: `[resource address, name attribute]`. */
export function terraformServers(doc: TerraformDocument): { address: string; name: string; attributes: Record<string, unknown> }[] {
  const out: { address: string; name: string; attributes: Record<string, unknown> }[] = [];
  for (const type of SERVER_TYPES) {
    for (const [key, attributes] of Object.entries(doc.resource?.[type] ?? {})) {
      if (isRecord(attributes)) out.push({ address: `${type}.${key}`, name: String(attributes.name ?? key), attributes });
    }
  }
  return out;
}

/** Node labels from a kubeadm `nodeRegistration.kubeletExtraArgs` (v1beta4 list or v1beta3 map). */
function nodeLabels(doc: KubeadmDocument): Record<string, string> {
  const reg = isRecord(doc.nodeRegistration) ? doc.nodeRegistration : {};
  const args = reg.kubeletExtraArgs;
  const raw = Array.isArray(args)
    ? (args.find((a) => isRecord(a) && a.name === 'node-labels') as { value?: string } | undefined)?.value
    : isRecord(args)
      ? (args['node-labels'] as string | undefined)
      : undefined;
  const labels: Record<string, string> = {};
  for (const pair of String(raw ?? '').split(',').filter(Boolean)) {
    const [k, v = ''] = pair.split('=');
    labels[k.trim()] = v.trim();
  }
  return labels;
}

/**
 * Reads `infra-out/`: the Terraform JSON and each node's full Ignition config
 * (`ignition/<node>.ign`), with the kubeadm configs it writes decoded. A node
 * is a controller (an etcd member, kubeadm's stacked etcd) when its kubeadm
 * config initialises or joins the control plane.
 */
export function readInfraOut(infraDir: string): InfraOut {
  if (!statSync(infraDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`verify: ${infraDir} does not exist; run "keelson synth" (or npx nx run platform:synth) first: the fault-tolerance proof, encryption audit and SSH check read the node configs there`);
  }
  const base = join(infraDir, '..');
  const findings: Finding[] = [];
  const tfFiles = readdirSync(infraDir).filter((f) => f.endsWith('.tf.json'));
  if (tfFiles.length !== 1) throw new Error(`verify: ${infraDir} holds ${tfFiles.length} Terraform JSON files (*.tf.json), expected one; run keelson synth`);
  const terraformFile = join(infraDir, tfFiles[0]);
  const terraform = JSON.parse(readFileSync(terraformFile, 'utf8')) as TerraformDocument;
  const ignitionDir = join(infraDir, 'ignition');
  const configs = statSync(ignitionDir, { throwIfNoEntry: false })?.isDirectory()
    ? readdirSync(ignitionDir).filter((f) => f.endsWith('.ign') && !f.endsWith('.pointer.ign') && !f.endsWith('.secret.ign')).sort(byNodeName)
    : [];
  const nodes: NodeInfo[] = configs.map((f) => {
    const file = join(ignitionDir, f);
    const name = f.slice(0, -'.ign'.length);
    const ignition = JSON.parse(readFileSync(file, 'utf8')) as IgnitionLike;
    const kubeadm = asArray<{ path: string }>(ignition.storage?.files)
      .filter((x) => /^\/etc\/keelson\/kubeadm-[^/]*\.ya?ml$/.test(x.path))
      .flatMap((x) => YAML.parseAllDocuments(ignitionFileText(ignition, x.path) ?? '').map((d) => d.toJS() as KubeadmDocument))
      .filter(isRecord) as KubeadmDocument[];
    const controller = kubeadm.some((d) => d.kind === 'InitConfiguration' || (d.kind === 'JoinConfiguration' && isRecord(d.controlPlane)));
    const registration = kubeadm.find((d) => d.kind === 'InitConfiguration') ?? kubeadm.find((d) => d.kind === 'JoinConfiguration');
    // The kubelet adds the well-known labels itself (Flatcar nodes are Linux).
    const labels = { ...(registration ? nodeLabels(registration) : {}), [HOSTNAME_LABEL]: name, 'kubernetes.io/os': 'linux' };
    if (!registration) findings.push({ file: relative(base, file), message: `node ${name} has no kubeadm InitConfiguration or JoinConfiguration under /etc/keelson; it never joins the cluster` });
    return { name, role: controller ? 'controller' : 'worker', labels, ignition, kubeadm, file: relative(base, file) };
  });
  const servers = terraformServers(terraform);
  const names = new Set(nodes.map((n) => n.name));
  for (const s of servers) {
    if (!names.has(s.name)) findings.push({ file: relative(base, terraformFile), message: `${s.address} (${s.name}) has no Ignition config in ignition/; infra-out is stale: run keelson synth` });
  }
  const serverNames = new Set(servers.map((s) => s.name));
  for (const n of nodes) {
    if (!serverNames.has(n.name)) findings.push({ file: n.file, message: `node ${n.name} has an Ignition config but no server in ${tfFiles[0]}; infra-out is stale: run keelson synth` });
  }
  if (nodes.length === 0) findings.push({ file: relative(base, ignitionDir), message: 'no node Ignition config (<node>.ign) found; run keelson synth' });
  return { nodes, terraform, terraformFile: relative(base, terraformFile), findings };
}

/** `name-2` before `name-10`. */
function byNodeName(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
