// One tiled, register-blocked matrix-product shader that every product of the network is
// written in: C[m, n] = Σ_k A[m, k] · B[k, n], where A and B are not arrays but *loaders* — WGSL
// functions that compute an element from the operands — so the fully connected products, and
// convolution as an implicit GEMM (the im2col matrix is never built: loadB gathers it from the
// image), share the same inner loop.
//
// Tiling: a 16×16 workgroup computes a 64×64 tile of C; each invocation holds a 4×4 block of
// accumulators in registers (four vec4s: one FMA of a broadcast A value with four B values per
// step). Per step of 16 along k, the workgroup stages a 64×16 tile of A and a 16×64 tile of B in
// workgroup memory (8 KiB), each invocation loading 4 + 4 elements; the loaders are asked for
// consecutive k (or consecutive m/n) by neighbouring invocations, whichever the operand keeps
// contiguous in memory, so the loads coalesce.
//
// workgroup_id.z enumerates (group, k-split): convolution groups run side by side, and a product
// with a long k but few output tiles (a convolution's weight gradient: k = N·Ho·Wo) is cut into
// `splits` ranges of `kChunk` whose partial sums go to separate slices (see reduce.ts).
import { uniformStruct, type UniformFields } from './device.js';

export const TILE_M = 64;
export const TILE_N = 64;
export const TILE_K = 16;

/** The uniform fields every product has, before its own. */
export const GEMM_FIELDS: UniformFields = [
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['splits', 'u32'],
  ['kChunk', 'u32'],
];

export interface GemmShader {
  /** The product's own uniform fields (after GEMM_FIELDS). */
  fields: UniformFields;
  /** Storage bindings from binding 1 on, e.g. `var<storage, read> x: array<f32>;` each. */
  bindings: readonly string[];
  /** Body of `fn loadA(m: u32, k: u32, g: u32) -> f32` (called only with m < M, k < K). */
  loadA: string;
  /** Body of `fn loadB(k: u32, n: u32, g: u32) -> f32` (called only with k < K, n < N). */
  loadB: string;
  /** Body of `fn store(m: u32, n: u32, g: u32, s: u32, v: f32)`; s is the k-split index. */
  store: string;
  /** Whether neighbouring invocations should load along k (else along m / n) for A and B. */
  aAlongK: boolean;
  bAlongK: boolean;
}

export function gemmShader(s: GemmShader): string {
  const bindings = s.bindings.map((b, i) => `@group(0) @binding(${i + 1}) ${b}`).join('\n');
  const tileIndex = (alongK: boolean, side: string) =>
    alongK
      ? `let kk = e % ${TILE_K}u; let ${side} = e / ${TILE_K}u;`
      : `let ${side} = e % ${side === 'mm' ? TILE_M : TILE_N}u; let kk = e / ${side === 'mm' ? TILE_M : TILE_N}u;`;
  return `${uniformStruct([...GEMM_FIELDS, ...s.fields])}
${bindings}

fn loadA(m: u32, k: u32, g: u32) -> f32 {
${s.loadA}
}
fn loadB(k: u32, n: u32, g: u32) -> f32 {
${s.loadB}
}
fn store(m: u32, n: u32, g: u32, s: u32, v: f32) {
${s.store}
}

var<workgroup> As: array<f32, ${TILE_K * TILE_M}>; // As[k·64 + m]
var<workgroup> Bs: array<f32, ${TILE_K * TILE_N}>; // Bs[k·64 + n]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let g = wid.z / p.splits;
  let s = wid.z % p.splits;
  let kBegin = s * p.kChunk;
  let kEnd = min(p.k, kBegin + p.kChunk);
  let m0 = wid.y * ${TILE_M}u;
  let n0 = wid.x * ${TILE_N}u;
  var acc: array<vec4f, 4>;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TILE_K}u) {
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * 256u;
      {
        ${tileIndex(s.aAlongK, 'mm')}
        var v = 0.0;
        if (m0 + mm < p.m && k0 + kk < kEnd) { v = loadA(m0 + mm, k0 + kk, g); }
        As[kk * ${TILE_M}u + mm] = v;
      }
      {
        ${tileIndex(s.bAlongK, 'nn')}
        var v = 0.0;
        if (n0 + nn < p.n && k0 + kk < kEnd) { v = loadB(k0 + kk, n0 + nn, g); }
        Bs[kk * ${TILE_N}u + nn] = v;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TILE_K}u; kk++) {
      let ar = kk * ${TILE_M}u + lid.y * 4u;
      let br = kk * ${TILE_N}u + lid.x * 4u;
      let a = vec4f(As[ar], As[ar + 1u], As[ar + 2u], As[ar + 3u]);
      let b = vec4f(Bs[br], Bs[br + 1u], Bs[br + 2u], Bs[br + 3u]);
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    if (m >= p.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (n < p.n) { store(m, n, g, s, acc[i][j]); }
    }
  }
}
`;
}

/** Workgroups for an M×N product over `groupsZ` = groups × splits. */
export function gemmGroups(m: number, n: number, groupsZ: number): [number, number, number] {
  return [Math.ceil(n / TILE_N), Math.ceil(m / TILE_M), groupsZ];
}
