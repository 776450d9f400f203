// The hostile-input suite through the real CLI: every generated input of cases.ts must end
// cleanly — exit code 2, one line naming the file, no stack trace, no hang, peak memory within
// its bound, no output or temporary file left. Prints the table of inputs by class and how many
// were clean (the README's "Input safety" quotes it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostileCases, writeBases, type HostileCase } from './cases.js';
import { judge, runHostile } from './run.js';
import { mapLimit } from '../../src/data/image-cache.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-hostile-'));

test('hostile inputs through the CLI: exit 2, one line naming the file, bounded memory, nothing written', async () => {
  const started = Date.now();
  const bases = writeBases(dir);
  const baseline = await runHostile(['predict', '--model', bases.model, join(dir, 'ok.png')]);
  assert.equal(baseline.status, 0, baseline.stderr);
  const cases = hostileCases(dir, { ...bases, predictMiB: baseline.peakMiB });
  const byClass = new Map<string, { n: number; clean: number; peak: number }>();
  const failures: string[] = [];
  // two at a time: the runs are mostly node starting up; the memory cases are measured per process
  const outcomes = await mapLimit(cases, 2, (c) => runHostile(c.args, c.timeoutMs));
  cases.forEach((c: HostileCase, i) => {
    const o = outcomes[i];
    const why = judge(o, c.expect);
    const row = byClass.get(c.klass) ?? { n: 0, clean: 0, peak: 0 };
    row.n++;
    row.peak = Math.max(row.peak, o.peakMiB);
    if (why.length === 0) row.clean++;
    else failures.push(`${c.klass} / ${c.name}: ${why.join('; ')}`);
    byClass.set(c.klass, row);
  });
  const rows = [...byClass].map(
    ([k, r]) =>
      `# ${k.padEnd(26)} ${String(r.n).padStart(3)} ${String(r.clean).padStart(5)}  ${r.peak.toFixed(0).padStart(5)} MiB`,
  );
  const total = [...byClass.values()].reduce((a, r) => a + r.n, 0);
  const clean = [...byClass.values()].reduce((a, r) => a + r.clean, 0);
  console.log(
    [
      `# hostile CLI inputs (predict baseline ${baseline.peakMiB.toFixed(0)} MiB), ${Date.now() - started} ms`,
      `# ${'class'.padEnd(26)} ${'n'.padStart(3)} clean   peak`,
      ...rows,
      `# ${'total'.padEnd(26)} ${String(total).padStart(3)} ${String(clean).padStart(5)}`,
    ].join('\n'),
  );
  assert.deepEqual(failures, []);
});
