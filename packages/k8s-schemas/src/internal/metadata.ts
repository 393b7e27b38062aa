import { describeValue, formatPath, isRecord } from './paths';
import type { Segment } from './paths';
import { unknownFieldMessage } from './problems';
import type { ManifestProblem } from './problems';

/**
 * The `metadata` fields a rendered manifest may carry.
 *
 * The rest of ObjectMeta (`uid`, `resourceVersion`, `managedFields`, `creationTimestamp`, ...) is
 * set by the API server and has no place in manifests kept in git.
 */
export const ALLOWED_METADATA_FIELDS = ['name', 'generateName', 'namespace', 'labels', 'annotations', 'finalizers', 'ownerReferences'] as const;

const SERVER_SET_FIELDS = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink'];

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

type NameRule = (name: string) => string | undefined;

/** The API server's name rule per kind (`apimachinery/pkg/api/validation` and the per-kind validators). */
function nameRuleFor(apiVersion: string, kind: string): NameRule {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  if (group === '' && kind === 'Namespace') return dns1123Label;
  if (group === '' && kind === 'Service') return dns1035Label;
  if (group === 'rbac.authorization.k8s.io') return pathSegmentName; // e.g. "system:aggregate-to-admin"
  return dns1123Subdomain;
}

/**
 * Checks `metadata` the way the API server would, for every kind.
 *
 * CRD schemas leave `metadata` open, and kubernetes-models only checks types, so names, label
 * syntax and unknown metadata fields are checked here. `null` fields count as absent.
 */
export function checkMetadata(doc: Record<string, unknown>, apiVersion: string, kind: string): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const add = (segments: Segment[], message: string): void => {
    problems.push({ path: formatPath(['metadata', ...segments]), message });
  };
  const meta = doc.metadata;
  if (meta === undefined || meta === null) {
    return [{ path: 'metadata', message: 'required field is missing; every object needs metadata.name' }];
  }
  if (!isRecord(meta)) return [{ path: 'metadata', message: `expected an object; got ${describeValue(meta)}` }];

  for (const key of Object.keys(meta)) {
    if (meta[key] === null || (ALLOWED_METADATA_FIELDS as readonly string[]).includes(key)) continue;
    add(
      [key],
      SERVER_SET_FIELDS.includes(key)
        ? `${key} is set by the API server and does not belong in a rendered manifest; remove it`
        : unknownFieldMessage(key, ALLOWED_METADATA_FIELDS),
    );
  }

  const name = meta.name;
  if (name === undefined || name === null) add(['name'], 'required field is missing');
  else if (typeof name !== 'string') add(['name'], `expected string; got ${describeValue(name)}`);
  else {
    const problem = nameRuleFor(apiVersion, kind)(name);
    if (problem !== undefined) add(['name'], `invalid name ${JSON.stringify(name)} for ${kind}: ${problem}`);
  }

  if (meta.generateName !== undefined && meta.generateName !== null && typeof meta.generateName !== 'string') {
    add(['generateName'], `expected string; got ${describeValue(meta.generateName)}`);
  }

  const ns = meta.namespace;
  if (ns !== undefined && ns !== null) {
    if (typeof ns !== 'string') add(['namespace'], `expected string; got ${describeValue(ns)}`);
    else {
      const problem = dns1123Label(ns);
      if (problem !== undefined) add(['namespace'], `invalid namespace ${JSON.stringify(ns)}: ${problem}`);
    }
  }

  checkStringMap(meta.labels, 'labels', add, (value) => labelValue(value));
  checkStringMap(meta.annotations, 'annotations', add, () => undefined);
  if (isRecord(meta.annotations)) {
    const size = Object.entries(meta.annotations).reduce((n, [k, v]) => n + k.length + (typeof v === 'string' ? v.length : 0), 0);
    if (size > MAX_ANNOTATIONS_BYTES) add(['annotations'], `annotations total ${size} bytes; the API server allows at most ${MAX_ANNOTATIONS_BYTES}`);
  }

  const finalizers = meta.finalizers;
  if (finalizers !== undefined && finalizers !== null) {
    if (!Array.isArray(finalizers)) add(['finalizers'], `expected a list of strings; got ${describeValue(finalizers)}`);
    else finalizers.forEach((f, i) => {
      if (typeof f !== 'string') add(['finalizers', i], `expected string; got ${describeValue(f)}`);
    });
  }

  checkOwnerReferences(meta.ownerReferences, add);
  return problems;
}

