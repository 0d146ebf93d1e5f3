// The playground page: settings, controls and the worker's life; the training runs in worker.ts, the
// data comes from data-source.ts, the network from network-editor.ts, the pictures from the views.
import type { OptimizerKind } from '../../../src/optim/index.js';
import { liveChart } from './curves.js';
import { dataSource } from './data-source.js';
import { drawPad } from './draw.js';
import { featureView } from './feature-view.js';
import { networkEditor } from './network-editor.js';
import { modelFiles } from './open-model.js';
import { dropZone } from './picture-drop.js';
import type { FromWorker, ModelFiles, Phase, Settings, ToWorker } from './protocol.js';
import { download, showConfusion, showInput } from './views.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => $<HTMLInputElement>(id).value;
const num = (id: string) => Number(value(id));

/** What tests and curious users can read: the phase, counts and the longest main-thread frame gap. */
const state = {
  phase: 'idle' as Phase,
  ready: false,
  kernels: '',
  threads: 0,
  data: null as null | { train: number; test: number; shape: number[]; classNames: string[] },
  steps: 0,
  imagesPerSecond: 0,
  lastEval: null as null | { step: number; accuracy: number; loss: number },
  features: null as null | { step: number; index: number; layers: number },
  maxFrameGap: 0,
  errors: [] as string[],
  top3: [] as { label: string; p: number }[],
  predictions: {} as Record<number, string>,
  saved: null as ModelFiles | null,
  opened: false,
  workerCrashed: false,
};
(globalThis as unknown as { playground: unknown }).playground = {
  state,
  send: (m: ToWorker) => send(m),
  worker: () => worker,
};

const say = (text: string | null) => {
  const el = $('message');
  el.hidden = !text;
  el.textContent = text ?? '';
  if (text) state.errors.push(text);
};

const showFeatures = featureView($('features'));
const lossChart = liveChart($('loss-chart'), 'loss', ['training loss', 'test loss'], ['#1f77b4', '#d62728']);
const accChart = liveChart($('acc-chart'), 'accuracy', ['training', 'test'], ['#1f77b4', '#d62728']);

let worker: Worker;
let secondsPerImage = 0;
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
const data = dataSource(
  $<HTMLSelectElement>('dataset'),
  $('data-status'),
  send,
  () => num('train-limit'),
  () => num('picture-size') || null,
);
const network = networkEditor(
  $<HTMLSelectElement>('builtin'),
  $<HTMLTextAreaElement>('spec'),
  $('spec-status'),
  () => state.data ?? undefined,
);

