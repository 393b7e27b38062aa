// The boot-files check: what a node actually boots is the user-data the
// Terraform JSON hands the cloud (the pointer config) and the secret part the
// pointer fetches, pinned by hash. The other checks read `<node>.ign`, the two
// merged; this one proves that file is what the node gets, and that nothing
// secret travels where it should not.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { decodeInlineContents } from '@keelson/ignition';
import { USER_DATA_LIMIT_BYTES } from '@keelson/infra-nodes/security-assertions';
import { scanForSecrets } from '@keelson/k8s-schemas';
import { terraformServers } from './rendered';
import { asArray, check, isRecord, type CheckResult, type Finding, type Loose, type ReportRow } from './types';

/** A URL with user information: a credential in a link every reader of the file sees. */
const CREDENTIAL_URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/@"']+:[^\s/@"']*@/i;

interface IgnitionFile {
  readonly path: string;
  readonly contents?: { readonly source?: string; readonly compression?: string };
}

/** Every inline file's decoded text and every unit's contents of an Ignition config, with where it comes from. */
function texts(config: Loose): Array<{ where: string; text: string }> {
  const out: Array<{ where: string; text: string }> = [];
  for (const f of asArray<IgnitionFile>(config?.storage?.files)) {
    const decoded = f.contents?.source?.startsWith('data:') ? decodeInlineContents(f.contents)?.toString('utf8') : undefined;
    if (decoded !== undefined) out.push({ where: f.path, text: decoded });
    if (f.contents?.source && !f.contents.source.startsWith('data:')) out.push({ where: `${f.path} (source)`, text: f.contents.source });
  }
  for (const u of asArray<{ name: string; contents?: string; dropins?: Array<{ name: string; contents?: string }> }>(config?.systemd?.units)) {
    if (u.contents) out.push({ where: `unit ${u.name}`, text: u.contents });
    for (const d of u.dropins ?? []) if (d.contents) out.push({ where: `unit ${u.name} drop-in ${d.name}`, text: d.contents });
  }
  return out;
}

/** The files and units of a config, as `path -> content`, for comparing the merge with the full config. */
function entries(config: Loose): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of asArray<IgnitionFile & { mode?: number }>(config?.storage?.files)) {
    const text = f.contents ? (decodeInlineContents(f.contents)?.toString('base64') ?? f.contents.source ?? '') : '';
    out.set(`file ${f.path}`, `${f.mode ?? ''}:${text}`);
  }
  for (const u of asArray<{ name: string; enabled?: boolean; mask?: boolean; contents?: string; dropins?: unknown }>(config?.systemd?.units)) {
    out.set(`unit ${u.name}`, JSON.stringify([u.enabled ?? null, u.mask ?? null, u.contents ?? null, u.dropins ?? null]));
  }
  return out;
}

/**
 * For each node of `infra-out/ignition/`:
 *
 * - the user-data of its server in the Terraform JSON is byte for byte its
 *   `<node>.pointer.ign`, within the cloud's user-data limit (64 KiB on
 *   DigitalOcean, 32 KiB on Hetzner);
 * - the pointer fetches the secret part over HTTPS with no credential in the
 *   link, and its `sha512-` hash is the hash of `<node>.secret.ign` (else
 *   Ignition refuses to boot it);
 * - the pointer and the Terraform JSON carry no key, token or password (the
 *   same scan as charts-out/, inline files decoded), and no URL anywhere has
 *   user information;
 * - pointer and secret part together hold exactly the files and units of
 *   `<node>.ign`, which every other check reads;
 * - the secret part and the full config are readable by their owner only.
 *
 * @see https://coreos.github.io/ignition/configuration-v3_3/ (ignition.config.merge, verification.hash)
 */
