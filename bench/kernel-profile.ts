// Where the time of the convolution layers goes (not a test). Three reports:
//   node dist/bench/kernel-profile.js [model spec .json] [batch] [steps] [epoch]
//       per kernel, over a few training steps of a model on random images (default
//       models/convts-cifar.json, batch 64, 3 steps after one warm-up step), as in 0-based epoch
//       `epoch` of a run (default 0: what "freezeAfter" freezes later still trains);
//   node dist/bench/kernel-profile.js peak
//       the native gemm's GFLOP/s on large square matrices, 1 and 2 threads (bench/peak.ts);
//   node dist/bench/kernel-profile.js convs [spec.json] [batch,…] [threads,…] [seconds]
//       GFLOP/s of forward, backward-data and backward-filter for the 3×3 convolutions of the wide
//       CIFAR nets (32–256 channels, 32×32 to 4×4 maps), each as a share of the gemm peak measured
//       on the same thread count in the same run, in turns with it; with a spec, its convolutions;
//   node dist/bench/kernel-profile.js compare [seed-mnist | seed-cifar | spec.json] [batch] [rounds] [threads]
//       CPU time of each kernel of a training step (median and mean) and of the rest of the step,
//       native against WebAssembly, both on `threads` threads (default 1).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  buildModel,
  builtinSpec,
  type ConvGeom,
  type Kernels,
  kernels,
  makeOptimizer,
  Rng,
  Tensor,
  useKernels,
} from '../src/index.js';
import { floats } from '../src/kernels/index.js';
import { nativeKernels } from '../src/kernels/native/index.js';
import { loadNativeAddon, loadWasmThreadedModule, startNodeWasmThreads } from '../src/kernels/node-loader.js';
import { wasmSharedKernels } from '../src/kernels/wasm/pool.js';
import { Conv2d } from '../src/layers/conv2d.js';
import type { Layer } from '../src/layers/layer.js';
import { Residual } from '../src/layers/residual.js';
import { gemmPeak, loadLine } from './peak.js';

function addon() {
  const a = loadNativeAddon();
  if (!a) throw new Error('the native kernels are not built — npm install builds them');
  return a;
}

function peak(): void {
  const a = addon();
  console.log(`native-${a.simd} gemm, ${loadLine()}`);
  for (const size of [512, 1024, 2048])
    for (const t of [1, 2]) {
      const p = gemmPeak(a, t, size, 1);
      console.log(`${size}×${size}·${size}×${size}  ${t} thread${t > 1 ? 's' : ' '}  ${p.gflops.toFixed(1)} GFLOP/s`);
    }
}

/** The 3×3 "same" convolutions of airbench-like and ResNet-9-like CIFAR nets: [in, out, map size]. */
const shapes: [number, number, number][] = [
  [32, 64, 32],
  [64, 64, 32],
  [64, 128, 16],
  [128, 128, 16],
  [128, 256, 8],
  [256, 256, 8],
  [256, 256, 4],
];

/** Fastest wall-clock and fastest process-CPU milliseconds seen for one call of a function. */
interface Best {
  wall: number;
  cpu: number;
}

/**
 * Times the functions in turns, round after round for about `seconds`, keeping each one's fastest call:
 * on a shared machine the turns give every function the same quiet moments. CPU time counts every
 * thread of the process (waiting threads spin a little), so its ratios hold even when the wall clock
 * is mostly other programs'.
 */
function race(fs: (() => void)[], seconds: number): Best[] {
  const best = fs.map(() => ({ wall: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY }));
  for (const f of fs) f();
  const t0 = performance.now();
  do {
    for (const [i, f] of fs.entries()) {
      const c = process.cpuUsage();
      const t = performance.now();
      f();
      const wall = performance.now() - t;
      const u = process.cpuUsage(c);
      best[i].wall = Math.min(best[i].wall, wall);
      best[i].cpu = Math.min(best[i].cpu, (u.user + u.system) / 1000);
    }
  } while (performance.now() - t0 < seconds * 1000);
  return best;
}

/** The convolutions of a model spec (file), in order, with their geometry at batch 1 and whether the
 * layer passes a gradient down (the first does not). */
