#!/usr/bin/env bash
# On a GPU machine: `alexnet bench --backend webgpu` for every variant at batch 128, training and
# inference, beside PyTorch on CUDA (cuDNN fp32, TF32 off, and bf16 autocast) in the same run,
# with same-run ratios; then alexnet2012 and caffenet on one device against `--parallel towers`
# (two devices). Runs from the unpacked kit (bench/gpu/pack.sh), needing no registry:
#   tar xJf alexnet-gpu-bench.tar.xz && bash alexnet-gpu-bench/run.sh [--iterations N]
# It checks its prerequisites first and names the missing one.
set -uo pipefail
cd "$(dirname "$0")"
iters=10
[[ ${1:-} == --iterations ]] && iters=$2
fail() { echo "run.sh: $*" >&2; exit 2; }

[[ -x ./node && -f alexnet.mjs ]] || fail "run from the unpacked kit (node, alexnet.mjs missing)"
./node --version >/dev/null 2>&1 || fail "the kit's node does not run here (needs x86-64 Linux, glibc ≥ 2.28)"
[[ -f node_modules/webgpu/dist/linux-x64/dawn.node ]] || fail "the kit lacks Dawn (dawn.node)"
command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "run.sh: no nvidia-smi; trying any Vulkan GPU" >&2
icd=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | grep -v -e lvp -e intel_hasvk | head -1)
[[ -n $icd ]] || fail "no Vulkan driver manifest in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d (NVIDIA: nvidia_icd.json from the driver's Vulkan part)"
adapter=$(./node --input-type=module -e "
  import { create, globals } from 'webgpu';
  const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  if (!a) { console.log('none'); process.exit(0); }
  console.log([a.info.vendor, a.info.architecture, a.info.device, a.info.description].filter(Boolean).join(' '));
" 2>/dev/null | tail -1)
[[ -n $adapter && $adapter != none ]] || fail "Dawn found no WebGPU adapter (driver manifest: $icd)"
case $adapter in *swiftshader* | *llvmpipe* | *lavapipe* | *Cpu* | *cpu*) fail "the adapter is a CPU emulation: $adapter" ;; esac
echo "webgpu adapter: $adapter"
torch_ok=0
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  torch_ok=1
else
  echo "run.sh: python3 with a CUDA PyTorch is missing: the PyTorch columns stay empty" >&2
fi

# images/s of `alexnet bench --backend webgpu --batch 128 --json` with the given flags, or "failed".
webgpu_ips() {
  ./node alexnet.mjs bench --backend webgpu --batch 128 --iterations "$iters" --json "$@" 2>/dev/null | tail -1 |
    ./node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).imagesPerSecond.toFixed(1))}catch{console.log("failed")}})'
}
ratio() { [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && python3 -c "print('%.2f×' % ($1 / $2))" 2>/dev/null || echo -; }

printf '%-12s %-6s %12s %12s %12s %10s %10s\n' arch mode webgpu_img/s torch_fp32 torch_bf16 vs_fp32 vs_bf16
for arch in alexnet2012 caffenet torchvision d2l; do
  for mode in train infer; do
    ours=$(webgpu_ips --arch $arch --mode $mode)
    fp32=- bf16=-
    if ((torch_ok)); then
      for p in fp32 bf16; do
        v=$(python3 torch_cuda.py --arch $arch --mode $mode --batch 128 --precision $p --iterations "$iters" 2>/dev/null |
          python3 -c 'import json,sys; print("%.1f" % json.loads(sys.stdin.read())["imagesPerSecond"])' 2>/dev/null || echo failed)
        printf -v "$p" '%s' "$v"
      done
    fi
    printf '%-12s %-6s %12s %12s %12s %10s %10s\n' $arch $mode "$ours" "$fp32" "$bf16" "$(ratio "$ours" "$fp32")" "$(ratio "$ours" "$bf16")"
  done
done
echo "target (issue 13): training ≥ 0.5× PyTorch cuDNN fp32 images/s"

# --parallel towers (issue 14): the paper's two towers on two worker threads, each with its own
# WebGPU device (with one GPU both devices are on it), every exchange read back into shared
# memory and uploaded on the other side; against the whole network on one device.
echo
printf '%-12s %-6s %14s %14s %8s\n' arch mode one_device two_towers ratio
for arch in alexnet2012 caffenet; do
  for mode in train infer; do
    one=$(webgpu_ips --arch $arch --mode $mode)
    two=$(webgpu_ips --arch $arch --mode $mode --parallel towers)
    printf '%-12s %-6s %14s %14s %8s\n' $arch $mode "$one" "$two" "$(ratio "$two" "$one")"
  done
done
