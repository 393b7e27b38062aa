import { EtcdError, isIpAddress, type EtcdClient, type EtcdMember } from './etcd-client';

/** gRPC Unavailable: etcd's "unhealthy cluster", "request timed out", "leader changed". */
const GRPC_UNAVAILABLE = 14;

// Replacing a dead etcd member: the runtime reconfiguration etcd documents
// (https://etcd.io/docs/v3.4/op-guide/runtime-configuration/), as one call
// with the checks an operator would make by hand.

/** Where the new member will listen. */
export interface ReplacementMember {
  /** etcd `--name`; may reuse the dead member's name (a rebuilt node). */
  readonly name: string;
  /** `--initial-advertise-peer-urls`, e.g. `https://10.110.0.7:2380`. */
  readonly peerURL: string;
  /** `--advertise-client-urls`, e.g. `https://10.110.0.7:2379`. */
  readonly clientURL: string;
}

/**
 * What the new member must boot with, handed to `start` once it has been
 * added to the cluster.
 */
export interface EtcdMemberPlan {
  readonly name: string;
  /** ID etcd gave the new member, hex. */
  readonly memberId: string;
  readonly peerURL: string;
  readonly clientURL: string;
  /**
   * `--initial-cluster`: every member's `name=peerURL`, the new one included.
   * @see https://etcd.io/docs/v3.4/op-guide/configuration/
   */
  readonly initialCluster: string;
  /**
   * `--initial-cluster-state existing`: join the running cluster instead of
   * bootstrapping a new one.
   * @see https://etcd.io/docs/v3.4/op-guide/configuration/
   */
  readonly initialClusterState: 'existing';
  /**
   * Names the new member's server and peer certificates must cover: its name,
   * the hosts of its URLs, `localhost` and `127.0.0.1` (as the secrets bundle
   * issues them). Spread into `issueCertificate`:
   * `issueCertificate(etcdCa, { commonName: plan.name, usage: 'peer', ...plan.subjectAltNames, validity })`.
   */
  readonly subjectAltNames: { readonly dnsNames: readonly string[]; readonly ipAddresses: readonly string[] };
  /** The membership flags above as etcd arguments (TLS and data-dir flags are the caller's). */
  readonly etcdFlags: readonly string[];
}

export interface ReplaceEtcdMemberOptions {
  /** A client whose certificate etcd accepts, with the surviving members' client URLs among its endpoints. */
  readonly client: EtcdClient;
  /** The member to remove: its name, or its ID in hex as `etcdctl member list` prints it. */
  readonly dead: string;
  readonly replacement: ReplacementMember;
  /**
   * Boots the new member with `plan` (issue its certificates with
   * `plan.subjectAltNames`, write them, start etcd). Resolves once the
   * process is launched; the helper then waits for it to join.
   *
   * If it throws, the new member is removed again so the cluster is not left
   * waiting for a member that will never start.
   */
  readonly start: (plan: EtcdMemberPlan) => Promise<void>;
  /**
   * Time allowed for each wait: for etcd to accept the removal and the add
   * (see `replaceEtcdMember`), and for the new member to join with every
   * member healthy, counted from when `start` resolves.
   * @default 300000 (a node can take minutes to boot)
   */
  readonly timeoutMs?: number;
  /**
   * Time for enough of the other members to be healthy before giving up: an
   * election right after the failure makes them briefly unhealthy.
   * @default 15000
   */
  readonly quorumWaitMs?: number;
  /** @default 250 */
  readonly pollIntervalMs?: number;
}

export interface EtcdMemberReplacement {
  readonly removed: EtcdMember;
  readonly added: EtcdMember;
  readonly plan: EtcdMemberPlan;
  /** The member list once the new member was healthy. */
  readonly members: readonly EtcdMember[];
}

/**
 * Replaces the dead member `dead` by `replacement` and waits for the cluster
 * to be whole again.
 *
 * 1. Refuses unless the members other than `dead` are enough for a quorum
 *    of the full cluster (removing then adding needs that many started
 *    members; etcd's strict reconfiguration check agrees), and unless
 *    `dead` is really unreachable.
 * 2. Removes `dead`, adds the replacement's peer URL, and calls `start` with
 *    the `--initial-cluster` the new member must boot with.
 * 3. Waits until the member list is exactly the survivors plus the new
 *    member, all started, and every member answers `/health`.
 *
 * Transient refusals are retried within `timeoutMs`, reading the member
 * list before each retry so a change that did go through is not made twice:
 * with `--strict-reconfig-check` (etcd's default) a member refuses a
 * reconfiguration as "unhealthy cluster" until it has been connected to a
 * quorum for 5 seconds (a young cluster, a restarted member), and a change
 * proposed right after another, or across an election, can time out.
 *
 * @see https://etcd.io/docs/v3.4/op-guide/runtime-configuration/#replace-a-failed-machine
 * @see https://etcd.io/docs/v3.4/op-guide/runtime-configuration/ (strict reconfiguration check)
 * @see https://etcd.io/docs/v3.4/op-guide/failures/
 */
