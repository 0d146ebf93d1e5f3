// The playground's training worker: the convts core on the WebAssembly kernels, off the page's
// main thread. It owns the data, the model and the training; the page only sends commands and
// draws what comes back.
import {
  buildModel,
  evaluate,
  loadWeights,
  makeOptimizer,
  type Optimizer,
  type Sequential,
  type StepMetrics,
  startWasmKernels,
  Tensor,
  type TrainState,
  train,
  validateSpec,
  type WasmKernels,
  weightsToSafetensors,
} from '../../../src/core.js';
import type { ByteImageDataset } from '../../../src/data/dataset.js';
import { type InputPreparation, inputPreparation, prepareImage } from '../../../src/data/image.js';
import { prepare } from '../../../src/data/prepare.js';
import { FeatureFeed } from './feature-maps.js';
import { type Loaded, loadCifar, loadIdx } from './load-data.js';
import { loadPictures } from './load-pictures.js';
import type { FromWorker, ModelConfig, ModelFiles, Phase, Settings, ToWorker } from './protocol.js';

interface Scope {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as Scope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

let raw: Loaded | null = null;
let model: Sequential | null = null;
/** What the current model was trained on (config.json of a saved model). */
let record: ModelConfig | null = null;
let run: {
  train: ByteImageDataset;
  test: ByteImageDataset;
  settings: Settings;
  optimizer: Optimizer;
  abort: AbortController;
  state?: TrainState;
  stopping?: boolean;
} | null = null;
let phase: Phase = 'idle';
let kernelSet: WasmKernels | null = null;
let currentStep = 0;
const features = new FeatureFeed((m) =>
  post(m, [m.image.data.buffer, ...m.layers.flatMap((l) => [l.filters.data.buffer, l.maps.data.buffer])]),
);
/** Step records not yet sent: the page gets them in one message every ~100 ms, not one a step. */
let pendingSteps: StepMetrics[] = [];
let stepsSent = 0;

function flushSteps() {
  if (!pendingSteps.length) return;
  post({ type: 'steps', steps: pendingSteps });
  pendingSteps = [];
  stepsSent = performance.now();
}

const sendFeatures = (step: number, now = false) => run && model && features.send(model, run.test, step, now);

const setPhase = (p: Phase, message?: string) => {
  flushSteps();
  phase = p;
  post({ type: 'phase', phase: p, message });
};

async function loadData(m: Extract<ToWorker, { type: 'data' | 'cifar' | 'pictures' }>) {
  if (phase === 'running' || phase === 'paused') throw new Error('stop the training before loading other data');
  const loaded =
    m.type === 'cifar'
      ? await loadCifar(m)
      : m.type === 'pictures'
        ? await loadPictures(m, (done, total) =>
            post({ type: 'loading', text: `decoding pictures: ${done} of ${total}` }),
          )
        : await loadIdx(m.name, m.train, m.test);
  const { train, test } = loaded;
  const [ts, es] = [train.imageShape.join('×'), test.imageShape.join('×')];
  if (ts !== es) throw new Error(`the training images are ${ts}, the test images ${es} — give files of one data set`);
  raw = loaded;
  post({
    type: 'data',
    train: train.length,
    test: test.length,
    shape: [...train.imageShape],
    classNames: [...train.classNames],
  });
}

function evaluateNow(step: number, epoch: number) {
  if (!run || !model) return;
  const e = evaluate(model, run.test);
  flushSteps();
  post({ type: 'eval', step, epoch, loss: e.loss, accuracy: e.accuracy, confusion: e.confusion });
}

async function start(m: Extract<ToWorker, { type: 'start' }>) {
  if (!raw)
    throw new Error(
      'load a data set first (from the server, or drop the MNIST .gz files, the CIFAR-10 .bin batches or a folder of pictures by class)',
    );
  if (phase === 'running' || phase === 'paused') throw new Error('training is already under way — stop it first');
  const s = m.settings;
  const spec = validateSpec(m.spec, 'the network');
  const data = prepare(raw.train, raw.test, { trainLimit: s.trainLimit, testLimit: s.testLimit });
  const built = buildModel(spec, { seed: s.seed });
  const want = built.inputShape.join('×');
  if (want !== data.train.shape.join('×'))
    throw new Error(
      `the network takes ${want} inputs, the data set's images are ${data.train.shape.join('×')} — set "input" to [${data.train.shape.join(', ')}]`,
    );
  if (built.classes !== data.train.classNames.length)
    throw new Error(`the network has ${built.classes} outputs, the data set ${data.train.classNames.length} classes`);
  model = built;
  const shape = raw.train.imageShape;
  record = {
    dataset: raw.name,
    classNames: [...raw.train.classNames],
    normalization: data.norm,
    input: inputPreparation(raw.name, shape, data.norm),
    ...(raw.name.startsWith('folder:') ? { imageSize: [shape[1], shape[2]], channels: shape[0] } : {}),
    ...(raw.val ? { val: raw.val } : {}),
  };
  run = {
    train: data.train,
    test: data.test,
    settings: s,
    optimizer: makeOptimizer({ kind: s.optimizer, lr: s.lr }),
    abort: new AbortController(),
  };
  await features.firstDrawn(model, run.test);
  await runTraining();
}

async function runTraining() {
  if (!run || !model) return;
  const r = run;
  setPhase('running');
  let lastStep = 0;
  const result = await train(model, r.train, r.test, {
    epochs: r.settings.epochs,
    batchSize: r.settings.batchSize,
    optimizer: r.optimizer,
    seed: r.settings.seed,
    logEvery: 1,
    evalEveryEpoch: false,
    signal: r.abort.signal,
    resume: r.state,
    onStep: (m) => {
      lastStep = m.step;
      pendingSteps.push(m);
      if (m.step === 1 || performance.now() - stepsSent >= 100) flushSteps();
      currentStep = m.step;
      sendFeatures(m.step, m.step === 1);
      if (r.settings.evalEvery > 0 && m.step % r.settings.evalEvery === 0) evaluateNow(m.step, m.epoch);
    },
    onEpoch: (e) => evaluateNow(lastStep, e.epoch),
  });
  if (result.stoppedBy !== 'interrupted') return setPhase('done');
  if (r.stopping) {
    run = null;
    return setPhase('stopped');
  }
  r.state = result.state;
  setPhase('paused');
}

async function resume() {
  if (!run || phase !== 'paused') throw new Error('nothing is paused');
  run.abort = new AbortController();
  await runTraining();
}

function stop() {
  if (!run) return;
  if (phase === 'running') {
    run.stopping = true;
    run.abort.abort();
  } else {
    run = null;
    setPhase('stopped');
  }
}

function need<T>(v: T | null, what: string): T {
  if (v === null) throw new Error(what);
  return v;
}

function predict(m: Extract<ToWorker, { type: 'predict' }>) {
  const mdl = need(model, 'train or open a model first');
  const rec = need(record, 'train or open a model first');
  const img = prepareImage(
    { width: m.width, height: m.height, rgba: new Uint8Array(m.rgba.buffer, m.rgba.byteOffset, m.rgba.length) },
    rec.input,
  );
  const p = mdl.predict(new Tensor([1, ...mdl.inputShape], img.x)).data;
  const top = Array.from(p, (v, i) => ({ label: rec.classNames[i], p: v }))
    .sort((a, b) => b.p - a.p)
    .slice(0, 3);
  post({ type: 'prediction', id: m.id, top, input: Array.from(img.bytes), shape: [...mdl.inputShape] });
}

function save() {
  const mdl = need(model, 'train or open a model first');
  const rec = need(record, 'train or open a model first');
  const weights = weightsToSafetensors(mdl);
  const buf = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const files: ModelFiles = {
    'model.json': JSON.stringify({ ...mdl.spec, format: 'convts-model', version: 1 }, null, 2),
    'model.safetensors': buf,
    'config.json': JSON.stringify(rec, null, 2),
  };
  post({ type: 'saved', files }, [buf]);
}

function open(files: ModelFiles) {
  if (phase === 'running' || phase === 'paused') throw new Error('stop the training before opening a model');
  const parse = (name: string, text: string) => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Error(`${name}: not JSON (${(e as Error).message})`);
    }
  };
  const spec = parse('model.json', files['model.json']);
  if (spec?.format !== 'convts-model')
    throw new Error('model.json: not a convts model file (no "format": "convts-model")');
  const mdl = buildModel(validateSpec(spec, 'model.json'));
  loadWeights(mdl, new Uint8Array(files['model.safetensors']), 'model.safetensors');
  const config = parse('config.json', files['config.json']);
  const input = config?.input as InputPreparation | null;
  if (!input?.normalization) throw new Error('config.json: no "input" preparation — save the model with convts train');
  if (input.shape.join('×') !== mdl.inputShape.join('×'))
    throw new Error(
      `config.json: input ${input.shape.join('×')} does not match the model's ${mdl.inputShape.join('×')}`,
    );
  const classNames: string[] = config.classNames ?? Array.from({ length: mdl.classes }, (_, i) => `${i}`);
  model = mdl;
  run = null;
  record = { dataset: config.dataset ?? '', classNames, normalization: input.normalization, input };
  post({ type: 'opened', layers: mdl.layers.length, classNames });
}

