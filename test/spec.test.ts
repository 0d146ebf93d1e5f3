import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildModel,
  builtinSpec,
  ConfigError,
  type InitSpec,
  type LayerSpec,
  type ModelSpec,
  type Sequential,
  ShapeError,
  validateSpec,
} from '../src/index.js';
import { bits } from './helpers/tmp.js';

const spec = (layers: unknown[], extra: Partial<Record<keyof ModelSpec, unknown>> = {}): ModelSpec =>
  ({ input: [1, 28, 28], layers, loss: 'cross-entropy', ...extra }) as ModelSpec;

const head = [{ type: 'flatten' }, { type: 'dense', units: 10 }, { type: 'softmax' }];

function refused(s: ModelSpec, Err: typeof ShapeError | typeof ConfigError, message: RegExp): void {
  assert.throws(
    () => buildModel(s),
    (e: unknown) => {
      assert.ok(e instanceof Err, `expected a ${Err.name}, got ${String(e)}`);
      assert.match((e as Error).message, message);
      return true;
    },
  );
}

describe('buildModel refuses specs that do not fit, naming the layer', () => {
  test("the issue's example: a dense layer that expects 800 features and gets 1296", () => {
    // seed-mnist with 16 filters and a 7×7 second kernel: 16×9×9 = 1296 features reach fc1.
    refused(
      spec([
        { type: 'conv2d', filters: 16, kernel: 5 },
        { type: 'relu' },
        { type: 'conv2d', filters: 16, kernel: 7 },
        { type: 'relu' },
        { type: 'maxpool2d', size: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 128, inFeatures: 800 },
        { type: 'relu' },
        { type: 'dense', units: 10 },
        { type: 'softmax' },
      ]),
      ShapeError,
      /^layer 6 \(dense\): expected 800 input features, got 1296 — check the layers before it/,
    );
  });

  test('shape faults', () => {
    refused(
      spec([
        { type: 'conv2d', filters: 8, kernel: 5 },
        { type: 'conv2d', filters: 4, kernel: 3, inChannels: 3, name: 'c2' },
        ...head,
      ]),
      ShapeError,
      /^layer 1 \(conv2d "c2"\): expected 3 input channels, got 8 .*\[input 8×24×24\]/,
    );
    refused(
      spec([{ type: 'conv2d', filters: 8, kernel: 7 }, ...head], { input: [1, 5, 5] }),
      ShapeError,
      /^layer 0 \(conv2d\): a 7×7 kernel with padding 0×0 does not fit a 5×5 input/,
    );
    refused(
      spec([{ type: 'conv2d', filters: 8, kernel: 5 }, { type: 'maxpool2d', size: 30 }, ...head]),
      ShapeError,
      /^layer 1 \(maxpool2d\): a 30×30 window with stride 30×30 does not fit a 24×24 input/,
    );
    refused(spec([{ type: 'avgpool2d', size: [2, 40] }, ...head]), ShapeError, /^layer 0 \(avgpool2d\): a 2×40 window/);
    refused(
      spec([{ type: 'conv2d', filters: 8, kernel: 5 }, { type: 'dense', units: 10 }, { type: 'softmax' }]),
      ShapeError,
      /^layer 1 \(dense\): expects a flat input .*8×24×24 — add a flatten layer before it/,
    );
    refused(
      spec([{ type: 'flatten' }, { type: 'conv2d', filters: 2, kernel: 3 }, ...head]),
      ShapeError,
      /^layer 1 \(conv2d\): expects a C×H×W input/,
    );
    refused(spec([{ type: 'conv2d', filters: 2, kernel: 3 }]), ConfigError, /output must be a flat vector .*2×26×26/);
  });

  test('unknown, missing and bad fields', () => {
    refused(
      spec([{ type: 'conv3d', filters: 8 }, ...head]),
      ConfigError,
      /^model spec: layer 0: unknown type "conv3d" — use one of conv2d, /,
    );
    refused(
      spec([{ type: 'conv2d', filters: 8, kernel: 5, padd: 1 }, ...head]),
      ConfigError,
      /^model spec: layer 0 \(conv2d\): unknown field "padd" — conv2d takes name, filters, kernel, stride, padding/,
    );
    refused(spec([{ type: 'conv2d', kernel: 5 }, ...head]), ConfigError, /layer 0 \(conv2d\): missing "filters"/);
    refused(spec([{ type: 'dropout' }, ...head]), ConfigError, /layer 0 \(dropout\): missing "rate"/);
    refused(
      spec([{ type: 'conv2d', filters: 0, kernel: 5 }, ...head]),
      ConfigError,
      /"filters" must be a positive integer up to 2147483647, got 0/,
    );
    refused(
      spec([{ type: 'conv2d', filters: 2.5, kernel: 5 }, ...head]),
      ConfigError,
      /"filters" must be a positive integer up to 2147483647, got 2.5/,
    );
    refused(
      spec([{ type: 'conv2d', filters: 8, kernel: [5, 5, 5] }, ...head]),
      ConfigError,
      /"kernel" must be an integer or \[h, w\], got \[5,5,5\]/,
    );
    refused(
      spec([{ type: 'conv2d', filters: 8, kernel: 5, padding: -1 }, ...head]),
      ConfigError,
      /"padding" must be .*got -1/,
    );
    refused(
      spec([{ type: 'dense', units: 10, bias: 'yes' }]),
      ConfigError,
      /layer 0 \(dense\): "bias" must be true or false, got "yes"/,
    );
    refused(spec([{ type: 'dropout', rate: 1 }, ...head]), ConfigError, /"rate" must be a number in \[0, 1\), got 1/);
    refused(spec([{ type: 'relu', name: '1st' }, ...head]), ConfigError, /"name" must be an identifier .*got "1st"/);
    refused(spec([null, ...head]), ConfigError, /layer 0: expected an object with a "type", got null/);
    refused(spec([]), ConfigError, /"layers" must be a non-empty array/);
    refused(spec(head, { input: [1, 0, 28] }), ConfigError, /"input" must be .*got \[1,0,28\]/);
    refused(spec(head, { loss: 'hinge' }), ConfigError, /"loss" must be one of cross-entropy, bce, mse, got "hinge"/);
    refused(spec(head, { init: { kind: 'normal' } }), ConfigError, /"init" must be .*normal also needs "std"/);
    refused(spec(head, { init: { kind: 'lecun' } }), ConfigError, /"init" must be/);
    refused(spec(head, { classes: [1, 2] }), ConfigError, /"classes" must be an array of strings/);
    assert.throws(() => validateSpec('nope', 'my.json'), {
      name: 'ConfigError',
      message: /^my\.json: expected a JSON object/,
    });
  });

  test('bce needs a final sigmoid; names must be unique', () => {
    refused(
      spec(head, { loss: 'bce' }),
      ConfigError,
      /loss bce needs the model to end in a sigmoid layer .*last layer is softmax/,
    );
    refused(
      spec([{ type: 'flatten' }, { type: 'dense', units: 10 }], { loss: 'bce' }),
      ConfigError,
      /last layer is dense/,
    );
    assert.doesNotThrow(() =>
      buildModel(spec([{ type: 'flatten' }, { type: 'dense', units: 10 }, { type: 'sigmoid' }], { loss: 'bce' })),
    );
    refused(
      spec([{ type: 'flatten', name: 'fc1' }, { type: 'dense', units: 10 }, { type: 'softmax' }]),
      ConfigError,
      /^layer 1 \(dense\): the name "fc1" is used twice/,
    );
    refused(
      spec([{ type: 'flatten', name: 'x' }, { type: 'dense', units: 10, name: 'x' }, { type: 'softmax' }]),
      ConfigError,
      /the name "x" is used twice/,
    );
  });
});

