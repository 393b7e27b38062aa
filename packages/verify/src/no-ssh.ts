import { existsSync, readFileSync } from 'node:fs';
import { findLoginCredentials } from '@keelson/ignition';
// The cdktf-free entry point: verify never loads the providers.
import { CLOUD_RESOURCE_TYPES, inboundRules, isKeylessSshPublicKey, opensPort, type TerraformJson } from '@keelson/infra-nodes/security-assertions';
import { asArray, check, isRecord, type CheckResult, type Finding, type NodeInfo, type TerraformDocument } from './types';

const SSH_KEY_TYPES = new Set(CLOUD_RESOURCE_TYPES.sshKeys);

/** Whether a rule lets TCP `port` in: the port, a range holding it, or all ports. */
export function opensTcpPort(rule: { protocol: string; ports: string }, port: number): boolean {
  return opensPort(rule, port, 'tcp');
}

/** Calls that would run an SSH client from the CLI: child_process with ssh, scp or sftp. */
const SHELL_INTO_NODE = /\b(?:spawn|spawnSync|exec|execSync|execFile|execFileSync|execa|fork)\s*\(\s*(?:\[\s*)?[`'"](?:[^`'"\s]*\/)?(ssh|scp|sftp)(?=[\s`'"])/g;

/**
 * No SSH: no usable key in the Terraform, no inbound rule that opens TCP 22,
 * sshd masked and no login credential in every node's Ignition, and no step
 * of the CLI that runs an SSH client.
 *
 * DigitalOcean requires an SSH key on a droplet from a custom image, so a key
 * resource is accepted when its public key is keyless (a point hashed onto
 * the curve from the cluster name, recomputed here: its private half exists
 * nowhere), and `ssh_keys` when it lists only such keys. Any other key
 * resource, data source or `ssh_keys` value fails.
 *
 * @see https://docs.digitalocean.com/products/custom-images/details/limits/
 */
export function checkNoSsh(nodes: readonly NodeInfo[], terraform: TerraformDocument, terraformFile: string, cliBundle?: string): { check: CheckResult } {
  const findings: Finding[] = [];
  const warnings: Finding[] = [];
  // Key resources whose private half exists nowhere: `${type}.${name}` references a droplet may list.
  const keyless = new Set<string>();
  for (const [type, byName] of Object.entries(terraform.resource ?? {})) {
    if (!SSH_KEY_TYPES.has(type)) continue;
    for (const [name, attributes] of Object.entries(byName ?? {})) {
      const key = isRecord(attributes) ? attributes.public_key : undefined;
      if (typeof key === 'string' && isKeylessSshPublicKey(key)) keyless.add(`${type}.${name}`);
    }
  }
  const refersToKeyless = (v: unknown) => typeof v === 'string' && [...keyless].some((k) => v === `\${${k}.fingerprint}` || v === `\${${k}.id}`);
  let keyedServers = 0;
  for (const section of ['resource', 'data'] as const) {
    for (const [type, byName] of Object.entries(terraform[section] ?? {})) {
      for (const [name, attributes] of Object.entries(byName ?? {})) {
        const address = `${section === 'data' ? 'data.' : ''}${type}.${name}`;
        if (SSH_KEY_TYPES.has(type) && !keyless.has(address)) {
          findings.push({ file: terraformFile, message: `${address} declares an SSH key; nodes take no keys: remove it` });
        }
        const walk = (v: unknown, path: string) => {
          if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
          else if (isRecord(v)) for (const [k, x] of Object.entries(v)) {
            if (k === 'ssh_keys') {
              if (Array.isArray(x) && x.length > 0 && x.every(refersToKeyless)) keyedServers++;
              else findings.push({ file: terraformFile, message: `${address} sets ${path ? `${path}.` : ''}ssh_keys = ${JSON.stringify(x)}; remove it (no SSH, ever)` });
            }
            walk(x, path ? `${path}.${k}` : k);
          }
        };
        walk(attributes, '');
      }
    }
  }
  // The same rules infra-nodes' own security assertions read (DigitalOcean and Hetzner firewalls).
  const rules = inboundRules(terraform as TerraformJson);
  for (const r of rules.filter((x) => opensTcpPort(x, 22))) findings.push({ file: terraformFile, message: `${r.resource} opens port 22 (${r.protocol || 'any protocol'} ${r.ports}); close it: nodes are never reached by SSH` });
  for (const n of nodes) {
    const units = asArray<{ name: string; mask?: boolean }>(n.ignition.systemd?.units);
    for (const unit of ['sshd.service', 'sshd.socket']) {
      if (units.find((u) => u.name === unit)?.mask !== true) findings.push({ file: n.file, message: `node ${n.name}: ${unit} is not masked; mask it in the node's Ignition (systemd.units: { name: ${unit}, mask: true })` });
    }
    for (const c of findLoginCredentials(n.ignition)) findings.push({ file: n.file, message: `node ${n.name}: ${c}; nodes have no login` });
  }
  let cli = 'the CLI bundle was not given';
  if (cliBundle && existsSync(cliBundle)) {
    const text = readFileSync(cliBundle, 'utf8');
    const calls = [...text.matchAll(SHELL_INTO_NODE)];
    for (const m of calls) findings.push({ file: cliBundle, message: `the CLI runs ${m[1]} (${m[0].slice(0, 60)}); no step may shell into a node` });
    cli = `the CLI bundle (${Math.round(text.length / 1024)} KiB) runs no ssh, scp or sftp`;
  } else {
    warnings.push({ file: cliBundle ?? 'apps/platform/dist/keelson.cjs', message: 'the CLI bundle was not checked for ssh/scp calls (build it: npx nx run platform:build)' });
  }
  const keys =
    keyless.size > 0
      ? `SSH key present as the cloud requires (${[...keyless].join(', ')} on ${keyedServers} servers), private half nonexistent (a point hashed from the cluster name, recomputed here)`
      : 'no SSH key';
  return { check: check('no-ssh', `${keys}; sshd masked and no login on ${nodes.length} node configs; port 22 closed in ${rules.length} inbound firewall rules; ${cli}`, findings, warnings) };
}
