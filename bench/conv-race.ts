// Every convolution of a net, pass by pass, convts's native kernels against PyTorch (NCHW and
// channels-last) on the same thread count, in turns (bench/timing.ts's race): where convts loses.
//   node dist/bench/conv-race.js [net,…] [batch] [threads] [slice seconds] [slices] [other checkout]
// Nets: convts-mnist (default), convts-cifar, or spec files; batch: the spec's recipe batch (else 128).
// With another checkout (built the same way), its addon races too: before/after figures per pass.
// For each net: a training step of each side (its shares), the gemm probe (bench/peak.ts) on as many
// threads, then per convolution the forward, the input gradient ("data", not for the first layer)
// and the weight gradient ("filter"): ms a call (in the fastest slice; on one thread in
// process CPU time, robust to a busy machine, on more by the wall clock), share of its side's step, GFLOP/s
// (direct-convolution multiply-adds: an effective rate where convts runs Winograd) and % of the gemm
// peak, and PyTorch's best ms over convts's (above 1: convts faster).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ConvGeom, Kernels } from '../src/kernels/kernels.js';
import { convGeomArray, type NativeAddon, nativeKernels } from '../src/kernels/native/index.js';
import { loadNativeAddon } from '../src/kernels/node-loader.js';
import { Conv2d } from '../src/layers/conv2d.js';
import type { Layer } from '../src/layers/layer.js';
import { Residual } from '../src/layers/residual.js';
import { buildModel } from '../src/model/build.js';
import { Rng } from '../src/tensor/rng.js';
import { benchNet } from './nets.js';
import { loadLine } from './peak.js';
import { type Contender, calls, ours, race, type Slice, summarize, type Timing } from './timing.js';
import { type ConvPass, findTorch, type TorchContender, TorchServer, torchLayouts } from './torch.js';

interface Conv {
  g: ConvGeom;
  down: boolean;
}

/** The convolutions of a model, in order, at batch n. */
function convsOf(spec: Parameters<typeof buildModel>[0], n: number): Conv[] {
  const out: Conv[] = [];
  const visit = (l: Layer) => {
    if (l instanceof Residual) for (const b of [...l.body, ...(l.shortcut ? [l.shortcut] : [])]) visit(b);
    // The layer keeps its geometry private; the bench reads it to time the same calls.
    if (l instanceof Conv2d)
      out.push({ g: { ...(l as unknown as { geom: ConvGeom }).geom, n }, down: l.propagateDown });
  };
  for (const l of buildModel(spec, { seed: 1 }).layers) visit(l);
  return out;
}

/** One pass of convolution g on convts's kernels, as a race contender (g.n images a call). */
function kernelPass(k: Kernels, g: ConvGeom, pass: ConvPass): Contender {
  const rng = new Rng(5);
  const fill = (len: number) => Float32Array.from({ length: len }, () => rng.uniform() - 0.5);
  const x = fill(g.n * g.c * g.h * g.w);
  const dy = fill(g.n * g.k * g.oh * g.ow);
  const w = fill(g.k * g.c * g.kh * g.kw);
  const y = new Float32Array(dy.length);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  const call =
    pass === 'forward'
      ? () => k.conv2dForward(y, x, w, null, g)
      : pass === 'data'
        ? () => k.conv2dBackwardData(dx, dy, w, g)
        : () => k.conv2dBackwardFilter(dw, null, dy, x, g);
  return calls(call, g.n);
}

/** The gemm probe of bench/peak.ts (1024³ products) as a contender: one "image" a product. */
function gemmProbe(a: NativeAddon, threads: number, size = 1024): Contender {
  const rng = new Rng(3);
  const [p, q] = [0, 1].map(() => Float32Array.from({ length: size * size }, () => rng.uniform() - 0.5));
  const c = new Float32Array(size * size);
  return calls(() => a.gemm(false, false, size, size, size, p, q, c, false, threads), 1);
}

/** Milliseconds a call (of n images) in the fastest slice, the least disturbed on a shared machine: by
 * the wall clock, or by process CPU time, which on one thread hardly depends on the machine's load. */
function msPerCall(slices: Slice[], n: number, cpu: boolean): number {
  if (!cpu) return (1000 * n) / summarize(slices).max;
  return Math.min(...slices.map((s) => (1000 * n * s.cpuSeconds) / s.images));
}

const winograd = (a: NativeAddon, g: ConvGeom, pass: ConvPass): number => {
  if (pass === 'filter') return a.conv2dFilterUsesWinograd(convGeomArray(g));
  if (pass === 'forward') return a.conv2dUsesWinograd(convGeomArray(g));
  const t = { ...g, c: g.k, h: g.oh, w: g.ow, k: g.c, ph: g.kh - 1 - g.ph, pw: g.kw - 1 - g.pw, oh: g.h, ow: g.w };
  return g.sh === 1 && g.sw === 1 ? a.conv2dUsesWinograd(convGeomArray(t)) : 0;
};

