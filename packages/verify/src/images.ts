// The images check: every image the cluster runs is pinned, in the charts'
// workloads and in custom resources (an operator runs those images later).
import { containersOf, neverApplied, POD_KINDS } from './objects';
import { check, describe, isRecord, type CheckResult, type Finding, type Manifest } from './types';
import { isPinnedImage } from './workload-security';

/** Fields of custom resources (and their nested specs) that name an image. */
const IMAGE_FIELD = /^(image|imageName|[a-z]+Image)$/;
/** Container flags that name an image another pod will run (cert-manager's ACME solver). */
const IMAGE_FLAG = /^--[a-z0-9.-]*image[a-z0-9.-]*=(.+)$/i;
/** Kinds whose fields are not images the cluster runs. */
const NOT_IMAGES = new Set(['CustomResourceDefinition', 'ConfigMap', 'Secret', 'Application', 'ApplicationSet', 'AppProject']);

/** Every string field of `value` named like an image, with its path. */
function imageFields(value: unknown, path: string, out: { path: string; image: string }[] = []): { path: string; image: string }[] {
  if (Array.isArray(value)) value.forEach((v, i) => imageFields(v, `${path}[${i}]`, out));
  else if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (IMAGE_FIELD.test(k) && typeof v === 'string') out.push({ path: `${path}.${k}`, image: v });
      else imageFields(v, `${path}.${k}`, out);
    }
  }
  return out;
}

/**
 * Images on the desired state, charts and Git sources included: every
 * container (and init container) of every workload Argo CD applies, every
 * image a container flag names for pods it starts (`--…image=`), and every
 * image field of a custom resource (CephCluster `spec.cephVersion.image`,
 * CloudNativePG `spec.imageName`) is a tag other than `latest`, or a digest.
 * Objects Argo CD never applies (Helm test hooks) are left out.
 */
export function checkImages(manifests: readonly Manifest[]): CheckResult {
  const findings: Finding[] = [];
  let count = 0;
  const judge = (file: string, what: string, image: string) => {
    count++;
    if (!isPinnedImage(image)) findings.push({ file, message: `${what}: image ${JSON.stringify(image)} is not pinned (a tag other than latest, or a digest): every node may run a different build; pin the exact version` });
  };
  for (const { file, object } of manifests) {
    if (neverApplied(object) || NOT_IMAGES.has(String(object.kind))) continue;
    if (POD_KINDS.has(String(object.kind))) {
      for (const c of containersOf(object)) {
        judge(file, `${describe(object)} container ${String(c?.name)}`, c?.image);
        for (const a of [...(Array.isArray(c?.args) ? c.args : []), ...(Array.isArray(c?.command) ? c.command : [])]) {
          const m = typeof a === 'string' ? IMAGE_FLAG.exec(a) : null;
          if (m && /[/:]/.test(m[1])) judge(file, `${describe(object)} container ${String(c?.name)} flag ${a.split('=')[0]}`, m[1]);
        }
      }
      continue;
    }
    if (object.apiVersion === 'v1' || /^(apps|batch|rbac\.authorization\.k8s\.io|networking\.k8s\.io|policy|storage\.k8s\.io)\//.test(String(object.apiVersion))) continue;
    for (const f of imageFields(object.spec, 'spec')) judge(file, `${describe(object)} ${f.path}`, f.image);
  }
  return check('images', `${count} images of workloads, container flags and custom resources pinned to a version or digest`, findings);
}
