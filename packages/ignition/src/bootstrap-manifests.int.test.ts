import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exampleConfig, parsePlatformConfig } from '@keelson/platform-spec';
import { decodeInlineContents } from './builder';
import { BOOTSTRAP_MANIFESTS_MAX_RUNS, NODE_PATHS, renderNodeConfigs } from './node-configs';
import { testClusterSecrets } from './test-cluster-secrets';

/**
 * The first controller's bootstrap steps (scripts/bootstrap-manifests.sh, as
 * Ignition writes it), each run as keelson-bootstrap-manifests.service runs
 * it, under a scratch root with a stand-in kubectl that answers as a cluster
 * whose installer Job is running, complete or failed.
 */
const spec = parsePlatformConfig(exampleConfig());
const bootstrap = [{ name: 'network', manifests: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe, namespace: kube-system}\n', cleanup: { job: { namespace: 'kube-system', name: 'keelson-cni-install' }, delete: ['job/keelson-cni-install'] } }];
const config = renderNodeConfigs({ spec, secrets: testClusterSecrets(), secretPartUrl: () => 'https://unused/', initialize: true, bootstrap })[0];

function node(): string {
  const root = mkdtempSync(join(tmpdir(), 'keelson-manifests-'));
  const parsed = JSON.parse(config.full) as { storage: { files: Array<{ path: string; contents: { source?: string; compression?: string } }> } };
  for (const f of parsed.storage.files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), decodeInlineContents(f.contents) ?? '');
  }
  mkdirSync(join(root, 'etc/kubernetes'), { recursive: true });
  writeFileSync(join(root, 'etc/kubernetes/admin.conf'), 'a kubeconfig\n');
  return root;
}

/** Runs one step; `job` is what the stand-in kubectl reports as the Job's true conditions. */
const upstream = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: argocd}\n';
const upstreamSha256 = createHash('sha256').update(upstream).digest('hex');

