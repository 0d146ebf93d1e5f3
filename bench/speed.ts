// `convts bench`: images per second of the built-in networks on each kernel set, optionally against
// PyTorch on the same machine in alternating slices (bench/timing.ts has the rules).
import { withKernels } from '../src/core.js';
import type { Backend } from '../src/kernels/node-loader.js';
import { buildModel } from '../src/model/build.js';
import { type BenchNet, flopsPerImage } from './nets.js';
import { type Contender, type Mode, ours, race, summarize, type Timing } from './timing.js';
import { type TorchPython, TorchServer } from './torch.js';

export interface SpeedOptions {
  nets: BenchNet[];
  modes: Mode[];
  batches: number[];
  backends: Backend[];
  timing: Timing;
  /** PyTorch to race against (bench/torch.ts findTorch), or null. */
  torch: TorchPython | null;
  /** The gemm peak in GFLOP/s by thread count (bench/peak.ts), measured in the same run; may be empty. */
  peaks: Map<number, number>;
}

export interface Measurement {
  net: string;
  mode: Mode;
  batch: number;
  backend: string;
  /** The kernel set's own name, e.g. native-avx512 (ours only). */
  kernels?: string;
  threads: number;
  /** Median images/s over the slices, and the slowest and fastest slice. */
  imagesPerSecond: number;
  minImagesPerSecond: number;
  maxImagesPerSecond: number;
  /** Images per second of process CPU time (all threads): what one core gives when it is not shared. */
  imagesPerCpuSecond: number;
  /** Seconds for one epoch of the full training set at the median rate (training only). */
  epochSeconds?: number;
  /** Our median over PyTorch's better median (of 2 threads and 1), from the same alternating slices. */
  vsTorch?: number;
  /** The median rate in GFLOP/s of convolution and dense arithmetic (bench/nets.ts flopsPerImage). */
  gflops: number;
  /** gflops over the gemm peak measured on as many threads in the same run (0.6 = 60%). */
  ofPeak?: number;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs every configuration and hands each measurement to `out` as soon as it is known. */
export async function runSpeed(o: SpeedOptions, out: (m: Measurement) => void): Promise<void> {
  // Two threads as the comparison asks, and one, which wins when other work shares the cores.
  const torch = o.torch;
  const servers = torch ? [2, 1].map((t) => new TorchServer(torch.python, t)) : [];
  try {
    for (const net of o.nets) {
      const flops = flopsPerImage(withKernels(o.backends[0].kernels, () => buildModel(net.spec, { seed: 1 })));
      for (const mode of o.modes) {
        const perImage = mode === 'train' ? flops.train : flops.forward;
        for (const batch of o.batches) {
          const contenders: Contender[] = o.backends.map((b) => ours(net.spec, mode, batch, b));
          for (const s of servers) contenders.push(await s.setup(net.torchNet, mode, batch));
          const slices = await race(contenders, o.timing);
          const result = slices.map((sl, i): Measurement => {
            const s = summarize(sl);
            const b = o.backends[i];
            const who = b
              ? { backend: b.name, kernels: b.kernels.name, threads: b.threads }
              : { backend: `pytorch-${torch?.version}`, threads: servers[i - o.backends.length].threads };
            const gflops = (s.median * perImage) / 1e9;
            const peak = o.peaks.get(who.threads);
            const m: Measurement = {
              net: net.name,
              mode,
              batch,
              ...who,
              imagesPerSecond: round(s.median, 1),
              minImagesPerSecond: round(s.min, 1),
              maxImagesPerSecond: round(s.max, 1),
              imagesPerCpuSecond: round(s.perCpuSecond, 1),
              gflops: round(gflops, 3),
            };
            if (peak) m.ofPeak = round(gflops / peak, 3);
            if (mode === 'train' && net.trainSize) m.epochSeconds = round(net.trainSize / s.median, 2);
            return m;
          });
          const theirs = result.slice(o.backends.length);
          const top = Math.max(...theirs.map((t) => t.imagesPerSecond));
          for (const m of result.slice(0, o.backends.length))
            if (theirs.length) m.vsTorch = round(m.imagesPerSecond / top, 3);
          result.forEach(out);
        }
      }
    }
  } finally {
    for (const s of servers) s.close();
  }
}

export function header(compare: boolean): string {
  return `${'net'.padEnd(12)} ${'mode'.padEnd(5)} ${'batch'.padStart(5)} ${'backend'.padEnd(17)} ${'thr'.padStart(3)} ${'images/s'.padStart(10)} ${'spread'.padStart(7)} ${'/cpu-s'.padStart(10)} ${'epoch s'.padStart(8)} ${'GFLOP/s'.padStart(8)} ${'of peak'.padStart(7)}${compare ? ' vs torch' : ''}\n`;
}

/** One line of the table; spread is ± half the range of the slices, relative to the median. */
export function row(m: Measurement): string {
  const spread = `±${((50 * (m.maxImagesPerSecond - m.minImagesPerSecond)) / m.imagesPerSecond).toFixed(0)}%`;
  const ofPeak = m.ofPeak === undefined ? '' : `${(100 * m.ofPeak).toFixed(0)}%`;
  return `${m.net.padEnd(12)} ${m.mode.padEnd(5)} ${String(m.batch).padStart(5)} ${m.backend.padEnd(17)} ${String(m.threads).padStart(3)} ${m.imagesPerSecond.toFixed(1).padStart(10)} ${spread.padStart(7)} ${m.imagesPerCpuSecond.toFixed(1).padStart(10)} ${(m.epochSeconds?.toFixed(1) ?? '').padStart(8)} ${m.gflops.toFixed(1).padStart(8)} ${ofPeak.padStart(7)}${m.vsTorch !== undefined ? `${m.vsTorch.toFixed(2).padStart(8)}×` : ''}\n`;
}
