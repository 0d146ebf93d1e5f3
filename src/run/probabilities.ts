import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataFormatError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { readFileChecked } from '../files/checked.js';
import { formatVersion } from '../files/json.js';
import { decodeSafetensors, encodeSafetensors } from '../model/safetensors.js';
import { argmax } from '../train/metrics.js';

// The final evaluation's class probabilities of every test image, saved with the run so that the
// run page's confusion-matrix cells and worst mistakes need no pass of the model over the test
// set. Float16 is plenty for what is shown (a probability to 0.1 %, a ranking by the true class's
// probability, which keeps its relative precision down to 1e-7); the predicted classes are kept
// exactly, from the float32 values, so the cells agree with the confusion matrix; the labels let
// a reader check that the file belongs to the test set it is about to be used with.

export const probabilitiesFile = 'probabilities.safetensors';

export interface SavedProbabilities {
  /** [images × classes], from float16. */
  probabilities: Float32Array;
  predicted: Int32Array;
  /** The test-time augmentation they were evaluated with, "none" without. */
  tta: string;
}

/** Writes `dir/probabilities.safetensors` (write-then-rename). */
export function saveProbabilities(
  dir: string,
  probabilities: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
  tta: string | null | undefined,
): void {
  const n = labels.length;
  if (probabilities.length !== n * classes)
    throw new DataFormatError(
      `${probabilitiesFile}: ${probabilities.length} probabilities for ${n} images of ${classes} classes`,
    );
  const predicted = Int32Array.from({ length: n }, (_, i) => argmax(probabilities, i * classes, classes));
  writeFileAtomic(
    join(dir, probabilitiesFile),
    encodeSafetensors(
      [
        { name: 'probabilities', shape: [n, classes], data: probabilities, dtype: 'F16' },
        { name: 'predicted', shape: [n], data: predicted },
        { name: 'labels', shape: [n], data: Int32Array.from(labels) },
      ],
      { format: 'convts-probabilities', version: '1', tta: tta ?? 'none' },
    ),
  );
}

/**
 * The run's saved probabilities, checked against the test set's `labels` and `classes`; null when
 * the run has none. A file that is cut, garbled or of another test set throws a DataFormatError
 * that says which.
 */
export function readProbabilities(dir: string, labels: ArrayLike<number>, classes: number): SavedProbabilities | null {
  const path = join(dir, probabilitiesFile);
  if (!existsSync(path)) return null;
  const { tensors, metadata } = decodeSafetensors(readFileChecked(path), path);
  const fail = (why: string): never => {
    throw new DataFormatError(`${path}: ${why}`);
  };
  if (metadata.format !== 'convts-probabilities' || metadata.version !== '1')
    fail(
      `not convts probabilities (${formatVersion(metadata.format, metadata.version)}; expected "convts-probabilities", "1")`,
    );
  const p = tensors.get('probabilities');
  const predicted = tensors.get('predicted');
  const saved = tensors.get('labels');
  if (!p || !predicted || !saved) return fail('a tensor is missing (probabilities, predicted and labels are expected)');
  const n = labels.length;
  if (p.shape.join() !== `${n},${classes}` || predicted.data.length !== n || saved.data.length !== n)
    fail(`holds ${p.shape.join('×')} probabilities; the test set has ${n} images of ${classes} classes`);
  for (let i = 0; i < n; i++)
    if (saved.data[i] !== labels[i])
      fail(
        `image ${i} is labelled ${saved.data[i]} there and ${labels[i]} in the test set — saved for other test images`,
      );
  for (let i = 0; i < p.data.length; i++)
    if (!(p.data[i] >= 0 && p.data[i] <= 1))
      fail(`probability ${p.data[i]} at image ${Math.floor(i / classes)}, class ${i % classes} is not in [0, 1]`);
  for (let i = 0; i < n; i++)
    if (!(predicted.data[i] >= 0 && predicted.data[i] < classes))
      fail(`image ${i}: predicted class ${predicted.data[i]} is not one of 0–${classes - 1}`);
  return {
    probabilities: p.data as Float32Array,
    predicted: predicted.data as Int32Array,
    tta: metadata.tta ?? 'none',
  };
}
