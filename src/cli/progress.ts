/** Where an epoch is, as the trainer reports it every ~100 ms. */
export interface EpochProgress {
  epoch: number;
  epochs: number;
  done: number;
  total: number;
  loss: number;
  accuracy: number;
}

/**
 * A progress bar per epoch, redrawn in place on a terminal; silent elsewhere (the caller prints
 * one plain line per epoch). Throughput counts only the images trained since the bar started, so
 * a resumed epoch does not claim the images trained before the interruption.
 */
export class Progress {
  private readonly tty: boolean;
  private start: { t: number; done: number } | null = null;
  /** Seconds of the last whole epoch, for the run's ETA. */
  private epochSeconds: number | null = null;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY);
  }

  /** Call when an epoch ends (with its training seconds) and the next begins. */
  startEpoch(seconds?: number): void {
    if (seconds !== undefined) this.epochSeconds = seconds;
    this.start = null;
  }

  update(p: EpochProgress): void {
    if (!this.tty) return;
    const now = performance.now();
    this.start ??= { t: now, done: p.done };
    this.out.write(`\r\x1b[2K${epochBar(p, (now - this.start.t) / 1000, p.done - this.start.done, this.epochSeconds)}`);
  }

  clear(): void {
    if (this.tty) this.out.write('\r\x1b[2K');
  }
}

/**
 * "epoch 2/5 ██████░░░ 3200/6000  loss 0.2711  acc 91.20%  1450 img/s  ETA 0:02 (run 0:18)":
 * `images` were trained in `seconds`; the run's ETA assumes the coming epochs take `epochSeconds`.
 */
export function epochBar(p: EpochProgress, seconds: number, images: number, epochSeconds: number | null): string {
  const rate = images / Math.max(seconds, 1e-9);
  const eta = images > 0 ? (p.total - p.done) / rate : NaN;
  const rest = (p.epochs - p.epoch) * (epochSeconds ?? p.total / rate);
  return (
    `epoch ${p.epoch}/${p.epochs} ${bar(p.done / p.total)} ${p.done}/${p.total}  loss ${p.loss.toFixed(4)}  ` +
    `acc ${(100 * p.accuracy).toFixed(2)}%  ${images > 0 ? `${Math.round(rate)} img/s  ETA ${clock(eta)}` : '…'}` +
    (p.epoch < p.epochs && images > 0 ? ` (run ${clock(eta + rest)})` : '')
  );
}

/** A bar of `width` cells, `fraction` of them full. */
export function bar(fraction: number, width = 24): string {
  const fill = Math.max(0, Math.min(width, Math.round(width * fraction)));
  return '█'.repeat(fill) + '░'.repeat(width - fill);
}

/** Seconds as m:ss (or h:mm:ss). */
export function clock(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
