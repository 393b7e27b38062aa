import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { KUBERNETES_RELEASES, SYSEXT_BASE_URL } from '@keelson/ignition';
import {
  describeKubernetesSysext,
  lockCommand,
  lockSysextImages,
  parseSha256Sums,
  pinnedKubernetesSysext,
  readSysextLock,
  renderSysextLock,
  staleLockProblems,
  sysextBaseUrl,
  sysextLockPath,
  type SysextLock,
} from './lock';
import { tempDir } from './test-helpers';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const releases = { '1.35': '1.35.6', '1.36': '1.36.2' };
const file = (release: string) => `kubernetes-v${release}-x86-64.raw`;
/** A SHA256SUMS as the bakery publishes it: every extension, not only Kubernetes. */
const sums = [
  `${sha('docker')}  docker-27.0.3-x86-64.raw`,
  `${sha('1.35.6')}  ${file('1.35.6')}`,
  `${sha('1.36.1')}  ${file('1.36.1')}`,
  // sha256sum -b marks binary files with "*"; upper-case hex is read as lower-case.
  `${sha('1.36.2').toUpperCase()} *${file('1.36.2')}`,
  `${sha('arm')}  kubernetes-v1.36.2-arm64.raw`,
  '',
].join('\n');

/** A loopback HTTP server in this process (fetch is asynchronous). */
async function serve(files: Record<string, string>): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const body = files[req.url ?? ''];
    if (body === undefined) res.writeHead(404, 'Not Found').end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
}

/** A config file in a fresh folder: the lock lives next to it. */
const configInTemp = () => {
  const config = join(tempDir(), 'platform.yaml');
  writeFileSync(config, 'cluster: {}\n');
  return config;
};

describe('lockSysextImages', () => {
  it('locks the pinned image of every minor from SHA256SUMS: file, URL under the base, lower-case hash', async () => {
    const server = await serve({ '/extensions/SHA256SUMS': sums });
    try {
      const lock = await lockSysextImages(`${server.url}/extensions`, releases);
      expect(lock).toEqual({
        source: `${server.url}/extensions`,
        images: {
          '1.35': { release: '1.35.6', file: file('1.35.6'), url: `${server.url}/extensions/${file('1.35.6')}`, sha256: sha('1.35.6') },
          '1.36': { release: '1.36.2', file: file('1.36.2'), url: `${server.url}/extensions/${file('1.36.2')}`, sha256: sha('1.36.2') },
        },
      });
      expect(server.requests).toEqual(['GET /extensions/SHA256SUMS']);
    } finally {
      await server.close();
    }
  });

  it('refuses when an image is not listed, naming the file and the fix', async () => {
    const server = await serve({ '/SHA256SUMS': sums });
    try {
      await expect(lockSysextImages(server.url, { '1.36': '1.36.9' })).rejects.toThrow(
        /\/SHA256SUMS does not list kubernetes-v1\.36\.9-x86-64\.raw \(Kubernetes 1\.36 in KUBERNETES_RELEASES\); the bakery has not published that release \(yet\): wait for it, or set KUBERNETES_RELEASES in packages\/ignition\/src\/pins\.ts to a release it lists, then run keelson lock again/,
      );
    } finally {
      await server.close();
    }
  });

  it('names the URL and says it needs internet when the download fails: no answer, or an HTTP error', async () => {
    const server = await serve({});
    try {
      await expect(lockSysextImages(server.url, releases)).rejects.toThrow(
        `could not download ${server.url}/SHA256SUMS (HTTP 404 Not Found); keelson lock needs internet: run it on a machine that reaches ${server.url.slice('http://'.length)}, then commit kubernetes-sysext.lock.json`,
      );
    } finally {
      await server.close();
    }
    // The same port, closed now: nothing answers.
    await expect(lockSysextImages(server.url, releases)).rejects.toThrow(/could not download http:\/\/127\.0\.0\.1:\d+\/SHA256SUMS \(ECONNREFUSED\); keelson lock needs internet/);
  });
});