const shapes = (m: Sequential) => m.layers.map((l) => `${l.name}:${l.outShape.join('x')}`);
const kinds = (m: Sequential) => m.layers.map((l) => l.kind);
const paramCount = (m: Sequential) => m.params().reduce((s, p) => s + p.value.size, 0);

describe('built-in models', () => {
  test('seed-mnist: 1×28×28 → 8×24×24 → 8×20×20 → pool → 800 → 128 → 10', () => {
    const m = buildModel(builtinSpec('seed-mnist'));
    assert.deepEqual(shapes(m), [
      'conv1:8x24x24',
      'relu1:8x24x24',
      'conv2:8x20x20',
      'relu2:8x20x20',
      'pool1:8x10x10',
      'flatten1:800',
      'fc1:128',
      'relu3:128',
      'fc2:10',
      'softmax1:10',
    ]);
    // conv1 8·25+8, conv2 8·8·25+8, fc1 800·128+128, fc2 128·10+10
    assert.equal(paramCount(m), 208 + 1608 + 102528 + 1290);
    assert.equal(m.spec.loss, 'cross-entropy');
    assert.deepEqual(m.spec.init, { kind: 'he-normal' });
  });

  test('seed-cifar: 3×32×32 with 10 filters flattens to 1440', () => {
    const m = buildModel(builtinSpec('seed-cifar'));
    assert.deepEqual(shapes(m).slice(0, 6), [
      'conv1:10x28x28',
      'relu1:10x28x28',
      'conv2:10x24x24',
      'relu2:10x24x24',
      'pool1:10x12x12',
      'flatten1:1440',
    ]);
    assert.deepEqual(
      m.namedParams().map(({ name, param }) => `${name}:${param.value.shape.join('x')}`),
      [
        'conv1.weight:10x3x5x5',
        'conv1.bias:10',
        'conv2.weight:10x10x5x5',
        'conv2.bias:10',
        'fc1.weight:128x1440',
        'fc1.bias:128',
        'fc2.weight:10x128',
        'fc2.bias:10',
      ],
    );
  });

  test('task1-fc: 1296 → 256 → 128 → 10, sigmoid and bce by default', () => {
    const m = buildModel(builtinSpec('task1-fc'));
    assert.deepEqual(m.inputShape, [1296]);
    assert.deepEqual(shapes(m), ['fc1:256', 'sigmoid1:256', 'fc2:128', 'sigmoid2:128', 'fc3:10', 'sigmoid3:10']);
    assert.equal(m.spec.loss, 'bce');
    assert.deepEqual(m.spec.init, { kind: 'glorot-normal' });
  });

  test('options change what they should', () => {
    const tanh = buildModel(builtinSpec('seed-mnist', { activation: 'tanh' }));
    assert.deepEqual(kinds(tanh), [
      'conv2d',
      'tanh',
      'conv2d',
      'tanh',
      'maxpool2d',
      'flatten',
      'dense',
      'tanh',
      'dense',
      'softmax',
    ]);
    assert.deepEqual(tanh.spec.init, { kind: 'glorot-normal' });
    assert.equal(kinds(buildModel(builtinSpec('seed-mnist', { pool: 'avg' })))[4], 'avgpool2d');
    const filters = buildModel(builtinSpec('seed-mnist', { filters: [4, 6] }));
    assert.deepEqual(shapes(filters).slice(0, 6), [
      'conv1:4x24x24',
      'relu1:4x24x24',
      'conv2:6x20x20',
      'relu2:6x20x20',
      'pool1:6x10x10',
      'flatten1:600',
    ]);
    assert.equal(shapes(buildModel(builtinSpec('seed-cifar', { filters: 16 })))[5], 'flatten1:2304');
    const bce = buildModel(builtinSpec('seed-mnist', { loss: 'bce' }));
    assert.equal(bce.spec.loss, 'bce');
    assert.equal(kinds(bce).at(-1), 'sigmoid');
    const fcRelu = buildModel(
      builtinSpec('task1-fc', { activation: 'relu', loss: 'cross-entropy', init: { kind: 'normal', std: 0.01 } }),
    );
    assert.deepEqual(kinds(fcRelu), ['dense', 'relu', 'dense', 'relu', 'dense', 'softmax']);
    assert.deepEqual(fcRelu.spec.init, { kind: 'normal', std: 0.01 });
    assert.throws(
      () => builtinSpec('lenet'),
      (e: unknown) =>
        e instanceof ConfigError &&
        /unknown model "lenet" — use one of seed-mnist, seed-cifar, task1-fc/.test(e.message),
    );
  });
});

