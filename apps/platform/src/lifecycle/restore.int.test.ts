import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlRunner } from './cluster';
import { KubectlRestoreCluster, restoreKubectlArgs } from './restore';
import { tempDir } from '../test-helpers';

describe('keelson restore', () => {
  it('talks to Velero through kubectl with the exact argv, the Restore on stdin', async () => {
    const dir = tempDir();
    const log = join(dir, 'calls');
    const fake = join(dir, 'kubectl');
    writeFileSync(
      fake,
      `#!/bin/bash\necho "$*" >> ${log}\ncat >> ${dir}/stdin\ncase "$3" in get) if [ "$4" = backups.velero.io ]; then echo '{"items":[{"metadata":{"name":"b1"},"status":{"phase":"Completed"}}]}'; else printf Completed; fi;; esac\n`,
    );
    chmodSync(fake, 0o755);
    const cluster = new KubectlRestoreCluster(kubectlRunner(join(dir, 'admin.kubeconfig'), fake, process.env));
    expect((await cluster.backups()).map((b) => b.metadata.name)).toEqual(['b1']);
    await cluster.createRestore({ kind: 'Restore', metadata: { name: 'r1' } });
    expect(await cluster.restorePhase('r1')).toBe('Completed');
    const prefix = `--kubeconfig=${join(dir, 'admin.kubeconfig')} --request-timeout=30s`;
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      `${prefix} ${restoreKubectlArgs.backups.join(' ')}`,
      `${prefix} create -f -`,
      `${prefix} ${restoreKubectlArgs.phase('r1').join(' ')}`,
    ]);
    // The only stdin was the Restore, never in argv.
    expect(readFileSync(join(dir, 'stdin'), 'utf8')).toBe('{"kind":"Restore","metadata":{"name":"r1"}}');
  });
});
