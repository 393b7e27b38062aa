import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exampleConfig, parsePlatformConfig, type NodeSpec, type PlatformConfigInput } from '@keelson/platform-spec';
import { scanForSecrets } from '@keelson/k8s-schemas';
import YAML from 'yaml';
import { decodeInlineContents } from './builder';
import { caCertHash, validateKubeadmConfig } from './kubeadm';
import { NODE_PATHS, renderNodeConfigs, type BootstrapStep } from './node-configs';
import { ETCD_RESTORE_IMAGE, KUBERNETES_RELEASES } from './pins';
import { BOOTSTRAP_SCRIPTS } from './generated/bootstrap-scripts';
import { applyIgnition, applyIgnitionPresets, runIgnitionValidate, systemdAnalyzeVerify } from './testing';
import { findLoginCredentials, validateIgnitionConfig } from './validate';
import { testClusterSecrets } from './test-cluster-secrets';

jest.setTimeout(60_000);

/** The smallest user-data limit of the clouds (a server's, 32 KiB): every pointer fits it. */
const SMALLEST_USER_DATA_LIMIT = 32 * 1024;

const secrets = testClusterSecrets();
const platform = (nodes?: { controllers: number; workers: number }) => {
  const c: PlatformConfigInput = exampleConfig();
  if (nodes) c.nodes = { controllers: { count: nodes.controllers }, workers: { count: nodes.workers } };
  return parsePlatformConfig(c);
};
const render = (spec = platform(), url = (n: NodeSpec) => `http://127.0.0.1:1/${n.name}.ign`, initialize = true) =>
  renderNodeConfigs({ spec, secrets, secretPartUrl: url, initialize });

/** Every inline file of a config, decoded. */
function files(json: string): Map<string, string> {
  const config = JSON.parse(json) as { storage?: { files?: Array<{ path: string; contents?: { source?: string; compression?: string } }> } };
  return new Map((config.storage?.files ?? []).map((f) => [f.path, decodeInlineContents(f.contents ?? {})?.toString('utf8') ?? '']));
}

describe.each([
  ['3 nodes', { controllers: 3, workers: 0 }],
  ['the default 6 nodes', undefined],
  ['9 nodes', { controllers: 7, workers: 2 }],
])('node configs for %s', (_name, nodes) => {
  const spec = platform(nodes);
  const configs = render(spec);

  it('render one config per node', () => {
    expect(configs.map((c) => c.node.name)).toEqual(spec.topology.nodes.map((n) => n.name));
  });

  it('pass the real ignition-validate and the schema, every part of every role', () => {
    for (const c of configs) {
      for (const part of [c.pointer, c.secretPart, c.full]) {
        expect(validateIgnitionConfig(JSON.parse(part))).toEqual([]);
        expect(runIgnitionValidate(part)).toMatchObject({ ok: true, errors: [], warnings: [] });
      }
    }
  });

  it('keep the user-data pointer under the smallest cloud limit', () => {
    for (const c of configs) expect(Buffer.byteLength(c.pointer)).toBeLessThan(SMALLEST_USER_DATA_LIMIT);
  });
});

describe('userDataLimitBytes', () => {
  it('refuses a pointer over the limit the node provider gives, with its size and the fix', () => {
    const spec = platform();
    const props = { spec, secrets, secretPartUrl: (n: NodeSpec) => `https://bucket.example/${n.name}.ign`, initialize: true };
    expect(() => renderNodeConfigs({ ...props, userDataLimitBytes: 1000 })).toThrow(/over the limit of 1000 bytes .*move files and units into a second config/);
    expect(renderNodeConfigs({ ...props, userDataLimitBytes: SMALLEST_USER_DATA_LIMIT })).toHaveLength(spec.topology.nodes.length);
  });
});

describe('the pointer config (droplet user-data)', () => {
  const configs = render();

  it('holds no PEM block, token or key, decoded or not', () => {
    for (const c of configs) {
      const texts = [c.pointer, ...files(c.pointer).values()];
      for (const text of texts) {
        expect(text).not.toMatch(/-----BEGIN/);
        expect(text).not.toContain(secrets.bootstrapToken);
        expect(text).not.toContain(secrets.encryptionKey);
        expect(scanForSecrets(text, c.node.name)).toEqual([]);
      }
    }
  });

  it('merges the secret part from its URL pinned by SHA-512', () => {
    for (const c of configs) {
      const ign = JSON.parse(c.pointer).ignition;
      expect(ign.config.merge).toEqual([{ source: `http://127.0.0.1:1/${c.node.name}.ign`, verification: { hash: c.secretPartHash } }]);
      expect(c.secretPartHash).toMatch(/^sha512-[0-9a-f]{128}$/);
    }
  });

  it('sets no login for anyone, in any part', () => {
    for (const c of configs) for (const part of [c.pointer, c.secretPart, c.full]) expect(findLoginCredentials(part)).toEqual([]);
  });
});

