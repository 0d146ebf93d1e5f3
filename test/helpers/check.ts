// The one numerical-check helper every layer, loss and model test uses: a
// closeness assertion that names the tensor, the index and both values; a finite-difference
// gradient check; and the comparison of a layer against a fixture computed by PyTorch.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  decodeSafetensors,
  type Kernels,
  kernels,
  type Layer,
  type LayerSpec,
  makeLayer,
  type NamedTensor,
  Rng,
  type Sequential,
  type Shape,
  Tensor,
  withKernels,
} from '../../src/index.js';

export interface Tolerance {
  /** Relative tolerance: |a − e| ≤ atol + rtol·|e| (numpy's allclose rule). */
  rtol: number;
  atol: number;
}

/** Largest errors found by a comparison, for messages and reports. */
export interface CloseReport {
  maxAbs: number;
  maxRel: number;
}

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise; on failure the message names
 * the tensor, the first bad index (flat and, given a shape, per dimension), both values, how many
 * entries fail and the largest error. NaN or ±Inf must match exactly.
 */
export function expectClose(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  shape?: Shape,
): CloseReport {
  assert.equal(actual.length, expected.length, `${name}: ${actual.length} values, expected ${expected.length}`);
  let bad = -1;
  let badCount = 0;
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    const ok = Number.isFinite(e) ? err <= tol.atol + tol.rtol * Math.abs(e) : Object.is(a, e) || (a !== a && e !== e);
    if (!ok) {
      badCount++;
      if (bad < 0) bad = i;
    }
    if (err > maxAbs || err !== err) maxAbs = err;
    if (e !== 0 && err / Math.abs(e) > maxRel) maxRel = err / Math.abs(e);
  }
  // CHECK_LOG=1 prints every comparison's largest errors, to see the margins a tolerance leaves.
  if (process.env.CHECK_LOG)
    console.log(`${name}: max |diff| ${maxAbs.toExponential(2)}, max rel ${maxRel.toExponential(2)}`);
  if (bad >= 0) {
    const where = shape ? ` [${unravel(bad, shape).join(', ')}]` : '';
    assert.fail(
      `${name}: index ${bad}${where}: got ${actual[bad]}, expected ${expected[bad]} ` +
        `(|diff| ${Math.abs(actual[bad] - expected[bad]).toExponential(3)} > atol ${tol.atol} + rtol ${tol.rtol}·|expected|); ` +
        `${badCount} of ${actual.length} entries off, max |diff| ${maxAbs.toExponential(3)}`,
    );
  }
  return { maxAbs, maxRel };
}

function unravel(i: number, shape: Shape): number[] {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/**
 * Central differences of the scalar f with respect to every entry of the float32 array a, which
 * f reads. The step actually taken is the float32-rounded one, so rounding x ± eps costs nothing.
 * f may return null for a step it cannot use (one that crossed a kink); that entry becomes NaN.
 */
export function finiteDiff(f: () => number | null, a: Float32Array, eps: number): Float64Array {
  const g = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const orig = a[i];
    a[i] = orig + eps;
    const xp = a[i];
    const lp = f();
    a[i] = orig - eps;
    const xm = a[i];
    const lm = f();
    a[i] = orig;
    g[i] = lp === null || lm === null ? NaN : (lp - lm) / (xp - xm);
  }
  return g;
}

/**
 * Calls f with the kernels recording the branch taken by every piecewise-linear op: each relu's
 * signs and each max pool's argmax. Two calls on the same branch differ smoothly.
 */
export function traceBranches(f: () => number): { value: number; branch: number[] } {
  const k = kernels();
  const branch: number[] = [];
  const tracing: Kernels = {
    ...k,
    activationForward(fn, y, x, len) {
      k.activationForward(fn, y, x, len);
      if (fn === 'relu') for (let i = 0; i < len; i++) branch.push(x[i] > 0 ? 1 : 0);
    },
    maxPool2dForward(y, argmax, x, g) {
      k.maxPool2dForward(y, argmax, x, g);
      for (let i = 0; i < g.n * g.c * g.oh * g.ow; i++) branch.push(argmax[i]);
    },
  };
  return withKernels(tracing, () => ({ value: f(), branch }));
}

