import { statSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodePicture,
  type InputPreparation,
  inputPreparation,
  type Normalization,
  type Picture,
  pictureHeader,
  prepareImage,
} from '../data/index.js';
import { DataFormatError } from '../errors.js';
import { encodePng } from '../files/png-encode.js';
import type { Sequential, Tta } from '../model/sequential.js';
import { configFile, loadModel, modelFile, readRunConfig, runDataset, weightsFile } from '../run/index.js';
import { sizeOf, Tensor } from '../tensor/tensor.js';
import type { Dataset } from '../train/dataset.js';
import { argmax } from '../train/metrics.js';
import { evaluate } from '../train/trainer.js';
import type { CellImage, FeatureMapsResponse, FilterSet, ImagesResponse, MapStack, PngImage } from './api-types.js';
import type { TestProbabilities } from './test-probabilities.js';

// The views that need the model to run: computed here with the library's own model and data
// code, handed to the page as numbers it draws itself.

export interface Loaded {
  model: Sequential;
  config: Record<string, unknown>;
  data: Dataset | null;
  dataError: string | null;
  /** Class probabilities of every test image, when training handed them over. */
  probs: Float32Array | null;
  /** The run's files when loaded: results computed for these stay valid while they do. */
  files: string;
}

const loaded = new Map<string, Loaded>();

/** The run's config and model files as they are now: a run trained again into its folder has others. */
const filesOf = (dir: string) =>
  [configFile, modelFile, weightsFile]
    .map((f) => {
      const st = statSync(join(dir, f), { throwIfNoEntry: false });
      return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : '-';
    })
    .join('|');

/**
 * Hands over a model and test set already in memory (convts train writing its report), and the
 * test images' class probabilities when its evaluation has them.
 */
export function preload(
  dir: string,
  model: Sequential,
  config: Record<string, unknown>,
  data: Dataset | null,
  probabilities?: Float32Array,
): void {
  const files = filesOf(dir);
  const probs = data && probabilities?.length === data.length * model.classes ? probabilities : null;
  loaded.set(dir, { model, config, data, dataError: data ? null : 'no test images', probs, files });
  if (loaded.size > 2) loaded.delete(loaded.keys().next().value!);
}

/** The run's model and test data, kept for the two most recently used runs while their files stay the same. */
export function load(dir: string): Loaded {
  const files = filesOf(dir);
  const hit = loaded.get(dir);
  if (hit?.files === files) {
    loaded.delete(dir);
    loaded.set(dir, hit);
    return hit;
  }
  const config = readRunConfig(dir) as Record<string, unknown>;
  const model = loadModel(dir);
  let data: Dataset | null = null;
  let dataError: string | null = null;
  try {
    data = config.features ? null : runDataset(config);
    if (!data) dataError = 'the run was trained on a feature file, not on images';
  } catch (e) {
    dataError = (e as Error).message;
  }
  const l = { model, config, data, dataError, probs: null, files };
  loaded.delete(dir);
  loaded.set(dir, l);
  if (loaded.size > 2) loaded.delete(loaded.keys().next().value!);
  return l;
}

/** Every test image's class probabilities, evaluated as the run was (with its test-time augmentation), so they agree with its confusion matrix. */
export function evaluateProbabilities(model: Sequential, data: Dataset, config: { tta?: Tta | null }): Float32Array {
  return evaluate(model, data, 256, config.tta ?? undefined).probabilities!;
}

const round = (a: ArrayLike<number>) => Array.from(a, (v) => Math.round(v * 1e4) / 1e4);

export function stack(name: string, shape: MapStack['shape'], x: Float32Array): MapStack {
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { name, shape, data: round(x), min: x.length ? min : 0, max: x.length ? max : 0 };
}

/** Every conv layer's weights. */
export function filters(model: Sequential): FilterSet[] {
  return model.layers
    .filter((l) => l.kind === 'conv2d')
    .map((l) => {
      const w = l.params.find((p) => p.value.shape.length === 4)!.value;
      const [k, c, h, ww] = w.shape;
      return { ...stack(l.name, [k * c, 1, h, ww], w.data), inChannels: c };
    });
}

/** One sample as a picture: colour when it has 3 channels, else its first channel. */
function sampleStack(name: string, x: Float32Array, shape: readonly number[]): MapStack {
  const [c, h, w] = shape;
  return c === 3 ? stack(name, [1, 3, h, w], x) : stack(name, [1, 1, h, w], x.subarray(0, h * w));
}

/** The input and the output of every conv and pool layer for one sample, and the class probabilities. */
export function featureMaps(model: Sequential, x: Float32Array, title: string): FeatureMapsResponse {
  const layers: FeatureMapsResponse['layers'] = [];
  let y = new Tensor([1, ...model.inputShape], Float32Array.from(x));
  for (const layer of model.layers) {
    y = layer.forward(y, false);
    if (!['conv2d', 'maxpool2d', 'avgpool2d'].includes(layer.kind) || layer.outShape.length !== 3) continue;
    const [c, h, w] = layer.outShape;
    const zero = Array.from({ length: c }, (_, i) => y.data.subarray(i * h * w, (i + 1) * h * w).every((v) => v === 0));
    layers.push({ ...stack(layer.name, [c, 1, h, w], y.data), kind: layer.kind, zero });
  }
  const p = model.predict(new Tensor([1, ...model.inputShape], Float32Array.from(x))).data;
  return { title, input: sampleStack('input', x, model.inputShape), layers, probabilities: round(p) };
}

