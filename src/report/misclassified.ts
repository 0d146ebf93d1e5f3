import type { Sequential } from '../model/sequential.js';
import { sizeOf } from '../tensor/tensor.js';
import type { Dataset } from '../train/dataset.js';
import { forEachBatch } from '../train/dataset.js';
import { argmax } from '../train/metrics.js';
import type { Canvas } from './canvas.js';
import { drawSample } from './feature-maps.js';
import { tileGrid } from './grid.js';

export interface Mistake {
  /** Index of the sample in the data set. */
  index: number;
  label: number;
  predicted: number;
  /** Probability the model gave the true class, and the class it chose. */
  pTrue: number;
  pPredicted: number;
}

/**
 * The `count` misclassified samples whose true class got the lowest probability (the most
 * confident mistakes), from `probabilities` (every sample's, as an evaluation gives them) or else
 * from running the model.
 */
export function worstMistakes(
  model: Sequential,
  ds: Dataset,
  count: number,
  probabilities?: Float32Array,
  batchSize = 256,
): Mistake[] {
  const k = model.classes;
  const all: Mistake[] = [];
  const look = (p: Float32Array, start: number, n: number) => {
    for (let i = 0; i < n; i++) {
      const label = ds.labels[start + i];
      const predicted = argmax(p, i * k, k);
      if (predicted !== label)
        all.push({ index: start + i, label, predicted, pTrue: p[i * k + label], pPredicted: p[i * k + predicted] });
    }
  };
  if (probabilities?.length === ds.length * k) look(probabilities, 0, ds.length);
  else forEachBatch(ds, batchSize, (x, start, n) => look(model.predict(x).data, start, n));
  return all.sort((a, b) => a.pTrue - b.pTrue || a.index - b.index).slice(0, count);
}

/** A grid of misclassified samples, each with its true and predicted class and the model's confidence. */
export function mistakesPicture(
  ds: Dataset,
  mistakes: readonly Mistake[],
  classNames: readonly string[],
  title = 'worst misclassified test images',
): Canvas {
  const [, h, w] = ds.shape;
  const scale = Math.max(1, Math.round(84 / h));
  const x = new Float32Array(sizeOf(ds.shape));
  const name = (c: number) => classNames[c] ?? String(c);
  return tileGrid(
    mistakes.length,
    {
      cols: 8,
      maxWidth: 1000,
      tileW: w * scale,
      tileH: h * scale,
      gap: 16,
      title: mistakes.length ? `${title} (${mistakes.length})` : `${title}: none`,
      tileLabels: mistakes.map((m) => [
        `true ${name(m.label)}`,
        `pred ${name(m.predicted)}`,
        `${(100 * m.pPredicted).toFixed(0)}%`,
      ]),
    },
    (cv, i, px, py) => {
      ds.fill(x, [mistakes[i].index], 0, 1);
      drawSample(cv, x, 0, ds.shape, px, py, scale);
    },
  );
}
