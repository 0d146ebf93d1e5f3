// The threaded WebAssembly module (convts-mt.wasm) on a pool of two threads in Node (worker_threads),
// against the reference kernels; the same module in Chromium is checked by wasm-threads-browser.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildModel,
  builtinSpec,
  ConfigError,
  type Kernels,
  kernels,
  Rng,
  referenceKernels,
  Sgd,
  Tensor,
  useKernels,
  useWasmKernels,
  withKernels,
} from '../src/core.js';
import {
  loadWasmModule,
  loadWasmThreadedModule,
  spawnNodeWorker,
  startNodeWasmThreads,
} from '../src/kernels/node-loader.js';
import { startWasmThreads } from '../src/kernels/wasm/pool.js';
import { checkKernelSet } from './helpers/kernel-check.js';

const pool = await startNodeWasmThreads(2);

test('the pool starts its worker, which then takes part of a convolution', {
  skip: !pool && 'convts-mt.wasm not built',
}, async () => {
  if (!pool) return;
  assert.equal(pool.threads, 2);
  assert.deepEqual(pool.failures, []);
  // The caller takes every item a busy machine leaves the worker no time for: call until it had some.
  const g = { n: 8, c: 8, h: 24, w: 24, k: 16, kh: 5, kw: 5, sh: 1, sw: 1, ph: 0, pw: 0, oh: 20, ow: 20 };
  const x = new Float32Array(g.n * g.c * g.h * g.w).fill(1);
  const [w, y] = [new Float32Array(g.k * g.c * 25).fill(0.5), new Float32Array(g.n * g.k * g.oh * g.ow)];
  const before = pool.itemsRun()[1];
  for (let i = 0; i < 200 && pool.itemsRun()[1] === before; i++) {
    pool.kernels.conv2dForward(y, x, w, null, g);
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(pool.itemsRun()[1] > before, `the worker ran no item: ${pool.itemsRun()}`);
  assert.equal(y[0], 100);
});

checkKernelSet(
  'wasm 2 threads',
  () => pool?.kernels ?? null,
  'npm install builds convts-mt.wasm when clang and lld are installed (apt-get install clang lld)',
);

test('useWasmKernels takes the threaded module with threads, and refuses threads on the one-thread module', async (t) => {
  const module = loadWasmThreadedModule();
  if (!module) return t.skip('convts-mt.wasm not built');
  try {
    const k = await useWasmKernels({ module }, { threads: 2, spawn: spawnNodeWorker });
    assert.equal(k.name, 'wasm-simd128-threads');
    assert.equal(kernels(), k);
    const y = new Float32Array(4);
    k.gemm(false, false, 2, 2, 1, Float32Array.of(1, 2), Float32Array.of(3, 4), y, false);
    assert.deepEqual([...y], [3, 4, 6, 8]);
  } finally {
    useKernels(referenceKernels);
  }
  const single = loadWasmModule();
  if (single)
    await assert.rejects(useWasmKernels({ module: single }, { threads: 2 }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /threads: 2 needs the threaded module \(convts-mt\.wasm\)/);
      return true;
    });
  assert.equal(kernels(), referenceKernels);
});

test('a worker that fails to start leaves the kernels on the threads that did', async (t) => {
  const module = loadWasmThreadedModule();
  if (!module) return t.skip('convts-mt.wasm not built');
  let n = 0;
  const p = await startWasmThreads(module, 3, (src) => {
    if (++n === 1) throw new Error('no workers here');
    return spawnNodeWorker(src);
  });
  try {
    assert.equal(p.threads, 2);
    assert.deepEqual(p.failures, ['no workers here']);
    const x = Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i));
    const [y1, y2] = [new Float32Array(3000), new Float32Array(3000)];
    p.kernels.activationForward('relu', y1, x, 3000);
    referenceKernels.activationForward('relu', y2, x, 3000);
    assert.deepEqual(y1, y2);
  } finally {
    p.terminate();
  }
});

