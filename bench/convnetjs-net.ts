// The report's networks in ConvNetJS (npm convnetjs, loaded in the page as a classic script), for
// `convts bench --compare convnetjs`: the same layers as builtinSpec (two 5×5 convolutions with ReLU,
// 2×2 max pooling, dense 128 with ReLU, softmax over 10), plain SGD at learning rate 0.01, random
// inputs. ConvNetJS trains one image at a time and updates the weights every `batch_size` images.
import type { Mode } from './timing.js';

interface Vol {
  w: Float64Array;
}
interface ConvNetJs {
  Net: new () => { makeLayers(defs: object[]): void; forward(v: Vol, training: boolean): Vol };
  Vol: new (sx: number, sy: number, depth: number) => Vol;
  Trainer: new (net: object, options: object) => { train(v: Vol, label: number): object };
}

/** One training step (a batch) or one inference of a batch, on ConvNetJS. */
export function convnetjsStep(net: string, mode: Mode, batch: number): () => void {
  const cj = (globalThis as { convnetjs?: ConvNetJs }).convnetjs;
  if (!cj) throw new Error('ConvNetJS is not loaded in this page');
  const [depth, size, filters] = net === 'seed-mnist' ? [1, 28, 8] : [3, 32, 10];
  const model = new cj.Net();
  model.makeLayers([
    { type: 'input', out_sx: size, out_sy: size, out_depth: depth },
    { type: 'conv', sx: 5, filters, stride: 1, pad: 0, activation: 'relu' },
    { type: 'conv', sx: 5, filters, stride: 1, pad: 0, activation: 'relu' },
    { type: 'pool', sx: 2, stride: 2 },
    { type: 'fc', num_neurons: 128, activation: 'relu' },
    { type: 'softmax', num_classes: 10 },
  ]);
  const trainer = new cj.Trainer(model, {
    method: 'sgd',
    learning_rate: 0.01,
    momentum: 0,
    batch_size: batch,
    l2_decay: 0,
  });
  const images = Array.from({ length: batch }, () => {
    const v = new cj.Vol(size, size, depth);
    for (let i = 0; i < v.w.length; i++) v.w[i] = Math.random();
    return v;
  });
  const labels = images.map((_, i) => i % 10);
  if (mode === 'infer') return () => images.forEach((v) => model.forward(v, false));
  return () => images.forEach((v, i) => trainer.train(v, labels[i]));
}
