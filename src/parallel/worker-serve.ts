// The worker side of worker.ts: a worker script calls serveWorker with a setup that builds its
// state (on the backend the spec asked for, with its thread count) and returns the handlers the
// main thread may call. A handler's result goes back as the call's result (transferring any
// ArrayBuffer in `transfer`); a handler that throws ends the worker (TaskWorker reports it).
import { parentPort, workerData, type Transferable } from 'node:worker_threads';
import type { Backend } from '../backend/backend.js';
import { openBackend, type BackendId } from '../backend/index.js';

export interface WorkerInit {
  name: string;
  backend?: BackendId;
  threads?: number;
  data?: unknown;
}

export type WorkerMessage =
  | { ready: { backend: string; threads: number } }
  | { error: string }
  | { id: number; result: unknown }
  | { id: number; error: string };

/** A handler's answer: a value, or a value with buffers to transfer instead of copying. */
export class Reply {
  constructor(
    readonly value: unknown,
    readonly transfer: Transferable[],
  ) {}
}

export type Handlers = Record<string, (arg: never) => unknown>;

export interface WorkerContext<D> {
  name: string;
  backend: Backend;
  data: D;
}

export function serveWorker<D>(
  setup: (ctx: WorkerContext<D>) => Handlers | Promise<Handlers>,
): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorker: not in a worker thread');
  const init = workerData as WorkerInit;
  const start = async (): Promise<void> => {
    let handlers: Handlers;
    let backend: Backend;
    try {
      backend = await openBackend(init.backend, init.threads);
      handlers = await setup({ name: init.name, backend, data: init.data as D });
    } catch (e) {
      port.postMessage({ error: message(e) } satisfies WorkerMessage);
      return;
    }
    port.on('message', async (m: { id: number; method: string; arg: unknown }) => {
      try {
        const handler = handlers[m.method];
        if (!handler) throw new Error(`no handler '${m.method}'`);
        const r = await handler(m.arg as never);
        if (r instanceof Reply) port.postMessage({ id: m.id, result: r.value }, r.transfer);
        else port.postMessage({ id: m.id, result: r } satisfies WorkerMessage);
      } catch (e) {
        port.postMessage({ id: m.id, error: message(e) } satisfies WorkerMessage);
      }
    });
    port.postMessage({
      ready: { backend: backend.name, threads: backend.getThreads() },
    } satisfies WorkerMessage);
  };
  void start();
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
