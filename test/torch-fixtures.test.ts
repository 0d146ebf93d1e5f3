// convts against PyTorch, the trusted reference: every layer's forward and backward, every loss, the
// optimizers and schedules, and two whole seed-mnist training steps, compared with numbers that
// tools/make_fixtures.py computed with PyTorch (in float64) and committed under test/fixtures/.
// No PyTorch is needed here.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildModel,
  builtinSpec,
  encodeSafetensors,
  type LayerSpec,
  type LossKind,
  loadWeights,
  losses,
  lrAt,
  makeOptimizer,
  type NamedTensor,
  type OptimizerSpec,
  type Param,
  type ScheduleSpec,
  Tensor,
} from '../src/index.js';
import { checkLayer, expectClose, loadFixture as load, type Tolerance } from './helpers/check.js';

// Float32 against float64 references: rtol 1e-4, float32's precision after a few roundings. A
// relative bound cannot hold for values that are near zero only because large terms cancel (a
// gradient summed over a batch, a softmax of a far-from-winning class); their float32 error is
// set by the terms, not the result. So each group also gets an atol of about 1e-5 of its typical magnitude, stated below.
const T = (atol: number): Tolerance => ({ rtol: 1e-4, atol });

describe('layers against PyTorch', () => {
  const { t, meta } = load('layers.safetensors');
  const cases = JSON.parse(meta.cases) as { name: string; spec: LayerSpec; inputShape: number[]; batch: number }[];

  test('the fixtures cover every layer kind with weights or a backward pass', () => {
    const kinds = new Set(cases.map((c) => c.spec.type));
    for (const k of ['conv2d', 'maxpool2d', 'avgpool2d', 'dense', 'flatten', 'relu', 'sigmoid', 'tanh', 'softmax']) {
      assert.ok(kinds.has(k as LayerSpec['type']), `no fixture for ${k}`);
    }
  });

  for (const c of cases) {
    test(`${c.name}: y, dx and parameter gradients`, () => {
      const names =
        c.spec.type === 'conv2d' || c.spec.type === 'dense'
          ? ['weight', ...(c.spec.bias === false ? [] : ['bias'])]
          : [];
      const params = Object.fromEntries(names.map((p) => [p, t(`${c.name}.${p}`)]));
      const grads = Object.fromEntries(names.map((p) => [p, t(`${c.name}.d${p}`)]));
      // x ~ 2, weights ~ 0.5, dy ~ 1. An entry near zero carries float32 error ~2⁻²⁴·Σ|terms|;
      // the longest sums here (conv dweight: ~100 terms of size ~2) make that ≲ 1e-5.
      checkLayer(c.spec, {
        inputShape: c.inputShape,
        batch: c.batch,
        fixture: {
          x: t(`${c.name}.x`),
          params,
          dy: t(`${c.name}.dy`),
          y: t(`${c.name}.y`),
          dx: t(`${c.name}.dx`),
          grads,
          tol: T(1e-5),
        },
      });
    });
  }
});

describe('losses against PyTorch', () => {
  const { t, meta } = load('losses.safetensors');
  for (const c of JSON.parse(meta.cases) as { name: string; kind: LossKind }[]) {
    test(`${c.name}: loss and gradient`, () => {
      const z = t(`${c.name}.z`);
      const labels = Int32Array.from(t(`${c.name}.labels`));
      const n = labels.length;
      const dz = new Float32Array(z.length);
      const loss = losses[c.kind](dz, z, labels, n, z.length / n);
      // Losses compute in float64 and round once to float32, like the fixture: the only
      // atol needed (1e-9) is for gradients that underflow differently near zero.
      expectClose(`${c.name} loss`, [loss], t(`${c.name}.loss`), T(0));
      expectClose(`${c.name} dz`, dz, t(`${c.name}.dz`), T(1e-9), [n, z.length / n]);
    });
  }
});