test('workers that sleep as soon as they are idle (spins 0) still wake for each call and take items', async (t) => {
  const module = loadWasmThreadedModule();
  if (!module) return t.skip('convts-mt.wasm not built');
  const p = await startWasmThreads(module, 2, spawnNodeWorker);
  try {
    p.setSpins(0);
    const x = Float32Array.from({ length: 1 << 17 }, (_, i) => Math.sin(i));
    const [y1, y2] = [new Float32Array(x.length), new Float32Array(x.length)];
    referenceKernels.activationForward('relu', y2, x, x.length);
    for (let i = 0; i < 200 && p.itemsRun()[1] === 0; i++) {
      p.kernels.activationForward('relu', y1, x, x.length);
      assert.deepEqual(y1, y2);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.ok(p.itemsRun()[1] > 0, `the sleeping worker ran no item: ${p.itemsRun()}`);
  } finally {
    p.terminate();
  }
});

test('a spin limit that is not a count is refused, naming it', async (t) => {
  const module = loadWasmThreadedModule();
  if (!module) return t.skip('convts-mt.wasm not built');
  for (const spins of [-1, Number.NaN])
    await assert.rejects(useWasmKernels({ module }, { threads: 2, spawn: spawnNodeWorker, spins }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^spins: must be a number of spins ≥ 0, got (-1|NaN)$/);
      return true;
    });
  assert.equal(kernels(), referenceKernels);
});

test('a model built on the threaded kernels keeps its arrays in their memory and trains exactly as with copies', (t) => {
  if (!pool) return t.skip('convts-mt.wasm not built');
  const copying: Kernels = { ...pool.kernels, allocF32: undefined, allocI32: undefined };
  const run = (k: Kernels) =>
    withKernels(k, () => {
      const model = buildModel(builtinSpec('seed-mnist'), { seed: 3 });
      const r = new Rng(5);
      const x = new Tensor(
        [6, 1, 28, 28],
        Float32Array.from({ length: 6 * 784 }, () => r.uniform()),
      );
      const opt = new Sgd({ lr: 0.05, momentum: 0.9 });
      const losses: number[] = [];
      for (let s = 0; s < 3; s++) {
        model.zeroGrad();
        losses.push(model.lossAndBackward(x, [0, 1, 2, 3, 4, 5]).loss);
        opt.step(model.params());
      }
      const where = model.params().map((p) => p.value.data.buffer.constructor.name);
      return { losses, logits: model.logits(x).data.slice(), where };
    });
  const [resident, copied] = [run(pool.kernels), run(copying)];
  assert.ok(
    resident.where.every((b) => b === 'SharedArrayBuffer'),
    `parameters not in the memory: ${resident.where}`,
  );
  assert.ok(copied.where.every((b) => b === 'ArrayBuffer'));
  assert.deepEqual(resident.losses, copied.losses);
  assert.deepEqual(resident.logits, copied.logits);
});

test('zero clears an array in the memory in place, and only it; other arrays by fill', (t) => {
  if (!pool) return t.skip('convts-mt.wasm not built');
  const k = pool.kernels;
  assert.ok(k.zero && k.allocF32);
  const [before, a, after] = [k.allocF32(5), k.allocF32(37), k.allocF32(5)];
  for (const x of [before, a, after]) x.fill(7);
  k.zero(a);
  assert.deepEqual([...a], new Array(37).fill(0));
  assert.deepEqual([...before, ...after], new Array(10).fill(7));
  // A view into the middle of a resident array: its own elements only.
  a.fill(3);
  k.zero(a.subarray(4, 20));
  assert.deepEqual([...a], [...new Array(4).fill(3), ...new Array(16).fill(0), ...new Array(17).fill(3)]);
  const plain = new Float32Array(9).fill(2);
  k.zero(plain);
  assert.deepEqual([...plain], new Array(9).fill(0));
});
