import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { BootstrapStep } from '@keelson/platform-spec';
import { resolveGitSource } from '@keelson/upstream';

/**
 * Carries every bootstrap step that names a pinned Git source (the Argo CD
 * install) into the node config: synth reads the file once, the way
 * @keelson/upstream finds every Git source (`KEELSON_MANIFESTS_DIR`, else its
 * cache, else a clone of the tag when not `KEELSON_OFFLINE=1`), checks its
 * SHA-256 against the step's pin, and hands the file's text on, so the node
 * never downloads it at first boot. Other steps pass through unchanged.
 *
 * Throws, naming the step, the file, both digests and the fix, when the file
 * cannot be found or has another digest.
 */
export function carryPinnedManifests(steps: readonly BootstrapStep[], env: NodeJS.ProcessEnv = process.env): BootstrapStep[] {
  return steps.map((step) => {
    if (!('gitSource' in step) || step.gitSource === undefined) return step;
    const { name, url, namespace, sha256, gitSource } = step;
    const what = `bootstrap step ${name} (${url})`;
    if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) {
      throw new Error(`${what}: sha256 ${JSON.stringify(sha256)} is not 64 lower-case hex digits; a carried file needs its pin: the first field of \`sha256sum\` of ${gitSource.path} at ${gitSource.revision}`);
    }
    let file: string;
    try {
      file = resolveGitSource(gitSource, { env }).dir;
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
    if (!statSync(file).isFile()) throw new Error(`${what}: ${file} is a folder, not the file ${gitSource.path}; gitSource.path must name one file`);
    const bytes = readFileSync(file);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) {
      throw new Error(
        `${what}: ${file} has sha256 ${actual}, not the pinned ${sha256}; restore that file from ${gitSource.repoURL} at ${gitSource.revision} (or remove it from the cache so synth fetches the tag again), or, for another release, update the pin next to the URL`,
      );
    }
    const contents = bytes.toString('utf8');
    if (!Buffer.from(contents, 'utf8').equals(bytes)) throw new Error(`${what}: ${file} is not UTF-8 text; only a YAML manifest can be carried`);
    return { name, url, ...(namespace !== undefined ? { namespace } : {}), sha256, contents };
  });
}
