// Compute workers: a worker thread with its own backend instance (the native backend's module is
// loaded afresh in each thread; its kernel thread count is set from the spec), driven by calls
// from the main thread. This is the machinery under the paper's two towers (`--parallel towers`,
// one worker per tower) and the data-parallel replicas (`--parallel data`).
//
// Death is detected, never waited out: a worker that throws (in a call or outside one), exits or
// is terminated rejects every pending call and every later one with a WorkerDied naming it, and
// its group's owner is told at once (onDeath) so that it can wake the other workers from their
// shared-memory waits (worker-channel.ts) and end them. The CLI prints a WorkerDied as one line
// and exits with code 1; nothing is written after it, so the last checkpoint stays intact.
//
// A WebGPU worker is ended only once it is idle: Dawn aborts the whole process when a thread is
// terminated while a read-back (mapAsync) is in flight. Its calls still reject at once; the thread
// goes when it has answered every call it was given (a peer's death aborts the channel it would
// wait on, so it soon does), or after IDLE_WAIT_MS.
import { Worker, type Transferable } from 'node:worker_threads';
import type { BackendId } from '../backend/index.js';
import { RunFailed } from '../util/errors.js';
import type { WorkerInit, WorkerMessage } from './worker-serve.js';

export interface WorkerSpec {
  /** Who the worker is, in messages: 'tower A', 'replica 1'. */
  name: string;
  /** The worker's script (built by serveWorker in worker-serve.ts). */
  script: URL;
  backend?: BackendId;
  /** Kernel threads of the worker's backend (native: its pool). */
  threads?: number;
  /** Handed to the script's setup (structured-cloned; SharedArrayBuffers are shared). */
  data?: unknown;
}

/** A worker ended the run: it threw, exited or was terminated. One line, exit code 1. */
export class WorkerDied extends RunFailed {
  override readonly name = 'WorkerDied';
  constructor(
    readonly worker: string,
    readonly why: string,
  ) {
    super(`${worker} ${why}`);
  }
}

const IDLE_WAIT_MS = 10000;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class TaskWorker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private death: WorkerDied | null = null;
  private closing = false;
  private readonly deathListeners: ((e: WorkerDied) => void)[] = [];
  /** Calls the thread has not answered yet (also those already rejected here). */
  private readonly unanswered = new Set<number>();
  private gone = false;
  private idleWaiter: (() => void) | null = null;
  private ending: Promise<void> | null = null;

  private constructor(
    readonly name: string,
    private readonly worker: Worker,
    /** What the worker reported when it was ready: its backend and thread count. */
    readonly backend: string,
    readonly threads: number,
    /** End the thread only when idle (WebGPU: see the top of this file). */
    private readonly gentle: boolean,
  ) {
    worker.on('message', (m: WorkerMessage) => this.receive(m));
    worker.on('error', (e) => this.die(`threw: ${firstLine(e)}`));
    worker.on('messageerror', (e) => this.die(`sent a message that could not be read: ${e}`));
    worker.on('exit', (code) => {
      this.gone = true;
      this.idleWaiter?.();
      if (!this.closing) this.die(`exited (code ${code})`);
    });
  }

  /** Spawns the worker and waits until its backend is open and its setup has run. */
  static async start(spec: WorkerSpec): Promise<TaskWorker> {
    if (spec.backend === 'webgpu') {
      const { offerProjectDriver } = await import('../backend/webgpu/node-gpu.js');
      offerProjectDriver();
    }
    const init: WorkerInit = {
      name: spec.name,
      backend: spec.backend,
      threads: spec.threads,
      data: spec.data,
    };
    const worker = new Worker(spec.script, { workerData: init });
    return new Promise((resolve, reject) => {
      // Only our own listeners come off: the Worker keeps internal ones (removeAllListeners
      // would unhook its message port).
      const off = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const fail = (why: string): void => {
        off();
        void worker.terminate();
        reject(new WorkerDied(spec.name, why));
      };
      const onMessage = (m: WorkerMessage): void => {
        off();
        if ('ready' in m)
          resolve(
            new TaskWorker(
              spec.name,
              worker,
              m.ready.backend,
              m.ready.threads,
              spec.backend === 'webgpu',
            ),
          );
        else if ('error' in m) fail(`failed to start: ${m.error}`);
        else fail('failed to start: an unexpected first message');
      };
      const onError = (e: unknown): void => fail(`failed to start: ${firstLine(e)}`);
      const onExit = (code: number): void => fail(`exited while starting (code ${code})`);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  /** Runs `method` of the script's handlers with `arg`; rejects with WorkerDied when the worker
   *  throws or is gone. */
  call<T>(method: string, arg?: unknown, transfer: readonly Transferable[] = []): Promise<T> {
    if (this.death) return Promise.reject(this.death);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.unanswered.add(id);
      this.worker.postMessage({ id, method, arg }, transfer as Transferable[]);
    });
  }

  /** `fn` hears of this worker's death once, as soon as it happens. */
  onDeath(fn: (e: WorkerDied) => void): void {
    if (this.death) fn(this.death);
    else this.deathListeners.push(fn);
  }

  get dead(): WorkerDied | null {
    return this.death;
  }

  private receive(m: WorkerMessage): void {
    if (!('id' in m)) return;
    this.unanswered.delete(m.id);
    if (this.unanswered.size === 0) this.idleWaiter?.();
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if ('error' in m) {
      // A call that throws ends the worker: its state is no longer known to be consistent.
      this.die(`threw: ${m.error}`);
      p.reject(this.death ?? new WorkerDied(this.name, `threw: ${m.error}`)); // not pending now
    } else {
      p.resolve(m.result);
    }
  }

  private die(why: string): void {
    if (this.death || this.closing) return;
    this.death = new WorkerDied(this.name, why);
    for (const p of this.pending.values()) p.reject(this.death);
    this.pending.clear();
    void this.end();
    for (const fn of this.deathListeners.splice(0)) fn(this.death);
  }

  /** Ends the worker (also one blocked in a shared-memory wait). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const p of this.pending.values()) p.reject(new WorkerDied(this.name, 'was closed'));
    this.pending.clear();
    await this.end();
  }

  /** Terminates the thread (a gentle one once idle, or after IDLE_WAIT_MS), once. */
  private end(): Promise<void> {
    this.ending ??= (async () => {
      if (this.gentle && !this.gone && this.unanswered.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, IDLE_WAIT_MS);
          this.idleWaiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      await this.worker.terminate();
    })();
    return this.ending;
  }

  /** Ends the worker as if it had died (tests, and a group ending after one member's death). */
  kill(why: string): void {
    this.die(why);
  }
}

