// The RBAC check: nobody gets cluster-admin or a wildcard role unless the
// exceptions table says why, and anonymous users get nothing.
import { RBAC_EXCEPTIONS, type RbacException } from './exceptions';
import { neverApplied } from './objects';
import { asArray, check, describe, type CheckResult, type Finding, type K8sObject, type Loose, type Manifest } from './types';

const EXCEPTIONS_FILE = 'packages/verify/src/exceptions.ts';
/** Who the API server calls a request without credentials. @see https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests */
const ANONYMOUS = new Set(['User system:anonymous', 'Group system:unauthenticated']);

/** What makes a role wide: every verb, every resource or every API group of it, or cluster-admin itself. */
function wideRules(role: K8sObject | undefined, name: string): string | undefined {
  if (name === 'cluster-admin') return 'cluster-admin';
  if (!role) return undefined;
  const wild = asArray<Loose>((role as Loose).rules).find((r) => asArray(r?.verbs).includes('*') || asArray(r?.resources).includes('*') || (asArray(r?.nonResourceURLs).includes('*') && asArray(r?.verbs).includes('*')));
  if (wild) return `a wildcard rule ${JSON.stringify(wild)}`;
  const escalating = asArray<Loose>((role as Loose).rules).find((r) => asArray<string>(r?.verbs).some((v) => ESCALATING_VERBS.has(v)));
  return escalating ? `a rule with ${asArray<string>(escalating.verbs).filter((v) => ESCALATING_VERBS.has(v)).join(', ')} ${JSON.stringify(escalating)}` : undefined;
}

/**
 * Verbs that let a holder give itself or act with more than its role holds:
 * `escalate` (write a role with rights it lacks), `bind` (bind any role) and
 * `impersonate` (act as another user, group or service account).
 *
 * @see https://kubernetes.io/docs/concepts/security/rbac-good-practices/#escalate-verb
 * @see https://kubernetes.io/docs/concepts/security/rbac-good-practices/#bind-verb
 * @see https://kubernetes.io/docs/concepts/security/rbac-good-practices/#impersonate-verb
 */
const ESCALATING_VERBS: ReadonlySet<string> = new Set(['escalate', 'bind', 'impersonate']);

/**
 * RBAC of the desired state (every chart's roles included): no
 * ClusterRoleBinding or RoleBinding grants cluster-admin or a role with a
 * wildcard rule (`*` verbs or resources) to anyone, and no binding names
 * `system:anonymous` or `system:unauthenticated`. Upstream operators that
 * need wide rights are listed in {@link RBAC_EXCEPTIONS} with the reason;
 * one that grants nothing wide any more fails as stale.
 *
 * @see https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege
 */
export function checkRbac(manifests: readonly Manifest[], exceptions: readonly RbacException[] = RBAC_EXCEPTIONS): CheckResult {
  const findings: Finding[] = [];
  const applied = manifests.filter((m) => !neverApplied(m.object) && String(m.object.apiVersion).startsWith('rbac.authorization.k8s.io/'));
  const roles = new Map<string, K8sObject>();
  for (const { object } of applied) {
    if (object.kind === 'ClusterRole') roles.set(`ClusterRole ${object.metadata?.name}`, object);
    if (object.kind === 'Role') roles.set(`Role ${object.metadata?.namespace}/${object.metadata?.name}`, object);
  }
  const bindings = applied.filter((m) => m.object.kind === 'ClusterRoleBinding' || m.object.kind === 'RoleBinding');
  const used = new Set<RbacException>();
  const seen = new Set<RbacException>();
  for (const { file, object } of bindings) {
    const ref = ((object as Loose).roleRef ?? {}) as { kind?: string; name?: string };
    const roleName = String(ref.name ?? '');
    const role = ref.kind === 'Role' ? roles.get(`Role ${object.metadata?.namespace}/${roleName}`) : roles.get(`ClusterRole ${roleName}`);
    const subjects = asArray<Loose>((object as Loose).subjects).map((s) => `${s?.kind} ${s?.kind === 'ServiceAccount' ? `${s?.namespace ?? object.metadata?.namespace ?? '?'}/` : ''}${s?.name}`);
    const anonymous = subjects.filter((s) => ANONYMOUS.has(s));
    if (anonymous.length > 0) {
      findings.push({ file, message: `${describe(object)} binds ${ref.kind} ${roleName} to ${anonymous.join(' and ')}: anyone who reaches the API server without credentials gets it; remove ${anonymous.length === 1 ? 'that subject' : 'those subjects'}` });
    }
    const exception = exceptions.find((e) => e.kind === object.kind && e.name === object.metadata?.name && (e.namespace === undefined || e.namespace === object.metadata?.namespace));
    if (exception) seen.add(exception);
    const wide = wideRules(role, roleName);
    if (!wide) continue;
    if (exception && anonymous.length === 0) {
      used.add(exception);
      continue;
    }
    findings.push({ file, message: `${describe(object)} grants ${ref.kind} ${roleName} (${wide}) to ${subjects.join(', ') || 'no subject'}: a compromised pod of it owns the ${object.kind === 'RoleBinding' ? 'namespace' : 'cluster'}; grant the verbs and resources it needs, or list the binding with the reason in ${EXCEPTIONS_FILE} (RBAC_EXCEPTIONS)` });
  }
  for (const e of exceptions) {
    if (seen.has(e) && !used.has(e)) {
      findings.push({ file: EXCEPTIONS_FILE, message: `stale exception: ${e.kind} ${e.namespace ? `${e.namespace}/` : ''}${e.name} no longer grants cluster-admin or a wildcard role: remove it from RBAC_EXCEPTIONS` });
    }
  }
  return check(
    'rbac',
    `${bindings.length} role bindings, ${roles.size} roles: none grants cluster-admin or a wildcard role outside ${used.size} listed exceptions, none names anonymous users`,
    findings,
    [...used].map((e) => ({ file: EXCEPTIONS_FILE, message: `excused: ${e.kind} ${e.namespace ? `${e.namespace}/` : ''}${e.name}: ${e.reason}` })),
  );
}
