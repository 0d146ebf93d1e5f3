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
import { checkFusedBatchNorm } from './helpers/kernel-check.js';

test('reference kernels: batch norm with its activation in one kernel gives the two kernels’ values bit for bit', () => {
  checkFusedBatchNorm(referenceKernels, Number(process.env.CONVTS_TEST_SEED ?? 1));
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

/** Three SGD steps and an evaluation: every output, gradient, weight and running statistic. */
function run(fast: Kernels, fused: boolean): { what: string; data: Float32Array }[] {
  setBatchNormFusion(fused);
  const calls = [0, 0];
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
  };
  try {
    return withKernels(k, () => {
      const model = buildModel(spec, { seed: 3 });
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
      // Five pairs, five forward passes (three steps, logits, predict) and three backward ones.
      assert.deepEqual(calls, fused ? [25, 15] : [0, 0], 'fused kernel calls (forward, backward)');
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
  test(`${b.kernels.name} (${b.threads} thread${b.threads > 1 ? 's' : ''}): a model trains and evaluates bit-identically with and without the fusion`, () => {
    const [fused, apart] = [run(b.kernels, true), run(b.kernels, false)];
    assert.equal(fused.length, apart.length);
    for (const [i, f] of fused.entries()) {
      const a = apart[i];
      assert.equal(f.what, a.what);
      const j = f.data.findIndex((v, at) => !Object.is(v, a.data[at]));
      assert.ok(j < 0, `${f.what}[${j}]: fused ${f.data[j]}, layer by layer ${a.data[j]}`);
    }
  });
}

test('the fusion changes no file: the same safetensors and ONNX bytes after training either way', () => {
  const files = (fused: boolean) => {
    setBatchNormFusion(fused);
    try {
      return withKernels(referenceKernels, () => {
        const model = buildModel(spec, { seed: 4 });
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
