// The training aids of modern recipes against PyTorch (test/fixtures/modern-training.safetensors,
// tools/fixtures_modern.py): AdamW, weight decay that skips biases and norm parameters, label
// smoothing, gradient clipping, one-cycle and warm-up learning rates, the weight average, and two
// training steps of a small residual network with batch norm.
import { describe, test } from 'node:test';
import {
  buildModel,
  clipGradNorm,
  Ema,
  encodeSafetensors,
  loadWeights,
  lrAtStep,
  type ModelSpec,
  makeOptimizer,
  type OptimizerSpec,
  type Param,
  type ScheduleSpec,
  softmaxCrossEntropy,
  Tensor,
} from '../src/index.js';
import { expectClose, loadFixture, type Tolerance } from './helpers/check.js';

const T = (atol: number): Tolerance => ({ rtol: 1e-4, atol });
const { t, meta } = loadFixture('modern-training.safetensors');
const param = (name: 'weight' | 'bias', w: Float32Array): Param => ({
  name,
  value: new Tensor([w.length], w.slice()),
  grad: new Tensor([w.length]),
  fanIn: 1,
  fanOut: 1,
});

describe('optimizers against torch.optim', () => {
  for (const c of JSON.parse(meta.optim) as { name: string; spec: OptimizerSpec }[]) {
    test(`${c.name}: 3 steps (p0 a weight, p1 a bias)`, () => {
      const init = [t('init.p0'), t('init.p1')];
      const params = [param('weight', init[0]), param('bias', init[1])];
      const opt = makeOptimizer(c.spec);
      for (let s = 1; s <= 3; s++) {
        params.forEach((p, k) => p.grad.data.set(t(`grad${s}.p${k}`)));
        opt.step(params);
        // The change from the start, as in torch-fixtures.test.ts (atol: the last bit of a weight < 4).
        params.forEach((p, k) =>
          expectClose(
            `${c.name} step ${s} p${k} change`,
            Float64Array.from(p.value.data, (v, i) => v - init[k][i]),
            Float64Array.from(t(`${c.name}.step${s}.p${k}`), (v, i) => v - init[k][i]),
            T(3e-7),
          ),
        );
      }
    });
  }
});

test('label smoothing 0.1 and 0.3: loss and gradient as CrossEntropyLoss(label_smoothing)', () => {
  const z = t('ls.z');
  const labels = Int32Array.from(t('ls.labels'));
  for (const eps of [0.1, 0.3]) {
    const dz = new Float32Array(z.length);
    const loss = softmaxCrossEntropy(dz, z, labels, 5, 7, eps);
    expectClose(`loss ε=${eps}`, [loss], t(`ls${eps}.loss`), T(0));
    expectClose(`dz ε=${eps}`, dz, t(`ls${eps}.dz`), T(1e-9), [5, 7]);
  }
});

test('gradient clipping as clip_grad_norm_', () => {
  for (const max of [1, 100]) {
    const params = [param('weight', t('init.p0')), param('bias', t('init.p1'))];
    params.forEach((p, k) => p.grad.data.set(t(`grad1.p${k}`)));
    const norm = clipGradNorm(params, max);
    expectClose(`norm before clipping to ${max}`, [norm], t(`clip${max}.norm`), T(0));
    params.forEach((p, k) => expectClose(`clipped to ${max}: g${k}`, p.grad.data, t(`clip${max}.g${k}`), T(1e-7)));
  }
});

test('one-cycle and warm-up learning rates per step as OneCycleLR and LinearLR', () => {
  const scheds = JSON.parse(meta.schedules) as {
    name: string;
    spec: ScheduleSpec;
    baseLr: number;
    epochs: number;
    stepsPerEpoch: number;
    warmupSteps?: number;
  }[];
  for (const s of scheds) {
    const ours: number[] = [];
    for (let e = 0; e < s.epochs; e++)
      for (let k = 0; k < s.stepsPerEpoch; k++)
        ours.push(lrAtStep(s.spec, s.baseLr, { ...s, epoch: e, step: k, warmupSteps: s.warmupSteps }));
    expectClose(`${s.name} learning rates`, ours, t(`sched.${s.name}`), T(0)); // the fixture holds float32
  }
});

test('the weight average as AveragedModel with ema = 0.9·ema + 0.1·w', () => {
  const live = [t('ema.w0.weight').slice(), t('ema.w0.bias').slice()];
  const ema = new Ema(live, 0.9);
  for (let s = 1; s <= 3; s++) {
    live[0].set(t(`ema.w${s}.weight`));
    live[1].set(t(`ema.w${s}.bias`));
    ema.update();
  }
  expectClose('averaged weight', ema.shadow[0], t('ema.avg.weight'), T(1e-7));
  expectClose('averaged bias', ema.shadow[1], t('ema.avg.bias'), T(1e-7));
});

test('a residual net with batch norm: loss, gradients, two momentum steps and running statistics', () => {
  const r = JSON.parse(meta.resnet) as {
    spec: ModelSpec;
    params: string[];
    state: string[];
    lr: number;
    momentum: number;
  };
  const model = buildModel(r.spec, { seed: 0 });
  const shapes = new Map([
    ...model.namedParams().map((p) => [p.name, p.param.value.shape] as const),
    ...model.namedBuffers().map((b) => [b.name, b.buffer.value.shape] as const),
  ]);
  const w0 = r.state.map((name) => ({ name, shape: [...shapes.get(name)!], data: t(`resnet.w0.${name}`) }));
  loadWeights(model, encodeSafetensors(w0), 'resnet w0');
  const x = new Tensor([6, 3, 8, 8], t('resnet.x'));
  const labels = Int32Array.from(t('resnet.labels'));
  const opt = makeOptimizer({ kind: 'momentum', lr: r.lr, momentum: r.momentum });
  const want = t('resnet.loss');
  for (let step = 1; step <= 2; step++) {
    model.zeroGrad();
    const loss = model.lossAndBackward(x, labels).loss;
    expectClose(`step ${step} loss`, [loss], [want[step - 1]], T(0));
    if (step === 1) {
      // atol 1e-7 as for seed-mnist: ≤ 1e-5 of each gradient's largest entry.
      for (const { name, param: p } of model.namedParams())
        expectClose(`${name} gradient`, p.grad.data, t(`resnet.grad1.${name}`), T(1e-7), p.value.shape);
    }
    opt.step(model.params());
  }
  const start = new Map(w0.map((w) => [w.name, w.data]));
  for (const { name, param: p } of model.namedParams()) {
    const change = Float64Array.from(p.value.data, (v, j) => v - start.get(name)![j]);
    expectClose(`${name} change after two steps`, change, t(`resnet.delta2.${name}`), T(1e-7), p.value.shape);
  }
  for (const { name, buffer: b } of model.namedBuffers()) {
    const want = b.dtype === 'I64' ? [2] : t(`resnet.after.${name}`);
    expectClose(`${name} after two steps`, b.value.data, want, T(1e-7));
  }
});
