// The playground on the real CIFAR-10 (a benchmark, not a test): loads the batches from the server as a
// user's "Load from the server" does, trains seed-cifar in the page's worker for the epochs given and
// evaluates on the test images, then prints the load time, images/s, the accuracy and the longest
// main-thread frame gap next to the load of the machine.
//   node dist/bench/playground-cifar.js [data dir] [training images] [epochs] [threads]
import { resolveDataDir } from '../src/data/catalog.js';
import { loadLine } from './peak.js';
import { openPlayground } from './playground-page.js';

const dataDir = resolveDataDir(process.argv[2]);
const trainImages = Number(process.argv[3] ?? 50000);
const epochs = Number(process.argv[4] ?? 1);
const threads = Number(process.argv[5] ?? 2);

const t0 = performance.now();
const { browser, page, state, until, close } = await openPlayground(dataDir, undefined, async (p) => {
  await p.selectOption('#dataset', 'cifar-10');
  await p.fill('#train-limit', String(trainImages));
});
try {
  const loadSeconds = (performance.now() - t0) / 1000;
  const s0 = await state();
  const builtin = await page.$eval('#builtin', (e) => (e as HTMLSelectElement).value);
  console.log(
    `playground, CIFAR-10 from ${dataDir}: ${JSON.stringify(s0.data)} loaded in ${loadSeconds.toFixed(1)} s (page start included); network ${builtin}; ${s0.kernels}; Chromium ${browser.version()}; ${loadLine()}`,
  );
  for (const [id, v] of [
    ['#threads', String(threads)],
    ['#epochs', String(epochs)],
    ['#eval-every', '0'],
    ['#test-limit', '1000'],
  ])
    await page.fill(id, v);
  const t1 = performance.now();
  await page.click('#start');
  await until("s.phase === 'done' || s.errors.length > 0", 3_600_000);
  const seconds = (performance.now() - t1) / 1000;
  const s = (await state()) as unknown as {
    steps: number;
    threads: number;
    lastEval: { accuracy: number } | null;
    errors: string[];
    maxFrameGap: number;
    imagesPerSecond: number;
  };
  if (s.errors.length) throw new Error(`the page reported: ${s.errors.join('; ')}`);
  console.log(
    `${s.steps} steps on ${s.threads} threads in ${seconds.toFixed(1)} s with the evaluation (${Math.round(s.imagesPerSecond)} images/s last reported); test accuracy ${s.lastEval ? (100 * s.lastEval.accuracy).toFixed(2) : '?'} % on 1,000 images; longest main-thread frame gap ${Math.round(s.maxFrameGap)} ms; ${loadLine()}`,
  );
} finally {
  await close();
}
