import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { evaluate, loadMnist, loadModel } from '../src/index.js';
import { convts, readJson } from './helpers/cli.js';
import { patternImages, writeMnistDir } from './helpers/mnist.js';
import { tempDir } from './helpers/tmp.js';

const sum = (m: number[][]) => m.flat().reduce((a, b) => a + b, 0);

describe('convts train', () => {
  const data = tempDir('convts-cli-');
  before(() => writeMnistDir(data, 64, 32));
  const train = (...args: string[]) =>
    convts('train', '--model', 'seed-mnist', '--dataset', 'mnist', '--data-dir', data, ...args);

  test('writes a complete run directory', async () => {
    const out = join(data, 'run');
    const r = await train('--epochs', '2', '--batch-size', '8', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), [
      'config.json',
      'confusion.png',
      'curves-accuracy.png',
      'curves-loss.png',
      'feature-maps.png',
      'filters-conv1.png',
      'filters-conv2.png',
      'metrics.jsonl',
      'misclassified.png',
      'model.json',
      'model.safetensors',
      'probabilities.safetensors',
      'report.html',
      'summary.json',
    ]);
    assert.match(r.stderr, /epoch 2\/2 +train loss/);

    const config = readJson(join(out, 'config.json'));
    assert.equal(config.epochs, 2);
    assert.equal(config.batchSize, 8);
    assert.equal(config.dataDir, data);

    const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const lines = records.filter((l) => l.kind !== 'step');
    // 64 images in batches of 8: 8 steps an epoch, each its own record (about 100 per epoch at most)
    const steps = records.filter((l) => l.kind === 'step');
    assert.deepEqual(
      steps.map((l) => [l.epoch, l.step]),
      Array.from({ length: 16 }, (_, i) => [i < 8 ? 1 : 2, i + 1]),
    );
    for (const l of steps) {
      assert.ok(l.loss > 0 && l.accuracy >= 0 && l.accuracy <= 1 && l.imagesPerSecond > 0, JSON.stringify(l));
      assert.equal(l.lr, config.lr);
    }
    // each epoch record follows its epoch's last step record
    assert.deepEqual(
      records.map((l) => (l.kind === 'step' ? 'step' : `epoch ${l.epoch}`)).filter((k, i, a) => k !== a[i - 1]),
      ['step', 'epoch 1', 'step', 'epoch 2'],
    );
    assert.deepEqual(
      lines.map((l) => l.epoch),
      [1, 2],
    );
    for (const l of lines)
      for (const k of ['lr', 'trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy'])
        assert.equal(typeof l[k], 'number', k);

    const s = readJson(join(out, 'summary.json'));
    assert.equal(s.status, 'completed');
    assert.equal(s.trainSize, 64);
    assert.equal(s.testSize, 32);
    assert.ok(s.testAccuracy >= 0 && s.testAccuracy <= 1, `testAccuracy ${s.testAccuracy} must be a fraction`);
    assert.ok(Number.isFinite(s.testLoss) && s.testLoss >= 0);
    assert.deepEqual(
      s.perEpoch.map((e: { epoch: number }) => e.epoch),
      [1, 2],
    );
    assert.equal(s.perEpoch[1].testAccuracy, s.testAccuracy);
    const cm: number[][] = s.confusionMatrix;
    assert.equal(cm.length, 10);
    assert.ok(cm.every((row) => row.length === 10 && row.every((v) => Number.isInteger(v) && v >= 0)));
    assert.equal(sum(cm), 32);
    // Rows are the true classes: each row adds up to that class's count in the test files.
    const { labels } = patternImages(32, 2);
    assert.deepEqual(
      cm.map((row) => row.reduce((a, b) => a + b, 0)),
      Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length),
    );
    assert.equal(s.testAccuracy, cm.reduce((a, row, c) => a + row[c], 0) / 32);
    assert.ok(s.testAccuracy >= 0.5, `the patterns are easy: test accuracy ${s.testAccuracy} (chance 0.1)`);

    // The saved model is the trained one: scored again, it gives the summary's numbers.
    const model = loadModel(out);
    const again = evaluate(model, loadMnist(data).test);
    assert.equal(again.accuracy, s.testAccuracy);
    assert.deepEqual(again.confusion, cm);
    assert.ok(Math.abs(again.loss - s.testLoss) < 1e-9);
  });

  test('--json prints the summary; --train-limit and --test-limit cut the sets; a rerun is identical', async () => {
    const out = join(data, 'limited');
    const r = await train('--epochs', '1', '--train-limit', '16', '--test-limit', '8', '--json', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout);
    assert.deepEqual(printed, readJson(join(out, 'summary.json')));
    assert.equal(printed.trainSize, 16);
    assert.equal(printed.testSize, 8);
    assert.equal(sum(printed.confusionMatrix), 8);

    // The same command again gives the same weights, byte for byte, and the same metrics.
    const out2 = join(data, 'limited-again');
    assert.equal(
      (await train('--epochs', '1', '--train-limit', '16', '--test-limit', '8', '--json', '--out', out2)).code,
      0,
    );
    assert.ok(readFileSync(join(out2, 'model.safetensors')).equals(readFileSync(join(out, 'model.safetensors'))));
    const untimed = (dir: string) => {
      const { seconds: _s, trainImagesPerSecond: _r, perEpoch, ...rest } = readJson(join(dir, 'summary.json'));
      return {
        ...rest,
        perEpoch: perEpoch.map(({ seconds: _e, evalSeconds: _v, ...m }: { seconds: number; evalSeconds: number }) => m),
      };
    };
    assert.deepEqual(untimed(out2), untimed(out));
  });

  test('--batch-size 1 --optimizer momentum trains', async () => {
    const out = join(data, 'per-sample');
    const r = await train(
      '--epochs',
      '1',
      '--batch-size',
      '1',
      '--optimizer',
      'momentum',
      '--train-limit',
      '16',
      '--test-limit',
      '8',
      '--out',
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    const s = readJson(join(out, 'summary.json'));
    assert.equal(s.status, 'completed');
    assert.equal(readJson(join(out, 'config.json')).batchSize, 1);
    assert.equal(readJson(join(out, 'config.json')).optimizer, 'momentum');
  });

  test('a diverging run exits 1 and says where it diverged', async () => {
    const out = join(data, 'diverged');
    const r = await train(
      '--epochs',
      '1',
      '--optimizer',
      'sgd',
      '--lr',
      '1e10',
      '--batch-size',
      '4',
      '--train-limit',
      '16',
      '--test-limit',
      '8',
      '--out',
      out,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /convts: training diverged: the loss is \S+ at epoch 1, step \d+ .*lower the learning rate/);
    const s = readJson(join(out, 'summary.json'));
    assert.equal(s.status, 'diverged');
    assert.equal(s.epoch, 1);
    assert.ok(
      loadModel(out)
        .params()
        .every((p) => p.value.data.every(Number.isFinite)),
    );
  });

  test('bad command lines are refused with a message and an exit code', async () => {
    const cases: [string[], number, RegExp][] = [
      [
        ['train', '--epoch', '2'],
        2,
        /^convts: Unknown option '--epoch' — did you mean --epochs\? \(see convts train --help\)\n$/,
      ],
      [['train', '--bach-size', '2'], 2, /Unknown option '--bach-size' — did you mean --batch-size\?/],
      [['train', '--epochs'], 2, /Option '--epochs <value>' argument missing/],
      [['train', 'extra'], 2, /train takes no arguments, got "extra"/],
      [['train', '--epochs', 'x'], 2, /^convts: --epochs: expected an integer ≥ 1, got "x"\n$/],
      [['train', '--batch-size', '0'], 2, /--batch-size: expected an integer ≥ 1, got "0"/],
      [['train', '--epochs', '1e308'], 2, /--epochs: expected an integer ≥ 1, got "1e308" \(past 2\^53, too large/],
      [
        ['train', '--batch-size', '9007199254740994'],
        2,
        /--batch-size: expected an integer ≥ 1, got "9007199254740994"/,
      ],
      [['train', '--lr', '0'], 2, /--lr: expected a number > 0, got "0"/],
      [
        ['train', '--optimizer', 'adma'],
        2,
        /--optimizer: "adma" is not one of sgd, momentum, nesterov, adam, adamw — did you mean adam\?/,
      ],
      [
        ['train', '--model', 'lenet'],
        2,
        /^convts: --model: unknown model "lenet" — use one of seed-mnist, seed-cifar, task1-fc/,
      ],
      [['train', '--model', 'nothing.json'], 2, /--model: nothing\.json not found/],
      [
        ['train', '--resume', 'nowhere'],
        1,
        /nowhere\/checkpoint\.safetensors not found — --resume takes a run directory stopped with Ctrl-C/,
      ],
      [
        ['train', '--resume', 'nowhere', '--lr', '0.1'],
        2,
        /--resume continues a run with its own config\.json — drop --lr/,
      ],
      [
        ['train', '--config', 'nowhere.json'],
        2,
        /--config: nowhere\.json not found — give a JSON file of flag names and values/,
      ],
      [['fit'], 2, /^convts: unknown command "fit" — use one of train/],
    ];
    const runs = await Promise.all(cases.map(([args]) => convts(...args)));
    for (const [i, [args, code, message]] of cases.entries()) {
      const r = runs[i];
      assert.equal(r.code, code, `convts ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, `convts ${args.join(' ')}`);
      assert.equal(r.stdout, '');
    }
  });

  test('a bad model spec file is refused, naming the file', async () => {
    const path = join(data, 'bad-spec.json');
    writeFileSync(
      path,
      JSON.stringify({ input: [1, 28, 28], layers: [{ type: 'conv2d', filters: 8 }], loss: 'cross-entropy' }),
    );
    const r = await train('--model', path);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`convts: ${path}: layer 0 (conv2d): missing "kernel"`), r.stderr);
  });

  test('a missing data set says which file and where it looked, and writes nothing', async () => {
    const nowhere = join(data, 'nowhere');
    const out = join(data, 'never');
    const r = await convts('train', '--data-dir', nowhere, '--out', out);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`train-images-idx3-ubyte(.gz) not found in ${join(nowhere, 'mnist')}`), r.stderr);
    assert.ok(!existsSync(out));
  });

  test('--help for the program and for train', async () => {
    const program = [[], ['--help'], ['-h'], ['help']];
    const train = [
      ['train', '--help'],
      ['train', '-h'],
      ['help', 'train'],
    ];
    const runs = await Promise.all([...program, ...train].map((args) => convts(...args)));
    for (const r of runs.slice(0, program.length)) {
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: convts <command> \[options\]$/m);
      assert.match(r.stdout, /^ +train +train a model/m);
    }
    for (const r of runs.slice(program.length)) {
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: convts train --model/m);
      for (const flag of ['--epochs', '--batch-size', '--train-limit', '--test-limit', '--json', '--out'])
        assert.ok(r.stdout.includes(flag), flag);
      assert.equal(r.stderr, '');
    }
  });
});
