import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Publishability: the package as npm would publish it (npm pack of the built
 * dist/) installs into a project outside the workspace and works there.
 */
describe('the packed @keelson/platform-spec', () => {
  const pkgDir = resolve(__dirname, '..');
  const work = mkdtempSync(join(tmpdir(), 'keelson-pack-'));

  it('installs from its tarball alone and checks a config', () => {
    execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: pkgDir, stdio: 'pipe' });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack wrote no tarball to ${work}`);
    const listing = execFileSync('tar', ['-tzf', join(work, tarball)], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/README.md');
    expect(listing.filter((f) => /\.test\.|test-fixtures|\/src\//.test(f))).toEqual([]);

    const project = join(work, 'consumer');
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=peer', join(work, tarball)], { cwd: project, stdio: 'pipe' });
    writeFileSync(
      join(project, 'use.js'),
      `const { parsePlatformConfig, exampleConfig, PlatformConfigError } = require('@keelson/platform-spec');
       const spec = parsePlatformConfig(exampleConfig());
       let refused = '';
       try { parsePlatformConfig({ ...exampleConfig(), nodes: { controllers: { count: 3 }, workers: { count: 3 } } }); }
       catch (e) { refused = e instanceof PlatformConfigError ? e.problems[0].message : 'wrong error'; }
       console.log(JSON.stringify({ k: spec.budget.k, nodes: spec.topology.nodes.length, refused }));`,
    );
    const out = JSON.parse(execFileSync('node', ['use.js'], { cwd: project, encoding: 'utf8' }));
    expect(out).toEqual({ k: 2, nodes: 6, refused: expect.stringMatching(/losing 2 of 6 nodes/) });
  }, 120_000);
});
