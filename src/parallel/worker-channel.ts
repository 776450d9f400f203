// Shared memory between the workers of a group (and their main thread): named float32 regions in
// one SharedArrayBuffer, a counter per party that it bumps when it has written (post) and the
// others block on (waitFor, Atomics.wait), a byte count per party, and an abort word. When a
// worker dies the main thread aborts the channel: every party blocked in waitFor wakes and
// throws ChannelAborted, so no worker is left waiting for a peer that will never post.
//
// Layout of the buffer: Int32 control [abort, counter_0 … counter_{P−1}], Float64 bytes
// [bytes_0 … bytes_{P−1}], then the regions, each 16-byte aligned.

/** Thrown in a party's wait when the channel was aborted (another member died). */
export class ChannelAborted extends Error {
  override readonly name = 'ChannelAborted';
}

export interface ChannelDesc {
  buffer: SharedArrayBuffer;
  parties: number;
  /** name → [offset in floats, length in floats]. */
  regions: Record<string, [number, number]>;
}

/** How long one Atomics.wait sleeps before it looks at the abort word again, ms. */
const WAKE_MS = 200;

export class SharedChannel {
  private readonly ctrl: Int32Array;
  private readonly bytes: Float64Array;
  private readonly views = new Map<string, Float32Array>();

  private constructor(readonly desc: ChannelDesc) {
    const p = desc.parties;
    this.ctrl = new Int32Array(desc.buffer, 0, 1 + p);
    this.bytes = new Float64Array(desc.buffer, bytesAt(p), p);
    for (const [name, [at, n]] of Object.entries(desc.regions))
      this.views.set(name, new Float32Array(desc.buffer, at * 4, n));
  }

  /** A channel for `parties` with a region of `floats` for each name. */
  static create(parties: number, regions: Record<string, number>): SharedChannel {
    let at = headerBytes(parties) / 4;
    const placed: Record<string, [number, number]> = {};
    for (const [name, n] of Object.entries(regions)) {
      placed[name] = [at, n];
      at += Math.ceil(n / 4) * 4;
    }
    return new SharedChannel({
      buffer: new SharedArrayBuffer(at * 4),
      parties,
      regions: placed,
    });
  }

  /** The same channel in another thread (the desc travels in a message or workerData). */
  static attach(desc: ChannelDesc): SharedChannel {
    return new SharedChannel(desc);
  }

  region(name: string): Float32Array {
    const v = this.views.get(name);
    if (!v) throw new Error(`no shared region '${name}'`);
    return v;
  }

  /** Party `party` has written what its next post announces: its counter goes up by one. */
  post(party: number): number {
    const n = Atomics.add(this.ctrl, 1 + party, 1) + 1;
    Atomics.notify(this.ctrl, 1 + party);
    return n;
  }

  /** The number of posts `party` has made. */
  posts(party: number): number {
    return Atomics.load(this.ctrl, 1 + party);
  }

  /** Blocks until `party` has posted `count` times; throws ChannelAborted once aborted. */
  waitFor(party: number, count: number): void {
    for (;;) {
      if (Atomics.load(this.ctrl, 0) !== 0) throw new ChannelAborted('the run was aborted');
      const seen = Atomics.load(this.ctrl, 1 + party);
      if (seen >= count) return;
      Atomics.wait(this.ctrl, 1 + party, seen, WAKE_MS);
    }
  }

  /** Wakes every waiter; their waits throw ChannelAborted from now on. */
  abort(): void {
    Atomics.store(this.ctrl, 0, 1);
    for (let i = 0; i < this.desc.parties; i++) Atomics.notify(this.ctrl, 1 + i);
  }

  get aborted(): boolean {
    return Atomics.load(this.ctrl, 0) !== 0;
  }

  /** Party `party` sent `n` more bytes to the others (counted by the sender). */
  countBytes(party: number, n: number): void {
    this.bytes[party] += n;
  }

  /** Bytes sent by each party since the last reset (read after the parties have posted). */
  sentBytes(): number[] {
    return Array.from(this.bytes);
  }

  resetBytes(): void {
    this.bytes.fill(0);
  }
}

/** Where the Float64 byte counts start: after the control words, 8-byte aligned. */
const bytesAt = (parties: number): number => Math.ceil((4 * (1 + parties)) / 8) * 8;
const headerBytes = (parties: number): number =>
  Math.ceil((bytesAt(parties) + 8 * parties) / 16) * 16;