export async function replaceEtcdMember(options: ReplaceEtcdMemberOptions): Promise<EtcdMemberReplacement> {
  const { client, replacement } = options;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const where = `replaceEtcdMember(${options.dead} -> ${replacement.name})`;

  const before = await client.memberList();
  const dead = before.find((m) => m.name === options.dead || m.id === options.dead.toLowerCase());
  if (!dead) {
    throw new Error(`${where}: no member named or with ID "${options.dead}"; members are ${describeMembers(before)}. If it was removed already, add the replacement with memberAdd.`);
  }
  const survivors = before.filter((m) => m.id !== dead.id);
  const clash = survivors.find((m) => m.name === replacement.name || m.peerURLs.includes(replacement.peerURL));
  if (clash) {
    throw new Error(`${where}: member ${label(clash)} already uses the name or peer URL of the replacement; pick another name/address or replace that member instead`);
  }

  // Quorum: after the removal the cluster is survivors only; after the add it
  // is back to `before.length` members, with only the survivors started until
  // the new one joins. Both steps need a quorum of the full size up.
  const quorum = Math.floor(before.length / 2) + 1;
  const quorumDeadline = Date.now() + (options.quorumWaitMs ?? 15_000);
  for (;;) {
    const [deadProbe, ...survivorProbes] = await Promise.all([dead, ...survivors].map((m) => probe(client, m)));
    if (deadProbe.healthy) {
      throw new Error(`${where}: member ${label(dead)} still answers /health at ${deadProbe.endpoint}; stop it (or its node) before replacing it, or it keeps serving stale data until etcd shuts it out`);
    }
    const healthy = survivorProbes.filter((p) => p.healthy);
    if (healthy.length >= quorum) break;
    if (Date.now() >= quorumDeadline) {
      const status = survivorProbes.map((p) => `${p.member}: ${p.healthy ? 'healthy' : `not healthy (${p.reason})`}`).join('; ');
      throw new Error(
        `${where}: cannot keep etcd quorum: ${healthy.length} of the ${survivors.length} other member(s) are healthy, and removing ${label(dead)} then adding ${replacement.name} ` +
          `needs ${quorum} (a quorum of ${before.length}). Bring an unhealthy member back first, or restore the cluster from a snapshot (etcdctl snapshot restore). Members: ${status}`,
      );
    }
    await sleep(pollIntervalMs);
  }

  const reconfigure = { client, timeoutMs, pollIntervalMs };
  await removeMember(reconfigure, dead);
  const { member: added, members } = await addMember(reconfigure, replacement, dead);
  const plan = makePlan(replacement, added, members);

  try {
    await options.start(plan);
  } catch (err) {
    const rollback = await removeMember(reconfigure, added).then(
      () => `removed the unstarted member ${added.id} again; the cluster has ${survivors.length} members`,
      (removeErr: unknown) => `could not remove the unstarted member ${added.id} (${errorMessage(removeErr)}); remove it with etcdctl member remove ${added.id}`,
    );
    throw new Error(`${where}: start failed: ${errorMessage(err)}; ${rollback}`, { cause: err });
  }

  const expected = new Set([...survivors.map((m) => m.id), added.id]);
  const deadline = Date.now() + timeoutMs;
  let waitingFor = 'the member list';
  for (;;) {
    try {
      waitingFor = await notReadyYet(client, expected, added, replacement);
      if (!waitingFor) {
        const members = await client.memberList();
        return { removed: dead, added: members.find((m) => m.id === added.id) ?? added, plan, members };
      }
    } catch (err) {
      // etcd unreachable for a moment is worth waiting out; bad certificates or a wrong --name are not.
      if (!(err instanceof EtcdError) || err.kind === 'tls') throw err;
      waitingFor = errorMessage(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${where}: ${replacement.name} (${added.id}) was added but the cluster was not whole within ${timeoutMs} ms: ${waitingFor}. ` +
          `Check the new member's log; it must boot with --initial-cluster ${plan.initialCluster} --initial-cluster-state existing`,
      );
    }
    await sleep(pollIntervalMs);
  }
}

interface Reconfigure {
  readonly client: EtcdClient;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
}

/** Whether etcd may accept the same change later: refused as unhealthy, timed out, or the connection failed. */
function transient(err: unknown): boolean {
  if (!(err instanceof EtcdError)) return false;
  return err.kind === 'timeout' || err.kind === 'connection' || err.kind === 'unavailable' || (err.kind === 'server' && err.grpcCode === GRPC_UNAVAILABLE);
}

/** Removes `member`, retrying transient failures unless the member list shows it gone. */
async function removeMember({ client, timeoutMs, pollIntervalMs }: Reconfigure, member: EtcdMember): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.memberRemove(member.id);
      return;
    } catch (err) {
      if (err instanceof EtcdError && /member not found/.test(err.message)) return;
      if (!transient(err)) throw err;
      const members = await client.memberList().catch(() => undefined);
      if (members && !members.some((m) => m.id === member.id)) return;
      if (Date.now() >= deadline) {
        throw new Error(`replaceEtcdMember: etcd did not remove ${label(member)} within ${timeoutMs} ms: ${errorMessage(err)}`, { cause: err });
      }
    }
    await sleep(pollIntervalMs);
  }
}

