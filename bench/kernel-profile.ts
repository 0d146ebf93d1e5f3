// Where a training step's time goes, per kernel (not a test): wraps every kernel of the active set
// with a timer and runs a few training steps of a model on random images.
// Usage: node dist/bench/kernel-profile.js [model spec .json] [batch] [steps]
// (default models/convts-cifar.json, batch 64, 3 steps after one warm-up step).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildModel, type Kernels, kernels, makeOptimizer, Rng, Tensor, useKernels } from '../src/index.js';

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
  `${k.name}, ${file}, batch ${batch}: ${(total / steps).toFixed(0)} ms a step, ${((steps * batch * 1000) / total).toFixed(0)} images/s`,
);
for (const [name, v] of Object.entries(ms).sort((a, b) => b[1] - a[1]))
  if (v > 0)
    console.log(`${name.padEnd(22)} ${(v / steps).toFixed(1).padStart(8)} ms  ${((100 * v) / total).toFixed(1)}%`);
