import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeFileAtomic } from '../src/files/atomic.js';
import {
  buildModel,
  ConfigError,
  DataFormatError,
  decodeSafetensors,
  encodeSafetensors,
  loadModel,
  loadWeights,
  type ModelSpec,
  type Sequential,
  saveModel,
  Tensor,
  weightsToSafetensors,
} from '../src/index.js';
import { bits, tempDir } from './helpers/tmp.js';

/** A safetensors file from a header object and raw data bytes, built by hand (not by the encoder). */
function raw(header: unknown, data: Uint8Array | number[] = [], headerText = JSON.stringify(header)): Uint8Array {
  const head = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

function f32bits(...patterns: number[]): Float32Array {
  return new Float32Array(Uint32Array.from(patterns).buffer);
}

const refused = (bytes: Uint8Array, message: RegExp) =>
  assert.throws(
    () => decodeSafetensors(bytes, 'w.safetensors'),
    (e: unknown) => e instanceof DataFormatError && e.message.startsWith('w.safetensors: ') && message.test(e.message),
  );

describe('safetensors encoding', () => {
  test('round trip is bit-exact, special values included', () => {
    const special = f32bits(
      0x7fc00000, // canonical NaN
      0xffc12345, // negative quiet NaN with a payload
      0x7f800001, // signalling NaN: must not be quietened on the way through
      0x7f800000,
      0xff800000, // ±Inf
      0x80000000, // −0
      0x00000001,
      0x807fffff, // smallest and largest-magnitude negative subnormal
      0x7f7fffff,
      0x3eaaaaab, // largest finite, 1/3
    );
    const other = Float32Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i) * 10 ** ((i % 7) - 3)));
    const bytes = encodeSafetensors(
      [
        { name: 'special', shape: [2, 5], data: special },
        { name: 'conv.weight', shape: [2, 3, 2, 2], data: other },
        { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      ],
      { note: 'hello' },
    );
    const { tensors, metadata } = decodeSafetensors(bytes);
    assert.deepEqual(metadata, { note: 'hello' });
    assert.deepEqual([...tensors.keys()], ['special', 'conv.weight', 'empty']);
    assert.deepEqual(tensors.get('special')!.shape, [2, 5]);
    assert.deepEqual(bits(tensors.get('special')!.data), bits(special));
    assert.deepEqual(bits(tensors.get('conv.weight')!.data), bits(other));
    assert.deepEqual(tensors.get('empty')!.shape, [0, 4]);
    assert.equal(tensors.get('empty')!.data.length, 0);
  });

  test('the encoder writes the format byte for byte', () => {
    const bytes = encodeSafetensors(
      [
        { name: 'w', shape: [2], data: Float32Array.of(1, -2) },
        { name: 'b', shape: [], data: Float32Array.of(0.5) },
      ],
      { k: 'v' },
    );
    const json =
      '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}';
    // 132 bytes of JSON; 8 + 132 = 140 is padded with 4 spaces to 144 so the data starts 8-aligned.
    const expected = [
      136,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // header length, u64 little-endian
      ...new TextEncoder().encode(`${json}    `),
      0x00,
      0x00,
      0x80,
      0x3f, // 1.0f
      0x00,
      0x00,
      0x00,
      0xc0, // -2.0f
      0x00,
      0x00,
      0x00,
      0x3f, // 0.5f
    ];
    assert.equal(json.length, 132);
    assert.deepEqual([...bytes], expected);
  });

  test('reads a hand-built file with F32, F64, F16 and BF16 tensors', () => {
    const data = new Uint8Array(4 + 16 + 18 + 8);
    const v = new DataView(data.buffer);
    v.setFloat32(0, -1.25, true);
    v.setFloat64(4, 0.1, true);
    v.setFloat64(12, -1e300, true); // beyond float32: becomes −Inf, as a float32 cast does
    const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555];
    f16.forEach((h, i) => v.setUint16(20 + 2 * i, h, true));
    const bf16 = [0x3f80, 0xc040, 0x0001, 0xff80];
    bf16.forEach((h, i) => v.setUint16(38 + 2 * i, h, true));
    const { tensors } = decodeSafetensors(
      raw(
        {
          a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
          d: { dtype: 'F64', shape: [2], data_offsets: [4, 20] },
          h: { dtype: 'F16', shape: [3, 3], data_offsets: [20, 38] },
          b: { dtype: 'BF16', shape: [4], data_offsets: [38, 46] },
        },
        data,
      ),
    );
    assert.deepEqual([...tensors.get('a')!.data], [-1.25]);
    assert.deepEqual([...tensors.get('d')!.data], [Math.fround(0.1), -Infinity]);
    const h = [...tensors.get('h')!.data];
    assert.deepEqual(h.slice(0, 3), [1, -2, 65504]);
    assert.equal(h[3], 2 ** -24); // smallest f16 subnormal
    assert.ok(Object.is(h[4], -0));
    assert.deepEqual(h.slice(5, 7), [Infinity, -Infinity]);
    assert.ok(Number.isNaN(h[7]));
    assert.equal(h[8], 0x155 / 1024 / 4 + 0.25); // 0x3555 = 2^-2 · (1 + 341/1024)
    assert.deepEqual([...tensors.get('b')!.data], [1, -3, 2 ** -133, -Infinity]);
  });

  test('refuses malformed files, naming the file and the fault', () => {
    const good = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const eight = new Uint8Array(8);
    refused(new Uint8Array(5), /5 bytes, too short/);
    const longHeader = raw(good, eight);
    new DataView(longHeader.buffer).setBigUint64(0, 1000n, true);
    refused(longHeader, /header claims 1000 bytes but the file has \d+/);
    refused(raw(null, eight, '{"w": {"dtype": "F32",'), /not valid UTF-8 JSON/);
    const badUtf8 = raw(null, [], '{"w":"?"}');
    badUtf8[8 + 6] = 0xff; // a byte that never occurs in UTF-8
    refused(badUtf8, /not valid UTF-8 JSON/);
    refused(raw([1, 2]), /not a JSON object/);
    refused(
      raw({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, eight),
      /tensor "w": bad shape \[2,-1\]/,
    );
    refused(raw({ w: { dtype: 'F32', shape: 'two', data_offsets: [0, 8] } }, eight), /tensor "w": bad shape "two"/);
    refused(
      raw({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, eight),
      /tensor "w": bad data_offsets \[8,0\]/,
    );
    refused(
      raw({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight),
      /tensor "w": shape 3 of F32 needs 12 bytes, data_offsets span 8/,
    );
    refused(
      raw({ w: { dtype: 'F64', shape: [2], data_offsets: [0, 8] } }, eight),
      /needs 16 bytes, data_offsets span 8/,
    );
    refused(
      raw({ w: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } }, eight),
      /tensor "w": dtype "U8" is not supported — save it as float32 \(F32\) or int32 \(I32\)/,
    );
    refused(
      raw(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        new Uint8Array(12),
      ),
      /tensors "a" and "b" overlap/,
    );
  });

  test('refuses a truncated file: data past the end', () => {
    const bytes = encodeSafetensors([{ name: 'w', shape: [4, 4], data: new Float32Array(16) }]);
    refused(
      bytes.subarray(0, bytes.length - 4),
      /tensor "w": data ends at byte \d+ but the file has \d+ bytes — truncated/,
    );
    refused(bytes.subarray(0, 20), /header claims/); // cut inside the header
  });

  test('refuses bytes that belong to no tensor (holes or trailing data)', () => {
    const bytes = encodeSafetensors([{ name: 'w', shape: [2], data: Float32Array.of(1, 2) }]);
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    refused(longer, /bytes? .*not .*any tensor/);
    refused(raw({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /not .*any tensor/);
  });
});

const tinySpec: ModelSpec = {
  input: [1, 6, 6],
  layers: [
    { type: 'conv2d', filters: 2, kernel: 3 },
    { type: 'relu' },
    { type: 'flatten' },
    { type: 'dense', units: 3 },
    { type: 'softmax' },
  ],
  loss: 'cross-entropy',
};

function snapshot(model: Sequential): Uint32Array[] {
  return model.params().map((p) => bits(p.value.data).slice());
}

describe('loadWeights', () => {
  test("loads another model's weights exactly", () => {
    const a = buildModel(tinySpec, { seed: 1 });
    const b = buildModel(tinySpec, { seed: 2 });
    assert.notDeepEqual(snapshot(a), snapshot(b));
    loadWeights(b, weightsToSafetensors(a));
    assert.deepEqual(snapshot(b), snapshot(a));
  });

  test('refuses weights that do not fit, naming tensors and shapes, and changes nothing', () => {
    const model = buildModel(tinySpec, { seed: 3 });
    const before = snapshot(model);
    const named = model.namedParams().map(({ name, param }) => ({
      name,
      shape: [...param.value.shape],
      data: new Float32Array(param.value.size).fill(7),
    }));
    assert.deepEqual(
      named.map((t) => t.name),
      ['conv1.weight', 'conv1.bias', 'fc1.weight', 'fc1.bias'],
    );
    const check = (tensors: typeof named, message: RegExp) => {
      assert.throws(
        () => loadWeights(model, encodeSafetensors(tensors), 'm.safetensors'),
        (e: unknown) =>
          e instanceof DataFormatError && e.message.startsWith('m.safetensors: ') && message.test(e.message),
      );
      assert.deepEqual(snapshot(model), before, 'a refused load must leave the weights untouched');
    };
    check(
      named.filter((t) => t.name !== 'fc1.bias'),
      /missing fc1\.bias/,
    );
    check([...named, { name: 'fc2.weight', shape: [1], data: new Float32Array(1) }], /unexpected fc2\.weight/);
    check(
      named.map((t) => (t.name === 'fc1.weight' ? { ...t, shape: [3, 16, 2] } : t)),
      /tensor "fc1\.weight" has shape 3×16×2, the model needs 3×32/,
    );
    // The bad tensor is last: the ones before it must not have been written either.
    check(
      named.map((t) => (t.name === 'fc1.bias' ? { ...t, shape: [1, 3] } : t)),
      /"fc1\.bias" has shape 1×3, the model needs 3\b/,
    );
  });
});

describe('model files', () => {
  test('saveModel/loadModel round trip is bit-exact and predicts the same', () => {
    const dir = tempDir();
    const model = buildModel({ ...tinySpec, classes: ['a', 'b', 'c'] }, { seed: 5 });
    model.params()[0].value.data[0] = -0; // a −0 must survive as −0
    saveModel(model, dir);
    assert.deepEqual(
      readdirSync(dir).sort(),
      ['config.json', 'model.json', 'model.safetensors'],
      'no temporary files left behind',
    );
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'convts-model');
    assert.equal(json.version, 1);
    for (const path of [dir, join(dir, 'model.json')]) {
      const back = loadModel(path);
      assert.deepEqual(back.spec.classes, ['a', 'b', 'c']);
      assert.deepEqual(snapshot(back), snapshot(model));
      const x = new Tensor(
        [3, 1, 6, 6],
        Float32Array.from({ length: 108 }, (_, i) => Math.cos(i)),
      );
      assert.deepEqual(bits(back.predict(x).data), bits(model.predict(x).data));
    }
  });

  test('refuses a wrong format tag, corrupted JSON and a missing weights file', () => {
    const dir = tempDir();
    saveModel(buildModel(tinySpec, { seed: 5 }), dir);
    const specPath = join(dir, 'model.json');
    const good = readFileSync(specPath, 'utf8');
    const spec = JSON.parse(good);

    writeFileSync(specPath, JSON.stringify({ ...spec, format: 'keras' }));
    assert.throws(
      () => loadModel(dir),
      (e: unknown) =>
        e instanceof DataFormatError &&
        e.message.includes(specPath) &&
        /format "keras".*expected "convts-model"/.test(e.message),
    );
    writeFileSync(specPath, JSON.stringify({ ...spec, version: 2 }));
    assert.throws(() => loadModel(dir), /version 2/);

    writeFileSync(specPath, good.slice(0, good.length / 2));
    assert.throws(
      () => loadModel(dir),
      (e: unknown) => e instanceof DataFormatError && e.message.startsWith(`${specPath}: not valid JSON`),
    );

    // A spec that is no longer the one the weights were saved with.
    const wider = {
      ...spec,
      layers: spec.layers.map((l: { type: string }) => (l.type === 'dense' ? { ...l, units: 5 } : l)),
    };
    writeFileSync(specPath, JSON.stringify(wider));
    assert.throws(
      () => loadModel(dir),
      (e: unknown) =>
        e instanceof DataFormatError &&
        e.message ===
          `${join(dir, 'model.safetensors')}: tensor "fc1.weight" has shape 3×32, the model needs 5×32 — the weights belong to another architecture`,
    );
    writeFileSync(specPath, JSON.stringify({ ...spec, layers: [{ type: 'conv2d', filters: 2 }] }));
    assert.throws(
      () => loadModel(dir),
      (e: unknown) => e instanceof ConfigError && e.message === `${specPath}: layer 0 (conv2d): missing "kernel"`,
    );

    writeFileSync(specPath, good);
    const weights = readFileSync(join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'model.safetensors'), weights.subarray(0, weights.length - 8));
    assert.throws(
      () => loadModel(dir),
      (e: unknown) =>
        e instanceof DataFormatError && e.message.includes('model.safetensors') && /truncated/.test(e.message),
    );

    rmSync(join(dir, 'model.safetensors'));
    assert.throws(
      () => loadModel(dir),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes(join(dir, 'model.safetensors')) && /not found/.test(e.message),
    );
  });

  test('an atomic write that fails leaves no temporary file', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'taken', 'child'), { recursive: true }); // a non-empty folder cannot be replaced by a file
    assert.throws(() => writeFileAtomic(join(dir, 'taken'), 'x'));
    assert.deepEqual(readdirSync(dir), ['taken']);
    writeFileAtomic(join(dir, 'ok.txt'), 'x');
    assert.deepEqual(readdirSync(dir).sort(), ['ok.txt', 'taken']);
  });

  test('a missing run directory is named as given', () => {
    const missing = join(tempDir(), 'no-such-run');
    assert.throws(
      () => loadModel(missing),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${join(missing, 'model.json')} not found`),
    );
    assert.ok(!existsSync(missing));
  });
});