describe('optimizers and schedules against torch.optim', () => {
  const { t, meta } = load('optim.safetensors');
  const steps = Number(meta.steps);
  const count = Number(meta.params);
  for (const c of JSON.parse(meta.cases) as { name: string; spec: OptimizerSpec }[]) {
    test(`${c.name}: ${steps} steps`, () => {
      const init = Array.from({ length: count }, (_, k) => t(`init.p${k}`));
      const params: Param[] = init.map((w) => ({
        name: 'weight',
        value: new Tensor([w.length], w.slice()),
        grad: new Tensor([w.length]),
        fanIn: 1,
        fanOut: 1,
      }));
      const opt = makeOptimizer(c.spec);
      for (let s = 1; s <= steps; s++) {
        params.forEach((p, k) => p.grad.data.set(t(`grad${s}.p${k}`)));
        opt.step(params);
        // Compare the change from the start, not the weights: a wrong update would hide within
        // rtol of a weight but not of its change. The change is read off float32 weights of
        // size < 4, whose last bit is ≤ 2.4e-7 (here and in the fixture): atol 3e-7.
        params.forEach((p, k) => {
          const want = t(`${c.name}.step${s}.p${k}`).map((v, i) => v - init[k][i]);
          expectClose(
            `${c.name} step ${s} p${k} change`,
            Float64Array.from(p.value.data, (v, i) => v - init[k][i]),
            Float64Array.from(want),
            T(3e-7),
          );
        });
      }
    });
  }

  for (const s of JSON.parse(meta.schedules) as {
    name: string;
    spec: ScheduleSpec;
    baseLr: number;
    epochs: number;
  }[]) {
    test(`schedule ${s.name} matches ${s.spec.kind === 'step' ? 'StepLR' : 'CosineAnnealingLR'}`, () => {
      const ours = Array.from({ length: s.epochs }, (_, e) => lrAt(s.spec, s.baseLr, e));
      expectClose(`${s.name} learning rates`, ours, t(`sched.${s.name}`), T(0));
    });
  }
});

describe('seed-mnist training steps against PyTorch', () => {
  const { t, meta } = load('seed-mnist.safetensors');
  const names = JSON.parse(meta.params) as string[];
  const x = new Tensor([4, 1, 28, 28], t('x'));
  const labels = Int32Array.from(t('labels'));
  const w0: NamedTensor[] = names.map((name) => ({ name, shape: [], data: t(`w0.${name}`) }));

  for (const loss of ['cross-entropy', 'bce'] as const) {
    test(`${loss}: loss, every gradient, and the weights after two momentum steps`, () => {
      const model = buildModel(builtinSpec('seed-mnist', { loss }), { seed: 0 });
      const params = model.namedParams();
      w0.forEach((w, i) => (w.shape = [...params[i].param.value.shape]));
      loadWeights(model, encodeSafetensors(w0), 'w0');
      const opt = makeOptimizer({ kind: 'momentum', lr: Number(meta.lr), momentum: Number(meta.momentum) });
      const wantLoss = t(`${loss}.loss`);
      for (let step = 1; step <= 2; step++) {
        model.zeroGrad();
        const got = model.lossAndBackward(x, labels).loss;
        expectClose(`${loss} step ${step} loss`, [got], [wantLoss[step - 1]], T(0));
        if (step === 1) {
          // atol 1e-7 (here and for the change below) is ≤ 1e-5 of each tensor's largest entry
          // (≥ 8e-3); it covers entries that are sums over the batch cancelling to near zero.
          for (const { name, param } of params) {
            expectClose(
              `${loss} ${name} gradient`,
              param.grad.data,
              t(`${loss}.grad1.${name}`),
              T(1e-7),
              param.value.shape,
            );
          }
        }
        opt.step(model.params());
      }
      // The change over two steps, in float64 (see the optimizer tests for why not the weights).
      params.forEach(({ name, param }, i) => {
        const change = Float64Array.from(param.value.data, (v, j) => v - w0[i].data[j]);
        expectClose(
          `${loss} ${name} change after two steps`,
          change,
          t(`${loss}.delta2.${name}`),
          T(1e-7),
          param.value.shape,
        );
      });
    });
  }
});
