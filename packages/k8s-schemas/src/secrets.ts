import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit } from 'yaml';
import type { Node, YAMLMap } from 'yaml';

/** A secret found in rendered output; the excerpt never contains the secret itself. */
export interface SecretFinding {
  /** The `file` argument given to {@link scanForSecrets}. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** Which rule matched. */
  readonly rule:
    | 'private-key'
    | 'kubernetes-secret'
    | 'digitalocean-token'
    | 'aws-access-key-id'
    | 'github-token'
    | 'slack-token'
    | 'jwt'
    | 'kubeadm-bootstrap-token'
    | 'credential-value';
  /** The line (or a summary of the object) with every secret-looking value masked. */
  readonly excerpt: string;
}

type Rule = SecretFinding['rule'];

interface TokenRule {
  readonly rule: Rule;
  readonly pattern: RegExp;
  /** Extra check on the match, to keep the pattern itself simple. */
  readonly accept?: (match: string) => boolean;
  /** Mask from the match to the end of the line (a PEM header may be followed by key material). */
  readonly maskRest?: boolean;
}

const TOKEN_RULES: readonly TokenRule[] = [
  // RSA, EC, DSA, OPENSSH, ENCRYPTED, plain PKCS#8 and PGP private keys.
  { rule: 'private-key', pattern: /-----BEGIN(?: [A-Z0-9]+)* PRIVATE KEY(?: BLOCK)?-----/g, maskRest: true },
  // The same header base64-encoded, as in a kubeconfig's client-key-data or a Secret's data.
  { rule: 'private-key', pattern: /LS0tLS1CRUdJTi[A-Za-z0-9+/]{30,}={0,2}/g, accept: isBase64PrivateKeyHeader },
  { rule: 'digitalocean-token', pattern: /\bdo[opr]_v1_[a-f0-9]{64}\b/g },
  { rule: 'aws-access-key-id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { rule: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { rule: 'slack-token', pattern: /\bxox[baprs]-[A-Za-z0-9-]{10,}/g },
  { rule: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g },
  // abcdef.0123456789abcdef, but not inside a host name or a longer word; real tokens are random
  // and nearly always contain a digit, which English words like "status.conditionsmessage" lack.
  {
    rule: 'kubeadm-bootstrap-token',
    pattern: /(?<![A-Za-z0-9._-])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9_-]|\.[A-Za-z0-9])/g,
    accept: (m) => /[0-9]/.test(m),
  },
];

/**
 * Key names whose value is a credential, compared on the key's last words (camelCase, snake_case
 * and kebab-case split into lower-case words, then joined). `adminPassword` and `DB_PASSWORD` end in
 * "password"; `passwordSecretRef`, `secretName`, `existingSecret`, `passwordKey`, `tokenFile` and
 * `caSecret` end in something else and are references, not values.
 */
const CREDENTIAL_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'token',
  'apikey',
  'privatekey',
  'secretkey',
  'secretaccesskey',
  'clientsecret',
  'sharedsecret',
  'webhooksecret',
  'signingsecret',
  'hmacsecret',
];