describe('parseSha256Sums', () => {
  it('reads every "<hash>  <file>" line', () => {
    const parsed = parseSha256Sums(sums, 'https://x/SHA256SUMS');
    expect(parsed.get(file('1.36.2'))).toBe(sha('1.36.2'));
    expect(parsed.size).toBe(5);
  });

  it('refuses what is not a SHA256SUMS file (an HTML error page, a file listed twice), naming the URL and the line', () => {
    expect(() => parseSha256Sums('<!DOCTYPE html>\n<title>Proxy login</title>\n', 'https://mirror.example/SHA256SUMS')).toThrow(
      'https://mirror.example/SHA256SUMS: line 1 is not "<64 hex digits>  <file name>" (got "<!DOCTYPE html>"); that is not a SHA256SUMS file: check KEELSON_SYSEXT_BASE_URL (or the proxy between you and the bakery) and run keelson lock again',
    );
    expect(() => parseSha256Sums(`${sums}${sha('other')}  ${file('1.36.2')}\n`, 'https://x/SHA256SUMS')).toThrow(/line 6 lists kubernetes-v1\.36\.2-x86-64\.raw a second time, with another hash; that is not a SHA256SUMS file/);
  });
});

describe('sysextBaseUrl', () => {
  it('is the bakery, or KEELSON_SYSEXT_BASE_URL without trailing slashes', () => {
    expect(sysextBaseUrl({})).toBe(SYSEXT_BASE_URL);
    expect(sysextBaseUrl({ KEELSON_SYSEXT_BASE_URL: 'https://mirror.example/flatcar/extensions/' })).toBe('https://mirror.example/flatcar/extensions');
    expect(sysextBaseUrl({ KEELSON_SYSEXT_BASE_URL: 'http://127.0.0.1:8080/x' })).toBe('http://127.0.0.1:8080/x');
    expect(sysextBaseUrl({ KEELSON_SYSEXT_BASE_URL: 'http://localhost:8080' })).toBe('http://localhost:8080');
  });

  it.each(['http://mirror.example/extensions', 'ftp://mirror.example/', 'http://127.0.0.1.evil.example/', 'https://'])('refuses %s, naming the variable and the fix', (value) => {
    expect(() => sysextBaseUrl({ KEELSON_SYSEXT_BASE_URL: value })).toThrow(
      `KEELSON_SYSEXT_BASE_URL ${JSON.stringify(value)} is not an https URL (plain http only to 127.0.0.1 or localhost, for tests); unset it to use https://extensions.flatcar.org/extensions, or give an https mirror`,
    );
  });
});