function checkStringMap(
  map: unknown,
  field: 'labels' | 'annotations',
  add: (segments: Segment[], message: string) => void,
  checkValue: (value: string) => string | undefined,
): void {
  if (map === undefined || map === null) return;
  if (!isRecord(map)) {
    add([field], `expected a map of strings; got ${describeValue(map)}`);
    return;
  }
  for (const [key, value] of Object.entries(map)) {
    const keyProblem = qualifiedName(key);
    if (keyProblem !== undefined) add([field, key], `invalid ${field === 'labels' ? 'label' : 'annotation'} key ${JSON.stringify(key)}: ${keyProblem}`);
    if (typeof value !== 'string') {
      add([field, key], `expected string; got ${describeValue(value)}${typeof value === 'number' || typeof value === 'boolean' ? ` (quote it: "${String(value)}")` : ''}`);
      continue;
    }
    const valueProblem = checkValue(value);
    if (valueProblem !== undefined) add([field, key], `invalid label value ${JSON.stringify(value)}: ${valueProblem}`);
  }
}

function checkOwnerReferences(refs: unknown, add: (segments: Segment[], message: string) => void): void {
  if (refs === undefined || refs === null) return;
  if (!Array.isArray(refs)) {
    add(['ownerReferences'], `expected a list; got ${describeValue(refs)}`);
    return;
  }
  const allowed = ['apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'];
  refs.forEach((ref, i) => {
    if (!isRecord(ref)) {
      add(['ownerReferences', i], `expected an object; got ${describeValue(ref)}`);
      return;
    }
    for (const field of ['apiVersion', 'kind', 'name', 'uid']) {
      if (typeof ref[field] !== 'string') add(['ownerReferences', i, field], ref[field] === undefined ? 'required field is missing' : `expected string; got ${describeValue(ref[field])}`);
    }
    for (const field of ['controller', 'blockOwnerDeletion']) {
      if (ref[field] !== undefined && typeof ref[field] !== 'boolean') add(['ownerReferences', i, field], `expected boolean; got ${describeValue(ref[field])}`);
    }
    for (const key of Object.keys(ref)) {
      if (!allowed.includes(key)) add(['ownerReferences', i, key], unknownFieldMessage(key, allowed));
    }
  });
}

function dns1123Subdomain(name: string): string | undefined {
  if (name.length > 253) return `must be at most 253 characters, got ${name.length}`;
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit (e.g. "my-app")';
  }
  return undefined;
}

function dns1123Label(name: string): string | undefined {
  if (name.length > 63) return `must be at most 63 characters, got ${name.length}`;
  if (!DNS1123_LABEL.test(name)) return 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit (e.g. "my-app")';
  return undefined;
}

function dns1035Label(name: string): string | undefined {
  if (name.length > 63) return `must be at most 63 characters, got ${name.length}`;
  if (!DNS1035_LABEL.test(name)) return 'must be a DNS-1035 label: lower-case letters, digits and "-", starting with a letter and ending with a letter or digit (e.g. "my-service")';
  return undefined;
}

function pathSegmentName(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name === '.' || name === '..') return `may not be ${JSON.stringify(name)}`;
  if (/[/%]/.test(name)) return 'may not contain "/" or "%"';
  return undefined;
}

/** `[prefix/]name` as used by label and annotation keys. */
function qualifiedName(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a key is an optional DNS subdomain prefix and a name, separated by a single "/"';
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined) {
    if (prefix === '') return 'the prefix before "/" must not be empty';
    const problem = dns1123Subdomain(prefix);
    if (problem !== undefined) return `prefix ${JSON.stringify(prefix)} ${problem}`;
  }
  if (name.length === 0) return 'the name part must not be empty';
  if (name.length > 63) return `the name part must be at most 63 characters, got ${name.length}`;
  if (!QUALIFIED_NAME.test(name)) return 'the name part must be alphanumeric, "-", "_" or ".", starting and ending with an alphanumeric character';
  return undefined;
}

function labelValue(value: string): string | undefined {
  if (value.length > 63) return `must be at most 63 characters, got ${value.length}`;
  if (!LABEL_VALUE.test(value)) return 'must be empty or alphanumeric, "-", "_" or ".", starting and ending with an alphanumeric character';
  return undefined;
}
