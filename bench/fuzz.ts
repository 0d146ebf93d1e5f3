// The CLI-level fuzz campaign (npm run fuzz): damaged files of every format convts reads, hostile
// flags and environment variables, and faults (full disk, read-only and forbidden folders, /proc,
// a file where a folder should be, dangling links, Ctrl-C at random moments), each run as the
// command that meets it in a child process with a time limit and its peak memory measured; prints
// the table of outcomes that docs/reliability.md records.
// Flags: --cases N (per scenario) [70], --seed S [1], --jobs J [2], --only NAME,… (scenarios whose
// name contains one of these), --cpu-limit S [120] of CPU time, --time-limit S [900] of wall time
// and --memory-limit MB [1024] per case (over one, the case's process group is killed and the case
// counted as a hang or over the limit: CPU time, so that a case starved by other work on the
// machine is not taken for a hang; the wall limit catches a process that waits for ever),
// --log FILE (every case as a JSON line), --from-log FILE,… (the tables of logged cases: campaigns
// run in parts), --list (print each bad case in full).
import { appendFileSync, chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/tensor/rng.js';
import { caseLimits, killGroup, runCase, running, type Scenario } from './fuzz-case.js';
import { envScenario } from './fuzz-env.js';
import { faultScenario, mountFaults } from './fuzz-faults.js';
import { type FileTarget, fileScenario, makeBase, trainOn } from './fuzz-files.js';
import { flagsScenario } from './fuzz-flags.js';
import { sigintScenario } from './fuzz-sigint.js';
import { addCase, emptyTables, logLine, printTables, tablesFromLogs } from './fuzz-tables.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string' },
      seed: { type: 'string' },
      jobs: { type: 'string' },
      only: { type: 'string' },
      list: { type: 'boolean' },
      'time-limit': { type: 'string' },
      'cpu-limit': { type: 'string' },
      'memory-limit': { type: 'string' },
      log: { type: 'string' },
      'from-log': { type: 'string' },
    },
  });
  if (values['from-log']) return printTables(tablesFromLogs(values['from-log'].split(',')), values.list ?? false);
  const perScenario = Number(values.cases ?? 70);
  const seed = Number(values.seed ?? 1);
  const jobs = Number(values.jobs ?? 2);
  caseLimits.wallMs = Number(values['time-limit'] ?? caseLimits.wallMs / 1000) * 1000;
  caseLimits.cpuMs = Number(values['cpu-limit'] ?? caseLimits.cpuMs / 1000) * 1000;
  caseLimits.memoryBytes = Number(values['memory-limit'] ?? caseLimits.memoryBytes / 2 ** 20) * 2 ** 20;
  const log = values.log;
  if (log) writeFileSync(log, '');
  const root = mkdtempSync(join(tmpdir(), 'convts-fuzz-'));
  chmodSync(root, 0o755); // the cases run as nobody read from here
  const base = join(root, 'base');
  mkdirSync(base);
  const started = Date.now();
  await makeBase(base);
  const { m, undo } = await mountFaults(root);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      for (const g of running) killGroup(g);
      undo();
      rmSync(root, { recursive: true, force: true });
      process.exit(130);
    });
  const sc = (
    name: string,
    target: string,
    args: (d: string) => string[],
    kind?: FileTarget['kind'],
    culprit?: RegExp,
    optional?: boolean,
  ) => fileScenario({ name, target, args, kind, culprit, optional });
  const cifar = (dataDir: string) => (d: string) =>
    trainOn(d).map((a) =>
      a === 'seed-mnist' ? 'seed-cifar' : a === 'mnist' ? 'cifar-10' : a === d ? join(d, dataDir) : a,
    );
  const scenarios: Scenario[] = [
    sc('IDX .gz (train images)', 'mnist/train-images-idx3-ubyte.gz', (d) => trainOn(d)),
    sc('IDX .gz (test labels)', 'mnist/t10k-labels-idx1-ubyte.gz', (d) => trainOn(d)),
    sc('IDX raw (train labels)', 'raw/mnist/train-labels-idx1-ubyte', (d) =>
      trainOn(d).map((a) => (a === d ? join(d, 'raw') : a)),
    ),
    sc('IDX raw (test images)', 'raw/mnist/t10k-images-idx3-ubyte', (d) =>
      trainOn(d).map((a) => (a === d ? join(d, 'raw') : a)),
    ),
    sc('CIFAR batch', 'cifar-10/data_batch_1.bin', cifar('.')),
    sc('CIFAR batch .gz', 'gz/cifar-10/test_batch.bin.gz', cifar('gz')),
    sc('CIFAR batches.meta.txt', 'cifar-10/batches.meta.txt', cifar('.'), 'bytes', /batches\.meta\.txt|class/, true),
    sc('.npy filter bank', 'bank.npy', (d) => [
      'features',
      '--bank',
      join(d, 'bank.npy'),
      '--dataset',
      'mnist',
      '--data-dir',
      d,
      '--out',
      join(d, 'x.feat'),
    ]),
    sc('feature file', 'f.feat', (d) => trainOn(d, '--model', 'task1-fc', '--features', join(d, 'f.feat'))),
    sc('model spec JSON', 'spec.json', (d) => trainOn(d, '--model', join(d, 'spec.json')), 'json', /spec\.json|layer/),
    sc(
      'model spec JSON (batch norm, residual)',
      'resnet.json',
      (d) => trainOn(d, '--model', join(d, 'resnet.json')),
      'json',
      /resnet\.json|layer/,
    ),
    sc('run: model.safetensors', 'run/model.safetensors', (d) => ['eval', join(d, 'run'), '--data-dir', d]),
    sc(
      'run: model.json',
      'run/model.json',
      (d) => ['eval', join(d, 'run'), '--data-dir', d],
      'json',
      /model\.json|layer/,
    ),
    sc('run: config.json', 'run/config.json', (d) => ['eval', join(d, 'run'), '--data-dir', d], 'json'),
    sc(
      'run: summary.json',
      'run/summary.json',
      (d) => ['show', 'confusion', join(d, 'run'), '--out', join(d, 'c.png')],
      'json',
    ),
    sc(
      'run: metrics.jsonl',
      'run/metrics.jsonl',
      (d) => ['show', 'curves', join(d, 'run'), '--out', join(d, 'c.png')],
      'jsonl',
      undefined,
      true,
    ),
    sc('checkpoint.safetensors (--resume)', 'ckpt/checkpoint.safetensors', (d) => [
      'train',
      '--resume',
      join(d, 'ckpt'),
      '--data-dir',
      join(d, 'big'),
    ]),
    sc(
      'checkpoint run config.json (--resume)',
      'ckpt/config.json',
      (d) => ['train', '--resume', join(d, 'ckpt'), '--data-dir', join(d, 'big')],
      'json',
    ),
    sc('PNG (predict)', 'img.png', (d) => ['predict', join(d, 'run'), join(d, 'img.png')]),
    sc('JPEG (predict)', 'img.jpg', (d) => ['predict', join(d, 'run'), join(d, 'img.jpg')]),
    sc(
      'PNG in a folder data set',
      'pics/train/a/0.png',
      (d) => trainOn(d, '--dataset', `folder:${join(d, 'pics')}`),
      'bytes',
      /0\.png/,
    ),
    sc('ONNX (convts import)', 'model.onnx', (d) => ['import', join(d, 'model.onnx'), '--out', join(d, 'imported')]),
    sc(
      'train --config JSON',
      'train.json',
      (d) => ['train', '--config', join(d, 'train.json'), '--data-dir', d, '--out', join(d, 'out')],
      'json',
    ),
    sc(
      'sweep --config JSON',
      'sweep.json',
      (d) => [
        'sweep',
        '--config',
        join(d, 'sweep.json'),
        '--data-dir',
        d,
        '--grid',
        'lr=0.01',
        '--jobs',
        '1',
        '--out',
        join(d, 'sw3'),
      ],
      'json',
    ),
    sc(
      'sweep state (a trial summary.json)',
      'sw/lr-0.01/summary.json',
      (d) => [
        'sweep',
        '--config',
        join(d, 'sweep.json'),
        '--data-dir',
        d,
        '--grid',
        'lr=0.01',
        '--jobs',
        '1',
        '--out',
        join(d, 'sw'),
      ],
      'json',
      /summary\.json|lr-0\.01/,
      true,
    ),
    flagsScenario(),
    envScenario(),
    faultScenario(m),
    sigintScenario(),
  ];
  const tables = emptyTables();
  try {
    // A scenario's place in the whole list seeds its cases: with --only, case k is the same input
    // as in a campaign over everything, so a part re-run after a fix meets the same damage.
    for (const [si, s] of scenarios.entries()) {
      if (values.only && !values.only.split(',').some((o) => s.name.includes(o))) continue;
      const cases = Array.from({ length: perScenario }, (_, k) => k);
      const worker = async (w: number) => {
        const dir = join(root, `w${w}`);
        for (let k = cases.shift(); k !== undefined; k = cases.shift()) {
          rmSync(dir, { recursive: true, force: true });
          cpSync(base, dir, { recursive: true, verbatimSymlinks: true });
          chmodSync(dir, 0o755);
          // Each case its own generator: a case is the same whatever the order the workers took them in.
          const c = s.make(dir, new Rng(seed * 1_000_003 + si * 10_007 + k), k);
          const r = await runCase(c, dir);
          const line = logLine(s.name, k, r);
          if (log) appendFileSync(log, `${JSON.stringify(line)}\n`);
          for (const p of c.cleanup ?? []) rmSync(p, { recursive: true, force: true });
          addCase(tables, line);
          // Told at once, so that a long campaign can be triaged while it runs.
          if (r.outcome !== 'accepted' && r.outcome !== 'clean refusal')
            process.stderr.write(`  ${s.name}: ${r.outcome}, case ${k}: ${r.detail}\n`);
        }
      };
      await Promise.all(Array.from({ length: jobs }, (_, w) => worker(w)));
      for (const f of m.full) for (const e of readdirSync(f)) rmSync(join(f, e), { recursive: true, force: true });
      const row = tables.rows.get(s.name);
      if (row)
        process.stderr.write(`${s.name}: ${JSON.stringify(row.counts)}, peak ${(row.peakKb / 1024).toFixed(0)} MB\n`);
    }
  } finally {
    undo();
    rmSync(root, { recursive: true, force: true });
  }
  printTables(tables, values.list ?? false);
  process.stdout.write(`${((Date.now() - started) / 60000).toFixed(0)} min\n`);
}

await main();
