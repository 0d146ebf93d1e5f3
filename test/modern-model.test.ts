// Models built from the modern layers: spec errors before training, state-dict names and dtypes
// as PyTorch writes them, and running statistics that survive files and checkpoints.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildModel,
  ConfigError,
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  loadWeights,
  type ModelSpec,
  makeOptimizer,
  ShapeError,
  saveCheckpoint,
  train,
  weightsToSafetensors,
} from '../src/index.js';
import { SyntheticDataset } from './helpers/synthetic.js';
import { bits, tempDir } from './helpers/tmp.js';

const net = (layers: unknown[], input = [3, 8, 8]): ModelSpec =>
  ({ input, layers, loss: 'cross-entropy' }) as ModelSpec;
const head = [{ type: 'globalavgpool' }, { type: 'dense', units: 4 }];

function refused(s: ModelSpec, Err: typeof ShapeError | typeof ConfigError, message: RegExp): void {
  assert.throws(
    () => buildModel(s),
    (e: unknown) => e instanceof Err && message.test((e as Error).message),
  );
}

const resnet = net([
  { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', bias: false },
  { type: 'batchnorm' },
  { type: 'relu' },
  {
    type: 'residual',
    layers: [
      { type: 'conv2d', filters: 8, kernel: 3, padding: 'same', stride: 2, bias: false },
      { type: 'batchnorm' },
      { type: 'relu' },
      { type: 'residual', layers: [{ type: 'conv2d', filters: 8, kernel: 3, padding: 'same' }, { type: 'batchnorm' }] },
    ],
    shortcut: { conv: 1, stride: 2 },
  },
  { type: 'dropout', rate: 0.2 },
  ...head,
]);

describe('modern specs that do not fit fail before training, naming the layer and shapes', () => {
  test('batchnorm after flatten, given the channels of a conv input', () => {
    refused(
      net([{ type: 'flatten' }, { type: 'batchnorm', channels: 3 }, { type: 'dense', units: 2 }]),
      ShapeError,
      /^layer 1 \(batchnorm\): expected 3 channels, got 192 features \(a flat vector\) — put batchnorm before flatten/,
    );
  });

  test('residual branches that disagree name both shapes', () => {
    refused(
      net([{ type: 'residual', layers: [{ type: 'conv2d', filters: 4, kernel: 3 }] }, ...head]),
      ShapeError,
      /^layer 0 \(residual\): the branches do not match: the layers give 4×6×6, the shortcut \(identity\) gives 3×8×8/,
    );
    refused(
      net([
        {
          type: 'residual',
          layers: [{ type: 'conv2d', filters: 4, kernel: 3, padding: 1 }],
          shortcut: { conv: 1, stride: 2 },
        },
        ...head,
      ]),
      ShapeError,
      /the layers give 4×8×8, the shortcut \(conv\) gives 4×4×4/,
    );
  });

  test('errors inside nested blocks give the path', () => {
    refused(
      net([
        {
          type: 'residual',
          layers: [{ type: 'residual', layers: [{ type: 'conv2d', filters: 3, kernel: 4, padding: 'same' }] }],
        },
        ...head,
      ]),
      ShapeError,
      /^layer 0 \(residual\) › layer 0 \(residual\) › layer 0 \(conv2d\): padding "same" needs an odd kernel, got 4×4/,
    );
    refused(
      net([{ type: 'residual', layers: [{ type: 'relu', slope: 0.1 }] }, ...head]),
      ConfigError,
      /layer 0 › layer 0 \(relu\): unknown field "slope"/,
    );
    refused(
      net([{ type: 'residual', layers: [] }, ...head]),
      ConfigError,
      /"layers" must be a non-empty array of layers/,
    );
    refused(
      net([{ type: 'residual', layers: [{ type: 'relu' }], shortcut: { conv: 2 } }, ...head]),
      ConfigError,
      /"shortcut" must be/,
    );
    refused(net([{ type: 'batchnorm', momentum: 2 }, ...head]), ConfigError, /"momentum" must be a number in \[0, 1\]/);
  });

  test('a training batch of 1 through a batchnorm of feature vectors is refused before the first step', async () => {
    const m = buildModel(net([{ type: 'flatten' }, { type: 'batchnorm' }, { type: 'dense', units: 4 }], [1, 4, 4]));
    const data = new SyntheticDataset('tiny', 9, [1, 4, 4], 4, 1);
    const o = { epochs: 1, seed: 1, optimizer: makeOptimizer({ kind: 'sgd', lr: 0.1 }) };
    await assert.rejects(
      train(m, data, null, { ...o, batchSize: 1 }),
      /layer 1 \(batchnorm "bn1"\), a training batch of 1: .* 1×16/,
    );
    await assert.rejects(
      train(m, data, null, { ...o, batchSize: 4 }),
      /the last training batch of 1 \(9 images in batches of 4\)/,
    );
    // Per-channel statistics over 4×4 pixels are fine at batch 1.
    const conv = buildModel(net([{ type: 'batchnorm' }, ...head], [1, 4, 4]));
    await train(conv, data, null, { ...o, batchSize: 1 });
  });
});

describe('state dict', () => {
  test('names follow the PyTorch module layout; num_batches_tracked is int64', () => {
    const m = buildModel(resnet, { seed: 1 });
    assert.deepEqual(
      m.namedParams().map((p) => p.name),
      [
        'conv1.weight',
        'bn1.weight',
        'bn1.bias',
        'res1.layers.conv1.weight',
        'res1.layers.bn1.weight',
        'res1.layers.bn1.bias',
        'res1.layers.res1.layers.conv1.weight',
        'res1.layers.res1.layers.conv1.bias',
        'res1.layers.res1.layers.bn1.weight',
        'res1.layers.res1.layers.bn1.bias',
        'res1.shortcut.weight',
        'fc1.weight',
        'fc1.bias',
      ],
    );
    const bytes = weightsToSafetensors(m);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    assert.deepEqual(header['bn1.num_batches_tracked'], {
      dtype: 'I64',
      shape: [],
      data_offsets: header['bn1.num_batches_tracked'].data_offsets,
    });
    assert.equal(header['res1.layers.bn1.running_var'].dtype, 'F32');
    assert.equal(
      m.namedParams().find((p) => p.name === 'bn1.weight')!.param.value.data[0],
      1,
      'batch-norm scale starts at 1',
    );
  });

  test('weights and running statistics round-trip through safetensors; int64 counts read back exactly', () => {
    const m = buildModel(resnet, { seed: 1 });
    const stats = m.namedBuffers();
    stats.forEach((b, i) => b.buffer.value.data.fill(i + 0.5));
    stats.filter((b) => b.buffer.dtype === 'I64').forEach((b) => b.buffer.value.data.fill(123456));
    const other = buildModel(resnet, { seed: 2 });
    loadWeights(other, weightsToSafetensors(m));
    assert.deepEqual(
      other.namedBuffers().map((b) => Array.from(b.buffer.value.data)),
      stats.map((b) => Array.from(b.buffer.value.data)),
    );
    const big = decodeSafetensors(
      encodeSafetensors([{ name: 'n', shape: [2], data: Float32Array.of(7, 2 ** 24), dtype: 'I64' }]),
    );
    assert.deepEqual(Array.from(big.tensors.get('n')!.data), [7, 2 ** 24]);
    const missing = encodeSafetensors(
      [...decodeSafetensors(weightsToSafetensors(m)).tensors.values()].filter((t) => !t.name.endsWith('running_mean')),
    );
    assert.throws(() => loadWeights(other, missing, 'w'), /w: does not fit the model — missing bn1\.running_mean/);
  });

  test('a run stopped mid-epoch and resumed from its checkpoint restores the running statistics bit-identically', async () => {
    const data = new SyntheticDataset('synthetic', 60, [3, 8, 8], 4, 3);
    const o = (opt = makeOptimizer({ kind: 'momentum', lr: 0.05 })) => ({
      epochs: 2,
      batchSize: 8,
      seed: 4,
      optimizer: opt,
    });
    const straight = buildModel(resnet, { seed: 3 });
    await train(straight, data, null, o());
    const ctl = new AbortController();
    const first = buildModel(resnet, { seed: 3 });
    const inner = makeOptimizer({ kind: 'momentum', lr: 0.05 });
    let steps = 0;
    const stopping = {
      ...inner,
      step: (p: Parameters<typeof inner.step>[0]) => {
        inner.step(p);
        if (++steps === 5) ctl.abort();
      },
      state: () => inner.state(),
      loadState: inner.loadState.bind(inner),
      lr: inner.lr,
    };
    const stopped = await train(first, data, null, { ...o(stopping), signal: ctl.signal });
    const dir = tempDir('convts-bn-ckpt-');
    saveCheckpoint(dir, first, stopped.state!);
    const again = buildModel(resnet, { seed: 99 });
    await train(again, data, null, { ...o(), resume: loadCheckpoint(dir, again) });
    const state = (m: typeof again) => m.namedBuffers().map((b) => [b.name, bits(b.buffer.value.data).slice()]);
    assert.deepEqual(state(again), state(straight));
    assert.deepEqual(
      again.params().map((p) => bits(p.value.data).slice()),
      straight.params().map((p) => bits(p.value.data).slice()),
    );
  });
});
