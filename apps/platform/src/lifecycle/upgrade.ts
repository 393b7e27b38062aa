import { join } from 'node:path';
import type { HealthGate, NodeSpec, PlatformSpec } from '@keelson/platform-spec';
import type { ClusterAdapter, EtcdAccess, Observation } from './cluster';
import { confirm } from './confirm';
import { timeoutsOf, type LifecycleOptions, type LifecycleTimeouts } from './options';
import { machineAddress, renderAndVerify, type Rendered } from './render';
import { nodeAddressesFrom } from './terraform-plan';
import { applicationsHealthy } from './deploy';
import { nodesJoined } from './boot-report';
import { BOOTSTRAP_TOKEN_HOURS, bootstrapTokenSecret, writeAdminKubeconfig } from './secrets';
import { configDigest, StateStore, type ReplacementPhase } from './state';
import { describeDuration, LifecycleError, runSteps, waitFor, type Step, type StepEvent } from './steps';
import { terraformArgs } from './terraform';

/**
 * The order nodes are replaced in: controllers first, from the last to the
 * first, then workers.
 *
 * - Controllers before workers: a kubelet must never be newer than the API
 *   servers it talks to, so the control plane moves to a new Kubernetes
 *   version first.
 * - The first controller last among them: once deploy recorded the cluster
 *   (infra-out/cluster-created.json) it is rendered as a joiner like every
 *   node, and by the time it is replaced every other controller runs the
 *   new version and answers, so its join finds the API at once.
 *
 * @see https://kubernetes.io/releases/version-skew-policy/#kubelet
 * @see https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/ (control plane first, then nodes)
 */
export function replacementOrder(spec: PlatformSpec): NodeSpec[] {
  return [...[...spec.topology.controllers].reverse(), ...spec.topology.workers];
}

/** etcd client and peer URLs of a member at `privateIp` (kubeadm's defaults). */
export type EtcdUrls = (node: NodeSpec, privateIp: string) => { readonly peerURL: string; readonly clientURL: string };
const kubeadmEtcdUrls: EtcdUrls = (_node, ip) => ({ peerURL: `https://${ip}:2380`, clientURL: `https://${ip}:2379` });

export interface UpgradeOptions extends LifecycleOptions {
  /** @default https://<private ip>:2380 and :2379 */
  readonly etcdUrls?: EtcdUrls;
}

export interface UpgradeResult {
  /** Nodes replaced by this run, in order. */
  readonly replaced: readonly string[];
  /** Nodes replaced by an earlier run with the same config, skipped. */
  readonly skipped: readonly string[];
  readonly confirmed: boolean;
}

interface Gates {
  readonly spec: PlatformSpec;
  /** The layers' declared gates, run after the node and etcd gates. */
  readonly declared: readonly HealthGate[];
  readonly cluster: ClusterAdapter;
  readonly etcd: () => Promise<EtcdAccess>;
  readonly t: LifecycleTimeouts;
}

/** The checks between nodes, each a probe; the names appear in stop messages. */
function gateProbes(g: Gates): { name: string; probe: () => Promise<Observation>; fix: string }[] {
  const probes = [
    {
      name: 'every node Ready',
      probe: async () => {
        const seen = await Promise.all(g.spec.topology.nodes.map(async (n) => ({ n, o: await g.cluster.nodeReady(n.name) })));
        const bad = seen.filter((s) => !s.o.ok);
        return { ok: bad.length === 0, detail: bad.length === 0 ? `${seen.length} nodes Ready` : bad.map((s) => `${s.n.name} ${s.o.detail}`).join(', ') };
      },
      fix: 'find out why with "kubectl describe node <name>"',
    },
    {
      name: 'etcd healthy with all members',
      probe: async () => etcdWhole(await (await g.etcd()).members(), g.spec.budget.etcdMembers),
      fix: 'check the etcd pods with "kubectl -n kube-system get pods -l component=etcd"',
    },
  ];
  // Then what the layers declared (storage: Ceph HEALTH_OK; gitops: every Application), through the cluster adapter.
  const probe = ({ check }: HealthGate): (() => Promise<Observation>) =>
    check.kind === 'applications' ? () => applicationsHealthy(g.cluster, check.namespace) : () => g.cluster.statusHealth(check);
  return [...probes, ...g.declared.map((gate) => ({ name: gate.name, probe: probe(gate), fix: gate.fix }))];
}

/** Whether etcd has exactly `expected` members, all started and healthy. */
export function etcdWhole(members: readonly { name: string; started: boolean; healthy: boolean; reason?: string }[], expected: number): Observation {
  const bad = members.filter((m) => !m.started || !m.healthy);
  if (members.length === expected && bad.length === 0) return { ok: true, detail: `${expected} members healthy` };
  const parts = [`${members.length} of ${expected} members`];
  if (bad.length > 0) parts.push(bad.map((m) => `${m.name || '(unstarted)'} ${m.started ? `unhealthy${m.reason ? ` (${m.reason})` : ''}` : 'not started'}`).join(', '));
  return { ok: false, detail: parts.join('; ') };
}

