import { createHash } from 'node:crypto';

/** The manifest's name, at the root of the bundle folder. */
export const MANIFEST_FILE = 'bundle.json';

/** The manifest format this version reads and writes. */
export const MANIFEST_FORMAT = 1;

/** What the manifest records of one file. */
export interface ManifestEntry {
  /** SHA-256 of the file's bytes, lowercase hex. */
  readonly sha256: string;
  /** The file's permission bits when recorded, e.g. `0600`. */
  readonly mode: string;
}

/** Which cluster a bundle belongs to. */
export interface ManifestCluster {
  /** `cluster.name` of the config the bundle was made for. */
  readonly name: string;
  /** A random 128-bit id, hex, drawn when the bundle was made (or adopted). */
  readonly id: string;
  /** SHA-256 of the Kubernetes CA certificate (DER), as `openssl x509 -noout -fingerprint -sha256` prints it without colons. */
  readonly kubernetesCaSha256: string;
}

/** `bundle.json`: the bundle's identity and every file it holds. */
export interface BundleManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly cluster: ManifestCluster;
  /** By path relative to the bundle folder. */
  readonly files: Readonly<Record<string, ManifestEntry>>;
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The manifest as written: files sorted by path, so equal bundles have equal manifests. */
export function formatManifest(manifest: BundleManifest): string {
  const files = Object.fromEntries(Object.keys(manifest.files).sort().map((f) => [f, manifest.files[f]]));
  return `${JSON.stringify({ format: manifest.format, cluster: manifest.cluster, files }, null, 2)}\n`;
}

const HEX64 = /^[0-9a-f]{64}$/;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses `bundle.json`; a string is the reason it is not a manifest this version can read. */
export function parseManifest(text: string): BundleManifest | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'is not valid JSON';
  }
  if (!isRecord(raw)) return 'is not a bundle manifest (expected a JSON object)';
  if (typeof raw.format === 'number' && raw.format > MANIFEST_FORMAT) {
    return `has format ${raw.format}; this version of Keelson reads format ${MANIFEST_FORMAT}: use the Keelson version that wrote it`;
  }
  if (raw.format !== MANIFEST_FORMAT) return `is not a bundle manifest (format ${JSON.stringify(raw.format)}, expected ${MANIFEST_FORMAT})`;
  const cluster = raw.cluster;
  if (!isRecord(cluster) || typeof cluster.name !== 'string' || typeof cluster.id !== 'string' || typeof cluster.kubernetesCaSha256 !== 'string' || !HEX64.test(cluster.kubernetesCaSha256)) {
    return 'is not a bundle manifest (cluster needs name, id and kubernetesCaSha256)';
  }
  if (!isRecord(raw.files)) return 'is not a bundle manifest (files must map paths to { sha256, mode })';
  const files: Record<string, ManifestEntry> = {};
  for (const [path, entry] of Object.entries(raw.files)) {
    if (!isRecord(entry) || typeof entry.sha256 !== 'string' || !HEX64.test(entry.sha256) || typeof entry.mode !== 'string' || !/^0[0-7]{3}$/.test(entry.mode)) {
      return `is not a bundle manifest (files["${path}"] must be { sha256: 64 hex digits, mode: "0600" })`;
    }
    if (path.startsWith('/') || path.split('/').includes('..')) return `is not a bundle manifest (files["${path}"] is outside the bundle)`;
    files[path] = { sha256: entry.sha256, mode: entry.mode };
  }
  return { format: MANIFEST_FORMAT, cluster: { name: cluster.name, id: cluster.id, kubernetesCaSha256: cluster.kubernetesCaSha256 }, files };
}