function specConvs(file: string): { g: ConvGeom; down: boolean }[] {
  const model = buildModel(JSON.parse(readFileSync(file, 'utf8')), { seed: 1 });
  const out: { g: ConvGeom; down: boolean }[] = [];
  const visit = (l: Layer) => {
    if (l instanceof Residual) for (const b of [...l.body, ...(l.shortcut ? [l.shortcut] : [])]) visit(b);
    // The layer keeps its geometry private; the bench reads it to time the same calls.
    if (l instanceof Conv2d) out.push({ g: { ...(l as unknown as { geom: ConvGeom }).geom }, down: l.propagateDown });
  };
  for (const l of model.layers) visit(l);
  return out;
}

function convs(): void {
  const a = addon();
  const spec = process.argv[3]?.endsWith('.json') ? process.argv.splice(3, 1)[0] : null;
  const batches = (process.argv[3] ?? '256').split(',').map(Number);
  const threads = (process.argv[4] ?? '1,2').split(',').map(Number);
  const seconds = Number(process.argv[5] ?? 3);
  const layers = spec
    ? specConvs(spec)
    : shapes.map(([c, k, size]) => ({
        g: { n: 1, c, h: size, w: size, k, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, oh: size, ow: size },
        down: true,
      }));
  console.log(
    `native-${a.simd}, ${spec ? `the convolutions of ${spec}` : '3×3 stride-1 "same" convolutions'}; ${loadLine()}`,
  );
  console.log(
    `GFLOP/s of the fastest call in ~${seconds} s of turns with the gemm probe (1024³) on as many threads, and the share of`,
  );
  console.log('its peak; "cpu" is the same per second of process CPU time (all threads), robust to a busy machine.');
  console.log(
    `${'shape (in→out, map, batch)'.padEnd(26)} thr  gemm wall/cpu   forward wall/cpu      backward-data wall/cpu  backward-filter wall/cpu`,
  );
  const rng = new Rng(5);
  const s = 1024;
  const ga = Float32Array.from({ length: s * s }, () => rng.uniform() - 0.5);
  const gb = Float32Array.from({ length: s * s }, () => rng.uniform() - 0.5);
  const gc = new Float32Array(s * s);
  for (const t of threads) {
    const k = nativeKernels(a, t);
    for (const n of batches)
      for (const layer of layers) {
        const g: ConvGeom = { ...layer.g, n };
        const fill = (len: number) => Float32Array.from({ length: len }, () => rng.uniform() - 0.5);
        const x = fill(n * g.c * g.h * g.w);
        const dy = fill(n * g.k * g.oh * g.ow);
        const w = fill(g.k * g.c * g.kh * g.kw);
        const y = new Float32Array(dy.length);
        const dx = new Float32Array(x.length);
        const dw = new Float32Array(w.length);
        const [peak, f, d, b] = race(
          [
            () => a.gemm(false, false, s, s, s, ga, gb, gc, false, t),
            () => k.conv2dForward(y, x, w, null, g),
            () => k.conv2dBackwardData(dx, dy, w, g),
            () => k.conv2dBackwardFilter(dw, null, dy, x, g),
          ],
          seconds,
        );
        const rate = (flop: number, ms: number) => flop / 1e6 / ms;
        const pw = rate(2 * s ** 3, peak.wall);
        const pc = rate(2 * s ** 3, peak.cpu);
        const flop = 2 * n * g.k * g.c * g.kh * g.kw * g.oh * g.ow;
        const cell = (m: Best) =>
          `${rate(flop, m.wall).toFixed(0).padStart(4)} ${((100 * rate(flop, m.wall)) / pw).toFixed(0).padStart(3)}% /${((100 * rate(flop, m.cpu)) / pc).toFixed(0).padStart(3)}%`;
        const name = `${g.c}→${g.k} ${g.kh}×${g.kw}, ${g.h}×${g.w}, ${n}`.padEnd(26);
        const data = layer.down ? cell(d) : '   (first layer)';
        console.log(
          `${name} ${String(t).padStart(3)}  ${pw.toFixed(0).padStart(4)}/${pc.toFixed(0).padStart(4)}     ${cell(f)}    ${data}        ${cell(b)}`,
        );
      }
  }
}

