// Finite-difference gradient checks of every layer. Tolerances are per op kind; the
// note above finiteDiff in helpers/check.ts says why each eps was chosen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LayerSpec, makeLayer, Rng, type Shape, Tensor } from '../src/index.js';
import { type CheckLayerOptions, checkLayer, expectClose, normalInput, spacedInput } from './helpers/check.js';

// Linear ops: central differences are exact, only float32 rounding of y remains (~1e-7 here).
const linear = { eps: 0.5, rtol: 1e-4, atol: 1e-5 };
// Piecewise-linear ops on spaced inputs (gap 0.05, eps 0.01 < gap/2): exact up to rounding.
const piecewise = { eps: 0.01, rtol: 1e-4, atol: 1e-5, input: (rng: Rng, n: number) => spacedInput(rng, n, 0.05) };
// Smooth ops: eps 1e-2 leaves truncation eps²/6·|f'''|·|r| ≲ 1e-4 (tanh: |f'''| ≤ 2, |r| ≲ 3)
// and rounding noise ~1e-5.
const smooth = { eps: 1e-2, rtol: 1e-3, atol: 2e-4 };

function gradcheck(
  title: string,
  spec: LayerSpec,
  inputShape: Shape,
  kind: Partial<CheckLayerOptions>,
  batch = 2,
): void {
  test(title, () => {
    checkLayer(spec, { inputShape, batch, seed: 7, ...kind });
  });
}

describe('conv2d gradients match finite differences', () => {
  gradcheck(
    '3×3, stride 1, no padding, 3→4 channels, odd 7×5 input',
    { type: 'conv2d', filters: 4, kernel: 3 },
    [3, 7, 5],
    linear,
    3,
  );
  gradcheck('stride 2, padding 1', { type: 'conv2d', filters: 3, kernel: 3, stride: 2, padding: 1 }, [2, 7, 5], linear);
  gradcheck(
    'non-square kernel [3, 2], padding [1, 2], stride [2, 1]',
    { type: 'conv2d', filters: 3, kernel: [3, 2], stride: [2, 1], padding: [1, 2] },
    [2, 7, 5],
    linear,
  );
  gradcheck(
    'no bias, kernel [2, 3], stride 3, padding [2, 0]',
    { type: 'conv2d', filters: 2, kernel: [2, 3], stride: 3, padding: [2, 0], bias: false },
    [3, 7, 5],
    linear,
    2,
  );
  gradcheck('1×1 kernel, single sample', { type: 'conv2d', filters: 5, kernel: 1 }, [4, 3, 3], linear, 1);
  gradcheck(
    'kernel as large as the padded input',
    { type: 'conv2d', filters: 2, kernel: [5, 4], padding: 1 },
    [2, 3, 2],
    linear,
  );
});

describe('pooling gradients match finite differences', () => {
  for (const type of ['maxpool2d', 'avgpool2d'] as const) {
    const kind = type === 'maxpool2d' ? piecewise : linear;
    gradcheck(`${type} 2×2 on an odd 7×5 input (last row/column dropped)`, { type, size: 2 }, [3, 7, 5], kind);
    gradcheck(
      `${type} non-square window [3, 2], stride [2, 1] (overlapping rows)`,
      { type, size: [3, 2], stride: [2, 1] },
      [2, 7, 5],
      kind,
    );
    gradcheck(`${type} 3×3 window, stride 2 (overlapping)`, { type, size: 3, stride: 2 }, [2, 7, 7], kind);
    gradcheck(`${type} 2×2 window, stride 3 (gaps between windows)`, { type, size: 2, stride: 3 }, [1, 8, 7], kind, 3);
  }
});

describe('dense, flatten and activations match finite differences', () => {
  gradcheck('dense with bias', { type: 'dense', units: 5 }, [7], linear, 3);
  gradcheck('dense without bias', { type: 'dense', units: 4, bias: false }, [6], linear, 3);
  gradcheck('flatten', { type: 'flatten' }, [2, 3, 5], linear);
  gradcheck('relu', { type: 'relu' }, [3, 5, 4], piecewise);
  gradcheck('sigmoid', { type: 'sigmoid' }, [3, 5, 4], smooth);
  gradcheck('tanh', { type: 'tanh' }, [3, 5, 4], smooth);
  gradcheck('softmax', { type: 'softmax' }, [9], smooth, 4);
  gradcheck('dropout in eval mode (identity)', { type: 'dropout', rate: 0.5 }, [4, 3, 3], linear);
  // The helper replays the layer's random state, so every pass sees the same mask.
  gradcheck('dropout in training mode', { type: 'dropout', rate: 0.3 }, [4, 3, 3], { ...linear, training: true });
});

