// `convts bench`: parses the flags; the measuring is bench/ (speed.ts, timing.ts, torch.ts, memory.ts).

import os from 'node:os';
import { BrowserBench } from '../../bench/browser.js';
import { memoryGrowth, memoryLine } from '../../bench/memory.js';
import { benchBuiltins, benchNet } from '../../bench/nets.js';
import { gemmPeak, loadLine } from '../../bench/peak.js';
import { header, type Measurement, row, runSpeed } from '../../bench/speed.js';
import { findTorch } from '../../bench/torch.js';
import { UsageError } from '../errors.js';
import { availableBackends, type Backend, loadNativeAddon } from '../kernels/node-loader.js';
import { machineInfo } from '../run/index.js';
import { choice, num, parseCommand } from './args.js';
import { specModels } from './spec-models.js';

export const benchHelp = `convts bench — training and inference speed of the built-in networks

Usage: convts bench [options]

  --net NAME[,NAME]      ${[...benchBuiltins, ...specModels].join(', ')}, or a
                         spec file (.json)                       [seed-mnist,seed-cifar]
  --batch N[,N]          batch sizes                             [1,32,128]
  --mode M[,M]           train, infer                            [both]
  --backend B[,B]        kernel sets (reference, native, wasm), and browser: convts in
                         headless Chromium on the WebAssembly kernels with threads
                         (playwright-core; /usr/bin/chromium or $CONVTS_CHROMIUM)  [all built in Node]
  --threads N[,N]        thread counts for backends that thread  [1 and all cores; browser: all cores]
  --fusion on|off|on,off batch norm and the activation after it as one kernel (on), as
                         two (off), or both in turns                  [on]
  --spin N[,N]           browser: times an idle pool worker checks for work before it
                         sleeps (about 1 ns each); several race each other  [the kernels' default]
  --warmup S             seconds each contender runs first       [0.5]
  --slice S              seconds per timed slice                 [0.4]
  --slices N             timed slices per contender              [5]
  --compare torch        also time PyTorch (tools/bench_torch.py; python3 with torch, or
                         $CONVTS_PYTHON) on 2 threads and on 1, taking turns with our
                         kernel sets slice by slice, and print our rate over PyTorch's better
  --compare convnetjs    also time ConvNetJS (npm convnetjs) in the same Chromium page on
                         the same networks (one image at a time, as it trains), and print
                         our rate over its; torch,convnetjs does both
  --json                 one JSON object per line and measurement
  --memory               instead: memory growth from epoch 2 to 10 of seed-mnist training
                         (batch 32, 200 steps each) on the fastest backend

First the machine's matrix-multiply peak is measured (the native gemm on 1024×1024 matrices, on
each thread count timed). GFLOP/s counts the convolutions' and dense layers' multiply-adds (2
flops each; training: forward, weight gradients and input gradients) at the median rate; "of peak"
is that over the gemm peak on as many threads, measured in the same run, so a busy machine lowers
both. "actual" (native) is the same share for the multiply-adds performed: a 3×3 convolution on the
Winograd path does 36 per 4×4 outputs and channel pair (or 16 per 2×2) instead of 144 (36), so "of peak" is then an
effective rate and can pass 100%. Images/s is the median of the slices, after the warm-up; spread is ± half the range from the
slowest to the fastest slice. /cpu-s counts the same images per second of process CPU time (what a
core gives when no other program shares it; in the browser, the CPU time of Chromium's renderer process, read
from /proc on Linux, else 0). Every contender of a configuration runs one slice
per round, in turns, so all see the same machine. A training step is zero-grad, forward, softmax
cross-entropy, backward and an SGD update, as in PyTorch; "epoch s" is 60,000 (MNIST) or 50,000
(CIFAR-10) images at that rate.
Examples: convts bench --net seed-mnist --mode train --batch 32 --compare torch
          convts bench --net convts-cifar --mode train --batch 256 --threads 2 --compare torch
`;

