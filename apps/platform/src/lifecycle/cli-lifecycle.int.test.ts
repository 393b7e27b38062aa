// The lifecycle commands through the built CLI, as a user runs them, with no
// cloud account: a Terraform stand-in that fails like a machine without
// network. Build first: npx nx run platform:build. The cases with no Terraform
// at all run in-process in cli-lifecycle.test.ts.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { keelsonWithEnv, tempDir } from '../test-helpers';

jest.setTimeout(120_000);

/** PATH with node and sh only: no terraform, tofu or kubectl. */
const bareEnv = () => ({ PATH: `${dirname(process.execPath)}:/bin`, KEELSON_TERRAFORM: '' });

describe('keelson plan (built CLI, default config, no cloud)', () => {
  it('runs the Terraform binary it is given and explains in one line why it fell back', () => {
    const out = tempDir();
    const bin = join(out, 'fake-terraform');
    writeFileSync(bin, '#!/bin/sh\necho "Initializing provider plugins..."\necho "Error: Failed to query available provider packages" >&2\nexit 1\n');
    chmodSync(bin, 0o755);
    const run = keelsonWithEnv(bareEnv(), 'plan', '--out', out, '--secrets', join(out, 'secrets'), '--terraform-bin', bin);
    expect(run.stdout).toContain(`  (not from Terraform: ${bin} init failed (no network to download the providers?): Error: Failed to query available provider packages)`);
    const log = readFileSync(join(out, 'infra-out/keelson-terraform.log'), 'utf8');
    expect(log).toContain(`$ ${bin} -chdir=infra-out init -input=false -no-color`);
  });
});