export function checkBootFiles(infraDir: string, terraform: Parameters<typeof terraformServers>[0], terraformFileName: string): CheckResult {
  const findings: Finding[] = [];
  const rows: ReportRow[] = [];
  const ignitionDir = join(infraDir, 'ignition');
  const base = join(infraDir, '..');
  const rel = (f: string) => relative(base, f);
  const terraformFile = join(infraDir, basename(terraformFileName));
  const tfText = readFileSync(terraformFile, 'utf8');
  for (const s of scanForSecrets(tfText, rel(terraformFile))) findings.push({ file: `${s.file}:${s.line}`, message: `${s.rule} in the Terraform JSON: ${s.excerpt}; it is kept in Terraform state and plan output: read it from a file (as the secret parts are) or create it at deploy time` });
  if (CREDENTIAL_URL.test(tfText)) findings.push({ file: rel(terraformFile), message: 'the Terraform JSON holds a URL with a user name and password: remove the credential from the config value it comes from' });

  const servers = new Map(terraformServers(terraform).map((s) => [s.name, s]));
  const names = statSync(ignitionDir, { throwIfNoEntry: false })?.isDirectory()
    ? readdirSync(ignitionDir)
        .filter((f) => f.endsWith('.pointer.ign'))
        .map((f) => f.slice(0, -'.pointer.ign'.length))
        .sort()
    : [];
  if (names.length === 0) findings.push({ file: rel(ignitionDir), message: 'no <node>.pointer.ign found: nothing shows what the nodes boot; run keelson synth' });
  for (const name of names) {
    const problems: string[] = [];
    const pointerFile = join(ignitionDir, `${name}.pointer.ign`);
    const secretFile = join(ignitionDir, `${name}.secret.ign`);
    const fullFile = join(ignitionDir, `${name}.ign`);
    const pointerText = readFileSync(pointerFile, 'utf8');
    // 1. What the cloud hands the node.
    const server = servers.get(name);
    if (!server) problems.push(`no server named ${name} in ${basename(terraformFile)}: nothing boots this config`);
    else if (String(server.attributes.user_data ?? '') !== pointerText) problems.push(`the user_data of ${server.address} is not ${basename(pointerFile)}: the node boots something the other checks did not read; run keelson synth`);
    // The cloud refuses a server whose user-data is larger than its limit; big content (the Argo CD install) belongs in the secret part.
    const limit = server ? USER_DATA_LIMIT_BYTES[server.address.split('.')[0]] : undefined;
    const pointerBytes = Buffer.byteLength(pointerText);
    if (limit !== undefined && pointerBytes > limit) {
      problems.push(`${basename(pointerFile)} is ${pointerBytes} bytes; ${server?.address.split('.')[0]} accepts at most ${limit} bytes of user-data, so the cloud would refuse the server: move content into the secret part, which has no such limit`);
    }
    let pointer: Loose;
    try {
      pointer = JSON.parse(pointerText);
    } catch (e) {
      problems.push(`${basename(pointerFile)} is not JSON: ${(e as Error).message}`);
    }
    // 2. The secret part it fetches, pinned.
    const secretStat = statSync(secretFile, { throwIfNoEntry: false });
    const secretText = secretStat ? readFileSync(secretFile, 'utf8') : undefined;
    const refs = [...asArray<Loose>(pointer?.ignition?.config?.merge), ...(pointer?.ignition?.config?.replace ? [pointer.ignition.config.replace] : [])];
    if (secretText === undefined) problems.push(`${basename(secretFile)} is missing: the pointer fetches a secret part nothing uploads`);
    else if (refs.length !== 1) problems.push(`the pointer merges ${refs.length} configs, expected exactly its secret part`);
    else {
      const ref = refs[0];
      const source = String(ref?.source ?? '');
      const want = `sha512-${createHash('sha512').update(secretText).digest('hex')}`;
      if (!source.startsWith('https://')) problems.push(`the pointer fetches its secret part from ${source.split('?')[0]}, not over HTTPS`);
      if (ref?.verification?.hash !== want) problems.push(`the pointer pins its secret part to ${String(ref?.verification?.hash ?? 'no hash').slice(0, 20)}…, but ${basename(secretFile)} hashes to ${want.slice(0, 20)}…: Ignition would refuse to boot; run keelson synth`);
    }
    // 3. Nothing secret in the user-data.
    for (const { where, text } of texts(pointer)) {
      for (const s of scanForSecrets(text, `${rel(pointerFile)} ${where}`)) problems.push(`${s.rule} in the user-data (${where}): ${s.excerpt}; user-data is readable from the node's metadata service and the cloud's API: move it into the secret part`);
      if (CREDENTIAL_URL.test(text)) problems.push(`a URL with a user name and password in the user-data (${where}): remove the credential from the config value it comes from`);
    }
    if (CREDENTIAL_URL.test(pointerText.replace(/"source":"https:\/\/[^"]*"/, ''))) problems.push('a URL with a user name and password in the user-data: remove the credential from the config value it comes from');
    // 4. What every other check reads is what the node gets.
    const fullStat = statSync(fullFile, { throwIfNoEntry: false });
    if (!fullStat) problems.push(`${basename(fullFile)} is missing: run keelson synth`);
    else if (secretText !== undefined && pointer) {
      let secret: Loose;
      let full: Loose;
      try {
        secret = JSON.parse(secretText);
        full = JSON.parse(readFileSync(fullFile, 'utf8'));
      } catch (e) {
        problems.push(`cannot read ${basename(secretFile)} or ${basename(fullFile)}: ${(e as Error).message}`);
      }
      if (isRecord(secret) && isRecord(full)) {
        // Ignition's merge: the child (secret part) wins per path and per unit.
        const merged = new Map([...entries(pointer), ...entries(secret)]);
        const whole = entries(full);
        const differ = [...new Set([...merged.keys(), ...whole.keys()])].filter((k) => merged.get(k) !== whole.get(k)).sort();
        if (differ.length > 0) problems.push(`pointer and secret part together differ from ${basename(fullFile)}, which the other checks read, at ${differ.slice(0, 4).join(', ')}${differ.length > 4 ? ` (+${differ.length - 4})` : ''}: run keelson synth`);
      }
    }
    // 5. Owner-only files.
    for (const [file, st] of [
      [secretFile, secretStat],
      [fullFile, fullStat],
    ] as const) {
      if (st && (st.mode & 0o077) !== 0) problems.push(`${basename(file)} has mode ${(st.mode & 0o777).toString(8)}: it holds keys; chmod 600 it (synth writes it so)`);
    }
    for (const message of problems) findings.push({ file: rel(pointerFile), message: `${name}: ${message}` });
    rows.push({ name, ok: problems.length === 0, detail: problems.length === 0 ? 'user-data is the pointer, within the cloud\'s limit; secret part pinned by sha512 over HTTPS; no secret in the user-data; pointer + secret part = the config verified' : problems[0], file: rel(pointerFile) });
  }
  return check('boot-files', `${names.length} nodes: the user-data, the secret part and its hash, against the config every other check reads`, findings, [], rows);
}
