import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { buildModel, ConvtsError, validateSpec } from '../src/index.js';
import { fuzzFormats, fuzzSpec } from './helpers/fuzz-formats.js';

// Header fields are where lies hurt: sizes at the edges of int32/uint32 and of the file.
const edgy = fc.constantFrom(0, 1, 2, 255, 256, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff);

type Op =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; v: number }
  | { kind: 'u32'; at: number; v: number; little: boolean }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'repeat'; times: number };

const at = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('byte' as const), at: at, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('u32' as const),
    // Headers sit at the front: aim half the writes at the first 64 bytes.
    at: fc.oneof(at, fc.double({ min: 0, max: 0.05, noNaN: true })),
    v: fc.oneof(edgy, fc.nat()),
    little: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: at }),
  fc.record({ kind: fc.constant('insert' as const), at: at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: at, n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 3 }) }),
) as fc.Arbitrary<Op>;

/** Applies damage to a copy of `b`; positions are fractions of the current length. */
export function mutate(b: Uint8Array, ops: Op[]): Uint8Array {
  let x = Uint8Array.from(b);
  for (const o of ops) {
    const i = Math.floor(('at' in o ? o.at : 0) * x.length);
    if (o.kind === 'flip' && x.length) x[i] ^= 1 << o.bit;
    else if (o.kind === 'byte' && x.length) x[i] = o.v;
    else if (o.kind === 'u32' && i + 4 <= x.length) new DataView(x.buffer).setUint32(i, o.v, o.little);
    else if (o.kind === 'cut') x = x.slice(0, i);
    else if (o.kind === 'insert') x = Uint8Array.from([...x.subarray(0, i), ...o.bytes, ...x.subarray(i)]);
    else if (o.kind === 'delete') x = Uint8Array.from([...x.subarray(0, i), ...x.subarray(i + o.n)]);
    else if (o.kind === 'repeat') x = Uint8Array.from(Array.from({ length: o.times }, () => [...x]).flat());
  }
  return x;
}

describe('fuzz: every reader accepts a valid object or throws a typed convts error', () => {
  for (const f of fuzzFormats) {
    test(`${f.name}: 400 damaged files`, () => {
      const sample = f.sample();
      assert.equal(f.read(sample), null, `${f.name}: the undamaged sample must read`);
      const counts = { accepted: 0, refused: 0 };
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 4 }), (ops) => {
          const b = mutate(sample, ops);
          try {
            const complaint = f.read(b);
            assert.equal(complaint, null, `${f.name}: accepted an invalid file: ${complaint}`);
            counts.accepted++;
          } catch (e) {
            if (!(e instanceof ConvtsError)) throw e;
            assert.doesNotMatch(e.message, /\bundefined\b|\bNaN\b/, e.message);
            counts.refused++;
          }
        }),
        { numRuns: 400, seed: 20261201 },
      );
      assert.ok(counts.refused > 0, `${f.name}: no damaged file was refused`);
    });
  }
});

// Values a hostile spec puts where sizes and names go.
const wild = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(1e9, 1e308, -1, 0, 0.5, 2 ** 31, 2 ** 53, '3', null, [], {}, 'constructor', '__proto__', 'toString'),
  fc.integer({ min: 1, max: 100000 }).map((d) => JSON.parse(`${'['.repeat(d)}${']'.repeat(d)}`)),
);

test('fuzz: 600 hostile model specs build or give a typed error (within a 64 MB budget)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -1, max: fuzzSpec.layers.length - 1 }),
      fc.constantFrom(
        'type',
        'filters',
        'kernel',
        'stride',
        'padding',
        'units',
        'size',
        'rate',
        'name',
        'input',
        'loss',
        'layers',
      ),
      wild,
      (layer, key, value) => {
        const spec = JSON.parse(JSON.stringify(fuzzSpec));
        const target = layer < 0 ? spec : spec.layers[layer];
        target[key] = value;
        try {
          buildModel(validateSpec(spec, 'spec.json'), { maxBytes: 64 << 20, batch: 32 });
        } catch (e) {
          if (!(e instanceof ConvtsError)) throw e;
          assert.doesNotMatch(e.message, /\bundefined\b|\bNaN\b/, e.message);
        }
      },
    ),
    { numRuns: 600, seed: 20261201 },
  );
});
