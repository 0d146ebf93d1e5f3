// The campaign's valid inputs (a base folder with a file of every format) and the scenarios that
// damage one of those files per case.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeCifarSet } from '../test/helpers/data-files.js';
import { fuzzFormats, fuzzSpec } from '../test/helpers/fuzz-formats.js';
import { patternImages, writeMnistDir } from '../test/helpers/mnist.js';
import { writeJpeg, writePng } from '../test/helpers/pictures.js';
import { mainJs, runCase, type Scenario } from './fuzz-case.js';
import { damage, damageJson, damageJsonl, esc } from './fuzz-damage.js';

export interface FileTarget {
  name: string;
  /** The file the cases damage, relative to the case folder. */
  target: string;
  args: (dir: string) => string[];
  kind?: 'bytes' | 'json' | 'jsonl' | 'text';
  /** What a refusal must name [the file's name]. */
  culprit?: RegExp;
  /** convts may do without the file (missing or empty is a valid state, not bad input). */
  optional?: boolean;
}

/** Damaged copies of a valid file; the first cases put a folder, a dangling link (and a gzip bomb) there. */
export function fileScenario(t: FileTarget): Scenario {
  const culprit = t.culprit ?? new RegExp(esc(basename(t.target).replace(/\.gz$/, '')));
  return {
    name: t.name,
    make: (dir, rng, k) => {
      const p = join(dir, t.target);
      const specials: [string, () => void][] = [
        [
          'a folder in its place',
          () => {
            rmSync(p, { recursive: true, force: true });
            mkdirSync(p);
          },
        ],
        [
          'a dangling link in its place',
          () => {
            rmSync(p, { force: true });
            symlinkSync(join(dir, 'nowhere'), p);
          },
        ],
        ['empty', () => writeFileSync(p, '')],
      ];
      if (t.target.endsWith('.gz'))
        specials.push([
          '200 MB gzip bomb behind its header',
          () =>
            writeFileSync(
              p,
              gzipSync(Buffer.concat([gunzipSync(readFileSync(p)).subarray(0, 16), Buffer.alloc(200 << 20)])),
            ),
        ]);
      if (k < specials.length) {
        specials[k][1]();
        return { args: t.args(dir), culprit, note: specials[k][0], mustRefuse: !t.optional || k === 0 };
      }
      const kind = t.kind ?? 'bytes';
      const valid = readFileSync(p);
      let note: string;
      if (kind === 'json') {
        const d = damageJson(valid.toString('utf8'), rng);
        writeFileSync(p, d.text);
        note = d.note;
      } else if (kind === 'jsonl') {
        const d = damageJsonl(valid.toString('utf8'), rng);
        writeFileSync(p, d.text);
        note = d.note;
      } else {
        const d = damage(valid, rng);
        writeFileSync(p, d.bytes);
        note = d.note;
      }
      return { args: t.args(dir), culprit, note };
    },
  };
}

export const small = ['--epochs', '1', '--batch-size', '8'];
export const trainOn = (d: string, ...more: string[]) => [
  'train',
  '--model',
  'seed-mnist',
  '--dataset',
  'mnist',
  '--data-dir',
  d,
  ...small,
  '--out',
  join(d, 'out'),
  ...more,
];

/** `args` with flag --name set to `value` (replaced when present, else added). */
export function withFlag(args: string[], name: string, value: string): string[] {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? [...args, `--${name}`, value] : args.map((a, j) => (j === i + 1 ? value : a));
}

