import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { resolveConfig } from '../src/cli/train-settings.js';
import {
  buildModel,
  checkpointPath,
  checkSummary,
  DataFormatError,
  decodeSafetensors,
  encodeSafetensors,
  epochRecord,
  loadCheckpoint,
  type ModelSpec,
  makeOptimizer,
  readEpochMetrics,
  readMetrics,
  readRunConfig,
  readRunSummary,
  saveCheckpoint,
  summarize,
  summarySchema,
  train,
  writeRunSummary,
} from '../src/index.js';
import { readMetricsTail, readTrainSettings, runEnvironment, writeRunConfig } from '../src/run/index.js';
import { readJson } from './helpers/cli.js';
import { SyntheticDataset } from './helpers/synthetic.js';
import { tempDir } from './helpers/tmp.js';

// The run directory's files read back through one module: the published schema is the one the
// code checks with, old files stay readable, and a bad file is named with the field at fault.

const spec: ModelSpec = {
  input: [1, 6, 6],
  layers: [{ type: 'flatten' }, { type: 'dense', units: 3 }, { type: 'softmax' }],
  loss: 'cross-entropy',
};

describe('run files', () => {
  test('docs/summary.schema.json is the schema the code validates with', () => {
    const published = readJson(join(import.meta.dirname, '..', '..', 'docs', 'summary.schema.json'));
    assert.deepEqual(
      published,
      JSON.parse(JSON.stringify(summarySchema)),
      'regenerate docs/summary.schema.json from src/run/summary-schema.ts (JSON.stringify(summarySchema, null, 2))',
    );
  });

  test('a summary that does not fit its kind is refused, naming the file and the field', () => {
    assert.throws(() => checkSummary({ status: 'done' }, 'r/summary.json'), /r\/summary\.json: "status" must be/);
    assert.throws(
      () => checkSummary({ status: 'diverged', error: 'x', epoch: 0, step: 1 }, 'r/summary.json'),
      /r\/summary\.json: "epoch" must be >= 1 \(a diverged run's summary\.json\)/,
    );
    const dir = tempDir('convts-run-');
    writeFileSync(join(dir, 'summary.json'), '{"status": "interrupted",');
    assert.throws(() => readRunSummary(dir), /summary\.json: not valid JSON/);
  });

  test('config.json: a field of the wrong type is named', () => {
    const dir = tempDir('convts-run-');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ dataset: 'mnist', normalization: { mean: [0] } }));
    assert.throws(() => readRunConfig(dir), /config\.json: "normalization" must be \{"mean"/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ dataset: 'mnist', classNames: ['a', 1] }));
    assert.throws(() => readRunConfig(dir), /config\.json: "classNames" must be a list of strings/);
    writeFileSync(join(dir, 'config.json'), '[]');
    assert.throws(() => readRunConfig(dir), /config\.json: expected a JSON object, got an array/);
  });

  test('config.json: the three input kinds load; an older Fashion-MNIST run recorded as digits reads as objects', () => {
    const dir = tempDir('convts-run-');
    const input = (kind: string) => ({ shape: [1, 28, 28], normalization: { mean: [0.3], std: [0.35] }, kind });
    for (const [dataset, kind, want] of [
      ['mnist', 'digits', 'digits'],
      ['fashion-mnist', 'objects', 'objects'],
      ['fashion-mnist', 'digits', 'objects'],
      ['cifar-10', 'photos', 'photos'],
    ]) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ dataset, input: input(kind) }));
      assert.equal(readRunConfig(dir).input?.kind, want, `${dataset} recorded as ${kind}`);
    }
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ dataset: 'mnist', input: input('sketches') }));
    assert.throws(() => readRunConfig(dir), /"input" must be .*"kind": "digits"\|"objects"\|"photos"/);
  });

  test('metrics.jsonl: lines without a kind are epochs (older runs), step records are kept apart', () => {
    const dir = tempDir('convts-run-');
    const epoch = { epoch: 1, lr: 0.1, trainLoss: 1, trainAccuracy: 0.5, testLoss: null, testAccuracy: null };
    const step = { kind: 'step', step: 3, epoch: 2, loss: 0.9, accuracy: 0.6, lr: 0.1, imagesPerSecond: 100 };
    const lines = [epoch, step, { ...epoch, epoch: 2, kind: 'epoch' }].map((r) => JSON.stringify(r));
    writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
    assert.deepEqual(
      readMetrics(dir).map((r) => r.kind),
      ['epoch', 'step', 'epoch'],
    );
    assert.deepEqual(
      readEpochMetrics(dir).map((e) => e.epoch),
      [1, 2],
    );
    writeFileSync(join(dir, 'metrics.jsonl'), `${lines[0]}\n{"kind": "batch"}\n`);
    assert.throws(() => readMetrics(dir), /metrics\.jsonl, record 2: "kind" must be "epoch" or "step", got "batch"/);
    writeFileSync(join(dir, 'metrics.jsonl'), `${lines[0]}\n{"kind": \n`);
    assert.throws(() => readMetrics(dir), /metrics\.jsonl, line 2: not valid JSON/);
  });

  test('summary.json whose root is not an object says what it holds, never "undefined"', () => {
    for (const [value, got] of [
      [5, 'got the number 5'],
      ['NaN', 'got the string "NaN"'],
      [null, 'got null'],
      [[], 'got an array'],
    ] as const)
      assert.throws(
        () => checkSummary(value, 'r/summary.json'),
        (e: unknown) =>
          e instanceof DataFormatError &&
          e.message === `r/summary.json: expected a JSON object (a run summary), ${got}`,
      );
    assert.throws(
      () => checkSummary({ epochs: 2 }, 'r/summary.json'),
      (e: unknown) => e instanceof Error && /"status" must be .*, got nothing/.test(e.message),
    );
  });

  test('metrics.jsonl with fewer or more epoch records than a completed summary counts is named as damaged', async () => {
    const dir = tempDir('convts-run-');
    const model = buildModel(spec, { seed: 1 });
    const data = new SyntheticDataset('s', 12, [1, 6, 6], 3, 1);
    const r = await train(model, data, data, {
      epochs: 2,
      batchSize: 4,
      seed: 1,
      optimizer: makeOptimizer({ kind: 'sgd', lr: 0.1 }),
    });
    const sizes = { train: 12, test: 12, evaluatedOn: 'test' as const };
    writeRunSummary(dir, summarize(model, { model: 'm', dataset: 's', seed: 1 }, r, sizes, ['a', 'b', 'c']));
    const lines = r.epochs.map((e) => JSON.stringify(epochRecord(e)));
    const metrics = join(dir, 'metrics.jsonl');
    writeFileSync(metrics, `${lines.join('\n')}\n`);
    assert.deepEqual(
      readEpochMetrics(dir).map((e) => e.epoch),
      [1, 2],
    );
    const damaged = (text: string, message: RegExp) => {
      writeFileSync(metrics, text);
      assert.throws(
        () => readEpochMetrics(dir),
        (e: unknown) => e instanceof DataFormatError && e.message.startsWith(`${metrics}: `) && message.test(e.message),
      );
    };
    damaged(lines.join('\n').slice(0, -5), /1 epoch record\(s\), but .*summary\.json counts 2 .* line 2 is cut off/);
    damaged(`${lines[0]}\n`, /1 epoch record\(s\), but .*summary\.json counts 2 epoch\(s\): the file is damaged/);
    damaged(`${[...lines, lines[1]].join('\n')}\n`, /3 epoch record\(s\)/);
  });

  test('the checkpoint keeps the shuffle order as integers (I32) and still reads float32 orders', async () => {
    const dir = tempDir('convts-ckpt-');
    const model = buildModel(spec, { seed: 1 });
    const ctl = new AbortController();
    ctl.abort(); // stops after the first step
    const data = new SyntheticDataset('s', 40, [1, 6, 6], 3, 1);
    const r = await train(model, data, null, {
      epochs: 1,
      batchSize: 4,
      seed: 2,
      optimizer: makeOptimizer({ kind: 'momentum', lr: 0.1 }),
      signal: ctl.signal,
    });
    saveCheckpoint(dir, model, r.state!);
    const { tensors } = decodeSafetensors(readFileSync(checkpointPath(dir)));
    const order = tensors.get('order')!;
    assert.ok(order.data instanceof Int32Array, 'order is stored as I32');
    assert.deepEqual([...order.data], [...r.state!.order]);
    assert.deepEqual([...loadCheckpoint(dir, model).order], [...r.state!.order]);

    // A checkpoint written before: the same tensors, the order as float32.
    const { metadata } = decodeSafetensors(readFileSync(checkpointPath(dir)));
    const old = [...tensors.values()].map((t) =>
      t.name === 'order' ? { ...t, data: Float32Array.from(t.data) } : { ...t },
    );
    writeFileSync(checkpointPath(dir), encodeSafetensors(old, metadata));
    assert.deepEqual([...loadCheckpoint(dir, model).order], [...r.state!.order]);
  });

  test('safetensors: I32 and I64 tensors decode as int32; an I64 beyond int32 is refused', () => {
    const bytes = encodeSafetensors([{ name: 'i', shape: [3], data: Int32Array.of(-5, 0, 2 ** 31 - 1) }]);
    assert.match(new TextDecoder().decode(bytes.subarray(8, 80)), /"dtype":"I32"/);
    assert.deepEqual([...decodeSafetensors(bytes).tensors.get('i')!.data], [-5, 0, 2 ** 31 - 1]);
    const i64 = (values: bigint[]) => {
      const head = new TextEncoder().encode(
        JSON.stringify({ j: { dtype: 'I64', shape: [values.length], data_offsets: [0, 8 * values.length] } }),
      );
      const out = new Uint8Array(8 + head.length + 8 * values.length);
      const v = new DataView(out.buffer);
      v.setBigUint64(0, BigInt(head.length), true);
      out.set(head, 8);
      values.forEach((x, i) => v.setBigInt64(8 + head.length + 8 * i, x, true));
      return out;
    };
    assert.deepEqual([...decodeSafetensors(i64([7n, -3n])).tensors.get('j')!.data], [7, -3]);
    assert.throws(() => decodeSafetensors(i64([2n ** 40n]), 'c.safetensors'), /c\.safetensors: tensor "j": I64 value/);
  });
});

