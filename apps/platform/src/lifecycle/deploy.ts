import { join } from 'node:path';
import type { PlatformDeclarations } from '@keelson/platform-spec';
import type { ClusterAdapter } from './cluster';
import { recordClusterCreated } from './cluster-record';
import { confirm } from './confirm';
import { timeoutsOf, type LifecycleOptions } from './options';
import { machineAddress, renderAndVerify, type Rendered } from './render';
import { terraformPlan } from './terraform-plan';
import { formatPlanSummary, planHasChanges, type PlanSummary } from './plan-summary';
import { BOOTSTRAP_TOKEN_HOURS, bootstrapTokenSecret, missingSecretInputs, secretManifests, secretsFor, writeAdminKubeconfig } from './secrets';
import { configDigest, StateStore } from './state';
import { describeDuration, LifecycleError, runSteps, waitFor, type StepEvent } from './steps';
import { nodesJoined } from './boot-report';
import { terraformArgs } from './terraform';

export interface DeployResult {
  /** False when the user declined the plan: nothing was applied. */
  readonly applied: boolean;
  readonly kubeconfig?: string;
  readonly summary: PlanSummary;
}

/** Steps recorded in the state file once done; a rerun with the same config skips them. */
export const DEPLOY_STEPS = ['terraform-apply', 'api', 'secrets', 'applications'] as const;

/**
 * `keelson deploy`: render and verify, plan, confirm, apply, wait for the
 * API, write the admin kubeconfig, create the deploy-time Secrets, wait for
 * every Application to be Synced and Healthy. Each finished step is recorded
 * in infra-out/deploy-state.json, so running it again continues where it
 * stopped; an interrupted apply is planned and applied again (Terraform
 * picks up what exists).
 */
