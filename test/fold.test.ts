// Batch norm folded into the convolution or dense layer before it, for inference: the folded
// copy's outputs equal the unfolded model's evaluation forward (running statistics) within 1e-5.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildModel, foldBatchNorm, Rng, Tensor } from '../src/index.js';
import type { ModelSpec } from '../src/model/spec.js';

const spec: ModelSpec = {
  format: 'convts-model',
  version: 1,
  input: [3, 12, 12],
  loss: 'cross-entropy',
  layers: [
    { type: 'conv2d', filters: 6, kernel: 3, padding: 'same', bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
    // conv → pool → batch norm: crossed when every scale is positive
    { type: 'conv2d', filters: 8, kernel: 3, padding: 'same' },
    { type: 'maxpool2d', size: 2 },
    { type: 'batchnorm', eps: 1e-3 },
    { type: 'gelu' },
    {
      type: 'residual',
      layers: [
        { type: 'conv2d', filters: 8, kernel: 3, padding: 'same', bias: false },
        { type: 'batchnorm', affine: false },
        { type: 'relu' },
      ],
    },
    // a negative scale in this one: max pooling does not commute with it, so it stays
    { type: 'conv2d', filters: 5, kernel: 3, padding: 'same', bias: false },
    { type: 'maxpool2d', size: 2 },
    { type: 'batchnorm', name: 'kept' },
    { type: 'flatten' },
    { type: 'dense', units: 7 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'dense', units: 4 },
  ],
};

test('folding batch norm keeps the evaluation outputs within 1e-5 and drops the folded layers', () => {
  const model = buildModel(spec, { seed: 3 });
  const rng = new Rng(7);
  // Running statistics and affine parameters far from their initial 0/1, so a wrong fold shows.
  for (const { name, buffer } of model.namedBuffers()) {
    const d = buffer.value.data as Float32Array;
    if (name.endsWith('running_mean')) for (let i = 0; i < d.length; i++) d[i] = rng.normal();
    if (name.endsWith('running_var')) for (let i = 0; i < d.length; i++) d[i] = 0.2 + 3 * rng.uniform();
  }
  for (const { name, param } of model.namedParams()) {
    const d = param.value.data;
    if (!/bn\d+\.|kept\./.test(name)) continue;
    for (let i = 0; i < d.length; i++) d[i] = name.endsWith('weight') ? 0.3 + rng.uniform() : rng.normal();
  }
  model.namedParams().find((p) => p.name === 'kept.weight')!.param.value.data[2] = -0.7;

  const { model: folded, folded: count } = foldBatchNorm(model);
  assert.equal(count, 4); // bn1, bn2 (through the pool), the block's bn1, bn4 after the dense layer
  assert.deepEqual(
    folded.spec.layers.map((l) => l.type),
    ['conv2d', 'relu', 'conv2d', 'maxpool2d', 'gelu', 'residual', 'conv2d', 'maxpool2d', 'batchnorm', 'flatten'].concat(
      ['dense', 'relu', 'dense'],
    ),
  );
  assert.equal(folded.namedParams().find((p) => p.name === 'conv1.bias')?.param.value.size, 6);
  const n = 5;
  const x = new Tensor(
    [n, 3, 12, 12],
    Float32Array.from({ length: n * 432 }, () => rng.normal()),
  );
  const want = model.logits(x, false).data.slice();
  const got = folded.logits(x, false).data;
  const scale = Math.max(...want.map(Math.abs));
  const worst = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
  assert.ok(scale > 0.1, `outputs of size ${scale}`);
  assert.ok(worst <= 1e-5 * Math.max(1, scale), `folded outputs differ by ${worst} (outputs up to ${scale})`);
  // The original is untouched and still evaluates as before.
  assert.deepEqual(model.logits(x, false).data, want);
  // Nothing to fold: the same model back.
  const plain = buildModel({ ...spec, layers: [{ type: 'flatten' }, { type: 'dense', units: 3 }] });
  assert.equal(foldBatchNorm(plain).model, plain);
});
