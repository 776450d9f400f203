// A communicator over shared memory for the replicas of `--parallel data`, one per worker thread:
// the surface of the MPI binding (distributed.ts's MpiBinding: allreduce, broadcast, init,
// finalize, abort), so that the MPI path's trainer — Distributed, shares, dropout windows,
// augmentation offsets — runs unchanged on threads of one process.
//
// Memory (one SharedArrayBuffer, made by the main thread): a control block of Int32 words, then
// N slots of C floats (one per replica) and a result region of C floats. An all-reduce of L ≤ C
// floats: each replica copies its views into its slot; barrier; replica r sums element-wise,
// over every slot in rank order, its own part [lo, hi) = shareOf(L, r, N) into the result
// region (a reduce-scatter); barrier; every replica copies the whole result back into its views
// (an all-gather). Longer reductions go in pieces of C. The next collective rewrites the slots
// only after its first barrier, when every replica has left the previous one: two barriers each.
//
// What crosses between workers is counted by the communicator: in the reduce-scatter a replica
// reads the other N−1 slots' share of its part, (N−1)·L/N floats, and in the all-gather it reads
// the parts the others summed, (N−1)·L/N floats: 2·(N−1)/N·L floats per replica, as in a ring
// all-reduce — 2·(N−1)·L floats for the group.
//
// A replica that dies or hangs: every wait checks the `failed` word (the main thread sets it when
// a worker exits or throws, abort() sets it too) and a deadline; past the deadline the wait fails
// naming the replicas that did not arrive.
import { shareOf, type MpiBinding } from '../train/distributed.js';

/** The control block: Int32 words. */
const GEN = 0; // barrier generation
const ARRIVED = 1; // replicas in the current barrier
const FAILED = 2; // 1 once a replica failed
const STOP_ASKED = 3; // the main thread asks the replicas to stop (an interrupt)
const STOPPED = 4; // the barrier generation at which every replica saw the request
const ENTERED = 5; // + r: barriers replica r has entered
const CONTROL_BYTES = 512; // the control words, with room for MAX_REPLICAS
/** After the control words: where each replica is (Distributed.at), UTF-8, AT_BYTES each. */
const AT_BYTES = 64;
/** How often a waiting replica looks at the failed word and its deadline. */
const POLL_MS = 50;

/** The most replicas a group holds (one ENTERED word each). */
export const MAX_REPLICAS = CONTROL_BYTES / 4 - ENTERED;
const HEADER_BYTES = CONTROL_BYTES + MAX_REPLICAS * AT_BYTES;

/** Default slot: the MPI path's bucket (distributed.ts's BUCKET_BYTES), so a bucket is one piece. */
export const SLOT_FLOATS = (25 << 20) / 4;

/** What the main thread hands every worker: the buffer and its layout. */
export interface ShmGroup {
  buffer: SharedArrayBuffer;
  size: number;
  /** Floats per slot (C). */
  slot: number;
}

/** Allocates the shared memory of a group of `size` replicas. */
export function createShmGroup(size: number, slot = SLOT_FLOATS): ShmGroup {
  if (!Number.isInteger(size) || size < 1) throw new Error(`replicas: ${size} is not ≥ 1`);
  if (size > MAX_REPLICAS) throw new Error(`replicas: at most ${MAX_REPLICAS}`);
  const bytes = HEADER_BYTES + (size + 1) * slot * 4;
  return { buffer: new SharedArrayBuffer(bytes), size, slot };
}

/** Marks the group failed (the main thread, when a worker exits or throws): every wait ends. */
export function failGroup(group: ShmGroup): void {
  const ctl = new Int32Array(group.buffer, 0, CONTROL_BYTES / 4);
  Atomics.store(ctl, FAILED, 1);
  Atomics.notify(ctl, GEN);
}

/** Asks the replicas to stop together: each learns it on leaving the same barrier. */
export function askStop(group: ShmGroup): void {
  Atomics.store(new Int32Array(group.buffer, 0, CONTROL_BYTES / 4), STOP_ASKED, 1);
}

/** Where replica `rank` last said it was (its Distributed.at), read by the main thread when the
 *  replica died: shared memory outlives the thread, a message might not. */
export function replicaAt(group: ShmGroup, rank: number): string {
  const bytes = new Uint8Array(group.buffer, CONTROL_BYTES + rank * AT_BYTES, AT_BYTES);
  const text = new TextDecoder().decode(bytes.slice());
  return text.replace(/\0[^]*$/, '') || 'start-up';
}

/** A wait ended because another replica failed (its worker's message says why). */
export class GroupFailed extends Error {}

export interface ShmOptions {
  /** Longest wait in one barrier before the collective fails. */
  timeoutSeconds: number;
  /** Called after the failed word is set, instead of returning (the worker ends itself). */
  exit: (code: number) => never;
  /** Called once, on every replica at the same collective, after askStop. */
  onStop?: () => void;
  /** The trainer's step (Distributed.at), for the owner's message when a worker dies. */
  onAt?: (what: string) => void;
}

/** Bytes this replica read from other replicas' memory, over all its collectives. */
export interface ShmTraffic {
  bytes: number;
}

/** One replica's communicator: MpiBinding over the group's shared memory. */
export class ShmComm implements MpiBinding {
  readonly traffic: ShmTraffic = { bytes: 0 };
  private readonly ctl: Int32Array;
  private readonly slots: Float32Array[];
  private readonly result: Float32Array;

