// Reading the desired state's objects the way the new checks need: workloads,
// their pod specs and containers, and the objects Argo CD never applies.
import { asArray, type K8sObject, type Loose } from './types';

/** Kinds that run pods, with where their pod spec is. */
export const POD_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);

/** The pod spec of a Pod-bearing object (undefined for other kinds). */
export function podSpecOf(o: K8sObject): Loose {
  if (!POD_KINDS.has(String(o.kind))) return undefined;
  if (o.kind === 'Pod') return o.spec;
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template?.spec;
  return o.spec?.template?.spec;
}

/** Every container (init and ephemeral included) of a Pod-bearing object. */
export function containersOf(o: K8sObject): Loose[] {
  const pod = podSpecOf(o) ?? {};
  return [...asArray<Loose>(pod.initContainers), ...asArray<Loose>(pod.containers), ...asArray<Loose>(pod.ephemeralContainers)];
}

/** Helm hooks Argo CD runs (mapped to its sync phases); any other Helm hook (test, rollback, delete) it never applies. */
const APPLIED_HELM_HOOKS = new Set(['pre-install', 'pre-upgrade', 'post-install', 'post-upgrade', 'crd-install']);

/**
 * Whether Argo CD never applies `o`: a Helm test, rollback or delete hook, or
 * `argocd.argoproj.io/hook: Skip`.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#helm-hooks
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/
 */
export function neverApplied(o: K8sObject): boolean {
  const annotations = o.metadata?.annotations ?? {};
  if ((annotations['argocd.argoproj.io/hook'] ?? '').trim() === 'Skip') return true;
  const helm = (annotations['helm.sh/hook'] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  return annotations['argocd.argoproj.io/hook'] === undefined && helm.length > 0 && !helm.some((h) => APPLIED_HELM_HOOKS.has(h));
}

/**
 * Seconds in a Go duration (`720h0m0s`, `90m`, `1.5h`), or undefined when it is not one.
 *
 * @see https://pkg.go.dev/time#ParseDuration
 */
export function goDurationSeconds(text: unknown): number | undefined {
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const t = text.trim();
  if (t === '0') return 0;
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t.replace(/^[+]/, '')) return undefined;
  return parts.reduce((n, p) => n + Number(p[1]) * units[p[2]], 0);
}

/** Whether a label selector is empty (selects every pod): `{}` or no matchLabels and matchExpressions. */
export function selectsAll(selector: unknown): boolean {
  if (selector === undefined || selector === null) return false;
  const s = selector as Loose;
  return Object.keys(s.matchLabels ?? {}).length === 0 && asArray(s.matchExpressions).length === 0;
}
