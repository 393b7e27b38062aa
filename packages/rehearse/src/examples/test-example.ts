// What every example's rehearsal file shares (issues 19 and 22): synthesise
// examples/<name>.yaml with the built CLI, as a user's `keelson synth` would,
// rehearse it and refuse any failure. One file per example, so Jest runs the
// rehearsals side by side in its workers (rehearse's jest.int.config.cjs): a
// rehearsal mostly waits on the real controllers' clocks.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadPlatformSpec } from '@keelson/platform-spec';
import { formatRehearsal } from '../format';
import { rehearse, type RehearsalReport, type RehearseOptions } from '../rehearse';
import { synthWithCli } from '../test-fixtures';

/** examples/ at the repository's root. */
const EXAMPLES_DIR = resolve(__dirname, '../../../../examples');

/** The examples not rehearsed: 60 kwok processes and their pods do not fit a 2-core CI runner's time (the platform's tests synthesise and verify it). */
export const NOT_REHEARSED = ['sixty-nodes'];

/** The example each `<name>.int.test.ts` beside this file rehearses. */
export const rehearsedExamples = (): string[] =>
  readdirSync(__dirname)
    .filter((f) => f.endsWith('.int.test.ts'))
    .map((f) => f.slice(0, -'.int.test.ts'.length));

/** Every examples/*.yaml, by name. */
export const allExamples = (): string[] =>
  readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length));

/** Synthesises examples/<name>.yaml with the built CLI and rehearses it; fails the test on any rehearsal failure. */
export async function rehearseExample(name: string, options: Partial<RehearseOptions> = {}): Promise<RehearsalReport> {
  const dir = mkdtempSync(join(tmpdir(), `keelson-rehearse-${name}-`));
  try {
    const file = join(EXAMPLES_DIR, `${name}.yaml`);
    const rendered = await synthWithCli(file, dir);
    const report = await rehearse(loadPlatformSpec(file), { ...rendered, ...options });
    expect({ failures: report.failures, summary: report.ok ? '' : formatRehearsal(report) }).toEqual({ failures: [], summary: '' });
    return report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An example that swaps a layer or a cloud: synced, placed and drained. Its
 * nodes fail like the default's, whose faults rehearse.int.test.ts rehearses.
 */
export async function expectSyncedPlacedDrained(name: string): Promise<void> {
  const report = await rehearseExample(name, { faults: false });
  expect(report.sync.applications.every((a) => a.status === 'Synced')).toBe(true);
  expect(report.scheduling?.pending).toEqual([]);
  expect(report.disruptions?.drain?.pods.every((p) => p.evicted)).toBe(true);
}
