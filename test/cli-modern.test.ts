// convts train with a modern spec and recipe flags on a tiny MNIST-format set: the flags reach
// config.json, the saved weights load strictly into the PyTorch network that
// tools/torch_load_check.py builds from model.json, and bad values are usage errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/cli/train-settings.js';
import { buildModel } from '../src/index.js';
import { convts, readJson } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { tempDir } from './helpers/tmp.js';

const spec = {
  input: [1, 28, 28],
  loss: 'cross-entropy',
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', stride: 2, bias: false },
    { type: 'batchnorm' },
    { type: 'gelu' },
    {
      type: 'residual',
      layers: [
        { type: 'conv2d', filters: 8, kernel: 3, padding: 'same', stride: 2, bias: false },
        { type: 'batchnorm' },
        { type: 'leaky-relu', slope: 0.1 },
      ],
      shortcut: { conv: 1, stride: 2 },
    },
    { type: 'globalmaxpool' },
    { type: 'dropout', rate: 0.1 },
    { type: 'dense', units: 10 },
  ],
};

describe('convts train with a modern spec and recipe', () => {
  const dir = tempDir('convts-modern-cli-');
  const specFile = join(dir, 'resnet.json');
  before(() => {
    writeMnistDir(dir, 40, 20);
    writeFileSync(specFile, JSON.stringify(spec));
  });
  const train = (...args: string[]) =>
    convts('train', '--dataset', 'mnist', '--data-dir', dir, '--offline', '--model', specFile, ...args);

  test('adamw, one-cycle with warm-up, label smoothing, clipping and the weight average; PyTorch loads the result', async () => {
    const out = join(dir, 'run');
    const flags = ['--optimizer', 'adamw', '--wd-skip-norm', '--schedule', 'onecycle', '--warmup', '0.5'];
    const r = await train(
      ...flags,
      '--label-smoothing',
      '0.1',
      '--clip-grad',
      '1',
      '--ema',
      '0.9',
      '--tta',
      'flip',
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--out',
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    const c = readJson(join(out, 'config.json'));
    assert.deepEqual(
      [c.optimizer, c.weightDecay, c.wdSkipNorm, c.schedule, c.warmup, c.labelSmoothing, c.clipGrad, c.ema, c.tta],
      ['adamw', 0.01, true, { kind: 'onecycle' }, 0.5, 0.1, 1, 0.9, 'flip'],
    );
    const bytes = readFileSync(join(out, 'model.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
    assert.equal(header['res1.layers.bn1.num_batches_tracked'].dtype, 'I64');
    const py = '/usr/bin/python3';
    const tool = fileURLToPath(new URL('../../tools/torch_load_check.py', import.meta.url));
    const probe = existsSync(py) ? spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }) : null;
    if (probe?.status !== 0) {
      console.log('# skipped the PyTorch load: /usr/bin/python3 with torch is not installed');
      return;
    }
    const load = spawnSync(py, [tool, out], { encoding: 'utf8' });
    assert.equal(load.status, 0, load.stderr);
    assert.match(load.stdout, /loaded 15 tensors strictly/);
  });

  test('bad recipe values are usage errors (exit 2); a batch-norm batch of one value fails before training (exit 1)', async () => {
    for (const [flag, value, msg] of [
      ['--ema', '1', /--ema: expected a number > 0 and < 1, got "1"/],
      ['--label-smoothing', '1', /--label-smoothing: expected a number ≥ 0 and < 1, got "1"/],
      ['--clip-grad', '0', /--clip-grad: expected a number > 0, got "0"/],
      ['--schedule', 'onecycles', /--schedule: expected constant, cosine, cosine:batch, onecycle/],
    ] as const) {
      const r = await train(flag, value);
      assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
    const flat = join(dir, 'flat.json');
    writeFileSync(
      flat,
      JSON.stringify({ ...spec, layers: [{ type: 'flatten' }, { type: 'batchnorm' }, { type: 'dense', units: 10 }] }),
    );
    const r = await convts(
      'train',
      '--dataset',
      'mnist',
      '--data-dir',
      dir,
      '--offline',
      '--model',
      flat,
      '--batch-size',
      '1',
      '--out',
      join(dir, 'b1'),
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /layer 1 \(batchnorm "bn1"\), a training batch of 1: batch statistics need more than one value per channel/,
    );
  });
});

test('the built-in spec models convts-mnist and convts-cifar resolve to models/*.json and build', () => {
  for (const [name, input] of [
    ['convts-mnist', [1, 28, 28]],
    ['convts-cifar', [3, 32, 32]],
  ] as const) {
    const c = resolveConfig({ model: name });
    assert.equal(c.spec.name, name);
    assert.deepEqual(c.spec.input, input);
    const m = buildModel(c.spec, { seed: 1 });
    assert.deepEqual(m.outputShape, [10]);
    assert.ok(m.namedBuffers().some((b) => b.name.endsWith('num_batches_tracked')));
  }
});
