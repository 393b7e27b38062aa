// verify's boot-files check on a real synth output, and each way a node's
// boot files can go wrong refused by name (issue 22: verify reads what a node
// actually boots, not only <node>.ign).
import { chmodSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkBootFiles, readInfraOut } from '@keelson/verify';
import { runCli } from './test-cli';
import { tempDir } from './test-helpers';

let pristine: string;
beforeAll(async () => {
  const out = tempDir();
  const r = await runCli(['synth', '--out', out]);
  if (r.status !== 0) throw new Error(r.stderr);
  pristine = out;
});

/** A copy of the synth output's infra-out after `change`, and what the check says of it. */
function checked(change: (infra: string) => void = () => undefined) {
  const out = tempDir();
  cpSync(join(pristine, 'infra-out'), join(out, 'infra-out'), { recursive: true });
  const infra = join(out, 'infra-out');
  change(infra);
  const { terraform, terraformFile } = readInfraOut(infra);
  const result = checkBootFiles(infra, terraform, terraformFile);
  return { result, messages: result.findings.map((f) => f.message) };
}

const NODE = 'keelson-controller-1';
const ign = (infra: string, suffix: string) => join(infra, 'ignition', `${NODE}${suffix}`);
const editJson = (file: string, change: (o: any) => void) => {
  const o = JSON.parse(readFileSync(file, 'utf8'));
  change(o);
  writeFileSync(file, JSON.stringify(o));
};
/** Changes the pointer and the Terraform user_data together, as a synth that rendered it would. */
const editPointer = (infra: string, change: (o: any) => void) => {
  editJson(ign(infra, '.pointer.ign'), change);
  const pointer = readFileSync(ign(infra, '.pointer.ign'), 'utf8');
  editJson(join(infra, 'main.tf.json'), (tf) => {
    for (const d of Object.values<any>(tf.resource.digitalocean_droplet)) if (d.name === NODE) d.user_data = pointer;
  });
};

it('passes what synth renders: every node boots its pointer, which pins its secret part, and both make up the config verified', () => {
  const { result } = checked();
  expect(result.findings).toEqual([]);
  expect(result.rows).toHaveLength(6);
  expect(result.rows?.every((r) => r.ok)).toBe(true);
});

it('keeps every pointer within the user-data limit with Argo CD\'s install in keelson-controller-1\'s secret part', () => {
  const { result } = checked();
  const infra = join(pristine, 'infra-out');
  const secret = readFileSync(ign(infra, '.secret.ign'), 'utf8');
  expect(Buffer.byteLength(secret)).toBeGreaterThan(64 * 1024);
  // The pointer's unit names the file; the file itself is only in the secret part.
  const paths = (suffix: string) => (JSON.parse(readFileSync(ign(infra, suffix), 'utf8')).storage.files as Array<{ path: string }>).map((f) => f.path);
  expect(paths('.secret.ign')).toContain('/etc/keelson/bootstrap/03-argocd-install.yaml');
  expect(paths('.pointer.ign')).not.toContain('/etc/keelson/bootstrap/03-argocd-install.yaml');
  expect(result.rows?.find((r) => r.name === NODE)?.detail).toMatch(/^user-data is the pointer, within the cloud's limit;/);
});

it('refuses a pointer larger than the cloud accepts as user-data', () => {
  const { messages } = checked((infra) =>
    editPointer(infra, (p) => p.storage.files.push({ path: '/etc/keelson/bootstrap/02-argocd-install.yaml', contents: { source: `data:;base64,${Buffer.alloc(70 * 1024, 'a').toString('base64')}` } })),
  );
  expect(messages).toContainEqual(expect.stringMatching(new RegExp(`^${NODE}: ${NODE}\\.pointer\\.ign is \\d+ bytes; digitalocean_droplet accepts at most 65536 bytes of user-data, so the cloud would refuse the server: move content into the secret part`)));
});

it('refuses Terraform user_data that is not the pointer', () => {
  const { messages } = checked((infra) =>
    editJson(join(infra, 'main.tf.json'), (tf) => {
      for (const d of Object.values<any>(tf.resource.digitalocean_droplet)) if (d.name === NODE) d.user_data = d.user_data.replace('"files":[', '"files":[{"path":"/etc/extra","contents":{"source":"data:,x"}},');
    }),
  );
  expect(messages).toContainEqual(expect.stringMatching(new RegExp(`^${NODE}: the user_data of digitalocean_droplet\\.\\S+ is not ${NODE}\\.pointer\\.ign`)));
});

it('refuses a secret part that does not match the hash the pointer pins (one byte changed)', () => {
  const { messages } = checked((infra) => {
    const file = ign(infra, '.secret.ign');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"version":"3.3.0"', '"version":"3.3.0" '));
  });
  expect(messages).toContainEqual(expect.stringMatching(/the pointer pins its secret part to sha512-.*Ignition would refuse to boot/));
});

it('refuses a private key inlined into the user-data', () => {
  const key = `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(64)}\n-----END PRIVATE KEY-----\n`;
  const { messages } = checked((infra) => editPointer(infra, (p) => p.storage.files.push({ path: '/etc/kubernetes/pki/ca.key', contents: { source: `data:;base64,${Buffer.from(key).toString('base64')}` } })));
  expect(messages).toContainEqual(expect.stringMatching(/private-key in the user-data \(\/etc\/kubernetes\/pki\/ca\.key\)/));
});

it('refuses a credential in a URL of the user-data', () => {
  const { messages } = checked((infra) => editPointer(infra, (p) => p.storage.files.push({ path: '/etc/keelson/repo', contents: { source: `data:,${encodeURIComponent('https://deploy:s3cr3t@git.example.com/keelson.git')}` } })));
  expect(messages).toContainEqual(expect.stringMatching(/a URL with a user name and password in the user-data \(\/etc\/keelson\/repo\)/));
});

it('refuses a secret part fetched over plain HTTP', () => {
  const { messages } = checked((infra) =>
    editPointer(infra, (p) => {
      p.ignition.config.merge[0].source = p.ignition.config.merge[0].source.replace('https://', 'http://');
    }),
  );
  expect(messages).toContainEqual(expect.stringMatching(/fetches its secret part from http:\/\/.*not over HTTPS/));
});

it('refuses a full config that is not pointer and secret part merged (what the other checks read is not what boots)', () => {
  const { messages } = checked((infra) => editJson(ign(infra, '.ign'), (o) => (o.systemd.units = o.systemd.units.slice(1))));
  expect(messages).toContainEqual(expect.stringMatching(/pointer and secret part together differ from keelson-controller-1\.ign, which the other checks read, at unit /));
});

it('refuses a secret part readable by others', () => {
  const { messages } = checked((infra) => chmodSync(ign(infra, '.secret.ign'), 0o644));
  expect(messages).toContainEqual(expect.stringMatching(/keelson-controller-1\.secret\.ign has mode 644: it holds keys; chmod 600 it/));
});
