// ONNX → convts: networks exported by PyTorch's torch.onnx.export (tools/make_onnx_fixtures.py,
// committed under test/fixtures/onnx/) import and give PyTorch's outputs; bad files fail with a
// clear message and leave no run directory.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildModel, builtinSpec, DataFormatError, FileError, Tensor } from '../src/index.js';
import { exportOnnx } from '../src/onnx/export.js';
import { importOnnx } from '../src/onnx/import.js';
import { importRun } from '../src/onnx/run-files.js';
import { type ModelMsg, ModelProto } from '../src/onnx/schema.js';
import { tempDir } from './helpers/tmp.js';

const fixture = (name: string) => new URL(`../../test/fixtures/onnx/${name}`, import.meta.url);

describe('import of PyTorch exports', () => {
  for (const [name, kinds] of [
    ['seed-mnist', 'conv2d relu conv2d relu maxpool2d flatten dense relu dense'],
    ['seed-cifar', 'conv2d tanh conv2d tanh avgpool2d flatten dense tanh dense'],
    ['bn-gap', 'conv2d batchnorm relu conv2d batchnorm sigmoid globalavgpool dense batchnorm relu dense softmax'],
    ['resnet', 'conv2d batchnorm relu residual relu residual globalavgpool dense'],
  ] as const) {
    test(`${name}: PyTorch's outputs within 1e-4`, () => {
      const ref = JSON.parse(readFileSync(fixture(`${name}.json`), 'utf8')) as {
        input: number[];
        x: number[];
        y: number[];
      };
      const { model } = importOnnx(readFileSync(fixture(`${name}.onnx`)), { source: `${name}.onnx` });
      assert.equal(model.layers.map((l) => l.kind).join(' '), kinds);
      const y = model.predict(new Tensor(ref.input, Float32Array.from(ref.x))).data;
      assert.equal(y.length, ref.y.length);
      ref.y.forEach((v, i) =>
        assert.ok(Math.abs(y[i] - v) <= 1e-4, `${name}: output ${i}: convts ${y[i]}, PyTorch ${v}`),
      );
    });
  }
});

/** Re-encodes a decoded model after `change`, to make broken files. */
function edited(change: (m: ModelMsg) => void): Uint8Array {
  const bytes = exportOnnx(buildModel(builtinSpec('seed-mnist', { activation: 'relu', pool: 'max' }), { seed: 1 }));
  const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number }) as ModelMsg;
  change(m);
  return ModelProto.encode(ModelProto.fromObject(m)).finish();
}

function fails(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => importOnnx(bytes, { source: 'bad.onnx' }),
    (e: Error) => e instanceof DataFormatError && pattern.test(e.message),
  );
}

describe('bad ONNX files fail clearly', () => {
  const good = readFileSync(fixture('seed-mnist.onnx'));
  test('truncated: names the byte offset', () => {
    fails(good.subarray(0, 5000), /bad\.onnx: not a readable ONNX file: field 7 at byte \d+ needs \d+ bytes/);
  });
  test('not protobuf at all', () => {
    fails(
      Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 255) % 256),
      /bad\.onnx: not a readable ONNX file/,
    );
    fails(new TextEncoder().encode('{"not": "onnx"}'), /bad\.onnx/);
  });
  test('an unsupported operator names the node', () => {
    fails(
      edited((m) => {
        m.graph!.node![1].op_type = 'HardSwish';
        m.graph!.node![1].name = 'act1';
      }),
      /node "act1" \(HardSwish\): operator HardSwish is not supported — convts reads Conv, /,
    );
  });
  test('weights in an external file', () => {
    fails(
      edited((m) => {
        const t = m.graph!.initializer![2];
        t.raw_data = new Uint8Array(0);
        t.data_location = 1;
        t.external_data = [{ key: 'location', value: 'weights.bin' }];
      }),
      /tensor "conv1.weight" keeps its data in an external file "weights.bin" — save the model as one file/,
    );
  });
  test('a dynamic image size, and --input-shape fixing it', () => {
    const bytes = edited((m) => {
      m.graph!.input![0].type!.tensor_type!.shape!.dim![2] = { dim_param: 'height' };
    });
    fails(
      bytes,
      /input "image" has a dynamic size "height" in \[N, 1, height, 28\] — give the sizes with --input-shape C,H,W/,
    );
    assert.deepEqual(importOnnx(bytes, { inputShape: [1, 28, 28] }).model.inputShape, [1, 28, 28]);
  });
  test('a join of branches that do not fit names the node', () => {
    fails(
      edited((m) => {
        const nodes = m.graph!.node!;
        const conv2 = nodes.findIndex((n) => n.op_type === 'Conv' && n.name === 'conv2');
        const conv1 = nodes.findIndex((n) => n.op_type === 'Conv' && n.name === 'conv1');
        nodes.splice(conv2 + 1, 0, {
          op_type: 'Add',
          name: 'skip',
          input: [nodes[conv2].output![0], nodes[conv1].output![0]],
          output: ['sum'],
        });
        nodes[conv2 + 2].input![0] = 'sum';
      }),
      /node "skip" \(Add\): .*the branches do not match/,
    );
  });
  test('grouped convolution and pooling with padding', () => {
    fails(
      edited((m) =>
        m.graph!.node!.find((n) => n.op_type === 'Conv')!.attribute!.push({ name: 'group', type: 2, i: 2 }),
      ),
      /\(Conv\): grouped convolution/,
    );
    fails(
      edited((m) => {
        const pool = m.graph!.node!.find((n) => n.op_type === 'MaxPool')!;
        pool.attribute!.push({ name: 'pads', type: 7, ints: [1, 1, 1, 1] });
      }),
      /\(MaxPool\): padding \[1, 1\] in pooling is not supported/,
    );
  });
});

