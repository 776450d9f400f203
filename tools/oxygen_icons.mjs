// Builds a small colour ImageFolder tree from Debian's Oxygen icon theme, for `alexnet lab
// pca-noise` on a machine without ImageNet or CIFAR-10 (a proxy: icon categories, not photos).
//
//   apt-get install -y oxygen-icon-theme
//   node tools/oxygen_icons.mjs OUT [--per-class N] [--seed S] [--cifar]
//
// Classes are the theme's categories with enough icons (actions, apps, devices, mimetypes,
// places, status). Every icon name is used at each of the sizes 32, 48, 64 and 128 it exists in
// (the theme draws each size separately), flattened onto white and written as a 64×64 RGB PNG.
// Each class gets the same number of images N (default: the smallest category's, rounded down to
// a multiple of 5): its names in a seeded shuffle fill OUT/val/<class> with N/5 images, then
// OUT/train/<class> with the rest; a name never lands in both splits (sizes of the name that
// would overflow a split are dropped). The tree is written to OUT.tmp and renamed: OUT is
// complete or absent. With --cifar, the same images are written in CIFAR-10's binary format
// instead (32×32; train in data_batch_1.bin, val in test_batch.bin, the classes in
// batches.meta.txt), which `--data` resizes whole to the input size: the lab's --quick input of
// 67 sees every icon whole, where the ImageFolder loader crops 67 of its 256×256 cache. Nothing
// here is used by the tests.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const THEME = '/usr/share/icons/oxygen/base';
const CLASSES = ['actions', 'apps', 'devices', 'mimetypes', 'places', 'status'];
const SIZES = ['32x32', '48x48', '64x64', '128x128'];
const SIDE = 64;
const VAL_SHARE = 0.2;

function fail(line) {
  process.stderr.write(`oxygen_icons: ${line}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { out: undefined, perClass: undefined, seed: 1, cifar: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--per-class' || a === '--seed') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < (a === '--seed' ? 0 : 1))
        fail(`${a} ${argv[i]}: must be a ${a === '--seed' ? 'non-negative' : 'positive'} integer`);
      if (a === '--seed') o.seed = n;
      else o.perClass = n;
    } else if (a === '--cifar') o.cifar = true;
    else if (!a.startsWith('--') && o.out === undefined) o.out = a;
    else
      fail(
        `unknown argument ${a} (usage: node tools/oxygen_icons.mjs OUT [--per-class N] [--seed S] [--cifar])`,
      );
  }
  if (!o.out) fail('usage: node tools/oxygen_icons.mjs OUT [--per-class N] [--seed S] [--cifar]');
  return o;
}

/** A seeded Fisher–Yates shuffle (mulberry32), so the same seed picks the same icons. */
function shuffled(items, seed) {
  let t = seed >>> 0;
  const rand = () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** name → the icon files of that name, one per size it exists in. */
function namesOf(cls) {
  const byName = new Map();
  for (const size of SIZES) {
    const dir = join(THEME, size, cls);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)
      .filter((f) => f.endsWith('.png'))
      .sort()) {
      if (!byName.has(f)) byName.set(f, []);
      byName.get(f).push({ size, path: join(dir, f) });
    }
  }
  return byName;
}

const o = parseArgs(process.argv.slice(2));
if (!existsSync(THEME)) fail(`${THEME} is missing (apt-get install -y oxygen-icon-theme)`);
if (existsSync(o.out)) fail(`${o.out} exists; remove it or name another directory`);
const classes = CLASSES.map((cls) => ({ cls, names: namesOf(cls) }));
const imagesOf = (names) => [...names.values()].reduce((n, files) => n + files.length, 0);
const fewest = Math.min(...classes.map((c) => imagesOf(c.names)));
const perClass = o.perClass ?? 5 * Math.floor(fewest / 5);
if (perClass > fewest) fail(`--per-class ${perClass}: the smallest category has ${fewest} images`);
const nVal = Math.round(perClass * VAL_SHARE);
const tmp = `${o.out}.tmp`;
rmSync(tmp, { recursive: true, force: true });
const counts = {};
/** CIFAR-10 records per split: a label byte, then the R, G and B planes of 32×32. */
const records = { train: [], val: [] };
const CIFAR_SIDE = 32;
for (const [label, { cls, names }] of classes.entries()) {
  const want = { val: nVal, train: perClass - nVal };
  const n = { val: 0, train: 0 };
  let split = 'val';
  for (const name of shuffled([...names.keys()].sort(), o.seed)) {
    if (n[split] === want[split]) split = 'train';
    if (n.train === want.train) break;
    const dir = join(tmp, split, cls);
    if (!o.cifar) mkdirSync(dir, { recursive: true });
    for (const { size, path } of names.get(name).slice(0, want[split] - n[split])) {
      const side = o.cifar ? CIFAR_SIDE : SIDE;
      const icon = sharp(path)
        .resize(side, side, { fit: 'contain', background: '#ffffff' })
        .flatten({ background: '#ffffff' })
        .removeAlpha();
      if (o.cifar) {
        const px = await icon.raw().toBuffer(); // [32, 32, 3]
        const rec = Buffer.alloc(1 + px.length);
        rec[0] = label;
        for (let i = 0; i < side * side; i++)
          for (let c = 0; c < 3; c++) rec[1 + c * side * side + i] = px[3 * i + c];
        records[split].push(rec);
      } else await icon.png().toFile(join(dir, `${name.slice(0, -4)}-${size}.png`));
      n[split]++;
    }
  }
  counts[cls] = n;
}
if (o.cifar) {
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'data_batch_1.bin'), Buffer.concat(records.train));
  writeFileSync(join(tmp, 'test_batch.bin'), Buffer.concat(records.val));
  writeFileSync(join(tmp, 'batches.meta.txt'), CLASSES.join('\n') + '\n');
}
renameSync(tmp, o.out);
const total = Object.values(counts).reduce((s, c) => s + c.train + c.val, 0);
process.stdout.write(
  `${o.out}: ${total} images, ${perClass} per class (seed ${o.seed}); ` +
    Object.entries(counts)
      .map(([c, n]) => `${c} ${n.train}+${n.val}`)
      .join(', ') +
    ' (train+val)\n',
);