function firstLine(e: unknown): string {
  const s =
    e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
  return s.split('\n')[0];
}

/** Workers that share a channel and live and die together: the first death aborts the channel
 *  (waking members blocked on the dead one) and ends the others; every call then rejects with
 *  that first death, so the run's one line names the worker that failed, not its peers. */
export class WorkerGroup {
  private first: WorkerDied | null = null;

  private constructor(
    readonly members: readonly TaskWorker[],
    private readonly abort: () => void,
  ) {
    for (const w of members)
      w.onDeath((e) => {
        if (this.first) return;
        this.first = e;
        this.abort();
        for (const other of members) if (other !== w) other.kill(`ended: ${e.message}`);
      });
  }

  /** Starts every member (all or none: a member that fails to start ends the others). */
  static async start(specs: readonly WorkerSpec[], abort: () => void): Promise<WorkerGroup> {
    const started = specs.some((s) => s.backend === 'webgpu')
      ? await oneByOne(specs)
      : await Promise.allSettled(specs.map((s) => TaskWorker.start(s)));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      abort();
      for (const r of started) if (r.status === 'fulfilled') await r.value.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    return new WorkerGroup(
      started.map((r) => (r as PromiseFulfilledResult<TaskWorker>).value),
      abort,
    );
  }

  /** The first member that died, or null. */
  get death(): WorkerDied | null {
    return this.first;
  }

  /** Runs the calls together; when any member dies, rejects with the group's first death. */
  async all<T>(calls: readonly Promise<T>[]): Promise<T[]> {
    try {
      return await Promise.all(calls);
    } catch (e) {
      throw this.first ?? e;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((w) => w.close()));
  }
}

/** Starts WebGPU workers one after the other: opening a device points the process's standard
 *  error at /dev/null meanwhile (node-gpu.ts), and two threads doing so at once could leave it
 *  there. After the first failure the rest are not started. */
async function oneByOne(specs: readonly WorkerSpec[]): Promise<PromiseSettledResult<TaskWorker>[]> {
  const out: PromiseSettledResult<TaskWorker>[] = [];
  for (const s of specs) {
    const [r] = await Promise.allSettled([TaskWorker.start(s)]);
    out.push(r);
    if (r.status === 'rejected') break;
  }
  return out;
}