describe('dropout', () => {
  const make = (rate: number, shape: Shape, seed = 3) =>
    makeLayer({ type: 'dropout', rate }, shape, { rng: new Rng(seed) });

  test('training: y = x ⊙ mask with mask ∈ {0, 1/(1−rate)}, and backward applies the same mask', () => {
    const rate = 0.25;
    const layer = make(rate, [50]);
    const rng = new Rng(11);
    const x = new Tensor([4, 50], normalInput(rng, 200));
    const y = Float32Array.from(layer.forward(x, true).data);
    const mask = y.map((v, i) => v / x.data[i]);
    const keep = Math.fround(1 / (1 - rate));
    for (let i = 0; i < mask.length; i++) {
      assert.ok(
        mask[i] === 0 || Math.abs(mask[i] - keep) <= 1e-6 * keep,
        `mask[${i}] = ${mask[i]}, expected 0 or ${keep}`,
      );
    }
    const dy = new Tensor([4, 50], normalInput(rng, 200));
    const dx = layer.backward(dy).data;
    expectClose(
      'dropout dx',
      dx,
      dy.data.map((v, i) => v * (mask[i] === 0 ? 0 : keep)),
      { rtol: 1e-6, atol: 0 },
    );
  });

  test('eval mode and rate 0 are the identity, forward and backward', () => {
    const x = new Tensor([2, 3, 4, 4], normalInput(new Rng(5), 96));
    const dy = new Tensor([2, 3, 4, 4], normalInput(new Rng(6), 96));
    for (const [rate, training] of [
      [0.5, false],
      [0, true],
    ] as const) {
      const layer = make(rate, [3, 4, 4]);
      assert.deepEqual(layer.forward(x, training).data, x.data);
      assert.deepEqual(layer.backward(dy).data, dy.data);
    }
  });

  test('the share of zeros is the rate and the mean is kept (200 000 values, 5σ bounds)', () => {
    const n = 200_000;
    for (const rate of [0.1, 0.5, 0.8]) {
      const layer = make(rate, [n], 17);
      const y = layer.forward(new Tensor([1, n], new Float32Array(n).fill(1)), true).data;
      let zeros = 0;
      let sum = 0;
      for (const v of y) {
        if (v === 0) zeros++;
        sum += v;
      }
      const sd = Math.sqrt((rate * (1 - rate)) / n);
      assert.ok(Math.abs(zeros / n - rate) < 5 * sd, `rate ${rate}: ${zeros / n} of the values are zero`);
      // mean of mask = keep-share/(1−rate): its sd is sd/(1−rate)
      assert.ok(Math.abs(sum / n - 1) < (5 * sd) / (1 - rate), `rate ${rate}: mean ${sum / n}, expected 1`);
    }
  });

  test('each training pass draws a new mask', () => {
    const layer = make(0.5, [100]);
    const x = new Tensor([1, 100], new Float32Array(100).fill(1));
    const a = Float32Array.from(layer.forward(x, true).data);
    const b = layer.forward(x, true).data;
    assert.ok(
      a.some((v, i) => v !== b[i]),
      'two passes gave the same mask',
    );
  });
});

test('parameter gradients accumulate over backward calls (the trainer zeroes them once per step)', () => {
  const rng = new Rng(8);
  for (const [spec, shape] of [
    [{ type: 'conv2d', filters: 2, kernel: 3, stride: 2, padding: 1 }, [2, 5, 5]],
    [{ type: 'dense', units: 3 }, [4]],
  ] as [LayerSpec, Shape][]) {
    const layer = makeLayer(spec, shape, { rng });
    for (const p of layer.params) p.value.data.set(normalInput(rng, p.value.size));
    const x = new Tensor([2, ...shape], normalInput(rng, 2 * shape.reduce((a, b) => a * b)));
    const y = layer.forward(x, true);
    const dy = new Tensor(y.shape, normalInput(rng, y.size));
    layer.backward(dy);
    const once = layer.params.map((p) => Float32Array.from(p.grad.data));
    layer.backward(dy);
    layer.params.forEach((p, i) =>
      expectClose(
        `${spec.type} ${p.name} after two backward calls`,
        p.grad.data,
        once[i].map((v) => 2 * v),
        { rtol: 1e-6, atol: 0 },
        p.value.shape,
      ),
    );
  }
});