export async function deploy(o: LifecycleOptions): Promise<DeployResult> {
  const events: StepEvent[] = o.events ?? [];
  const renderer = o.renderer ?? 'default';
  const t = timeoutsOf(o);
  const env = o.env ?? process.env;
  let rendered: Rendered | undefined;
  let summary: PlanSummary | undefined;

  await runSteps(
    [
      {
        id: 'render',
        title: 'Render and verify',
        run: async () => {
          rendered = await renderAndVerify(o);
          const missing = missingSecretInputs(secretsFor(rendered), env);
          if (missing.length > 0) {
            throw new LifecycleError('secrets', `the deploy-time Secrets need ${missing.length} environment variable(s) that are not set: ${missing.join('; ')}`, 'export them and run "keelson deploy" again; nothing was applied');
          }
          return `${rendered.spec.topology.nodes.length} nodes, verify passed`;
        },
      },
      {
        id: 'terraform-plan',
        title: 'Terraform plan',
        run: async (report) => {
          if (!o.terraform) {
            throw new LifecycleError('terraform-plan', o.terraformMissing ?? 'no terraform or tofu on PATH', 'install Terraform >= 1.6 or OpenTofu (or pass --terraform-bin), then run "keelson deploy" again');
          }
          try {
            summary = await terraformPlan(o.terraform, report);
          } catch (e) {
            if (e instanceof LifecycleError) throw e;
            // The cloud's own variable names, from its provider.
            const { apiTokenVariable, objectStoreCredentialVariables } = rendered!.provider;
            throw new LifecycleError(
              'terraform-plan',
              (e as Error).message ?? String(e),
              `check ${[apiTokenVariable, ...objectStoreCredentialVariables].join(', ')} and the log in infra-out/keelson-terraform.log, then run "keelson deploy" again; nothing was applied`,
            );
          }
          return `${summary.totals.add} to add, ${summary.totals.change} to change, ${summary.totals.destroy + summary.totals.replace} to destroy or replace`;
        },
      },
    ],
    { renderer, events },
  );
  const r = rendered!;
  const terraform = o.terraform!;
  for (const line of formatPlanSummary(summary!)) o.print(line);

  const state = new StateStore(r.infraDir, r.spec.config.cluster.name, configDigest(o.configPath));
  const changes = planHasChanges(summary!);
  if (changes && !(await confirm(o, `Apply this plan to "${r.spec.config.cluster.name}"?`, 'confirm', 'keelson deploy'))) {
    o.print('keelson deploy: nothing was applied');
    return { applied: false, summary: summary! };
  }

  const kubeconfigFile = o.kubeconfig ?? join(r.secretsDir, 'admin.kubeconfig');
  let cluster: ClusterAdapter | undefined;
  // Where the gitops layer's Applications are, as it declared.
  const argocd = applicationsNamespace(r.declarations);
  const done = (id: string) => (state.deployDone(id) ? 'done earlier' : undefined);
  const record = (id: string) => state.markDeployed(id);

  await runSteps(
    [
      {
        id: 'terraform-apply',
        title: 'Terraform apply',
        // A plan with changes is applied even if an earlier run recorded the step: the cloud drifted or the apply was cut short.
        skip: () => (changes ? undefined : 'nothing to change'),
        run: async () => {
          await terraform.run(terraformArgs.apply());
          record('terraform-apply');
          return `${summary!.totals.add} added, ${summary!.totals.change} changed, ${summary!.totals.destroy + summary!.totals.replace} destroyed or replaced`;
        },
        next: 'read infra-out/keelson-terraform.log, fix the cause and run "keelson deploy" again: Terraform continues with what is missing',
      },
      {
        id: 'kubeconfig',
        title: 'Admin kubeconfig',
        run: async () => {
          await writeAdminKubeconfig({ spec: r.spec, secretsDir: r.secretsDir, file: kubeconfigFile });
          cluster = o.cluster?.(kubeconfigFile);
          return `${kubeconfigFile} (mode 0600, valid 24 h)`;
        },
      },
      {
        id: 'api',
        title: `Kubernetes API at api.${r.spec.config.domain}:6443`,
        // The API answered: the cluster exists, and from now on synth renders every node as a joiner (infra-out/cluster-created.json).
        skip: () => (done('api') ? (recordClusterCreated(r.infraDir, r.spec), 'done earlier') : undefined),
        run: async (report) => {
          const seen = await waitFor(() => need(cluster).apiReady(), { timeoutMs: t.apiMs, pollMs: t.pollMs, onWaiting: (d) => report(`waiting: ${d}`) });
          if (!seen.ok) {
            throw new LifecycleError(
              'api',
              `the API did not answer /readyz through its load balancer within ${describeDuration(t.apiMs)}; last: ${seen.detail}`,
              `check that api.${r.spec.config.domain} resolves to the API load balancer and the first controller booted (${r.provider.consoleHint}), then run "keelson deploy" again`,
            );
          }
          recordClusterCreated(r.infraDir, r.spec);
          record('api');
        },
      },
      {
        id: 'nodes',
        title: `Every node joined and Ready (${r.spec.topology.nodes.length})`,
        // Not recorded: a rerun (a scale-up, a replaced node) waits for every node again.
        run: async (report) => {
          const c = need(cluster);
          // Clusters made before the first boot applied it get the boot status namespace and rights here.
          await c.applyBootRbac();
          return waitForNodes(c, r, o, t.nodesMs, t.pollMs, kubeconfigFile, report);
        },
      },
      {
        id: 'secrets',
        title: 'Deploy-time Secrets',
        skip: () => done('secrets'),
        run: async (report) => {
          const c = need(cluster);
          // Nodes that are still joining need the bootstrap token; it expires a day after this deploy.
          const token = bootstrapTokenSecret(r.secretsDir, new Date());
          report(`kube-system/${token.metadata.name} (valid ${BOOTSTRAP_TOKEN_HOURS} h)`);
          await c.applySecret(token);
          const manifests = secretManifests(secretsFor(r), env, r.secretsDir);
          for (const m of manifests) {
            const { namespace, name } = m.metadata;
            report(`waiting for namespace ${namespace}`);
            const ns = await waitFor(async () => ({ ok: await c.namespaceExists(namespace), detail: `namespace ${namespace} does not exist yet` }), { timeoutMs: t.namespaceMs, pollMs: t.pollMs });
            if (!ns.ok) {
              throw new LifecycleError('secrets', `${ns.detail} after ${describeDuration(t.namespaceMs)} (Argo CD creates it when it syncs the layer)`, `check the Application of that layer ("kubectl -n ${argocd} get applications"), then run "keelson deploy" again`);
            }
            report(`${namespace}/${name}`);
            await c.applySecret(m);
          }
          record('secrets');
          return manifests.map((m) => `${m.metadata.namespace}/${m.metadata.name}`).join(', ');
        },
      },
      {
        id: 'applications',
        title: 'Argo CD Applications Synced and Healthy',
        skip: () => done('applications'),
        run: async (report) => {
          const seen = await waitFor(() => applicationsHealthy(need(cluster), argocd), { timeoutMs: t.applicationsMs, pollMs: t.pollMs, onWaiting: (d) => report(d) });
          if (!seen.ok) {
            throw new LifecycleError('applications', `not every Application is Synced and Healthy after ${describeDuration(t.applicationsMs)}: ${seen.detail}`, `look at them with "kubectl -n ${argocd} get applications" (KUBECONFIG=${kubeconfigFile}), fix the cause and run "keelson deploy" again`);
          }
          record('applications');
          return seen.detail;
        },
      },
    ],
    { renderer, events },
  );
  o.print(`keelson deploy: "${r.spec.config.cluster.name}" is running; export KUBECONFIG=${kubeconfigFile}`);
  o.print('  next: after a version bump in the config, "keelson upgrade" replaces the nodes one at a time');
  return { applied: true, kubeconfig: kubeconfigFile, summary: summary! };
}

