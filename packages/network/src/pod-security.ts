import type { PlatformSpec } from '@keelson/platform-spec';

/**
 * The namespaces whose Pod Security level is `privileged`, the only ones
 * where pods may use the host network (kube-system, kube-flannel with
 * flannel, and the layers that state a reason in platform-spec). Every
 * other namespace the platform renders enforces `baseline` or `restricted`,
 * and the API server's PodSecurity defaults should enforce `baseline` on
 * namespaces without labels.
 */
export function hostNetworkNamespaces(spec: PlatformSpec): string[] {
  return spec.layers.flatMap((l) => l.namespaces.filter((n) => n.podSecurity === 'privileged').map((n) => n.name));
}