describe('applied by the real Ignition', () => {
  const spec = platform();
  // The secret parts do not depend on where they are served from, so they can
  // be served before the pointers (which name the server's URL) are rendered.
  const secretParts = (initialize?: boolean) => Object.fromEntries(render(spec, undefined, initialize).map((c) => [`/${c.node.name}.ign`, c.secretPart]));
  const served = secretParts();

  /** Boots `node` as a droplet would: its pointer as user-data, its secret part fetched over HTTP. */
  const boot = (node: NodeSpec, initialize?: boolean, serve = served) =>
    applyIgnition((server) => render(spec, (n) => `${server.url}/${n.name}.ign`, initialize).find((c) => c.node.name === node.name)?.pointer ?? '', { serve });

  it('lays out the first controller: keys, kubeadm config, sysext, no SSH', async () => {
    const applied = await boot(spec.topology.controllers[0]);
    try {
      expect(applied.stages).toEqual(['fetch-offline', 'fetch', 'files']);
      const root = applied.root;
      for (const u of ['sshd.service', 'sshd.socket', 'coreos-metadata-sshkeys@core.service', 'locksmithd.service']) {
        expect(readlinkSync(join(root, 'etc/systemd/system', u))).toBe('/dev/null');
      }
      for (const f of ['ca.key', 'etcd/ca.key', 'front-proxy-ca.key', 'sa.key']) {
        const st = statSync(join(root, NODE_PATHS.pki, f));
        expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o600, 0, 0]);
      }
      expect(statSync(join(root, NODE_PATHS.encryptionConfig)).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(root, NODE_PATHS.pki, 'ca.crt'), 'utf8')).toBe(secrets.kubernetesCa.certPem);
      expect(readFileSync(join(root, NODE_PATHS.encryptionConfig), 'utf8')).toContain(secrets.encryptionKey);

      const presets = await applyIgnitionPresets(root);
      expect(presets.presets).toEqual(
        expect.arrayContaining(['enable keelson-kubeadm.service', 'enable keelson-kubernetes-sysext.service', 'enable keelson-kubernetes-update.timer', 'enable keelson-os-reboot-flag.service']),
      );
      // systemctl preset turns them into the links systemd starts them by.
      expect(presets.links).toEqual(
        expect.arrayContaining(['multi-user.target.wants/keelson-kubeadm.service', 'multi-user.target.wants/keelson-kubernetes-sysext.service', 'timers.target.wants/keelson-kubernetes-update.timer']),
      );

      const init = readFileSync(join(root, NODE_PATHS.kubeadmInit), 'utf8');
      const joinConfig = readFileSync(join(root, NODE_PATHS.kubeadmJoin), 'utf8');
      expect(validateKubeadmConfig(init)).toEqual([]);
      expect(validateKubeadmConfig(joinConfig)).toEqual([]);
      const docs = YAML.parseAllDocuments(init).map((d) => d.toJS());
      const cluster = docs.find((d) => d.kind === 'ClusterConfiguration');
      expect(cluster.controlPlaneEndpoint).toBe('api.example.com:6443');
      expect(cluster.kubernetesVersion).toBe(`v${KUBERNETES_RELEASES['1.36']}`);
      expect(cluster.apiServer.extraArgs).toEqual(expect.arrayContaining([{ name: 'encryption-provider-config', value: NODE_PATHS.encryptionConfig }, { name: 'audit-policy-file', value: NODE_PATHS.auditPolicy }]));
      expect(docs.find((d) => d.kind === 'InitConfiguration').bootstrapTokens[0].token).toBe(secrets.bootstrapToken);
      const join_ = YAML.parse(joinConfig);
      expect(join_.discovery.bootstrapToken).toEqual({
        token: secrets.bootstrapToken,
        apiServerEndpoint: 'api.example.com:6443',
        caCertHashes: [caCertHash(secrets.kubernetesCa.certPem)],
      });
      expect(join_.controlPlane.localAPIEndpoint.advertiseAddress).toBe('@NODE_IP@');

      expect(readlinkSync(join(root, 'etc/extensions/kubernetes.raw'))).toBe(`${NODE_PATHS.sysextDir}/kubernetes-v${KUBERNETES_RELEASES['1.36']}-x86-64.raw`);
      expect(readFileSync(join(root, NODE_PATHS.sysupdateDir, 'kubernetes-v1.36.conf'), 'utf8')).toMatch(/MatchPattern=kubernetes-v1\.36\.@v-x86-64\.raw/);
      expect(lstatSync(join(root, NODE_PATHS.bootstrapScript)).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(root, NODE_PATHS.bootstrapScript), 'utf8')).toBe(BOOTSTRAP_SCRIPTS['kubeadm-bootstrap.sh'].text);
      expect(readFileSync(join(root, NODE_PATHS.bootstrapLib), 'utf8')).toBe(BOOTSTRAP_SCRIPTS['bootstrap-lib.sh'].text);
      expect(readFileSync(join(root, NODE_PATHS.bootstrapEnv), 'utf8')).toContain(': "${KEELSON_ACTION:=init}"');
      expect(readFileSync(join(root, NODE_PATHS.clusterCa), 'utf8')).toBe(secrets.kubernetesCa.certPem);
    } finally {
      applied.cleanup();
    }
  });

  it.each([
    ['3 nodes', { controllers: 3, workers: 0 }],
    ['6 nodes', undefined],
    ['9 nodes', { controllers: 7, workers: 2 }],
  ])('applies every role of a %s platform', async (_name, nodes) => {
    const sized = platform(nodes);
    const parts = Object.fromEntries(render(sized).map((c) => [`/${c.node.name}.ign`, c.secretPart]));
    const roles = [sized.topology.controllers[0], sized.topology.controllers[1], ...sized.topology.workers.slice(0, 1)];
    for (const node of roles) {
      const applied = await applyIgnition((server) => render(sized, (n) => `${server.url}/${n.name}.ign`).find((c) => c.node.name === node.name)?.pointer ?? '', { serve: parts });
      try {
        expect(readFileSync(join(applied.root, 'etc/hostname'), 'utf8')).toBe(`${node.name}\n`);
        const joinConfig = readFileSync(join(applied.root, NODE_PATHS.kubeadmJoin), 'utf8');
        expect(validateKubeadmConfig(joinConfig)).toEqual([]);
        expect(YAML.parse(joinConfig).controlPlane !== undefined).toBe(node.role === 'controller');
        expect(readlinkSync(join(applied.root, 'etc/systemd/system/sshd.service'))).toBe('/dev/null');
      } finally {
        applied.cleanup();
      }
    }
  });

  it('lays out a worker: only the join config, no CA keys', async () => {
    const applied = await boot(spec.topology.workers[0]);
    try {
      const root = applied.root;
      const join_ = YAML.parse(readFileSync(join(root, NODE_PATHS.kubeadmJoin), 'utf8'));
      expect(join_.controlPlane).toBeUndefined();
      expect(join_.nodeRegistration.name).toBe('keelson-worker-1');
      expect(() => statSync(join(root, NODE_PATHS.pki, 'ca.key'))).toThrow(/ENOENT/);
      expect(() => statSync(join(root, NODE_PATHS.kubeadmInit))).toThrow(/ENOENT/);
      expect(readFileSync(join(root, NODE_PATHS.bootstrapEnv), 'utf8')).toContain(': "${KEELSON_ACTION:=join}"');
      expect(readFileSync(join(root, NODE_PATHS.bootstrapEnv), 'utf8')).toContain(': "${KEELSON_ROLE:=worker}"');
    } finally {
      applied.cleanup();
    }
  });

  it('a replaced first controller only ever joins', async () => {
    const applied = await boot(spec.topology.controllers[0], false, secretParts(false));
    try {
      expect(() => statSync(join(applied.root, NODE_PATHS.kubeadmInit))).toThrow(/ENOENT/);
      expect(readFileSync(join(applied.root, NODE_PATHS.bootstrapEnv), 'utf8')).toContain(': "${KEELSON_ACTION:=join}"');
      expect(readFileSync(join(applied.root, NODE_PATHS.bootstrapEnv), 'utf8')).not.toMatch(/KEELSON_ACTION:=init/);
    } finally {
      applied.cleanup();
    }
  });

  it('refuses a secret part that does not match the pinned hash', async () => {
    const node = spec.topology.workers[0];
    // Still valid JSON, one byte longer: only the hash can tell.
    const tampered = { ...served, [`/${node.name}.ign`]: `${served[`/${node.name}.ign`]} ` };
    await expect(boot(node, undefined, tampered)).rejects.toThrow(/hash verification failed/);
  });
});

