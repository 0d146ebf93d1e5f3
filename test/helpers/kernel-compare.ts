// A fast kernel set against the reference on random shapes, returning the worst relative error of each
// kernel instead of asserting, so that it runs inside a browser page (wasm-threads-browser.test.ts).
import {
  buildModel,
  builtinSpec,
  type Kernels,
  Rng,
  referenceKernels as ref,
  Tensor,
  withKernels,
} from '../../src/core.js';
import { fixedConvs, int, randn, randomConv, randomPool, relError } from './kernel-shapes.js';

/** Worst relative error of `fast` per kernel, over shapes drawn from `seed`. */
export function compareKernels(fast: Kernels, seed: number): Record<string, number> {
  const worst: Record<string, number> = {};
  const note = (what: string, got: Float32Array, want: Float32Array) => {
    worst[what] = Math.max(worst[what] ?? 0, relError(got, want));
  };
  const r = new Rng(seed);
  for (let t = 0; t < 16; t++) {
    const [ta, tb, acc] = [t % 2 === 1, (t >> 1) % 2 === 1, (t >> 2) % 2 === 1];
    const [m, n, k] = [int(r, 1, 70), int(r, 1, 70), t % 16 < 8 ? int(r, 1, 6) : int(r, 1, 300)];
    const [a, b, c0] = [randn(r, m * k), randn(r, k * n), randn(r, m * n)];
    const [want, got] = [c0.slice(), c0.slice()];
    ref.gemm(ta, tb, m, n, k, a, b, want, acc);
    fast.gemm(ta, tb, m, n, k, a, b, got, acc);
    note('gemm', got, want);
  }
  for (let t = 0; t < 10; t++) {
    const [n, inF, outF] = [int(r, 1, 40), int(r, 1, 300), int(r, 1, 140)];
    const [x, w, b, dy] = [randn(r, n * inF), randn(r, outF * inF), randn(r, outF), randn(r, n * outF)];
    const [y1, y2] = [new Float32Array(n * outF), new Float32Array(n * outF)];
    ref.denseForward(y1, x, w, b, n, inF, outF);
    fast.denseForward(y2, x, w, b, n, inF, outF);
    note('denseForward', y2, y1);
    const [dx1, dw1, db1, dx2, dw2, db2] = [n * inF, outF * inF, outF, n * inF, outF * inF, outF].map(
      (len) => new Float32Array(len),
    );
    ref.denseBackward(dx1, dw1, db1, dy, x, w, n, inF, outF);
    fast.denseBackward(dx2, dw2, db2, dy, x, w, n, inF, outF);
    note('denseBackward', Float32Array.of(...dx2, ...dw2, ...db2), Float32Array.of(...dx1, ...dw1, ...db1));
  }
  for (const g of [...fixedConvs, ...Array.from({ length: 24 }, () => randomConv(r))]) {
    const [xs, ys, ws] = [g.n * g.c * g.h * g.w, g.n * g.k * g.oh * g.ow, g.k * g.c * g.kh * g.kw];
    const [x, w, b, dy] = [randn(r, xs), randn(r, ws), randn(r, g.k), randn(r, ys)];
    const [y1, y2] = [new Float32Array(ys), new Float32Array(ys)];
    ref.conv2dForward(y1, x, w, b, g);
    fast.conv2dForward(y2, x, w, b, g);
    note('conv2dForward', y2, y1);
    const [dx1, dx2] = [new Float32Array(xs), new Float32Array(xs)];
    ref.conv2dBackwardData(dx1, dy, w, g);
    fast.conv2dBackwardData(dx2, dy, w, g);
    note('conv2dBackwardData', dx2, dx1);
    const [dw1, db1, dw2, db2] = [ws, g.k, ws, g.k].map((len) => new Float32Array(len));
    ref.conv2dBackwardFilter(dw1, db1, dy, x, g);
    fast.conv2dBackwardFilter(dw2, db2, dy, x, g);
    note('conv2dBackwardFilter', Float32Array.of(...dw2, ...db2), Float32Array.of(...dw1, ...db1));
  }
  for (let t = 0; t < 10; t++) {
    const g = randomPool(r);
    const [xs, ys] = [g.n * g.c * g.h * g.w, g.n * g.c * g.oh * g.ow];
    const [x, dy] = [randn(r, xs), randn(r, ys)];
    const [y1, y2, a1, a2] = [new Float32Array(ys), new Float32Array(ys), new Int32Array(ys), new Int32Array(ys)];
    ref.maxPool2dForward(y1, a1, x, g);
    fast.maxPool2dForward(y2, a2, x, g);
    note('maxPool2dForward', Float32Array.from(a2), Float32Array.from(a1));
    const [dx1, dx2] = [new Float32Array(xs), new Float32Array(xs)];
    ref.maxPool2dBackward(dx1, dy, a1, g);
    fast.maxPool2dBackward(dx2, dy, a1, g);
    note('maxPool2dBackward', dx2, dx1);
    ref.avgPool2dBackward(dx1, dy, g);
    fast.avgPool2dBackward(dx2, dy, g);
    note('avgPool2dBackward', dx2, dx1);
  }
  const len = 50_000;
  const [x, g, v] = [randn(r, len), randn(r, len), randn(r, len)];
  const [y1, y2, w1, w2, v1, v2] = [new Float32Array(len), new Float32Array(len), x.slice(), x.slice(), v, v.slice()];
  ref.activationForward('relu', y1, x, len);
  fast.activationForward('relu', y2, x, len);
  note('relu', y2, y1);
  const dy = randn(r, len).map((v) => 4 * v);
  const xg = x.map((v, i) => (i % 7 === 0 ? [20, -20, 1e-8, -1e-8, 0][i % 5] : 6 * v));
  ref.geluForward(y1, xg, len);
  fast.geluForward(y2, xg, len);
  note('geluForward', y2, y1);
  ref.geluBackward(y1, dy, xg, len);
  fast.geluBackward(y2, dy, xg, len);
  note('geluBackward', y2, y1);
  const o = { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true, first: false };
  ref.sgdStep(w1, g, v1, len, o);
  fast.sgdStep(w2, g, v2, len, o);
  note('sgdStep', w2, w1);
  // A whole network: seed-mnist logits on a batch of 8.
  const logits = (k: Kernels) =>
    withKernels(k, () => {
      const model = buildModel(builtinSpec('seed-mnist'), { seed });
      return model.logits(new Tensor([8, 1, 28, 28], randn(new Rng(seed), 8 * 784))).data.slice();
    });
  note('seed-mnist logits', logits(fast), logits(ref));
  return worst;
}