  constructor(
    private readonly group: ShmGroup,
    readonly rank: number,
    private readonly opts: ShmOptions,
  ) {
    const { buffer, size, slot } = group;
    this.ctl = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.slots = Array.from(
      { length: size },
      (_, r) => new Float32Array(buffer, HEADER_BYTES + r * slot * 4, slot),
    );
    this.result = new Float32Array(buffer, HEADER_BYTES + size * slot * 4, slot);
  }

  /** Waits until every replica has arrived. Throws GroupFailed when one failed, or an Error
   *  naming the missing replicas past the deadline. */
  private barrier(): void {
    const { ctl } = this;
    const n = this.group.size;
    const gen = Atomics.load(ctl, GEN);
    const entered = Atomics.add(ctl, ENTERED + this.rank, 1) + 1;
    if (Atomics.add(ctl, ARRIVED, 1) === n - 1) {
      // The last to arrive latches a stop request for this generation, before releasing it.
      if (Atomics.load(ctl, STOP_ASKED) && !Atomics.load(ctl, STOPPED))
        Atomics.store(ctl, STOPPED, gen + 1);
      Atomics.store(ctl, ARRIVED, 0);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
      this.checkStop();
      return;
    }
    const deadline = performance.now() + this.opts.timeoutSeconds * 1000;
    while (Atomics.load(ctl, GEN) === gen) {
      if (Atomics.load(ctl, FAILED) !== 0) throw new GroupFailed('another worker failed');
      if (performance.now() > deadline) {
        const missing = [];
        for (let r = 0; r < n; r++) if (Atomics.load(ctl, ENTERED + r) < entered) missing.push(r);
        throw new Error(
          `waited ${this.opts.timeoutSeconds} s for worker${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${n} (it died or hangs)`,
        );
      }
      Atomics.wait(ctl, GEN, gen, POLL_MS);
    }
    this.checkStop();
  }

  private stopSeen = false;
  private checkStop(): void {
    if (this.stopSeen || !Atomics.load(this.ctl, STOPPED)) return;
    this.stopSeen = true;
    this.opts.onStop?.();
  }

  at(what: string): void {
    const slot = new Uint8Array(this.group.buffer, CONTROL_BYTES + this.rank * AT_BYTES, AT_BYTES);
    slot.fill(0);
    new TextEncoder().encodeInto(what, slot); // cut at AT_BYTES
    this.opts.onAt?.(what);
  }

  /** Runs a synchronous collective as the binding's promise (a failure rejects it). */
  private collective(run: () => void): Promise<void> {
    try {
      run();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  async init(): Promise<{ rank: number; size: number; threadLevel: number; processor: string }> {
    return { rank: this.rank, size: this.group.size, threadLevel: 0, processor: 'worker thread' };
  }

  /** views ← scale · Σ over replicas, in pieces of one slot. */
  allreduce(views: Float32Array[], scale: number): Promise<void> {
    return this.collective(() => {
      for (const piece of pieces(views, this.group.slot)) this.reducePiece(piece, scale);
    });
  }

  private reducePiece(piece: Float32Array[], scale: number): void {
    const n = this.group.size;
    const mine = this.slots[this.rank];
    const length = copyIn(piece, mine);
    this.barrier();
    // Reduce-scatter: this replica's part of the sum, every slot added in rank order.
    const { first: lo, count } = shareOf(length, this.rank, n);
    const hi = lo + count;
    const out = this.result;
    out.set(this.slots[0].subarray(lo, hi), lo);
    for (let r = 1; r < n; r++) {
      const s = this.slots[r];
      for (let i = lo; i < hi; i++) out[i] += s[i];
    }
    if (scale !== 1) for (let i = lo; i < hi; i++) out[i] *= scale;
    this.barrier();
    // All-gather: the whole result, the others' parts read from their work.
    copyOut(out, piece);
    this.traffic.bytes += 4 * ((n - 1) * count + (length - count));
  }

  /** views ← the root's views. The root writes its own slot, not the result region: right after
   *  an all-reduce the others may still be reading the result (its all-gather), while every slot
   *  was last read before that all-reduce's second barrier. */
  broadcast(views: Float32Array[], root: number): Promise<void> {
    return this.collective(() => {
      const from = this.slots[root];
      for (const piece of pieces(views, this.group.slot)) {
        if (this.rank === root) copyIn(piece, from);
        this.barrier();
        if (this.rank !== root) this.traffic.bytes += 4 * copyOut(from, piece);
        this.barrier();
      }
    });
  }

  finalize(): Promise<void> {
    return this.collective(() => this.barrier());
  }

  /** Ends every replica: the failed word stops their waits, then this worker ends. */
  abort(code: number): never {
    failGroup(this.group);
    return this.opts.exit(code);
  }
}

/** The views cut into lists of at most `limit` floats in all (a view may be split). */
function* pieces(views: Float32Array[], limit: number): Generator<Float32Array[]> {
  let piece: Float32Array[] = [];
  let filled = 0;
  for (const v of views) {
    for (let at = 0; at < v.length;) {
      const take = Math.min(v.length - at, limit - filled);
      piece.push(v.subarray(at, at + take));
      filled += take;
      at += take;
      if (filled === limit) {
        yield piece;
        piece = [];
        filled = 0;
      }
    }
  }
  if (filled > 0 || views.length === 0) yield piece;
}

/** Concatenates the views into `to`; returns the floats written. */
function copyIn(views: Float32Array[], to: Float32Array): number {
  let at = 0;
  for (const v of views) {
    to.set(v, at);
    at += v.length;
  }
  return at;
}

/** Splits `from` back into the views; returns the floats read. */
function copyOut(from: Float32Array, views: Float32Array[]): number {
  let at = 0;
  for (const v of views) {
    v.set(from.subarray(at, at + v.length));
    at += v.length;
  }
  return at;
}