function sameBranch(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Finite-difference check results of a whole model: errors per parameter, steps skipped at kinks. */
export interface ModelCheckReport {
  errors: Record<string, CloseReport>;
  /** Entries skipped per parameter. */
  skipped: Record<string, number>;
}

/**
 * Checks every parameter gradient that model.lossAndBackward accumulates against central
 * differences of the batch loss. A deep relu/max-pool network has kinks everywhere, so a step that
 * moves any relu or max pool onto another branch is skipped (its difference quotient measures the
 * kink, not the gradient); at most the share `maxSkipped` of each parameter's entries may be.
 */
export function checkModel(
  model: Sequential,
  x: Tensor,
  labels: ArrayLike<number>,
  o: { eps: number; rtol: number; atol: number; maxSkipped: number },
): ModelCheckReport {
  model.zeroGrad();
  model.lossAndBackward(x, labels);
  const base = traceBranches(() => model.evaluate(x, labels).loss).branch;
  const loss = (): number | null => {
    const t = traceBranches(() => model.evaluate(x, labels).loss);
    return sameBranch(t.branch, base) ? t.value : null;
  };
  const report: ModelCheckReport = { errors: {}, skipped: {} };
  for (const { name, param } of model.namedParams()) {
    const fd = finiteDiff(loss, param.value.data, o.eps);
    const g = param.grad.data;
    const expected = fd.map((v, i) => (Number.isNaN(v) ? g[i] : v)); // a skipped entry is not compared
    const skipped = fd.filter(Number.isNaN).length;
    report.skipped[name] = skipped;
    assert.ok(
      skipped <= o.maxSkipped * fd.length,
      `${name}: ${skipped} of ${fd.length} finite-difference steps crossed a relu or max-pool kink (at most ${o.maxSkipped} allowed) — use a smaller eps`,
    );
    report.errors[name] = expectClose(`${name} gradient vs finite differences`, g, expected, o, param.value.shape);
  }
  return report;
}

// How to choose eps (float32 makes finite differences noisy: each output carries a rounding error
// of ~6e-8 relative, which the difference quotient divides by 2·eps):
// - conv2d, dense, avgpool2d, flatten are linear in the input and in each weight, so central
//   differences are exact for any eps; a large eps (0.5) shrinks the rounding noise to ~1e-7.
// - maxpool2d and relu are piecewise linear: exact too, as long as no step crosses a kink or a
//   tie. spacedInput() keeps every value ≥ gap/2 from zero and from every other value, so any
//   eps < gap/2 is exact.
// - sigmoid, tanh, softmax are smooth but curved: the truncation error is eps²/6·|f'''| and the
//   rounding noise ~6e-8/eps, balanced near eps = 1e-2 (both ~1e-6…1e-5).
// - losses compute in float64 from float32 inputs, so eps = 1e-3 leaves a truncation error of
//   ~1e-7 and almost no rounding noise.

/** n distinct values, a shuffled grid (k + ½ − n/2)·gap: ≥ gap apart and ≥ gap/2 from zero. */
export function spacedInput(rng: Rng, n: number, gap: number): Float32Array {
  const v = new Float32Array(n);
  for (let k = 0; k < n; k++) v[k] = (k + 0.5 - n / 2) * gap;
  rng.shuffle(v);
  return v;
}

/** n standard-normal values times `scale`. */
export function normalInput(rng: Rng, n: number, scale = 1): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return v;
}

/** A layer's tensors as PyTorch computed them: the inputs it was given and what it produced. */
export interface LayerFixture {
  x: Float32Array;
  /** By parameter name below the layer ("weight", "bias"; "layers.conv1.weight" in a block). */
  params: Record<string, Float32Array>;
  /** Buffers to start from (running statistics), by name below the layer. */
  buffers?: Record<string, Float32Array>;
  /** Buffers as they must be after the forward pass. */
  buffersAfter?: Record<string, Float32Array>;
  dy: Float32Array;
  y: Float32Array;
  dx: Float32Array;
  /** Gradients by parameter name. */
  grads: Record<string, Float32Array>;
  tol: Tolerance;
}

export interface CheckLayerOptions {
  /** Per-sample input shape. */
  inputShape: Shape;
  batch?: number;
  seed?: number;
  /** Finite-difference step; the check runs when it is given (see the note above finiteDiff). */
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Makes the input (default: standard normal). */
  input?: (rng: Rng, n: number) => Float32Array;
  /** Forward in training mode (dropout); the layer's random state is replayed for every pass. */
  training?: boolean;
  /** Also (or instead) compare forward and backward against PyTorch's numbers. */
  fixture?: LayerFixture;
}

