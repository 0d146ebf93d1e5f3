// What the network sees in one test image, for the page to draw as it learns: each convolution's
// filters, and its feature maps (after the activation that follows it, as ConvNetJS shows them).
import { Conv2d, type Dataset, type Sequential, Tensor } from '../../../src/core.js';
import type { FeaturesMessage } from './protocol.js';

const activation = /^(relu|leaky-relu|sigmoid|tanh|gelu)$/;

/** Filters and feature maps of test image `index`, run alone through the model (training state untouched). */
export function featureMaps(model: Sequential, test: Dataset, index: number, step: number): FeaturesMessage {
  const i = Math.max(0, Math.min(test.length - 1, Math.floor(index) || 0));
  let y = new Tensor([1, ...model.inputShape]);
  test.fill(y.data, [i], 0, 1);
  const image = { shape: [...model.inputShape], data: y.data.slice() };
  const layers: FeaturesMessage['layers'] = [];
  model.layers.forEach((layer, n) => {
    y = layer.forward(y, false);
    const next = model.layers[n + 1];
    const conv = layer instanceof Conv2d && !activation.test(next?.kind ?? '') ? layer : null;
    const prev = model.layers[n - 1];
    const owner = conv ?? (prev instanceof Conv2d && activation.test(layer.kind) ? prev : null);
    if (!owner) return;
    layers.push({
      name: owner.name,
      filters: { shape: [...owner.weight.value.shape], data: owner.weight.value.data.slice() },
      maps: { shape: [...layer.outShape], data: y.data.slice() },
    });
  });
  return { type: 'features', step, index: i, label: test.classNames[test.labels[i]] ?? '', image, layers };
}
