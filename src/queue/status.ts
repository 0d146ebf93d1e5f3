/** Where a queued trial is, as the sweep owner sees it. */
export type TrialState =
  | { kind: 'queued' }
  | { kind: 'running'; worker: string; epoch?: number; epochs?: number }
  | { kind: 'done'; failed?: boolean };

/**
 * One line: how many trials are queued, running (on which worker, at which epoch), done and
 * failed. A trial whose worker is gone (`lost`) waits for the stalled-job check to requeue it.
 */
export function statusLine(
  states: Iterable<TrialState>,
  names: (i: number) => string,
  workers: number,
  lost: (worker: string) => boolean = () => false,
): string {
  let queued = 0;
  let done = 0;
  let failed = 0;
  const running: string[] = [];
  let i = 0;
  for (const s of states) {
    if (s.kind === 'queued') queued++;
    else if (s.kind === 'done') s.failed ? failed++ : done++;
    else
      running.push(
        `${names(i)} on ${s.worker}${lost(s.worker) ? ' (gone: requeued at the next stalled check)' : s.epoch ? ` epoch ${s.epoch}/${s.epochs}` : ''}`,
      );
    i++;
  }
  return (
    `${queued} queued · ${running.length} running${running.length ? ` (${running.join(', ')})` : ''} · ${done} done · ${failed} failed` +
    (queued && !workers && !running.length
      ? ' — no worker is connected: start one with convts worker --queue …'
      : ` · ${workers} worker(s)`)
  );
}

/**
 * The owner's live progress line: redrawn in place on a terminal; elsewhere printed as a plain
 * line whenever it changes apart from epoch counts, so logs stay short.
 */
export class ProgressLine {
  private last = '';
  private drawn = false;
  private trialNames: string[] = [];

  constructor(
    private readonly tty: boolean,
    private readonly write: (s: string) => void,
  ) {}

  /** `workers`: the names of the connected workers, or null before they are first counted. */
  show(states: Map<string, TrialState>, workers: ReadonlySet<string> | null): void {
    this.trialNames = [...states.keys()].map((id) => id.split('.').slice(1, -1).join('.'));
    const lost = (w: string) => workers !== null && w !== '?' && !workers.has(w);
    const text = `sweep: ${statusLine(states.values(), (i) => this.trialNames[i], workers?.size ?? 0, lost)}`;
    if (this.tty) {
      const width = (process.stderr.columns || 100) - 1;
      this.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      this.drawn = true;
      return;
    }
    const key = text.replace(/ epoch \d+\/\d+/g, '');
    if (key !== this.last) this.write(`${text}\n`);
    this.last = key;
  }

  /** Prints a line above the progress line. */
  print(s: string, out: (s: string) => void): void {
    this.clear();
    out(s);
  }

  clear(): void {
    if (this.drawn) this.write('\r\x1b[2K');
    this.drawn = false;
  }
}
