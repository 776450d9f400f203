// Bundles the built CLI (dist/src/cli/main.js) into one ES module for the GPU bench kit, so the
// kit needs no node_modules but `webgpu` (loaded at run time, beside the bundle). `sharp` (image
// decoding, ~30 MB with libvips) is replaced by a stub that says it is absent: `alexnet bench`
// uses synthetic data. The package's name and version, which the CLI reads from package.json
// beside dist/ at run time, are inlined (the kit has no such tree).
// The worker scripts of `--parallel towers` and `hybrid` are bundled beside it.
//   node bench/gpu/bundle-cli.mjs OUT.mjs
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const stub = {
  name: 'no-sharp',
  setup(b) {
    b.onResolve({ filter: /^sharp$/ }, () => ({ path: 'sharp', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents:
        "export default () => { throw new Error('image decoding (sharp) is not in the GPU bench kit'); };",
    }));
  },
};

const { name, version } = JSON.parse(readFileSync('package.json', 'utf8'));
const inlineVersion = {
  name: 'inline-version',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]src[\\/]util[\\/]version\.js$/ }, () => ({
      contents: `export function packageInfo() { return ${JSON.stringify({ name, version })}; }`,
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu', 'onnxruntime-node'],
  plugins: [stub, inlineVersion],
  // Bundled CommonJS dependencies call require(); give the module one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: ['dist/src/cli/main.js'],
  outfile: process.argv[2],
  footer: { js: 'main(process.argv);' },
});
// `--parallel towers` and `hybrid` start their workers from these scripts, beside the bundle
// (new URL('./towers-worker.js', import.meta.url) in src/parallel/towers.ts and hybrid.ts).
for (const script of ['towers-worker.js', 'hybrid-worker.js'])
  await build({
    ...common,
    entryPoints: [`dist/src/parallel/${script}`],
    outfile: join(dirname(process.argv[2]), script),
  });
