// Accuracy of an exported MNIST model in onnxruntime-web (WebAssembly, one thread) on the 10,000
// test images fed as raw pixels 0–255, to compare with `convts eval` of the same run.
// Usage: node dist/bench/onnx-mnist.js MODEL.onnx [mnist dir]   (after convts export RUN --out MODEL.onnx)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { readIdx } from '../src/data/idx.js';

ort.env.wasm.numThreads = 1;

/** Top-1 accuracy of `model` on the MNIST test set in `dir`, in batches of 500. */
export async function onnxMnistAccuracy(model: string, dir: string): Promise<{ accuracy: number; seconds: number }> {
  const images = readIdx(join(dir, 't10k-images-idx3-ubyte.gz'), 3).data;
  const labels = readIdx(join(dir, 't10k-labels-idx1-ubyte.gz'), 1).data;
  const session = await ort.InferenceSession.create(readFileSync(model));
  const t0 = performance.now();
  let correct = 0;
  for (let start = 0; start < labels.length; start += 500) {
    const n = Math.min(500, labels.length - start);
    const x = Float32Array.from(images.subarray(start * 784, (start + n) * 784));
    const { logits } = await session.run({ image: new ort.Tensor('float32', x, [n, 1, 28, 28]) });
    const z = logits.data as Float32Array;
    const k = z.length / n;
    for (let s = 0; s < n; s++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (z[s * k + j] > z[s * k + best]) best = j;
      if (best === labels[start + s]) correct++;
    }
  }
  return { accuracy: correct / labels.length, seconds: (performance.now() - t0) / 1000 };
}

if (process.argv[1]?.endsWith('onnx-mnist.js')) {
  const [model, dir = '../shared/datasets/mnist'] = process.argv.slice(2);
  const r = await onnxMnistAccuracy(model, dir);
  console.log(
    `${model}: onnxruntime-web accuracy ${(100 * r.accuracy).toFixed(2)} % on 10000 test images (${r.seconds.toFixed(1)} s)`,
  );
}
