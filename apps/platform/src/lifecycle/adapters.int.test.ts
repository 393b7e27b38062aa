import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlArgs, kubectlRunner } from './cluster';
import { fakeBinary, tmp } from './test-binaries';
import { CommandTerraform, TerraformError, terraformArgs } from './terraform';

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
});

describe('KubectlCluster (the real cluster adapter)', () => {
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
