import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { repoRoot } from './test-helpers';

// The docs stand alone: every relative link in the README, CONTRIBUTING,
// CHANGELOG, docs/ and the package READMEs names a file of the repository.
// A link that leaves it (`../shared/DESIGN.md`) works only on one machine.

/** Environment folders beside the repository that prose may name (where tests read pinned sources), never link to. */
const ENVIRONMENT_FOLDERS = ['charts', 'manifests', 'schemas'];

/** The Markdown files that must stand alone, relative to `root`. */
function docFiles(root: string): string[] {
  const files = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md'].filter((f) => existsSync(join(root, f)));
  const docs = join(root, 'docs');
  if (existsSync(docs)) files.push(...readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (entry.isDirectory() && !['node_modules', 'dist', 'generated'].includes(entry.name)) walk(`${dir}/${entry.name}`);
      else if (entry.isFile() && entry.name === 'README.md') files.push(`${dir}/${entry.name}`);
    }
  };
  for (const top of ['packages', 'apps']) if (existsSync(join(root, top))) walk(top);
  return files;
}

/** The text outside fenced code blocks and inline code spans, line by line (code is not a link). */
function proseLines(markdown: string): Array<{ line: number; text: string; code: string[] }> {
  const out: Array<{ line: number; text: string; code: string[] }> = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((raw, i) => {
    const opener = /^\s*(```+|~~~+)/.exec(raw);
    if (opener) {
      if (fence === undefined) fence = opener[1][0];
      else if (opener[1][0] === fence) fence = undefined;
      return;
    }
    if (fence !== undefined) return;
    const code: string[] = [];
    const text = raw.replace(/`+([^`]*)`+/g, (_m, c: string) => {
      code.push(c);
      return '';
    });
    out.push({ line: i + 1, text, code });
  });
  return out;
}

/** Every link target of the file: inline links and images, and reference definitions. */
function linkTargets(markdown: string): Array<{ line: number; target: string }> {
  const targets: Array<{ line: number; target: string }> = [];
  for (const { line, text } of proseLines(markdown)) {
    for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push({ line, target: m[1] });
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
    if (definition) targets.push({ line, target: definition[1] });
  }
  return targets;
}

/**
 * What is wrong with the links of `file` (relative to `root`): each a line
 * naming the file, the line, the target and the fix. Links to a URL
 * (`https:`, `mailto:`) and to an anchor of the same page are not checked.
 */
function badLinks(root: string, file: string): string[] {
  const markdown = readFileSync(join(root, file), 'utf8');
  const problems: string[] = [];
  for (const { line, target } of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    const where = `${file}:${line}: link "${target}"`;
    const path = decodeURIComponent(target.replace(/[?#].*$/, ''));
    if (isAbsolute(path)) {
      problems.push(`${where} is an absolute path; link to the file relative to ${file}`);
      continue;
    }
    const resolved = resolve(root, dirname(file), path);
    const inside = relative(root, resolved);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      problems.push(`${where} leaves the repository (${resolved}); link to a file in it, such as docs/architecture.md`);
    } else if (!existsSync(resolved)) {
      problems.push(`${where} names ${inside}, which does not exist; fix the path or add the file`);
    }
  }
  // A path beside the repository may be named (where tests read pinned sources), but only those folders.
  for (const { line, text, code } of proseLines(markdown)) {
    for (const part of [text, ...code]) {
      for (const m of part.matchAll(/\.\.\/shared\/([A-Za-z0-9_.-]+)/g)) {
        if (!ENVIRONMENT_FOLDERS.includes(m[1])) {
          problems.push(`${file}:${line}: names ../shared/${m[1]}, a file outside the repository; say it in the repository's own docs (docs/architecture.md) instead`);
        }
      }
    }
  }
  return problems;
}

describe('docs link only to files in the repository', () => {
  it('finds the README, CONTRIBUTING, CHANGELOG, docs/architecture.md and the package READMEs', () => {
    const files = docFiles(repoRoot);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', 'docs/architecture.md', 'packages/verify/README.md']));
  });

  it('every relative link points at a file that exists, and none leaves the repository', () => {
    const problems = docFiles(repoRoot).flatMap((f) => badLinks(repoRoot, f));
    expect(problems).toEqual([]);
  });

  it('the README links to the architecture, CONTRIBUTING and CHANGELOG', () => {
    const targets = linkTargets(readFileSync(join(repoRoot, 'README.md'), 'utf8')).map((t) => t.target);
    expect(targets).toEqual(expect.arrayContaining(['docs/architecture.md', 'CONTRIBUTING.md', 'CHANGELOG.md']));
  });

  describe('the check refuses a broken doc', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'keelson-docs-'));
      mkdirSync(join(root, 'docs'));
      writeFileSync(join(root, 'docs/architecture.md'), '# Architecture\n');
      writeFileSync(join(root, 'CONTRIBUTING.md'), '# Contributing\n');
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    const check = (readme: string) => {
      writeFileSync(join(root, 'README.md'), readme);
      return docFiles(root).flatMap((f) => badLinks(root, f));
    };

    it('refuses a link that leaves the repository, naming the file, the line and the fix', () => {
      expect(check('# Keelson\n\nThe design is in [the design](../shared/DESIGN.md).\n')).toEqual([
        expect.stringMatching(/^README\.md:3: link "\.\.\/shared\/DESIGN\.md" leaves the repository .*; link to a file in it, such as docs\/architecture\.md$/),
        expect.stringMatching(/^README\.md:3: names \.\.\/shared\/DESIGN\.md, a file outside the repository/),
      ]);
    });

    it('refuses a link to a file that does not exist', () => {
      expect(check('See [contributing](CONTRIBUTING.md) and [the changelog](CHANGELOG.md#unreleased).\n')).toEqual([
        'README.md:1: link "CHANGELOG.md#unreleased" names CHANGELOG.md, which does not exist; fix the path or add the file',
      ]);
    });

    it('refuses an absolute path and a reference definition that leaves the repository', () => {
      expect(check('See [a][design] and ![logo](/tmp/logo.png).\n\n[design]: ../../DESIGN.md\n')).toEqual([
        'README.md:1: link "/tmp/logo.png" is an absolute path; link to the file relative to README.md',
        expect.stringMatching(/^README\.md:3: link "\.\.\/\.\.\/DESIGN\.md" leaves the repository/),
      ]);
    });

    it('refuses a package README whose link climbs out of the repository', () => {
      mkdirSync(join(root, 'packages/demo'), { recursive: true });
      writeFileSync(join(root, 'packages/demo/README.md'), 'Back to [the README](../../README.md); see [design](../../../shared/DESIGN.md).\n');
      expect(check('# Keelson\n')).toEqual([expect.stringMatching(/^packages\/demo\/README\.md:1: link "\.\.\/\.\.\/\.\.\/shared\/DESIGN\.md" leaves the repository/), expect.stringMatching(/names \.\.\/shared\/DESIGN\.md/)]);
    });

    it('accepts links inside the repository, URLs, anchors, code and the pinned-source folders named as facts', () => {
      const readme = [
        'See [architecture](docs/architecture.md#the-shape), [contributing](./CONTRIBUTING.md), [a site](https://example.com/x), [below](#below).',
        'Tests read the charts from `../shared/charts` and `../shared/manifests`.',
        '```',
        '[not a link](../outside.md)',
        '```',
        'Inline code is no link: `[x](../y.md)`.',
      ].join('\n');
      expect(check(readme)).toEqual([]);
    });
  });
});
