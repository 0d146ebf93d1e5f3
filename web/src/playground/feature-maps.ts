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

/**
 * What the worker sends of the feature view: the watched image's maps, at most about twice a second,
 * and step 0's before training, waiting for the page to draw them.
 */
export class FeatureFeed {
  /** The test image the view follows. */
  watched = 0;
  private sent = 0;
  private drawn: (() => void) | null = null;

  constructor(private readonly post: (m: FeaturesMessage) => void) {}

  /** Sends the maps of the watched image at `step`, unless the last went less than 0.5 s ago (and not `now`). */
  send(model: Sequential, test: Dataset, step: number, now = false): void {
    if (!now && performance.now() - this.sent < 500) return;
    this.sent = performance.now();
    this.post(featureMaps(model, test, this.watched, step));
  }

  /**
   * Sends step 0's maps and resolves once the page has drawn them (onDrawn; a hidden page answers at
   * once, as it draws nothing), or after a second if it does not answer (its main thread busy). Its first
   * drawing (new canvases) is the page's costliest frame: it gets the cores before the training threads
   * take them.
   */
  async firstDrawn(model: Sequential, test: Dataset): Promise<void> {
    await new Promise<void>((resolve) => {
      this.drawn = resolve;
      setTimeout(resolve, 1000);
      this.send(model, test, 0, true);
    });
    this.drawn = null;
  }

  /** The page's word that it drew step 0. */
  onDrawn(): void {
    this.drawn?.();
  }
}