/** Sample mean and standard deviation, the largest |value|, and the fraction within `sigma` of 0. */
function stats(a: Float32Array, sigma = 1): { mean: number; std: number; maxAbs: number; within: number } {
  let s = 0;
  let s2 = 0;
  let maxAbs = 0;
  let within = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
    if (Math.abs(v) <= sigma) within++;
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), maxAbs, within: within / a.length };
}

describe('initializers', () => {
  // fc1 of task1-fc: 256×1296 weights, fanIn 1296, fanOut 256. conv2 of seed-mnist: fans 8·5·5 = 200 each.
  const cases: [InitSpec, number, number][] = [
    [{ kind: 'he-normal' }, Math.sqrt(2 / 1296), Math.sqrt(2 / 200)],
    [{ kind: 'he-uniform' }, Math.sqrt(2 / 1296), Math.sqrt(2 / 200)], // limit √(6/fanIn), std limit/√3
    [{ kind: 'glorot-normal' }, Math.sqrt(2 / (1296 + 256)), Math.sqrt(2 / 400)],
    [{ kind: 'glorot-uniform' }, Math.sqrt(2 / (1296 + 256)), Math.sqrt(2 / 400)],
    [{ kind: 'normal', std: 0.05 }, 0.05, 0.05],
  ];
  for (const [init, fcStd, convStd] of cases) {
    test(`${init.kind}${'std' in init ? `:${init.std}` : ''} has the expected spread and zero biases`, () => {
      const fc = buildModel(builtinSpec('task1-fc'), { init, seed: 11 });
      const conv = buildModel(builtinSpec('seed-mnist'), { init, seed: 11 });
      for (const [w, want] of [
        [fc.namedParams()[0], fcStd],
        [conv.namedParams()[2], convStd],
      ] as const) {
        const { mean, std, maxAbs, within } = stats(w.param.value.data, want);
        const n = w.param.value.size;
        // Sampling error of a std estimate is ≈ std/√(2n) (less for uniform); allow 4 of those.
        const tol = 4 / Math.sqrt(2 * n);
        assert.ok(Math.abs(std / want - 1) < tol, `${w.name}: std ${std}, want ${want} ± ${(tol * 100).toFixed(1)}%`);
        assert.ok(Math.abs(mean) < (4 * want) / Math.sqrt(n), `${w.name}: mean ${mean}`);
        // The shape of the distribution: P(|w| ≤ σ) is 0.6827 for a normal, 1/√3 for a uniform.
        const uniform = init.kind.endsWith('uniform');
        const p = uniform ? 1 / Math.sqrt(3) : 0.6827;
        assert.ok(Math.abs(within - p) < 4 * Math.sqrt((p * (1 - p)) / n), `${w.name}: ${within} within 1σ, want ${p}`);
        if (uniform) {
          const limit = want * Math.sqrt(3);
          assert.ok(maxAbs <= limit && maxAbs > limit * 0.99, `${w.name}: max |w| ${maxAbs}, limit ${limit}`);
        }
      }
      for (const m of [fc, conv]) {
        for (const { name, param } of m.namedParams()) {
          if (name.endsWith('.bias'))
            assert.ok(
              param.value.data.every((v) => v === 0),
              `${name} must start at zero`,
            );
        }
      }
    });
  }

  test("the spec's init is used unless the build options override it", () => {
    const s = { ...builtinSpec('task1-fc'), init: { kind: 'normal', std: 0.2 } } as ModelSpec;
    assert.ok(Math.abs(stats(buildModel(s).params()[0].value.data).std / 0.2 - 1) < 0.02);
    assert.ok(
      Math.abs(stats(buildModel(s, { init: { kind: 'normal', std: 1 } }).params()[0].value.data).std - 1) < 0.02,
    );
  });

  test('the same seed gives the same weights, another seed other weights', () => {
    const weights = (seed: number) =>
      buildModel(builtinSpec('seed-mnist'), { seed })
        .params()
        .map((p) => bits(p.value.data));
    assert.deepEqual(weights(42), weights(42));
    const [a, b] = [weights(42), weights(43)];
    for (let i = 0; i < a.length; i += 2)
      assert.notDeepEqual(a[i], b[i], `weight tensor ${i} should differ between seeds`);
  });

  test('layer names default to PyTorch-like ones and can be set', () => {
    const layers: LayerSpec[] = [
      { type: 'flatten' },
      { type: 'dense', units: 4, name: 'hidden' },
      { type: 'relu' },
      { type: 'dense', units: 3 },
      { type: 'softmax' },
    ];
    const m = buildModel(spec(layers, { input: [2, 2, 2] }));
    assert.deepEqual(
      m.namedParams().map((p) => p.name),
      ['hidden.weight', 'hidden.bias', 'fc2.weight', 'fc2.bias'],
    );
  });
});
