import type { Kernels } from '../kernels.js';
import { ACTIVATIONS, convGeomArray, fusedCode, poolGeomArray } from '../native/index.js';
import { referenceKernels } from '../reference/index.js';
import type { WasmExports } from './exports.js';
import { ResidentArrays } from './resident.js';

export type { WasmExports };

type Arr = Float32Array | Int32Array | null;

/**
 * The C kernels of native/ compiled to WebAssembly with 128-bit SIMD (dist/wasm/convts.wasm): the same
 * code and results in Node and in browsers, on one thread. Takes a compiled module (instantiated here,
 * synchronously) or an instance (load.ts instantiates asynchronously, as browsers prefer). The module has
 * its own memory, so each call copies its arrays in and its outputs back, a few percent of the arithmetic
 * it saves. The threaded module (convts-mt.wasm) is started by startWasmThreads (pool.ts); its memory is
 * shared, so layers keep their arrays in it and its calls copy only the others (resident.ts).
 */
export function wasmKernels(compiled: WebAssembly.Module | WebAssembly.Instance): Kernels {
  const instance = compiled instanceof WebAssembly.Instance ? compiled : new WebAssembly.Instance(compiled, {});
  const e = instance.exports as unknown as WasmExports;
  if (!e.memory) throw new Error('this is the threaded WebAssembly module: start it with startWasmThreads');
  return wasmKernelsOn(e, e.memory, 'wasm-simd128');
}

