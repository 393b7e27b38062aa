import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadPlatformSpec, parseConfigText, parsePlatformConfig, PlatformConfigError } from './load';
import { exampleConfig } from './example';

const fixture = join(__dirname, 'test-fixtures/platform.yaml');
const base = YAML.parse(readFileSync(fixture, 'utf8'));

/** Applies `change` to a copy of the example config and returns the problems it causes. */
function problemsAfter(change: (c: any) => void): Array<{ path: string; message: string }> {
  const config = structuredClone(base);
  change(config);
  try {
    parsePlatformConfig(config, 'platform.yaml');
  } catch (e) {
    if (e instanceof PlatformConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('expected the config to be refused');
}

describe('loadPlatformSpec', () => {
  it('loads the example platform from YAML with its defaults applied', () => {
    const spec = loadPlatformSpec(fixture);
    expect(spec.config.provider).toEqual({ name: 'digitalocean', region: 'fra1' });
    expect(spec.budget).toMatchObject({ nodes: 6, k: 2, etcdMembers: 5, poolSize: 4 });
    expect(spec.topology.nodes).toHaveLength(6);
  });

  it('loads the same platform from JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelson-spec-'));
    const file = join(dir, 'platform.json');
    writeFileSync(file, JSON.stringify(base));
    expect(loadPlatformSpec(file).config).toEqual(loadPlatformSpec(fixture).config);
  });

  it('fills defaults for optional sections', () => {
    const minimal = structuredClone(base);
    delete minimal.versions;
    delete minimal.layers;
    delete minimal.faultModel;
    delete minimal.nodes.workers;
    minimal.nodes.controllers = { count: 3 };
    const spec = parsePlatformConfig(minimal);
    expect(spec.config.versions).toEqual({ kubernetes: '1.36', flatcarChannel: 'stable' });
    expect(spec.config.layers).toEqual({ network: 'cilium', ingress: 'traefik', storage: 'rook-ceph', backups: 'velero' });
    expect(spec.config.nodes.workers).toEqual({ count: 0, size: 's-4vcpu-8gb' });
    expect(spec.config.faultModel).toEqual({ type: 'any-third' });
  });

  it('fails on a file that is not valid YAML, with line and column', () => {
    expect(() => parseConfigText('cluster:\n  name: [unclosed\n', 'platform.yaml')).toThrow(/\(file\): not valid YAML at line \d+, column \d+/);
  });

  it('fails on a missing file, naming --config', () => {
    expect(() => loadPlatformSpec('/nonexistent/platform.yaml')).toThrow(/cannot read \/nonexistent\/platform.yaml \(ENOENT\); pass an existing file with --config/);
  });

  it('fails on a top level that is not a mapping', () => {
    expect(() => parseConfigText('- a\n- b\n', 'p.yaml')).toThrow(/expected a mapping of settings at the top level, got a list/);
  });
});