/** Adds the replacement's peer URL, retrying transient failures unless the member list shows it added. */
async function addMember({ client, timeoutMs, pollIntervalMs }: Reconfigure, replacement: ReplacementMember, dead: EtcdMember): Promise<{ member: EtcdMember; members: EtcdMember[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await client.memberAdd([replacement.peerURL]);
    } catch (err) {
      // "Peer URLs already exists": an earlier attempt went through after all.
      if (!transient(err) && !(err instanceof EtcdError && /Peer URLs already exists/i.test(err.message))) throw err;
      const members = await client.memberList().catch(() => undefined);
      const added = members?.find((m) => m.id !== dead.id && m.peerURLs.includes(replacement.peerURL));
      if (members && added) return { member: added, members };
      if (Date.now() >= deadline) {
        throw new Error(`replaceEtcdMember: etcd did not add ${replacement.name} (${replacement.peerURL}) within ${timeoutMs} ms: ${errorMessage(err)}`, { cause: err });
      }
    }
    await sleep(pollIntervalMs);
  }
}

/** What is still missing, or '' when the cluster is whole and healthy. */
async function notReadyYet(client: EtcdClient, expected: Set<string>, added: EtcdMember, replacement: ReplacementMember): Promise<string> {
  const members = await client.memberList();
  const ids = new Set(members.map((m) => m.id));
  const missing = [...expected].filter((id) => !ids.has(id));
  const extra = members.filter((m) => !expected.has(m.id));
  if (missing.length > 0 || extra.length > 0) {
    return `member list is ${describeMembers(members)}; expected IDs ${[...expected].join(', ')}`;
  }
  const unstarted = members.filter((m) => !m.started);
  if (unstarted.length > 0) return `${unstarted.map(label).join(', ')} not started yet`;
  const joined = members.find((m) => m.id === added.id);
  if (joined && joined.name !== replacement.name) {
    throw new Error(`replaceEtcdMember: the member started as "${joined.name}", expected "${replacement.name}"; check --name on the new node`);
  }
  const probes = await Promise.all(members.map((m) => probe(client, m)));
  const unhealthy = probes.filter((p) => !p.healthy);
  if (unhealthy.length > 0) return unhealthy.map((p) => `${p.member} not healthy (${p.reason})`).join('; ');
  const status = await client.status(replacement.clientURL);
  if (status.memberId !== added.id) {
    return `${replacement.clientURL} answers as member ${status.memberId}, expected ${added.id}`;
  }
  if (!status.leaderId) return `${replacement.name} knows no leader yet`;
  return '';
}

interface Probe {
  readonly member: string;
  readonly endpoint: string;
  readonly healthy: boolean;
  readonly reason?: string;
}

/** Health of a member on its first client URL that answers (bounded by the client's request timeout). */
async function probe(client: EtcdClient, member: EtcdMember): Promise<Probe> {
  const name = label(member);
  if (member.clientURLs.length === 0) return { member: name, endpoint: '-', healthy: false, reason: 'never started (no client URL)' };
  let last: Probe = { member: name, endpoint: member.clientURLs[0], healthy: false, reason: 'not probed' };
  for (const url of member.clientURLs) {
    const h = await client.health(url);
    last = { member: name, endpoint: url, healthy: h.healthy, reason: h.reason };
    if (h.healthy) return last;
  }
  return last;
}

function makePlan(replacement: ReplacementMember, added: EtcdMember, members: readonly EtcdMember[]): EtcdMemberPlan {
  // The new member has no name in the list until it starts: use the one it will boot with.
  const initialCluster = members
    .flatMap((m) => (m.id === added.id ? [replacement.peerURL] : m.peerURLs).map((url) => `${m.id === added.id ? replacement.name : m.name}=${url}`))
    .join(',');
  const hosts = [replacement.peerURL, replacement.clientURL].map((u) => new URL(u).hostname.replace(/^\[|\]$/g, ''));
  const dnsNames = unique([replacement.name, 'localhost', ...hosts.filter((h) => !isIpAddress(h))]);
  const ipAddresses = unique(['127.0.0.1', ...hosts.filter((h) => isIpAddress(h))]);
  return {
    name: replacement.name,
    memberId: added.id,
    peerURL: replacement.peerURL,
    clientURL: replacement.clientURL,
    initialCluster,
    initialClusterState: 'existing',
    subjectAltNames: { dnsNames, ipAddresses },
    etcdFlags: [
      '--name', replacement.name,
      '--initial-advertise-peer-urls', replacement.peerURL,
      '--advertise-client-urls', replacement.clientURL,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'existing',
    ],
  };
}

function label(m: EtcdMember): string {
  return m.name ? `${m.name} (${m.id})` : `unstarted ${m.id} (${m.peerURLs.join(',')})`;
}

function describeMembers(members: readonly EtcdMember[]): string {
  return members.map(label).join(', ') || 'none';
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
