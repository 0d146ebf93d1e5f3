import type { EpochMetrics, Evaluation } from '../train/trainer.js';

/**
 * Signs that a finished run learned nothing, each with what to try: a loss far above what a
 * uniform guess costs (ln k for k classes) means the steps were too large, and an accuracy no
 * better than always answering the most frequent class means the model never left chance.
 */
export function trainingWarnings(epochs: readonly EpochMetrics[], test: Evaluation): string[] {
  const last = epochs[epochs.length - 1];
  if (!last) return [];
  const k = test.confusion.length;
  const lr = last.lr;
  const out: string[] = [];
  const guess = Math.log(Math.max(2, k));
  const worst = epochs.reduce((a, e) => (e.trainLoss > a.trainLoss ? e : a));
  if (worst.trainLoss > 10 * guess || test.loss > 10 * guess) {
    out.push(
      `the loss exploded (train loss ${worst.trainLoss.toFixed(1)} in epoch ${worst.epoch}, ${evalLoss(test)}; a uniform guess costs ${guess.toFixed(2)}) — lower the learning rate (--lr ${smaller(lr)}), or try --optimizer adam`,
    );
  }
  const total = test.confusion.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  const majority = total ? Math.max(...test.confusion.map((row) => row.reduce((a, b) => a + b, 0))) / total : 0;
  const chance = Math.max(1 / Math.max(1, k), majority);
  if (k > 1 && test.accuracy < chance + 0.03) {
    out.push(
      `accuracy stayed at chance (${pct(test.accuracy)} after ${epochs.length} epoch(s); always answering the most frequent class gets ${pct(chance)}) — lower the learning rate (--lr ${smaller(lr)}), train longer (--epochs), or check that the labels match the images`,
    );
  }
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const evalLoss = (t: Evaluation) => `evaluation loss ${Number.isFinite(t.loss) ? t.loss.toFixed(1) : t.loss}`;
/** A tenth of the rate, written plainly (0.5, 0.001). */
const smaller = (lr: number) => String(Number((lr / 10).toPrecision(2)));