describe('config refusals name the field, the value and the fix', () => {
  it('an unknown key, with a spelling suggestion', () => {
    expect(problemsAfter((c) => (c.provider.regoin = 'fra1'))).toEqual([
      { path: 'provider.regoin', message: expect.stringMatching(/unknown key "regoin"; allowed here: name, region\. Did you mean "region"\?/) },
    ]);
  });

  it('a string where a number belongs', () => {
    expect(problemsAfter((c) => (c.nodes.volumeSizeGiB = 'big'))).toEqual([
      { path: 'nodes.volumeSizeGiB', message: 'expected a whole number, got "big" (a string); write a whole number' },
    ]);
  });

  it('a quoted number, suggesting to drop the quotes', () => {
    expect(problemsAfter((c) => (c.nodes.controllers.count = '5'))).toEqual([
      { path: 'nodes.controllers.count', message: expect.stringMatching(/got "5" \(a string\); drop the quotes: 5/) },
    ]);
  });

  it('2 nodes', () => {
    expect(problemsAfter((c) => ((c.nodes.controllers.count = 1), (c.nodes.workers.count = 1)))).toEqual([
      { path: 'nodes', message: expect.stringMatching(/2 nodes \(1 controller \+ 1 worker\) cannot survive losing any node.*at least 3 nodes/) },
    ]);
  });

  it('6 nodes with 3 controllers', () => {
    expect(problemsAfter((c) => ((c.nodes.controllers.count = 3), (c.nodes.workers.count = 3)))).toEqual([
      { path: 'nodes.controllers.count', message: expect.stringMatching(/losing 2 of 6 nodes can take 2 of 3 etcd members.*use 5 controllers/) },
    ]);
  });

  it('an even controller count', () => {
    expect(problemsAfter((c) => ((c.nodes.controllers.count = 4), (c.nodes.workers.count = 0)))).toEqual([
      { path: 'nodes.controllers.count', message: expect.stringMatching(/4 is even.*Use 3 or 5/) },
    ]);
  });

  it('an invalid domain', () => {
    expect(problemsAfter((c) => (c.domain = 'example..com'))).toEqual([
      { path: 'domain', message: expect.stringMatching(/got "example\.\.com".*fully qualified domain name/) },
    ]);
  });

  it('an e-mail without @', () => {
    expect(problemsAfter((c) => (c.acme.email = 'ops'))).toEqual([
      { path: 'acme.email', message: expect.stringMatching(/got "ops", not a valid email; use a full e-mail address/) },
    ]);
  });

  it('a region DigitalOcean does not have', () => {
    expect(problemsAfter((c) => (c.provider.region = 'fra2'))).toEqual([
      { path: 'provider.region', message: expect.stringMatching(/got "fra2"; allowed: ams3, .*fra1.*Did you mean "fra1"\?/) },
    ]);
  });

  it('a cloud provider Keelson does not support', () => {
    expect(problemsAfter((c) => (c.provider.name = 'aws'))).toEqual([
      { path: 'provider.name', message: 'got "aws"; allowed: digitalocean, hetzner' },
    ]);
  });

  it('a Kubernetes version outside the supported list', () => {
    expect(problemsAfter((c) => (c.versions.kubernetes = '1.29'))).toEqual([
      { path: 'versions.kubernetes', message: 'got "1.29"; allowed: 1.35, 1.36' },
    ]);
  });

  it('an unquoted Kubernetes version, which YAML reads as a number', () => {
    expect(problemsAfter((c) => (c.versions.kubernetes = 1.36))).toEqual([
      { path: 'versions.kubernetes', message: expect.stringMatching(/quote the version: kubernetes: "1\.36"/) },
    ]);
  });

  it('a bad CIDR in the admin list, with its index', () => {
    expect(problemsAfter((c) => (c.adminCidrs = ['10.0.0.0/8', '300.1.1.1/24']))).toEqual([
      { path: 'adminCidrs[1]', message: expect.stringMatching(/got "300\.1\.1\.1\/24"/) },
    ]);
  });

  it('every problem at once, structural and fault budget together', () => {
    const problems = problemsAfter((c) => {
      c.acme.email = 'ops';
      c.domain = 'nope';
      c.nodes.controllers.count = 3;
      c.nodes.workers.count = 3;
    });
    expect(problems.map((p) => p.path).sort()).toEqual(['acme.email', 'domain', 'nodes.controllers.count']);
  });

  it('formats the error as one line per problem under the file name', () => {
    const config = structuredClone(base);
    config.acme.email = 'ops';
    config.cluster.nmae = 'x';
    expect(() => parsePlatformConfig(config, 'platform.yaml')).toThrow(
      /^platform\.yaml: 2 problems\n {2}cluster\.nmae: unknown key "nmae".*\n {2}acme\.email: got "ops"/,
    );
  });
});

describe('exampleConfig', () => {
  it('is a valid config equal to the example platform file once defaults apply', () => {
    const fromFile = loadPlatformSpec(fixture).config;
    expect(parsePlatformConfig(exampleConfig()).config).toEqual({ ...fromFile, acme: { ...fromFile.acme } });
  });
});

