// Timing rules shared by our kernels and PyTorch (tools/bench_torch.py keeps the same ones): a warm-up
// long enough for both sides' one-time work (buffers, code generation, PyTorch's primitive caches),
// then several equal slices per contender, the contenders taking turns slice by slice so that every
// one sees the same machine, and the median of the slices with their spread.
import { batchNormFusion, type Kernels, setBatchNormFusion, withKernels } from '../src/core.js';
import { floats } from '../src/kernels/index.js';
import type { Backend } from '../src/kernels/node-loader.js';
import { buildModel } from '../src/model/build.js';
import type { ModelSpec } from '../src/model/spec.js';
import { Sgd } from '../src/optim/index.js';
import { Rng } from '../src/tensor/rng.js';
import { Tensor } from '../src/tensor/tensor.js';

export interface Timing {
  /** Seconds each contender runs before its first slice. */
  warmup: number;
  /** Seconds per slice. */
  slice: number;
  slices: number;
}

/** What one slice did: images processed, wall-clock and process CPU seconds. */
export interface Slice {
  images: number;
  seconds: number;
  cpuSeconds: number;
}

/** One side of a race: warms up once, then runs slices on request. */
export interface Contender {
  warm(seconds: number): Promise<void>;
  slice(seconds: number): Promise<Slice>;
}

export type Mode = 'train' | 'infer';

/** Warms every contender up, then runs `slices` rounds in which each runs one slice, the order reversed
 * every other round (so no contender always follows the same one). Returns the slices per contender. */
export async function race(contenders: Contender[], t: Timing): Promise<Slice[][]> {
  for (const c of contenders) await c.warm(t.warmup);
  const out: Slice[][] = contenders.map(() => []);
  for (let r = 0; r < t.slices; r++) {
    const order = contenders.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) out[i].push(await contenders[i].slice(t.slice));
  }
  return out;
}

/** Median images/s over the slices, the slowest and fastest slice, and images per CPU-second overall. */
export function summarize(slices: Slice[]): { median: number; min: number; max: number; perCpuSecond: number } {
  const rates = slices.map((s) => s.images / s.seconds).sort((a, b) => a - b);
  const mid = rates.length >> 1;
  const median = rates.length % 2 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2;
  const images = slices.reduce((a, s) => a + s.images, 0);
  const cpu = slices.reduce((a, s) => a + s.cpuSeconds, 0);
  return { median, min: rates[0], max: rates[rates.length - 1], perCpuSecond: cpu > 0 ? images / cpu : 0 };
}

/** A training step (zero-grad, forward, loss, backward, SGD) or an inference of the network `spec`. */
export function makeStep(spec: ModelSpec, mode: Mode, batch: number): () => void {
  const model = buildModel(spec, { seed: 1 });
  const rng = new Rng(7);
  // In the kernel set's memory, as the trainer hands batches to the first layer.
  const x = new Tensor([batch, ...model.inputShape], floats(batch * model.inputShape.reduce((a, b) => a * b, 1)));
  for (let i = 0; i < x.size; i++) x.data[i] = rng.uniform();
  const labels = Int32Array.from({ length: batch }, () => rng.nextU32() % model.classes);
  const opt = new Sgd({ lr: 0.01 });
  const params = model.params();
  if (mode === 'infer') return () => void model.logits(x);
  return () => {
    model.zeroGrad();
    model.lossAndBackward(x, labels);
    opt.step(params);
  };
}

/**
 * Our side: the network on one kernel set (built, and its buffers allocated, with that set); `fusion`
 * false runs each batch norm and its activation as two kernels.
 */
export function ours(spec: ModelSpec, mode: Mode, batch: number, b: Backend, fusion = true): Contender {
  const step = withKernels(b.kernels, () => makeStep(spec, mode, batch));
  // The switch is set around each step, not the slice, so that the other contenders run as they chose.
  const fused = () => {
    const was = batchNormFusion();
    setBatchNormFusion(fusion);
    try {
      step();
    } finally {
      setBatchNormFusion(was);
    }
  };
  return calls(fused, batch, b.kernels);
}

/**
 * A contender that runs `call` (`images` images each) over and over for each slice, with `k` as the
 * kernel set when given; its warm-up makes at least three calls, as PyTorch's (bench/torch.ts): buffers,
 * the pool's first hand-overs.
 */
export function calls(call: () => void, images: number, k?: Kernels): Contender {
  const loop = (seconds: number, minCalls: number): Slice => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    let dt = 0;
    do {
      call();
      n++;
      dt = (performance.now() - t0) / 1000;
    } while (dt < seconds || n < minCalls);
    const cpu = process.cpuUsage(cpu0);
    return { images: n * images, seconds: dt, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  };
  const run = (seconds: number, minCalls = 1) =>
    k ? withKernels(k, () => loop(seconds, minCalls)) : loop(seconds, minCalls);
  return {
    warm: async (seconds) => void run(seconds, 3),
    slice: async (seconds) => run(seconds),
  };
}