async function main(): Promise<void> {
  const nets = (process.argv[2] ?? 'convts-mnist').split(',').map(benchNet);
  const batchArg = process.argv[3] ? Number(process.argv[3]) : null;
  const threads = Number(process.argv[4] ?? 2);
  const timing: Timing = { warmup: 0.3, slice: Number(process.argv[5] ?? 0.25), slices: Number(process.argv[6] ?? 7) };
  const addon = loadNativeAddon();
  if (!addon) throw new Error('the native kernels are not built — npm install builds them');
  const torch = new TorchServer(findTorch().python, threads);
  const k = nativeKernels(addon, threads);
  const otherDir = process.argv[7];
  const other =
    otherDir &&
    nativeKernels(
      createRequire(import.meta.url)(join(otherDir, 'build/Release', `convts_${addon.variant}.node`)) as NativeAddon,
      threads,
    );
  const f = (x: number, d = 1) => x.toFixed(d);
  const cpu = threads === 1;
  try {
    for (const net of nets) {
      const batch = batchArg ?? Number(net.spec.recipe?.['batch-size'] ?? 128);
      // The training step of each side, for the shares (random images, plain SGD, as convts bench), in
      // turns with the gemm probe.
      const steps: TorchContender[] = [];
      for (const layout of torchLayouts) steps.push(await torch.setup(net.torchNet, 'train', batch, layout));
      const mine = ours(net.spec, 'train', batch, { name: 'native', threads, kernels: k });
      const [probe, ...stepSlices] = await race([gemmProbe(addon, threads), mine, ...steps], timing);
      for (const s of steps) await s.drop();
      const peak = (2 * 1024 ** 3) / (msPerCall(probe, 1, cpu) * 1e6);
      console.log(
        `${net.name}, batch ${batch}, ${threads} thread${threads > 1 ? 's' : ''}, native-${addon.simd}; ${loadLine()}; gemm probe ${f(peak)} GFLOP/s; ms ${cpu ? 'of process CPU time' : 'by the wall clock'}, fastest slice`,
      );
      const [stepOurs, ...stepTorch] = stepSlices.map((s) => msPerCall(s, batch, cpu));
      const stepBest = Math.min(...stepTorch);
      console.log(
        `step: convts ${f(stepOurs)} ms, PyTorch NCHW ${f(stepTorch[0])} ms, channels-last ${f(stepTorch[1])} ms; PyTorch's best ÷ convts ${f(stepBest / stepOurs, 2)}×`,
      );
      console.log(
        `${'conv (in→out, kernel, map)'.padEnd(28)} ${'pass'.padEnd(7)} ${'convts ms'.padStart(9)} ${'share'.padStart(6)} ${'GFLOP/s'.padStart(8)} ${'of peak'.padStart(7)} ${'wino'.padStart(4)}  ${'NCHW ms'.padStart(8)} ${'NHWC ms'.padStart(8)} ${'share'.padStart(6)}  ${'torch best ÷ convts'.padStart(19)}${other ? '  other ms  other ÷ this' : ''}`,
      );
      const total = { ours: 0, torch: 0 };
      for (const { g, down } of convsOf(net.spec, batch)) {
        for (const pass of ['forward', 'data', 'filter'] as ConvPass[]) {
          if (pass === 'data' && !down) continue;
          const theirs: TorchContender[] = [];
          for (const layout of torchLayouts) theirs.push(await torch.conv(g, pass, layout));
          const mine = [kernelPass(k, g, pass), ...(other ? [kernelPass(other, g, pass)] : [])];
          const slices = await race([...mine, ...theirs], timing);
          for (const c of theirs) await c.drop();
          const [ms, ...rest] = slices.map((s) => msPerCall(s, g.n, cpu));
          const oms = other ? rest.shift() : undefined;
          const tms = rest;
          const best = Math.min(...tms);
          total.ours += ms;
          total.torch += best;
          const gflops = (2 * g.n * g.k * g.c * g.kh * g.kw * g.oh * g.ow) / (ms * 1e6);
          const name = `${g.c}→${g.k}, ${g.kh}×${g.kw}, ${g.h}×${g.w}`;
          console.log(
            `${name.padEnd(28)} ${pass.padEnd(7)} ${f(ms, 2).padStart(9)} ${`${f((100 * ms) / stepOurs)}%`.padStart(6)} ${f(gflops).padStart(8)} ${`${f((100 * gflops) / peak, 0)}%`.padStart(7)} ${(winograd(addon, g, pass) ? `F${winograd(addon, g, pass)}` : '').padStart(4)}  ${f(tms[0], 2).padStart(8)} ${f(tms[1], 2).padStart(8)} ${`${f((100 * best) / stepBest)}%`.padStart(6)}  ${`${f(best / ms, 2)}×`.padStart(19)}${oms ? `  ${f(oms, 2).padStart(8)}  ${`${f(oms / ms, 2)}×`.padStart(12)}` : ''}`,
          );
        }
      }
      console.log(
        `all convolutions: convts ${f(total.ours)} ms (${f((100 * total.ours) / stepOurs)}% of its step), PyTorch's best per pass ${f(total.torch)} ms (${f((100 * total.torch) / stepBest)}% of its best step): ${f(total.torch / total.ours, 2)}×; ${loadLine()}\n`,
      );
    }
  } finally {
    torch.close();
  }
}

await main();
