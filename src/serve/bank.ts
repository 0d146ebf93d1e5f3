import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Normalization } from '../data/index.js';
import { DataFormatError } from '../errors.js';
import { type FilterBank, featureMaps, lmBank, loadBank, readFeatureHeader } from '../features/index.js';
import { type RunConfig, runDataset } from '../run/index.js';
import { sizeOf } from '../tensor/tensor.js';
import type { Dataset } from '../train/dataset.js';
import type { BankResponse } from './api-types.js';
import { stack } from './compute.js';

// A Task 1 run learned from a feature file: the fixed filter bank that made it is part of the
// model. Its header names the bank and keeps its size and checksum; the bank is rebuilt (lm) or
// read (a bank file) and shown only when it is the very bank the checksum names.

interface BankAbout {
  bankName?: string;
  bank?: { count: number; kh: number; kw: number; sha256: string };
  dataset?: string;
  normalization?: Normalization | null;
  pool?: 'max' | 'avg';
  poolSize?: number;
  bias?: number | null;
  activation?: string;
}

const sha256 = (a: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex');

/** The feature file of a run: as recorded, or relative to where `convts train` ran. */
function featurePath(config: RunConfig): string {
  const f = config.features!;
  const cwd = config.environment?.cwd;
  return isAbsolute(f) || existsSync(f) || !cwd ? f : resolve(cwd, f);
}

/** The bank as its header describes it, or why it cannot be had. */
function rebuild(about: BankAbout): FilterBank | string {
  const b = about.bank;
  if (!b || !about.bankName) return 'the feature file’s header does not name its bank (made by an older convts)';
  let bank: FilterBank;
  try {
    bank = about.bankName === 'lm' ? lmBank({ size: b.kh, count: b.count }) : loadBank(about.bankName);
  } catch (e) {
    return `the bank ${about.bankName} cannot be read: ${(e as Error).message}`;
  }
  if (bank.count !== b.count || bank.kh !== b.kh || bank.kw !== b.kw || sha256(bank.data) !== b.sha256)
    return about.bankName === 'lm'
      ? `the built-in LM bank of ${b.count} filters of ${b.kh}×${b.kw} with the default scales is not the bank of the feature file (it was made with other --scales, which its header does not keep)`
      : `${about.bankName} has changed since the feature file was made (its filters no longer match the file’s checksum)`;
  return bank;
}

const images = new Map<string, Dataset>();
/** The test images a feature file was made from (kept for the last two asked for). */
function testImages(about: BankAbout, dataDir: string | undefined): Dataset {
  const key = JSON.stringify([about.dataset, dataDir, about.normalization]);
  let ds = images.get(key);
  if (!ds) {
    ds = runDataset({ dataset: about.dataset, dataDir, normalization: about.normalization });
    images.set(key, ds);
    if (images.size > 2) images.delete(images.keys().next().value!);
  }
  return ds;
}

/** GET /api/bank: a Task 1 run's filter bank and its response maps for test image `index`. */
export function runBank(config: RunConfig, index: number, serverDataDir?: string): BankResponse {
  if (!config.features) throw new DataFormatError('the run was not trained on a feature file');
  const path = featurePath(config);
  let about: BankAbout;
  try {
    about = readFeatureHeader(path).about as BankAbout;
  } catch (e) {
    return { file: path, bankName: null, filters: null, maps: null, reason: (e as Error).message };
  }
  const bank = rebuild(about);
  const bankName = about.bankName ?? null;
  if (typeof bank === 'string') return { file: path, bankName, filters: null, maps: null, reason: bank };
  const filters = { ...stack(bankName ?? 'bank', [bank.count, 1, bank.kh, bank.kw], bank.data), inChannels: 1 };
  let maps: BankResponse['maps'] = null;
  let reason: string | null = null;
  try {
    // The images the features came from, normalized as they were for the extraction.
    // The header does not keep the data directory: the run's, else the server's --data-dir.
    let ds: Dataset;
    try {
      ds = testImages(about, config.dataDir);
    } catch (e) {
      if (!serverDataDir || serverDataDir === config.dataDir) throw e;
      ds = testImages(about, serverDataDir);
    }
    if (!(Number.isInteger(index) && index >= 0 && index < ds.length))
      throw new DataFormatError(`image index ${index} is out of range: the test set has ${ds.length} images`);
    const x = new Float32Array(sizeOf(ds.shape));
    ds.fill(x, [index], 0, 1);
    const ys = featureMaps(bank, x, ds.shape, {
      bias: about.bias ?? undefined,
      activation: (about.activation as 'none' | undefined) ?? 'none',
    });
    const [oh, ow] = [ds.shape[1] - bank.kh + 1, ds.shape[2] - bank.kw + 1];
    const all = new Float32Array(ys.length * oh * ow);
    ys.forEach((y, i) => all.set(y, i * oh * ow));
    maps = {
      index,
      title: `test image ${index} (${ds.classNames[ds.labels[index]] ?? ds.labels[index]})`,
      input: stack('input', [1, 1, ds.shape[1], ds.shape[2]], x.subarray(0, ds.shape[1] * ds.shape[2])),
      maps: stack('responses', [ys.length, 1, oh, ow], all),
    };
  } catch (e) {
    // The first line says what is missing; the rest (file by file, checksums) is for convts download.
    const why = (e as Error).message.split('\n')[0].replace(/:$/, '');
    reason = `the bank’s maps need the ${about.dataset ?? 'data set'} test images: ${why} — give convts serve --data-dir DIR, the folder holding ${about.dataset ?? 'the data set'}/`;
  }
  return { file: path, bankName, filters, maps, reason };
}
