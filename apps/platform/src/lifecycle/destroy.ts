import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { VELERO_NAMESPACE } from '@keelson/backups-velero';
import { removeClusterRecord } from './cluster-record';
import { timeoutsOf, type LifecycleOptions } from './options';
import { backupsBucket, renderAndVerify, type Rendered } from './render';
import { writeAdminKubeconfig } from './secrets';
import { STATE_FILE } from './state';
import { describeDuration, LifecycleError, runSteps, waitFor, type StepEvent } from './steps';
import { terraformArgs } from './terraform';

export interface DestroyOptions extends LifecycleOptions {
  /** Take a final Velero backup of every namespace first, and wait for it. @default false */
  readonly backup?: boolean;
  /** @default new Date() (names the backup) */
  readonly now?: Date;
}

export interface DestroyResult {
  readonly destroyed: boolean;
  /** What is left, one line each. */
  readonly leftBehind: readonly string[];
  /** The final backup's name, when one was taken. */
  readonly backup?: string;
}

/**
 * `keelson destroy`: confirm by typing the cluster name (or `--yes`), an
 * optional final backup, `terraform destroy`, and the list of what is left:
 * the backups bucket (kept by design: `force_destroy` is false, so Terraform
 * refuses to delete it while it holds backups), the Terraform state, the
 * secrets bundle and the kubeconfig.
 */
export async function destroy(o: DestroyOptions): Promise<DestroyResult> {
  const events: StepEvent[] = o.events ?? [];
  const renderer = o.renderer ?? 'default';
  const t = timeoutsOf(o);
  let rendered: Rendered | undefined;
  // A cluster is destroyed with the config it runs, even one verify refuses now.
  await runSteps([{ id: 'render', title: 'Render and verify', run: async () => void (rendered = await renderAndVerify(o, true)) }], { renderer, events });
  const r = rendered!;
  const name = r.spec.config.cluster.name;
  const bucket = backupsBucket(r);

  if (!o.yes) {
    if (!o.ask) throw new LifecycleError('confirm', 'there is no terminal to confirm on', `run "keelson destroy --yes" to destroy "${name}" without a question`);
    o.print(`keelson destroy: this deletes every node, volume, load balancer and DNS record of "${name}" (${r.spec.config.provider.name}/${r.spec.config.provider.region}).`);
    const answer = (await o.ask(`Type the cluster name (${name}) to confirm: `)).trim();
    if (answer !== name) {
      o.print(`keelson destroy: "${answer}" is not "${name}"; nothing was destroyed`);
      return { destroyed: false, leftBehind: [] };
    }
  }
  if (!o.terraform) {
    throw new LifecycleError('terraform-destroy', o.terraformMissing ?? 'no terraform or tofu on PATH', 'install Terraform or OpenTofu (or pass --terraform-bin), then run "keelson destroy" again');
  }
  const terraform = o.terraform;
  const kubeconfigFile = o.kubeconfig ?? join(r.secretsDir, 'admin.kubeconfig');
  const backupName = `keelson-final-${(o.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-').toLowerCase()}`;
  let keptAddresses: string[] = [];

  await runSteps(
    [
      {
        id: 'backup',
        title: `Final backup ${backupName}`,
        skip: () => (o.backup ? undefined : 'not asked for (--backup)'),
        run: async (report) => {
          await writeAdminKubeconfig({ spec: r.spec, secretsDir: r.secretsDir, file: kubeconfigFile });
          if (!o.cluster) throw new Error('no cluster adapter (kubectl) configured');
          const cluster = o.cluster(kubeconfigFile);
          await cluster.createBackup(backupName);
          const seen = await waitFor(
            async () => {
              const phase = await cluster.backupPhase(backupName);
              if (phase === 'Failed' || phase === 'PartiallyFailed' || phase === 'FailedValidation') throw new LifecycleError('backup', `the backup ${backupName} ended ${phase}; nothing was destroyed`, `see "velero backup describe ${backupName} --details", fix it and run "keelson destroy --backup" again (or without --backup to go on without one)`);
              return { ok: phase === 'Completed', detail: phase || 'not started' };
            },
            { timeoutMs: t.backupMs, pollMs: t.pollMs, onWaiting: (d) => report(d) },
          );
          if (!seen.ok) throw new LifecycleError('backup', `the backup ${backupName} is still ${seen.detail} after ${describeDuration(t.backupMs)}; nothing was destroyed`, `wait for it ("kubectl -n ${VELERO_NAMESPACE} get backups") and run "keelson destroy" again`);
          return `Completed, in ${bucket.name}`;
        },
      },
      {
        id: 'terraform-destroy',
        title: `Terraform destroy "${name}"`,
        run: async (report) => {
          report(`${terraform.binary} init`);
          await terraform.run(terraformArgs.init());
          report(`${terraform.binary} destroy`);
          try {
            await terraform.run(terraformArgs.destroy());
          } catch (e) {
            // force_destroy is false: a bucket holding backups is refused, on purpose. Anything else is a failure.
            const left = (await terraform.run(terraformArgs.stateList()).catch(() => '')).split('\n').map((l) => l.trim()).filter(Boolean);
            if (left.length === 0 || !left.every(bucket.isBucketAddress)) {
              throw new LifecycleError('terraform-destroy', `${(e as Error).message}${left.length ? `; still in the state: ${left.join(', ')}` : ''}`, 'fix the cause (see infra-out/keelson-terraform.log) and run "keelson destroy" again; it continues with what is left');
            }
            keptAddresses = left;
          }
          return keptAddresses.length ? `done; kept ${keptAddresses.join(', ')}` : 'done';
        },
      },
    ],
    { renderer, events },
  );

  rmSync(join(r.infraDir, STATE_FILE), { force: true });
  // The machines are gone: the next deploy creates the cluster again (kubeadm init on keelson-controller-1).
  removeClusterRecord(r.infraDir);
  const leftBehind = [
    `backups bucket ${bucket.name} (${bucket.endpoint}): ${keptAddresses.length ? 'kept, it holds backups' : 'deleted by Terraform if it was empty'}; force_destroy is false by design, so backups outlive the cluster. Empty and delete it in the cloud console when you no longer need them`,
    `Terraform state: ${join(r.infraDir, 'terraform.tfstate')}${keptAddresses.length ? ` (still tracks ${keptAddresses.join(', ')})` : ''}`,
    `secrets bundle: ${r.secretsDir} (CAs and keys; keep it to restore from the backups, or delete it)`,
    ...(existsSync(kubeconfigFile) ? [`admin kubeconfig: ${kubeconfigFile} (its certificate expires within 24 h)`] : []),
  ];
  o.print(`keelson destroy: "${name}" is destroyed. Left behind:`);
  for (const line of leftBehind) o.print(`  - ${line}`);
  return { destroyed: true, leftBehind, backup: o.backup ? backupName : undefined };
}