function startWorker() {
  worker = new Worker(new URL('playground-worker.js', location.href), { type: 'module' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => receive(e.data);
  // An uncaught error or a failed load ends the worker's usefulness: say so and offer a new one.
  worker.onerror = (e) => {
    e.preventDefault();
    state.workerCrashed = true;
    state.ready = false;
    say(`the training worker crashed (${e.message || 'no message'}) — press "Restart the worker"`);
    $('restart').hidden = false;
    setPhase('stopped');
  };
  state.workerCrashed = false;
  send({ type: 'init', base: new URL('./', location.href).href, threads: Math.max(1, num('threads') || 1) });
  send({ type: 'watch', index: num('watch') });
}

function restartWorker() {
  worker.terminate();
  $('restart').hidden = true;
  Object.assign(state, { ready: false, data: null, features: null });
  $('data-status').textContent = 'no data yet (the worker was restarted)';
  setPhase('idle');
  startWorker();
}

function setPhase(p: Phase) {
  drawQueue.get('stats')?.(); // the last step's figures, before the phase is written over them
  drawQueue.delete('stats');
  state.phase = p;
  const busy = p === 'running' || p === 'paused';
  $<HTMLButtonElement>('start').disabled = busy;
  $<HTMLButtonElement>('pause').disabled = p !== 'running';
  $<HTMLButtonElement>('resume').disabled = p !== 'paused';
  $<HTMLButtonElement>('stop').disabled = !busy;
  if (p !== 'running') $('stats').textContent = `${p} · ${$('stats').textContent?.split(' · ').slice(1).join(' · ')}`;
}

/** DOM updates wait for the next animation frame; a later update of the same kind replaces an earlier one. */
const drawQueue = new Map<string, () => void>();
function later(kind: string, draw: () => void) {
  if (!drawQueue.size)
    requestAnimationFrame(() => {
      for (const f of drawQueue.values()) f();
      drawQueue.clear();
    });
  drawQueue.set(kind, draw);
}

// The worker holds its training until the page has drawn step 0's feature view (the costliest frame).
// A hidden page draws no frames: it lets the worker go at once (step 0 arriving hidden, or the page
// hidden while the drawing waits for a frame).
let stepZeroPending = false;
const stepZeroDone = () => {
  if (stepZeroPending) send({ type: 'drawn' });
  stepZeroPending = false;
};
document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && stepZeroDone());

function receive(m: FromWorker) {
  switch (m.type) {
    case 'ready':
      Object.assign(state, { ready: true, kernels: m.kernels, threads: m.threads });
      $('kernels').textContent = `· WebAssembly ${m.kernels} kernels, ${m.threads} thread${m.threads > 1 ? 's' : ''}`;
      Object.assign($('notice'), { hidden: !m.notice, textContent: m.notice ?? '' });
      return;
    case 'loading':
      $('data-status').textContent = m.text;
      return;
    case 'data':
      state.data = m;
      $('data-status').textContent =
        `${m.train} training and ${m.test} test images of ${m.shape.join('×')}, ${m.classNames.length} classes`;
      network.suggest(m.shape[0] === 3 ? 'seed-cifar' : 'seed-mnist');
      return;
    case 'steps': {
      const last = m.steps[m.steps.length - 1];
      state.steps = last.step;
      for (const x of m.steps) {
        // A moving average of the time per image: one step's rate jumps with evaluations and GC.
        secondsPerImage = secondsPerImage ? 0.9 * secondsPerImage + 0.1 / x.imagesPerSecond : 1 / x.imagesPerSecond;
        lossChart.add(x.step, [x.loss, null]);
        accChart.add(x.step, [x.accuracy, null]);
      }
      state.imagesPerSecond = 1 / secondsPerImage;
      later('stats', () => {
        $('stats').textContent =
          `running · epoch ${last.epoch} · step ${last.step} · loss ${last.loss.toFixed(4)} · ` +
          `accuracy ${(100 * last.accuracy).toFixed(1)}% · ${Math.round(state.imagesPerSecond)} images/s`;
      });
      return;
    }
    case 'eval':
      state.lastEval = { step: m.step, accuracy: m.accuracy, loss: m.loss };
      lossChart.add(m.step, [null, m.loss]);
      accChart.add(m.step, [null, m.accuracy]);
      $('confusion-title').textContent = `step ${m.step}: ${(100 * m.accuracy).toFixed(2)}% of the test images`;
      showConfusion($('confusion'), state.data?.classNames ?? m.confusion.map((_, i) => `${i}`), m.confusion);
      return;
    case 'features':
      if (m.step === 0) stepZeroPending = true;
      if (document.visibilityState === 'hidden') stepZeroDone();
      // Only the latest maps are drawn, at the next frame: messages that arrive faster are dropped.
      later('features', () => {
        $('features-title').textContent = `step ${m.step}`;
        showFeatures(m);
        state.features = { step: m.step, index: m.index, layers: m.layers.length };
        // Step 0 comes before training: the worker waits until this frame is rendered (after this task).
        if (m.step === 0) setTimeout(stepZeroDone);
      });
      return;
    case 'phase':
      setPhase(m.phase);
      $<HTMLButtonElement>('save').disabled = m.phase === 'idle';
      if (m.message) say(m.message);
      return;
    case 'prediction':
      state.top3 = m.top;
      state.predictions[m.id] = m.top[0].label;
      if (m.id < 0) return; // asked for by a script, not drawn
      $('top3').replaceChildren(
        ...m.top.map((t) =>
          Object.assign(document.createElement('li'), { textContent: `${t.label}: ${(100 * t.p).toFixed(1)}%` }),
        ),
      );
      showInput($<HTMLCanvasElement>('input-view'), m.input, m.shape);
      return;
    case 'saved':
      state.saved = m.files;
      for (const [name, body] of Object.entries(m.files)) download(name, body);
      return;
    case 'opened':
      state.opened = true;
      $<HTMLButtonElement>('save').disabled = false;
      say(null);
      $('stats').textContent = `opened a model of ${m.layers} layers (${m.classNames.length} classes)`;
      predictDrawing();
      return;
    case 'error':
      say(m.message);
      return;
  }
}

function settings(): Settings {
  return {
    optimizer: value('optimizer') as OptimizerKind,
    lr: num('lr'),
    batchSize: num('batch'),
    epochs: num('epochs'),
    trainLimit: num('train-limit'),
    testLimit: num('test-limit'),
    evalEvery: num('eval-every'),
    seed: num('seed'),
  };
}

const guard = (f: () => unknown) => () => {
  say(null);
  Promise.resolve()
    .then(f)
    .catch((e: Error) => say(e.message));
};

const pad = drawPad($<HTMLCanvasElement>('pad'), () => predictDrawing());
let predictId = 0;
let predicting = false;
function predictDrawing() {
  const p = pad.picture();
  if (!p || predicting || !(state.opened || state.phase !== 'idle')) return;
  predicting = true;
  send({ type: 'predict', id: ++predictId, ...p }, [p.rgba.buffer]);
  setTimeout(() => (predicting = false), 60);
}

$('start').onclick = guard(() => {
  const spec = network.spec();
  if (!spec) throw new Error(`the network spec has a problem: ${network.problem()}`);
  lossChart.clear();
  accChart.clear();
  state.maxFrameGap = 0;
  secondsPerImage = 0;
  send({ type: 'start', spec, settings: settings() });
});
$('pause').onclick = guard(() => send({ type: 'pause' }));
$('resume').onclick = guard(() => send({ type: 'resume' }));
$('stop').onclick = guard(() => send({ type: 'stop' }));
$('save').onclick = guard(() => send({ type: 'save' }));
$('clear').onclick = () => {
  pad.clear();
  $('top3').replaceChildren();
};
$('restart').onclick = guard(restartWorker);
// Another thread count starts the kernels again, in a new worker (a pool cannot shrink or grow).
$<HTMLInputElement>('threads').onchange = guard(() => {
  if (state.phase === 'running' || state.phase === 'paused')
    throw new Error('stop the training before changing the threads');
  restartWorker();
});
$<HTMLInputElement>('watch').onchange = () => send({ type: 'watch', index: num('watch') });
$('load-server').onclick = guard(data.loadFromServer);
$<HTMLInputElement>('files').onchange = guard(() => data.loadFiles($<HTMLInputElement>('files').files));
$<HTMLInputElement>('open').onchange = guard(async () =>
  send({ type: 'open', files: await modelFiles($<HTMLInputElement>('open').files) }),
);
dropZone($('drop'), $<HTMLInputElement>('folder'), data, guard);

// The longest gap between animation frames: how smooth the page stays while the worker trains.
let lastFrame = 0;
const frame = (t: number) => {
  if (lastFrame && !document.hidden) state.maxFrameGap = Math.max(state.maxFrameGap, t - lastFrame);
  lastFrame = t;
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);

// Every core; the worker says when fewer run (a page that is not cross-origin isolated runs one).
$<HTMLInputElement>('threads').value = String(navigator.hardwareConcurrency || 1);
startWorker();
void data.listServer();
