import type { Activation } from '../kernels/index.js';
import type { Conv2d } from '../layers/conv2d.js';
import { buildModel } from '../model/build.js';
import type { Sequential } from '../model/sequential.js';
import type { LayerSpec } from '../model/spec.js';
import { type Shape, Tensor } from '../tensor/tensor.js';
import type { Dataset } from '../train/dataset.js';
import { forEachBatch } from '../train/dataset.js';
import { checkBankFits, type FilterBank } from './bank.js';

/** What happens after the convolution with the bank. */
export interface ExtractOptions {
  pool?: 'max' | 'avg';
  /** Pooling window and stride. */
  poolSize?: number;
  /** Added to every map before the activation; no bias when absent. */
  bias?: number;
  activation?: Activation | 'none';
  batchSize?: number;
}

/**
 * The frozen feature network: a conv layer holding the bank as its weights (valid convolution,
 * stride 1), an optional activation, pooling and flatten. It is an ordinary model that is never
 * trained, so extraction runs exactly a conv layer's forward pass on the active kernels.
 */
export function featureNet(bank: FilterBank, inShape: Shape, o: ExtractOptions = {}): Sequential {
  const [c, h, w] = inShape;
  checkBankFits(bank, c, h, w);
  const act = o.activation ?? 'none';
  const layers: LayerSpec[] = [
    { type: 'conv2d', filters: bank.count, kernel: [bank.kh, bank.kw], bias: o.bias !== undefined },
    ...(act === 'none' ? [] : [{ type: act } as LayerSpec]),
    { type: o.pool === 'avg' ? 'avgpool2d' : 'maxpool2d', size: o.poolSize ?? 2 },
    { type: 'flatten' },
  ];
  // mse only because a model needs a loss; this one is never trained.
  const net = buildModel({ name: `features-${bank.name}`, input: [...inShape], layers, loss: 'mse' });
  const conv = net.layers[0] as Conv2d;
  conv.weight.value.data.set(bank.data);
  conv.bias?.value.data.fill(o.bias ?? 0);
  return net;
}

/** Features of every sample of `ds`, n × dim row-major, computed in batches. */
export function extractFeatures(
  ds: Dataset,
  bank: FilterBank,
  o: ExtractOptions = {},
  onProgress?: (done: number, total: number) => void,
): { dim: number; data: Float32Array } {
  const net = featureNet(bank, ds.shape, o);
  const dim = net.outputShape[0];
  const data = new Float32Array(ds.length * dim);
  forEachBatch(ds, o.batchSize ?? 256, (x, start, n) => {
    data.set(net.predict(x).data, start * dim);
    onProgress?.(start + n, ds.length);
  });
  return { dim, data };
}

/**
 * The bank's response maps for one image (c×h×w values), after bias and activation and before
 * pooling: one oh×ow array per filter.
 */
export function featureMaps(
  bank: FilterBank,
  image: Float32Array,
  inShape: Shape,
  o: ExtractOptions = {},
): Float32Array[] {
  const net = featureNet(bank, inShape, o);
  let y = new Tensor([1, ...inShape], Float32Array.from(image));
  for (const layer of net.layers) {
    if (layer.kind === 'maxpool2d' || layer.kind === 'avgpool2d') break;
    y = layer.forward(y, false);
  }
  const [k, oh, ow] = y.shape.slice(1);
  return Array.from({ length: k }, (_, i) => y.data.slice(i * oh * ow, (i + 1) * oh * ow));
}