describe('run start record and metrics tail', () => {
  test('the command line is recorded quoted as a shell reads it back, URL passwords masked', () => {
    const env = runEnvironment(['worker', '--queue', 'redis://:s3cret@host:6379/2', '--note', "it's a b"]);
    assert.equal(env.command, `convts worker --queue 'redis://:***@host:6379/2' --note 'it'\\''s a b'`);
    assert.ok(!env.command.includes('s3cret'));
    assert.equal(env.convtsVersion, JSON.parse(readFileSync('package.json', 'utf8')).version);
    assert.ok(env.threads >= 1 && env.kernels.length > 0 && env.cwd === process.cwd());
  });

  test('metrics.jsonl read from an offset: a growing last line waits, a bad line names its number', () => {
    const dir = tempDir('convts-tail-');
    const rec = (s: number) =>
      `${JSON.stringify({ kind: 'step', step: s, epoch: 1, loss: 1, accuracy: 0, lr: 1, imagesPerSecond: 1 })}\n`;
    writeFileSync(join(dir, 'metrics.jsonl'), `${rec(1)}${rec(2)}{"kind":"st`);
    const a = readMetricsTail(dir, 0, 0, true);
    assert.deepEqual(
      a.records.map((r) => r.kind === 'step' && r.step),
      [1, 2],
    );
    assert.equal(a.damaged, null);
    assert.equal(readMetricsTail(dir, a.next, 2, true).records.length, 0);
    // once the run is no longer writing, the cut line is damage, counted from the whole file
    assert.match(readMetricsTail(dir, a.next, 2, false).damaged!, /^metrics\.jsonl, line 3: not a metrics record/);
    assert.deepEqual(readMetricsTail(join(dir, 'none')), { records: [], next: 0, damaged: null });
  });
});

