import { Canvas, palette } from './canvas.js';
import { lineChart } from './chart.js';

/** The per-epoch numbers the curves need (a subset of the trainer's EpochMetrics). */
export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number | null;
  testAccuracy: number | null;
  /** The test split beside a validation set, when it was evaluated. */
  testSplitLoss?: number;
  testSplitAccuracy?: number;
}

/**
 * Loss and accuracy per epoch, train and test (or `evalName`, e.g. validation): two charts of
 * 500×380. `accuracyRange` (in %) fixes the accuracy axis, so that several runs' charts compare.
 */
export function curvesPictures(
  epochs: readonly EpochPoint[],
  evalName = 'test',
  accuracyRange?: [number, number],
): { loss: Canvas; accuracy: Canvas } {
  const split = epochs.some((e) => e.testSplitAccuracy !== undefined);
  const loss = new Canvas(500, 380);
  const accuracy = new Canvas(500, 380);
  const series = (name: string, i: number, pick: (e: EpochPoint) => number | null, k = 1) => ({
    name,
    color: palette[i],
    points: epochs.filter((e) => pick(e) !== null).map((e): [number, number] => [e.epoch, pick(e)! * k]),
  });
  lineChart(loss, 0, 0, 500, 380, {
    title: 'Loss',
    xLabel: 'epoch',
    yLabel: 'loss',
    integerX: true,
    series: [
      series('train', 0, (e) => e.trainLoss),
      series(evalName, 1, (e) => e.testLoss),
      ...(split ? [series('test', 2, (e) => e.testSplitLoss ?? null)] : []),
    ],
  });
  lineChart(accuracy, 0, 0, 500, 380, {
    title: 'Accuracy',
    xLabel: 'epoch',
    yLabel: 'accuracy (%)',
    integerX: true,
    yClamp: [0, 100],
    yRange: accuracyRange,
    series: [
      series('train', 0, (e) => e.trainAccuracy, 100),
      series(evalName, 1, (e) => e.testAccuracy, 100),
      ...(split ? [series('test', 2, (e) => e.testSplitAccuracy ?? null, 100)] : []),
    ],
  });
  return { loss, accuracy };
}

/** Both charts side by side (1000×380), as `convts show curves` draws them. */
export function curvesPicture(epochs: readonly EpochPoint[], evalName = 'test'): Canvas {
  const { loss, accuracy } = curvesPictures(epochs, evalName);
  const cv = new Canvas(loss.width + accuracy.width, Math.max(loss.height, accuracy.height));
  cv.blit(loss, 0, 0);
  cv.blit(accuracy, loss.width, 0);
  return cv;
}
