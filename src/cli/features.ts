import { join } from 'node:path';
import { datasetNames, defaultDataDirText, loadDataset, resolveDataDir } from '../data/index.js';
import { ConfigError, UsageError } from '../errors.js';
import { cachedFeatures, lmDefaults, loadBank } from '../features/index.js';
import { writeFileAtomic } from '../files/atomic.js';
import { lockDir, lockOutputFile } from '../files/lock.js';
import { bankPictures } from '../report/bank-pictures.js';
import { choice, num, parseCommand } from './args.js';
import { clock } from './progress.js';

export const featuresHelp = `convts features — convolve a data set with a fixed filter bank and cache the features

Usage: convts features --bank lm|FILE --dataset mnist [options]

Each image is z-scored, convolved with every filter of the bank (valid convolution, through the
same kernel as a conv layer), optionally biased and activated, pooled and flattened. The result
(train and test splits) is written to a feature file and reused by later runs with the same
bank, data, normalization and options; a stale or damaged file is rebuilt.

  --bank lm|FILE         lm (built-in Leung–Malik), a .npy file ((h, w, k) or (k, h, w),
                         float32/float64) or a JSON file {"filters": [[[…]]]}    [lm]
  --size N               lm: filter size                                      [${lmDefaults.size}]
  --scales A,B,…         lm: σ of each scale                                   [1,1.414,2]
  --count N              lm: number of filters, 2 × scales × orientations     [${lmDefaults.count}]
  --dataset NAME         ${datasetNames.join(', ')}                                   [mnist]
  --data-dir DIR         folder holding <dataset>/, or a search path a:b
                         [${defaultDataDirText}]
  --pool P               max or avg, 2×2 stride 2                             [max]
  --bias X               add X to every map before the activation             [none]
  --activation A         none, relu, sigmoid or tanh                          [none]
  --out FILE             the feature file            [cache/features/<dataset>-<bank>-<pool>-<key>.feat]
  --force                extract even if the file is up to date
  --json                 print a summary as JSON on stdout
  --pictures DIR         also draw the bank (bank.png), filters --show-filters (filter-K.png),
                         and the maps of test image --image (maps.png, map-K.png for --show-maps)
  --show-filters K,…     filters to draw large, as filters[:, :, k]               [5,7]
  --show-maps K,…        convolution maps to draw large                           [35]
  --image I              the test image whose maps are drawn                      [0]

Filters, maps and images are numbered from 0, as in every convts command.

Example:
  convts features --bank lm --dataset mnist --data-dir ../shared/datasets --out cache/mnist-lm.feat
`;

const options = {
  bank: { type: 'string' },
  size: { type: 'string' },
  scales: { type: 'string' },
  count: { type: 'string' },
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  pool: { type: 'string' },
  bias: { type: 'string' },
  activation: { type: 'string' },
  out: { type: 'string' },
  pictures: { type: 'string' },
  'show-filters': { type: 'string' },
  'show-maps': { type: 'string' },
  image: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `convts features`: returns the process exit code. */
export async function featuresCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, options, featuresHelp, 'features');
  if (!parsed) return 0;
  if (parsed.positionals.length)
    throw new UsageError(`features: unexpected argument "${parsed.positionals[0]}" (see convts features --help)`);
  const v = parsed.values;
  const bankArg = v.bank ?? 'lm';
  if (bankArg !== 'lm' && (v.size ?? v.scales ?? v.count) !== undefined) {
    throw new ConfigError('--size, --scales and --count shape the built-in bank; they do not apply to a bank file');
  }
  const bank = loadBank(bankArg, {
    size: num('size', v.size, lmDefaults.size, { int: true, min: 1 }),
    scales: v.scales?.split(',').map((s) => num('scales', s, 0, { min: Number.MIN_VALUE })),
    count: num('count', v.count, lmDefaults.count, { int: true, min: 1 }),
  });
  const dataset = choice('dataset', v.dataset, datasetNames, 'mnist');
  const extract = {
    pool: choice('pool', v.pool, ['max', 'avg'] as const, 'max'),
    bias: v.bias === undefined ? undefined : num('bias', v.bias, 0),
    activation: choice('activation', v.activation, ['none', 'relu', 'sigmoid', 'tanh'] as const, 'none'),
  };
  if (v.pictures) lockDir(v.pictures); // before the work, so a second writer is refused at once
  const data = loadDataset(dataset, resolveDataDir(v['data-dir']));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const tty = process.stderr.isTTY;
  const r = cachedFeatures(
    {
      bank,
      dataset,
      train: data.train,
      test: data.test,
      options: extract,
      onProgress: tty
        ? (done, total) => {
            if (done % 2048 < 256 || done === total) process.stderr.write(`\r\x1b[2Kextracting ${done}/${total}`);
          }
        : undefined,
    },
    // A second convts writing the same file (or the same pictures) is refused with the first one's pid.
    { path: v.out, force: v.force, beforeWrite: lockOutputFile },
  );
  if (tty) process.stderr.write('\r\x1b[2K');
  if (v.pictures) {
    const index = num('image', v.image, 0, { int: true, min: 0, max: data.test.length - 1 });
    const indices = (flag: 'show-filters' | 'show-maps', fallback: string) =>
      (v[flag] ?? fallback).split(',').map((k) => num(flag, k, 0, { int: true, min: 0, max: bank.count - 1 }));
    const image = new Float32Array(data.test.shape.reduce((a, b) => a * b, 1));
    data.test.fill(image, [index], 0, 1);
    const pictures = bankPictures(bank, image, data.test.shape, extract, {
      filters: indices('show-filters', '5,7'),
      maps: indices('show-maps', '35'),
      imageName: `${dataset} test image ${index}`,
    });
    for (const { file, picture } of pictures) writeFileAtomic(join(v.pictures, file), picture.png());
    log(`drew ${pictures.map((p) => p.file).join(', ')} in ${v.pictures}`);
  }
  const n = r.train.length + r.test.length;
  const summary = {
    path: r.path,
    hit: r.hit,
    rebuilt: r.rebuilt ?? null,
    key: r.header.key,
    bank: bank.name,
    filters: [bank.count, bank.kh, bank.kw],
    dataset,
    train: r.train.length,
    test: r.test.length,
    dim: r.train.dim,
    seconds: r.seconds,
    imagesPerSecond: r.hit ? null : n / r.seconds,
  };
  if (r.rebuilt) log(`${r.path} was ${r.rebuilt} — rebuilt it`);
  if (v.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (r.hit) log(`up to date: ${r.path} (${n} × ${r.train.dim} features, key ${r.header.key.slice(0, 12)})`);
  else
    log(
      `extracted ${n} × ${r.train.dim} features in ${clock(r.seconds)} (${r.seconds.toFixed(1)} s, ${Math.round(n / r.seconds)} img/s) → ${r.path}`,
    );
  return 0;
}
