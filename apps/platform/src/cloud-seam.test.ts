import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './test-helpers';

// One seam per cloud (issue 24): every fact of a cloud (its credentials'
// variable names, limits, endpoints, server types, prices, API rules) lives
// in its folder packages/infra-nodes/src/<cloud>/ behind NodeProvider. This
// test reads the code of every other package (identifiers, strings, regular
// expressions; comments are documentation) and fails on a cloud's name
// outside the folders and files listed below, each with its reason.

/** Words that name a cloud or one of its products, as code spells them. */
const CLOUD_WORDS = /digital[-_ ]?ocean|\bdo_|0do_volume|hetzner|hcloud|0hc_volume|droplet|(^|[^a-z])spaces_|minio/i;

/** Where cloud names belong: the providers, tests and generated code. */
const PROVIDER_FOLDERS = ['packages/infra-nodes/src/'];
const isTestFile = (file: string): boolean => /\.(int\.)?test\.ts$/.test(file) || /\/test-[^/]+\.ts$/.test(file) || /\/testing\//.test(file);
const isGenerated = (file: string): boolean => /\/src\/(generated|imports)\//.test(file);

/** Files outside the providers that may name a cloud, and why. */
const STATED_EXCEPTIONS: Readonly<Record<string, string>> = {
  'packages/platform-spec/src/config-schema.ts': 'the config names the provider (provider.name: digitalocean | hetzner) and checks its region at parse time',
  'packages/platform-spec/src/catalogue.ts': "each provider's regions, which the config schema validates provider.region against",
  'packages/platform-spec/src/example.ts': 'the example config picks a provider',
  'packages/platform-spec/src/index.ts': "re-exports the catalogue's regions of each provider",
  'packages/k8s-schemas/src/secrets.ts': "the secret scanner knows a DigitalOcean token's shape, to keep tokens out of the output",
  'packages/verify/src/firewall.ts': "verify's reader of DigitalOcean's firewall, load balancer and Spaces bucket rules in the rendered Terraform",
};

/** Every source file of the apps and packages, relative to `root`. */
function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(relative(root, path));
    }
  };
  for (const top of ['apps', 'packages']) {
    for (const pkg of readdirSync(join(root, top), { withFileTypes: true })) {
      const src = join(root, top, pkg.name, 'src');
      if (pkg.isDirectory() && readdirSync(join(root, top, pkg.name)).includes('src')) walk(src);
    }
  }
  return out.sort();
}

/** `file:line: text` of each identifier, string, template or regular expression in `file` that names a cloud. */
function cloudNamesIn(root: string, file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const hits: string[] = [];
  const visit = (node: ts.Node): void => {
    const literal =
      ts.isIdentifier(node) || ts.isPrivateIdentifier(node) || ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isRegularExpressionLiteral(node) || ts.isTemplateLiteralToken(node)
        ? node.text
        : undefined;
    if (literal !== undefined && CLOUD_WORDS.test(literal)) {
      hits.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${literal.slice(0, 100)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return hits;
}

/** Cloud names in code outside the providers, tests, generated code and the stated exceptions. */
function leaks(root: string, exceptions: Readonly<Record<string, string>> = STATED_EXCEPTIONS): string[] {
  return sourceFiles(root)
    .filter((f) => !PROVIDER_FOLDERS.some((p) => f.startsWith(p)) && !isTestFile(f) && !isGenerated(f) && !(f in exceptions))
    .flatMap((f) => cloudNamesIn(root, f));
}

describe('one seam per cloud', () => {
  it('names no cloud in code outside packages/infra-nodes/src/<cloud>/, tests, generated code and the stated exceptions', () => {
    expect(leaks(repoRoot)).toEqual([]);
  });

  it('states only exceptions that still name a cloud, each with its reason', () => {
    for (const [file, reason] of Object.entries(STATED_EXCEPTIONS)) {
      expect(reason.length).toBeGreaterThan(20);
      expect([file, cloudNamesIn(repoRoot, file).length > 0]).toEqual([file, true]);
    }
  });

  describe('on a tree of its own', () => {
    let work: string;
    beforeEach(() => {
      work = mkdtempSync(join(tmpdir(), 'keelson-cloud-seam-'));
    });
    afterEach(() => rmSync(work, { recursive: true, force: true }));
    const put = (file: string, text: string): void => {
      mkdirSync(dirname(join(work, file)), { recursive: true });
      writeFileSync(join(work, file), text);
    };

    it("refuses a cloud's variable, limit or resource type in a layer or the app, naming the file and line", () => {
      put('apps/platform/src/deploy.ts', "// Comments may explain DigitalOcean's rules.\nexport const next = 'check DIGITALOCEAN_TOKEN';\n");
      put('packages/network/src/net.ts', 'export const limit = 1;\nconst HCLOUD = /hcloud_server/;\nexport { HCLOUD };\n');
      put('packages/storage-rook/src/x.ts', 'export const path = `/dev/disk/by-id/${"scsi-0DO_Volume_"}`;\n');
      expect(leaks(work, {})).toEqual([
        "apps/platform/src/deploy.ts:2: check DIGITALOCEAN_TOKEN",
        'packages/network/src/net.ts:2: HCLOUD',
        'packages/network/src/net.ts:2: /hcloud_server/',
        'packages/network/src/net.ts:3: HCLOUD',
        'packages/storage-rook/src/x.ts:1: scsi-0DO_Volume_',
      ]);
    });

    it('lets the providers, tests, generated code and stated exceptions name clouds', () => {
      put('packages/infra-nodes/src/hetzner/pins.ts', "export const v = 'HCLOUD_TOKEN';\n");
      put('packages/verify/src/firewall.test.ts', "const t = 'digitalocean_firewall';\n");
      put('packages/storage-rook/src/generated/ceph.ts', "export const hetzner = 1;\n");
      put('packages/platform-spec/src/catalogue.ts', "export const DIGITALOCEAN_REGIONS = ['fra1'];\n");
      put('apps/platform/src/ok.ts', "// DigitalOcean's user-data limit is the provider's to state.\nexport const ok = 1;\n");
      expect(leaks(work, { 'packages/platform-spec/src/catalogue.ts': 'regions the config schema checks' })).toEqual([]);
    });
  });
});
