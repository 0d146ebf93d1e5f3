import { Canvas, palette } from './canvas.js';
import { lineChart } from './chart.js';

/** The per-epoch numbers the curves need (a subset of the trainer's EpochMetrics). */
export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number | null;
  testAccuracy: number | null;
}

/** Loss and accuracy per epoch, train and test, as two charts side by side (1000×380). */
export function curvesPicture(epochs: readonly EpochPoint[]): Canvas {
  const cv = new Canvas(1000, 380);
  const series = (name: string, i: number, pick: (e: EpochPoint) => number | null, k = 1) => ({
    name, color: palette[i],
    points: epochs.filter((e) => pick(e) !== null).map((e): [number, number] => [e.epoch, pick(e)! * k]),
  });
  lineChart(cv, 0, 0, 500, 380, {
    title: 'Loss', xLabel: 'epoch', yLabel: 'loss', integerX: true,
    series: [series('train', 0, (e) => e.trainLoss), series('test', 1, (e) => e.testLoss)],
  });
  lineChart(cv, 500, 0, 500, 380, {
    title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy (%)', integerX: true, yClamp: [0, 100],
    series: [series('train', 0, (e) => e.trainAccuracy, 100), series('test', 1, (e) => e.testAccuracy, 100)],
  });
  return cv;
}
