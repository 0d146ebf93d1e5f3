// Messages between the playground page and its training worker. Bytes travel as transferred
// ArrayBuffers, so a data set is not copied on its way to the worker.
import type { Normalization } from '../../../src/data/dataset.js';
import type { InputPreparation } from '../../../src/data/image.js';
import type { ModelSpec } from '../../../src/model/spec.js';
import type { OptimizerKind } from '../../../src/optim/index.js';
import type { StepMetrics } from '../../../src/train/trainer.js';

/** One IDX split as the user gave it: gzipped or raw images and labels, with their file names. */
export interface SplitFiles {
  images: ArrayBuffer;
  labels: ArrayBuffer;
  imagesName: string;
  labelsName: string;
}

/** CIFAR-10 binary batches as given (gzipped or raw), training batches in order, and batches.meta.txt's text if any. */
export interface CifarFiles {
  train: { name: string; bytes: ArrayBuffer }[];
  test: { name: string; bytes: ArrayBuffer }[];
  meta: string | null;
}

/** Pictures by class: files with their paths in the dropped folder ("photos/cat/1.png"), or one .zip. */
export interface PictureFiles {
  /** The folder's or the zip's name. */
  name: string;
  files: { path: string; file: Blob }[];
  /** Square side every picture is resized to; null: the most common size among them. */
  size: number | null;
}

export interface Settings {
  optimizer: OptimizerKind;
  lr: number;
  batchSize: number;
  epochs: number;
  trainLimit: number;
  testLimit: number;
  seed: number;
  /** Evaluate on the test images every this many steps (and after each epoch). */
  evalEvery: number;
}

/** A saved model's config.json: its data set, classes, normalization and input preparation. */
export interface ModelConfig {
  dataset: string;
  classNames: string[];
  normalization: Normalization;
  input: InputPreparation;
  /** A picture folder's size and channels, as convts eval --dataset folder:DIR then reads it. */
  imageSize?: [number, number];
  channels?: number;
  /** The per-class share held out for evaluation (convts eval --split validation holds out the same). */
  val?: number;
}

/** A saved model as convts eval and predict read it. */
export interface ModelFiles {
  'model.json': string;
  'model.safetensors': ArrayBuffer;
  'config.json': string;
}

export type ToWorker =
  /** Start the kernels from the .wasm files in folder `base`, on `threads` threads where the page allows. */
  | { type: 'init'; base: string; threads: number }
  | { type: 'data'; name: 'mnist' | 'fashion-mnist'; train: SplitFiles; test: SplitFiles }
  | ({ type: 'cifar' } & CifarFiles)
  | ({ type: 'pictures' } & PictureFiles)
  | { type: 'start'; spec: ModelSpec; settings: Settings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** Top-3 of a picture, prepared as convts predict prepares it; a negative id is a script's, not the pad's. */
  | { type: 'predict'; id: number; width: number; height: number; rgba: Uint8ClampedArray }
  | { type: 'save' }
  | { type: 'open'; files: ModelFiles }
  /** Which test image the filters and feature maps view follows. */
  | { type: 'watch'; index: number }
  /** The page has drawn the feature view of step 0, or is hidden and will not: the worker may start training. */
  | { type: 'drawn' };

export type Phase = 'idle' | 'running' | 'paused' | 'stopped' | 'done';

export interface EvalMessage {
  type: 'eval';
  step: number;
  epoch: number;
  loss: number;
  accuracy: number;
  confusion: number[][];
}

/** A float32 array with its shape ([k, c, kh, kw] filters, [c, h, w] maps or image). */
export interface Planes {
  shape: number[];
  data: Float32Array;
}

/** The filters and feature maps of each convolution for one test image, at a training step. */
export interface FeaturesMessage {
  type: 'features';
  step: number;
  index: number;
  label: string;
  image: Planes;
  layers: { name: string; filters: Planes; maps: Planes }[];
}

export type FromWorker =
  /** The kernels run: relaxed SIMD or SIMD128, on `threads` threads; `notice` says why fewer than asked. */
  | { type: 'ready'; kernels: string; threads: number; notice: string | null }
  | { type: 'data'; train: number; test: number; shape: number[]; classNames: string[] }
  /** How far a data set's loading is (pictures decoded), while it loads. */
  | { type: 'loading'; text: string }
  /** The steps since the last such message: one message every ~100 ms rather than one a step. */
  | { type: 'steps'; steps: StepMetrics[] }
  | EvalMessage
  | FeaturesMessage
  | { type: 'phase'; phase: Phase; message?: string }
  /** `input`: the prepared picture's bytes, `shape` [c, h, w]. */
  | { type: 'prediction'; id: number; top: { label: string; p: number }[]; input: number[]; shape: number[] }
  | { type: 'saved'; files: ModelFiles }
  | { type: 'opened'; layers: number; classNames: string[] }
  | { type: 'error'; message: string };
