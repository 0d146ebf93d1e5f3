/** One status line per epoch on a terminal, redrawn in place; silent elsewhere. */
export class Progress {
  private readonly tty: boolean;
  private started = performance.now();

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY);
  }

  startEpoch(): void {
    this.started = performance.now();
  }

  update(p: { epoch: number; epochs: number; done: number; total: number; loss: number; accuracy: number }): void {
    if (!this.tty) return;
    const secs = (performance.now() - this.started) / 1000;
    const rate = p.done / Math.max(secs, 1e-9);
    const eta = (p.total - p.done) / Math.max(rate, 1e-9);
    const width = 24;
    const fill = Math.round((width * p.done) / p.total);
    const bar = '█'.repeat(fill) + '░'.repeat(width - fill);
    this.out.write(`\r\x1b[2Kepoch ${p.epoch}/${p.epochs} ${bar} ${p.done}/${p.total}  ` +
      `loss ${p.loss.toFixed(4)}  acc ${(100 * p.accuracy).toFixed(2)}%  ${Math.round(rate)} img/s  ETA ${clock(eta)}`);
  }

  clear(): void {
    if (this.tty) this.out.write('\r\x1b[2K');
  }
}

/** Seconds as m:ss (or h:mm:ss). */
export function clock(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
