import { scanForSecrets } from './secrets';
import type { SecretFinding } from './secrets';

// Fake credentials are assembled at run time so that this file itself never holds a
// secret-shaped literal (secret scanners and push protection would rightly stop it).
const pemHeader = (type: string): string => ['-----BEGIN', `${type}PRIVATE KEY-----`].join(' ');
const fake = {
  digitalOcean: (prefix: string) => `${prefix}_v1_${'0a1b2c3d'.repeat(8)}`,
  awsKeyId: ['AKIA', 'IOSFODNN7EXAMPLE'].join(''),
  github: ['ghp', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'].join('_'),
  githubPat: ['github', 'pat', '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123'].join('_'),
  slack: ['xoxb', '123456789012', '1234567890123', 'AbCdEfGhIjKlMnOpQrStUvWx'].join('-'),
  jwt: ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiJrZWVsc29uIn0', 'c2lnbmF0dXJlLW5vdC1yZWFs'].join('.'),
  bootstrap: ['07401b', 'f395accd246ae52d'].join('.'),
};

function rules(findings: readonly SecretFinding[]): string[] {
  return findings.map((f) => f.rule);
}

describe('scanForSecrets: private keys', () => {
  it.each(['', 'RSA ', 'EC ', 'OPENSSH ', 'ENCRYPTED ', 'DSA '])('flags a PEM %sprivate key on the line of its header', (type) => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keys\ndata:\n  key.pem: |\n    ${pemHeader(type)}\n    MIIEowIBAAKCAQEA\n`;
    expect(scanForSecrets(text, 'charts-out/keys.yaml')).toEqual([
      { file: 'charts-out/keys.yaml', line: 7, rule: 'private-key', excerpt: pemHeader(type) },
    ]);
  });

  it('flags a base64-encoded private key, as in a kubeconfig client-key-data', () => {
    const encoded = Buffer.from(`${pemHeader('RSA ')}\nMIIEowIBAAKCAQEA\n`).toString('base64');
    const findings = scanForSecrets(`users:\n- name: admin\n  user:\n    client-key-data: ${encoded}\n`, 'kubeconfig');
    expect(findings).toEqual([{ file: 'kubeconfig', line: 4, rule: 'private-key', excerpt: 'client-key-data: LS0t***' }]);
  });

  it('masks key material that follows a PEM header on the same line', () => {
    const [finding] = scanForSecrets(`{"key": "${pemHeader('')}\\nMIIEowIBAAKCAQEAsecretbytes"}`, 'x.json');
    expect(finding.rule).toBe('private-key');
    expect(finding.excerpt).not.toContain('MIIE');
  });

  it('does not flag certificates and public keys', () => {
    const text = ['-----BEGIN CERTIFICATE-----', 'MIIB', '-----END CERTIFICATE-----', '-----BEGIN PUBLIC KEY-----', 'MIIB', '-----END PUBLIC KEY-----'].join('\n');
    expect(scanForSecrets(text, 'ca.yaml')).toEqual([]);
  });
});

describe('scanForSecrets: Secret objects', () => {
  it('flags a Secret carrying data, listing its keys but not its values', () => {
    const text = ['---', 'apiVersion: v1', 'kind: Secret', 'metadata:', '  name: db', 'type: Opaque', 'data:', '  password: aHVudGVyMg==', '  username: YWRtaW4='].join('\n');
    expect(scanForSecrets(text, 'db.yaml')).toEqual([
      { file: 'db.yaml', line: 7, rule: 'kubernetes-secret', excerpt: expect.stringMatching(/^Secret "db" carries data \(keys: password, username\)/) },
    ]);
  });

  it('flags a Secret carrying stringData, also in JSON and inside a List', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'api' }, stringData: { token: 'abc' } }] };
    const findings = scanForSecrets(JSON.stringify(list, null, 2), 'list.json');
    expect(rules(findings)).toEqual(['kubernetes-secret']);
    expect(findings[0].excerpt).toMatch(/^Secret "api" carries stringData \(keys: token\)/);
  });

  it('does not flag a Secret without data, or a SealedSecret', () => {
    const text = [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  name: sa-token',
      '  annotations:',
      '    kubernetes.io/service-account.name: builder',
      'type: kubernetes.io/service-account-token',
      '---',
      'apiVersion: bitnami.com/v1alpha1',
      'kind: SealedSecret',
      'metadata:',
      '  name: db',
      'spec:',
      '  encryptedData:',
      '    password: AgBy3i4OJSWK+PiTySYZZA==',
    ].join('\n');
    expect(scanForSecrets(text, 'ok.yaml')).toEqual([]);
  });
});

describe('scanForSecrets: token shapes', () => {
  it.each([
    ['digitalocean-token', fake.digitalOcean('dop')],
    ['digitalocean-token', fake.digitalOcean('doo')],
    ['digitalocean-token', fake.digitalOcean('dor')],
    ['aws-access-key-id', fake.awsKeyId],
    ['github-token', fake.github],
    ['github-token', fake.githubPat],
    ['slack-token', fake.slack],
    ['jwt', fake.jwt],
    ['kubeadm-bootstrap-token', fake.bootstrap],
  ])('flags a %s and masks it in the excerpt', (rule, token) => {
    const findings = scanForSecrets(`# rendered\nargs: ["--credential", "${token}"]\n`, 'deploy.yaml');
    expect(findings).toEqual([{ file: 'deploy.yaml', line: 2, rule, excerpt: expect.stringContaining('***') }]);
    expect(findings[0].excerpt).not.toContain(token);
  });

  it('does not flag host names, digests or words shaped like a bootstrap token', () => {
    const text = [
      'host: abc123.0123456789abcdef.example.com',
      'image: ghcr.io/keelson/app@sha256:0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d',
      'path: status.observedgenerations',
      'note: dop_v1_tooshort',
    ].join('\n');
    expect(scanForSecrets(text, 'ok.yaml')).toEqual([]);
  });

  it('masks every secret on a line, also those it does not report separately', () => {
    const findings = scanForSecrets(`{"token": "${fake.jwt}", "password": "hunter2"}`, 'x.json');
    expect(findings).toEqual([{ file: 'x.json', line: 1, rule: 'jwt', excerpt: '{"token": "eyJh***", "password": "***"}' }]);
  });

  it('reports one finding for a token under a credential key', () => {
    expect(rules(scanForSecrets(`token: ${fake.digitalOcean('dop')}\n`, 'x.yaml'))).toEqual(['digitalocean-token']);
  });
});