describe('the lock file', () => {
  const lock: SysextLock = {
    source: 'https://extensions.flatcar.org/extensions',
    images: {
      '1.36': { sha256: sha('1.36.2'), url: `https://extensions.flatcar.org/extensions/${file('1.36.2')}`, file: file('1.36.2'), release: '1.36.2' },
      '1.35': { release: '1.35.6', file: file('1.35.6'), url: `https://extensions.flatcar.org/extensions/${file('1.35.6')}`, sha256: sha('1.35.6') },
    },
  };
  const write = (text: string) => {
    const path = join(tempDir(), 'kubernetes-sysext.lock.json');
    writeFileSync(path, text);
    return path;
  };

  it('is stable JSON: minors in order, keys in a fixed order, a final newline; it reads back', () => {
    const text = renderSysextLock(lock);
    expect(text).toBe(
      `{\n  "source": "https://extensions.flatcar.org/extensions",\n  "images": {\n    "1.35": {\n      "release": "1.35.6",\n      "file": "${file('1.35.6')}",\n      "url": "https://extensions.flatcar.org/extensions/${file('1.35.6')}",\n      "sha256": "${sha('1.35.6')}"\n    },\n    "1.36": {\n      "release": "1.36.2",\n      "file": "${file('1.36.2')}",\n      "url": "https://extensions.flatcar.org/extensions/${file('1.36.2')}",\n      "sha256": "${sha('1.36.2')}"\n    }\n  }\n}\n`,
    );
    expect(readSysextLock(write(text))).toEqual(lock);
    expect(readSysextLock(join(tempDir(), 'none.json'))).toBeUndefined();
  });

  it.each([
    ['not JSON', '{"source": ', /: not JSON \(.*\); keelson lock writes this file, not a person: run keelson lock on a machine with internet and commit kubernetes-sysext\.lock\.json/],
    ['not the lock shape', '[]', /: expected \{ "source": "<url>", "images": \{ "<minor>": \{ \.\.\. \} \} \}; keelson lock writes this file/],
    ['a hash edited by hand', renderSysextLock(lock).replace(sha('1.36.2'), 'abc'), /: images\["1\.36"\]\.sha256 "abc" is not 64 lower-case hex digits; keelson lock writes this file/],
    ['an image of another release', renderSysextLock(lock).replace(`"file": "${file('1.36.2')}"`, `"file": "${file('1.36.1')}"`), /images\["1\.36"\]\.file "kubernetes-v1\.36\.1-x86-64\.raw" is not kubernetes-v1\.36\.2-x86-64\.raw/],
    ['a URL outside the source', renderSysextLock(lock).replace(`extensions/${file('1.35.6')}"`, `elsewhere/${file('1.35.6')}"`), /images\["1\.35"\]\.url ".*elsewhere.*" is not https:\/\/extensions\.flatcar\.org\/extensions\/kubernetes-v1\.35\.6-x86-64\.raw/],
    ['a release of another minor', renderSysextLock(lock).replace('"release": "1.36.2"', '"release": "1.37.0"'), /images\["1\.36"\]\.release "1\.37\.0" is not a patch release of Kubernetes 1\.36/],
    ['an entry that is not an object', '{"source": "https://x", "images": {"1.36": "1.36.2"}}', /images\["1\.36"\] is not an object/],
  ])('is refused when it is %s, naming the file, the entry and the fix', (_what, text, message) => {
    const path = write(text);
    expect(() => readSysextLock(path)).toThrow(message);
    expect(() => readSysextLock(path)).toThrow(path);
  });

  it('is stale when a minor is locked at another release, missing, or no longer pinned', () => {
    expect(staleLockProblems(lock, releases)).toEqual([]);
    expect(staleLockProblems(lock, { '1.36': '1.36.3', '1.37': '1.37.0' })).toEqual([
      'Kubernetes 1.36 is locked at 1.36.2, but KUBERNETES_RELEASES pins 1.36.3',
      'Kubernetes 1.37 (1.37.0 in KUBERNETES_RELEASES) is not locked',
      'Kubernetes 1.35 is locked, but KUBERNETES_RELEASES has no 1.35',
    ]);
  });

  it('pins the image of the config\'s minor for synth, nothing without the file or the entry, and refuses a stale entry naming both releases', () => {
    const path = write(renderSysextLock(lock));
    expect(pinnedKubernetesSysext(path, '1.36', releases)).toEqual({ lockFile: path, image: lock.images['1.36'] });
    expect(pinnedKubernetesSysext(join(tempDir(), 'none.json'), '1.36', releases).image).toBeUndefined();
    expect(pinnedKubernetesSysext(write(renderSysextLock({ ...lock, images: { '1.35': lock.images['1.35'] } })), '1.36', releases).image).toBeUndefined();
    expect(() => pinnedKubernetesSysext(path, '1.36', { '1.36': '1.36.3' })).toThrow(
      `${path}: Kubernetes 1.36 is locked at 1.36.2, but KUBERNETES_RELEASES pins 1.36.3; run keelson lock on a machine with internet and commit kubernetes-sysext.lock.json`,
    );
  });

  it('is described to the operator in one line, pinned or not', () => {
    expect(describeKubernetesSysext({ lockFile: 'x', image: lock.images['1.36'] })).toBe(`Kubernetes system extension: kubernetes-v1.36.2-x86-64.raw pinned by sha256 ${sha('1.36.2').slice(0, 12)}…`);
    expect(describeKubernetesSysext({ lockFile: 'x' })).toBe(
      'Kubernetes system extension: not pinned by hash (run keelson lock on a machine with internet and commit kubernetes-sysext.lock.json)',
    );
  });
});

