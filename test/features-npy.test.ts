import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bankFilter, checkBankFits, DataFormatError, loadBank, parseNpy, ShapeError } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'convts-npy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A .npy file as NumPy writes it: values given in C order, stored in the requested order. */
function npy(
  values: number[],
  shape: number[],
  o: { descr?: string; fortran?: boolean; version?: number; header?: string } = {},
): Uint8Array {
  const descr = o.descr ?? '<f4';
  const version = o.version ?? 1;
  const dict =
    o.header ??
    `{'descr': '${descr}', 'fortran_order': ${o.fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = version === 1 ? 10 : 12;
  const padded = `${dict + ' '.repeat(63 - ((pre + dict.length) % 64))}\n`;
  const item = descr.endsWith('8') ? 8 : 4;
  const b = new Uint8Array(pre + padded.length + values.length * item);
  b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(b.buffer);
  if (version === 1) dv.setUint16(8, padded.length, true);
  else dv.setUint32(8, padded.length, true);
  b.set(new TextEncoder().encode(padded), pre);
  const little = descr[0] !== '>';
  const order = o.fortran ? fortranOrder(shape) : values.map((_, i) => i);
  order.forEach((ci, i) => {
    const at = pre + padded.length + i * item;
    if (item === 4) dv.setFloat32(at, values[ci], little);
    else dv.setFloat64(at, values[ci], little);
  });
  return b;
}

/** The C-order indices in the order a Fortran layout stores them (first index fastest). */
function fortranOrder(shape: number[]): number[] {
  const n = shape.reduce((p, d) => p * d, 1);
  const out: number[] = [];
  const idx = shape.map(() => 0);
  for (let f = 0; f < n; f++) {
    out.push(idx.reduce((c, v, d) => c * shape[d] + v, 0));
    for (let d = 0; d < shape.length; d++) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

const values = Array.from({ length: 24 }, (_, i) => (i - 11.5) / 4); // exact in float32

test('.npy: float32 and float64, both byte orders, C and Fortran order, versions 1–3', () => {
  for (const descr of ['<f4', '>f4', '<f8', '>f8', '=f4']) {
    for (const fortran of [false, true]) {
      for (const version of [1, 2, 3]) {
        const a = parseNpy(npy(values, [2, 3, 4], { descr, fortran, version }), 'x.npy');
        assert.deepEqual(a.shape, [2, 3, 4]);
        assert.deepEqual(Array.from(a.data), values, `${descr} fortran=${fortran} v${version}`);
      }
    }
  }
});

test('.npy: malformed files are refused, naming the file', () => {
  const good = npy(values, [2, 3, 4]);
  const cases: [Uint8Array, RegExp][] = [
    [new TextEncoder().encode('not numpy at all'), /bad\.npy: not a NumPy/],
    [good.subarray(0, 9), /bad\.npy: truncated/],
    [good.subarray(0, good.length - 4), /needs 96 data bytes, the file has 92/],
    [Uint8Array.from([...good, 0, 0, 0, 0]), /needs 96 data bytes, the file has 100/],
    [npy(values, [2, 3, 4], { descr: '<i4' }), /dtype "<i4" is not supported/],
    [
      npy(values, [2, 3, 4], { header: "{'descr': '<f4', 'shape': (2, 3, 4), }" }),
      /lacks descr, fortran_order or shape/,
    ],
    [
      npy(values, [2, 3, 4], { header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x, 4), }" }),
      /not a tuple of integers/,
    ],
    [npy(values, [2, 3, 4], { header: 'descr: f4' }), /not a Python dict/],
    [npy(values, [2, 3, 4], { version: 4 }), /version 4\.0 is not supported/],
  ];
  const huge = npy(values, [2, 3, 4]);
  new DataView(huge.buffer).setUint16(8, 60000, true);
  cases.push([huge, /header claims 60000 bytes/]);
  for (const [bytes, re] of cases)
    assert.throws(
      () => parseNpy(bytes, 'bad.npy'),
      (e: unknown) => e instanceof DataFormatError && re.test(e.message),
      String(re),
    );
});

test('bank files: (h, w, k) as the report indexes filters[:, :, k], (k, h, w), JSON; bad shapes refused', () => {
  const k = 3;
  const hwk = Array.from({ length: 5 * 5 * k }, (_, i) => i);
  writeFileSync(join(dir, 'hwk.npy'), npy(hwk, [5, 5, k]));
  const b = loadBank(join(dir, 'hwk.npy'));
  assert.deepEqual([b.count, b.kh, b.kw], [3, 5, 5]);
  // filters[r, c, k] = hwk[(r·5 + c)·3 + k]
  assert.deepEqual(Array.from(bankFilter(b, 2)).slice(0, 6), [2, 5, 8, 11, 14, 17]);
  const khw = Array.from(b.data);
  writeFileSync(join(dir, 'khw.npy'), npy(khw, [k, 5, 5], { descr: '>f8', fortran: true }));
  assert.deepEqual(Array.from(loadBank(join(dir, 'khw.npy')).data), khw);
  writeFileSync(
    join(dir, 'bank.json'),
    JSON.stringify({
      filters: [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
    }),
  );
  const j = loadBank(join(dir, 'bank.json'));
  assert.deepEqual([j.count, j.kh, j.kw, ...j.data], [2, 2, 2, 1, 2, 3, 4, 5, 6, 7, 8]);

  const refuse = (name: string, content: Uint8Array | string, re: RegExp) => {
    writeFileSync(join(dir, name), content);
    assert.throws(
      () => loadBank(join(dir, name)),
      (e: unknown) => e instanceof DataFormatError && e.message.includes(name) && re.test(e.message),
      name,
    );
  };
  refuse('odd.npy', npy(Array(60).fill(0), [3, 4, 5]), /cannot tell which axis/);
  refuse('flat.npy', npy(Array(60).fill(0), [60]), /must be 3-D/);
  refuse('nan.npy', npy([0, NaN, 0, 0], [2, 2]), /finite/);
  refuse(
    'ragged.json',
    JSON.stringify({
      filters: [
        [
          [1, 2],
          [3, 4],
        ],
        [[5, 6], [7]],
      ],
    }),
    /filter 1, row 1: expected 2 numbers/,
  );
  refuse('text.json', 'filters: none', /neither a \.npy file nor valid JSON/);
  refuse('empty.json', '{"filters": []}', /non-empty list/);
  assert.throws(() => loadBank(join(dir, 'missing.npy')), /missing\.npy not found/);

  writeFileSync(join(dir, 'big.json'), JSON.stringify({ filters: [Array(30).fill(Array(30).fill(0))] }));
  const big = loadBank(join(dir, 'big.json'));
  assert.throws(
    () => checkBankFits(big, 1, 28, 28),
    (e: unknown) =>
      e instanceof ShapeError && /big\.json.*30×30 filters are larger than the 28×28 images/.test((e as Error).message),
  );
});
