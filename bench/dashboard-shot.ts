// The README's picture of the compare view (docs/dashboard-compare.png), not a benchmark: serves
// DIR as `convts serve DIR` does, ticks every run in it on the runs page in Debian's chromium,
// hovers the loss chart so the box with every run's value shows, and saves the page.
// Usage: node dist/bench/dashboard-shot.js DIR OUT.png
// The README's runs: convts train --dataset mnist --epochs 1 --pool max|avg --out DIR/max-pool|avg-pool
import type { AddressInfo } from 'node:net';
import type { RunsResponse } from '../src/serve/api-types.js';
import { makeRoots } from '../src/serve/runs.js';
import { listRuns, makeServer } from '../src/serve/server.js';
import { launchChromium } from '../test/helpers/browser.js';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node dist/bench/dashboard-shot.js DIR OUT.png');
  process.exit(2);
}
const roots = makeRoots([dir]);
const runs: RunsResponse['runs'] = listRuns(roots).runs;
if (runs.length < 2) {
  console.error(`${dir}: ${runs.length} runs; the compare view wants two or three`);
  process.exit(1);
}
const server = makeServer(roots);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const browser = await launchChromium();
if (!browser) {
  console.error('Debian chromium not found (apt-get install -y chromium)');
  process.exit(1);
}
try {
  // Tall enough for the whole compare view: a full-page shot would resize the page and drop the hover box.
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
  const ids = runs.map((r) => encodeURIComponent(r.id)).join(',');
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/#/?compare=${ids}`);
  const loss = page.locator('figure.chart', { hasText: 'Training loss' });
  await loss.locator('.u-over').waitFor();
  await page.waitForTimeout(500); // the charts settle to their final width
  const box = (await loss.locator('.u-over').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.5);
  await loss.locator('.tip').waitFor({ state: 'visible' });
  await page.screenshot({ path: out });
  console.log(`${out}: ${runs.map((r) => r.id).join(', ')}`);
} finally {
  await browser.close();
  server.close();
}
