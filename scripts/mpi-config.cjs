// Tells binding.gyp whether Open MPI's C headers are here and how to build against them, from
// `mpicc --showme` (Open MPI's wrapper compiler). `node scripts/mpi-config.cjs found` prints 1 or
// 0; `cflags` and `libs` print the include and link flags (nothing when MPI is absent).
// ALEXNET_NO_MPI=1 pretends MPI is absent (to build and test the package as a user without it).
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

function showme(what) {
  try {
    return execFileSync('mpicc', [`--showme:${what}`], { encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch {
    return null;
  }
}

function config() {
  if (process.env.ALEXNET_NO_MPI === '1') return null;
  const incdirs = showme('incdirs');
  if (incdirs === null) return null;
  const dirs = incdirs.split(/\s+/).filter(Boolean);
  if (!dirs.some((d) => existsSync(join(d, 'mpi.h')))) return null;
  return { dirs, link: showme('link') ?? '' };
}

const c = config();
const what = process.argv[2];
if (what === 'found') console.log(c ? 1 : 0);
else if (what === 'incdirs') console.log(c ? c.dirs.join(' ') : '');
else if (what === 'libs') console.log(c ? c.link : '');
else {
  console.error('usage: node scripts/mpi-config.cjs found|incdirs|libs');
  process.exit(2);
}
