// Training progress: a cli-progress bar (images/s, loss, ETA) when stderr is a terminal and the
// output is for people; otherwise plain lines on stderr every few seconds, so logs and --json
// output stay clean.
import cliProgress from 'cli-progress';

export interface StepInfo {
  epoch: number; // 1-based
  epochs: number;
  batch: number; // batches done in this epoch
  batches: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  /** Seconds left in this epoch at the current speed. */
  eta: number;
}

export interface Progress {
  step(info: StepInfo): void;
  note(line: string): void;
  /** Ends the current bar (before an epoch summary or the end). */
  done(): void;
}

export function makeProgress(opts: { tty: boolean; quiet?: boolean }): Progress {
  if (opts.quiet) return { step() {}, note() {}, done() {} };
  return opts.tty ? new BarProgress() : new LineProgress();
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

class BarProgress implements Progress {
  private bar: cliProgress.SingleBar | null = null;
  private epoch = 0;

  step(i: StepInfo): void {
    if (!this.bar || this.epoch !== i.epoch) {
      this.done();
      this.epoch = i.epoch;
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `epoch ${i.epoch}/${i.epochs} [{bar}] {value}/{total} | loss {loss} | {ips} img/s | lr {lr} | ETA {etaText}`,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(i.batches, 0, { loss: '-', ips: '-', lr: '-', etaText: '?' });
    }
    this.bar.update(i.batch, {
      loss: i.loss.toFixed(4),
      ips: i.imagesPerSecond.toFixed(0),
      lr: i.lr.toExponential(2),
      etaText: fmtTime(i.eta),
    });
  }

  note(line: string): void {
    if (this.bar) {
      this.done();
    }
    process.stderr.write(line + '\n');
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
        `${i.imagesPerSecond.toFixed(0)} img/s lr ${i.lr.toExponential(2)} ETA ${fmtTime(i.eta)}\n`,
    );
  }

  note(line: string): void {
    process.stderr.write(line + '\n');
  }

  done(): void {}
}
