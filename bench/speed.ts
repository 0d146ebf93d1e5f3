// `convts bench`: images per second of the built-in networks on each kernel set, in Node and in
// Chromium, optionally against PyTorch on the same machine and ConvNetJS in the same browser, in
// alternating slices (bench/timing.ts has the rules).
import { referenceKernels, withKernels } from '../src/core.js';
import { convGeomArray } from '../src/kernels/native/index.js';
import { type Backend, loadNativeAddon } from '../src/kernels/node-loader.js';
import { buildModel } from '../src/model/build.js';
import type { BrowserBench, BrowserKernels } from './browser.js';
import { type BenchNet, benchBuiltins, flopsPerImage, performedFlopsPerImage, type WinogradPaths } from './nets.js';
import { type Contender, type Mode, ours, race, summarize, type Timing } from './timing.js';
import { type TorchLayout, type TorchPython, TorchServer, torchLayouts } from './torch.js';

export interface SpeedOptions {
  nets: BenchNet[];
  modes: Mode[];
  batches: number[];
  backends: Backend[];
  /** Batch norm and its activation as one kernel (true), as two (false), or both in turns. */
  fusion?: boolean[];
  timing: Timing;
  /** PyTorch to race against (bench/torch.ts findTorch), or null. */
  torch: TorchPython | null;
  /** The gemm peak in GFLOP/s by thread count (bench/peak.ts), measured in the same run; may be empty. */
  peaks: Map<number, number>;
  /** Chromium (bench/browser.ts), the thread counts to run convts on there, and whether ConvNetJS races too;
   * `spins`: the pool workers' spin limits to race against each other (empty: the default only). */
  browser?: { bench: BrowserBench; threads: number[]; spins?: number[]; convnetjs: boolean } | null;
}

