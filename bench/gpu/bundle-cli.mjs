// Bundles the built CLI (dist/src/cli/main.js) into one ES module for the GPU bench kit, so the
// kit needs no node_modules but `webgpu` (loaded at run time, beside the bundle). `sharp` (image
// decoding, ~30 MB with libvips) is replaced by a stub that says it is absent: `alexnet bench`
// uses synthetic data.   node bench/gpu/bundle-cli.mjs OUT.mjs
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

await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: process.argv[2],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu', 'onnxruntime-node'],
  plugins: [stub],
  // Bundled CommonJS dependencies call require(); give the module one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  footer: { js: 'main(process.argv);' },
  logLevel: 'warning',
});
