#!/usr/bin/env bash
# Packs the kit bench/gpu/run.sh needs on a GPU machine that has no package registry, into
# bench/gpu/out/alexnet-gpu-bench.tar.xz (git-ignored; ≤ 64 MiB): this machine's Node binary, the
# CLI bundled into one file, the `webgpu` package's Dawn binary for linux-x64 with Debian's Vulkan
# loader (libvulkan.so.1) beside it — where Dawn looks first — and the PyTorch CUDA peer.
# Run after `npm run build`:   bash bench/gpu/pack.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/gpu/out
kit=$out/alexnet-gpu-bench
loader=$(ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ { p = $NF } END { print p }')
[[ -f dist/src/cli/main.js ]] || { echo "pack: run npm run build first" >&2; exit 1; }
[[ -f node_modules/webgpu/dist/linux-x64/dawn.node ]] || { echo "pack: the webgpu package is not installed" >&2; exit 1; }
[[ -n $loader ]] || { echo "pack: no libvulkan.so.1 here (apt-get install libvulkan1)" >&2; exit 1; }
rm -rf "$kit"
mkdir -p "$kit/node_modules/webgpu/dist/linux-x64"
node bench/gpu/bundle-cli.mjs "$kit/alexnet.mjs"
echo '{"type":"module"}' >"$kit/package.json"
cp "$(readlink -f "$(command -v node)")" "$kit/node"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$kit/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$kit/node_modules/webgpu/dist/linux-x64/"
cp -L "$loader" "$kit/node_modules/webgpu/dist/linux-x64/libvulkan.so.1"
cp bench/gpu/run.sh bench/gpu/torch_cuda.py tools/golden_nets.py tools/safetensors_io.py "$kit/"
tar -C "$out" -cJf "$out/alexnet-gpu-bench.tar.xz" alexnet-gpu-bench
size=$(stat -c %s "$out/alexnet-gpu-bench.tar.xz")
echo "pack: $out/alexnet-gpu-bench.tar.xz, $((size / 1048576)) MiB (limit 64)"
((size <= 64 * 1048576)) || { echo "pack: over 64 MiB" >&2; exit 1; }
