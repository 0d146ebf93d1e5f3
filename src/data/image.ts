import type { ImageShape, Normalization } from './dataset.js';

/**
 * How a picture becomes a model input, as recorded with every saved model: the shape the model
 * takes, the training data's normalization, and what kind of pictures it learned from. `digits`
 * means light strokes on a dark background framed like MNIST (mnist, fashion-mnist): a picture
 * with a light background is inverted and its ink framed the same way. `photos` (CIFAR-10, image
 * folders) are only resized, never inverted.
 */
export interface InputPreparation {
  shape: ImageShape;
  normalization: Normalization;
  kind: 'digits' | 'photos';
}

/** Data sets of light strokes on a dark background, whose pictures are framed like MNIST digits. */
const digitSets = new Set(['mnist', 'fashion-mnist']);

/** The preparation a model trained on `dataset` (a catalog name or folder:DIR) records. */
export function inputPreparation(dataset: string, shape: ImageShape, normalization: Normalization): InputPreparation {
  return { shape, normalization, kind: digitSets.has(dataset) ? 'digits' : 'photos' };
}
