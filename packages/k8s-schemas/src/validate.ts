import { findBuiltinModel, removedApiProblem, validateBuiltin } from './internal/builtin';
import { customResourceKeys, findCustomResource, validateCustomResource } from './internal/custom-resources';
import { checkMetadata } from './internal/metadata';
import { describeValue, isRecord, ROOT_PATH } from './internal/paths';
import { dedupe } from './internal/problems';
import type { ManifestProblem } from './internal/problems';

export type { ManifestProblem } from './internal/problems';

/**
 * Checks one rendered Kubernetes object, strictly and offline, and returns every problem found.
 *
 * - Every kind: string `apiVersion` and `kind`; `metadata.name` valid for the kind; label and
 *   annotation keys and values; no `metadata` fields beyond name, generateName, namespace, labels,
 *   annotations, finalizers and ownerReferences.
 * - Built-in kinds (whatever kubernetes-models 4.x knows): its schema, plus unknown fields anywhere.
 *   Beta APIs that Kubernetes has removed are reported.
 * - Custom resources: the committed CRD schemas (see {@link knownCustomResourceKinds}), with every
 *   object closed against unknown fields. CEL rules (`x-kubernetes-validations`) are not evaluated.
 * - Anything else: an "unknown kind" problem; nothing passes unchecked.
 *
 * @returns an empty list when the object is valid
 */
export function validateManifest(doc: unknown): ManifestProblem[] {
  if (!isRecord(doc)) {
    return [{ path: ROOT_PATH, message: `expected a Kubernetes object (a map with apiVersion, kind and metadata); got ${describeValue(doc)}` }];
  }
  const data = plainCopy(doc) as Record<string, unknown>;
  const problems: ManifestProblem[] = [];
  const { apiVersion, kind } = data;
  for (const [field, value] of [['apiVersion', apiVersion], ['kind', kind]] as const) {
    if (value === undefined || value === null) problems.push({ path: field, message: 'required field is missing' });
    else if (typeof value !== 'string' || value === '') problems.push({ path: field, message: `expected a non-empty string; got ${describeValue(value)}` });
  }
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion === '' || kind === '') {
    return [...problems, ...checkMetadata(data, String(apiVersion), String(kind))];
  }

  problems.push(...checkMetadata(data, apiVersion, kind));
  const schemaProblems = schemaCheck(data, apiVersion, kind);
  // Metadata was checked above with better messages; drop the schema's take on the same paths.
  const reported = new Set(problems.map((p) => p.path));
  problems.push(...schemaProblems.filter((p) => !reported.has(p.path)));
  return dedupe(problems);
}

/** Every `"<group>/<version>/<Kind>"` with a committed CRD schema, sorted. */
export function knownCustomResourceKinds(): string[] {
  return customResourceKeys();
}

function schemaCheck(doc: Record<string, unknown>, apiVersion: string, kind: string): ManifestProblem[] {
  const crKey = findCustomResource(apiVersion, kind);
  if (crKey !== undefined) return validateCustomResource(crKey, doc);
  const model = findBuiltinModel(apiVersion, kind);
  if (model !== undefined) {
    const removed = removedApiProblem(apiVersion, kind);
    return [...(removed ? [removed] : []), ...validateBuiltin(model, doc)];
  }
  const otherVersions = customResourceKeys().filter((k) => k.endsWith(`/${kind}`) && k.startsWith(`${apiVersion.split('/')[0]}/`));
  const hint =
    otherVersions.length > 0
      ? `; known versions: ${otherVersions.map((k) => k.slice(0, k.lastIndexOf('/'))).join(', ')}`
      : '. Built-in kinds come from kubernetes-models; custom resources need their CRD in shared/schemas/crds and `npm run gen:crd-schemas`';
  return [{ path: 'kind', message: `unknown kind ${JSON.stringify(kind)} in apiVersion ${JSON.stringify(apiVersion)}; no schema for it${hint}` }];
}

/** A copy of plain data (objects, arrays, scalars), so validation never sees or changes the caller's objects. */
function plainCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainCopy);
  if (isRecord(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plainCopy(v);
    return out;
  }
  return value;
}
