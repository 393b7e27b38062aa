import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { clusterRecordPath, readClusterRecord } from './cluster-record';
import { join } from 'node:path';
import { deploy } from './deploy';
import { readState, STATE_FILE } from './state';
import { LifecycleError } from './steps';
import { FakeCluster, FakeTerraform, fakeOptions, renderInto, resetState, stepsWith, terraformFailure } from './test-fakes';
import type { Rendered } from './render';

let r: { rendered: Rendered; outDir: string };
beforeAll(async () => {
  r = await renderInto();
}, 60_000);
beforeEach(() => resetState(r));

const fakes = () => {
  const terraform = new FakeTerraform();
  const cluster = new FakeCluster(r.rendered.spec);
  return { terraform, cluster };
};

describe('keelson deploy', () => {
  it('runs init, plan, show, apply with the exact argv, then API, Secrets and Applications, in order', async () => {
    const { terraform, cluster } = fakes();
    cluster.apiAnswersAfter = 2;
    const o = fakeOptions(r, { terraform, cluster });
    const result = await deploy(o);

    expect(result.applied).toBe(true);
    expect(terraform.calls).toEqual([
      ['-chdir=infra-out', 'init', '-input=false', '-no-color'],
      ['-chdir=infra-out', 'plan', '-input=false', '-no-color', '-out=tfplan'],
      ['-chdir=infra-out', 'show', '-json', 'tfplan'],
      ['-chdir=infra-out', 'apply', '-input=false', '-no-color', 'tfplan'],
    ]);
    expect(stepsWith(o.events, 'done')).toEqual(['render', 'terraform-plan', 'terraform-apply', 'kubeconfig', 'api', 'nodes', 'secrets', 'applications']);
    // The API was polled until it answered, and nothing touched the cluster before.
    expect(cluster.calls.slice(0, 3)).toEqual(['apiReady', 'apiReady', 'apiReady']);
    expect(cluster.calls.filter((c) => c.startsWith('applySecret')).map((c) => c.replace(/bootstrap-token-[a-z0-9]{6}$/, 'bootstrap-token'))).toEqual([
      'applySecret kube-system/bootstrap-token',
      'applySecret velero/cloud-credentials',
      'applySecret velero/etcd-backup-client',
      'applySecret nextcloud/nextcloud-admin',
    ]);
    expect(o.printed[0]).toMatch(/^Terraform plan: 1 to add, 0 to change, 0 to destroy, 0 to replace$/);
  });

  it('creates the deploy-time Secrets from the environment and a password generated once', async () => {
    const { terraform, cluster } = fakes();
    await deploy(fakeOptions(r, { terraform, cluster }));
    const byName = Object.fromEntries(cluster.secrets.map((s) => [s.metadata.name, s]));
    const decode = (v: string) => Buffer.from(v, 'base64').toString();
    expect(decode(byName['cloud-credentials'].data.cloud)).toBe('[default]\naws_access_key_id=AKIATEST\naws_secret_access_key=spaces-secret-test\n');
    const password = decode(byName['nextcloud-admin'].data['password']);
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decode(byName['nextcloud-admin'].data['username'])).toBe('admin');
    // The etcd backup client comes from the secrets bundle, byte for byte.
    expect(decode(byName['etcd-backup-client'].data['tls.crt'])).toBe(readFileSync(join(r.rendered.secretsDir, 'etcd/clients/backup.crt'), 'utf8'));
    expect(decode(byName['etcd-backup-client'].data['ca.crt'])).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const passwordFile = join(r.rendered.secretsDir, 'apps/nextcloud-admin-password');
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);

    // A second deploy (config changed: state reset) sends the same password.
    resetState(r);
    const again = new FakeCluster(r.rendered.spec);
    await deploy(fakeOptions(r, { terraform: new FakeTerraform(), cluster: again }));
    expect(decode(again.secrets.find((s) => s.metadata.name === 'nextcloud-admin')!.data['password'])).toBe(password);
  });

  it('writes an admin kubeconfig with mode 0600 for api.<domain> in the kubeadm:cluster-admins group', async () => {
    const { terraform, cluster } = fakes();
    const result = await deploy(fakeOptions(r, { terraform, cluster }));
    expect(statSync(result.kubeconfig!).mode & 0o777).toBe(0o600);
    const kubeconfig = JSON.parse(readFileSync(result.kubeconfig!, 'utf8'));
    expect(kubeconfig.clusters[0].cluster.server).toBe('https://api.example.com:6443');
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate(Buffer.from(kubeconfig.users[0].user['client-certificate-data'], 'base64'));
    expect(cert.subject).toContain('O=kubeadm:cluster-admins');
    expect(new Date(cert.validTo).getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600_000 + 60_000);
  });

  it('stops before applying anything when an environment variable a Secret needs is missing', async () => {
    const { terraform, cluster } = fakes();
    const o = fakeOptions(r, { terraform, cluster }, { env: { DIGITALOCEAN_TOKEN: 't', SPACES_ACCESS_KEY_ID: 'a' } });
    await expect(deploy(o)).rejects.toThrow(/SPACES_SECRET_ACCESS_KEY \(velero\/cloud-credentials key cloud, for Velero[^]*next: export them and run "keelson deploy" again; nothing was applied/);
    expect(terraform.calls).toEqual([]);
  });

  it('never deploys a config that fails verify', async () => {
    const { terraform, cluster } = fakes();
    const o = fakeOptions(r, { terraform, cluster }, { render: async () => ({ ...r.rendered, verifyFailure: 'schema  FAIL  1 object' }) });
    await expect(deploy(o)).rejects.toThrow(/^verify: verify found problems; a config that fails verify is never deployed:\nschema {2}FAIL {2}1 object\n {2}next: fix the config/);
    expect(terraform.calls).toEqual([]);
    expect(cluster.calls).toEqual([]);
  });

  it('applies nothing when the user declines the plan', async () => {
    const { terraform, cluster } = fakes();
    const o = fakeOptions(r, { terraform, cluster }, { yes: false, ask: async () => 'n' });
    const result = await deploy(o);
    expect(result.applied).toBe(false);
    expect(terraform.of('apply')).toEqual([]);
    expect(o.printed).toContain('keelson deploy: nothing was applied');
  });

  it('resumes an interrupted apply: the second run plans and applies again, then continues', async () => {
    const { terraform, cluster } = fakes();
    terraform.failures.push(terraformFailure('apply', 'Error: context canceled'));
    const first = fakeOptions(r, { terraform, cluster });
    const error = await deploy(first).catch((e: unknown) => e as LifecycleError);
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as LifecycleError).step).toBe('terraform-apply');
    expect((error as LifecycleError).message).toMatch(/context canceled[^]*next: read infra-out\/keelson-terraform.log, fix the cause and run "keelson deploy" again/);
    expect(stepsWith(first.events, 'failed')).toEqual(['terraform-apply']);
    expect(cluster.calls).toEqual([]);
    expect(readState(join(r.rendered.infraDir, STATE_FILE))?.deploy ?? []).toEqual([]);

    const second = fakeOptions(r, { terraform, cluster });
    await deploy(second);
    expect(terraform.of('apply')).toHaveLength(2);
    expect(stepsWith(second.events, 'done')).toEqual(['render', 'terraform-plan', 'terraform-apply', 'kubeconfig', 'api', 'nodes', 'secrets', 'applications']);
  });

  it('skips the steps a stopped run finished, and records progress in a 0600 state file without secrets', async () => {
    const { terraform, cluster } = fakes();
    cluster.apps = [{ name: 'apps', sync: 'OutOfSync', health: 'Progressing' }];
    const first = fakeOptions(r, { terraform, cluster });
    await expect(deploy(first)).rejects.toThrow(/applications: not every Application is Synced and Healthy after 50 ms: apps OutOfSync\/Progressing/);
    const file = join(r.rendered.infraDir, STATE_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readState(file)?.deploy).toEqual(['terraform-apply', 'api', 'secrets']);
    const text = readFileSync(file, 'utf8');
    for (const secret of ['dop_v1_test', 'AKIATEST', 'spaces-secret-test']) expect(text).not.toContain(secret);

    // Fixed; the plan now has no changes, so apply is skipped too.
    cluster.apps = [{ name: 'apps', sync: 'Synced', health: 'Healthy' }];
    terraform.plan = JSON.stringify({ resource_changes: [{ address: 'digitalocean_vpc.network', type: 'digitalocean_vpc', change: { actions: ['no-op'] } }] });
    const second = fakeOptions(r, { terraform, cluster });
    cluster.calls.length = 0;
    await deploy(second);
    expect(second.events.filter((e) => e.status === 'skipped').map((e) => `${e.step}: ${e.detail}`)).toEqual([
      'terraform-apply: nothing to change',
      'api: done earlier',
      'secrets: done earlier',
    ]);
    expect(stepsWith(second.events, 'done')).toEqual(['render', 'terraform-plan', 'kubeconfig', 'nodes', 'applications']);
    expect(cluster.calls.some((c) => c.startsWith('applySecret') || c === 'apiReady')).toBe(false);
  });

  it('records that the cluster exists (infra-out/cluster-created.json, 0600, no secret) at its api step, once the API answered', async () => {
    const file = clusterRecordPath(r.rendered.infraDir);
    rmSync(file, { force: true });
    const silent = fakes();
    silent.cluster.apiAnswersAfter = 1_000_000;
    await expect(deploy(fakeOptions(r, silent))).rejects.toThrow(/api: the API did not answer/);
    // No answer, no record: the next synth still lets keelson-controller-1 create the cluster.
    expect(existsSync(file)).toBe(false);

    const { terraform, cluster } = fakes();
    const before = Date.now();
    await deploy(fakeOptions(r, { terraform, cluster }));
    const record = JSON.parse(readFileSync(file, 'utf8'));
    expect(record).toEqual({ version: 1, cluster: 'keelson', createdAt: expect.any(String), apiEndpoint: 'api.example.com:6443' });
    expect(Date.parse(record.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    for (const secret of ['dop_v1_test', 'AKIATEST', 'spaces-secret-test', 'BEGIN']) expect(readFileSync(file, 'utf8')).not.toContain(secret);

    // A later deploy keeps the first answer's time; one whose api step was done earlier writes a missing record.
    resetState(r);
    await deploy(fakeOptions(r, fakes()));
    expect(readClusterRecord(r.rendered.infraDir, 'keelson')?.createdAt).toBe(record.createdAt);
    rmSync(file);
    const skipped = fakeOptions(r, fakes());
    await deploy(skipped);
    expect(skipped.events.filter((e) => e.status === 'skipped').map((e) => e.step)).toContain('api');
    expect(readClusterRecord(r.rendered.infraDir, 'keelson')?.cluster).toBe('keelson');
  });

  it('stops with the next command when the API never answers', async () => {
    const { terraform, cluster } = fakes();
    cluster.apiAnswersAfter = 1_000_000;
    await expect(deploy(fakeOptions(r, { terraform, cluster }))).rejects.toThrow(
      /api: the API did not answer \/readyz through its load balancer within 200 ms; last: connection refused\n {2}next: check that api.example.com resolves/,
    );
  });

  describe('waiting for every node to join', () => {
    const status = (node: string, state: string, step: string, attempt: number, message: string) => ({ node, state, step, attempt, maxAttempts: 10, time: '2026-12-04T17:02:11Z', message });

    it('shows each node not yet joined with its first-boot step, attempt and last error, and at its bound lists every one still missing', async () => {
      const { terraform, cluster } = fakes();
      cluster.notJoined = new Set(['keelson-controller-3', 'keelson-worker-1']);
      cluster.boot = [status('keelson-controller-3', 'failed', 'wait-cluster-info', 2, 'kube-public/cluster-info carries no signature for bootstrap token abcdef')];
      const o = fakeOptions(r, { terraform, cluster });
      const error = await deploy(o).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LifecycleError);
      expect((error as LifecycleError).message).toBe(
        [
          'nodes: 2 of 6 nodes not Ready after 60 ms:',
          '    keelson-controller-3 not registered; boot failed at wait-cluster-info (attempt 2 of 10, 2026-12-04T17:02:11Z): kube-public/cluster-info carries no signature for bootstrap token abcdef',
          "    keelson-worker-1 not registered; no status published: the node has not reached the API — check the cloud console's serial log",
          `  next: each line says where that node's first boot stopped ("kubectl -n keelson-boot get leases -o yaml" shows the same, KUBECONFIG=${join(r.rendered.secretsDir, 'admin.kubeconfig')}); fix the cause and run "keelson deploy" again`,
        ].join('\n'),
      );
      // The boot RBAC first (for clusters made before the first boot applied it), then the nodes; nothing after.
      expect(cluster.calls.filter((c) => !c.startsWith('apiReady'))[0]).toBe('applyBootRbac');
      expect(stepsWith(o.events, 'done')).toEqual(['render', 'terraform-plan', 'terraform-apply', 'kubeconfig', 'api']);
      expect(cluster.calls.some((c) => c.startsWith('applySecret'))).toBe(false);
    });

    it('stops at once on a node that gave up, naming its step, its last error and how to replace it', async () => {
      const { terraform, cluster } = fakes();
      cluster.notJoined = new Set(['keelson-worker-1']);
      cluster.boot = [status('keelson-worker-1', 'gave-up', 'give-up', 11, 'kubeadm join failed: unable to fetch the kubeadm-config ConfigMap (gave up after 10 attempts; replace the node)')];
      const o = fakeOptions(r, { terraform, cluster }, { timeouts: { nodesMs: 600_000, pollMs: 2 } });
      await expect(deploy(o)).rejects.toThrow(
        new RegExp(
          '^nodes: keelson-worker-1 stopped trying at its first-boot step give-up \\(attempt 11 of 10\\); last error: kubeadm join failed: unable to fetch the kubeadm-config ConfigMap \\(gave up after 10 attempts; replace the node\\)\n' +
            ' {2}next: replace the node with a new machine that boots again: "terraform -chdir=infra-out apply -replace=digitalocean_droplet.keelson-worker-1" in .+, then remove its old status with "kubectl -n keelson-boot delete lease status-keelson-worker-1"',
        ),
      );
      // The first look decided it: no waiting out the 10-minute bound.
      expect(cluster.calls.filter((c) => c === 'nodeReady keelson-worker-1')).toHaveLength(1);
    });

    it('stops at once when the last attempt the node allows failed', async () => {
      const { terraform, cluster } = fakes();
      cluster.notJoined = new Set(['keelson-controller-2']);
      cluster.boot = [status('keelson-controller-2', 'failed', 'kubeadm-join', 10, 'kubeadm join did not finish within 1200 s')];
      await expect(deploy(fakeOptions(r, { terraform, cluster }, { timeouts: { nodesMs: 600_000, pollMs: 2 } }))).rejects.toThrow(/^nodes: keelson-controller-2 stopped trying at its first-boot step kubeadm-join \(attempt 10 of 10\); last error: kubeadm join did not finish within 1200 s\n/);
    });

    it('sends the operator to destroy and deploy again when the node that created the cluster could not give it its pod network', async () => {
      const { terraform, cluster } = fakes();
      cluster.notJoined = new Set(['keelson-controller-1', 'keelson-worker-1']);
      cluster.boot = [
        { ...status('keelson-controller-1', 'failed', 'manifests:wait-keelson-cni-install', 6, 'Job kube-system/keelson-cni-install failed: Error: INSTALLATION FAILED'), maxAttempts: 6 },
        status('keelson-worker-1', 'joined', 'finish', 1, 'kubeadm join done'),
      ];
      await expect(deploy(fakeOptions(r, { terraform, cluster }, { timeouts: { nodesMs: 600_000, pollMs: 2 } }))).rejects.toThrow(
        /^nodes: keelson-controller-1 stopped trying at its first-boot step manifests:wait-keelson-cni-install \(attempt 6 of 6\); last error: Job kube-system\/keelson-cni-install failed: Error: INSTALLATION FAILED\n {2}next: the cluster never got its pod network, CoreDNS or Argo CD; .*then run "keelson destroy" and "keelson deploy"$/,
      );
    });
  });

  it('stops when a Secret\'s namespace never appears', async () => {
    const { terraform, cluster } = fakes();
    cluster.namespaces.delete('velero');
    await expect(deploy(fakeOptions(r, { terraform, cluster }))).rejects.toThrow(/secrets: namespace velero does not exist yet after 50 ms \(Argo CD creates it/);
    expect(cluster.calls.filter((c) => c.startsWith('applySecret') && !c.includes('bootstrap-token'))).toEqual([]);
  });

  it("names the cloud's own variables when Terraform cannot plan, and applies nothing", async () => {
    const { cluster } = fakes();
    const terraform = new FakeTerraform();
    terraform.failures.push(terraformFailure('plan', 'Error: 401 Unauthorized'));
    const [token, accessKey, secretKey] = [r.rendered.provider.apiTokenVariable, ...r.rendered.provider.objectStoreCredentialVariables];
    await expect(deploy(fakeOptions(r, { terraform, cluster }))).rejects.toThrow(
      new RegExp(`terraform-plan: .*401 Unauthorized[\\s\\S]*next: check ${token}, ${accessKey}, ${secretKey} and the log in infra-out/keelson-terraform.log`),
    );
    expect(terraform.of('apply')).toEqual([]);
  });

  it('refuses to run without a Terraform binary, and without a terminal to confirm on', async () => {
    const { cluster } = fakes();
    await expect(deploy(fakeOptions(r, { cluster }, { terraformMissing: 'neither terraform nor tofu is on PATH' }))).rejects.toThrow(
      /terraform-plan: neither terraform nor tofu is on PATH\n {2}next: install Terraform/,
    );
    await expect(deploy(fakeOptions(r, { terraform: new FakeTerraform(), cluster }, { yes: false }))).rejects.toThrow(/confirm: there is no terminal to confirm on\n {2}next: run "keelson deploy --yes"/);
  });
});