describe('scanForSecrets: credential-named keys', () => {
  it.each([
    ['password: hunter2', 'password: ***'],
    ['  adminPassword: "correct horse battery staple"', 'adminPassword: "corr***"'],
    ['apiKey: 0123456789abcdef0123', 'apiKey: 0123***'],
    ['privateKey: s3cr3t', 'privateKey: ***'],
    ['clientSecret: Zx9kL2pQ', 'clientSecret: ***'],
    ['secret: "Zx9!kL2#pQ"', 'secret: "***"'],
    ['db.password: 12345', 'db.password: ***'],
    ['DB_PASSWORD=hunter2', 'DB_PASSWORD=***'],
    ['aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCY', 'aws_secret_access_key = wJal***'],
    ['  "token": "abc123",', '"token": "***",'],
    ['args: ["--db-password=hunter2", "--token-file=/run/token"]', 'args: ["--db-password=***", "--token-file=/run/token"]'],
  ])('flags %j', (line, excerpt) => {
    expect(scanForSecrets(`${line}\n`, 'values.yaml')).toEqual([{ file: 'values.yaml', line: 1, rule: 'credential-value', excerpt }]);
  });

  it('flags a literal value in a block scalar under a credential key', () => {
    expect(rules(scanForSecrets('config:\n  password: |\n    hunter2\n', 'x.yaml'))).toEqual(['credential-value']);
  });

  it('flags an env var with a credential name and a literal value, but not one read from a Secret', () => {
    const text = [
      'env:',
      '- name: DB_PASSWORD',
      '  value: hunter2',
      '- name: API_TOKEN',
      '  valueFrom:',
      '    secretKeyRef: {name: api, key: token}',
      '- name: LOG_LEVEL',
      '  value: debug',
    ].join('\n');
    expect(scanForSecrets(text, 'deploy.yaml')).toEqual([{ file: 'deploy.yaml', line: 3, rule: 'credential-value', excerpt: 'value: ***' }]);
  });

  it('flags credential keys in one-line JSON', () => {
    expect(scanForSecrets('{"auths":{"registry":{"password":"hunter2"}}}', 'x.json')).toEqual([
      { file: 'x.json', line: 1, rule: 'credential-value', excerpt: '{"auths":{"registry":{"password":"***"}}}' },
    ]);
  });

  it('does not flag references to secrets, file paths or placeholders', () => {
    const text = [
      'passwordSecretRef:',
      '  name: x',
      'secretName: tls-foo',
      'existingSecret: grafana-admin',
      'passwordSecret: {name: app-user}',
      'tokenSecretRef: {name: vault-token, key: token}',
      'privateKeySecretRef:',
      '  name: letsencrypt-account',
      'privateKey: {algorithm: ECDSA, size: 256}',
      'valueFrom: {secretKeyRef: {name: db, key: password}}',
      'passwordKey: password',
      'tokenFile: /var/run/secrets/tokens/vault',
      'caSecret: ca-bundle',
      'password: ${DB_PASSWORD}',
      'password: $(DB_PASSWORD)',
      'password: ""',
      'clientSecret: $dex.github.clientSecret',
      'automountServiceAccountToken: false',
      'basicAuth:',
      '  secret: dashboard-users',
      '# password: see the vault',
    ].join('\n');
    expect(scanForSecrets(text, 'refs.yaml')).toEqual([]);
  });
});