function profile(): void {
  const file = process.argv[2] ?? fileURLToPath(new URL('../../models/convts-cifar.json', import.meta.url));
  const batch = Number(process.argv[3] ?? 64);
  const steps = Number(process.argv[4] ?? 3);
  const model = buildModel(JSON.parse(readFileSync(file, 'utf8')), { seed: 1 });
  model.startEpoch(Number(process.argv[5] ?? 0));
  const k = kernels();
  const ms: Record<string, number> = {};
  const timed = { ...k } as Record<string, unknown>;
  for (const [name, f] of Object.entries(k)) {
    if (typeof f !== 'function') continue;
    timed[name] = (...a: unknown[]) => {
      const t = performance.now();
      const r = (f as (...b: unknown[]) => unknown)(...a);
      // Convolutions per layer shape too (their geometry is the last argument).
      const g = name.startsWith('conv2d') ? (a[a.length - 1] as ConvGeom) : null;
      const key = g ? `${name} ${g.c}→${g.k} ${g.kh}×${g.kw} ${g.h}×${g.w}` : name;
      ms[key] = (ms[key] ?? 0) + performance.now() - t;
      if (g) ms[name] = (ms[name] ?? 0) + performance.now() - t;
      return r;
    };
  }
  useKernels(timed as unknown as Kernels);
  const rng = new Rng(1);
  const x = new Tensor(
    [batch, ...model.inputShape],
    Float32Array.from({ length: batch * model.inputShape.reduce((a, b) => a * b) }, () => rng.normal()),
  );
  const labels = Int32Array.from({ length: batch }, (_, i) => i % model.classes);
  const opt = makeOptimizer({ kind: 'momentum', lr: 0.01 });
  const step = () => {
    model.zeroGrad();
    model.lossAndBackward(x, labels);
    opt.step(model.params());
  };
  step();
  for (const key of Object.keys(ms)) ms[key] = 0;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const total = performance.now() - t0;
  console.log(
    `${k.name}, ${file}, batch ${batch}: ${(total / steps).toFixed(0)} ms a step, ${((steps * batch * 1000) / total).toFixed(0)} images/s; ${loadLine()}`,
  );
  for (const [name, v] of Object.entries(ms).sort((a, b) => b[1] - a[1]))
    if (v > 0)
      console.log(`${name.padEnd(40)} ${(v / steps).toFixed(1).padStart(8)} ms  ${((100 * v) / total).toFixed(1)}%`);
}

/**
 * CPU time of each kernel in a training step, native against the WebAssembly kernels (the threaded
 * module, as Node's wasm backend and the page run it), each on `threads` threads (CPU time of the whole
 * process, so a spinning worker counts), in alternating rounds of ten steps, with a gemm probe of each
 * set: which kernels lose more than the vector width, and how much of a step is outside the kernels.
 */
