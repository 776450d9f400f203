// PCA colour noise (paper §4.1, "altering the intensities of the RGB channels"): the eigenvectors
// p_i and eigenvalues λ_i of the 3×3 covariance of RGB pixel values over the training set; each
// use of an image adds [p1 p2 p3]·[α1λ1, α2λ2, α3λ3]ᵀ to every pixel, αi ~ N(0, 0.1).
//
// Units: the covariance is taken over pixel values scaled to [0, 1] (as fb.resnet.torch and most
// reimplementations do); on 0..255 values λ1 would be ~10⁴ and the noise would swamp the image.
// The shift is computed in [0, 1] units and applied ×255 to the cached uint8 pixels.
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic.js';
import { usage } from '../util/errors.js';
import { readInputText } from '../util/input-file.js';

export const pcaStatsSchema = z.object({
  /** λ1 ≥ λ2 ≥ λ3, of pixel values in [0, 1]. */
  eigenvalues: z.array(z.number()).length(3),
  /** eigenvectors[i] = p_i, a unit vector in RGB. */
  eigenvectors: z.array(z.array(z.number()).length(3)).length(3),
  /** Per-channel mean in [0, 1] and the covariance (row-major 3×3) it came from. */
  mean: z.array(z.number()).length(3).optional(),
  covariance: z.array(z.number()).length(9).optional(),
  /** Pixels the statistics were taken over. */
  pixels: z.number().optional(),
});
export type PcaStats = z.infer<typeof pcaStatsSchema>;

/** Eigen-decomposition of a symmetric 3×3 matrix (row-major) by cyclic Jacobi rotations.
 *  Returns eigenvalues in decreasing order and the matching unit eigenvectors. */
export function eigenSym3(m: ArrayLike<number>): { values: number[]; vectors: number[][] } {
  const a = [
    [m[0], m[1], m[2]],
    [m[3], m[4], m[5]],
    [m[6], m[7], m[8]],
  ];
  const v = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]; // columns are the eigenvectors
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[0][1] ** 2 + a[0][2] ** 2 + a[1][2] ** 2;
    if (off < 1e-30 * (a[0][0] ** 2 + a[1][1] ** 2 + a[2][2] ** 2) || off === 0) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      if (a[p][q] === 0) continue;
      // Rotation angle that zeroes a[p][q] (Numerical Recipes' stable form).
      const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        // a ← a·J
        const akp = a[k][p],
          akq = a[k][q];
        a[k][p] = c * akp - s * akq;
        a[k][q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        // a ← Jᵀ·a
        const apk = a[p][k],
          aqk = a[q][k];
        a[p][k] = c * apk - s * aqk;
        a[q][k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        // v ← v·J
        const vkp = v[k][p],
          vkq = v[k][q];
        v[k][p] = c * vkp - s * vkq;
        v[k][q] = s * vkp + c * vkq;
      }
    }
  }
  const order = [0, 1, 2].sort((i, j) => a[j][j] - a[i][i]);
  return {
    values: order.map((i) => a[i][i]),
    vectors: order.map((i) => {
      const vec = [v[0][i], v[1][i], v[2][i]];
      // A fixed sign (largest component positive) so the stored stats are reproducible.
      const big = vec.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);
      return big < 0 ? vec.map((x) => -x) : vec;
    }),
  };
}

/** Running sums of RGB pixel values for the mean and covariance, over uint8 HWC images. */
export class PixelMoments {
  private n = 0;
  private readonly s = new Float64Array(3);
  private readonly ss = new Float64Array(9);

  /** img: [H, W, 3] uint8. Integer sums per image are exact, then folded into float64. */
  add(img: Uint8Array): void {
    let r = 0,
      g = 0,
      b = 0,
      rr = 0,
      rg = 0,
      rb = 0,
      gg = 0,
      gb = 0,
      bb = 0;
    for (let i = 0; i < img.length; i += 3) {
      const R = img[i],
        G = img[i + 1],
        B = img[i + 2];
      r += R;
      g += G;
      b += B;
      rr += R * R;
      rg += R * G;
      rb += R * B;
      gg += G * G;
      gb += G * B;
      bb += B * B;
    }
    this.n += img.length / 3;
    this.s[0] += r;
    this.s[1] += g;
    this.s[2] += b;
    const ss = this.ss;
    ss[0] += rr;
    ss[1] += rg;
    ss[2] += rb;
    ss[4] += gg;
    ss[5] += gb;
    ss[8] += bb;
  }

  get pixels(): number {
    return this.n;
  }

  /** Per-channel mean in pixel units (0..255). */
  mean(): number[] {
    return [0, 1, 2].map((c) => this.s[c] / Math.max(this.n, 1));
  }

  /** Mean [3] and covariance [9] of pixel values scaled to [0, 1]. */
  unitMoments(): { mean: number[]; covariance: number[] } {
    const n = Math.max(this.n, 1);
    const mean = [0, 1, 2].map((c) => this.s[c] / n / 255);
    const cov = new Array<number>(9);
    for (let i = 0; i < 3; i++) {
      for (let j = i; j < 3; j++) {
        const v = this.ss[i * 3 + j] / n / (255 * 255) - mean[i] * mean[j];
        cov[i * 3 + j] = v;
        cov[j * 3 + i] = v;
      }
    }
    return { mean, covariance: cov };
  }

  pca(): PcaStats {
    const { mean, covariance } = this.unitMoments();
    const { values, vectors } = eigenSym3(covariance);
    return {
      eigenvalues: values.map((x) => Math.max(x, 0)),
      eigenvectors: vectors,
      mean,
      covariance,
      pixels: this.n,
    };
  }
}

/** The paper's colour shift, [p1 p2 p3]·[α1λ1, α2λ2, α3λ3]ᵀ, in pixel units (0..255). */
export function pcaLighting(pca: PcaStats, alpha: readonly number[]): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const w = alpha[i] * pca.eigenvalues[i] * 255;
    for (let c = 0; c < 3; c++) out[c] += pca.eigenvectors[i][c] * w;
  }
  return out;
}

export function readPca(path: string): PcaStats {
  const text = readInputText(path, 2 ** 20);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return usage(`${path}: not JSON (expected the output of \`alexnet pca\`)`);
  }
  const r = pcaStatsSchema.safeParse(json);
  if (!r.success)
    return usage(
      `${path}: not PCA statistics (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`,
    );
  return r.data;
}

export function writePca(path: string, stats: PcaStats): void {
  writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(stats, null, 2) + '\n'));
}
