// A batch norm and the activation after it run as one kernel (src/layers/sequence.ts): the same values
// as the two layers one by one, bit for bit on each kernel set, in training and evaluation, inside
// residual blocks too, and the same files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  availableBackends,
  buildModel,
  exportOnnx,
  type Kernels,
  type ModelSpec,
  Rng,
  referenceKernels,
  Sgd,
  setBatchNormFusion,
  Tensor,
  weightsToSafetensors,
  withKernels,
} from '../src/index.js';
import { checkFusedBatchNorm, checkFusedBatchNormPool } from './helpers/kernel-check.js';
import { checkPoolThenBatchNorm } from './helpers/pool-bn-check.js';

test('reference kernels: batch norm with its activation in one kernel gives the two kernels’ values bit for bit', () => {
  checkFusedBatchNorm(referenceKernels, Number(process.env.CONVTS_TEST_SEED ?? 1));
});

test('reference kernels: batch norm, its activation and a max pooling in one kernel give the kernels’ values bit for bit', () => {
  checkFusedBatchNormPool(referenceKernels, Number(process.env.CONVTS_TEST_SEED ?? 1));
});

test('reference kernels: a max pooling and the batch norm after it in fused kernels give the kernels’ values bit for bit', () => {
  checkPoolThenBatchNorm(referenceKernels, Number(process.env.CONVTS_TEST_SEED ?? 1));
});

// Every fusable pair, at the top level, inside a residual block, before the last layers, a batch norm
// that stays alone (before a sigmoid) and one of a feature vector (hw = 1).
const spec: ModelSpec = {
  input: [2, 9, 9],
  layers: [
    { type: 'conv2d', filters: 6, kernel: 3, padding: 1 },
    { type: 'batchnorm' },
    { type: 'relu' },
    {
      type: 'residual',
      layers: [
        { type: 'conv2d', filters: 6, kernel: 3, padding: 1, bias: false },
        { type: 'batchnorm' },
        { type: 'gelu' },
        { type: 'conv2d', filters: 6, kernel: 3, padding: 1, bias: false },
        { type: 'batchnorm', affine: false },
        { type: 'leaky-relu', slope: 0.2 },
      ],
    },
    { type: 'maxpool2d', size: 2 },
    { type: 'batchnorm' },
    { type: 'sigmoid' },
    { type: 'conv2d', filters: 5, kernel: 3 },
    { type: 'batchnorm' },
    { type: 'gelu' },
    { type: 'flatten' },
    { type: 'dense', units: 8 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'dense', units: 3 },
    { type: 'softmax' },
  ],
  loss: 'cross-entropy',
  init: { kind: 'he-normal' },
};

// A max pooling after a batch norm and its activation (convts-mnist's blocks), after a batch norm alone
// (in a residual block whose output, the pool's, is also the shortcut's sum), with overlapping windows
// after GELU, and non-square windows that leave a row out after leaky ReLU.
const pooled: ModelSpec = {
  input: [2, 12, 12],
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, padding: 1, bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'maxpool2d', size: 2 },
    {
      type: 'residual',
      layers: [
        { type: 'conv2d', filters: 5, kernel: 3, padding: 1 },
        { type: 'batchnorm', affine: false },
        { type: 'maxpool2d', size: 2 },
      ],
      shortcut: { conv: 1, stride: 2 },
    },
    { type: 'batchnorm' },
    { type: 'gelu' },
    { type: 'maxpool2d', size: 2, stride: 1 },
    { type: 'batchnorm' },
    { type: 'leaky-relu', slope: 0.1 },
    { type: 'maxpool2d', size: [2, 1] },
    { type: 'flatten' },
    { type: 'dense', units: 3 },
  ],
  loss: 'cross-entropy',
  init: { kind: 'he-normal' },
};

// A max pooling before a batch norm (convts-cifar's blocks): with GELU, as the network's first layer (no
// gradient below it), with overlapping windows before leaky ReLU, before a batch norm alone on 1×1 maps,
// and beside blocks without a pool.
const poolFirst: ModelSpec = {
  input: [3, 18, 18],
  layers: [
    { type: 'maxpool2d', size: 2 },
    { type: 'batchnorm' },
    { type: 'gelu' },
    { type: 'conv2d', filters: 6, kernel: 2, padding: 0 },
    { type: 'gelu' },
    { type: 'conv2d', filters: 8, kernel: 3, padding: 'same', bias: false },
    { type: 'maxpool2d', size: 2 },
    { type: 'batchnorm' },
    { type: 'gelu' },
    { type: 'conv2d', filters: 8, kernel: 3, padding: 'same', bias: false },
    { type: 'batchnorm' },
    { type: 'gelu' },
    { type: 'conv2d', filters: 8, kernel: 3, padding: 'same', bias: false },
    { type: 'maxpool2d', size: 2, stride: 1 },
    { type: 'batchnorm', affine: false },
    { type: 'leaky-relu', slope: 0.1 },
    { type: 'conv2d', filters: 8, kernel: 3, padding: 'same', bias: false },
    { type: 'maxpool2d', size: 2 },
    { type: 'batchnorm' },
    { type: 'globalmaxpool' },
    { type: 'dense', units: 3 },
  ],
  loss: 'cross-entropy',
  init: { kind: 'he-normal' },
};

