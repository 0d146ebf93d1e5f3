import { gzipSync } from 'node:zlib';
import { cifarRecords } from '../../src/data/cifar.js';
import { gunzipChecked } from '../../src/data/gzip.js';
import { decodeIdx } from '../../src/data/idx.js';
import { decodeFeatureFile, encodeFeatureFile } from '../../src/features/feature-file.js';
import { parseNpy } from '../../src/features/npy.js';
import { parseJson } from '../../src/files/json.js';
import { FeatureDataset, validateSpec } from '../../src/index.js';
import { buildModel } from '../../src/model/build.js';
import { decodeSafetensors } from '../../src/model/safetensors.js';
import { loadWeights, weightsToSafetensors } from '../../src/model/weights.js';
import { idx } from './mnist.js';

/** One file format the fuzzers damage: a valid sample and the reader that must accept or refuse it cleanly. */
export interface FuzzFormat {
  name: string;
  sample: () => Uint8Array;
  /** Reads the bytes; throws when refused; returns a complaint when it accepted something invalid. */
  read: (b: Uint8Array) => string | null;
}

const budget = 64 << 20;
const product = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

/** A small model whose spec and weights the fuzzers damage. */
export const fuzzSpec = {
  format: 'convts-model',
  version: 1,
  input: [1, 8, 8],
  layers: [
    { type: 'conv2d', filters: 2, kernel: 3 },
    { type: 'relu' },
    { type: 'maxpool2d', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 3 },
  ],
  loss: 'cross-entropy',
};

const idxSample = () =>
  idx(
    [3, 4, 4],
    Array.from({ length: 48 }, (_, i) => (i * 7) % 256),
  );
const cifarSample = () => records([1, 7]);
const records = (labels: number[]) => {
  const b = new Uint8Array(labels.length * 3073);
  labels.forEach((l, r) => {
    b[r * 3073] = l;
    for (let i = 1; i < 3073; i++) b[r * 3073 + i] = (i * 13 + r) % 256;
  });
  return b;
};

function npySample(): Uint8Array {
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 3), }";
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = `${header}${' '.repeat(pad)}\n`;
  const b = new Uint8Array(10 + h.length + 18 * 4);
  b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 255, h.length >> 8]);
  b.set(new TextEncoder().encode(h), 10);
  new Float32Array(b.buffer, 10 + h.length, 18).set(Array.from({ length: 18 }, (_, i) => i / 7));
  return b;
}

function featureSample(): Uint8Array {
  const names = ['a', 'b', 'c'];
  return encodeFeatureFile({ key: 'k', about: {} }, [
    new FeatureDataset(
      'train',
      Float32Array.from({ length: 8 }, (_, i) => i),
      Uint8Array.from([0, 1, 2, 1]),
      2,
      names,
    ),
    new FeatureDataset('test', Float32Array.from([1, 2, 3, 4]), Uint8Array.from([2, 0]), 2, names),
  ]).bytes;
}

export const fuzzFormats: FuzzFormat[] = [
  {
    name: 'IDX',
    sample: idxSample,
    read: (b) => {
      const a = decodeIdx(b, 'f-idx3-ubyte', 3, budget);
      return a.data.length === product(a.dims) ? null : 'data length does not match the dimensions';
    },
  },
  {
    name: 'IDX .gz',
    sample: () => gzipSync(idxSample()),
    read: (b) => {
      const a = decodeIdx(b, 'f-idx3-ubyte.gz', 3, budget);
      return a.data.length === product(a.dims) ? null : 'data length does not match the dimensions';
    },
  },
  {
    name: 'CIFAR batch',
    sample: cifarSample,
    read: (b) => {
      const r = cifarRecords(b, 'data_batch_1.bin', budget);
      return r.length > 0 && r.length % 3073 === 0 ? null : 'not whole records';
    },
  },
  {
    name: 'CIFAR .gz',
    sample: () => gzipSync(cifarSample()),
    read: (b) => {
      const r = cifarRecords(b, 'data_batch_1.bin.gz', budget);
      return r.length > 0 && r.length % 3073 === 0 ? null : 'not whole records';
    },
  },
  {
    name: '.npy',
    sample: npySample,
    read: (b) => {
      const a = parseNpy(b, 'bank.npy');
      return a.data.length === product(a.shape) ? null : 'data length does not match the shape';
    },
  },
  {
    name: 'feature file',
    sample: featureSample,
    read: (b) => {
      const { header, splits } = decodeFeatureFile(Buffer.from(b), 'f.feat');
      const bad = splits.some((s) => s.labels.some((l) => l >= header.classNames.length));
      return bad ? 'a label outside the class names' : null;
    },
  },
  {
    name: 'safetensors',
    sample: () => weightsToSafetensors(buildModel(fuzzSpec as never, { seed: 1 })),
    read: (b) => {
      const t = decodeSafetensors(b, 'model.safetensors');
      for (const x of t.tensors.values()) if (x.data.length !== product(x.shape)) return `${x.name}: wrong length`;
      loadWeights(buildModel(fuzzSpec as never, { seed: 1 }), b, 'model.safetensors');
      return null;
    },
  },
  {
    name: 'model spec JSON',
    sample: () => new TextEncoder().encode(JSON.stringify(fuzzSpec)),
    read: (b) => {
      const spec = validateSpec(parseJson(new TextDecoder().decode(b), 'model.json'), 'model.json');
      buildModel(spec, { maxBytes: budget, batch: 32 });
      return null;
    },
  },
  {
    name: 'gzip',
    sample: () => gzipSync(Buffer.from('convts '.repeat(200))),
    read: (b) => {
      gunzipChecked(b, 'x.gz', 1 << 20, 'the test allows');
      return null;
    },
  },
];
