// The CLI-level fuzz campaign (npm run fuzz): damaged files of every format convts reads, each
// fed to the command that reads it in a child process with a time and memory limit; prints the
// table of outcomes that docs/reliability.md records. Flags: --cases N (per format), --seed S.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Rng } from '../src/tensor/rng.js';
import { writeCifarSet } from '../test/helpers/data-files.js';
import { fuzzFormats, fuzzSpec } from '../test/helpers/fuzz-formats.js';
import { writeMnistDir } from '../test/helpers/mnist.js';

const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const timeLimit = 60_000;
const memoryLimit = 2 ** 30; // the goal: no input of ≤ 10 MB takes more than 1 GB

interface Scenario {
  name: string;
  /** The file the cases damage, relative to the scenario's folder. */
  target: string;
  args: (dir: string) => string[];
}

const trainArgs = (dir: string, more: string[]) => [
  'train',
  ...more,
  '--epochs',
  '1',
  '--batch-size',
  '8',
  '--out',
  join(dir, 'out'),
];

const scenarios: Scenario[] = [
  {
    name: 'IDX .gz (train images)',
    target: 'mnist/train-images-idx3-ubyte.gz',
    args: (d) => trainArgs(d, ['--model', 'seed-mnist', '--dataset', 'mnist', '--data-dir', d]),
  },
  {
    name: 'IDX .gz (test labels)',
    target: 'mnist/t10k-labels-idx1-ubyte.gz',
    args: (d) => trainArgs(d, ['--model', 'seed-mnist', '--dataset', 'mnist', '--data-dir', d]),
  },
  {
    name: 'CIFAR batch',
    target: 'cifar-10/data_batch_1.bin',
    args: (d) => trainArgs(d, ['--model', 'seed-cifar', '--dataset', 'cifar-10', '--data-dir', d]),
  },
  {
    name: '.npy filter bank',
    target: 'bank.npy',
    args: (d) => [
      'features',
      '--bank',
      join(d, 'bank.npy'),
      '--dataset',
      'mnist',
      '--data-dir',
      d,
      '--out',
      join(d, 'x.feat'),
    ],
  },
  {
    name: 'feature file',
    target: 'f.feat',
    args: (d) => trainArgs(d, ['--model', 'task1-fc', '--features', join(d, 'f.feat')]),
  },
  {
    name: 'model spec JSON',
    target: 'spec.json',
    args: (d) => trainArgs(d, ['--model', join(d, 'spec.json'), '--dataset', 'mnist', '--data-dir', d]),
  },
  {
    name: 'model.safetensors',
    target: 'run/model.safetensors',
    args: (d) => ['eval', join(d, 'run'), '--data-dir', d],
  },
];

type Outcome = 'clean refusal' | 'accepted' | 'stack trace' | 'crash' | 'hang' | 'over 1 GB' | 'bad message';

interface Result {
  outcome: Outcome;
  rssKb: number;
  detail: string;
}

/** Runs convts with a time limit, measuring peak RSS with /usr/bin/time when present. */
function runCase(args: string[], cwd: string): Promise<Result> {
  const rssFile = join(cwd, 'rss.txt');
  rmSync(rssFile, { force: true });
  const timed = existsSync('/usr/bin/time');
  const [cmd, argv] = timed
    ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, mainJs, ...args]]
    : [process.execPath, [mainJs, ...args]];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv as string[], {
      cwd,
      env: { ...process.env, CONVTS_OFFLINE: '1', CONVTS_DATA_DIR: '' },
    });
    let stderr = '';
    let hung = false;
    child.stderr.on('data', (b) => {
      if (stderr.length < 1e5) stderr += b;
    });
    child.stdout.resume();
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeLimit);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const rssKb = existsSync(rssFile) ? Number(/(\d+)\s*$/.exec(readFileSync(rssFile, 'utf8'))?.[1] ?? 0) : 0;
      // The message: its first line starts with "convts: " (a few explain on the next lines).
      const last = stderr.split('\n').find((l) => l.startsWith('convts: ')) ?? stderr.slice(0, 200);
      let outcome: Outcome;
      if (hung) outcome = 'hang';
      else if (/\n\s+at |node:internal|^\w*Error: /m.test(stderr)) outcome = 'stack trace';
      else if (signal || (code ?? 0) > 2) outcome = 'crash';
      else if (rssKb * 1024 > memoryLimit) outcome = 'over 1 GB';
      else if (code === 0) outcome = 'accepted';
      else if (!last.startsWith('convts: ') || /\bundefined\b|\bNaN\b/.test(last)) outcome = 'bad message';
      else outcome = 'clean refusal';
      resolve({ outcome, rssKb, detail: `exit ${code ?? signal}: ${last.slice(0, 200)}` });
    });
  });
}

