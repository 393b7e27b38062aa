// The Argo CD check: every Application heals drift and prunes what left Git,
// and the AppProject lists exactly what it lets Argo CD do.
import type { DesiredState } from '@keelson/upstream';
import { SYNC_POLICY_EXCEPTIONS, type SyncPolicyException } from './exceptions';
import { asArray, check, type CheckResult, type Finding, type Loose } from './types';

const EXCEPTIONS_FILE = 'packages/verify/src/exceptions.ts';

/**
 * Argo CD on the desired state:
 * - every Application syncs automatically (`syncPolicy.automated`) with
 *   `prune: true` (what leaves Git leaves the cluster) and `selfHeal: true`
 *   (drift is undone), unless {@link SYNC_POLICY_EXCEPTIONS} says why;
 * - every Application belongs to an AppProject the desired state declares,
 *   never `default` (which Argo CD creates allowing everything);
 * - each AppProject lists its source repositories, destinations and
 *   cluster-scoped kinds, none of them `*` (nor a glob that matches every
 *   repository, namespace, group or kind), and blacklists nothing with `*`
 *   in a whitelist's place.
 *
 * Pinned versions and the sync waves are the `gitops` and `sync-order` checks.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/projects/
 */
export function checkArgoCd(desired: DesiredState, exceptions: readonly SyncPolicyException[] = SYNC_POLICY_EXCEPTIONS): CheckResult {
  const findings: Finding[] = [];
  const used = new Set<SyncPolicyException>();
  const excused = (app: string, missing: SyncPolicyException['missing']) => {
    const e = exceptions.find((x) => x.application === app && x.missing === missing);
    if (e) used.add(e);
    return e !== undefined;
  };
  const projects = desired.objects.filter((o) => o.object.kind === 'AppProject' && String(o.object.apiVersion).startsWith('argoproj.io/'));
  for (const app of desired.applications) {
    const spec = (app.manifest.spec ?? {}) as Loose;
    const at = (message: string): Finding => ({ file: app.file, application: app.name, message: `Application ${app.name}: ${message}` });
    const automated = spec.syncPolicy?.automated;
    if (automated === undefined || automated === null || automated.enabled === false) {
      if (!excused(app.name, 'automated')) findings.push(at('spec.syncPolicy.automated is not set: Argo CD syncs it only by hand, so Git is not what runs; set automated: { prune: true, selfHeal: true }'));
      continue;
    }
    if (automated.prune !== true && !excused(app.name, 'prune')) findings.push(at(`spec.syncPolicy.automated.prune is ${JSON.stringify(automated.prune ?? null)}: objects removed from Git stay in the cluster; set prune: true`));
    if (automated.selfHeal !== true && !excused(app.name, 'selfHeal')) findings.push(at(`spec.syncPolicy.automated.selfHeal is ${JSON.stringify(automated.selfHeal ?? null)}: a change made in the cluster is never undone; set selfHeal: true`));
    const project = typeof spec.project === 'string' && spec.project !== '' ? spec.project : 'default';
    if (project === 'default') findings.push(at('spec.project is "default", the project Argo CD creates allowing any repository, destination and kind; use the platform\'s AppProject'));
  }
  const wild = (v: unknown) => typeof v === 'string' && (/^[*./]+$/.test(v) || /^[a-z]+:\/\/\*+\/?$/.test(v));
  for (const p of projects) {
    const spec = (p.object.spec ?? {}) as Loose;
    const name = p.object.metadata?.name;
    const at = (message: string): Finding => ({ file: p.source, application: p.application, message: `AppProject ${name}: ${message}` });
    const repos = asArray<string>(spec.sourceRepos);
    if (repos.length === 0) findings.push(at('spec.sourceRepos is empty: list the platform repository and each pinned chart repository'));
    for (const r of repos.filter(wild)) findings.push(at(`spec.sourceRepos holds "${r}": any repository may be synced; list each repository`));
    const destinations = asArray<Loose>(spec.destinations);
    if (destinations.length === 0) findings.push(at('spec.destinations is empty: list each namespace the platform deploys to'));
    for (const d of destinations.filter((x) => wild(x?.namespace) || wild(x?.server) || wild(x?.name))) findings.push(at(`spec.destinations holds ${JSON.stringify(d)}: any ${wild(d?.namespace) ? 'namespace' : 'cluster'}; list each namespace on the in-cluster server`));
    for (const list of ['clusterResourceWhitelist', 'namespaceResourceWhitelist'] as const) {
      for (const k of asArray<Loose>(spec[list]).filter((x) => wild(x?.group) || wild(x?.kind))) findings.push(at(`spec.${list} holds ${JSON.stringify(k)}: every ${wild(k?.kind) ? 'kind' : 'group'} is allowed; list the group and kind of each object the platform renders`));
    }
    if (asArray(spec.clusterResourceWhitelist).length === 0) findings.push(at('spec.clusterResourceWhitelist is empty: list the cluster-scoped kinds the platform renders'));
  }
  for (const e of exceptions) {
    if (used.has(e) || !desired.applications.some((a) => a.name === e.application)) continue;
    findings.push({ file: EXCEPTIONS_FILE, message: `stale exception: Application ${e.application} now sets ${e.missing}: remove it from SYNC_POLICY_EXCEPTIONS` });
  }
  return check(
    'argocd',
    `${desired.applications.length} Applications sync automatically with prune and self-heal (${used.size} listed exceptions); ${projects.length} AppProjects list their repositories, destinations and kinds`,
    findings,
    [...used].map((e) => ({ file: EXCEPTIONS_FILE, message: `excused: Application ${e.application} without ${e.missing}: ${e.reason}` })),
  );
}
