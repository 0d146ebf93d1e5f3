// Finite-difference checks of the layers of modern CNNs: batch norm (batch and running
// statistics), "same" padding, global pooling, leaky ReLU, GELU and residual blocks. The eps
// choices follow the note above finiteDiff in helpers/check.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildModel, type LayerSpec, makeLayer, Rng, type Shape, Tensor } from '../src/index.js';
import { type CheckLayerOptions, checkLayer, normalInput, spacedInput } from './helpers/check.js';

const linear = { eps: 0.5, rtol: 1e-4, atol: 1e-5 };
const piecewise = { eps: 0.01, rtol: 1e-4, atol: 1e-5, input: (rng: Rng, n: number) => spacedInput(rng, n, 0.05) };
// Batch norm divides by the batch's standard deviation, so its third derivative is larger than
// tanh's; eps 1e-2 still keeps the truncation near 1e-4 of the values compared here.
const smooth = { eps: 1e-2, rtol: 1e-3, atol: 3e-4 };

function gradcheck(title: string, spec: LayerSpec, inputShape: Shape, kind: Partial<CheckLayerOptions>, batch = 3) {
  test(title, () => {
    checkLayer(spec, { inputShape, batch, seed: 11, ...kind });
  });
}

describe('batchnorm gradients match finite differences', () => {
  gradcheck('per channel, training (batch statistics)', { type: 'batchnorm' }, [3, 4, 5], {
    ...smooth,
    training: true,
  });
  gradcheck('per feature, training', { type: 'batchnorm' }, [6], { ...smooth, training: true }, 5);
  gradcheck('affine off, training', { type: 'batchnorm', affine: false }, [2, 3, 3], { ...smooth, training: true });
  gradcheck('per channel, evaluation (running statistics: affine)', { type: 'batchnorm' }, [3, 4, 5], linear);
  gradcheck('per feature, evaluation', { type: 'batchnorm', eps: 0.1 }, [6], linear, 4);
  gradcheck(
    'a batch of 1 with 2×2 pixels per channel',
    { type: 'batchnorm' },
    [2, 2, 2],
    { ...smooth, training: true },
    1,
  );
});

describe('same padding, global pools and the new activations match finite differences', () => {
  gradcheck('conv2d 3×3 padding "same"', { type: 'conv2d', filters: 3, kernel: 3, padding: 'same' }, [2, 5, 6], linear);
  gradcheck(
    'conv2d [5, 3] padding "same", stride 2',
    { type: 'conv2d', filters: 2, kernel: [5, 3], padding: 'same', stride: 2 },
    [2, 7, 6],
    linear,
  );
  gradcheck('globalavgpool', { type: 'globalavgpool' }, [3, 4, 5], linear);
  gradcheck('globalmaxpool', { type: 'globalmaxpool' }, [3, 4, 5], piecewise);
  gradcheck('leaky-relu (slope 0.1)', { type: 'leaky-relu', slope: 0.1 }, [3, 5, 4], piecewise);
  gradcheck('leaky-relu (default slope)', { type: 'leaky-relu' }, [7], piecewise, 2); // an even count: no input at 0
  gradcheck('gelu', { type: 'gelu' }, [3, 5, 4], { ...smooth, input: (rng, n) => normalInput(rng, n, 2) });
});

describe('residual blocks match finite differences', () => {
  const convBn: LayerSpec[] = [
    { type: 'conv2d', filters: 3, kernel: 3, padding: 'same' },
    { type: 'batchnorm' },
    { type: 'gelu' },
  ];
  gradcheck('identity shortcut around conv, batchnorm, gelu', { type: 'residual', layers: convBn }, [3, 4, 4], {
    ...smooth,
    training: true,
  });
  gradcheck(
    '1×1 convolution shortcut with stride 2',
    {
      type: 'residual',
      layers: [{ type: 'conv2d', filters: 4, kernel: 3, padding: 1, stride: 2 }, { type: 'tanh' }],
      shortcut: { conv: 1, stride: 2 },
    },
    [2, 5, 5],
    smooth,
  );
  gradcheck(
    'nested blocks',
    {
      type: 'residual',
      layers: [
        { type: 'conv2d', filters: 2, kernel: 3, padding: 'same' },
        { type: 'residual', layers: [{ type: 'conv2d', filters: 2, kernel: 1 }, { type: 'tanh' }] },
      ],
    },
    [2, 4, 3],
    { ...smooth, eps: 3e-3 }, // tanh of a sum of two convolutions is curved more: a smaller step
  );
});

test('a small residual net with batch norm: every parameter gradient matches finite differences', () => {
  const model = buildModel(
    {
      input: [2, 6, 6],
      loss: 'cross-entropy',
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', bias: false },
        { type: 'batchnorm' },
        { type: 'gelu' },
        {
          type: 'residual',
          layers: [
            { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', bias: false },
            { type: 'batchnorm' },
            { type: 'tanh' },
          ],
        },
        { type: 'globalavgpool' },
        { type: 'dense', units: 3 },
      ],
    },
    { seed: 5 },
  );
  const rng = new Rng(6);
  const x = new Tensor([4, 2, 6, 6], normalInput(rng, 4 * 72));
  // The training-mode loss itself is differenced (evaluate() would use the running statistics).
  const loss = (): number => model.lossAndBackward(x, [0, 1, 2, 1]).loss;
  model.zeroGrad();
  loss();
  const grads = model.params().map((p) => Float32Array.from(p.grad.data));
  for (const [i, p] of model.params().entries()) {
    const d = p.value.data;
    for (let j = 0; j < d.length; j += Math.max(1, Math.floor(d.length / 7))) {
      const orig = d[j];
      d[j] = orig + 1e-2;
      const lp = loss();
      d[j] = orig - 1e-2;
      const lm = loss();
      d[j] = orig;
      const fd = (lp - lm) / 2e-2;
      assert.ok(
        Math.abs(fd - grads[i][j]) <= 3e-4 + 2e-3 * Math.abs(fd),
        `${model.namedParams()[i].name}[${j}]: gradient ${grads[i][j]}, finite differences ${fd}`,
      );
    }
  }
});

test('batch norm after a residual block keeps the running statistics of both', () => {
  const layer = makeLayer({ type: 'residual', layers: [{ type: 'batchnorm', momentum: 0.5 }] }, [2, 3, 3], {
    rng: new Rng(1),
  });
  const x = new Tensor([2, 2, 3, 3], normalInput(new Rng(2), 36, 3));
  layer.forward(x, true);
  const names = layer.namedBuffers('').map((b) => b.name);
  assert.deepEqual(names, ['layers.bn1.running_mean', 'layers.bn1.running_var', 'layers.bn1.num_batches_tracked']);
  assert.equal(layer.namedBuffers('')[2].value.value.data[0], 1);
});