/** Largest finite-difference or fixture errors per tensor ("dx", "dweight", …). */
export type CheckReport = Record<string, CloseReport>;

/**
 * Checks a layer's backward pass. With `eps`: the loss L = Σ y·r (r random, summed in float64)
 * is differentiated numerically with respect to every input value and every parameter, and
 * compared with what backward(r) returns and accumulates. With `fixture`: inputs, weights and
 * the upstream gradient come from the fixture, and y, dx and every parameter gradient must match.
 */
export function checkLayer(specOrLayer: LayerSpec | Layer, o: CheckLayerOptions): CheckReport {
  const rng = new Rng(o.seed ?? 1);
  const layerRng = new Rng((o.seed ?? 1) + 1000);
  const layer = 'kind' in specOrLayer ? specOrLayer : makeLayer(specOrLayer, o.inputShape, { rng: layerRng });
  const label = layer.name || layer.kind;
  const n = o.batch ?? 2;
  const x = new Tensor([n, ...o.inputShape]);
  const f = o.fixture;
  x.data.set(f ? f.x : (o.input ?? normalInput)(rng, x.size));
  const params = layer.namedParams('');
  for (const { name, value: p } of params) {
    if (f && !f.params[name]) assert.fail(`${label}: the fixture has no parameter "${name}"`);
    p.value.data.set(f ? f.params[name] : normalInput(rng, p.value.size, 0.5));
  }
  for (const { name, value: b } of layer.namedBuffers('')) if (f?.buffers?.[name]) b.value.data.set(f.buffers[name]);
  const training = o.training ?? false;
  const state = layerRng.getState();
  const forward = (): Tensor => {
    layerRng.setState(state); // the same dropout mask on every pass
    return layer.forward(x, training);
  };

  const y0 = forward();
  const r = f ? f.dy : normalInput(rng, y0.size);
  assert.equal(y0.size, r.length, `${label}: output has ${y0.size} values, the upstream gradient ${r.length}`);
  const report: CheckReport = {};
  if (f) report.y = expectClose(`${label} y`, y0.data, f.y, f.tol, y0.shape);
  for (const { name, value: b } of layer.namedBuffers('')) {
    const want = f?.buffersAfter?.[name];
    if (want) report[name] = expectClose(`${label} ${name}`, b.value.data, want, f.tol, b.value.shape);
  }
  for (const p of layer.params) p.grad.data.fill(0);
  const dx = Float32Array.from(layer.backward(new Tensor(y0.shape, Float32Array.from(r))).data);
  if (f) {
    report.dx = expectClose(`${label} dx`, dx, f.dx, f.tol, x.shape);
    for (const { name, value: p } of params) {
      report[`d${name}`] = expectClose(`${label} d${name}`, p.grad.data, f.grads[name], f.tol, p.value.shape);
    }
  }
  if (o.eps === undefined) return report;

  const tol = { rtol: o.rtol ?? 0, atol: o.atol ?? 0 };
  const loss = (): number => {
    const y = forward().data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * r[i];
    return s;
  };
  report.fdDx = expectClose(`${label} dx vs finite differences`, dx, finiteDiff(loss, x.data, o.eps), tol, x.shape);
  for (const { name, value: p } of params) {
    report[`fdD${name}`] = expectClose(
      `${label} d${name} vs finite differences`,
      p.grad.data,
      finiteDiff(loss, p.value.data, o.eps),
      tol,
      p.value.shape,
    );
  }
  return report;
}

/** Reads the tensor `name` of a decoded fixture file, failing clearly when it is missing. */
export function fixtureTensor(tensors: Map<string, NamedTensor>, name: string): Float32Array {
  const t = tensors.get(name);
  assert.ok(t, `fixture tensor "${name}" is missing — regenerate the fixtures with tools/make_fixtures.py`);
  assert.ok(t.data instanceof Float32Array, `fixture tensor "${name}" is not floating point`);
  return t.data;
}

/** A committed fixture file of test/fixtures/: its tensors by name, and its metadata. */
export function loadFixture(file: string): { t: (name: string) => Float32Array; meta: Record<string, string> } {
  const bytes = readFileSync(new URL(`../../../test/fixtures/${file}`, import.meta.url));
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  return { t: (name) => fixtureTensor(tensors, name), meta: metadata };
}