/**
 * Three SGD steps and an evaluation: every output, gradient, weight and running statistic. `want`: the
 * fused kernels' calls when fused (batch norm with an activation forward and backward, with a max
 * pooling forward and backward).
 */
function run(net: ModelSpec, fast: Kernels, fused: boolean, want: number[]): { what: string; data: Float32Array }[] {
  setBatchNormFusion(fused);
  const calls = [0, 0, 0, 0, 0, 0];
  const k: Kernels = {
    ...fast,
    batchNormForward(...a) {
      if (a[9]) calls[0]++;
      fast.batchNormForward(...a);
    },
    batchNormBackward(...a) {
      if (a[12]) calls[1]++;
      fast.batchNormBackward(...a);
    },
    batchNormMaxPoolForward(...a) {
      calls[2]++;
      fast.batchNormMaxPoolForward(...a);
    },
    batchNormMaxPoolBackward(...a) {
      calls[3]++;
      fast.batchNormMaxPoolBackward(...a);
    },
    maxPoolBatchNormStats(...a) {
      calls[4]++;
      fast.maxPoolBatchNormStats(...a);
    },
    maxPoolBatchNormBackward(...a) {
      calls[5]++;
      fast.maxPoolBatchNormBackward(...a);
    },
  };
  try {
    return withKernels(k, () => {
      const model = buildModel(net, { seed: 3 });
      const r = new Rng(5);
      const x = new Tensor([6, ...model.inputShape]);
      for (let i = 0; i < x.size; i++) x.data[i] = 2 * r.uniform() - 1;
      const labels = [0, 1, 2, 0, 1, 2];
      const opt = new Sgd({ lr: 0.05, momentum: 0.9 });
      const out: { what: string; data: Float32Array }[] = [];
      for (let s = 0; s < 3; s++) {
        model.zeroGrad();
        const { loss, scores } = model.lossAndBackward(x, labels);
        out.push(
          { what: `step ${s} loss`, data: Float32Array.of(loss) },
          { what: `step ${s} logits`, data: scores.data.slice() },
        );
        for (const { name, param } of model.namedParams())
          out.push({ what: `step ${s} ${name} grad`, data: param.grad.data.slice() });
        opt.step(model.params());
      }
      for (const { name, buffer } of model.namedBuffers()) out.push({ what: name, data: buffer.value.data.slice() });
      out.push({ what: 'evaluation logits', data: model.logits(x, false).data.slice() });
      out.push({ what: 'predict', data: model.predict(x).data.slice() });
      assert.deepEqual(calls, fused ? want : [0, 0, 0, 0, 0, 0], 'fused kernel calls');
      return out;
    });
  } finally {
    setBatchNormFusion(true);
  }
}

for (const b of [
  { name: 'reference', threads: 1, kernels: referenceKernels },
  ...availableBackends().filter((a) => a.name !== 'reference'),
]) {
  // Five forward passes (three steps, logits, predict) and three backward ones: five pairs in `spec` and a
  // max pooling before a batch norm (three training passes), four batch norms with a max pooling in
  // `pooled`, four after one in `poolFirst` and four pairs.
  for (const [name, net, want] of [
    ['a model', spec, [25, 15, 0, 0, 3, 3]],
    ['a model with max pooling after batch norms', pooled, [0, 0, 20, 12, 0, 0]],
    ['a model with max pooling before batch norms', poolFirst, [20, 3, 0, 0, 12, 12]],
  ] as const) {
    test(`${b.kernels.name} (${b.threads} thread${b.threads > 1 ? 's' : ''}): ${name} trains and evaluates bit-identically with and without the fusion`, () => {
      const [fused, apart] = [run(net, b.kernels, true, [...want]), run(net, b.kernels, false, [...want])];
      assert.equal(fused.length, apart.length);
      for (const [i, f] of fused.entries()) {
        const a = apart[i];
        assert.equal(f.what, a.what);
        const j = f.data.findIndex((v, at) => !Object.is(v, a.data[at]));
        assert.ok(j < 0, `${f.what}[${j}]: fused ${f.data[j]}, layer by layer ${a.data[j]}`);
      }
    });
  }
}

for (const [name, net] of [
  ['batch norms and activations', spec],
  ['max pooling too', pooled],
  ['max pooling before batch norms', poolFirst],
] as const)
  test(`the fusion changes no file (${name}): the same safetensors and ONNX bytes after training either way`, () => {
    const files = (fused: boolean) => {
      setBatchNormFusion(fused);
      try {
        return withKernels(referenceKernels, () => {
          const model = buildModel(net, { seed: 4 });
          const x = new Tensor([4, ...model.inputShape]);
          x.data.forEach((_, i) => (x.data[i] = Math.sin(i)));
          model.lossAndBackward(x, [0, 1, 2, 1]);
          new Sgd({ lr: 0.1 }).step(model.params());
          return [weightsToSafetensors(model), exportOnnx(model)];
        });
      } finally {
        setBatchNormFusion(true);
      }
    };
    const [[w1, o1], [w2, o2]] = [files(true), files(false)];
    assert.deepEqual(w1, w2);
    assert.deepEqual(o1, o2);
  });