async function compare(): Promise<void> {
  const net = process.argv[3] ?? 'seed-mnist';
  const batch = Number(process.argv[4] ?? 32);
  const rounds = Number(process.argv[5] ?? 30);
  const threads = Number(process.argv[6] ?? 1);
  const wasm = loadWasmThreadedModule();
  if (!wasm) throw new Error('the threaded WebAssembly module is not built — npm run build:kernels');
  const pool = threads > 1 ? await startNodeWasmThreads(threads) : null;
  const sets: [string, Kernels][] = [
    ['native', nativeKernels(addon(), threads)],
    ['wasm', pool ? pool.kernels : wasmSharedKernels(wasm)],
  ];
  const spec = net.endsWith('.json') ? JSON.parse(readFileSync(net, 'utf8')) : builtinSpec(net);
  // Per set: CPU milliseconds of each call, by kernel (convolutions by shape), and of each step.
  const calls = sets.map(() => new Map<string, number[]>());
  const steps = sets.map(() => [] as number[]);
  const runs = sets.map(([, k], s) => {
    useKernels(k);
    const model = buildModel(spec, { seed: 1 });
    const rng = new Rng(1);
    // The batch in the set's memory, as the trainer hands it to the first layer.
    const x = new Tensor([batch, ...model.inputShape], floats(batch * model.inputShape.reduce((a, b) => a * b)));
    for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
    const labels = Int32Array.from({ length: batch }, (_, i) => i % model.classes);
    const opt = makeOptimizer({ kind: 'momentum', lr: 0.01 });
    const timed = { ...k } as Record<string, unknown>;
    for (const [name, f] of Object.entries(k)) {
      if (typeof f !== 'function' || name.startsWith('alloc')) continue;
      timed[name] = (...a: unknown[]) => {
        const c = process.cpuUsage();
        const r = (f as (...b: unknown[]) => unknown)(...a);
        const u = process.cpuUsage(c);
        // Convolutions and dense layers by shape (the geometry, or inF and outF, are the last arguments).
        const g = name.startsWith('conv2d') ? (a[a.length - 1] as ConvGeom) : null;
        const dense = name.startsWith('dense') ? ` ${a[a.length - 2]}→${a[a.length - 1]}` : '';
        const key = g ? `${name} ${g.c}→${g.k} ${g.kh}×${g.kw} ${g.h}×${g.w}` : name + dense;
        const list = calls[s].get(key) ?? [];
        list.push((u.user + u.system) / 1000);
        calls[s].set(key, list);
        return r;
      };
    }
    return { model, x, labels, opt, kernels: timed as unknown as Kernels };
  });
  for (let r = 0; r < rounds; r++)
    runs.forEach((run, s) => {
      useKernels(run.kernels);
      const c = process.cpuUsage();
      for (let i = 0; i < 10; i++) {
        run.model.zeroGrad();
        run.model.lossAndBackward(run.x, run.labels);
        run.opt.step(run.model.params());
      }
      const u = process.cpuUsage(c);
      steps[s].push((u.user + u.system) / 10_000);
    });
  const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)] ?? 0;
  const mean = (a: number[]) => a.reduce((p, q) => p + q, 0) / Math.max(1, a.length);
  // The gemm probe, 512³, fastest of 20 calls in CPU time: each set's arithmetic peak.
  const probe = sets.map(([, k]) => {
    const n = 512;
    const al = (len: number) => (k.allocF32 ? k.allocF32(len) : new Float32Array(len)).fill(0.5);
    const [a, b, c] = [al(n * n), al(n * n), al(n * n)];
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 20; i++) {
      const t = process.cpuUsage();
      k.gemm(false, false, n, n, n, a, b, c, false);
      const u = process.cpuUsage(t);
      best = Math.min(best, (u.user + u.system) / 1000);
    }
    return n ** 3 / best / 1e6;
  });
  pool?.terminate();
  const ratio = (w: number, n: number) => `${(w / n).toFixed(2)}×`;
  console.log(
    `${net}, batch ${batch}, training, ${threads} thread${threads > 1 ? 's' : ''} each (wasm: ${pool ? `${pool.threads} up` : 'no pool'}); ${loadLine()}; CPU ms per step over ${rounds} rounds of 10 steps`,
  );
  console.log(
    `gemm probe 512³: native ${probe[0].toFixed(1)}, wasm ${probe[1].toFixed(1)} G multiply-adds per CPU-second (${(probe[0] / probe[1]).toFixed(2)}×)`,
  );
  const [sm, sa] = [steps.map(median), steps.map(mean)];
  console.log(
    `step, median: native ${sm[0].toFixed(2)} ms, wasm ${sm[1].toFixed(2)} ms (${ratio(sm[1], sm[0])}); mean: native ${sa[0].toFixed(2)}, wasm ${sa[1].toFixed(2)} (${ratio(sa[1], sa[0])})`,
  );
  console.log(`${'kernel (median call × calls, then mean)'.padEnd(44)}    native ms     wasm ms   wasm ÷ native`);
  const inKernels = [0, 0];
  const cell = (a: number, b: number) => `${a.toFixed(3).padStart(6)} ${b.toFixed(3).padStart(6)}`;
  for (const key of calls[0].keys()) {
    // Median call × calls per step (robust to the odd preempted call), and the mean per step.
    const per = sets.map((_, s) => {
      const list = calls[s].get(key) ?? [];
      const perStep = list.length / (rounds * 10);
      return [median(list) * perStep, mean(list) * perStep];
    });
    per.forEach(([, m], s) => {
      inKernels[s] += m;
    });
    console.log(
      `${key.padEnd(44)} ${cell(per[0][0], per[0][1])} ${cell(per[1][0], per[1][1])}   ${ratio(per[1][0], per[0][0])} ${ratio(per[1][1], per[0][1])}`,
    );
  }
  // The calls' own timing inflates this a little (two cpuUsage() calls each), the same for both sets.
  const outside = sa.map((t, s) => t - inKernels[s]);
  console.log(
    `${'outside the kernels (mean step − Σ means)'.padEnd(44)}        ${outside[0].toFixed(3).padStart(6)}        ${outside[1].toFixed(3).padStart(6)}   ${ratio(outside[1], outside[0])}`,
  );
}

const mode = process.argv[2];
if (mode === 'peak') peak();
else if (mode === 'convs') convs();
else if (mode === 'compare') await compare();
else profile();