/**
 * `keelson upgrade`: after a version bump, replaces every node one at a
 * time (see {@link replacementOrder}). Before a node is taken out, and after
 * it is back, every gate must pass: all nodes Ready, etcd healthy with all
 * members, Ceph HEALTH_OK, every Application Synced and Healthy. A gate that
 * fails within its timeout stops the run with the node, the gate, what was
 * observed and the next command; the state file remembers the node out of
 * service and how far it got, so the next run finishes it before any other.
 *
 * A controller: cordon and drain, delete its Node, `terraform apply
 * -replace=<server>` (the old server is destroyed, so its etcd member is
 * dead), then `replaceEtcdMember` swaps the dead member for the new node's
 * address while the node boots (its kubeadm join finds the member added),
 * then Node Ready and the gates. A worker: the same without etcd.
 */
export async function upgrade(o: UpgradeOptions): Promise<UpgradeResult> {
  const events: StepEvent[] = o.events ?? [];
  const renderer = o.renderer ?? 'default';
  const t = timeoutsOf(o);
  let rendered: Rendered | undefined;
  await runSteps(
    [
      { id: 'render', title: 'Render and verify', run: async () => void (rendered = await renderAndVerify(o)) },
      {
        id: 'terraform-init',
        title: 'Terraform init',
        run: async () => {
          if (!o.terraform) throw new LifecycleError('terraform-init', o.terraformMissing ?? 'no terraform or tofu on PATH', 'install Terraform or OpenTofu (or pass --terraform-bin), then run "keelson upgrade" again');
          await o.terraform.run(terraformArgs.init());
        },
      },
    ],
    { renderer, events },
  );
  const r = rendered!;
  const terraform = o.terraform!;
  const spec = r.spec;
  const state = new StateStore(r.infraDir, spec.config.cluster.name, configDigest(o.configPath));
  const previous = state.current.upgrade ?? { replaced: [] };
  const order = replacementOrder(spec);
  const todo = order.filter((n) => !previous.replaced.includes(n.name));
  // The node out of service when the last run stopped is finished first.
  if (previous.current) todo.sort((a, b) => Number(b.name === previous.current!.node) - Number(a.name === previous.current!.node));
  const skipped = order.filter((n) => previous.replaced.includes(n.name)).map((n) => n.name);
  if (todo.length === 0) {
    o.print(`keelson upgrade: every node of "${spec.config.cluster.name}" was replaced with this config already; nothing to do`);
    return { replaced: [], skipped, confirmed: true };
  }
  o.print(`keelson upgrade: replace ${todo.length} node(s) of "${spec.config.cluster.name}" one at a time: ${todo.map((n) => n.name).join(', ')}`);
  if (previous.current) o.print(`  ${previous.current.node} was left at "${previous.current.phase}" by the last run; it is finished first`);
  if (!(await confirm(o, 'Replace them now?', 'confirm', 'keelson upgrade'))) {
    o.print('keelson upgrade: no node was touched');
    return { replaced: [], skipped, confirmed: false };
  }

  const kubeconfigFile = o.kubeconfig ?? join(r.secretsDir, 'admin.kubeconfig');
  await writeAdminKubeconfig({ spec, secretsDir: r.secretsDir, file: kubeconfigFile });
  if (!o.cluster) throw new Error('keelson upgrade: no cluster adapter (kubectl) configured');
  const cluster = o.cluster(kubeconfigFile);
  let addresses: Record<string, { private?: string }> | undefined;
  const readAddresses = async () => (addresses = nodeAddressesFrom(await terraform.run(terraformArgs.output())));
  let etcdAccess: EtcdAccess | undefined;
  const etcd = async () => {
    if (etcdAccess) return etcdAccess;
    if (!o.etcd) throw new Error('keelson upgrade: no etcd access configured');
    return (etcdAccess = await o.etcd(spec, r.secretsDir, addresses ?? (await readAddresses())));
  };
  const gates = gateProbes({ spec, declared: r.declarations.healthGates, cluster, etcd, t });
  const replaced: string[] = [];

  const steps: Step[] = todo.map((node) => ({
    id: node.name,
    title: `Replace ${node.name} (${node.role})`,
    run: async (report) => {
      const resumeAt = state.current.upgrade?.current?.node === node.name ? state.current.upgrade.current.phase : undefined;
      const at = (phase: ReplacementPhase) => state.update({ upgrade: { replaced: state.current.upgrade?.replaced ?? [], current: { node: node.name, phase } } });
      let replacedAt: Date | undefined;
      const passed = (phase: ReplacementPhase) => resumeAt !== undefined && PHASES.indexOf(resumeAt) >= PHASES.indexOf(phase);
      const checkGates = async (when: 'before' | 'after', timeoutMs: number) => {
        for (const gate of gates) {
          report(`${when}: ${gate.name}`);
          const seen = await waitFor(gate.probe, { timeoutMs, pollMs: t.pollMs, onWaiting: (d) => report(`${when}: ${gate.name}: ${d}`) });
          if (!seen.ok) {
            throw new LifecycleError(
              `${node.name}: ${gate.name}`,
              when === 'before'
                ? `not taking ${node.name} out: the gate "${gate.name}" fails (observed: ${seen.detail}); the cluster must be whole before a node leaves`
                : `${node.name} was replaced but the gate "${gate.name}" did not pass within ${describeDuration(timeoutMs)} (observed: ${seen.detail}); no other node was touched`,
              `${gate.fix}, then run "keelson upgrade" again: it ${when === 'before' ? `starts with ${node.name}` : `checks ${node.name} again and continues with the next node`}`,
            );
          }
        }
      };

      if (!resumeAt) {
        // Never take a node out of a cluster that is not whole: this is what keeps it to one node at a time.
        await checkGates('before', t.pollMs);
        report('cordon and drain');
        await cluster.cordon(node.name);
        await cluster.drain(node.name, t.drainSeconds);
        // The new machine registers under the same name; the old Node (cordoned) must not linger.
        await cluster.deleteNode(node.name);
        at('drained');
      }
      if (!passed('replaced')) {
        // The new machine joins with the bundle's bootstrap token: valid for a day from now, then useless.
        const token = bootstrapTokenSecret(r.secretsDir, new Date());
        report(`bootstrap token ${token.metadata.name} valid ${BOOTSTRAP_TOKEN_HOURS} h`);
        await cluster.applySecret(token);
        const address = machineAddress(r, node);
        report(`${terraform.binary} apply -replace=${address}`);
        replacedAt = new Date();
        try {
          await terraform.run(terraformArgs.replace(address));
        } catch (e) {
          throw new LifecycleError(`${node.name}: replace`, `${(e as Error).message}`, `read infra-out/keelson-terraform.log, fix the cause and run "keelson upgrade" again: it replaces ${node.name} again (it is drained and out of service)`);
        }
        at('replaced');
      }
      if (node.etcdMember && !passed('etcd-replaced')) {
        const ip = (await readAddresses())[node.name]?.private;
        if (!ip) throw new LifecycleError(`${node.name}: etcd member`, `Terraform's node_addresses output has no private address for ${node.name}`, 'run "terraform -chdir=infra-out output node_addresses", then "keelson upgrade" again');
        report(`etcd: replace member ${node.name} by ${ip}`);
        try {
          await (await etcd()).replaceMember(node.name, { name: node.name, ...(o.etcdUrls ?? kubeadmEtcdUrls)(node, ip) }, t.nodeReadyMs);
        } catch (e) {
          throw new LifecycleError(`${node.name}: etcd member`, (e as Error).message, 'fix etcd as the message says, then run "keelson upgrade" again; it continues with this node');
        }
        at('etcd-replaced');
      }
      report('waiting for the node to be Ready');
      // While it boots: what its first boot last published (the old machine's status is ignored when this run replaced it).
      const booting = nodesJoined(cluster, [node.name], {
        step: `${node.name}: node Ready`,
        since: replacedAt,
        fixGaveUp: async () =>
          node.etcdMember
            ? `the machine does not retry on its own, and its etcd member was already added for its address: keelson has no command yet to redo a controller's replacement; fix the cause the error names, check etcd ("kubectl -n kube-system get pods -l component=etcd"), and replace the machine by hand before "keelson upgrade" continues with ${node.name}`
            : `fix the cause the error names, then replace the machine: "${terraform.binary} -chdir=infra-out apply -replace=${machineAddress(r, node)}", "kubectl -n keelson-boot delete lease status-${node.name}" (its old status), and "keelson upgrade" again: it waits for ${node.name} before any other node`,
      });
      const ready = await waitFor(booting, { timeoutMs: t.nodeReadyMs, pollMs: t.pollMs, onWaiting: (d) => report(`node Ready: ${d}`) });
      if (!ready.ok) {
        throw new LifecycleError(
          `${node.name}: node Ready`,
          `the new ${node.name} did not become Ready within ${describeDuration(t.nodeReadyMs)} (observed: ${ready.detail}); no other node was touched`,
          `look at its boot in ${r.provider.consoleHint} (no SSH) and "kubectl describe node ${node.name}", then run "keelson upgrade" again: it waits for ${node.name} before any other node`,
        );
      }
      await checkGates('after', t.gateMs);
      replaced.push(node.name);
      state.update({ upgrade: { replaced: [...(state.current.upgrade?.replaced ?? []), node.name] } });
      return 'replaced, every gate passed';
    },
  }));
  await runSteps(steps, { renderer, events });
  o.print(`keelson upgrade: replaced ${replaced.join(', ')}; every gate passed`);
  return { replaced, skipped, confirmed: true };
}

const PHASES: readonly ReplacementPhase[] = ['drained', 'replaced', 'etcd-replaced'];