/** A folder with valid files of every format: tiny data sets, a bank, feature file, specs, runs, pictures, ONNX. */
export async function makeBase(root: string): Promise<void> {
  writeMnistDir(root, 32, 16);
  // The same MNIST uncompressed, for the raw IDX reader.
  mkdirSync(join(root, 'raw', 'mnist'), { recursive: true });
  for (const f of readdirSync(join(root, 'mnist')))
    writeFileSync(join(root, 'raw', 'mnist', f.replace(/\.gz$/, '')), gunzipSync(readFileSync(join(root, 'mnist', f))));
  writeCifarSet(root, 5, 4, 8);
  writeCifarSet(join(root, 'gz'), 5, 4, 8, true);
  const npy = fuzzFormats.find((f) => f.name === '.npy')!.sample();
  writeFileSync(join(root, 'bank.npy'), npy);
  // The fuzz suite's spec, made to fit MNIST: 28×28 inputs, 10 classes.
  const layers = fuzzSpec.layers.map((l) => (l.type === 'dense' ? { ...l, units: 10 } : l));
  writeFileSync(join(root, 'spec.json'), JSON.stringify({ ...fuzzSpec, input: [1, 28, 28], layers }, null, 1));
  const block = [
    { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
  ];
  const resnet = {
    format: 'convts-model',
    version: 1,
    input: [1, 28, 28],
    layers: [
      ...block,
      { type: 'residual', layers: block },
      {
        type: 'residual',
        layers: [{ ...block[0], stride: 2 }, block[1], block[2]],
        shortcut: { conv: 1, stride: 2 },
      },
      { type: 'globalavgpool' },
      { type: 'dense', units: 10 },
    ],
    loss: 'cross-entropy',
  };
  writeFileSync(join(root, 'resnet.json'), JSON.stringify(resnet, null, 1));
  const img = patternImages(1, 3);
  writePng(join(root, 'img.png'), img.images, 1, 28, 28);
  writeJpeg(join(root, 'img.jpg'), img.images, 1, 28, 28, 90);
  // A folder data set: two classes, train and test.
  for (const split of ['train', 'test'])
    for (const c of ['a', 'b']) {
      mkdirSync(join(root, 'pics', split, c), { recursive: true });
      for (let i = 0; i < 4; i++) {
        const p = patternImages(1, 10 + i + (c === 'b' ? 100 : 0));
        writePng(join(root, 'pics', split, c, `${i}.png`), p.images, 1, 28, 28);
      }
    }
  writeFileSync(
    join(root, 'train.json'),
    JSON.stringify({ model: 'seed-mnist', dataset: 'mnist', lr: 0.05, epochs: 1, 'batch-size': 8 }),
  );
  writeFileSync(
    join(root, 'sweep.json'),
    JSON.stringify({ model: 'seed-mnist', dataset: 'mnist', epochs: 1, 'batch-size': 8 }),
  );
  const setup: string[][] = [
    ['features', '--bank', 'lm', '--dataset', 'mnist', '--data-dir', root, '--out', join(root, 'f.feat')],
    trainOn(root).map((a) => (a === join(root, 'out') ? join(root, 'run') : a)),
    ['export', join(root, 'run'), '--out', join(root, 'model.onnx')],
    [
      'sweep',
      '--config',
      join(root, 'sweep.json'),
      '--data-dir',
      root,
      '--grid',
      'lr=0.01',
      '--jobs',
      '1',
      '--out',
      join(root, 'sw'),
    ],
  ];
  // Every file the cases damage must be valid before: a base file convts refuses would turn each
  // case into a refusal of the base, not of the damage. Their outputs go to a folder removed after.
  const scratch = join(root, 'scratch');
  const checks: string[][] = [
    ...['spec.json', 'resnet.json'].map((f) => withFlag(trainOn(root, '--model', join(root, f)), 'out', scratch)),
    withFlag(trainOn(root, '--dataset', `folder:${join(root, 'pics')}`), 'out', scratch),
    ['train', '--config', join(root, 'train.json'), '--data-dir', root, '--out', scratch],
    ['predict', join(root, 'run'), join(root, 'img.png')],
    ['predict', join(root, 'run'), join(root, 'img.jpg')],
  ];
  for (const args of [...setup, ...checks]) {
    rmSync(scratch, { recursive: true, force: true });
    const r = await runCase({ args, culprit: /./, note: 'setup' }, root);
    if (r.outcome !== 'accepted') throw new Error(`setup failed: convts ${args.join(' ')}: ${r.detail}`);
  }
  rmSync(scratch, { recursive: true, force: true });
  // A run stopped by Ctrl-C after its first epoch (of two, on 2,000 images), with its checkpoint:
  // resuming it trains one more epoch.
  writeMnistDir(join(root, 'big'), 2000, 16);
  for (let tries = 0; !existsSync(join(root, 'ckpt', 'checkpoint.safetensors')); tries++) {
    if (tries > 5) throw new Error('setup failed: no checkpoint after Ctrl-C');
    rmSync(join(root, 'ckpt'), { recursive: true, force: true });
    const args = withFlag(
      withFlag(withFlag(trainOn(root), 'epochs', '2'), 'out', join(root, 'ckpt')),
      'data-dir',
      join(root, 'big'),
    );
    await new Promise<void>((done) => {
      const child = spawn(process.execPath, [mainJs, ...args], { env: { ...process.env, CONVTS_THREADS: '1' } });
      child.stdout.resume();
      child.stderr.on('data', (b) => {
        if (/epoch 1\/2/.test(String(b))) child.kill('SIGINT');
      });
      child.on('close', () => done());
    });
  }
}
