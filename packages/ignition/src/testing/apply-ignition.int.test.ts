import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ignitionHash, IgnitionConfig } from '../builder';
import { applyIgnition, applyIgnitionPresets, IGNITION_PRESET_FILE, IgnitionRunError, startConfigServer, type AppliedIgnition } from './index';

const KUBELET = '[Unit]\nDescription=kubelet\n[Service]\nExecStart=/usr/bin/kubelet\n[Install]\nWantedBy=multi-user.target\n';
const TRICKY = 'quotes " \' `, percent %20 %, hash #, unicode ü ✓ 😀, tabs\t, CRLF\r\n, trailing spaces   \n';

const leftovers = () => readdirSync(tmpdir()).filter((f) => f.startsWith('keelson-ignition-'));

/** Each test's applied roots, removed after it. */
const applied: AppliedIgnition[] = [];
afterEach(() => applied.splice(0).forEach((a) => a.cleanup()));
const track = (a: AppliedIgnition) => (applied.push(a), a);

describe('applyIgnition with the real Ignition binary', () => {
  it('writes files, directories, links, units, drop-ins, masks and presets into a scratch root', async () => {
    const config = new IgnitionConfig()
      .addFile({ path: '/etc/kubernetes/pki/ca.key', mode: 0o600, user: 0, group: 0, contents: { text: 'KEY\n' } })
      .addFile({ path: '/home/core/owned-by-core', user: 'core', group: 'core', contents: { text: 'core\n' } })
      .addFile({ path: '/etc/keelson/big.conf', contents: { text: `${TRICKY}${'repeated line\n'.repeat(300)}` } })
      .addFile({ path: '/etc/keelson/tricky', contents: { text: TRICKY } })
      .addDirectory({ path: '/var/lib/keelson', mode: 0o700 })
      .addLink({ path: '/etc/extensions/kubernetes.raw', target: '/opt/extensions/kubernetes-v1.36.0-x86-64.raw' })
      .addUnit({ name: 'kubelet.service', contents: KUBELET, enabled: true, dropins: [{ name: '10-kubeadm.conf', contents: '[Service]\nEnvironment=KUBELET_KUBEADM_ARGS=\n' }] })
      .addUnit({ name: 'update-engine.service', enabled: false })
      .addUnit({ name: 'sshd.service', mask: true })
      .addUnit({ name: 'sshd.socket', mask: true })
      .addDropin('containerd.service', { name: '10-limits.conf', contents: '[Service]\nLimitNOFILE=1048576\n' });
    expect(config.toJSON().storage?.files?.find((f) => f.path === '/etc/keelson/big.conf')?.contents?.compression).toBe('gzip');

    const { root, stages, log } = track(await applyIgnition(config.render()));
    expect(stages).toEqual(['fetch-offline', 'files']);
    expect(log).toContain('files passed');

    const key = statSync(join(root, 'etc/kubernetes/pki/ca.key'));
    expect(readFileSync(join(root, 'etc/kubernetes/pki/ca.key'), 'utf8')).toBe('KEY\n');
    expect(key.mode & 0o7777).toBe(0o600);
    expect([key.uid, key.gid]).toEqual([0, 0]);
    const owned = statSync(join(root, 'home/core/owned-by-core'));
    expect([owned.uid, owned.gid, owned.mode & 0o7777]).toEqual([500, 500, 0o644]);
    expect(readFileSync(join(root, 'etc/keelson/tricky'), 'utf8')).toBe(TRICKY);
    expect(readFileSync(join(root, 'etc/keelson/big.conf'), 'utf8')).toBe(`${TRICKY}${'repeated line\n'.repeat(300)}`);

    const dir = statSync(join(root, 'var/lib/keelson'));
    expect(dir.isDirectory()).toBe(true);
    expect(dir.mode & 0o7777).toBe(0o700);
    expect(readlinkSync(join(root, 'etc/extensions/kubernetes.raw'))).toBe('/opt/extensions/kubernetes-v1.36.0-x86-64.raw');

    const system = join(root, 'etc/systemd/system');
    expect(readFileSync(join(system, 'kubelet.service'), 'utf8')).toBe(KUBELET);
    expect(readFileSync(join(system, 'kubelet.service.d/10-kubeadm.conf'), 'utf8')).toBe('[Service]\nEnvironment=KUBELET_KUBEADM_ARGS=\n');
    expect(readFileSync(join(system, 'containerd.service.d/10-limits.conf'), 'utf8')).toContain('LimitNOFILE');
    expect(existsSync(join(system, 'containerd.service'))).toBe(false);
    for (const masked of ['sshd.service', 'sshd.socket']) {
      expect(lstatSync(join(system, masked)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(system, masked))).toBe('/dev/null');
    }
    expect(readFileSync(join(root, IGNITION_PRESET_FILE), 'utf8').split('\n').filter(Boolean).sort()).toEqual(['disable update-engine.service', 'enable kubelet.service']);
    // Ignition enables through presets only: no .wants link until systemd applies them at first boot.
    expect(existsSync(join(system, 'multi-user.target.wants'))).toBe(false);

    const presets = await applyIgnitionPresets(root);
    expect(presets.links).toEqual(['multi-user.target.wants/kubelet.service']);
    expect(readlinkSync(join(system, 'multi-user.target.wants/kubelet.service'))).toBe('/etc/systemd/system/kubelet.service');
  });

  it('decodes every data URL encoding the builder picks to the exact text', async () => {
    const texts: Record<string, { text: string; source: RegExp; compression?: string }> = {
      '/etc/percent': { text: 'node-1.example.com_v1~2/3:4 5%\n', source: /^data:,node-1\.example\.com_v1~2%2F3%3A4%205%25%0A$/ },
      '/etc/base64': { text: TRICKY, source: /^data:;base64,/ },
      '/etc/gzip': { text: TRICKY.repeat(20), source: /^data:;base64,H4sI/, compression: 'gzip' },
      '/etc/empty': { text: '', source: /^data:,$/ },
    };
    const config = new IgnitionConfig();
    for (const [path, { text }] of Object.entries(texts)) config.addFile({ path, contents: { text } });
    for (const file of config.toJSON().storage?.files ?? []) {
      const expected = texts[file.path];
      expect(file.contents?.source).toMatch(expected?.source ?? /never/);
      expect(file.contents?.compression).toBe(expected?.compression);
    }
    const { root } = track(await applyIgnition(config.render()));
    for (const [path, { text }] of Object.entries(texts)) expect(readFileSync(join(root, path), 'utf8')).toBe(text);
  });

  it('writes nothing outside the scratch root and removes everything on cleanup', async () => {
    const before = leftovers();
    const result = await applyIgnition({ ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/only-in-root', contents: { source: 'data:,x' } }] } });
    expect(existsSync('/etc/only-in-root')).toBe(false);
    expect(readFileSync(join(result.root, 'etc/only-in-root'), 'utf8')).toBe('x');
    expect(leftovers()).toHaveLength(before.length + 1);
    result.cleanup();
    result.cleanup();
    expect(existsSync(result.root)).toBe(false);
    expect(leftovers()).toEqual(before);
  });

  it('fetches a merged part over HTTP, verifies its sha512 hash and applies it over the pointer', async () => {
    const part = new IgnitionConfig().addFile({ path: '/etc/kubernetes/pki/sa.key', mode: 0o600, contents: { text: 'SECRET\n' } }).render();
    const result = track(
      await applyIgnition(
        ({ url }) =>
          new IgnitionConfig()
            .addFile({ path: '/etc/hostname', contents: { text: 'node-1\n' } })
            .mergeConfig({ source: `${url}/parts/node-1.ign`, hash: ignitionHash(part) })
            .render(),
        { serve: { '/parts/node-1.ign': part } },
      ),
    );
    expect(result.stages).toEqual(['fetch-offline', 'fetch', 'files']);
    expect(result.log).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/parts\/node-1\.ign: attempt #1/);
    expect(readFileSync(join(result.root, 'etc/hostname'), 'utf8')).toBe('node-1\n');
    expect(readFileSync(join(result.root, 'etc/kubernetes/pki/sa.key'), 'utf8')).toBe('SECRET\n');
    expect(statSync(join(result.root, 'etc/kubernetes/pki/sa.key')).mode & 0o7777).toBe(0o600);
  });

  it('fetches a sha256-pinned part exactly once from a server that then refuses it', async () => {
    const part = new IgnitionConfig().addDirectory({ path: '/var/lib/etcd', mode: 0o700 }).render();
    const server = await startConfigServer({ 'p.ign': part }, { once: true });
    try {
      const pointer = new IgnitionConfig().mergeConfig({ source: `${server.url}/p.ign`, hash: ignitionHash(part, 'sha256') }).render();
      const result = track(await applyIgnition(pointer));
      expect(statSync(join(result.root, 'var/lib/etcd')).isDirectory()).toBe(true);
      expect(server.requests).toEqual(['GET /p.ign 200']);
      await expect(applyIgnition(pointer)).rejects.toThrow(/Ignition stage fetch failed: CRITICAL : failed to acquire config: failed to fetch resource/);
      expect(server.requests).toEqual(['GET /p.ign 200', 'GET /p.ign 403']);
    } finally {
      await server.close();
    }
  });

  it('downloads remote file contents and checks their hash', async () => {
    const body = Buffer.from('binary\u0000payload');
    const result = track(
      await applyIgnition(({ url }) => new IgnitionConfig().addFile({ path: '/opt/bin/tool', mode: 0o755, contents: { source: `${url}/tool`, hash: ignitionHash(body) } }).toJSON(), {
        serve: { tool: body },
      }),
    );
    expect(readFileSync(join(result.root, 'opt/bin/tool'))).toEqual(body);
    expect(statSync(join(result.root, 'opt/bin/tool')).mode & 0o7777).toBe(0o755);
  });

  it('fails when the merged part does not match its hash, naming the hashes, and leaves nothing behind', async () => {
    const before = leftovers();
    const part = new IgnitionConfig().addFile({ path: '/etc/x', contents: { text: 'x' } }).render();
    const wrong = ignitionHash(`${part} `);
    const run = applyIgnition(({ url }) => new IgnitionConfig().mergeConfig({ source: `${url}/p.ign`, hash: wrong }).render(), { serve: { 'p.ign': part } });
    await expect(run).rejects.toThrow(IgnitionRunError);
    await expect(run).rejects.toThrow(`hash verification failed (calculated ${ignitionHash(part).slice('sha512-'.length)} but expected ${wrong.slice('sha512-'.length)})`);
    await expect(run).rejects.toMatchObject({ stage: 'fetch' });
    expect(leftovers()).toEqual(before);
  });

  it('fails when a downloaded file does not match its hash', async () => {
    const run = applyIgnition(
      ({ url }) => new IgnitionConfig().addFile({ path: '/opt/x', contents: { source: `${url}/x`, hash: ignitionHash('something else', 'sha256') } }).render(),
      { serve: { x: 'x' } },
    );
    await expect(run).rejects.toThrow(/Ignition stage files failed: [\s\S]*hash verification failed/);
  });

  it('fails with Ignition\'s error for a config it rejects', async () => {
    await expect(applyIgnition({ ignition: { version: '3.3.0' }, storage: { files: [{ path: 'relative' }] } })).rejects.toThrow(
      /Ignition stage fetch-offline failed: [\s\S]*path not absolute/,
    );
  });

  it('fails, not skips, with an install hint when the binary is missing', async () => {
    await expect(applyIgnition('{}', { ignitionBinary: '/nonexistent/ignition' })).rejects.toThrow(
      'applyIgnition needs /nonexistent/ignition, which is not installed here; as root, run: apt-get update && apt-get install -y --no-install-recommends ignition (the README\'s test command, npm test, installs it when missing)',
    );
  });

  it('refuses a config function without files to serve', async () => {
    await expect(applyIgnition(() => '{}')).rejects.toThrow(/the config is a function of the server URL, but no `serve` files were given/);
  });
});

describe('startConfigServer', () => {
  it('serves the given paths on loopback and 404s the rest', async () => {
    const server = await startConfigServer({ '/a.ign': '{"a":1}' });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetch(`${server.url}/a.ign`)).text()).toBe('{"a":1}');
      expect((await fetch(`${server.url}/b.ign`)).status).toBe(404);
      expect(server.requests).toEqual(['GET /a.ign 200', 'GET /b.ign 404']);
    } finally {
      await server.close();
    }
  });
});
