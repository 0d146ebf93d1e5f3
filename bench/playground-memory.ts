// The playground while it trains (a benchmark, not a test): memory over 20 epochs and the longest
// main-thread frame gap. Serves the page as `convts serve` does (COOP/COEP, so the kernels run on a pool
// of workers), trains seed-mnist in its worker on a slice of MNIST and, as soon as the step count says
// an epoch is over (training goes on meanwhile), samples the resident memory of Chromium's renderer
// (the page, its training worker and the pool's workers all live there) and the page's JavaScript heap
// after a garbage collection.
//   node dist/bench/playground-memory.js [data dir] [epochs] [training images]
import { resolveDataDir } from '../src/data/catalog.js';
import { loadLine } from './peak.js';
import { openPlayground } from './playground-page.js';
import { rendererPids, residentBytes } from './renderer-proc.js';

const dataDir = resolveDataDir(process.argv[2]);
const epochs = Number(process.argv[3] ?? 20);
const trainImages = Number(process.argv[4] ?? 4000);
const batch = 32;

const { browser, page, state, until, close } = await openPlayground(dataDir);
try {
  const metrics = await page.context().newCDPSession(page);
  await metrics.send('Performance.enable');
  for (const [id, v] of [
    ['#batch', String(batch)],
    ['#train-limit', String(trainImages)],
    ['#test-limit', '500'],
    ['#epochs', String(epochs)],
    ['#eval-every', '0'],
  ])
    await page.fill(id, v);
  const s0 = await state();
  console.log(
    `playground, seed-mnist batch ${batch}, ${trainImages} MNIST images an epoch, ${epochs} epochs; ${s0.kernels}, ${s0.threads} threads; Chromium ${browser.version()}; ${loadLine()}`,
  );
  const perEpoch = Math.ceil(trainImages / batch);
  await page.click('#start');
  const t0 = performance.now();
  const rows: { epoch: number; step: number; rss: number; heap: number }[] = [];
  for (let e = 1; e <= epochs; e++) {
    await until(`s.steps >= ${e * perEpoch}`, 600_000);
    await metrics.send('HeapProfiler.collectGarbage');
    const m = (await metrics.send('Performance.getMetrics')).metrics;
    const heap = m.find((x) => x.name === 'JSHeapUsedSize')?.value ?? 0;
    const step = (await state()).steps;
    rows.push({ epoch: e, step, rss: residentBytes(rendererPids()), heap });
    const r = rows[rows.length - 1];
    console.log(
      `epoch ${String(e).padStart(2)} (at step ${step} of ${epochs * perEpoch})  renderer resident ${(r.rss / 2 ** 20).toFixed(1)} MiB  page heap ${(r.heap / 2 ** 20).toFixed(2)} MiB`,
    );
  }
  const s = await state();
  const [first, last] = [rows[0], rows[rows.length - 1]];
  const peak = Math.max(...rows.slice(1).map((r) => r.rss));
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log(
    `epoch 1 → ${epochs}: renderer resident ${mib(last.rss - first.rss)} (highest after epoch 1: ${mib(peak - first.rss)} above it), page heap ${mib(last.heap - first.heap)}; longest main-thread frame gap ${Math.round(s.maxFrameGap)} ms; ${((epochs * perEpoch * batch) / ((performance.now() - t0) / 1000)).toFixed(0)} images/s with the evaluations`,
  );
  console.log(
    JSON.stringify({
      net: 'seed-mnist',
      mode: 'playground',
      batch,
      threads: s.threads,
      epochs,
      trainImages,
      steps: rows.map((r) => r.step),
      rssBytes: rows.map((r) => r.rss),
      heapBytes: rows.map((r) => Math.round(r.heap)),
      maxFrameGapMs: Math.round(s.maxFrameGap),
    }),
  );
} finally {
  await close();
}
