// Where the time of the convolution layers goes (not a test). Three reports:
//   node dist/bench/kernel-profile.js [model spec .json] [batch] [steps]
//       per kernel, over a few training steps of a model on random images (default
//       models/convts-cifar.json, batch 64, 3 steps after one warm-up step);
//   node dist/bench/kernel-profile.js peak
//       the native gemm's GFLOP/s on large square matrices, 1 and 2 threads (bench/peak.ts);
//   node dist/bench/kernel-profile.js convs [batch,…] [threads,…]
//       GFLOP/s of forward, backward-data and backward-filter for the 3×3 convolutions of the wide
//       CIFAR nets (32–256 channels, 32×32 to 8×8 maps), each as a share of the gemm peak measured
//       on the same thread count in the same run.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  buildModel,
  type ConvGeom,
  type Kernels,
  kernels,
  makeOptimizer,
  Rng,
  Tensor,
  useKernels,
} from '../src/index.js';
import { nativeKernels } from '../src/kernels/native/index.js';
import { loadNativeAddon } from '../src/kernels/node-loader.js';
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
];

/** Best milliseconds of `f` over about `seconds`, after one untimed call. */
function best(f: () => void, seconds = 0.5): number {
  f();
  let ms = Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  do {
    const t = performance.now();
    f();
    ms = Math.min(ms, performance.now() - t);
  } while (performance.now() - t0 < seconds * 1000);
  return ms;
}

function convs(): void {
  const a = addon();
  const batches = (process.argv[3] ?? '256').split(',').map(Number);
  const threads = (process.argv[4] ?? '1,2').split(',').map(Number);
  console.log(`native-${a.simd}, 3×3 stride-1 "same" convolutions, best of ~0.5 s each; ${loadLine()}`);
  console.log('shape (in→out, map, batch)     thr  peak GF/s   forward      backward-data  backward-filter');
  const rng = new Rng(5);
  for (const t of threads) {
    const k = nativeKernels(a, t);
    for (const n of batches)
      for (const [c, out, size] of shapes) {
        const peakNow = gemmPeak(a, t, 1024, 0.3).gflops;
        const g: ConvGeom = {
          n,
          c,
          h: size,
          w: size,
          k: out,
          kh: 3,
          kw: 3,
          sh: 1,
          sw: 1,
          ph: 1,
          pw: 1,
          oh: size,
          ow: size,
        };
        const fill = (len: number) => Float32Array.from({ length: len }, () => rng.uniform() - 0.5);
        const x = fill(n * c * size * size),
          dy = fill(n * out * size * size),
          w = fill(out * c * 9);
        const y = new Float32Array(dy.length),
          dx = new Float32Array(x.length),
          dw = new Float32Array(w.length);
        const gflop = (2 * n * out * c * 9 * size * size) / 1e9;
        const cell = (ms: number) => {
          const gf = gflop / (ms / 1000);
          return `${gf.toFixed(0).padStart(4)} ${((100 * gf) / peakNow).toFixed(0).padStart(3)}%   `;
        };
        const f = best(() => k.conv2dForward(y, x, w, null, g));
        const d = best(() => k.conv2dBackwardData(dx, dy, w, g));
        const b = best(() => k.conv2dBackwardFilter(dw, null, dy, x, g));
        const name = `${c}→${out}, ${size}×${size}, ${n}`.padEnd(30);
        console.log(
          `${name} ${String(t).padStart(3)} ${peakNow.toFixed(0).padStart(9)}   ${cell(f)}  ${cell(d)}    ${cell(b)}`,
        );
      }
  }
}

function profile(): void {
  const file = process.argv[2] ?? fileURLToPath(new URL('../../models/convts-cifar.json', import.meta.url));
  const batch = Number(process.argv[3] ?? 64);
  const steps = Number(process.argv[4] ?? 3);
  const model = buildModel(JSON.parse(readFileSync(file, 'utf8')), { seed: 1 });
  const k = kernels();
  const ms: Record<string, number> = {};
  const timed = { ...k } as Record<string, unknown>;
  for (const [name, f] of Object.entries(k)) {
    if (typeof f !== 'function') continue;
    timed[name] = (...a: unknown[]) => {
      const t = performance.now();
      const r = (f as (...b: unknown[]) => unknown)(...a);
      ms[name] = (ms[name] ?? 0) + performance.now() - t;
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
      console.log(`${name.padEnd(22)} ${(v / steps).toFixed(1).padStart(8)} ms  ${((100 * v) / total).toFixed(1)}%`);
}

const mode = process.argv[2];
if (mode === 'peak') peak();
else if (mode === 'convs') convs();
else profile();
