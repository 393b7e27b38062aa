import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type NodeSpec } from '@keelson/platform-spec';
import { decodeInlineContents } from './builder';
import { NODE_PATHS, renderNodeConfigs } from './node-configs';
import { testClusterSecrets } from './test-cluster-secrets';

/**
 * Runs the real first-boot script with stand-ins for the programs a node
 * has (curl, kubeadm, sleep), its absolute paths moved under a scratch root.
 */
const spec = parsePlatformConfig(exampleConfig());
const secrets = testClusterSecrets();

function scriptFiles(node: NodeSpec, initialize?: boolean): Map<string, string> {
  const config = renderNodeConfigs({ spec, secrets, secretPartUrl: () => 'https://unused/', initialize }).find((c) => c.node.name === node.name);
  const parsed = JSON.parse(config?.full ?? '{}') as { storage: { files: Array<{ path: string; contents: { source?: string; compression?: string } }> } };
  return new Map(parsed.storage.files.map((f) => [f.path, decodeInlineContents(f.contents)?.toString('utf8') ?? '']));
}

interface Run {
  readonly status: number | null;
  readonly calls: string[];
  readonly root: string;
  readonly stderr: string;
}

interface Scenario {
  readonly curlCode?: string;
  readonly kubeadmExit?: number;
  /** Contents of /run/metadata/flatcar. @default DigitalOcean's, with a private address */
  readonly metadata?: string;
  /** What `ip -4 -o addr show` prints. @default nothing */
  readonly ipOutput?: string;
}

function boot(node: NodeSpec, env: Scenario, root = mkdtempSync(join(tmpdir(), 'keelson-boot-')), initialize?: boolean): Run {
  const files = scriptFiles(node, initialize);
  const rooted = (text: string) => text.replace(/(?<![\w/])\/(run|etc\/keelson|var\/lib\/keelson)\b/g, `${root}/$1`);
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(root, 'run/metadata'), { recursive: true });
  writeFileSync(join(root, 'run/metadata/flatcar'), env.metadata ?? 'COREOS_DIGITALOCEAN_IPV4_PRIVATE_0=10.10.0.7\n');
  for (const path of [NODE_PATHS.kubeadmInit, NODE_PATHS.kubeadmJoin]) {
    if (!files.has(path) || existsSync(rooted(path))) continue;
    mkdirSync(join(rooted(path), '..'), { recursive: true });
    writeFileSync(rooted(path), files.get(path) as string);
  }
  const log = join(root, 'calls.log');
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub('curl', `printf '%s' "${env.curlCode ?? '000'}"`);
  stub('sleep', 'exit 0');
  stub('ip', `printf '%s' "${env.ipOutput ?? ''}"`);
  stub('kubeadm', `if [ "$1" = reset ]; then exit 0; fi\n[ -f "\${@: -1}" ] || true\ncp "$3" ${root}/kubeadm-seen.yaml 2>/dev/null || true\nexit ${env.kubeadmExit ?? 0}`);
  const script = join(root, 'bootstrap');
  writeFileSync(script, rooted(files.get(NODE_PATHS.bootstrapScript) as string));
  const r = spawnSync('bash', [script], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } });
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  return { status: r.status, calls, root, stderr: r.stderr };
}

const [first, second] = spec.topology.controllers;
const worker = spec.topology.workers[0];
const rootedPath = (root: string, p: string) => join(root, p);

describe('the first-boot script', () => {
  it('creates the cluster on the first controller when nothing answers for three minutes', () => {
    const run = boot(first, { curlCode: '000' });
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('curl'))).toHaveLength(18);
    expect(run.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([expect.stringMatching(/^kubeadm init --config .*kubeadm\.yaml --skip-token-print$/)]);
    const seen = readFileSync(join(run.root, 'kubeadm-seen.yaml'), 'utf8');
    expect(seen).toMatch(/kind: InitConfiguration/);
    expect(seen).toMatch(/advertiseAddress: "10\.10\.0\.7"/);
    expect(seen).toMatch(/value: "10\.10\.0\.7"/);
    expect(seen).not.toContain('@NODE_IP@');
    expect(existsSync(rootedPath(run.root, NODE_PATHS.joinedStamp))).toBe(true);
    // The stamp that lets keelson-bootstrap-manifests.service apply the pod network.
    expect(existsSync(rootedPath(run.root, NODE_PATHS.initializedStamp))).toBe(true);
    expect(existsSync(rootedPath(run.root, NODE_PATHS.kubeadmJoin))).toBe(false);
    expect(existsSync(join(run.root, 'run/keelson/kubeadm.yaml'))).toBe(false);
  });

  it('joins on the first controller when any HTTP answer shows a cluster exists', () => {
    const run = boot(first, { curlCode: '401' });
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('curl'))).toHaveLength(1);
    expect(run.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([expect.stringMatching(/^kubeadm join --config /)]);
    expect(readFileSync(join(run.root, 'kubeadm-seen.yaml'), 'utf8')).toMatch(/kind: JoinConfiguration/);
    expect(existsSync(rootedPath(run.root, NODE_PATHS.initializedStamp))).toBe(false);
  });

  it('never probes or creates a cluster on a replaced first controller', () => {
    const run = boot(first, { curlCode: '000' }, undefined, false);
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('curl'))).toEqual([]);
    expect(run.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([expect.stringMatching(/^kubeadm join /)]);
  });

  it('waits its turn on later controllers, once', () => {
    const run = boot(second, {});
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('sleep'))).toEqual(['sleep 90']);
  });

  it('resets a failed join, keeps no stamp and no token file, and succeeds on the next try', () => {
    const failed = boot(worker, { kubeadmExit: 1 });
    expect(failed.status).toBe(1);
    expect(failed.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([expect.stringMatching(/^kubeadm join /), 'kubeadm reset --force']);
    expect(existsSync(rootedPath(failed.root, NODE_PATHS.joinedStamp))).toBe(false);
    expect(existsSync(join(failed.root, 'run/keelson/kubeadm.yaml'))).toBe(false);
    expect(existsSync(rootedPath(failed.root, NODE_PATHS.kubeadmJoin))).toBe(true);
    const retried = boot(worker, { kubeadmExit: 0 }, failed.root);
    expect(retried.status).toBe(0);
    expect(existsSync(rootedPath(retried.root, NODE_PATHS.joinedStamp))).toBe(true);
  });

  it('takes the address from the node network when the metadata has none (Hetzner)', () => {
    const run = boot(worker, { metadata: 'COREOS_HETZNER_HOSTNAME=x\n', ipOutput: '3: enp7s0    inet 10.10.0.9/32 brd 10.10.0.9 scope global dynamic enp7s0\n' });
    expect(run.status).toBe(0);
    expect(run.calls).toContain('ip -4 -o addr show to 10.10.0.0/16');
    expect(readFileSync(join(run.root, 'kubeadm-seen.yaml'), 'utf8')).toMatch(/value: "10\.10\.0\.9"/);
  });

  it('stops with a clear message when no private address can be found', () => {
    const run = boot(worker, { metadata: 'COREOS_HETZNER_HOSTNAME=x\n' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/coreos-metadata wrote no private IPv4 address and no interface is in the node network/);
    expect(run.calls.filter((c) => c.startsWith('kubeadm'))).toEqual([]);
  });
});