describe('config details', () => {
  it('lists only the chosen fault model keys when a key is unknown', () => {
    expect(problemsAfter((c) => (c.faultModel = { type: 'any-third', domains: 3 }))).toEqual([
      { path: 'faultModel.domains', message: 'unknown key "domains"; allowed here: type. Remove it or fix its spelling' },
    ]);
  });

  it('accepts YAML merge keys for shared node settings', () => {
    const text = readFileSync(fixture, 'utf8').replace(
      /nodes:\n {2}# .*\n {2}controllers:\n {4}count: 5\n {4}size: s-4vcpu-8gb\n {2}workers:\n {4}count: 1\n {4}size: s-4vcpu-8gb/,
      'nodes:\n  controllers: &node\n    count: 5\n    size: s-4vcpu-8gb\n  workers:\n    <<: *node\n    count: 1',
    );
    expect(text).toContain('<<: *node');
    expect(parsePlatformConfig(parseConfigText(text, 'p.yaml')).config.nodes.workers).toEqual({ count: 1, size: 's-4vcpu-8gb' });
  });

  it('refuses zero controllers', () => {
    expect(problemsAfter((c) => (c.nodes.controllers.count = 0))).toEqual([
      { path: 'nodes.controllers.count', message: expect.stringMatching(/got 0, .*>=1/) },
    ]);
  });

  it('calls a list a list', () => {
    expect(problemsAfter((c) => (c.adminCidrs = '10.0.0.0/8'))).toEqual([
      { path: 'adminCidrs', message: 'expected a list, got "10.0.0.0/8" (a string); write a list' },
    ]);
  });
});

describe('hostile gitops values are refused by name (issue 22: synth replaces gitops.path whole)', () => {
  it.each(['.', '..', '.git', 'secrets', 'infra-out', '/etc', 'charts-out/../..', 'charts-out/.git', 'a//b', 'secrets/keelson'])('refuses gitops.path %j', (path) => {
    const problems = problemsAfter((c) => (c.gitops.path = path));
    expect(problems).toEqual([{ path: 'gitops.path', message: expect.stringMatching(/(use a relative folder of its own|names a folder synth does not own)/) }]);
    expect(problems[0].message).toContain(JSON.stringify(path));
  });

  it.each(['main; rm -rf / #', '-x', 'a..b', 'refs/heads/', 'main.lock', '$(reboot)', 'v1 2'])('refuses gitops.revision %j, which is no Git ref name', (revision) => {
    expect(problemsAfter((c) => (c.gitops.revision = revision))).toEqual([{ path: 'gitops.revision', message: expect.stringContaining('use a branch, tag or commit name as Git allows it') }]);
  });

  it.each(['https://ops:ghp_secret@github.com/you/platform.git', 'https://ghp_secret@github.com/you/platform.git'])('refuses credentials in gitops.repoURL %s, naming the fix but not the secret', (repoURL) => {
    const [problem] = problemsAfter((c) => (c.gitops.repoURL = repoURL));
    expect(problem.path).toBe('gitops.repoURL');
    expect(problem.message).toMatch(/holds credentials .* give Argo CD a deploy key or a repository Secret at deploy time/);
    expect(problem.message).not.toContain('ghp_secret');
    expect(problem.message).toContain('https://***@github.com/you/platform.git');
  });

  it('accepts ordinary folders, refs and URLs', () => {
    for (const gitops of [
      { repoURL: 'https://github.com/you/platform.git', revision: 'v1.2.0', path: 'deploy/charts' },
      { repoURL: 'git@github.com:you/platform.git', revision: '0123456789abcdef0123456789abcdef01234567', path: 'charts-out' },
      { repoURL: 'ssh://git@example.com/you/platform.git', revision: 'release/2026-12', path: 'gitops_v2' },
    ]) {
      expect(parsePlatformConfig({ ...structuredClone(base), gitops }).config.gitops).toEqual(gitops);
    }
  });
});

describe("the website's Git source", () => {
  it('refuses credentials in its repoURL without echoing them, and a revision that is no Git ref name', () => {
    const problems = problemsAfter((c) => (c.apps = { website: { source: { type: 'git', repoURL: 'https://x-access-token:ghs_secret@github.com/you/site.git', revision: 'main && reboot' } } }));
    expect(problems.map((p) => p.path)).toEqual(['apps.website.source.repoURL', 'apps.website.source.revision']);
    expect(problems[0].message).toMatch(/holds credentials .* remove them/);
    expect(JSON.stringify(problems)).not.toContain('ghs_secret');
  });
});
