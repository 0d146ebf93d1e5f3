// One run's test-set class probabilities, computed off the server's event loop: the model runs
// over every test image (with the run's test-time augmentation, so the confusion-matrix cells
// agree with its matrix) while the server keeps answering. Posts {done} as it goes, then
// {probabilities} or {error}.
import { parentPort, workerData } from 'node:worker_threads';
import { useKernels } from '../kernels/index.js';
import { defaultKernels } from '../kernels/node-loader.js';
import { loadModel, readRunConfig, runDataset } from '../run/index.js';
import { evaluate } from '../train/trainer.js';

/** What the worker posts back. */
export type ProbabilitiesMessage =
  | { done: number; total: number }
  | { probabilities: Float32Array }
  | { error: string };

const post = (m: ProbabilitiesMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

try {
  useKernels(defaultKernels());
  const dir = (workerData as { dir: string }).dir;
  const config = readRunConfig(dir);
  const model = loadModel(dir);
  const data = runDataset(config);
  const tta = config.tta ?? undefined;
  let last = 0;
  const { probabilities } = evaluate(model, data, 256, tta, (done) => {
    // A few messages a second are enough for a progress line.
    if (Date.now() - last > 200 || done === data.length) {
      last = Date.now();
      post({ done, total: data.length });
    }
  });
  post({ probabilities: probabilities! }, [probabilities!.buffer as ArrayBuffer]);
} catch (e) {
  post({ error: e instanceof Error ? e.message : String(e) });
}