/** The kernel set over an instance's exports and the memory its arrays live in. */
export function wasmKernelsOn(e: WasmExports, memory: WebAssembly.Memory, name: string): Kernels {
  let f32 = new Float32Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  const ptrs: number[] = [];
  // A shared memory never detaches its buffer, so arrays can live in it (resident.ts); calls pass those
  // by address and copy only the others. Asked of the buffer itself: a page that is not cross-origin
  // isolated has shared memories in Chromium but no SharedArrayBuffer global.
  const shared = Object.prototype.toString.call(memory.buffer) === '[object SharedArrayBuffer]';
  const resident = shared ? new ResidentArrays(memory, (bytes) => e.alloc(bytes)) : null;
  const address = (a: Float32Array | Int32Array) => (resident ? resident.address(a) : -1);
  // Views of the module's memory, renewed whenever it grew (which replaces its ArrayBuffer; a shared
  // one may also grow from another thread, so its length is what tells).
  function fresh(): void {
    const buffer = memory.buffer;
    if (f32.buffer === buffer || f32.byteLength === buffer.byteLength) return;
    f32 = new Float32Array(buffer);
    i32 = new Int32Array(buffer);
  }

  // Fills ptrs (0 for null): the address of a resident array, else a place in the staging block (64-byte
  // aligned), where the inputs selected by the bit mask are copied.
  function stageIn(args: Arr[], inputs: number): void {
    let bytes = 0;
    for (const a of args) bytes += a && address(a) < 0 ? Math.ceil(a.length / 16) * 64 : 0;
    let p = e.stage(bytes);
    fresh();
    ptrs.length = 0;
    for (const [i, a] of args.entries()) {
      const at = a ? address(a) : 0;
      ptrs.push(a && at < 0 ? p : at);
      if (!a || at >= 0) continue;
      if (inputs & (1 << i)) (a instanceof Float32Array ? f32 : i32).set(a, p >> 2);
      p += Math.ceil(a.length / 16) * 64;
    }
  }
  // Copies back the staged arrays selected by the bit mask (resident ones were written in place).
  function stageOut(args: Arr[], outputs: number): void {
    fresh();
    for (const [i, a] of args.entries()) {
      if (a && outputs & (1 << i) && address(a) < 0)
        a.set((a instanceof Float32Array ? f32 : i32).subarray(ptrs[i] >> 2, (ptrs[i] >> 2) + a.length));
    }
  }
  function run(args: Arr[], inputs: number, outputs: number, call: (p: number[]) => void): void {
    stageIn(args, inputs);
    call(ptrs);
    stageOut(args, outputs);
  }
  // Bit masks over argument positions.
  const b = (...i: number[]) => i.reduce((m, k) => m | (1 << k), 0);

  return {
    ...referenceKernels,
    name,
    ...(resident && {
      allocF32: (n: number) => resident.floats(n),
      allocI32: (n: number) => resident.ints(n),
      zero(a: Float32Array) {
        const at = resident.address(a);
        // A module built before it had the export still works, with fill.
        if (at >= 0 && e.zero) e.zero(at, a.byteLength);
        else a.fill(0);
      },
    }),
    gemm(ta, tb, m, n, k, a, bm, c, acc) {
      const args = [a.subarray(0, m * k), bm.subarray(0, k * n), c.subarray(0, m * n)];
      run(args, acc ? b(0, 1, 2) : b(0, 1), b(2), (p) => e.gemm(+ta, +tb, m, n, k, p[0], p[1], p[2], +acc));
    },
    denseForward(y, x, w, bias, n, inF, outF) {
      run([y, x, w, bias], b(1, 2, 3), b(0), (p) => e.denseForward(p[0], p[1], p[2], p[3], n, inF, outF));
    },
    denseBackward(dx, dw, db, dy, x, w, n, inF, outF) {
      run([dx, dw, db, dy, x, w], b(1, 2, 3, 4, 5), b(0, 1, 2), (p) =>
        e.denseBackward(p[0], p[1], p[2], p[3], p[4], p[5], n, inF, outF),
      );
    },
    conv2dForward(y, x, w, bias, g) {
      run([y, x, w, bias, convGeomArray(g)], b(1, 2, 3, 4), b(0), (p) => e.conv2dForward(p[0], p[1], p[2], p[3], p[4]));
    },
    conv2dBackwardData(dx, dy, w, g) {
      run([dx, dy, w, convGeomArray(g)], b(1, 2, 3), b(0), (p) => e.conv2dBackwardData(p[0], p[1], p[2], p[3]));
    },
    conv2dBackwardFilter(dw, db, dy, x, g) {
      run([dw, db, dy, x, convGeomArray(g)], b(0, 1, 2, 3, 4), b(0, 1), (p) =>
        e.conv2dBackwardFilter(p[0], p[1], p[2], p[3], p[4]),
      );
    },
    maxPool2dForward(y, argmax, x, g) {
      run([y, argmax, x, poolGeomArray(g)], b(2, 3), b(0, 1), (p) => e.maxPool2dForward(p[0], p[1], p[2], p[3]));
    },
    maxPool2dBackward(dx, dy, argmax, g) {
      run([dx, dy, argmax, poolGeomArray(g)], b(1, 2, 3), b(0), (p) => e.maxPool2dBackward(p[0], p[1], p[2], p[3]));
    },
    avgPool2dForward(y, x, g) {
      run([y, x, poolGeomArray(g)], b(1, 2), b(0), (p) => e.avgPool2dForward(p[0], p[1], p[2]));
    },
    avgPool2dBackward(dx, dy, g) {
      run([dx, dy, poolGeomArray(g)], b(1, 2), b(0), (p) => e.avgPool2dBackward(p[0], p[1], p[2]));
    },
    activationForward(f, y, x, len) {
      // Sigmoid and tanh need exp, which WebAssembly lacks; JavaScript's is as fast as a C copy would be.
      if (f !== 'relu') return referenceKernels.activationForward(f, y, x, len);
      run([y.subarray(0, len), x.subarray(0, len)], b(1), b(0), (p) => e.reluForward(p[0], p[1], len));
    },
    activationBackward(f, dx, dy, y, len) {
      run([dx.subarray(0, len), dy.subarray(0, len), y.subarray(0, len)], b(1, 2), b(0), (p) =>
        e.activationBackward(ACTIVATIONS.indexOf(f), p[0], p[1], p[2], len),
      );
    },
    geluForward(y, x, len) {
      run([y.subarray(0, len), x.subarray(0, len)], b(1), b(0), (p) => e.geluForward(p[0], p[1], len));
    },
    geluBackward(dx, dy, x, len) {
      run([dx.subarray(0, len), dy.subarray(0, len), x.subarray(0, len)], b(1, 2), b(0), (p) =>
        e.geluBackward(p[0], p[1], p[2], len),
      );
    },
    batchNormStats(mean, variance, x, n, c, hw) {
      const args = [mean.subarray(0, c), variance.subarray(0, c), x.subarray(0, n * c * hw)];
      run(args, b(2), b(0, 1), (p) => e.batchNormStats(p[0], p[1], p[2], n, c, hw));
    },
    batchNormForward(y, x, mean, invstd, gamma, beta, n, c, hw, act) {
      const len = n * c * hw;
      const args = [y.subarray(0, len), x.subarray(0, len), mean.subarray(0, c), invstd.subarray(0, c), gamma, beta];
      run(args, b(1, 2, 3, 4, 5), b(0), (p) =>
        e.batchNormForward(fusedCode(act), act?.slope ?? 0, p[0], p[1], p[2], p[3], p[4], p[5], n, c, hw),
      );
    },
    batchNormBackward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, n, c, hw, batchStats, fused) {
      const len = n * c * hw;
      const args = [dx?.subarray(0, len) ?? null, dgamma, dbeta, dy.subarray(0, len), x.subarray(0, len)];
      args.push(mean.subarray(0, c), invstd.subarray(0, c), gamma, fused?.beta ?? null);
      const [code, slope] = [fusedCode(fused?.act), fused?.act.slope ?? 0];
      run(args, b(1, 2, 3, 4, 5, 6, 7, 8), b(0, 1, 2), (p) =>
        e.batchNormBackward(code, slope, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], n, c, hw, +batchStats),
      );
    },
    batchNormMaxPoolForward(y, argmax, x, mean, invstd, gamma, beta, act, g) {
      const [xs, ys] = [g.n * g.c * g.h * g.w, g.n * g.c * g.oh * g.ow];
      const args: Arr[] = [y.subarray(0, ys), argmax.subarray(0, ys), x.subarray(0, xs), mean.subarray(0, g.c)];
      args.push(invstd.subarray(0, g.c), gamma, beta, poolGeomArray(g));
      run(args, b(2, 3, 4, 5, 6, 7), b(0, 1), (p) =>
        e.batchNormMaxPoolForward(fusedCode(act), act?.slope ?? 0, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]),
      );
    },
    batchNormMaxPoolBackward(dx, dgamma, dbeta, dy, y, argmax, x, mean, invstd, gamma, beta, act, batchStats, g) {
      const [xs, ys] = [g.n * g.c * g.h * g.w, g.n * g.c * g.oh * g.ow];
      const args: Arr[] = [dx?.subarray(0, xs) ?? null, dgamma, dbeta, dy.subarray(0, ys), y.subarray(0, ys)];
      args.push(argmax.subarray(0, ys), x.subarray(0, xs), mean.subarray(0, g.c), invstd.subarray(0, g.c), gamma);
      args.push(beta, poolGeomArray(g));
      const [code, slope] = [fusedCode(act), act?.slope ?? 0];
      run(args, b(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), b(0, 1, 2), (p) =>
        e.batchNormMaxPoolBackward(
          code,
          slope,
          p[0],
          p[1],
          p[2],
          p[3],
          p[4],
          p[5],
          p[6],
          p[7],
          p[8],
          p[9],
          p[10],
          p[11],
          +batchStats,
        ),
      );
    },
    maxPoolBatchNormStats(y, argmax, mean, variance, x, g) {
      const [xs, ys] = [g.n * g.c * g.h * g.w, g.n * g.c * g.oh * g.ow];
      const args: Arr[] = [y.subarray(0, ys), argmax.subarray(0, ys), mean.subarray(0, g.c), variance.subarray(0, g.c)];
      args.push(x.subarray(0, xs), poolGeomArray(g));
      run(args, b(4, 5), b(0, 1, 2, 3), (p) => e.maxPoolBatchNormStats(p[0], p[1], p[2], p[3], p[4], p[5]));
    },
    maxPoolBatchNormBackward(dx, dgamma, dbeta, dz, dy, x, argmax, mean, invstd, gamma, beta, act, batchStats, g) {
      const [xs, ys] = [g.n * g.c * g.h * g.w, g.n * g.c * g.oh * g.ow];
      const args: Arr[] = [dx?.subarray(0, xs) ?? null, dgamma, dbeta, dz.subarray(0, ys), dy.subarray(0, ys)];
      args.push(x.subarray(0, ys), argmax.subarray(0, ys), mean.subarray(0, g.c), invstd.subarray(0, g.c), gamma);
      args.push(beta, poolGeomArray(g));
      const [code, slope] = [fusedCode(act), act?.slope ?? 0];
      // dz is scratch: neither copied in nor out when staged.
      run(args, b(1, 2, 4, 5, 6, 7, 8, 9, 10, 11), b(0, 1, 2), (p) =>
        e.maxPoolBatchNormBackward(
          code,
          slope,
          p[0],
          p[1],
          p[2],
          p[3],
          p[4],
          p[5],
          p[6],
          p[7],
          p[8],
          p[9],
          p[10],
          p[11],
          +batchStats,
        ),
      );
    },
    sgdStep(w, g, v, len, o) {
      run([w.subarray(0, len), g.subarray(0, len), v ? v.subarray(0, len) : null], b(0, 1, 2), b(0, 2), (p) =>
        e.sgdStep(p[0], p[1], p[2], len, o.lr, o.momentum, o.weightDecay, +o.nesterov, +o.first),
      );
    },
  };
}
