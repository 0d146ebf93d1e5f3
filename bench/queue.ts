// Throughput of the trial queue itself: N no-op trials through BullMQ on a local redis-server,
// each carrying a real trial's settings and sending back a run directory of `--result-kb`
// kilobytes, so the figure is the job engine's and the result transfer's, not training's.
//   node dist/bench/queue.js [--trials 2000] [--workers 4] [--concurrency 8] [--result-kb 500]
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { resolveConfig } from '../src/cli/train-settings.js';
import { parseQueueUrl } from '../src/queue/connection.js';
import { settingsVersion, type TrialJob } from '../src/queue/job.js';
import { runOnQueue } from '../src/queue/owner.js';
import { writeRunDir } from '../src/queue/results.js';
import { startWorker } from '../src/queue/worker.js';

const { values: v } = parseArgs({
  options: {
    trials: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '8' },
    'result-kb': { type: 'string', default: '500' },
  },
});
const n = Number(v.trials);
const port = await new Promise<number>((r) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => r(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'convts-bench-queue-'));
const server = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
process.on('exit', () => server.kill('SIGKILL'));
let said = '';
await new Promise<void>((r) =>
  server.stdout!.on('data', (b) => {
    said += b;
    if (/Ready to accept/.test(said)) r();
  }),
);
server.stdout!.resume();
const target = parseQueueUrl(`redis://127.0.0.1:${port}/0`);

// One finished run directory, sent back by every no-op trial.
const runDir = join(dir, 'run');
mkdirSync(runDir);
writeFileSync(join(runDir, 'summary.json'), JSON.stringify({ status: 'completed' }));
writeFileSync(join(runDir, 'model.safetensors'), Buffer.alloc(Number(v['result-kb']) * 1024, 7));
const config = { ...resolveConfig({ dataset: 'mnist' }) };
const jobs: TrialJob[] = Array.from({ length: n }, (_, i) => ({
  version: settingsVersion,
  sweep: 'bench',
  trial: `t${i}`,
  params: { i: String(i) },
  config,
  data: { dataset: 'mnist', files: [{ name: 'train-images-idx3-ubyte', sha256: '0'.repeat(64) }] },
}));

const workers = await Promise.all(
  Array.from({ length: Number(v.workers) }, () =>
    // Each trial "writes" its run directory, as a real one does; the worker sends and removes it.
    startWorker(
      target,
      Number(v.concurrency),
      async (_, ctx) => {
        const d = join(dir, 'trials', ctx.id);
        cpSync(runDir, d, { recursive: true });
        return { dir: d };
      },
      () => {},
    ),
  ),
);
const out = join(dir, 'sweep');
let peak = 0;
const redis = new Redis(target.options);
const sample = setInterval(async () => {
  peak = Math.max(peak, Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0));
}, 200);
console.error('redis up; workers ready');
const t0 = performance.now();
const ok = await runOnQueue(
  target,
  jobs,
  {
    collected: (name, files) => writeRunDir(join(out, name), files),
    failed: (name, e) => console.error(`${name} failed: ${e}`),
    log: () => {},
    cancelQueued: async () => false,
  },
  new AbortController().signal,
  false,
);
clearInterval(sample);
const s = (performance.now() - t0) / 1000;
console.log(
  `${n} no-op trials (${v['result-kb']} KB result each), ${v.workers} workers × ${v.concurrency}: ${s.toFixed(1)} s, ${(n / s).toFixed(0)} trials/s, ` +
    `Redis peak used_memory seen ${(peak / 2 ** 20).toFixed(1)} MB${ok ? '' : ' (stopped)'}`,
);
await Promise.all(workers.map((w) => w.close()));
redis.disconnect();
server.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
