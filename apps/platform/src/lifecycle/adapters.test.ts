import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubectlCluster, kubectlArgs, kubectlRunner, type CommandRunner } from './cluster';
import { CommandTerraform, findTerraformBinary, lastLines, TerraformError, terraformArgs } from './terraform';

const tmp = () => mkdtempSync(join(tmpdir(), 'keelson-adapters-'));

/** A stand-in binary that prints its argv and working folder, and fails when told. */
function fakeBinary(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    ['#!/bin/sh', 'echo "cwd=$(pwd)"', 'echo "args=$*"', 'if [ "$2" = "destroy" ]; then echo "Error: BucketNotEmpty" >&2; echo "  the bucket holds objects" >&2; exit 1; fi', 'if [ "$3" = "-json" ]; then echo \'{"secret":"x"}\'; fi', ''].join('\n'),
  );
  chmodSync(path, 0o755);
  return path;
}

describe('CommandTerraform (the real Terraform adapter)', () => {
  it('runs the binary in --out with -chdir=infra-out and appends its output to a 0600 log, JSON output excepted', async () => {
    const out = tmp();
    mkdirSync(join(out, 'infra-out'));
    const bin = fakeBinary(out, 'terraform');
    const tf = new CommandTerraform({ binary: bin, outDir: out, env: { PATH: process.env.PATH } });
    expect(await tf.run(terraformArgs.init())).toBe(`cwd=${out}\nargs=-chdir=infra-out init -input=false -no-color\n`);
    expect(await tf.run(terraformArgs.show())).toContain('{"secret":"x"}');
    const log = readFileSync(tf.logFile, 'utf8');
    expect(log).toContain(`$ ${bin} -chdir=infra-out init -input=false -no-color`);
    expect(log).toContain('args=-chdir=infra-out init');
    expect(log).not.toContain('"secret"');
    expect(statSync(tf.logFile).mode & 0o777).toBe(0o600);
  });

  it('rejects with the exit code and the Error lines when the command fails', async () => {
    const out = tmp();
    mkdirSync(join(out, 'infra-out'));
    const tf = new CommandTerraform({ binary: fakeBinary(out, 'tofu'), outDir: out });
    const error = (await tf.run(terraformArgs.destroy()).catch((e: unknown) => e)) as TerraformError;
    expect(error).toBeInstanceOf(TerraformError);
    expect(error.exitCode).toBe(1);
    expect(error.tail).toBe('Error: BucketNotEmpty the bucket holds objects');
    expect(error.message).toMatch(/tofu destroy -input=false -no-color -auto-approve exited with 1: Error: BucketNotEmpty .*\(full output in .*keelson-terraform.log\)/);
  });

  it('gives the exact argv of every call', () => {
    expect(terraformArgs.replace('hcloud_server.keelson-worker-1')).toEqual(['-chdir=infra-out', 'apply', '-input=false', '-no-color', '-auto-approve', '-replace=hcloud_server.keelson-worker-1']);
    expect(terraformArgs.apply()).toEqual(['-chdir=infra-out', 'apply', '-input=false', '-no-color', 'tfplan']);
    expect(terraformArgs.output()).toEqual(['-chdir=infra-out', 'output', '-json']);
    expect(terraformArgs.stateList()).toEqual(['-chdir=infra-out', 'state', 'list']);
  });

  it('finds terraform, then tofu, on PATH; --terraform-bin and KEELSON_TERRAFORM win', () => {
    const a = tmp();
    const b = tmp();
    const tofu = fakeBinary(a, 'tofu');
    const terraform = fakeBinary(b, 'terraform');
    expect(findTerraformBinary(undefined, { PATH: `${a}:${b}` })).toBe(terraform);
    expect(findTerraformBinary(undefined, { PATH: a })).toBe(tofu);
    expect(findTerraformBinary(undefined, { PATH: tmp() })).toBeUndefined();
    expect(findTerraformBinary('tofu', { PATH: `${b}:${a}` })).toBe(tofu);
    expect(findTerraformBinary(undefined, { PATH: b, KEELSON_TERRAFORM: tofu })).toBe(tofu);
    expect(findTerraformBinary('/nowhere/terraform', { PATH: b })).toBeUndefined();
  });

  it('keeps the Error lines of Terraform\'s boxed diagnostics', () => {
    expect(lastLines('Initializing...\n╷\n│ Error: Failed to query available provider packages\n│ \n│ Could not retrieve the list\n╵\n')).toBe('Error: Failed to query available provider packages Could not retrieve the list');
  });
});