/** `"key": "value"` inside any line, for JSON embedded in YAML. */
const JSON_MEMBER = /"([A-Za-z0-9_.-]+)"\s*:\s*"((?:[^"\\]|\\.)+)"/g;
/** `scheme://user:password@host`; the password is group 1. */
const URL_CREDENTIALS = /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]+:([^\s@/'"]+)@/g;

/** Values that point at a secret instead of holding one. */
const REFERENCE_VALUES = [
  /^\$\{[^}]*\}$/, // ${ENV}
  /^\$\([^)]*\)$/, // $(ENV), Kubernetes env expansion
  /^\{\{.*\}\}$/, // templates
  /^\$[A-Za-z_][\w.:-]*$/, // Argo CD's $secret-key, $dex.github.clientSecret
  /^<[^>]*>$/, // <placeholder>, <path:vault#key> (argocd-vault-plugin)
  /^ENC\[.*\]$/, // SOPS
  /^ref\+/, // vals
  /^\*+$/, // already masked
];

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const YAML_KEY_VALUE = /^\s*(?:-\s+)?(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_./-]+))\s*:(?:\s+(.*))?$/;
/** `--db-password=hunter2` in a container's args or command. */
const CLI_FLAG = /(?<![A-Za-z0-9_-])--([A-Za-z0-9][A-Za-z0-9-]*)=([^\s"',\]]+)/g;
const ENV_KEY_VALUE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/;

interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * Scans rendered text (YAML, JSON or embedded config files) for secrets that must not be committed.
 *
 * Flags private keys (PEM, or base64-encoded PEM), `kind: Secret` objects carrying `data` or
 * `stringData`, well-known token shapes (DigitalOcean, AWS access key ids, GitHub, Slack, JWTs,
 * kubeadm bootstrap tokens), and literal values under credential-named keys (`password:`,
 * `apiKey:`, `DB_PASSWORD=`, `--db-password=`, or an env var `{name: DB_PASSWORD, value: ...}`). References such as
 * `passwordSecretRef`, `secretName`, `existingSecret`, `tokenFile`, `$(ENV)` or `${ENV}` are not
 * flagged; neither is a bare `secret:` whose value is an object name (Traefik's
 * `basicAuth.secret`).
 *
 * @param text the file content
 * @param file reported back in each finding
 */
export function scanForSecrets(text: string, file: string): SecretFinding[] {
  const last = lastScans.get(file);
  if (last?.text === text) return [...last.findings];
  const findings = scan(text, file);
  if (lastScans.size >= 4096) lastScans.clear();
  lastScans.set(file, { text, findings: findings.map((f) => Object.freeze({ ...f })) });
  return findings;
}

/**
 * Each file's last text and its findings: verify scans the same render's
 * files again when it runs again in one process (`keelson rehearse`, the
 * mutation suite), and the YAML parse is most of a scan's time.
 */
const lastScans = new Map<string, { readonly text: string; readonly findings: readonly SecretFinding[] }>();

function scan(text: string, file: string): SecretFinding[] {
  const lines = text.split(/\r?\n/);
  const hits: { line: number; rule: Rule; span?: Span; excerpt?: string }[] = [];

  lines.forEach((line, i) => {
    for (const { rule, pattern, accept, maskRest } of TOKEN_RULES) {
      for (const m of line.matchAll(pattern)) {
        if (accept !== undefined && !accept(m[0])) continue;
        const start = m.index ?? 0;
        hits.push({ line: i + 1, rule, span: maskRest ? { start: start + m[0].length, end: line.length } : { start, end: start + m[0].length } });
      }
    }
    const value = credentialValueSpan(line, lines[i + 1]);
    if (value !== undefined) hits.push({ line: i + 1, rule: 'credential-value', span: value });
    if (!/^\s*#/.test(line)) {
      // JSON members anywhere on the line: embedded config files and one-line JSON strings.
      for (const m of line.matchAll(JSON_MEMBER)) {
        if (!isCredentialKey(m[1]) || !isLiteralCredential(m[1], m[2], true)) continue;
        const start = (m.index ?? 0) + m[0].length - m[2].length - 1;
        hits.push({ line: i + 1, rule: 'credential-value', span: { start, end: start + m[2].length } });
      }
      // user:password@ in a URL (database DSNs, Git remotes).
      for (const m of line.matchAll(URL_CREDENTIALS)) {
        if (REFERENCE_VALUES.some((re) => re.test(m[1]))) continue;
        const start = (m.index ?? 0) + m[0].length - m[1].length - 1;
        hits.push({ line: i + 1, rule: 'credential-value', span: { start, end: start + m[1].length } });
      }
      for (const m of line.matchAll(CLI_FLAG)) {
        if (!isCredentialKey(m[1]) || !isLiteralCredential(m[1], m[2], true)) continue;
        const start = (m.index ?? 0) + m[0].length - m[2].length;
        hits.push({ line: i + 1, rule: 'credential-value', span: { start, end: start + m[2].length } });
      }
    }
  });

  const { secrets, coveredLines, literals } = scanStructure(text);
  hits.push(...secrets);
  for (const lit of literals) hits.push({ line: lit.line, rule: 'credential-value', span: spanOfValue(lines[lit.line - 1] ?? '', lit.value) });

  // The generic key rule adds nothing on a line a specific rule already explains, inside a
  // Secret's data (the Secret itself is the finding) or inside a SealedSecret's ciphertext.
  const specific = new Set(hits.filter((h) => h.rule !== 'credential-value').map((h) => h.line));
  const kept = hits.filter((h) => h.rule !== 'credential-value' || (!specific.has(h.line) && !coveredLines.has(h.line)));

  // Mask every span found, also those of dropped hits, so no excerpt shows a secret.
  const spansByLine = new Map<number, Span[]>();
  for (const h of hits) {
    if (h.span !== undefined) spansByLine.set(h.line, [...(spansByLine.get(h.line) ?? []), h.span]);
  }
  const seen = new Set<string>();
  const findings: SecretFinding[] = [];
  for (const h of kept.sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule))) {
    const key = `${h.line}:${h.rule}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const excerpt = h.excerpt ?? mask(lines[h.line - 1] ?? '', spansByLine.get(h.line) ?? []);
    findings.push({ file, line: h.line, rule: h.rule, excerpt });
  }
  return findings;
}

/** The span of a literal value under a credential-named key on this line, if any. */
function credentialValueSpan(line: string, nextLine: string | undefined): Span | undefined {
  if (/^\s*#/.test(line)) return undefined;
  let key: string;
  let raw: string;
  const yaml = YAML_KEY_VALUE.exec(line);
  const env = yaml ? null : ENV_KEY_VALUE.exec(line);
  if (yaml) {
    key = yaml[1] ?? yaml[2] ?? yaml[3];
    raw = yaml[4] ?? '';
  } else if (env) {
    key = env[1];
    raw = env[2];
  } else {
    return undefined;
  }
  if (!isCredentialKey(key)) return undefined;

  let value = raw.replace(/^[&!]\S*\s+/, '').replace(/,\s*$/, '').trim();
  if (/^[|>][-+0-9]*\s*(#.*)?$/.test(value)) {
    // Block scalar: the secret is on the following, more indented line(s).
    const indent = (s: string): number => s.length - s.trimStart().length;
    return nextLine !== undefined && nextLine.trim() !== '' && indent(nextLine) > indent(line) ? { start: line.length, end: line.length } : undefined;
  }
  const quoted = /^"((?:[^"\\]|\\.)*)"|^'((?:[^']|'')*)'/.exec(value);
  if (quoted) value = quoted[1] ?? quoted[2];
  else value = value.replace(/\s+#.*$/, '').trim();
  if (!isLiteralCredential(key, value, quoted !== null)) return undefined;
  return spanOfValue(line, value);
}

function isCredentialKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  const joined = words.join('');
  if (words.length === 1 && joined === 'secret') return true;
  return CREDENTIAL_SUFFIXES.some((suffix) => joined.endsWith(suffix) && endsOnWordBoundary(words, suffix));
}

/** `adminpassword` ends in "password" on a word boundary; `bypassword` would not. */
function endsOnWordBoundary(words: readonly string[], suffix: string): boolean {
  let tail = '';
  for (let i = words.length - 1; i >= 0; i--) {
    tail = words[i] + tail;
    if (tail === suffix) return true;
    if (tail.length >= suffix.length) return false;
  }
  return false;
}

function isLiteralCredential(key: string, value: string, quoted: boolean): boolean {
  if (value === '' || value.startsWith('{') || value.startsWith('[')) return false;
  if (!quoted && /^(true|false|null|~|yes|no|on|off)$/i.test(value)) return false;
  if (REFERENCE_VALUES.some((re) => re.test(value))) return false;
  // A bare "secret:" naming a Secret object (Traefik basicAuth/digestAuth) is a reference.
  if (key.toLowerCase() === 'secret' && value.length <= 253 && DNS1123_SUBDOMAIN.test(value)) return false;
  return true;
}

/**
 * Secrets found through the YAML (or JSON) structure: Secret objects with data, and literal values
 * under credential-named keys or in env vars, also where the line rules cannot see them (one-line JSON).
 */
function scanStructure(text: string): {
  secrets: { line: number; rule: Rule; excerpt: string }[];
  coveredLines: Set<number>;
  literals: { line: number; value: string }[];
} {
  const secrets: { line: number; rule: Rule; excerpt: string }[] = [];
  const coveredLines = new Set<number>();
  const literals: { line: number; value: string }[] = [];
  const counter = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter: counter, uniqueKeys: false });
  } catch {
    return { secrets, coveredLines, literals };
  }
  if (!Array.isArray(docs)) return { secrets, coveredLines, literals };
  const lineOf = (offset: number): number => counter.linePos(offset).line;
  const coverLines = (node: Node): void => {
    const range = node.range;
    if (range) for (let l = lineOf(range[0]); l <= lineOf(Math.max(range[0], range[2] - 1)); l++) coveredLines.add(l);
  };
  const literalAt = (node: unknown, key: string): void => {
    if (!isScalar(node) || !isCredentialKey(key)) return;
    const literal = typeof node.value === 'number' ? String(node.value) : node.value;
    if (typeof literal !== 'string' || !isLiteralCredential(key, literal, true)) return;
    literals.push({ line: lineOf(node.range?.[0] ?? 0), value: literal });
  };

  const checkObject = (node: unknown): void => {
    if (!isMap(node)) return;
    const kind = scalarValue(node, 'kind');
    const items = node.get('items', true);
    if (typeof kind === 'string' && kind.endsWith('List') && isSeq(items)) {
      items.items.forEach(checkObject);
      return;
    }
    if (kind === 'SealedSecret') {
      // Ciphertext, sealed for the cluster: safe in git by design.
      const spec = node.get('spec', true);
      const encrypted = isMap(spec) ? spec.get('encryptedData', true) : undefined;
      if (isMap(encrypted)) coverLines(encrypted);
      return;
    }
    if (kind !== 'Secret') return;
    const apiVersion = scalarValue(node, 'apiVersion');
    if (apiVersion !== undefined && apiVersion !== 'v1') return;
    for (const field of ['data', 'stringData']) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === field);
      if (!pair || !isMap(pair.value) || pair.value.items.length === 0) continue;
      const keyNode = pair.key as Node;
      const name = (node.get('metadata', true) as YAMLMap | undefined)?.get?.('name');
      const keys = pair.value.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '?'));
      secrets.push({
        line: lineOf(keyNode.range?.[0] ?? 0),
        rule: 'kubernetes-secret',
        excerpt: `Secret ${JSON.stringify(typeof name === 'string' ? name : '?')} carries ${field} (keys: ${keys.join(', ')}); render a reference (ExternalSecret, SealedSecret, secretKeyRef) instead`,
      });
      coverLines(pair.value);
    }
  };

  for (const doc of docs) {
    try {
      checkObject(doc.contents);
      visit(doc, {
        Pair(_, pair) {
          if (isScalar(pair.key) && typeof pair.key.value === 'string') literalAt(pair.value, pair.key.value);
        },
        Map(_, map) {
          // An env var or Helm parameter, {name, value[, valueFrom]}, named like a credential.
          const keys = map.items.map((p) => (isScalar(p.key) ? p.key.value : undefined));
          if (!keys.includes('name') || !keys.includes('value') || keys.some((k) => k !== 'name' && k !== 'value' && k !== 'valueFrom')) return;
          const name = scalarValue(map, 'name');
          const valuePair = map.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === 'value');
          if (typeof name === 'string' && valuePair !== undefined) literalAt(valuePair.value, name);
        },
      });
    } catch {
      // A document the parser could only partly read: the line rules still cover it.
    }
  }
  return { secrets, coveredLines, literals };
}

function scalarValue(map: YAMLMap, key: string): unknown {
  const node = map.get(key, true);
  return isScalar(node) ? node.value : undefined;
}

function spanOfValue(line: string, value: string): Span {
  const at = value === '' ? -1 : line.lastIndexOf(value);
  return at >= 0 ? { start: at, end: at + value.length } : { start: line.length, end: line.length };
}

/** The line, trimmed and shortened, with each span replaced by its first characters and `***`. */
function mask(line: string, spans: readonly Span[]): string {
  const merged: Span[] = [];
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last !== undefined && span.start <= last.end) merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, span.end) };
    else merged.push(span);
  }
  let out = line;
  for (const { start, end } of merged.reverse()) {
    const secret = out.slice(start, end);
    const keep = secret.length >= 16 ? 4 : 0;
    out = `${out.slice(0, start)}${secret.slice(0, keep)}${end > start || start < out.length ? '***' : ''}${out.slice(end)}`;
  }
  out = out.trim();
  return out.length > 160 ? `${out.slice(0, 157)}...` : out;
}

function isBase64PrivateKeyHeader(match: string): boolean {
  const head = match.slice(0, Math.floor(Math.min(match.length, 80) / 4) * 4);
  return /-----BEGIN(?: [A-Z0-9]+)* PRIVATE KEY/.test(Buffer.from(head, 'base64').toString('latin1'));
}