describe('lockCommand', () => {
  it('writes the lock next to the config, then --check passes without network', async () => {
    const server = await serve({ '/SHA256SUMS': sums });
    const configPath = configInTemp();
    try {
      const run = await lockCommand({ configPath, env: { KEELSON_SYSEXT_BASE_URL: server.url }, releases });
      expect(run.exitCode).toBe(0);
      expect(run.stdout[0]).toBe(`keelson lock: wrote ${sysextLockPath(configPath)} from ${server.url}/SHA256SUMS`);
      expect(run.stdout).toContain(`  1.36: ${file('1.36.2')} sha256 ${sha('1.36.2')}`);
      expect(readSysextLock(sysextLockPath(configPath))?.images['1.36']?.url).toBe(`${server.url}/${file('1.36.2')}`);
      // Only the lock: no temporary file left beside it.
      expect(readdirSync(join(configPath, '..')).sort()).toEqual(['kubernetes-sysext.lock.json', 'platform.yaml']);
    } finally {
      await server.close();
    }
    const check = await lockCommand({ configPath, check: true, releases });
    expect(check).toEqual({ exitCode: 0, stdout: [`keelson lock --check: ${sysextLockPath(configPath)} pins Kubernetes 1.35.6, 1.36.2 by sha256, as KUBERNETES_RELEASES does`], stderr: [] });
  });

  it('leaves the lock file as it was when the download fails', async () => {
    const configPath = configInTemp();
    writeFileSync(sysextLockPath(configPath), 'an older lock\n');
    const server = await serve({});
    try {
      await expect(lockCommand({ configPath, env: { KEELSON_SYSEXT_BASE_URL: server.url }, releases })).rejects.toThrow(/could not download http:\/\/127\.0\.0\.1:\d+\/SHA256SUMS \(HTTP 404 Not Found\)/);
    } finally {
      await server.close();
    }
    expect(readFileSync(sysextLockPath(configPath), 'utf8')).toBe('an older lock\n');
  });

  it('--check exits 1 when the lock is missing, unreadable or stale, naming the fix', async () => {
    const configPath = configInTemp();
    expect(await lockCommand({ configPath, check: true })).toEqual({
      exitCode: 1,
      stdout: [],
      stderr: [`keelson lock --check: ${sysextLockPath(configPath)} is missing; run keelson lock on a machine with internet and commit kubernetes-sysext.lock.json`],
    });
    writeFileSync(sysextLockPath(configPath), '{');
    expect(await lockCommand({ configPath, check: true })).toMatchObject({ exitCode: 1, stderr: [expect.stringMatching(/^keelson lock --check: .*: not JSON/)] });
    const stale: SysextLock = { source: 'https://x', images: { '1.36': { release: '1.36.1', file: file('1.36.1'), url: `https://x/${file('1.36.1')}`, sha256: sha('1.36.1') } } };
    writeFileSync(sysextLockPath(configPath), renderSysextLock(stale));
    const run = await lockCommand({ configPath, check: true });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toEqual([
      `keelson lock --check: ${sysextLockPath(configPath)} is stale:`,
      `  Kubernetes 1.35 (${KUBERNETES_RELEASES['1.35']} in KUBERNETES_RELEASES) is not locked`,
      `  Kubernetes 1.36 is locked at 1.36.1, but KUBERNETES_RELEASES pins ${KUBERNETES_RELEASES['1.36']}`,
      '  run keelson lock on a machine with internet and commit kubernetes-sysext.lock.json',
    ]);
  });

  it('refuses a config that does not exist: the lock is written next to it', async () => {
    const configPath = join(tempDir(), 'missing', 'platform.yaml');
    await expect(lockCommand({ configPath, env: {} })).rejects.toThrow(
      `--config ${configPath} does not exist; the lock file is written next to the platform config that synth reads: pass an existing config with --config`,
    );
    expect(existsSync(join(configPath, '..'))).toBe(false);
  });
});
