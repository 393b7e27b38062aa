import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverTrees, removeLeftovers, SWITCH_JOURNAL_FILE, writeTreesAtomically, type OutputTree } from './output-trees';

const STEPS = ['staged:charts', 'staged:infra', 'journal', 'aside:charts', 'switched:charts', 'aside:infra', 'switched:infra', 'committed', 'done'];

/** A render: one public tree and one private tree, both tagged with `run`. */
const render = (out: string, run: string): OutputTree[] => [
  { parent: out, name: 'charts', files: [{ path: `a/${run}.yaml`, content: run }, { path: 'b/same.yaml', content: run }] },
  { parent: out, name: 'infra', mode: 0o700, keep: () => true, files: [{ path: 'main.tf.json', content: run, mode: 0o600 }, { path: `ignition/${run}.ign`, content: run, mode: 0o600 }] },
];

/** Which run a tree holds, from its files: 'old', 'new', 'missing', or 'MIXED'. */
function runOf(dir: string): string {
  if (!existsSync(dir)) return 'missing';
  const runs = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name !== 'terraform.tfstate') runs.add(readFileSync(join(d, e.name), 'utf8'));
    }
  };
  walk(dir);
  return runs.size === 1 ? [...runs][0] : 'MIXED';
}

class Stop extends Error {}

describe('writeTreesAtomically', () => {
  const out = () => mkdtempSync(join(tmpdir(), 'keelson-trees-'));

  it('replaces every tree with exactly its files and leaves nothing beside them', () => {
    const dir = out();
    writeTreesAtomically(render(dir, 'old'), { journalDir: dir });
    writeFileSync(join(dir, 'infra/terraform.tfstate'), 'state', { mode: 0o600 });
    const steps: string[] = [];
    writeTreesAtomically(render(dir, 'new'), { journalDir: dir, onStep: (s) => steps.push(s) });
    expect(steps).toEqual(STEPS);
    expect(readdirSync(join(dir, 'charts', 'a'))).toEqual(['new.yaml']);
    expect(readdirSync(join(dir, 'infra', 'ignition'))).toEqual(['new.ign']);
    expect(readFileSync(join(dir, 'infra/terraform.tfstate'), 'utf8')).toBe('state');
    expect(statSync(join(dir, 'infra')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'charts')).mode & 0o777).toBe(0o755);
    expect(readdirSync(dir).sort()).toEqual(['charts', 'infra']);
  });

  it.each(STEPS.slice(0, 2))('leaves every tree as it was when a run stops after %s, before its journal', (stop) => {
    const dir = out();
    writeTreesAtomically(render(dir, 'old'), { journalDir: dir });
    expect(() => writeTreesAtomically(render(dir, 'new'), { journalDir: dir, onStep: (s) => { if (s === stop) throw new Stop(stop); } })).toThrow(Stop);
    expect([runOf(join(dir, 'charts')), runOf(join(dir, 'infra'))]).toEqual(['old', 'old']);
    expect(readdirSync(dir).sort()).toEqual(['charts', 'infra']);
  });

  it.each(STEPS.slice(2, 7))('rolls every tree back to the old render when renaming fails after %s', (stop) => {
    const dir = out();
    writeTreesAtomically(render(dir, 'old'), { journalDir: dir });
    expect(() => writeTreesAtomically(render(dir, 'new'), { journalDir: dir, onStep: (s) => { if (s === stop) throw new Stop(stop); } })).toThrow(Stop);
    expect([runOf(join(dir, 'charts')), runOf(join(dir, 'infra'))]).toEqual(['old', 'old']);
    expect(statSync(join(dir, 'infra')).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).sort()).toEqual(['charts', 'infra']);
  });

  it('refuses two trees of one switch in the same folder, or one inside another', () => {
    const dir = out();
    expect(() => writeTreesAtomically([{ parent: dir, name: 'a', files: [] }, { parent: join(dir, 'a'), name: 'b', files: [] }], { journalDir: dir })).toThrow(/holds another tree of the same switch/);
    expect(() => writeTreesAtomically([{ parent: dir, name: 'a', files: [] }, { parent: dir, name: 'a', files: [] }], { journalDir: dir })).toThrow(/is written twice/);
  });

  it('stages a tree privately (0700) until it is switched in', () => {
    const dir = out();
    const modes: number[] = [];
    writeTreesAtomically(render(dir, 'new'), {
      journalDir: dir,
      onStep: (s) => {
        if (s === 'journal') for (const e of readdirSync(dir).filter((n) => n.includes('.new-'))) modes.push(statSync(join(dir, e)).mode & 0o777);
      },
    });
    expect(modes).toEqual([0o700, 0o700]);
  });
});

