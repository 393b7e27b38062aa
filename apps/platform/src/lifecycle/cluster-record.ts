import { closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { apiEndpoint } from '@keelson/ignition';
import type { PlatformSpec } from '@keelson/platform-spec';

/** The record that the cluster exists, inside infra-out/ (mode 0600). No secret in it. */
export const CLUSTER_RECORD_FILE = 'cluster-created.json';

/**
 * Written by `keelson deploy` as soon as the cluster's API first answers,
 * removed by `keelson destroy` once the machines are gone. While it exists
 * synth renders every node as a joiner: `kubeadm init` runs only on the
 * very first deploy.
 */
export interface ClusterRecord {
  readonly version: 1;
  /** `cluster.name` of the config. */
  readonly cluster: string;
  /** When the API first answered, ISO 8601. */
  readonly createdAt: string;
  /** `api.<domain>:6443`. */
  readonly apiEndpoint: string;
}

/** `<infraDir>/cluster-created.json`. */
export const clusterRecordPath = (infraDir: string) => join(infraDir, CLUSTER_RECORD_FILE);

/**
 * The record of cluster `cluster`, or undefined when there is none (or it
 * names another cluster: a renamed cluster is a new one). A record that
 * cannot be read is refused, never taken for "no cluster": that would
 * create a second one.
 */
export function readClusterRecord(infraDir: string, cluster: string): ClusterRecord | undefined {
  const file = clusterRecordPath(infraDir);
  if (!existsSync(file)) return undefined;
  const fix = `it records that the cluster exists (keelson deploy writes it, keelson destroy removes it); restore it from a backup of infra-out/, or, only if no machine of "${cluster}" exists any more, delete it`;
  let parsed: Partial<ClusterRecord>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ClusterRecord>;
  } catch (e) {
    throw new Error(`${file} is not JSON (${(e as Error).message}); ${fix}`);
  }
  const problems = [
    parsed?.version === 1 ? undefined : `version ${JSON.stringify(parsed?.version)} (expected 1)`,
    typeof parsed?.cluster === 'string' && parsed.cluster ? undefined : `cluster ${JSON.stringify(parsed?.cluster)} (expected the cluster name)`,
    typeof parsed?.createdAt === 'string' && !Number.isNaN(Date.parse(parsed.createdAt)) ? undefined : `createdAt ${JSON.stringify(parsed?.createdAt)} (expected an ISO 8601 time)`,
    typeof parsed?.apiEndpoint === 'string' ? undefined : `apiEndpoint ${JSON.stringify(parsed?.apiEndpoint)} (expected host:port)`,
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}; ${fix}`);
  return parsed.cluster === cluster ? (parsed as ClusterRecord) : undefined;
}

/**
 * Records that `cluster` exists, once: a record of the same cluster is kept
 * as it is (its `createdAt` is the first answer). Written atomically (a
 * synced temporary file renamed over it), mode 0600.
 */
export function writeClusterRecord(infraDir: string, record: Omit<ClusterRecord, 'version'>): ClusterRecord {
  const existing = readClusterRecord(infraDir, record.cluster);
  if (existing) return existing;
  const full: ClusterRecord = { version: 1, cluster: record.cluster, createdAt: record.createdAt, apiEndpoint: record.apiEndpoint };
  mkdirSync(infraDir, { recursive: true, mode: 0o700 });
  const file = clusterRecordPath(infraDir);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${JSON.stringify(full, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  // The rename itself reaches the disk with the folder.
  const dir = openSync(infraDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return full;
}

/** Records that the cluster of `spec` exists, first answered `now` (kept if recorded before). */
export function recordClusterCreated(infraDir: string, spec: PlatformSpec, now = new Date()): ClusterRecord {
  return writeClusterRecord(infraDir, { cluster: spec.config.cluster.name, createdAt: now.toISOString(), apiEndpoint: apiEndpoint(spec) });
}

/** Removes the record (after `keelson destroy` deleted the machines). */
export function removeClusterRecord(infraDir: string): void {
  rmSync(clusterRecordPath(infraDir), { force: true });
}
