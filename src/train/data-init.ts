import { ConfigError } from '../errors.js';
import { patchWhiteningWeights } from '../init/whitening.js';
import { Conv2d } from '../layers/conv2d.js';
import { allLayers } from '../model/build.js';
import type { Sequential } from '../model/sequential.js';
import { sizeOf } from '../tensor/tensor.js';
import type { Dataset } from './dataset.js';

/**
 * Initializations that need the training data, done once before the first step: a first
 * convolution with "init": "patch-whitening" gets the whitening filters of the patches of the
 * first `limit` training images (as they reach the model: normalized). Returns what it did, for
 * the log. A run resumed or started from another run's weights must not call it.
 */
export function initFromData(model: Sequential, trainSet: Dataset, limit = 5000): string[] {
  const done: string[] = [];
  for (const layer of allLayers(model.layers)) {
    if (!(layer instanceof Conv2d) || layer.init !== 'patch-whitening') continue;
    if (layer !== model.layers[0] || trainSet.shape.length !== 3) {
      throw new ConfigError(
        `layer "${layer.name}": "init": "patch-whitening" whitens the input images' patches, so it must be the model's first layer, on C×H×W images`,
      );
    }
    const count = Math.min(limit, trainSet.length);
    const images = new Float32Array(count * sizeOf(trainSet.shape));
    trainSet.fill(
      images,
      Int32Array.from({ length: count }, (_, i) => i),
      0,
      count,
    );
    const [, , kh, kw] = layer.weight.value.shape;
    layer.weight.value.data.set(
      patchWhiteningWeights(images, count, trainSet.shape, layer.weight.value.shape[0], kh, kw),
    );
    done.push(`${layer.name}: patch-whitening filters from ${count} training images`);
  }
  return done;
}