/** Relaxed SIMD where the engine compiles it, on a pool of workers where the page is cross-origin isolated. */
async function startKernels(base: string, threads: number): Promise<FromWorker> {
  kernelSet?.terminate();
  kernelSet = await startWasmKernels({ from: base, threads });
  const kernels = kernelSet.simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD128';
  return { type: 'ready', kernels, threads: kernelSet.threads, notice: kernelSet.notice };
}

async function handle(m: ToWorker) {
  switch (m.type) {
    case 'init':
      return post(await startKernels(m.base, m.threads));
    case 'data':
    case 'cifar':
    case 'pictures':
      return loadData(m);
    case 'start':
      return start(m);
    case 'pause':
      if (run && phase === 'running') run.abort.abort();
      return;
    case 'resume':
      return resume();
    case 'stop':
      return stop();
    case 'predict':
      return predict(m);
    case 'save':
      return save();
    case 'open':
      return open(m.files);
    case 'watch':
      features.watched = m.index;
      return void sendFeatures(currentStep, true);
    case 'drawn':
      return features.onDrawn();
  }
}

scope.onmessage = (e) => {
  handle(e.data).catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    if (e.data.type === 'start' || e.data.type === 'resume') {
      run = null;
      setPhase('stopped', message);
    }
    post({ type: 'error', message });
  });
};
