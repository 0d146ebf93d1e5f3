// Dashboard benchmark (not a test): how long `convts serve` takes to answer /api/runs over 2,000
// run directories, the first time (every file read) and again (cached, only stat calls); then,
// with Debian's chromium, how long the runs page takes from navigation to listing every run (the
// first rows drawn), on a fresh server (nothing cached but the operating system's file cache), and
// how long drawing all the rows takes when asked.
// Usage: node dist/bench/serve-list.js [runs] — writes the runs in a temporary folder, then
// removes it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunsResponse } from '../src/serve/api-types.js';
import { forgetRows, makeRoots } from '../src/serve/runs.js';
import { makeServer } from '../src/serve/server.js';
import { launchChromium } from '../test/helpers/browser.js';

const count = Number(process.argv[2] ?? 2000);
const dir = mkdtempSync(join(tmpdir(), 'convts-bench-serve-'));
const runs = join(dir, 'runs');
// Each run as convts train writes it after 3 epochs: config, summary, 300 step and 3 epoch records.
const metrics = Array.from({ length: 303 }, (_, i) =>
  JSON.stringify(
    i % 101 === 100
      ? { epoch: (i + 1) / 101, lr: 0.01, trainLoss: 0.1, trainAccuracy: 0.97, testLoss: 0.08, testAccuracy: 0.975 }
      : {
          kind: 'step',
          step: i + 1,
          epoch: 1 + Math.floor(i / 101),
          loss: 0.3,
          accuracy: 0.9,
          lr: 0.01,
          imagesPerSecond: 15000,
        },
  ),
).join('\n');
const epochs = metrics
  .split('\n')
  .map((l) => JSON.parse(l))
  .filter((m) => m.kind !== 'step');
for (let i = 0; i < count; i++) {
  const run = join(runs, `sweep-${Math.floor(i / 100)}`, `run-${i}`);
  mkdirSync(run, { recursive: true });
  writeFileSync(
    join(run, 'config.json'),
    JSON.stringify({ model: 'seed-mnist', dataset: 'mnist', lr: 0.01, epochs: 3, batchSize: 32, seed: i }),
  );
  writeFileSync(
    join(run, 'summary.json'),
    JSON.stringify({ status: 'completed', testAccuracy: 0.975, seconds: 10, trainSize: 60000, perEpoch: epochs }),
  );
  writeFileSync(join(run, 'metrics.jsonl'), `${metrics}\n`);
}
const server = makeServer(makeRoots([runs]));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/runs`;
await (await fetch(url.replace('/api/runs', '/'))).text(); // starts the HTTP client and server first
for (const label of ['first listing (cold cache)', 'second listing (cached)']) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const body = (await (await fetch(url)).json()) as RunsResponse;
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  // CPU time as well as wall time: on a shared machine the wall time is mostly waiting for a core
  console.log(
    `${label}: ${body.runs.length} runs in ${s.toFixed(2)} s (${((c.user + c.system) / 1e6).toFixed(2)} s of CPU)`,
  );
}
server.close();

const browser = await launchChromium();
if (!browser) console.log('runs page: skipped (no chromium; apt-get install -y chromium)');
else {
  forgetRows(); // the rows are cached per process: a fresh server must read every file again
  const fresh = makeServer(makeRoots([runs]));
  await new Promise<void>((r) => fresh.listen(0, '127.0.0.1', r));
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const base = `http://127.0.0.1:${(fresh.address() as AddressInfo).port}/`;
  // The page's main-thread CPU time (layout, style, script) as Chromium counts it: on a shared
  // machine the wall time is mostly waiting for a core.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  const pageCpu = async () =>
    (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ThreadTime')?.value ?? Number.NaN;
  const cpu = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  const [p0, c0] = [await pageCpu(), cpu()];
  const t0 = performance.now();
  await page.goto(`${base}#/`);
  await page.waitForFunction(
    (n) =>
      document.querySelector('.count')?.textContent === `${n} of ${n} runs` &&
      document.querySelector('table.runs tbody tr'),
    count,
    { timeout: 120_000, polling: 50 },
  );
  const s = (performance.now() - t0) / 1000;
  const drawn = await page.locator('table.runs tbody tr').count();
  const [p1, c1] = [await pageCpu(), cpu()];
  console.log(
    `runs page, fresh server: ${count} runs listed (first ${drawn} rows drawn) ${s.toFixed(2)} s after navigation ` +
      `(page main thread ${(p1 - p0).toFixed(2)} s of CPU, server ${(c1 - c0).toFixed(2)} s)`,
  );
  const t1 = performance.now();
  await page.locator('.bar button').click();
  await page.waitForFunction((n) => document.querySelectorAll('table.runs tbody tr').length === n, count, {
    timeout: 120_000,
    polling: 50,
  });
  console.log(
    `"show all": ${count} rows drawn in ${((performance.now() - t1) / 1000).toFixed(2)} s ` +
      `(page main thread ${((await pageCpu()) - p1).toFixed(2)} s of CPU)`,
  );
  await browser.close();
  fresh.close();
}
if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
else console.log(runs);