describe('KubectlCluster (the real cluster adapter)', () => {
  const recording = (answers: Record<string, string> = {}) => {
    const calls: { args: readonly string[]; stdin?: string }[] = [];
    const run: CommandRunner = async (args, stdin) => {
      calls.push({ args, stdin });
      return answers[args.join(' ')] ?? '';
    };
    return { calls, cluster: new KubectlCluster(run) };
  };

  it('runs the exact kubectl argv for drain, Node deletion, Applications, CephCluster and Backups', async () => {
    const { calls, cluster } = recording({ [kubectlArgs.applications().join(' ')]: '{"items":[]}', [kubectlArgs.cephClusters().join(' ')]: '{"items":[]}' });
    await cluster.cordon('keelson-worker-1');
    await cluster.drain('keelson-worker-1', 900);
    await cluster.deleteNode('keelson-worker-1');
    await cluster.applications();
    await cluster.cephHealth();
    await cluster.backupPhase('keelson-final-1');
    expect(calls.map((c) => c.args)).toEqual([
      ['cordon', 'keelson-worker-1'],
      ['drain', 'keelson-worker-1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=900s'],
      ['delete', 'node', 'keelson-worker-1', '--ignore-not-found', '--wait=true'],
      ['get', 'applications.argoproj.io', '-n', 'argocd', '-o', 'json'],
      ['get', 'cephclusters.ceph.rook.io', '-n', 'rook-ceph', '-o', 'json'],
      ['get', 'backups.velero.io', 'keelson-final-1', '-n', 'velero', '--ignore-not-found', '-o', 'jsonpath={.status.phase}'],
    ]);
  });

  it('sends Secrets and Backups on stdin, never in argv', async () => {
    const { calls, cluster } = recording();
    await cluster.applySecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cloud-credentials', namespace: 'velero' }, type: 'Opaque', data: { cloud: 'c2VjcmV0' } });
    await cluster.createBackup('keelson-final-1');
    expect(calls[0].args).toEqual(['apply', '--server-side', '--field-manager=keelson-deploy', '--force-conflicts', '-f', '-']);
    expect(JSON.parse(calls[0].stdin!).data).toEqual({ cloud: 'c2VjcmV0' });
    expect(calls[0].args.join(' ')).not.toContain('c2VjcmV0');
    expect(calls[1].args).toEqual(['create', '-f', '-']);
    expect(JSON.parse(calls[1].stdin!)).toMatchObject({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'keelson-final-1', namespace: 'velero' }, spec: { includedNamespaces: ['*'] } });
  });

  it('reads Node Ready, Application and Ceph health from their status', async () => {
    const node = (status: string, reason?: string) => JSON.stringify({ status: { conditions: [{ type: 'Ready', status, reason }] } });
    const { cluster } = recording({
      [kubectlArgs.node('a').join(' ')]: node('True'),
      [kubectlArgs.node('b').join(' ')]: node('False', 'KubeletNotReady'),
      [kubectlArgs.applications().join(' ')]: JSON.stringify({ items: [{ metadata: { name: 'root' }, status: { sync: { status: 'Synced' }, health: { status: 'Healthy' } } }, { metadata: { name: 'apps' } }] }),
      [kubectlArgs.cephClusters().join(' ')]: JSON.stringify({ items: [{ status: { ceph: { health: 'HEALTH_WARN' } } }] }),
      [kubectlArgs.apiReady().join(' ')]: 'ok',
    });
    expect(await cluster.nodeReady('a')).toEqual({ ok: true, detail: 'Ready=True' });
    expect(await cluster.nodeReady('b')).toEqual({ ok: false, detail: 'Ready=False (KubeletNotReady)' });
    expect(await cluster.nodeReady('c')).toEqual({ ok: false, detail: 'not registered' });
    expect(await cluster.applications()).toEqual([
      { name: 'root', sync: 'Synced', health: 'Healthy' },
      { name: 'apps', sync: '', health: '' },
    ]);
    expect(await cluster.cephHealth()).toEqual({ ok: false, detail: 'HEALTH_WARN' });
    expect(await cluster.apiReady()).toEqual({ ok: true, detail: 'ok' });
  });

  it('runs kubectl with the kubeconfig and a request timeout, and names the failed command without its stdin', async () => {
    const dir = tmp();
    const bin = join(dir, 'kubectl');
    writeFileSync(bin, '#!/bin/sh\necho "$*"\nif [ "$3" = "apply" ]; then cat >/dev/null; echo "error: namespaces \\"velero\\" not found" >&2; exit 1; fi\n');
    chmodSync(bin, 0o755);
    const run = kubectlRunner('/tmp/kc', bin);
    expect(await run(['get', 'node', 'x'])).toBe('--kubeconfig=/tmp/kc --request-timeout=30s get node x\n');
    await expect(run(kubectlArgs.applyStdin(), '{"data":{"cloud":"c2VjcmV0"}}')).rejects.toThrow(
      /^kubectl apply --server-side --field-manager=keelson-deploy --force-conflicts -f - failed \(1\): error: namespaces "velero" not found$/,
    );
  });
});
