// The parsers' mutation fuzzing with a long budget (never part of `npm test`, which runs 120
// mutations per parser in test/hostile/fuzz.test.ts): the same targets and oracle, seeds from
// --seed on, until --seconds have passed. Prints the table; exits 1 on any violation.
//   node dist/bench/fuzz.js [--seconds 600] [--seed 1] [--per-round 500]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzz, fuzzTable, type FuzzRow } from '../test/hostile/fuzz.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const seconds = arg('seconds', 600);
const perRound = arg('per-round', 500);
const deadline = Date.now() + seconds * 1000;
const dir = mkdtempSync(join(tmpdir(), 'alexnet-fuzz-bench-'));
const total = new Map<string, FuzzRow>();
try {
  for (let seed = arg('seed', 1); Date.now() < deadline; seed++) {
    for (const r of await fuzz(dir, perRound, seed, deadline)) {
      r.violations = r.violations.map((v) => `seed ${seed}: ${v}`);
      const t = total.get(r.target);
      if (!t) total.set(r.target, r);
      else {
        t.tried += r.tried;
        t.refused += r.refused;
        t.identical += r.identical;
        t.faithful += r.faithful;
        t.violations.push(...r.violations);
        if (r.slowest.ms > t.slowest.ms) t.slowest = r.slowest;
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const rows = [...total.values()];
console.log(`fuzzing for ${seconds} s\n${fuzzTable(rows)}`);
for (const r of rows) console.log(`# slowest ${r.target}: ${r.slowest.ms} ms (${r.slowest.what})`);
const bad = rows.flatMap((r) => r.violations.map((v) => `${r.target}: ${v}`));
for (const v of bad) console.log(v);
process.exitCode = bad.length ? 1 : 0;