describe('secrets embedded in strings', () => {
  const fake = ['s3cr3t', 'value'].join('-');

  it('flags a password inside an embedded JSON config file', () => {
    const text = `kind: ConfigMap\ndata:\n  config.json: |\n    {"db": {"password": "${fake}"}}\n`;
    const findings = scanForSecrets(text, 'cm.yaml');
    expect(findings.map((f) => [f.line, f.rule])).toEqual([[4, 'credential-value']]);
    expect(findings[0].excerpt).not.toContain(fake);
  });

  it('flags an API key inside a one-line JSON string', () => {
    const findings = scanForSecrets(`conf: '{"apiKey":"${fake}"}'\n`, 'cm.yaml');
    expect(findings.map((f) => f.rule)).toEqual(['credential-value']);
    expect(findings[0].excerpt).not.toContain(fake);
  });

  it('flags a password in a URL', () => {
    const findings = scanForSecrets(`url: postgres://nc:${fake}@db:5432/nextcloud\n`, 'cm.yaml');
    expect(findings.map((f) => f.rule)).toEqual(['credential-value']);
    expect(findings[0].excerpt).toBe('url: postgres://nc:***@db:5432/nextcloud');
  });

  it('does not flag references in JSON or URLs', () => {
    const text = [
      `a: '{"passwordSecretRef": "db-credentials", "secretName": "tls"}'`,
      'b: postgres://nc:$(DB_PASSWORD)@db:5432/nextcloud',
      'c: https://github.com/keelson-dev/keelson.git',
      'd: "{\\"password\\": \\"${DB_PASSWORD}\\"}"',
    ].join('\n');
    expect(scanForSecrets(text, 'cm.yaml')).toEqual([]);
  });
});

describe('scanForSecrets: the same file scanned again', () => {
  const line = ['DB_PASSWORD:', ['hunter2', 'but', 'longer'].join('-')].join(' ');
  const leaky = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  ${line}\n`;
  const clean = leaky.replace(line, 'DB_HOST: db.internal');

  it('finds the same secrets when the text is unchanged, and each call gets its own array', () => {
    const first = scanForSecrets(leaky, 'again/app.yaml');
    const second = scanForSecrets(leaky, 'again/app.yaml');
    expect(first.map((f) => f.rule)).toEqual(['credential-value']);
    expect(second).toEqual(first);
    second.pop();
    expect(scanForSecrets(leaky, 'again/app.yaml')).toEqual(first);
  });

  it('scans a changed text again, and the same text under another file name reports that name', () => {
    expect(scanForSecrets(leaky, 'changed/app.yaml')).toHaveLength(1);
    expect(scanForSecrets(clean, 'changed/app.yaml')).toEqual([]);
    expect(scanForSecrets(leaky, 'changed/app.yaml')).toHaveLength(1);
    expect(scanForSecrets(leaky, 'other/app.yaml').map((f) => f.file)).toEqual(['other/app.yaml']);
  });
});
