// The training dashboard's state and server (`alexnet train --ui`, `alexnet ui RUN_DIR`). The
// state is everything the page shows — per-step loss/accuracy/lr/speed, the epochs, conv1's
// kernels, the last validation's confusion matrix and sample predictions — kept whole on the
// server so a reloaded page gets it all at once (a `snapshot` event) and then the live events
// (server-sent events). It listens on 127.0.0.1 only. OUT/dashboard.json keeps the last state,
// which is what `alexnet ui` serves for a finished run.
import { mkdirSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { EpochRecord } from '../train/metrics.js';
import type { StepInfo } from '../train/progress.js';
import { writeFileAtomic } from '../util/atomic.js';
import { UsageError } from '../util/errors.js';
import { dashboardPage } from './page.js';

export interface StepPoint {
  step: number;
  epoch: number;
  loss: number;
  accuracy: number;
  lr: number;
}

export interface Live {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  step: number;
  loss: number;
  accuracy: number;
  lr: number;
  imagesPerSecond: number;
  /** Seconds left in the epoch, and in the whole run (training only). */
  eta: number;
  etaTotal: number;
}

export interface DashboardState {
  title: string;
  status: 'training' | 'finished';
  live: Live | null;
  steps: StepPoint[];
  epochs: EpochRecord[];
  /** SVG drawings: conv1's kernels, the confusion matrix, sample predictions. */
  filters: string | null;
  confusion: string | null;
  samples: string | null;
}

/** Step points kept for the charts; beyond this every other point is dropped (the ends stay). */
const MAX_POINTS = 4000;

export class Dashboard {
  readonly state: DashboardState;
  private readonly clients = new Set<ServerResponse>();
  private server: Server | null = null;
  private stepCount = 0;

  constructor(
    title: string,
    private readonly outDir: string | null,
    initial?: Partial<DashboardState>,
  ) {
    if (outDir) mkdirSync(outDir, { recursive: true });
    this.state = {
      title,
      status: 'training',
      live: null,
      steps: [],
      epochs: [],
      filters: null,
      confusion: null,
      samples: null,
      ...initial,
    };
  }

  /** Starts listening on 127.0.0.1:port (0: any free port) and returns the page's address. */
  async listen(port: number): Promise<string> {
    const server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (url === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(dashboardPage(this.state.title));
      } else if (url === '/state') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.state));
      } else if (url === '/events') {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
        });
        res.write('retry: 1000\n\n');
        this.send(res, 'snapshot', this.state);
        this.clients.add(res);
        req.on('close', () => this.clients.delete(res));
      } else {
        res.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'EADDRINUSE' || e.code === 'EACCES'
            ? new UsageError(`cannot listen on 127.0.0.1:${port} (${e.code})`, 'port')
            : e,
        ),
      );
      server.listen(port, '127.0.0.1', resolve);
    });
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  step(i: StepInfo): void {
    this.stepCount++;
    const live: Live = {
      epoch: i.epoch,
      epochs: i.epochs,
      batch: i.batch,
      batches: i.batches,
      step: this.stepCount,
      loss: i.loss,
      accuracy: i.accuracy,
      lr: i.lr,
      imagesPerSecond: i.imagesPerSecond,
      eta: i.eta,
      etaTotal: i.runEta,
    };
    const point = {
      step: this.stepCount,
      epoch: i.epoch,
      loss: i.batchLoss,
      accuracy: i.batchAccuracy,
      lr: i.lr,
    };
    this.state.live = live;
    this.state.steps.push(point);
    if (this.state.steps.length > MAX_POINTS)
      this.state.steps = this.state.steps.filter((_, k, a) => k % 2 === 0 || k === a.length - 1);
    this.broadcast('step', { live, point });
  }

  epoch(r: EpochRecord): void {
    this.state.epochs.push(r);
    this.broadcast('epoch', r);
    this.save();
  }

  /** New drawings (after a validation, or conv1's kernels at the start). */
  figures(f: Partial<Pick<DashboardState, 'filters' | 'confusion' | 'samples'>>): void {
    Object.assign(this.state, f);
    this.broadcast('figures', f);
    this.save();
  }

  finish(): void {
    this.state.status = 'finished';
    this.broadcast('status', { status: 'finished' });
    this.save();
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.end();
    this.clients.clear();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private save(): void {
    if (this.outDir)
      writeFileAtomic(join(this.outDir, 'dashboard.json'), Buffer.from(JSON.stringify(this.state)));
  }

  private broadcast(event: string, data: unknown): void {
    for (const c of this.clients) this.send(c, event, data);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