/**
 * Waits until every node of the topology is Ready, reporting each one that is
 * not with what its first boot last published; stops at once on a node that
 * gave up, and at `timeoutMs` with every node still missing.
 */
async function waitForNodes(c: ClusterAdapter, r: Rendered, o: LifecycleOptions, timeoutMs: number, pollMs: number, kubeconfig: string, report: (text: string) => void): Promise<string> {
  const nodes = r.spec.topology.nodes;
  const probe = nodesJoined(c, nodes.map((n) => n.name), {
    step: 'nodes',
    fixGaveUp: async (status) => {
      if (status.step.startsWith('manifests:')) {
        // Only the node that created the cluster runs them, on the first deploy: there is nothing to keep yet.
        return `the cluster never got its pod network, CoreDNS or Argo CD; fix the cause the error names (for the CNI install: "kubectl -n kube-system describe job keelson-cni-install", KUBECONFIG=${kubeconfig}), then run "keelson destroy" and "keelson deploy"`;
      }
      const node = nodes.find((n) => n.name === status.node);
      const address = node ? machineAddress(r, node) : undefined;
      const binary = o.terraform?.binary ?? 'terraform';
      return `replace the node with a new machine that boots again: "${binary} -chdir=infra-out apply -replace=${address ?? '<its machine>'}" in ${o.outDir}, then remove its old status with "kubectl -n keelson-boot delete lease status-${status.node}" (KUBECONFIG=${kubeconfig}) and run "keelson deploy" again`;
    },
  });
  const seen = await waitFor(probe, { timeoutMs, pollMs, onWaiting: (d) => report(d) });
  if (!seen.ok) {
    const missing = seen.detail.split('\n');
    throw new LifecycleError(
      'nodes',
      `${missing.length} of ${nodes.length} nodes not Ready after ${describeDuration(timeoutMs)}:\n${missing.map((l) => `    ${l}`).join('\n')}`,
      `each line says where that node's first boot stopped ("kubectl -n keelson-boot get leases -o yaml" shows the same, KUBECONFIG=${kubeconfig}); fix the cause and run "keelson deploy" again`,
    );
  }
  return seen.detail;
}

function need(cluster: ClusterAdapter | undefined): ClusterAdapter {
  if (!cluster) throw new Error('no cluster adapter (kubectl) configured');
  return cluster;
}

/**
 * Where the gitops layer keeps its Argo CD Applications: the namespace of
 * the `applications` health gate it declares.
 */
export function applicationsNamespace(declarations: PlatformDeclarations): string {
  const [namespace] = declarations.healthGates.flatMap(({ check }) => (check.kind === 'applications' ? [check.namespace] : []));
  if (!namespace) throw new Error(`no layer declares an "applications" health gate (the gitops layer's: ${declarations.healthGates.map((g) => g.name).join(', ') || 'none declared'}); compose the platform with its gitops layer`);
  return namespace;
}

/** Every Application Synced and Healthy (and at least one: Argo CD must have created them). */
export async function applicationsHealthy(cluster: ClusterAdapter, namespace: string): Promise<{ ok: boolean; detail: string }> {
  const apps = await cluster.applications(namespace);
  if (apps.length === 0) return { ok: false, detail: 'no Application yet (Argo CD not installed or the root Application not synced)' };
  const bad = apps.filter((a) => a.sync !== 'Synced' || a.health !== 'Healthy');
  if (bad.length === 0) return { ok: true, detail: `${apps.length} Applications Synced and Healthy` };
  return { ok: false, detail: bad.map((a) => `${a.name} ${a.sync || 'Unknown'}/${a.health || 'Unknown'}`).join(', ') };
}
