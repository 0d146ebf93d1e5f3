// convts train with a modern spec and recipe flags on a tiny MNIST-format set: the flags reach
// config.json, the saved weights load strictly into the PyTorch network that
// tools/torch_load_check.py builds from model.json, and bad values are usage errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { specModelPath } from '../src/cli/spec-models.js';
import { resolveConfig, resolveLayers } from '../src/cli/train-settings.js';
import { buildModel, lrAtStep, makeOptimizer, train as trainModel, UsageError } from '../src/index.js';
import { convts, readJson } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { SyntheticDataset } from './helpers/synthetic.js';
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
    {
      type: 'residual',
      layers: [{ type: 'conv2d', filters: 8, kernel: 3, padding: 'same', bias: false }, { type: 'batchnorm' }],
      shortcut: 'identity',
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
    assert.match(load.stdout, /loaded 21 tensors strictly/);
    // With the data, PyTorch evaluates the test set with these weights: its accuracy must be convts's.
    const evaluated = spawnSync(py, [tool, out, join(dir, 'mnist')], { encoding: 'utf8' });
    assert.equal(evaluated.status, 0, evaluated.stdout + evaluated.stderr);
    const m = /PyTorch accuracy with convts weights: ([\d.]+); convts summary.json: ([\d.]+)/.exec(evaluated.stdout);
    assert.ok(m, evaluated.stdout);
    assert.equal(m[1], m[2]);
  });

  test("convts eval applies the run's flip averaging by default, --tta off and flip override it", async () => {
    const run = join(dir, 'run'); // trained above with --tta flip
    const summary = readJson(join(run, 'summary.json'));
    const byDefault = await convts('eval', run, '--data-dir', dir, '--json');
    assert.equal(byDefault.code, 0, byDefault.stderr);
    const d = JSON.parse(byDefault.stdout);
    assert.equal(d.tta, 'flip');
    assert.equal(d.accuracy, summary.testAccuracy);
    assert.ok(Math.abs(d.loss - summary.testLoss) < 1e-6, `${d.loss} vs ${summary.testLoss}`);
    const off = JSON.parse((await convts('eval', run, '--data-dir', dir, '--json', '--tta', 'off')).stdout);
    assert.equal(off.tta, 'off');
    assert.notEqual(off.loss, d.loss);
    const text = await convts('eval', run, '--data-dir', dir, '--tta', 'flip');
    assert.match(text.stdout, /flip averaged/);
    const bad = await convts('eval', run, '--tta', 'flop');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--tta: "flop" is not one of flip, flip-translate, translate, off/);
  });

  test('--val with a test split: both are evaluated each epoch and reported side by side', async () => {
    const out = join(dir, 'val-test');
    const r = await train('--val', '10', '--epochs', '2', '--batch-size', '10', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /evaluating on 10 validation images and 20 test images/);
    assert.match(r.stderr, /epoch 2\/2 .* val loss [\d.]+ acc [\d.]+% {2}test loss [\d.]+ acc [\d.]+%/);
    assert.match(r.stderr, /validation accuracy [\d.]+%, loss [\d.]+; test accuracy [\d.]+%/);
    const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((m) => m.kind === 'epoch');
    assert.equal(epochs.length, 2);
    for (const e of epochs) assert.ok(e.testSplitAccuracy >= 0 && e.testSplitAccuracy <= 1 && e.testSplitLoss > 0);
    const s = readJson(join(out, 'summary.json'));
    assert.equal(s.evaluatedOn, 'validation');
    assert.equal(s.testSize, 10);
    assert.deepEqual(Object.keys(s.testSplit).sort(), ['accuracy', 'loss', 'name', 'size']);
    assert.equal(s.testSplit.size, 20);
    assert.equal(s.testSplit.accuracy, epochs[1].testSplitAccuracy); // the final weights are the last epoch's
    assert.notEqual(s.testSplit.loss, s.testLoss);
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

test("a spec's recipe sets the training defaults; --config and flags override it; a bad key is a usage error", () => {
  const cifar = resolveLayers([{ source: '', flags: { model: 'convts-cifar' } }]);
  const recipe = readJson(specModelPath('convts-cifar')).recipe;
  assert.equal(cifar.epochs, recipe.epochs);
  assert.equal(cifar.batchSize, recipe['batch-size']);
  assert.equal(cifar.optimizer, recipe.optimizer);
  assert.equal(cifar.lr, recipe.lr);
  assert.equal(cifar.labelSmoothing, recipe['label-smoothing']);
  assert.equal(cifar.tta, recipe.tta);
  // the recipe's onecycle:0.23:5:2.857:linear, lookahead 5:0.95 and shift:2:reflect,flip:alternate
  assert.deepEqual(cifar.schedule, {
    kind: 'onecycle',
    pctStart: 0.23,
    divFactor: 5,
    finalDivFactor: 2.857,
    anneal: 'linear',
  });
  assert.deepEqual(cifar.lookahead, { every: 5, decay: 0.95 });
  assert.deepEqual(cifar.augment, { shift: 2, flip: true, reflect: true, alternateFlip: true });
  const mine = resolveLayers([
    { source: 'my.json', flags: { model: 'convts-cifar', lr: '0.2' } },
    { source: '', flags: { epochs: '2' } },
  ]);
  assert.deepEqual([mine.epochs, mine.lr, mine.optimizer], [2, 0.2, recipe.optimizer]);
  assert.equal(resolveLayers([{ source: '', flags: { model: 'seed-mnist' } }]).epochs, 1); // no recipe, no change

  const dir = tempDir('convts-recipe-');
  const spec = (recipe: unknown) => {
    const f = join(dir, `s${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify({ ...readJson(specModelPath('convts-mnist')), recipe }));
    return f;
  };
  assert.equal(resolveLayers([{ source: '', flags: { model: spec({ epochs: 3 }) } }]).epochs, 3);
  const bad = spec({ epoch: 3 });
  assert.throws(
    () => resolveLayers([{ source: '', flags: { model: bad } }]),
    (e: Error) => e instanceof UsageError && e.message.includes(`${bad} "recipe": "epoch" is not a train option`),
  );
  assert.throws(() => resolveLayers([{ source: '', flags: { model: spec({ out: 'x' }) } }]), /"out" cannot be part/);
  assert.throws(
    () => resolveLayers([{ source: '', flags: { model: spec({ lr: -1 }) } }]),
    (e: Error) => e instanceof UsageError && /"recipe": "lr"/.test(e.message),
  );
  assert.throws(
    () => resolveLayers([{ source: '', flags: { model: spec([1]) } }]),
    /"recipe": expected a JSON object of flag names/,
  );
});

test('--schedule onecycle:PEAK:DIV and --tta off (which overrides a recipe) resolve; bad forms are usage errors', () => {
  const c = resolveConfig({ model: 'convts-cifar', schedule: 'onecycle:0.23:5', tta: 'off' });
  assert.deepEqual(c.schedule, { kind: 'onecycle', pctStart: 0.23, divFactor: 5 });
  assert.equal(c.tta, null);
  assert.deepEqual(resolveConfig({ schedule: 'onecycle:0.4' }).schedule, { kind: 'onecycle', pctStart: 0.4 });
  for (const schedule of ['onecycle:1.5', 'onecycle:0.3:0.5', 'onecycle:x'])
    assert.throws(
      () => resolveConfig({ schedule }),
      (e: unknown) => e instanceof UsageError && /onecycle\[/.test(String(e)),
    );
  assert.throws(() => resolveConfig({ tta: 'mirror' }), UsageError);
  assert.deepEqual(resolveConfig({ schedule: 'onecycle:0.25:5:2:linear' }).schedule, {
    kind: 'onecycle',
    pctStart: 0.25,
    divFactor: 5,
    finalDivFactor: 2,
    anneal: 'linear',
  });
  assert.throws(() => resolveConfig({ schedule: 'onecycle:0.25:5:0.5' }), UsageError);
  assert.deepEqual(resolveConfig({ lookahead: '5:0.95' }).lookahead, { every: 5, decay: 0.95 });
  assert.equal(resolveConfig({ lookahead: 'off' }).lookahead, null);
  for (const lookahead of ['5', '0:0.9', '5:1', 'x:y'])
    assert.throws(() => resolveConfig({ lookahead }), /--lookahead: expected <steps ≥ 1>:<decay in \[0, 1\)>/);
  assert.throws(() => resolveConfig({ lookahead: '5:0.9', ema: '0.99' }), /--lookahead and --ema cannot be combined/);
  assert.deepEqual(resolveConfig({ tta: 'flip-translate' }).tta, 'flip-translate');
});

test('onecycle with linear annealing: straight lines from lr/DIV to lr at the peak step, then to lr/DIV/FINAL', () => {
  // PyTorch's OneCycleLR(anneal_strategy='linear'): the peak is at step pct·total − 1, the end at total − 1.
  const spec = resolveConfig({ schedule: 'onecycle:0.25:5:2:linear' }).schedule;
  const at = (t: number) => lrAtStep(spec, 1, { epoch: 0, step: t, stepsPerEpoch: 100, epochs: 1 });
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  near(at(0), 0.2);
  near(at(12), 0.2 + (0.8 * 12) / 24);
  near(at(24), 1);
  near(at(24 + 25), 1 - (0.9 * 25) / 75);
  near(at(99), 0.1);
});

test('--eval-every N evaluates every N epochs and after the last; patience refuses it', async () => {
  const model = buildModel({ input: [4], layers: [{ type: 'dense', units: 2 }], loss: 'cross-entropy' }, { seed: 1 });
  const ds = new SyntheticDataset('syn', 16, [4], 2, 1);
  const optimizer = () => makeOptimizer({ kind: 'sgd', lr: 0.1 });
  const r = await trainModel(model, ds, ds, { epochs: 5, batchSize: 8, seed: 1, optimizer: optimizer(), evalEvery: 2 });
  assert.deepEqual(
    r.epochs.map((e) => e.testAccuracy !== null),
    [false, true, false, true, true],
  );
  await assert.rejects(
    trainModel(model, ds, ds, { epochs: 2, batchSize: 8, seed: 1, optimizer: optimizer(), evalEvery: 2, patience: 1 }),
    /patience needs an evaluation after every epoch/,
  );
  assert.equal(resolveConfig({ 'eval-every': '3' }).evalEvery, 3);
  assert.throws(() => resolveConfig({ 'eval-every': '0' }), UsageError);
});
