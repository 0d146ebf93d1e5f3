// The CLI-level fuzz campaign (npm run fuzz): damaged files of every format convts reads, hostile
// flags and environment variables, and faults (full disk, read-only and forbidden folders, /proc,
// a file where a folder should be, dangling links, Ctrl-C at random moments), each run as the
// command that meets it in a child process with a time limit and its peak memory measured; prints
// the table of outcomes that docs/reliability.md records.
// Flags: --cases N (per scenario) [70], --seed S [1], --jobs J [2], --only NAME,… (scenarios whose
// name contains one of these), --time-limit S [120] and --memory-limit MB [1024] per case (over
// either, the case's process group is killed and the case counted as a hang or over the limit),
// --log FILE (every case as a JSON line), --from-log FILE,… (the tables of logged cases: campaigns
// run in parts), --list (print each bad case in full).
import {
  appendFileSync,
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/tensor/rng.js';
import {
  caseLimits,
  killGroup,
  kinds,
  type Outcome,
  type Result,
  runCase,
  running,
  type Scenario,
} from './fuzz-case.js';
import { type FileTarget, fileScenario, makeBase, trainOn } from './fuzz-files.js';
import { envScenario, faultScenario, flagsScenario, mountFaults, sigintScenario } from './fuzz-flags.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string' },
      seed: { type: 'string' },
      jobs: { type: 'string' },
      only: { type: 'string' },
      list: { type: 'boolean' },
      'time-limit': { type: 'string' },
      'memory-limit': { type: 'string' },
      log: { type: 'string' },
      'from-log': { type: 'string' },
    },
  });
  if (values['from-log']) return printTables(tablesFromLogs(values['from-log'].split(',')), values.list ?? false);
  const perScenario = Number(values.cases ?? 70);
  const seed = Number(values.seed ?? 1);
  const jobs = Number(values.jobs ?? 2);
  caseLimits.timeMs = Number(values['time-limit'] ?? caseLimits.timeMs / 1000) * 1000;
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
  ].filter((s) => !values.only || values.only.split(',').some((o) => s.name.includes(o)));
  const table: Row[] = [];
  const peak = { kb: 0, what: '' };
  try {
    for (const [si, s] of scenarios.entries()) {
      const row = {
        name: s.name,
        counts: {} as Record<string, number>,
        peakKb: 0,
        slowest: 0,
        bad: [] as string[],
        accepted: [] as string[],
      };
      table.push(row);
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
          if (log) appendFileSync(log, `${JSON.stringify({ scenario: s.name, k, ...r })}\n`);
          for (const p of c.cleanup ?? []) rmSync(p, { recursive: true, force: true });
          row.counts[r.outcome] = (row.counts[r.outcome] ?? 0) + 1;
          row.peakKb = Math.max(row.peakKb, r.rssKb);
          if (r.rssKb >= peak.kb) Object.assign(peak, { kb: r.rssKb, what: `${s.name}, case ${k}` });
          row.slowest = Math.max(row.slowest, r.seconds);
          if (r.outcome === 'accepted') row.accepted.push(r.detail);
          else if (r.outcome !== 'clean refusal') row.bad.push(`${r.outcome}, case ${k}: ${r.detail}`);
        }
      };
      await Promise.all(Array.from({ length: jobs }, (_, w) => worker(w)));
      for (const f of m.full) for (const e of readdirSync(f)) rmSync(join(f, e), { recursive: true, force: true });
      process.stderr.write(`${s.name}: ${JSON.stringify(row.counts)}, peak ${(row.peakKb / 1024).toFixed(0)} MB\n`);
      for (const b of row.bad) process.stderr.write(`  ${b}\n`);
    }
  } finally {
    undo();
    rmSync(root, { recursive: true, force: true });
  }
  printTables({ table, peak }, values.list ?? false);
  process.stdout.write(`${((Date.now() - started) / 60000).toFixed(0)} min\n`);
}