const options = {
  net: { type: 'string' },
  batch: { type: 'string' },
  mode: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  fusion: { type: 'string' },
  spin: { type: 'string' },
  warmup: { type: 'string' },
  slice: { type: 'string' },
  slices: { type: 'string' },
  compare: { type: 'string' },
  json: { type: 'boolean' },
  memory: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `convts bench`: returns the process exit code. */
export async function benchCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, options, benchHelp, 'bench');
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length) throw new UsageError(`bench takes no arguments, got "${parsed.positionals[0]}"`);
  const nets = (v.net ?? benchBuiltins.join(',')).split(',').map(benchNet);
  const modes = list('mode', v.mode, ['train', 'infer'] as const);
  const batches = (v.batch ?? '1,32,128').split(',').map((b) => num('batch', b, 1, { int: true, min: 1 }));
  const timing = {
    warmup: num('warmup', v.warmup, 0.5, { min: 0 }),
    slice: num('slice', v.slice, 0.4, { above: 0 }),
    slices: num('slices', v.slices, 5, { int: true, min: 1 }),
  };
  const compare = list('compare', v.compare, ['torch', 'convnetjs'] as const, []);
  const fusion = list('fusion', v.fusion, ['on', 'off'] as const, ['on']).map((f) => f === 'on');
  const compareTorch = compare.includes('torch');
  const inBrowser = v.backend?.split(',').includes('browser') ?? false;
  const nodeNames = v.backend
    ?.split(',')
    .filter((b) => b !== 'browser')
    .join(',');
  const backends = nodeNames === '' ? [] : pickBackends(nodeNames, v.threads);
  if (v.spin !== undefined && !inBrowser)
    throw new UsageError("--spin sets how long the page's pool workers spin: it needs --backend browser");
  const spins = v.spin?.split(',').map((x) => num('spin', x, 0, { int: true, min: 0, max: 2 ** 31 - 1 }));
  if (v.memory) {
    if (!backends.length) throw new UsageError('--memory measures a Node kernel set: add one to --backend');
    const m = memoryGrowth(backends[backends.length - 1]);
    process.stdout.write(v.json ? `${JSON.stringify(m)}\n` : memoryLine(m));
    return 0;
  }
  const torch = compareTorch ? findTorch() : null;
  const peaks = measurePeaks(backends, compareTorch, timing.slice);
  const convnetjs = compare.includes('convnetjs');
  const bench = inBrowser || convnetjs ? await BrowserBench.open(convnetjs) : null;
  try {
    const threads = inBrowser ? browserThreads(v.threads) : [];
    const browser = bench && { bench, threads, spins, convnetjs };
    if (!v.json)
      process.stdout.write(
        `${machineLine()}${bench ? `, Chromium ${bench.version}` : ''}\n${peakLine(peaks)}${header({ torch: compareTorch, convnetjs })}`,
      );
    const out = (m: Measurement) => process.stdout.write(v.json ? `${JSON.stringify(m)}\n` : row(m));
    await runSpeed({ nets, modes, batches, backends, fusion, timing, torch, peaks, browser }, out);
  } finally {
    await bench?.close();
  }
  return 0;
}

function list<T extends string>(flag: string, v: string | undefined, all: readonly T[], none = [...all]): T[] {
  return v === undefined ? none : v.split(',').map((x) => choice(flag, x, all, all[0]));
}

/** Threads for convts in the browser: --threads, else every core. */
function browserThreads(threads: string | undefined): number[] {
  if (threads === undefined) return [os.availableParallelism()];
  return threads.split(',').map((x) => num('threads', x, 1, { int: true, min: 1 }));
}

function pickBackends(names: string | undefined, threads: string | undefined): Backend[] {
  let all = availableBackends();
  if (names !== undefined) {
    const want = names.split(',');
    const missing = want.filter((n) => !all.some((b) => b.name === n));
    if (missing.length) {
      throw new UsageError(
        `--backend: ${missing.join(', ')} not available here (built: ${[...new Set(all.map((b) => b.name))].join(', ')}) — run npm install to build the native and wasm kernels`,
      );
    }
    all = all.filter((b) => want.includes(b.name));
  }
  if (threads !== undefined) {
    const t = threads.split(',').map((x) => num('threads', x, 1, { int: true, min: 1 }));
    all = all.filter((b) => t.includes(b.threads));
    if (!all.length) throw new UsageError(`--threads ${threads}: no chosen kernel set runs on that many threads`);
  }
  return all;
}

/** The machine the figures were measured on, as run summaries record it, and its load now. */
function machineLine(): string {
  const m = machineInfo();
  return `${m.cpuModel}, ${m.cpus} CPUs, Node ${m.node} on ${m.platform}; ${loadLine()}`;
}

/** The gemm peak on every thread count timed (PyTorch's too), when the native kernels are built. */
function measurePeaks(backends: Backend[], torch: boolean, slice: number): Map<number, number> {
  const addon = loadNativeAddon();
  const peaks = new Map<number, number>();
  if (!addon) return peaks;
  const counts = new Set([...backends.map((b) => b.threads), ...(torch ? [1, 2] : [])]);
  for (const t of [...counts].sort())
    peaks.set(t, gemmPeak(addon, t, 1024, Math.min(0.6, Math.max(0.05, slice))).gflops);
  return peaks;
}

function peakLine(peaks: Map<number, number>): string {
  if (!peaks.size) return 'gemm peak: not measured (the native kernels are not built)\n';
  const parts = [...peaks].map(([t, g]) => `${g.toFixed(1)} GFLOP/s on ${t} thread${t > 1 ? 's' : ''}`);
  return `gemm peak (native sgemm, 1024³, now): ${parts.join(', ')}\n`;
}
