// Progress on stderr, so stdout holds only results: cli-progress bars (training steps with
// images/s, loss, lr, the epoch's and the whole run's ETA; validation and other passes over
// data) when stderr is a terminal; otherwise a plain line about training every few seconds and
// nothing for other passes, so logs stay small and --json output stays clean; nothing at all
// with `quiet`.
import type cliProgress from 'cli-progress';
import { lazyRequire } from '../util/lazy-require.js';

const progressBars = lazyRequire<typeof cliProgress>('cli-progress');

export interface StepInfo {
  epoch: number; // 1-based
  epochs: number;
  batch: number; // batches done in this epoch
  batches: number;
  loss: number;
  /** Training accuracy over this epoch so far, and the last batch's loss and accuracy. */
  accuracy: number;
  batchLoss: number;
  batchAccuracy: number;
  lr: number;
  imagesPerSecond: number;
  /** Seconds left in this epoch at the current speed. */
  eta: number;
  /** Seconds left in the whole run (its remaining epochs, validations, or its time budget). */
  runEta: number;
}

/** A pass over `total` items (validation, evaluation, feature extraction). */
export interface Task {
  update(done: number): void;
  stop(): void;
}

export interface Progress {
  step(info: StepInfo): void;
  note(line: string): void;
  /** Starts a pass over `total` items, e.g. task('validating', 10000). */
  task(label: string, total: number): Task;
  /** Ends the current bar (before an epoch summary or the end). */
  done(): void;
}

export interface ProgressOptions {
  /** stderr is a terminal and the output is for people: bars; else plain lines. */
  tty: boolean;
  quiet?: boolean;
}

/** The usual choice for a command: bars on a terminal, nothing with --quiet or --json. */
export function progressFor(o: { quiet?: boolean; json?: boolean }): Progress {
  return makeProgress({ tty: !o.json && !!process.stderr.isTTY, quiet: o.quiet });
}

export function makeProgress(opts: ProgressOptions): Progress {
  if (opts.quiet) return new QuietProgress();
  return opts.tty ? new BarProgress() : new LineProgress();
}

/** A (done, total) callback that shows a pass as a task of `progress`, started at the first
 *  call and stopped when done reaches total (e.g. decoding a folder into its cache). */
export function taskCallback(
  progress: Progress,
  label: string,
): (done: number, total: number) => void {
  let task: Task | null = null;
  return (done, total) => {
    task ??= progress.task(label, total);
    task.update(done);
    if (done >= total) {
      task.stop();
      task = null;
    }
  };
}

/** Seconds as 59s, 2m00s, 1h02m03s (rounded to the second first, so 119.6 s is 2m00s). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(s % 60)}s`;
  if (m > 0) return `${m}m${pad(s % 60)}s`;
  return `${s}s`;
}

const noTask: Task = { update() {}, stop() {} };

class QuietProgress implements Progress {
  step(): void {}
  note(): void {}
  task(): Task {
    return noTask;
  }
  done(): void {}
}

function bar(format: string): cliProgress.SingleBar {
  const lib = progressBars();
  return new lib.SingleBar(
    { stream: process.stderr, format, hideCursor: true, clearOnComplete: false },
    lib.Presets.shades_classic,
  );
}

class BarProgress implements Progress {
  private bar: cliProgress.SingleBar | null = null;
  private epoch = 0;

  step(i: StepInfo): void {
    if (!this.bar || this.epoch !== i.epoch) {
      this.done();
      this.epoch = i.epoch;
      this.bar = bar(
        `epoch ${i.epoch}/${i.epochs} [{bar}] {value}/{total} | loss {loss} | {ips} img/s | lr {lr} | ETA {etaText} (run {runText})`,
      );
      this.bar.start(i.batches, 0, { loss: '-', ips: '-', lr: '-', etaText: '?', runText: '?' });
    }
    this.bar.update(i.batch, {
      loss: i.loss.toFixed(4),
      ips: i.imagesPerSecond.toFixed(0),
      lr: i.lr.toExponential(2),
      etaText: formatDuration(i.eta),
      runText: formatDuration(i.runEta),
    });
  }

  note(line: string): void {
    this.done();
    process.stderr.write(line + '\n');
  }

  task(label: string, total: number): Task {
    this.done();
    const b = bar(`${label} [{bar}] {value}/{total} | ETA {eta_formatted}`);
    b.start(total, 0);
    return { update: (done) => b.update(done), stop: () => b.stop() };
  }

  done(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

class LineProgress implements Progress {
  private last = 0;

  step(i: StepInfo): void {
    const now = Date.now();
    if (now - this.last < 10_000 && i.batch !== i.batches) return;
    this.last = now;
    process.stderr.write(
      `epoch ${i.epoch}/${i.epochs} batch ${i.batch}/${i.batches} loss ${i.loss.toFixed(4)} ` +
        `${i.imagesPerSecond.toFixed(0)} img/s lr ${i.lr.toExponential(2)} ETA ${formatDuration(i.eta)} (run ${formatDuration(i.runEta)})\n`,
    );
  }

  note(line: string): void {
    process.stderr.write(line + '\n');
  }

  /** Passes over data are shown on terminals only: a log gets the epoch lines. */
  task(): Task {
    return noTask;
  }

  done(): void {}
}