function step(root: string, args: string[], job: 'running' | 'Complete' | 'Failed' = 'Complete') {
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const log = join(root, 'kubectl.log');
  writeFileSync(
    join(bin, 'kubectl'),
    [
      '#!/bin/bash',
      `echo "$*" >> ${log}`,
      'case "$*" in',
      `  *" get job "*) ${job === 'running' ? 'exit 0' : `printf '%s ' ${job}`} ;;`,
      `  *" logs job/"*) echo "cilium install: timed out waiting for the API"; echo "exit 1" ;;`,
      '  *" apply "*) cat > /dev/null ;;',
      'esac',
    ].join('\n'),
  );
  writeFileSync(join(bin, 'sleep'), '#!/bin/bash\nexit 0\n');
  // The upstream file: what a download gets.
  writeFileSync(join(bin, 'curl'), `#!/bin/bash\nout=""; prev=""; for a in "$@"; do [ "$prev" = --output ] && out="$a"; prev="$a"; done\nprintf '%s' '${upstream}' > "$out"\n`);
  for (const f of ['kubectl', 'sleep', 'curl']) chmodSync(join(bin, f), 0o755);
  const run = spawnSync('bash', [join(root, NODE_PATHS.bootstrapManifestsScript), ...args], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, KEELSON_ROOT: root } });
  const status = Object.fromEntries(readFileSync(join(root, NODE_PATHS.bootstrapStatus), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { status: run.status, stderr: run.stderr, state: status, kubectl: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
}

describe('the bootstrap steps on the first controller', () => {
  it('applies a step with server-side apply as the admin, and logs it', () => {
    const root = node();
    const run = step(root, ['apply', 'network', `${NODE_PATHS.bootstrapDir}/01-network.yaml`]);
    expect(run.status).toBe(0);
    expect(run.kubectl[0]).toBe(`--kubeconfig ${root}/etc/kubernetes/admin.conf --request-timeout=30s apply --server-side --force-conflicts --field-manager=keelson-bootstrap -f ${NODE_PATHS.bootstrapDir}/01-network.yaml`);
    expect(run.stderr).toMatch(/keelson-bootstrap node=keelson-controller-1 step=manifests:network attempt=0: applied /);
    expect(run.state).toMatchObject({ state: 'running', step: 'manifests:network' });
  });

  it('fails at once, with the Job\'s last log lines, when the installer Job failed', () => {
    const run = step(node(), ['wait-job', 'kube-system', 'keelson-cni-install', '600'], 'Failed');
    expect(run.status).toBe(1);
    expect(run.kubectl.filter((c) => c.includes(' get job '))).toHaveLength(1);
    expect(run.state).toMatchObject({ state: 'failed', step: 'manifests:wait-keelson-cni-install' });
    expect(run.state.message).toBe('Job kube-system/keelson-cni-install failed: cilium install: timed out waiting for the API exit 1');
  });

  it('stops waiting for a Job that neither completes nor fails at its bound, and says where to look', () => {
    const run = step(node(), ['wait-job', 'kube-system', 'keelson-cni-install', '600'], 'running');
    expect(run.status).toBe(1);
    // One look every 5 s: 121 looks in 600 s.
    expect(run.kubectl.filter((c) => c.includes(' get job '))).toHaveLength(121);
    expect(run.state.message).toBe('Job kube-system/keelson-cni-install did not complete within 600 s (conditions: none); kubectl -n kube-system describe job keelson-cni-install');
  });

  it('applies an upstream URL only when its download has the pinned SHA-256', () => {
    const root = node();
    const url = 'https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml';
    const pinned = step(root, ['apply-url', 'argocd-install', url, 'argocd', upstreamSha256]);
    expect(pinned.status).toBe(0);
    expect(pinned.kubectl[0]).toBe(`--kubeconfig ${root}/etc/kubernetes/admin.conf --request-timeout=30s apply --server-side --force-conflicts --field-manager=keelson-bootstrap --namespace=argocd -f ${root}/run/keelson/argocd-install.yaml`);
    const moved = step(root, ['apply-url', 'argocd-install', url, 'argocd', 'f'.repeat(64)]);
    expect(moved.status).toBe(1);
    expect(moved.kubectl.filter((c) => c.includes(' apply --server-side ') && c.includes('install.yaml'))).toEqual([pinned.kubectl[0]]);
    expect(moved.state.message).toBe(`${url} has sha256 ${upstreamSha256}, not the pinned ${'f'.repeat(64)}; refusing to apply it (a moved tag or a changed file)`);
  });

  it('counts each run of the step list as an attempt, so a failure in the last run the unit allows is final', () => {
    const unit = (JSON.parse(config.full) as { systemd: { units: Array<{ name: string; contents?: string }> } }).systemd.units.find((u) => u.name === 'keelson-bootstrap-manifests.service')!.contents!;
    // The bound the script publishes is the one systemd enforces.
    expect(unit).toContain(`StartLimitBurst=${BOOTSTRAP_MANIFESTS_MAX_RUNS}`);
    expect(unit).toContain(`Environment=KEELSON_MAX_ATTEMPTS=${BOOTSTRAP_MANIFESTS_MAX_RUNS}`);
    expect(unit).toContain(`ExecStartPre=${NODE_PATHS.bootstrapManifestsScript} begin`);
    const root = node();
    step(root, ['apply', 'network', `${NODE_PATHS.bootstrapDir}/01-network.yaml`]);
    for (let run = 1; run <= BOOTSTRAP_MANIFESTS_MAX_RUNS; run++) expect(step(root, ['begin']).stderr).toContain(`run ${run} of the bootstrap steps, at most ${BOOTSTRAP_MANIFESTS_MAX_RUNS}`);
    const last = step(root, ['wait-job', 'kube-system', 'keelson-cni-install', '600'], 'Failed');
    expect(last.status).toBe(1);
    expect(last.state).toMatchObject({ state: 'failed', step: 'manifests:wait-keelson-cni-install', attempt: String(BOOTSTRAP_MANIFESTS_MAX_RUNS) });
    // Its own count: kubeadm-bootstrap's attempts are not touched.
    expect(existsSync(join(root, 'var/lib/keelson/bootstrap-attempt'))).toBe(false);
  });

  it('goes on once the Job completed, and ends with the status "bootstrapped"', () => {
    const root = node();
    expect(step(root, ['wait-job', 'kube-system', 'keelson-cni-install', '600']).status).toBe(0);
    const done = step(root, ['done']);
    expect(done.status).toBe(0);
    expect(done.state).toMatchObject({ state: 'bootstrapped', step: 'manifests:done' });
    // Published for keelson deploy with the node's admin credentials (the bootstrap token is gone by now).
    expect(done.kubectl.at(-1)).toBe(`--kubeconfig ${root}/etc/kubernetes/admin.conf --request-timeout=10s apply --server-side --force-conflicts --field-manager=keelson-bootstrap -f -`);
  });
});