/** Damage: 1–4 of bit flips, edge values in header fields, cuts, insertions, deletions, repeats. */
function damage(b: Uint8Array, rng: Rng): Uint8Array {
  let x = Uint8Array.from(b);
  const edge = [0, 1, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
  for (let k = 1 + rng.int(4); k > 0; k--) {
    const i = rng.int(Math.max(1, x.length));
    const kind = rng.int(6);
    if (kind === 0 && x.length) x[i] ^= 1 << rng.int(8);
    else if (kind === 1) {
      const at = rng.int(Math.min(64, Math.max(1, x.length - 3)));
      if (at + 4 <= x.length) new DataView(x.buffer).setUint32(at, edge[rng.int(edge.length)], rng.int(2) === 0);
    } else if (kind === 2) x = x.slice(0, i);
    else if (kind === 3)
      x = Uint8Array.from([
        ...x.subarray(0, i),
        ...Array.from({ length: 1 + rng.int(16) }, () => rng.int(256)),
        ...x.subarray(i),
      ]);
    else if (kind === 4) x = Uint8Array.from([...x.subarray(0, i), ...x.subarray(i + 1 + rng.int(64))]);
    else if (x.length < 1 << 20) x = Uint8Array.from([...x, ...x]);
  }
  return x;
}

/** A folder with valid files of every format: tiny MNIST and CIFAR, a bank, a feature file, a spec, a trained run. */
async function makeBase(root: string): Promise<void> {
  writeMnistDir(root, 32, 16);
  writeCifarSet(root, 5, 4, 8);
  const npy = fuzzFormats.find((f) => f.name === '.npy')!.sample();
  writeFileSync(join(root, 'bank.npy'), npy);
  writeFileSync(join(root, 'spec.json'), JSON.stringify({ ...fuzzSpec, input: [1, 28, 28] }));
  for (const args of [
    ['features', '--bank', 'lm', '--dataset', 'mnist', '--data-dir', root, '--out', join(root, 'f.feat')],
    trainArgs(root, ['--model', 'seed-mnist', '--dataset', 'mnist', '--data-dir', root]).map((a) =>
      a === join(root, 'out') ? join(root, 'run') : a,
    ),
  ]) {
    const r = await runCase(args, root);
    if (r.outcome !== 'accepted') throw new Error(`setup failed: convts ${args[0]}: ${r.detail}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { cases: { type: 'string' }, seed: { type: 'string' }, jobs: { type: 'string' } },
  });
  const perFormat = Number(values.cases ?? 300);
  const rng = new Rng(Number(values.seed ?? 1));
  const jobs = Number(values.jobs ?? 2);
  const root = mkdtempSync(join(tmpdir(), 'convts-fuzz-'));
  const base = join(root, 'base');
  mkdirSync(base);
  await makeBase(base);
  // Adversarial cases beside the random ones: a gzip bomb behind a small IDX header, a directory
  // and a dangling link where the file should be.
  const special = (s: Scenario): ((p: string) => void)[] => [
    (p) => {
      rmSync(p, { recursive: true, force: true });
      mkdirSync(p);
    },
    (p) => {
      rmSync(p, { force: true });
      symlinkSync(join(base, 'nowhere'), p);
    },
    ...(s.target.endsWith('.gz')
      ? [
          (p: string) =>
            writeFileSync(p, gzipSync(Buffer.concat([readFileSync(p).subarray(0, 16), Buffer.alloc(200 << 20)]))),
        ]
      : []),
  ];
  const table: { name: string; counts: Record<string, number>; peakKb: number; bad: string[] }[] = [];
  for (const s of scenarios) {
    const row = { name: s.name, counts: {} as Record<string, number>, peakKb: 0, bad: [] as string[] };
    table.push(row);
    const valid = readFileSync(join(base, s.target));
    const cases = Array.from({ length: perFormat }, (_, k) => k);
    const worker = async (w: number) => {
      const dir = join(root, `w${w}`);
      for (let k = cases.shift(); k !== undefined; k = cases.shift()) {
        rmSync(dir, { recursive: true, force: true });
        cpSync(base, dir, { recursive: true });
        const p = join(dir, s.target);
        const sp = special(s);
        if (k < sp.length) sp[k](p);
        else writeFileSync(p, damage(valid, rng));
        const r = await runCase(s.args(dir), dir);
        row.counts[r.outcome] = (row.counts[r.outcome] ?? 0) + 1;
        row.peakKb = Math.max(row.peakKb, r.rssKb);
        if (r.outcome !== 'clean refusal' && r.outcome !== 'accepted') row.bad.push(`${r.outcome}: ${r.detail}`);
      }
    };
    await Promise.all(Array.from({ length: jobs }, (_, w) => worker(w)));
    process.stderr.write(`${s.name}: ${JSON.stringify(row.counts)}, peak ${(row.peakKb / 1024).toFixed(0)} MB\n`);
  }
  rmSync(root, { recursive: true, force: true });
  const kinds: Outcome[] = ['clean refusal', 'accepted', 'stack trace', 'crash', 'hang', 'over 1 GB', 'bad message'];
  const out = [
    `| format (file damaged) | cases | ${kinds.join(' | ')} | peak RSS |`,
    `| --- | ${kinds.map(() => '---').join(' | ')} | --- | --- |`,
  ];
  for (const r of table) {
    const n = Object.values(r.counts).reduce((a, b) => a + b, 0);
    out.push(
      `| ${r.name} | ${n} | ${kinds.map((k) => r.counts[k] ?? 0).join(' | ')} | ${(r.peakKb / 1024).toFixed(0)} MB |`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
  for (const r of table) for (const b of r.bad.slice(0, 5)) process.stdout.write(`  ${r.name}: ${b}\n`);
}

await main();