describe('the generated units', () => {
  it('pass systemd-analyze verify', () => {
    const units = new Map<string, string>();
    for (const c of render()) {
      const config = JSON.parse(c.full) as { systemd?: { units?: Array<{ name: string; contents?: string }> } };
      for (const u of config.systemd?.units ?? []) if (u.contents) units.set(u.name, u.contents);
    }
    expect([...units.keys()].sort()).toEqual([
      'keelson-host-firewall.service',
      'keelson-kubeadm.service',
      'keelson-kubernetes-sysext.service',
      'keelson-kubernetes-update.service',
      'keelson-kubernetes-update.timer',
      'keelson-os-reboot-flag.service',
    ]);
    const result = systemdAnalyzeVerify(Object.fromEntries(units), {
      // Flatcar's own units and the programs the Kubernetes sysext and Flatcar bring.
      assumeUnits: ['containerd.service', 'coreos-metadata.service', 'update-engine.service', 'systemd-sysext.service', 'kubelet.service'],
      assumeExecutables: ['/usr/sbin/nft', '/usr/bin/update_engine_client', '/usr/lib/systemd/systemd-sysupdate', NODE_PATHS.bootstrapScript],
    });
    expect(result).toMatchObject({ ok: true });
  });

  it('ship bootstrap scripts that bash can parse, for every role', () => {
    for (const c of [...render(), ...render(undefined, undefined, false)]) {
      const script = files(c.full).get(NODE_PATHS.bootstrapScript) ?? '';
      expect(script).toMatch(/^#!\/bin\/bash\n/);
      expect(spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' })).toMatchObject({ status: 0, stderr: '' });
    }
  });
});

describe('pod network bootstrap and Pod Security defaults', () => {
  const manifests = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keelson-bootstrap-probe\n  namespace: kube-system\n';
  const bootstrap = [
    { name: 'network', manifests, cleanup: { job: { namespace: 'kube-system', name: 'keelson-cni-install' }, delete: ['job/keelson-cni-install', 'clusterrolebinding/keelson-cni-install'] } },
    { name: 'argocd-install', url: 'https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml', namespace: 'argocd' },
    { name: 'argocd-root', manifests: manifests.replace('probe', 'root') },
  ];
  const spec = platform();
  const configs = renderNodeConfigs({ spec, secrets, secretPartUrl: () => 'http://127.0.0.1:1/x.ign', initialize: true, bootstrap, replaceKubeadmAddons: ['coredns'] });
  const units = (json: string) => (JSON.parse(json) as { systemd: { units: Array<{ name: string; enabled?: boolean; contents?: string }> } }).systemd.units;

  it('puts the steps and the unit that applies them, in order, on the first controller only, in its public part', () => {
    const [first, ...rest] = configs;
    expect(files(first.pointer).get(`${NODE_PATHS.bootstrapDir}/01-network.yaml`)).toBe(manifests);
    expect(files(first.pointer).get(`${NODE_PATHS.bootstrapDir}/03-argocd-root.yaml`)).toContain('keelson-bootstrap-root');
    const unit = units(first.pointer).find((u) => u.name === 'keelson-bootstrap-manifests.service');
    expect(unit?.enabled).toBe(true);
    expect(unit?.contents).toContain(`ConditionPathExists=${NODE_PATHS.initializedStamp}`);
    const run = `ExecStart=${NODE_PATHS.bootstrapManifestsScript}`;
    expect(unit?.contents?.split('\n').filter((l) => l.startsWith('ExecStart='))).toEqual([
      `${run} apply network ${NODE_PATHS.bootstrapDir}/01-network.yaml`,
      `${run} wait-job kube-system keelson-cni-install 600`,
      `${run} delete kube-system job/keelson-cni-install clusterrolebinding/keelson-cni-install`,
      `${run} apply-url argocd-install https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml argocd`,
      `${run} apply argocd-root ${NODE_PATHS.bootstrapDir}/03-argocd-root.yaml`,
      `${run} done`,
    ]);
    expect(unit?.contents).toMatch(/^StartLimitIntervalSec=3h\nStartLimitBurst=6$/m);
    expect(files(first.pointer).get(NODE_PATHS.bootstrapManifestsScript)).toBe(BOOTSTRAP_SCRIPTS['bootstrap-manifests.sh'].text);
    for (const c of rest) {
      expect([...files(c.full).keys()].filter((p) => p.startsWith(`${NODE_PATHS.bootstrapDir}/`))).toEqual([]);
      expect(units(c.full).map((u) => u.name)).not.toContain('keelson-bootstrap-manifests.service');
      expect(files(c.full).has(NODE_PATHS.bootstrapManifestsScript)).toBe(false);
    }
    const replaced = renderNodeConfigs({ spec, secrets, secretPartUrl: () => 'http://127.0.0.1:1/x.ign', bootstrap, initialize: false })[0];
    expect([...files(replaced.full).keys()].filter((p) => p.startsWith(`${NODE_PATHS.bootstrapDir}/`))).toEqual([]);
  });

  it('passes a pinned URL step\'s SHA-256 to the step, and refuses one that is not a SHA-256', () => {
    const sha256 = 'a'.repeat(64);
    const pinned = renderNodeConfigs({ spec, secrets, secretPartUrl: () => 'http://x/', initialize: true, bootstrap: [{ name: 'argocd-install', url: 'https://example.com/install.yaml', sha256 }] })[0];
    expect(units(pinned.pointer).find((u) => u.name === 'keelson-bootstrap-manifests.service')?.contents).toContain(`ExecStart=${NODE_PATHS.bootstrapManifestsScript} apply-url argocd-install https://example.com/install.yaml - ${sha256}\n`);
    expect(() => renderNodeConfigs({ spec, secrets, secretPartUrl: () => 'http://x/', initialize: true, bootstrap: [{ name: 'argocd-install', url: 'https://example.com/install.yaml', sha256: 'ABC' }] })).toThrow(
      /bootstrap step argocd-install: sha256 "ABC" is not 64 lower-case hex digits/,
    );
  });

  it('refuses a step name that cannot be a file name and a URL that is not https', () => {
    const render = (step: BootstrapStep) => () => renderNodeConfigs({ spec, secrets, secretPartUrl: () => 'http://x/', initialize: true, bootstrap: [step] });
    expect(render({ name: 'Net work', manifests })).toThrow(/bootstrap step name "Net work" is not lower-case letters/);
    expect(render({ name: 'argocd', url: 'http://example.com/install.yaml' })).toThrow(/url "http:\/\/example.com\/install.yaml" is not an https URL/);
  });

  it('passes systemd-analyze verify with the bootstrap unit', () => {
    const unit = units(configs[0].full).filter((u) => u.contents);
    const result = systemdAnalyzeVerify(Object.fromEntries(unit.map((u) => [u.name, u.contents as string])), {
      assumeUnits: ['containerd.service', 'coreos-metadata.service', 'update-engine.service', 'systemd-sysext.service'],
      assumeExecutables: ['/usr/bin/update_engine_client', '/usr/lib/systemd/systemd-sysupdate', '/usr/bin/kubectl', NODE_PATHS.bootstrapScript, NODE_PATHS.bootstrapManifestsScript],
    });
    expect(result).toMatchObject({ ok: true });
  });

  it('skips the kubeadm addons the platform replaces, at init only', () => {
    const init = YAML.parseAllDocuments(files(configs[0].full).get(NODE_PATHS.kubeadmInit) ?? '').map((d) => d.toJS());
    expect(init.find((d) => d.kind === 'InitConfiguration').skipPhases).toEqual(['addon/coredns']);
    expect(validateKubeadmConfig(files(configs[0].full).get(NODE_PATHS.kubeadmInit) ?? '')).toEqual([]);
    const plain = YAML.parseAllDocuments(files(render()[0].full).get(NODE_PATHS.kubeadmInit) ?? '').map((d) => d.toJS());
    expect(plain.find((d) => d.kind === 'InitConfiguration').skipPhases).toEqual([]);
  });

  it('enforces baseline Pod Security on unlabelled namespaces through the API server admission config, kube-system exempt', () => {
    const controller = files(configs[0].full);
    const admission = YAML.parse(controller.get(NODE_PATHS.admissionConfig) ?? '');
    const podSecurity = admission.plugins.find((p: { name: string }) => p.name === 'PodSecurity').configuration;
    expect(podSecurity.defaults).toMatchObject({ enforce: 'baseline', audit: 'restricted', warn: 'restricted', 'enforce-version': 'v1.36' });
    expect(podSecurity.exemptions.namespaces).toEqual(['kube-system']);
    const cluster = YAML.parseAllDocuments(controller.get(NODE_PATHS.kubeadmInit) ?? '').map((d) => d.toJS()).find((d) => d.kind === 'ClusterConfiguration');
    expect(cluster.apiServer.extraArgs).toContainEqual({ name: 'admission-control-config-file', value: NODE_PATHS.admissionConfig });
    expect(cluster.apiServer.extraVolumes).toContainEqual(expect.objectContaining({ hostPath: '/etc/kubernetes/admission', readOnly: true }));
    expect(files(configs[configs.length - 1].full).has(NODE_PATHS.admissionConfig)).toBe(false);
  });
});

describe('initialise only once: initialize is stated by the caller', () => {
  const spec = platform({ controllers: 3, workers: 1 });
  const docsOf = (text: string | undefined) => YAML.parseAllDocuments(text ?? '').map((d) => d.toJS() as { kind: string });
  const clusterWide = (text: string | undefined) => docsOf(text).filter((d) => d.kind === 'ClusterConfiguration' || d.kind === 'KubeletConfiguration');

  it('refuses a render that does not say whether it creates the cluster', () => {
    const props = { spec, secrets, secretPartUrl: () => 'http://x/' } as unknown as Parameters<typeof renderNodeConfigs>[0];
    expect(() => renderNodeConfigs(props)).toThrow(/renderNodeConfigs: initialize is undefined, not true or false; pass true only for the very first deploy \(no cluster exists yet\) and false for every later render/);
  });

  it('with initialize: false no node carries kubeadm-init.yaml and every controller, the first included, joins', () => {
    const joiners = render(spec, undefined, false);
    for (const c of joiners) {
      const f = files(c.full);
      expect({ node: c.node.name, init: f.has(NODE_PATHS.kubeadmInit) }).toEqual({ node: c.node.name, init: false });
      expect(f.get(NODE_PATHS.bootstrapEnv)).toContain(': "${KEELSON_ACTION:=join}"');
    }
  });

  it('gives every joining controller the ClusterConfiguration and KubeletConfiguration kubeadm init uses, with no secret in them', () => {
    const init = files(render(spec)[0].full).get(NODE_PATHS.kubeadmInit);
    const joiners = render(spec, undefined, false);
    for (const c of joiners.filter((n) => n.node.role === 'controller')) {
      const reference = files(c.full).get(NODE_PATHS.kubeadmCluster);
      expect(clusterWide(reference)).toEqual(clusterWide(init));
      expect(docsOf(reference).map((d) => d.kind)).toEqual(['ClusterConfiguration', 'KubeletConfiguration']);
      expect(validateKubeadmConfig(reference ?? '')).toEqual([]);
      expect(reference).not.toContain(secrets.bootstrapToken);
      expect(reference).not.toMatch(/PRIVATE KEY|token:/);
      // Not in the size-limited pointer.
      expect(files(c.pointer).has(NODE_PATHS.kubeadmCluster)).toBe(false);
    }
    expect(files(joiners.find((n) => n.node.role === 'worker')?.full ?? '').has(NODE_PATHS.kubeadmCluster)).toBe(false);
    // The first deploy: the first controller has it in kubeadm-init.yaml, only once; the others carry the reference.
    const first = render(spec);
    expect(files(first[0].full).has(NODE_PATHS.kubeadmCluster)).toBe(false);
    expect(clusterWide(files(first[1].full).get(NODE_PATHS.kubeadmCluster))).toEqual(clusterWide(init));
  });
});

describe('restoring etcd from a snapshot', () => {
  const spec = platform();
  // A presigned link: a credential for its lifetime.
  const url = 'https://keelson-backups.fra1.digitaloceanspaces.com/etcd/20261125T081500Z.db?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=DO00EXAMPLE%2F20261125%2Ffra1%2Fs3%2Faws4_request&X-Amz-Signature=0123abcd';
  const sha256 = 'a'.repeat(64);
  const withRestore = (restoreEtcdSnapshot: { url: string; sha256?: string }, initialize = true, secretPartUrl = (n: NodeSpec) => `http://127.0.0.1:1/${n.name}.ign`) =>
    renderNodeConfigs({ spec, secrets, secretPartUrl, initialize, restoreEtcdSnapshot });
  const configs = withRestore({ url, sha256 });
  const [first, ...rest] = configs;
  const signature = 'X-Amz-Signature=0123abcd';

  it('writes the link into the first controller\'s secret part only, mode 0600, never into a pointer', () => {
    const secretFile = (JSON.parse(first.secretPart) as { storage: { files: Array<{ path: string; mode: number }> } }).storage.files.find((f) => f.path === NODE_PATHS.etcdRestoreUrl);
    expect(secretFile?.mode).toBe(0o600);
    expect(files(first.secretPart).get(NODE_PATHS.etcdRestoreUrl)).toBe(`${url}\n`);
    for (const c of configs) {
      for (const text of [c.pointer, ...files(c.pointer).values()]) expect(text).not.toContain(signature);
      expect(files(c.pointer).has(NODE_PATHS.etcdRestoreUrl)).toBe(false);
    }
    for (const c of rest) expect(c.full).not.toContain(signature);
    for (const c of rest) expect([...files(c.full).values()].join('\n')).not.toContain(signature);
  });

  it('turns the restore on only in the first controller\'s bootstrap.env, with the hash and the pinned image; the link stays in the secret file', () => {
    const env = files(first.pointer).get(NODE_PATHS.bootstrapEnv) ?? '';
    expect(env).toContain(': "${KEELSON_ETCD_RESTORE:=yes}"');
    expect(env).toContain(`: "\${KEELSON_ETCD_RESTORE_SHA256:=${sha256}}"`);
    expect(env).toContain(`: "\${KEELSON_ETCD_RESTORE_IMAGE:=${ETCD_RESTORE_IMAGE}}"`);
    expect(env).not.toContain(signature);
    expect(spawnSync('bash', ['-n'], { input: env, encoding: 'utf8' })).toMatchObject({ status: 0, stderr: '' });
    for (const c of rest) expect(files(c.full).get(NODE_PATHS.bootstrapEnv)).toContain(': "${KEELSON_ETCD_RESTORE:=no}"');
    // Everything but the first controller renders as without a restore; the script is the same on every node.
    const plain = render(spec);
    for (const [i, c] of rest.entries()) expect(files(c.pointer).get(NODE_PATHS.bootstrapEnv)).toBe(files(plain[i + 1].pointer).get(NODE_PATHS.bootstrapEnv));
    for (const c of configs) expect(files(c.pointer).get(NODE_PATHS.bootstrapScript)).toBe(BOOTSTRAP_SCRIPTS['kubeadm-bootstrap.sh'].text);
  });

  it('passes the real ignition-validate and the schema, every part of every node', () => {
    for (const c of configs) {
      for (const part of [c.pointer, c.secretPart, c.full]) {
        expect(validateIgnitionConfig(JSON.parse(part))).toEqual([]);
        expect(runIgnitionValidate(part)).toMatchObject({ ok: true, errors: [], warnings: [] });
      }
    }
  });

  it('lands the link on the node through the real Ignition, readable by root only', async () => {
    const node = spec.topology.controllers[0];
    const serve = Object.fromEntries(configs.map((c) => [`/${c.node.name}.ign`, c.secretPart]));
    const applied = await applyIgnition((server) => withRestore({ url, sha256 }, undefined, (n) => `${server.url}/${n.name}.ign`)[0].pointer, { serve });
    try {
      const st = statSync(join(applied.root, NODE_PATHS.etcdRestoreUrl));
      expect([st.mode & 0o777, st.uid]).toEqual([0o600, 0]);
      expect(readFileSync(join(applied.root, NODE_PATHS.etcdRestoreUrl), 'utf8')).toBe(`${url}\n`);
      expect(readFileSync(join(applied.root, 'etc/hostname'), 'utf8')).toBe(`${node.name}\n`);
    } finally {
      applied.cleanup();
    }
  });

  it('refuses a restore on a render that may not create the cluster (node replacements)', () => {
    expect(() => withRestore({ url }, false)).toThrow(/restoreEtcdSnapshot is set with initialize: false; only a first controller that may create the cluster restores etcd\. Drop restoreEtcdSnapshot when rendering node replacements/);
  });

  it('refuses a link that is not https, without printing the link', () => {
    const plainHttp = `http://keelson-backups.fra1.digitaloceanspaces.com/etcd/x.db?${signature}`;
    expect(() => withRestore({ url: plainHttp })).toThrow(/restoreEtcdSnapshot\.url \(starting "http:\/\/k"\) is not a single-line https URL; pass the presigned link from NodeProvider\.backupObjectUrl/);
    expect(() => withRestore({ url: plainHttp })).not.toThrow(new RegExp(signature));
    expect(() => withRestore({ url: `${url}\nrm -rf /` })).toThrow(/is not a single-line https URL/);
  });

  it('refuses a hash that is not 64 lower-case hex digits', () => {
    expect(() => withRestore({ url, sha256: 'abc' })).toThrow(/restoreEtcdSnapshot\.sha256 "abc" is not 64 lower-case hex digits; pass the first field of `sha256sum <snapshot>\.db`, or leave it out/);
    expect(() => withRestore({ url, sha256: 'A'.repeat(64) })).toThrow(/restoreEtcdSnapshot\.sha256 "A{64}" is not 64 lower-case hex digits/);
  });
});

describe('the Kubernetes system extension pinned by hash (kubernetesSysext)', () => {
  const spec = platform();
  const release = KUBERNETES_RELEASES['1.36'];
  const file = `kubernetes-v${release}-x86-64.raw`;
  const imagePath = `${NODE_PATHS.sysextDir}/${file}`;
  // A stand-in for the bakery's image: only its hash matters to Ignition.
  const image = Buffer.from('not a squashfs, only bytes with a known hash\u0000\u00ff');
  const sha256 = createHash('sha256').update(image).digest('hex');
  const url = `https://extensions.flatcar.org/extensions/${file}`;
  const secretPartUrl = (n: NodeSpec) => `http://127.0.0.1:1/${n.name}.ign`;
  const pinned = (kubernetesSysext: { url: string; sha256: string }, s = spec, partUrl = secretPartUrl) => renderNodeConfigs({ spec: s, secrets, secretPartUrl: partUrl, initialize: true, kubernetesSysext });
  type Storage = { storage: { files: Array<{ path: string; mode?: number; contents: { source?: string; verification?: { hash?: string } } }> } };
  const withoutPin = (json: string) => {
    const config = JSON.parse(json) as Storage;
    config.storage.files = config.storage.files.filter((f) => f.path !== imagePath && f.path !== NODE_PATHS.sysextStamp);
    return config;
  };

  it('downloads the image in Ignition from the URL, checked by its sha256, in the public pointer of every node', () => {
    for (const c of pinned({ url, sha256 })) {
      const entry = (JSON.parse(c.pointer) as Storage).storage.files.find((f) => f.path === imagePath);
      expect(entry).toEqual({ path: imagePath, mode: 0o644, contents: { source: url, verification: { hash: `sha256-${sha256}` } } });
      expect(files(c.pointer).get(NODE_PATHS.sysextStamp)).toBe(`${file} sha256 ${sha256}, written by Ignition\n`);
      // The secret part does not carry it: it is public, and needs no second copy.
      expect(c.secretPart).not.toContain(sha256);
    }
  });

  it('adds only the image and the stamp: the secret part is byte-identical to an unpinned render, the pointer and the full config equal it otherwise', () => {
    const plain = render(spec);
    for (const [i, c] of pinned({ url, sha256 }).entries()) {
      expect(c.secretPart).toBe(plain[i].secretPart);
      expect(c.secretPartHash).toBe(plain[i].secretPartHash);
      expect(withoutPin(c.pointer)).toEqual(JSON.parse(plain[i].pointer));
      expect(withoutPin(c.full)).toEqual(JSON.parse(plain[i].full));
    }
    // Undefined is the same as leaving the prop out: no image, no stamp, no sha256 hash anywhere.
    const unset = renderNodeConfigs({ spec, secrets, secretPartUrl, initialize: true, kubernetesSysext: undefined });
    expect(unset.map((c) => c.full)).toEqual(plain.map((c) => c.full));
    for (const c of plain) {
      expect([...files(c.full).keys()]).not.toContain(NODE_PATHS.sysextStamp);
      expect(c.full).not.toContain('sha256-');
    }
  });

  it('keeps the sysupdate transfer and the link systemd-sysext merges through, and the unit that would fetch the image is skipped by the stamp', () => {
    const [first] = pinned({ url, sha256 });
    const config = JSON.parse(first.full) as Storage & { storage: { links: Array<{ path: string; target: string }> }; systemd: { units: Array<{ name: string; contents?: string }> } };
    expect(config.storage.links).toContainEqual({ path: '/etc/extensions/kubernetes.raw', target: imagePath });
    expect(files(first.full).get(`${NODE_PATHS.sysupdateDir}/kubernetes-v1.36.conf`)).toMatch(/MatchPattern=kubernetes-v1\.36\.@v-x86-64\.raw/);
    const unit = config.systemd.units.find((u) => u.name === 'keelson-kubernetes-sysext.service')?.contents ?? '';
    expect(unit).toContain(`ConditionPathExists=!${NODE_PATHS.sysextStamp}`);
    expect(unit).toContain('systemd-sysupdate');
  });

  it.each([
    ['3 nodes', { controllers: 3, workers: 0 }],
    ['9 nodes', { controllers: 7, workers: 2 }],
  ])('passes the real ignition-validate and the schema and stays under the user-data limit, %s', (_name, nodes) => {
    for (const c of pinned({ url, sha256 }, platform(nodes))) {
      expect(Buffer.byteLength(c.pointer)).toBeLessThan(SMALLEST_USER_DATA_LIMIT);
      for (const part of [c.pointer, c.full]) {
        expect(validateIgnitionConfig(JSON.parse(part))).toEqual([]);
        expect(runIgnitionValidate(part)).toMatchObject({ ok: true, errors: [], warnings: [] });
      }
    }
  });

  it('passes systemd-analyze verify with the image pinned', () => {
    const config = JSON.parse(pinned({ url, sha256 })[0].full) as { systemd: { units: Array<{ name: string; contents?: string }> } };
    const units = config.systemd.units.filter((u) => u.contents);
    const result = systemdAnalyzeVerify(Object.fromEntries(units.map((u) => [u.name, u.contents as string])), {
      assumeUnits: ['containerd.service', 'coreos-metadata.service', 'update-engine.service', 'systemd-sysext.service'],
      assumeExecutables: ['/usr/bin/update_engine_client', '/usr/lib/systemd/systemd-sysupdate', NODE_PATHS.bootstrapScript],
    });
    expect(result).toMatchObject({ ok: true });
  });

  describe('applied by the real Ignition, the image served from a loopback server', () => {
    const node = spec.topology.workers[0];
    const secretPart = render(spec).find((c) => c.node.name === node.name)?.secretPart ?? '';
    const boot = (served: Buffer) =>
      applyIgnition(
        (server) => pinned({ url: `${server.url}/extensions/${file}`, sha256 }, spec, (n) => `${server.url}/${n.name}.ign`).find((c) => c.node.name === node.name)?.pointer ?? '',
        { serve: { [`/${node.name}.ign`]: secretPart, [`/extensions/${file}`]: served } },
      );

    it('writes the image where the link points, and the stamp, when the served bytes match the hash', async () => {
      const applied = await boot(image);
      try {
        expect(applied.log).toMatch(new RegExp(`GET http://127\\.0\\.0\\.1:\\d+/extensions/${file.replace(/\./g, '\\.')}`));
        expect(readFileSync(join(applied.root, imagePath))).toEqual(image);
        expect(statSync(join(applied.root, imagePath)).mode & 0o7777).toBe(0o644);
        expect(readlinkSync(join(applied.root, 'etc/extensions/kubernetes.raw'))).toBe(imagePath);
        expect(readFileSync(join(applied.root, NODE_PATHS.sysextStamp), 'utf8')).toBe(`${file} sha256 ${sha256}, written by Ignition\n`);
        // The secret part still arrives through the pointer's merge.
        expect(readFileSync(join(applied.root, NODE_PATHS.kubeadmJoin), 'utf8')).toContain(secrets.bootstrapToken);
      } finally {
        applied.cleanup();
      }
    });

    it('fails the boot when the served image does not match the pinned hash', async () => {
      const tampered = Buffer.concat([image, Buffer.from('x')]);
      const actual = createHash('sha256').update(tampered).digest('hex');
      await expect(boot(tampered)).rejects.toThrow(new RegExp(`Ignition stage files failed: .*hash verification failed \\(calculated ${actual} but expected ${sha256}\\)`));
    });
  });

  it('refuses a URL that is not https, naming the field and the fix', () => {
    expect(() => pinned({ url: `http://extensions.flatcar.org/extensions/${file}`, sha256 })).toThrow(
      /kubernetesSysext\.url "http:\/\/extensions\.flatcar\.org\/extensions\/kubernetes-v1\.36\.2-x86-64\.raw" is not a single-line https URL \(plain http only to 127\.0\.0\.1 or localhost, for tests\); pass the entry of kubernetes-sysext\.lock\.json for this release \(run keelson lock on a machine with internet\)/,
    );
    expect(() => pinned({ url: `${url}\nExecStart=/bin/sh`, sha256 })).toThrow(/is not a single-line https URL/);
  });

  it('refuses an image of another release than the pinned one, naming both', () => {
    const stale = url.replace(release, '1.36.1');
    expect(() => pinned({ url: stale, sha256 })).toThrow(
      /kubernetesSysext\.url ".*kubernetes-v1\.36\.1-x86-64\.raw" names "kubernetes-v1\.36\.1-x86-64\.raw", but versions\.kubernetes 1\.36 is pinned to kubernetes-v1\.36\.2-x86-64\.raw \(KUBERNETES_RELEASES\); pass the entry of kubernetes-sysext\.lock\.json/,
    );
  });

  it('refuses a hash that is not 64 lower-case hex digits', () => {
    expect(() => pinned({ url, sha256: sha256.toUpperCase() })).toThrow(/kubernetesSysext\.sha256 "[0-9A-F]{64}" is not 64 lower-case hex digits; pass the entry of kubernetes-sysext\.lock\.json/);
    expect(() => pinned({ url, sha256: 'abc' })).toThrow(/kubernetesSysext\.sha256 "abc" is not 64 lower-case hex digits/);
  });
});