export interface Measurement {
  net: string;
  mode: Mode;
  batch: number;
  backend: string;
  /** The kernel set's own name, e.g. native-avx512 (ours only). */
  kernels?: string;
  /** False when each batch norm and its activation ran as two kernels (bench --fusion off). */
  fusion?: boolean;
  threads: number;
  /** The browser pool's spin limit, when set by --spin. */
  spins?: number;
  /** PyTorch's memory layout (PyTorch only). */
  layout?: TorchLayout;
  /** Median images/s over the slices, and the slowest and fastest slice. */
  imagesPerSecond: number;
  minImagesPerSecond: number;
  maxImagesPerSecond: number;
  /** Images per second of process CPU time (all threads): what one core gives when it is not shared. */
  imagesPerCpuSecond: number;
  /** Seconds for one epoch of the full training set at the median rate (training only). */
  epochSeconds?: number;
  /** Our median over PyTorch's best median (of 2 threads and 1, NCHW and channels-last), from the same
   * alternating slices; `vsTorchBest` names that PyTorch, e.g. "channels-last ×2". */
  vsTorch?: number;
  vsTorchBest?: string;
  /** The median rate in GFLOP/s of convolution and dense arithmetic (bench/nets.ts flopsPerImage). */
  gflops: number;
  /** gflops over the gemm peak measured on as many threads in the same run (0.6 = 60%). */
  ofPeak?: number;
  /** The same for the multiply-adds the native kernels perform (bench/nets.ts performedFlopsPerImage):
   * lower where Winograd's transforms replace products, which makes ofPeak an effective rate. */
  performedGflops?: number;
  performedOfPeak?: number;
  /** Our median over ConvNetJS's in Chromium, from the same alternating slices. */
  vsConvnetjs?: number;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

type Who = Pick<Measurement, 'backend' | 'kernels' | 'fusion' | 'threads' | 'spins' | 'layout'> & {
  side: 'ours' | 'torch' | 'convnetjs';
};

/** Runs every configuration and hands each measurement to `out` as soon as it is known. */
export async function runSpeed(o: SpeedOptions, out: (m: Measurement) => void): Promise<void> {
  // Two threads as the comparison asks, and one, which wins when other work shares the cores.
  const torch = o.torch;
  const servers = torch ? [2, 1].map((t) => new TorchServer(torch.python, t)) : [];
  const browser = o.browser ?? null;
  const pools: [number, number | undefined, BrowserKernels][] = [];
  const spinList = browser?.spins?.length ? browser.spins : [undefined];
  if (browser)
    for (const t of browser.threads)
      for (const sp of t > 1 ? spinList : [undefined]) pools.push([t, sp, await browser.bench.start(t, sp)]);
  try {
    const addon = o.backends.some((b) => b.name === 'native') ? loadNativeAddon() : null;
    const wino: WinogradPaths | null = addon && {
      forward: (g) => addon.conv2dUsesWinograd(convGeomArray(g)),
      filter: (g) => addon.conv2dFilterUsesWinograd(convGeomArray(g)),
    };
    for (const net of o.nets) {
      const model = withKernels(o.backends[0]?.kernels ?? referenceKernels, () => buildModel(net.spec, { seed: 1 }));
      const flops = flopsPerImage(model);
      for (const mode of o.modes) {
        const perImage = mode === 'train' ? flops.train : flops.forward;
        for (const batch of o.batches) {
          const done = wino && performedFlopsPerImage(model, batch, wino);
          const contenders: Contender[] = [];
          const who: Who[] = [];
          const drops: (() => Promise<void>)[] = [];
          for (const b of o.backends)
            for (const fusion of o.fusion ?? [true]) {
              contenders.push(ours(net.spec, mode, batch, b, fusion));
              const label = { side: 'ours', backend: b.name, kernels: b.kernels.name, threads: b.threads } as const;
              who.push(fusion ? label : { ...label, fusion });
            }
          // The page builds the report's networks by name; spec files are timed in Node only.
          const inPage = (benchBuiltins as readonly string[]).includes(net.torchNet);
          for (const [t, sp, k] of inPage ? pools : []) {
            const c = await browser?.bench.contender('convts', t, net.torchNet, mode, batch, sp);
            if (!c) continue;
            contenders.push(c);
            drops.push(c.drop);
            const kernels = `${k.kernels} ${k.simd}`;
            who.push({
              side: 'ours',
              backend: 'browser',
              kernels,
              threads: k.threads,
              ...(sp === undefined ? {} : { spins: sp }),
            });
          }
          if (browser?.convnetjs && inPage) {
            const c = await browser.bench.contender('convnetjs', 1, net.torchNet, mode, batch);
            contenders.push(c);
            drops.push(c.drop);
            who.push({ side: 'convnetjs', backend: 'convnetjs', threads: 1 });
          }
          for (const s of servers)
            for (const layout of torchLayouts) {
              const c = await s.setup(net.torchNet, mode, batch, layout);
              contenders.push(c);
              drops.push(c.drop);
              who.push({ side: 'torch', backend: `pytorch-${torch?.version}`, threads: s.threads, layout });
            }
          const slices = await race(contenders, o.timing);
          for (const drop of drops) await drop();
          const result = slices.map((sl, i): Measurement & Pick<Who, 'side'> => {
            const s = summarize(sl);
            const gflops = (s.median * perImage) / 1e9;
            const peak =
              who[i].side === 'ours' && who[i].backend !== 'browser' ? o.peaks.get(who[i].threads) : undefined;
            const m: Measurement & Pick<Who, 'side'> = {
              net: net.name,
              mode,
              batch,
              ...who[i],
              imagesPerSecond: round(s.median, 1),
              minImagesPerSecond: round(s.min, 1),
              maxImagesPerSecond: round(s.max, 1),
              imagesPerCpuSecond: round(s.perCpuSecond, 1),
              gflops: round(gflops, 3),
            };
            // Three significant digits: a tiny net on a busy machine is a small fraction, not zero.
            if (peak) m.ofPeak = Number((gflops / peak).toPrecision(3));
            if (peak && done && who[i].backend === 'native') {
              const performed = (s.median * (mode === 'train' ? done.train : done.forward)) / 1e9;
              m.performedGflops = round(performed, 3);
              m.performedOfPeak = Number((performed / peak).toPrecision(3));
            }
            if (mode === 'train' && net.trainSize) m.epochSeconds = round(net.trainSize / s.median, 2);
            return m;
          });
          const best = (side: Who['side']) =>
            result.filter((r) => r.side === side).sort((a, b) => b.imagesPerSecond - a.imagesPerSecond)[0];
          const [torchBest, convnetjsBest] = [best('torch'), best('convnetjs')];
          for (const m of result.filter((r) => r.side === 'ours')) {
            if (torchBest?.imagesPerSecond) {
              m.vsTorch = round(m.imagesPerSecond / torchBest.imagesPerSecond, 3);
              m.vsTorchBest = `${torchBest.layout} ×${torchBest.threads}`;
            }
            if (convnetjsBest?.imagesPerSecond)
              m.vsConvnetjs = round(m.imagesPerSecond / convnetjsBest.imagesPerSecond, 1);
          }
          for (const { side, ...m } of result) out(m);
        }
      }
    }
  } finally {
    for (const s of servers) s.close();
  }
}

export function header(compare: { torch?: boolean; convnetjs?: boolean } = {}): string {
  return `${'net'.padEnd(12)} ${'mode'.padEnd(5)} ${'batch'.padStart(5)} ${'backend'.padEnd(20)} ${'thr'.padStart(3)} ${'images/s'.padStart(10)} ${'spread'.padStart(7)} ${'/cpu-s'.padStart(10)} ${'epoch s'.padStart(8)} ${'GFLOP/s'.padStart(8)} ${'of peak'.padStart(7)} ${'actual'.padStart(6)}${compare.torch ? ' vs torch (best)' : ''}${compare.convnetjs ? ' vs convnetjs' : ''}\n`;
}

/** One line of the table; spread is ± half the range of the slices, relative to the median. */
export function row(m: Measurement): string {
  const spread = `±${((50 * (m.maxImagesPerSecond - m.minImagesPerSecond)) / m.imagesPerSecond).toFixed(0)}%`;
  const ofPeak = m.ofPeak === undefined ? '' : `${(100 * m.ofPeak).toFixed(0)}%`;
  const actual = m.performedOfPeak === undefined ? '' : `${(100 * m.performedOfPeak).toFixed(0)}%`;
  const backend = `${m.backend}${m.layout === 'channels-last' ? ' NHWC' : ''}${m.fusion === false ? ' unfused' : ''}`;
  return `${m.net.padEnd(12)} ${m.mode.padEnd(5)} ${String(m.batch).padStart(5)} ${backend.padEnd(20)} ${String(m.threads).padStart(3)} ${m.imagesPerSecond.toFixed(1).padStart(10)} ${spread.padStart(7)} ${m.imagesPerCpuSecond.toFixed(1).padStart(10)} ${(m.epochSeconds?.toFixed(1) ?? '').padStart(8)} ${m.gflops.toFixed(1).padStart(8)} ${ofPeak.padStart(7)} ${actual.padStart(6)}${m.vsTorch !== undefined ? `${m.vsTorch.toFixed(2).padStart(8)}× (${m.vsTorchBest})` : ''}${m.vsConvnetjs !== undefined ? `${m.vsConvnetjs.toFixed(1).padStart(12)}×` : ''}\n`;
}
