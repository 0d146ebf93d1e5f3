// Dashboard benchmark (not a test): how long `convts serve` takes to answer /api/runs over 2,000
// run directories, the first time (every file read) and again (cached, only stat calls).
// Usage: node dist/bench/serve-list.js [runs] — writes the runs in a temporary folder, then
// removes it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunsResponse } from '../src/serve/api-types.js';
import { makeRoots } from '../src/serve/runs.js';
import { makeServer } from '../src/serve/server.js';

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
if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
else console.log(runs);
