// Finite-difference checks of every loss (including BCE and cross-entropy at |z| = 100 and 1e4)
// and of a whole small Sequential model's gradient through model.lossAndBackward.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildModel, type LossKind, losses, type ModelSpec, Rng, Tensor } from '../src/index.js';
import { checkModel, expectClose, finiteDiff, normalInput } from './helpers/check.js';

// Losses compute in float64 from float32 inputs: with eps 1e-3 the truncation error is
// eps²/6·|f'''| ≲ 1e-7 and the float32 gradient they return carries ~6e-8 relative rounding.
const lossTol = { rtol: 1e-5, atol: 1e-7 };
const lossEps = 1e-3;

function labelsFor(rng: Rng, n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(classes));
}

/** Loss and gradient of `kind`, and the same gradient by finite differences. */
function lossGrad(kind: LossKind, z: Float32Array, labels: Int32Array, classes: number) {
  const n = labels.length;
  const grad = new Float32Array(z.length);
  const loss = losses[kind](grad, z, labels, n, classes);
  const scratch = new Float32Array(z.length);
  const fd = finiteDiff(() => losses[kind](scratch, z, labels, n, classes), z, lossEps);
  return { loss, grad, fd };
}

/** The losses as their textbook formulas, in float64: the independent reference. */
function referenceLoss(kind: LossKind, z: Float32Array, labels: Int32Array, classes: number): number {
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = Array.from(z.subarray(i * classes, (i + 1) * classes));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    row.forEach((v, j) => {
      const y = j === labels[i] ? 1 : 0;
      if (kind === 'cross-entropy') total += y ? lse - v : 0;
      else if (kind === 'bce') total += Math.max(v, 0) - v * y + Math.log1p(Math.exp(-Math.abs(v)));
      else total += (v - y) ** 2 / classes;
    });
  }
  return total / labels.length;
}

describe('losses', () => {
  for (const kind of ['cross-entropy', 'bce', 'mse'] as const) {
    test(`${kind}: value matches the formula, gradient matches finite differences`, () => {
      const rng = new Rng(21);
      const classes = 7;
      const labels = labelsFor(rng, 5, classes);
      const z = normalInput(rng, 5 * classes, 2);
      const { loss, grad, fd } = lossGrad(kind, z, labels, classes);
      expectClose(`${kind} loss`, [loss], [referenceLoss(kind, z, labels, classes)], { rtol: 1e-12, atol: 0 });
      expectClose(`${kind} dz vs finite differences`, grad, fd, lossTol, [5, classes]);
    });
  }

  for (const big of [100, 1e4]) {
    test(`bce and cross-entropy stay finite and exact at |z| = ${big}`, () => {
      // Each label meets a large positive and a large negative logit, right and wrong.
      const z = Float32Array.from([big, -big, 0.5, -big, big, -0.5, big, big, -big, -big, -big, -big]);
      const labels = Int32Array.from([0, 0, 1, 2]);
      const classes = 3;
      for (const kind of ['bce', 'cross-entropy'] as const) {
        const { loss, grad, fd } = lossGrad(kind, z, labels, classes);
        assert.ok(Number.isFinite(loss), `${kind} loss at |z| = ${big} is ${loss}`);
        expectClose(`${kind} loss at |z| = ${big}`, [loss], [referenceLoss(kind, z, labels, classes)], {
          rtol: 1e-12,
          atol: 0,
        });
        expectClose(`${kind} dz at |z| = ${big} vs finite differences`, grad, fd, lossTol, [4, classes]);
      }
      // Saturated BCE gradients are exactly (σ(z) − y)/n: 0, or ±1/4 for a confidently wrong logit.
      const { grad } = lossGrad('bce', z, labels, classes);
      expectClose('bce dz of the saturated logits', [grad[0], grad[1], grad[3], grad[4]], [0, 0, -0.25, 0.25], {
        rtol: 0,
        atol: 1e-30,
      });
    });
  }
});

/** A seed-mnist-shaped network at a tenth of the size, with every layer kind and odd sizes. */
function smallNet(loss: LossKind): ModelSpec {
  const mse = loss === 'mse';
  return {
    input: [2, 9, 8],
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3 },
      { type: mse ? 'tanh' : 'relu' },
      { type: 'conv2d', filters: 4, kernel: [3, 2], stride: [1, 2], padding: [1, 1] },
      { type: mse ? 'tanh' : 'relu' },
      { type: mse ? 'avgpool2d' : 'maxpool2d', size: 2, stride: [2, 1] },
      { type: 'flatten' },
      { type: 'dense', units: 12 },
      { type: mse ? 'sigmoid' : 'relu' },
      { type: 'dense', units: 5 },
      { type: loss === 'cross-entropy' ? 'softmax' : 'sigmoid' },
    ],
    loss,
  };
}

describe('whole-model gradient via lossAndBackward matches finite differences', () => {
  // Noise: the loss (~1.6) is summed in float64 from float32 logits, ~1e-7 of rounding, which the
  // quotient divides by 2·eps = 2e-3: ~5e-5, hence atol 1e-4 (gradients here are ~1e-2, so a
  // wrong gradient is off by far more). A larger eps would cut the noise but cross more kinks:
  // at eps 1e-3 about a third of conv1's weights (each feeds ~400 relus) are skipped, the rest
  // of the network hardly any.
  const tol = { eps: 1e-3, rtol: 1e-3, atol: 1e-4, maxSkipped: 0.5 };
  for (const loss of ['cross-entropy', 'bce', 'mse'] as const) {
    test(`${loss} network (${loss === 'mse' ? 'tanh, avg pool, sigmoid output' : 'relu, max pool'})`, () => {
      const model = buildModel(smallNet(loss), { seed: 4, init: { kind: 'glorot-uniform' } });
      const rng = new Rng(9);
      for (const { param } of model.namedParams())
        if (param.name === 'bias') param.value.data.set(normalInput(rng, param.value.size, 0.1));
      const x = new Tensor([3, 2, 9, 8], normalInput(rng, 3 * 2 * 9 * 8));
      const r = checkModel(model, x, labelsFor(rng, 3, 5), tol);
      if (loss === 'mse')
        assert.ok(
          Object.values(r.skipped).every((k) => k === 0),
          'a smooth network has no kinks to skip',
        );
    });
  }
});
