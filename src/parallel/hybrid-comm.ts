// The collectives of `--parallel hybrid` (hybrid-plan.ts) over one shared channel
// (worker-channel.ts): two gather regions g0, g1 of a whole tensor and two slots per worker
// s{r}0, s{r}1. Exchange j writes regions of parity j mod 2, passes a barrier (every worker has
// posted j + 1 times), then reads; a worker writes parity j mod 2 again at exchange j + 2 only
// after the barrier of j + 1, which no worker passes before it has finished reading exchange j.
// An all-reduce is two exchanges: the slots of j, then the sums in the gather region of j + 1.
//
// What crosses is counted by the reader: the floats it reads that another worker wrote.
// Shapes: m samples, `width` features per sample, `units` of a layer; worker r's samples are
// shareOf(m, r, N), its units shareOf(units, r, N). Sums run over the workers in rank order.
import { shareOf } from '../train/distributed.js';
import type { SharedChannel } from './worker-channel.js';

export class HybridComm {
  /** Exchanges (barriers) so far. */
  private passed = 0;

  constructor(
    private readonly channel: SharedChannel,
    readonly party: number,
    readonly parties: number,
  ) {}

  private barrier(): void {
    const n = this.channel.post(this.party);
    for (let p = 0; p < this.parties; p++) if (p !== this.party) this.channel.waitFor(p, n);
    this.passed++;
  }

  private gather(parity: number): Float32Array {
    return this.channel.region(`g${parity}`);
  }

  private slot(r: number, parity: number): Float32Array {
    return this.channel.region(`s${r}${parity}`);
  }

  private read(floats: number): void {
    this.channel.countBytes(this.party, 4 * floats);
  }

  /** This worker's samples [count, width] → every worker's, [m, width]. */
  gatherRows(own: Float32Array, m: number, width: number): Float32Array<ArrayBuffer> {
    const { first, count } = shareOf(m, this.party, this.parties);
    const g = this.gather(this.passed % 2);
    g.set(own.subarray(0, count * width), first * width);
    this.barrier();
    this.read((m - count) * width);
    return new Float32Array(g.subarray(0, m * width)); // a copy: the region is reused
  }

  /** This worker's units [m, count] of a layer of `units` → all of them, [m, units]. */
  gatherCols(own: Float32Array, m: number, units: number): Float32Array<ArrayBuffer> {
    const { first, count } = shareOf(units, this.party, this.parties);
    const g = this.gather(this.passed % 2);
    for (let i = 0; i < m; i++) g.set(own.subarray(i * count, (i + 1) * count), i * units + first);
    this.barrier();
    this.read(m * (units - count));
    return new Float32Array(g.subarray(0, m * units));
  }

  /** Σ over workers of their [m, width]: this worker's samples of it, [count, width]. */
  reduceRows(partial: Float32Array, m: number, width: number): Float32Array<ArrayBuffer> {
    const { first, count } = shareOf(m, this.party, this.parties);
    const parity = this.passed % 2;
    this.slot(this.party, parity).set(partial.subarray(0, m * width));
    this.barrier();
    const out = new Float32Array(count * width);
    for (let r = 0; r < this.parties; r++) {
      const s = this.slot(r, parity).subarray(first * width, (first + count) * width);
      for (let i = 0; i < out.length; i++) out[i] += s[i];
    }
    this.read((this.parties - 1) * count * width);
    return out;
  }

  /** Σ over workers of their [m, units]: this worker's units of it, [m, count]. */
  reduceCols(partial: Float32Array, m: number, units: number): Float32Array<ArrayBuffer> {
    const { first, count } = shareOf(units, this.party, this.parties);
    const parity = this.passed % 2;
    this.slot(this.party, parity).set(partial.subarray(0, m * units));
    this.barrier();
    const out = new Float32Array(m * count);
    for (let r = 0; r < this.parties; r++) {
      const s = this.slot(r, parity);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < count; j++) out[i * count + j] += s[i * units + first + j];
    }
    this.read((this.parties - 1) * m * count);
    return out;
  }

  /** views ← Σ over workers of their views (the same lengths on every worker): each sums its
   *  share of the concatenation (a reduce-scatter), then reads the others' sums (an all-gather). */
  allReduce(views: readonly Float32Array[]): void {
    const parity = this.passed % 2;
    const mine = this.slot(this.party, parity);
    let length = 0;
    for (const v of views) {
      mine.set(v, length);
      length += v.length;
    }
    this.barrier();
    const { first, count } = shareOf(length, this.party, this.parties);
    const sum = this.gather(this.passed % 2);
    sum.set(this.slot(0, parity).subarray(first, first + count), first);
    for (let r = 1; r < this.parties; r++) {
      const s = this.slot(r, parity);
      for (let i = first; i < first + count; i++) sum[i] += s[i];
    }
    this.barrier();
    let at = 0;
    for (const v of views) {
      v.set(sum.subarray(at, at + v.length));
      at += v.length;
    }
    this.read((this.parties - 1) * count + (length - count));
  }
}
