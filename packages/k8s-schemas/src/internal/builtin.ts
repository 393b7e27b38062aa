import type { ErrorObject } from 'ajv';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { formatPath, isRecord } from './paths';
import type { Segment } from './paths';
import { problemsFromAjv, unknownFieldMessage } from './problems';
import type { ManifestProblem } from './problems';

/** A kubernetes-models class: `apiVersion`/`kind` statics and a `validate()` that throws ajv errors. */
interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  readonly prototype: { validate(this: unknown): void };
}

// kubernetes-models ships one module per kind (`kubernetes-models/apps/v1/Deployment`); load them on
// demand rather than all ~1700 schemas up front (a group/version's index alone loads every type of
// the group: `v1` is 215). A synchronous require keeps validateManifest sync.
const loadModule = createRequire(__filename);
const moduleCache = new Map<string, Record<string, unknown> | undefined>();

const GROUP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VERSION = /^v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

/** The kubernetes-models class for `apiVersion` + `kind`, or `undefined` when the package has none. */
export function findBuiltinModel(apiVersion: string, kind: string): ModelClass | undefined {
  const parts = apiVersion.split('/');
  const [group, version] = parts.length === 1 ? ['', parts[0]] : parts;
  if (parts.length > 2 || !VERSION.test(version) || (group !== '' && !GROUP.test(group)) || !KIND.test(kind)) return undefined;
  const path = group === '' ? `${version}/${kind}` : `${group}/${version}/${kind}`;
  const specifier = `kubernetes-models/${path}`;
  if (!moduleCache.has(specifier)) {
    let mod: Record<string, unknown> | undefined;
    try {
      mod = loadModule(specifier) as Record<string, unknown>;
    } catch (err) {
      // Only "no such group/version/kind" means unknown; a broken install must not look like one.
      // (An unknown group/version is not exported; an unknown kind of a known one is a missing file.)
      const { code, message } = err as NodeJS.ErrnoException;
      const missing = code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' || (code === 'MODULE_NOT_FOUND' && [`'${specifier}'`, `${sep}${join('kubernetes-models', ...path.split('/'))}.js'`].some((m) => message.includes(m)));
      if (!missing) throw err;
    }
    moduleCache.set(specifier, mod);
  }
  const candidate = Object.prototype.hasOwnProperty.call(moduleCache.get(specifier) ?? {}, kind) ? moduleCache.get(specifier)?.[kind] : undefined;
  if (typeof candidate !== 'function') return undefined;
  const model = candidate as unknown as ModelClass;
  // Spec types (DeploymentSpec, ...) are exported too; only top-level kinds carry apiVersion/kind.
  return model.apiVersion === apiVersion && model.kind === kind && typeof model.prototype.validate === 'function' ? model : undefined;
}

/**
 * Validates `doc` with its kubernetes-models validator, and reports unknown fields.
 *
 * kubernetes-models ships ajv validators compiled from the OpenAPI spec without
 * `additionalProperties: false`, and no JSON schema to close; an unknown field passes. So the
 * document is handed to the validator behind proxies that record which keys the validator looks
 * up on each object. A compiled validator reads every property its schema defines (present or
 * not) and every key of a map, so a key it never read is a field the schema does not have.
 * Objects on which nothing was read are free-form (e.g. RawExtension) and stay open.
 */
export function validateBuiltin(model: ModelClass, doc: Record<string, unknown>): ManifestProblem[] {
  const tracked = new Map<string, { value: Record<string, unknown>; segments: Segment[]; reads: Set<string> }>();
  const wrap = (value: object, segments: Segment[]): object => {
    const reads = new Set<string>();
    if (isRecord(value)) tracked.set(JSON.stringify(segments), { value, segments, reads });
    const children = new Map<string, object>();
    return new Proxy(value, {
      get(target, key, receiver) {
        const child: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return child;
        reads.add(key);
        if (typeof child !== 'object' || child === null || !Object.prototype.hasOwnProperty.call(target, key)) return child;
        let proxy = children.get(key);
        if (proxy === undefined) {
          proxy = wrap(child, [...segments, Array.isArray(target) && /^\d+$/.test(key) ? Number(key) : key]);
          children.set(key, proxy);
        }
        return proxy;
      },
    });
  };

  let errors: readonly ErrorObject[] = [];
  try {
    model.prototype.validate.call(wrap(doc, []));
  } catch (err) {
    const ajvErrors = (err as { errors?: unknown }).errors;
    if (!Array.isArray(ajvErrors)) throw err;
    errors = ajvErrors as ErrorObject[];
  }

  const problems = problemsFromAjv(errors, doc);
  for (const { value, segments, reads } of tracked.values()) {
    if (reads.size === 0) continue;
    for (const key of Object.keys(value)) {
      if (reads.has(key) || droppedByGenerator(model.kind, segments, key)) continue;
      problems.push({ path: formatPath([...segments, key]), message: unknownFieldMessage(key, [...reads]) });
    }
  }
  return problems;
}

/**
 * Fields Kubernetes has but kubernetes-models' validators never read.
 *
 * Its generator strips every `description` and `x-kubernetes-*` key from the OpenAPI spec, also
 * where those are field names: `description` of PriorityClass, of CRD printer columns and of CRD
 * schemas (JSONSchemaProps, ExternalDocumentation), and JSONSchemaProps' `x-kubernetes-*`
 * extensions. Cross-checked against the typings of kubernetes-models 4.5: no other field is missing.
 */
function droppedByGenerator(kind: string, segments: readonly Segment[], key: string): boolean {
  const inCrdSchema = segments.includes('openAPIV3Schema');
  if (key === 'description') {
    return inCrdSchema || (kind === 'CustomResourceDefinition' && segments.includes('additionalPrinterColumns')) || (kind === 'PriorityClass' && segments.length === 0);
  }
  return inCrdSchema && JSON_SCHEMA_EXTENSIONS.includes(key);
}

const JSON_SCHEMA_EXTENSIONS = [
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-validations',
];

/** Kubernetes release that removed each beta API kubernetes-models still ships; see the deprecated API migration guide. */
const REMOVED: Record<string, { removedIn: string; use?: Record<string, string> }> = {
  'extensions/v1beta1': { removedIn: '1.16', use: { Deployment: 'apps/v1', DaemonSet: 'apps/v1', ReplicaSet: 'apps/v1', NetworkPolicy: 'networking.k8s.io/v1', Ingress: 'networking.k8s.io/v1' } },
  'apps/v1beta1': { removedIn: '1.16' },
  'apps/v1beta2': { removedIn: '1.16' },
  'admissionregistration.k8s.io/v1beta1': { removedIn: '1.22' },
  'apiextensions.k8s.io/v1beta1': { removedIn: '1.22' },
  'apiregistration.k8s.io/v1beta1': { removedIn: '1.22' },
  'authentication.k8s.io/v1beta1': { removedIn: '1.22' },
  'authorization.k8s.io/v1beta1': { removedIn: '1.22' },
  'certificates.k8s.io/v1beta1': { removedIn: '1.22' },
  'coordination.k8s.io/v1beta1': { removedIn: '1.22' },
  'networking.k8s.io/v1beta1': { removedIn: '1.22' },
  'rbac.authorization.k8s.io/v1beta1': { removedIn: '1.22' },
  'scheduling.k8s.io/v1beta1': { removedIn: '1.22' },
  'storage.k8s.io/v1beta1': { removedIn: '1.22' },
  'batch/v1beta1': { removedIn: '1.25' },
  'discovery.k8s.io/v1beta1': { removedIn: '1.25' },
  'events.k8s.io/v1beta1': { removedIn: '1.25' },
  'autoscaling/v2beta1': { removedIn: '1.25', use: { HorizontalPodAutoscaler: 'autoscaling/v2' } },
  'policy/v1beta1': { removedIn: '1.25' },
  'node.k8s.io/v1beta1': { removedIn: '1.25' },
  'flowcontrol.apiserver.k8s.io/v1beta1': { removedIn: '1.26' },
  'autoscaling/v2beta2': { removedIn: '1.26', use: { HorizontalPodAutoscaler: 'autoscaling/v2' } },
  'flowcontrol.apiserver.k8s.io/v1beta2': { removedIn: '1.29' },
  'flowcontrol.apiserver.k8s.io/v1beta3': { removedIn: '1.32' },
};
const REMOVED_KIND_OVERRIDES: Record<string, string> = {
  'extensions/v1beta1/Ingress': '1.22',
  'storage.k8s.io/v1beta1/CSIStorageCapacity': '1.27',
};

/**
 * A problem when `apiVersion` is a beta API that Kubernetes no longer serves.
 *
 * kubernetes-models keeps every API it ever generated (extensions/v1beta1, policy/v1beta1
 * PodSecurityPolicy, ...); a manifest using one validates but cannot be applied.
 */
export function removedApiProblem(apiVersion: string, kind: string): ManifestProblem | undefined {
  const entry = REMOVED[apiVersion];
  if (entry === undefined) return undefined;
  const removedIn = REMOVED_KIND_OVERRIDES[`${apiVersion}/${kind}`] ?? entry.removedIn;
  const group = apiVersion.slice(0, apiVersion.lastIndexOf('/'));
  const replacement = entry.use?.[kind] ?? [`${group}/v1`, `${group}/v2`].find((v) => findBuiltinModel(v, kind) !== undefined);
  return {
    path: 'apiVersion',
    message: `${kind} in ${JSON.stringify(apiVersion)} was removed in Kubernetes ${removedIn}; ${replacement !== undefined ? `use apiVersion ${JSON.stringify(replacement)}` : `${kind} has no replacement`}`,
  };
}