describe('convts import / export commands', () => {
  test('import refuses to overwrite and leaves nothing behind on a bad file', async () => {
    const { convts } = await import('./helpers/cli.js');
    const dir = tempDir('convts-import-');
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, readFileSync(fixture('seed-mnist.onnx')).subarray(0, 2000));
    const r = await convts('import', bad, '--out', join(dir, 'run'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^convts: .*bad\.onnx: not a readable ONNX file: field 7 at byte \d+/);
    assert.deepEqual(readdirSync(dir), ['bad.onnx']);
    const ok = await convts(
      'import',
      fixture('seed-mnist.onnx').pathname,
      '--out',
      join(dir, 'run'),
      '--mean',
      '0.1307',
      '--std',
      '0.3081',
    );
    assert.equal(ok.code, 0, ok.stderr);
    for (const f of ['model.json', 'model.safetensors', 'config.json']) assert.ok(existsSync(join(dir, 'run', f)), f);
    const config = JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8'));
    assert.deepEqual(config.normalization, { mean: [0.1307], std: [0.3081] });
    const again = await convts('import', fixture('seed-mnist.onnx').pathname, '--out', join(dir, 'run'));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists and is not empty/);
    const out = join(dir, 'again.onnx');
    const exp = await convts('export', join(dir, 'run'), '--out', out);
    assert.equal(exp.code, 0, exp.stderr);
    const back = importOnnx(readFileSync(out));
    assert.deepEqual(back.normalization, { mean: [0.1307], std: [0.3081] });
  });

  test('a failed write names --out, not the temporary folder it is built in', () => {
    const dir = tempDir('convts-import-');
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    for (const [out, code] of [
      ['/proc/convts-import-test', 'ENOENT'],
      [join(file, 'run'), 'ENOTDIR'],
    ])
      assert.throws(
        () => importRun(fixture('seed-mnist.onnx').pathname, out),
        (e: unknown) =>
          e instanceof FileError &&
          e.message.startsWith(`cannot write ${out}: `) &&
          e.message.includes(`(${code})`) &&
          !e.message.includes('.import-'),
      );
    assert.deepEqual(readdirSync(dir), ['plain']);
  });

  test('an imported run works with eval and train --init-from', async () => {
    const { convts } = await import('./helpers/cli.js');
    const { writeMnistDir } = await import('./helpers/mnist.js');
    const dir = tempDir('convts-import-');
    writeMnistDir(dir, 40, 20);
    const run = join(dir, 'run');
    const r = await convts(
      'import',
      fixture('seed-mnist.onnx').pathname,
      '--out',
      run,
      '--dataset',
      'mnist',
      '--data-dir',
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const ev = await convts('eval', run, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).images, 20);
    const tuned = join(dir, 'tuned');
    const t = await convts(
      'train',
      '--init-from',
      run,
      '--dataset',
      'mnist',
      '--data-dir',
      dir,
      '--out',
      tuned,
      '--json',
    );
    assert.equal(t.code, 0, t.stderr);
    const spec = JSON.parse(readFileSync(join(tuned, 'model.json'), 'utf8'));
    assert.equal(spec.layers.length, 9);
    const cfg = JSON.parse(readFileSync(join(tuned, 'config.json'), 'utf8'));
    assert.deepEqual(cfg.normalization, { mean: [0], std: [1] }, "training keeps the imported model's normalization");
  });
});