/** Feature maps of test image `index`. */
export function testImageMaps(l: Loaded, index: number): FeatureMapsResponse {
  const ds = needData(l);
  if (!(Number.isInteger(index) && index >= 0 && index < ds.length))
    throw new DataFormatError(
      `image index ${index} is out of range: the test set has ${ds.length} images (0–${ds.length - 1})`,
    );
  const x = new Float32Array(sizeOf(ds.shape));
  ds.fill(x, [index], 0, 1);
  return featureMaps(l.model, x, `test image ${index} (${ds.classNames[ds.labels[index]] ?? ds.labels[index]})`);
}

export const uploadLimits = { bytes: 5 * 1024 * 1024, side: 4096 };

/** Decodes an uploaded PNG or JPEG with the library's picture reader, refusing oversized pictures first. */
export function decodeUpload(buf: Buffer): Picture {
  if (!(buf[0] === 0x89 && buf[1] === 0x50) && !(buf[0] === 0xff && buf[1] === 0xd8))
    throw new DataFormatError('the upload is not a PNG or JPEG image');
  const { width, height } = pictureHeader(buf, 'the upload');
  if (width > uploadLimits.side || height > uploadLimits.side)
    throw new DataFormatError(
      `the image is ${width}×${height} pixels; at most ${uploadLimits.side}×${uploadLimits.side} is accepted`,
    );
  return decodePicture(buf, 'the upload');
}

/** Feature maps of an uploaded picture, made into an input exactly as `convts predict` makes one. */
export function uploadMaps(l: Loaded, buf: Buffer): FeatureMapsResponse {
  const picture = decodeUpload(buf);
  const shape = l.model.inputShape;
  const norm = l.config.normalization as Normalization | undefined;
  if (shape.length !== 3 || !norm) throw new DataFormatError('this run’s model does not take pictures');
  const prep =
    (l.config.input as InputPreparation | undefined) ??
    inputPreparation(String(l.config.dataset ?? ''), [shape[0], shape[1], shape[2]], norm);
  const { x, inverted } = prepareImage(picture, prep);
  return featureMaps(
    l.model,
    x,
    `uploaded image ${picture.width}×${picture.height}${inverted ? ' (inverted: light background)' : ''}`,
  );
}

export function needData(l: Loaded): Dataset {
  if (!l.data) throw new DataFormatError(`the run's test images cannot be loaded: ${l.dataError}`);
  return l.data;
}

/**
 * A test image as a PNG data URL, its values scaled from their smallest (0) to their largest (255):
 * a few hundred bytes to a few kilobytes, where the numbers as JSON took three to ten times that.
 */
function pngImage(x: Float32Array, shape: readonly number[]): PngImage {
  const [c, h, w] = shape.length === 3 ? shape : [1, 1, x.length];
  const n = c === 3 ? 3 : 1; // colour, else the first channel in grey
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n * h * w; i++) {
    lo = Math.min(lo, x[i]);
    hi = Math.max(hi, x[i]);
  }
  const span = hi - lo || 1;
  // PNG keeps a pixel's channels together; the images keep each channel's plane together
  const px = Uint8Array.from({ length: n * h * w }, (_, i) =>
    Math.round((255 * (x[(i % n) * h * w + Math.floor(i / n)] - lo)) / span),
  );
  const png = Buffer.from(encodePng(w, h, px, n));
  return { width: w, height: h, src: `data:image/png;base64,${png.toString('base64')}` };
}

function cellImage(l: Loaded, tp: TestProbabilities, index: number): CellImage {
  const ds = needData(l);
  const k = l.model.classes;
  const p = tp.probs.subarray(index * k, (index + 1) * k);
  const x = new Float32Array(sizeOf(ds.shape));
  ds.fill(x, [index], 0, 1);
  return {
    index,
    label: ds.labels[index],
    predicted: predictedOf(tp, index, k),
    probabilities: round(p),
    image: pngImage(x, ds.shape),
  };
}

const predictedOf = (tp: TestProbabilities, i: number, k: number) => tp.predicted?.[i] ?? argmax(tp.probs, i * k, k);

/** Test images whose true class is `label` and predicted class `predicted`, the first `limit`. */
export function cellImages(
  l: Loaded,
  tp: TestProbabilities,
  label: number,
  predicted: number,
  limit: number,
): ImagesResponse {
  const ds = needData(l);
  const k = l.model.classes;
  const hits: number[] = [];
  for (let i = 0; i < ds.length; i++) if (ds.labels[i] === label && predictedOf(tp, i, k) === predicted) hits.push(i);
  return { images: hits.slice(0, limit).map((i) => cellImage(l, tp, i)), total: hits.length, note: tp.note };
}

/** Misclassified test images, the most confidently wrong first. */
export function mistakes(l: Loaded, tp: TestProbabilities, limit: number): ImagesResponse {
  const ds = needData(l);
  const k = l.model.classes;
  const wrong: { i: number; pTrue: number }[] = [];
  for (let i = 0; i < ds.length; i++)
    if (predictedOf(tp, i, k) !== ds.labels[i]) wrong.push({ i, pTrue: tp.probs[i * k + ds.labels[i]] });
  wrong.sort((a, b) => a.pTrue - b.pTrue || a.i - b.i);
  return { images: wrong.slice(0, limit).map((w) => cellImage(l, tp, w.i)), total: wrong.length, note: tp.note };
}
