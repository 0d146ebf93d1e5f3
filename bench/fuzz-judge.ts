// How the fuzz campaign judges one finished case: from its exit, its stderr, what it left behind
// and whether a limit stopped it, one outcome.

export type Outcome =
  | 'clean refusal'
  | 'accepted'
  | 'stack trace'
  | 'crash'
  | 'hang'
  | 'over 1 GB'
  | 'bad message'
  | 'bad input accepted'
  | 'debris';
export const kinds: Outcome[] = [
  'clean refusal',
  'accepted',
  'stack trace',
  'crash',
  'hang',
  'over 1 GB',
  'bad message',
  'bad input accepted',
  'debris',
];

/** What the case expected (see Case in fuzz-case.ts). */
export interface Expectation {
  culprit: RegExp;
  sigint?: unknown;
  mustRefuse?: boolean;
}

export interface Ending {
  /** The limit that stopped the case, if one did. */
  limit: 'hang' | 'over 1 GB' | null;
  stderr: string;
  exit: number;
  killedBy: string | null;
  overMemory: boolean;
  /** Temporary files, locks or processes left behind. */
  left: string[];
}

/**
 * A divergence is a refusal of the learning rate, not of a file: its message names the rate that
 * made the loss NaN or infinite and says to lower it, so the NaN there is the finding, not a value
 * the message failed to fill in, and the rate is the culprit whatever input the case damaged.
 */
const divergence =
  /^convts: training diverged: the loss is (NaN|-?Infinity) at epoch \d+, step \d+ \(lr [^)\s]+\) — .*lower the learning rate/;

/** The message: its first line that starts with "convts: " (a few explain on the next lines). */
export const messageOf = (stderr: string) =>
  stderr.split('\n').find((l) => l.startsWith('convts: ')) ?? stderr.slice(0, 300);

export function judge(c: Expectation, e: Ending): Outcome {
  const last = messageOf(e.stderr);
  const interruptedOk = Boolean(c.sigint) && e.exit === 130;
  if (e.limit) return e.limit;
  if (/\n\s+at |node:internal|^\w*Error: |^Uncaught/m.test(e.stderr)) return 'stack trace';
  if (e.killedBy || (e.exit > 2 && !interruptedOk)) return 'crash';
  if (e.overMemory) return 'over 1 GB';
  if (e.left.length) return 'debris';
  if (e.exit === 0) return c.mustRefuse ? 'bad input accepted' : 'accepted';
  if (interruptedOk) return 'clean refusal';
  if (divergence.test(last)) return 'clean refusal';
  if (
    !last.startsWith('convts: ') ||
    // (A quoted value is the input's own: `got "NaN"` quotes what the file says.)
    /\bundefined\b|\bNaN\b|\[object /.test(last.replace(/"[^"]*"/g, '""')) ||
    !c.culprit.test(e.stderr.slice(0, 1000))
  )
    return 'bad message';
  return 'clean refusal';
}