describe('the training settings --resume continues with (config.json)', () => {
  // Every form the flags can give must pass: a resumable run is never taken for a damaged one.
  const valid = [
    {},
    { schedule: 'onecycle:0.25:5:2.857:linear', init: 'normal:0.05', augment: 'shift:2:reflect,flip:alternate' },
    { schedule: 'step:2:0.5', lookahead: '5:0.95', tta: 'flip-translate', converge: '0.01:3', 'image-size': '32x30' },
    { augment: 'shift:2,rotate:10,scale:0.1', tta: 'translate' },
    { schedule: 'cosine:batch', ema: '0.99', 'label-smoothing': '0.1', 'clip-grad': '2', warmup: '0.5', channels: '1' },
    { optimizer: 'adamw', 'wd-skip-norm': true, patience: '3', 'eval-every': '2', 'log-every': '5', val: '10' },
  ].map((flags) => resolveConfig({ model: 'seed-mnist', ...flags }));

  test('every form the flags give is resumable; a value no flag gives is refused naming the file and field', () => {
    const dir = tempDir();
    for (const settings of valid) {
      writeRunConfig(dir, settings);
      assert.deepEqual(readTrainSettings(dir).schedule, settings.schedule);
    }
    const damaged: [string, unknown, RegExp][] = [
      ['weightDecay', 'constructor', /"weightDecay" must be a number ≥ 0, got "constructor"/],
      ['momentum', null, /"momentum" must be a number in \[0, 1\], got null/],
      ['schedule', { kind: 'NaN' }, /"schedule" must be \{"kind": "constant"\}, .*, got \{"kind":"NaN"\}/],
      ['schedule', { kind: 'step', stepSize: 0, gamma: 1 }, /"schedule" must be/],
      ['tta', 'x', /"tta" must be flip, flip-translate, translate or null, got "x"/],
      ['augment', { shift: 2, flip: false, rotate: '10' }, /"augment" must be/],
      ['augment', 5, /"augment" must be \{"shift": pixels, "flip": true\|false\} or null, got 5/],
      ['initFrom', 4, /"initFrom" must be a string or null, got 4/],
      ['clipGrad', [1], /"clipGrad" must be a number > 0 or null, got \[1\]/],
      ['subset', 7, /"subset" must be first, random or stratified, got 7/],
      ['init', { kind: 'normal' }, /"init" must be \{"kind": normal\|/],
      ['evalEvery', 0, /"evalEvery" must be an integer ≥ 1 or null, got 0/],
      ['optimizer', 'x'.repeat(200), /got "x{76}…/],
    ];
    for (const [field, value, want] of damaged) {
      writeRunConfig(dir, { ...valid[1], [field]: value });
      assert.throws(
        () => readTrainSettings(dir),
        (e: unknown) =>
          e instanceof DataFormatError &&
          e.message.startsWith(`${join(dir, 'config.json')}: "${field}" must be `) &&
          want.test(e.message) &&
          e.message.endsWith('so it cannot be resumed'),
        `${field} = ${JSON.stringify(value)}`,
      );
    }
  });
});
