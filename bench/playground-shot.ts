// The README's picture of the playground (docs/playground.png), not a benchmark: in Debian's chromium,
// served as `convts serve` serves it (two threads), trains seed-mnist on 10,000 MNIST images with an
// evaluation every 100 steps, draws a 2 on the pad, pauses after the evaluation at step 300 and
// saves the whole page: curves, confusion matrix, filters and feature maps, the pad's top 3.
// Usage: node dist/bench/playground-shot.js DATA_DIR OUT.png
import { openPlayground } from './playground-page.js';

const [dataDir, out] = process.argv.slice(2);
if (!dataDir || !out) {
  console.error('usage: node dist/bench/playground-shot.js DATA_DIR OUT.png');
  process.exit(2);
}
const pg = await openPlayground(dataDir, (page) => page.setViewportSize({ width: 1400, height: 1000 }));
try {
  const { page } = pg;
  // Another thread count restarts the worker, which loads the data again.
  await page.fill('#threads', '2');
  await page.dispatchEvent('#threads', 'change');
  await pg.until('s.ready && s.threads === 2', 30_000);
  await page.click('#load-server');
  await pg.until('s.data !== null', 60_000);
  for (const [id, v] of [
    ['#epochs', '3'],
    ['#train-limit', '10000'],
    ['#eval-every', '100'],
    ['#watch', '3'],
  ])
    await page.fill(id, v);
  await page.dispatchEvent('#watch', 'change');
  await page.click('#start');
  await pg.until('s.lastEval !== null && s.lastEval.step >= 300', 300_000);
  await page.click('#pause');
  await pg.until("s.phase === 'paused'", 30_000);
  // A 2: the top arc, the diagonal, the base.
  const box = (await page.locator('#pad').boundingBox())!;
  const at = (x: number, y: number) => [box.x + (x * box.width) / 28, box.y + (y * box.height) / 28] as const;
  const stroke = '9,9 10,6.5 12.5,5 15.5,5 18,6.5 19,9 18.5,11.5 16,14.5 13,17.5 10.5,20 9,22 13,22 17,22 20,22'
    .split(' ')
    .map((p) => p.split(',').map(Number) as [number, number]);
  await page.mouse.move(...at(...stroke[0]));
  await page.mouse.down();
  for (const p of stroke.slice(1)) await page.mouse.move(...at(...p), { steps: 6 });
  await page.mouse.up();
  await pg.until('s.top3.length === 3', 30_000);
  await page.waitForTimeout(1000); // the last frames: curves, maps
  await page.screenshot({ path: out, fullPage: true });
  const s = await pg.state();
  console.log(`${out}: step ${s.steps}, ${s.threads} threads, ${s.kernels}`);
} finally {
  await pg.close();
}