function printTables({ table, peak }: { table: Row[]; peak: { kb: number; what: string } }, list: boolean): void {
  process.stdout.write(`${resultTables(table, peak).join('\n')}\n\n`);
  for (const r of table) for (const b of list ? r.bad : r.bad.slice(0, 5)) process.stdout.write(`  ${r.name}: ${b}\n`);
  if (list) for (const r of table) for (const a of r.accepted) process.stdout.write(`  accepted, ${r.name}: ${a}\n`);
}

/** Rows rebuilt from --log files, scenarios in the order they first appear. */
function tablesFromLogs(files: string[]): { table: Row[]; peak: { kb: number; what: string } } {
  const rows = new Map<string, Row>();
  const peak = { kb: 0, what: '' };
  for (const f of files)
    for (const line of readFileSync(f, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as Result & { scenario: string; k: number };
      let row = rows.get(r.scenario);
      if (!row) {
        row = { name: r.scenario, counts: {}, peakKb: 0, slowest: 0, bad: [], accepted: [] };
        rows.set(r.scenario, row);
      }
      row.counts[r.outcome] = (row.counts[r.outcome] ?? 0) + 1;
      row.peakKb = Math.max(row.peakKb, r.rssKb);
      row.slowest = Math.max(row.slowest, r.seconds);
      if (r.rssKb >= peak.kb) Object.assign(peak, { kb: r.rssKb, what: `${r.scenario}, case ${r.k}` });
      if (r.outcome === 'accepted') row.accepted.push(r.detail);
      else if (r.outcome !== 'clean refusal') row.bad.push(`${r.outcome}, case ${r.k}: ${r.detail}`);
    }
  return { table: [...rows.values()], peak };
}

await main();
interface Row {
  name: string;
  counts: Record<string, number>;
  peakKb: number;
  slowest: number;
  bad: string[];
  accepted: string[];
}

/** The outcomes per scenario, then the goals beside what this campaign measured. */
function resultTables(table: Row[], peak: { kb: number; what: string }): string[] {
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  const out = [
    `| input | cases | ${kinds.join(' | ')} | peak memory | slowest |`,
    `| --- | --- | ${kinds.map(() => '---').join(' | ')} | --- | --- |`,
  ];
  const total: Record<string, number> = {};
  let slowest = 0;
  for (const r of table) {
    const n = Object.values(r.counts).reduce((a, b) => a + b, 0);
    for (const [k, v] of Object.entries(r.counts)) total[k] = (total[k] ?? 0) + v;
    slowest = Math.max(slowest, r.slowest);
    out.push(
      `| ${r.name} | ${n} | ${kinds.map((k) => r.counts[k] ?? 0).join(' | ')} | ${mb(r.peakKb)} | ${r.slowest.toFixed(0)} s |`,
    );
  }
  const n = Object.values(total).reduce((a, b) => a + b, 0);
  out.push(
    `| **all** | ${n} | ${kinds.map((k) => total[k] ?? 0).join(' | ')} | ${mb(peak.kb)} | ${slowest.toFixed(0)} s |`,
  );
  const t = (k: Outcome) => total[k] ?? 0;
  const limitMb = caseLimits.memoryBytes / 2 ** 20;
  const bad = t('bad message');
  out.push(
    '',
    '| what | goal | measured |',
    '| --- | --- | --- |',
    `| cases (clean refusals, valid input accepted) | ≥ 2,000 | ${n} (${t('clean refusal')}, ${t('accepted')}) |`,
    `| stack traces | 0 | ${t('stack trace')} |`,
    `| crashes (signal, exit > 2) | 0 | ${t('crash')} |`,
    `| hangs (over ${caseLimits.timeMs / 1000} s, process group killed) | 0 | ${t('hang')} |`,
    `| bad input accepted (exit 0) | 0 | ${t('bad input accepted')} |`,
    `| debris (temporary files, locks, processes left) | 0 | ${t('debris')} |`,
    `| peak memory for any input of ≤ 10 MB | ≤ 1 GB | ${mb(peak.kb)} (${peak.what}); ${t('over 1 GB')} case(s) over ${limitMb} MB |`,
    `| messages that do not name the culprit or print undefined/NaN | ≤ 1% | ${bad} (${((100 * bad) / Math.max(1, n)).toFixed(2)}%) |`,
  );
  return out;
}