describe('recoverTrees', () => {
  const out = () => mkdtempSync(join(tmpdir(), 'keelson-recover-'));

  /** Simulates a kill after `stop`: the process is gone, its files are as they were at that step. */
  function killedAfter(stop: string): string {
    const dir = out();
    writeTreesAtomically(render(dir, 'old'), { journalDir: dir });
    const frozen = (s: string) => {
      if (s !== stop) return;
      // A kill undoes nothing: copy the folder as it is now, before the rollback of the thrown error runs.
      const copy = out();
      copyTree(dir, copy);
      snapshots.push(copy);
      throw new Stop(s);
    };
    const snapshots: string[] = [];
    try {
      writeTreesAtomically(render(dir, 'new'), { journalDir: dir, onStep: frozen });
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
    return snapshots[0] ?? dir;
  }

  it.each(STEPS)('after a kill at %s, makes both trees one render: the new one once its journal is written', (stop) => {
    const dir = killedAfter(stop);
    const journalled = existsSync(join(dir, SWITCH_JOURNAL_FILE));
    for (const tree of ['charts', 'infra']) expect(['old', 'new', 'missing']).toContain(runOf(join(dir, tree)));
    expect(recoverTrees(dir)).toBe(journalled);
    const want = STEPS.indexOf(stop) >= STEPS.indexOf('journal') ? 'new' : 'old';
    expect([runOf(join(dir, 'charts')), runOf(join(dir, 'infra'))]).toEqual([want, want]);
    removeLeftovers(render(dir, 'x'), dir);
    expect(readdirSync(dir).sort()).toEqual(['charts', 'infra']);
    expect(recoverTrees(dir)).toBe(false);
  });

  it('fails with what to do when the journal is damaged', () => {
    const dir = out();
    writeFileSync(join(dir, SWITCH_JOURNAL_FILE), '{"version":');
    expect(() => recoverTrees(dir)).toThrow(/cannot read the switch journal .*delete it and the \.\*\.new-\* and \.\*\.old-\* folders/);
  });
});

describe('removeLeftovers', () => {
  it('deletes staged and replaced trees and unfinished journals of the named trees only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelson-leftovers-'));
    for (const d of ['charts', '.charts.new-1', '.charts.old-2', '.charts.new-abc.old', '.other.new-1', 'keep']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, `${SWITCH_JOURNAL_FILE}.tmp-9`), '{');
    const removed = removeLeftovers([{ parent: dir, name: 'charts' }], dir).map((p) => p.slice(dir.length + 1));
    expect(removed.sort()).toEqual(['.charts.new-1', '.charts.new-abc.old', '.charts.old-2', `${SWITCH_JOURNAL_FILE}.tmp-9`]);
    expect(readdirSync(dir).sort()).toEqual(['.other.new-1', 'charts', 'keep']);
  });
});

function copyTree(from: string, to: string): void {
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const [a, b] = [join(from, e.name), join(to, e.name)];
    if (e.isDirectory()) {
      mkdirSync(b, { mode: statSync(a).mode & 0o777 });
      copyTree(a, b);
    } else {
      writeFileSync(b, readFileSync(a), { mode: statSync(a).mode & 0o777 });
    }
  }
}
