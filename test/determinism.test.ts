// Same seed, same kernels, same thread count → bit-identical weights, run after run. The layers are
// sized so that every kernel splits its work between the two threads (convolutions, batch norm,
// the dense layer and the SGD update of its 262k weights). bench/determinism.ts is the long version.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildModel,
  kernels,
  loadNativeAddon,
  type ModelSpec,
  makeOptimizer,
  train,
  useKernels,
} from '../src/index.js';
import { nativeKernels } from '../src/kernels/native/index.js';
import { SyntheticDataset } from './helpers/synthetic.js';
import { bits } from './helpers/tmp.js';

const spec = {
  input: [3, 16, 16],
  layers: [
    { type: 'conv2d', filters: 16, kernel: 3, padding: 'same', bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
    {
      type: 'residual',
      layers: [
        { type: 'conv2d', filters: 16, kernel: 3, padding: 'same', bias: false },
        { type: 'batchnorm' },
        { type: 'relu' },
      ],
    },
    { type: 'maxpool2d', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 256 },
    { type: 'relu' },
    { type: 'dense', units: 4 },
  ],
  loss: 'cross-entropy',
} as ModelSpec;
const data = new SyntheticDataset('synthetic', 64, [3, 16, 16], 4, 1);

test('ten two-thread runs with the same seed end with bit-identical weights', async (t) => {
  const addon = loadNativeAddon();
  if (!addon) return t.skip('native kernels not built');
  const before = kernels();
  useKernels(nativeKernels(addon, 2));
  t.after(() => useKernels(before));
  const run = async () => {
    const model = buildModel(spec, { seed: 4 });
    const optimizer = makeOptimizer({ kind: 'momentum', lr: 0.02, weightDecay: 1e-4 });
    await train(model, data, null, { epochs: 1, batchSize: 16, seed: 9, optimizer });
    return model.params().map((p) => Array.from(bits(p.value.data)));
  };
  const first = await run();
  for (let i = 2; i <= 10; i++) {
    const w = await run();
    const differs = w.findIndex((p, j) => p.some((b, k) => b !== first[j][k]));
    assert.equal(differs, -1, `run ${i}: parameter ${differs} differs from run 1's`);
  }
});
