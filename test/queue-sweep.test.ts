import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { resolveConfig } from '../src/cli/train-settings.js';
import { queueName } from '../src/queue/connection.js';
import { childEnv, convts, mainJs, readJson } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { freePort, redisMissing, startRedis } from './helpers/redis.js';
import { tempDir } from './helpers/tmp.js';

// Sweeps through a real redis-server and real worker processes on tiny data. Workers run with a
// 4 s lock and a 2 s stalled check (production: 30 s and 30 s), so a killed worker's trial comes
// back within seconds.

const missing = redisMissing();
if (missing) process.stderr.write(`# skipping the queue tests: ${missing}\n`);

/** A convts process whose stderr the test can wait on. */
function start(...args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [mainJs, ...args], {
    env: { ...childEnv(), CONVTS_QUEUE_LOCK_MS: '4000', CONVTS_QUEUE_STALLED_MS: '2000' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b) => {
    stdout += b;
  });
  child.stderr!.on('data', (b) => {
    stderr += b;
  });
  const closed = new Promise<number>((r) => child.on('close', (code, signal) => r(code ?? (signal ? 128 : -1))));
  return {
    child,
    closed,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    /** Resolves once stderr matches `re` (polling: the output arrives in pieces). */
    async waitFor(re: RegExp): Promise<void> {
      for (let i = 0; i < 1200 && !re.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(stderr, re);
    },
  };
}

describe('convts sweep --queue and convts worker', { skip: missing ?? false, concurrency: true }, () => {
  const data = tempDir('convts-queue-');
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const procs: ChildProcess[] = [];
  before(async () => {
    writeMnistDir(data, 48, 16);
    redis = await startRedis();
  });
  after(() => {
    for (const p of procs) p.kill('SIGKILL');
    redis?.stop();
  });
  const worker = (db: number, ...args: string[]) => {
    const w = start('worker', '--queue', redis.url(db), '--data-dir', data, '--offline', ...args);
    procs.push(w.child);
    return w;
  };
  const grid2x2 = ['--grid', 'lr=0.01,0.05', '--grid', 'filters=4,6'];
  const names2x2 = ['lr-0.01_filters-4', 'lr-0.01_filters-6', 'lr-0.05_filters-4', 'lr-0.05_filters-6'];
  const grid2 = ['--grid', 'lr=0.01,0.05'];
  const names2 = ['lr-0.01', 'lr-0.05'];
  const sweepArgs = (db: number, out: string, grid = grid2) => [
    'sweep',
    '--dataset',
    'mnist',
    '--data-dir',
    data,
    '--offline',
    '--train-limit',
    '32',
    '--epochs',
    '2',
    '--batch-size',
    '8',
    ...grid,
    '--queue',
    redis.url(db),
    '--out',
    out,
  ];
  /** Each trial reported exactly once, each a complete run directory, and nothing left in Redis. */
  const checkComplete = async (out: string, stderr: string, db: number, names = names2) => {
    for (const n of names) {
      assert.equal(stderr.match(new RegExp(`\\] ${n}: `, 'g'))?.length, 1, `${n} reported once:\n${stderr}`);
      assert.equal(readJson(join(out, n, 'summary.json')).status, 'completed');
      for (const f of ['config.json', 'metrics.jsonl', 'model.json', 'model.safetensors', 'report.html'])
        assert.ok(existsSync(join(out, n, f)), `${n}/${f}`);
    }
    assert.deepEqual(
      readdirSync(out).filter((f) => !f.startsWith('sweep')),
      names,
      'one directory per trial, no half-received one',
    );
    const html = readFileSync(join(out, 'sweep.html'), 'utf8');
    assert.equal((html.match(/<tr>/g) ?? []).length, 1 + names.length);
    const r = new Redis(redis.url(db));
    const keys = await r.keys('*');
    r.disconnect();
    assert.deepEqual(
      keys.filter((k) => k.startsWith('convts:result') || /\.[0-9a-f]{10}$/.test(k)),
      [],
      'every result collected and every job removed',
    );
  };

  test('a 2×2 grid through two workers: four results in the sweep folder, listed in sweep.html', async () => {
    const out = join(data, 'two-workers');
    const workers = [worker(1), worker(1)];
    const s = start(...sweepArgs(1, out, grid2x2));
    assert.equal(await s.closed, 0, s.stderr);
    await checkComplete(out, s.stderr, 1, names2x2);
    assert.match(s.stderr, /running \(lr-[\w.-]+ on \S+#\d+/, 'the progress line names the worker');
    const ran = workers.map((w) => (w.stderr.match(/\] completed/g) ?? []).length);
    assert.equal(ran[0] + ran[1], 4, workers.map((w) => w.stderr).join('\n'));
    assert.equal(readJson(join(out, names2x2[0], 'config.json')).dataDir, data, "the owner's data folder");
  });

  test('a worker SIGKILLed in the middle of a trial: another worker runs it, every trial ends exactly once', async () => {
    const out = join(data, 'killed');
    const a = worker(2);
    const s = start(...sweepArgs(2, out));
    await a.waitFor(/\] started/);
    a.child.kill('SIGKILL');
    await a.closed;
    const lost = /\[([\w.,=-]+)\] started/.exec(a.stderr)![1];
    const b = worker(2, '--jobs', '2');
    assert.equal(await s.closed, 0, s.stderr);
    await checkComplete(out, s.stderr, 2);
    assert.doesNotMatch(a.stderr, /completed/);
    assert.match(b.stderr, new RegExp(`\\[${lost}\\] completed`));
  });

  test('a sweep owner stopped and run again picks up its queued and finished trials', async () => {
    const out = join(data, 'resumed');
    const w = worker(3);
    const first = start(...sweepArgs(3, out));
    await first.waitFor(/\[1\/2\]/);
    first.child.kill('SIGINT');
    assert.equal(await first.closed, 130, first.stderr);
    assert.match(first.stderr, /1 unfinished trial\(s\) stay on the queue — the workers go on/);
    const again = start(...sweepArgs(3, out));
    assert.equal(await again.closed, 0, again.stderr);
    assert.match(again.stderr, /\(1 already done, skipped\)|\(\d already done, skipped\)/);
    await checkComplete(out, first.stderr + again.stderr, 3);
    assert.equal(w.stderr.match(/\] started/g)?.length, 2, `each trial ran once:\n${w.stderr}`);
  });

  test('a job from a newer convts, or with a setting this one does not know, is refused and fails without retry', async () => {
    const config = { ...resolveConfig({ dataset: 'mnist' }), dataDir: data };
    const job = {
      version: 1,
      sweep: 'test',
      trial: 't',
      params: {},
      config,
      data: { dataset: 'mnist', files: [{ name: 'train-images-idx3-ubyte', sha256: '0'.repeat(64) }] },
    };
    const q = new Queue(queueName, { connection: { port: redis.port, db: 4 } });
    const newer = await q.add('t', { ...job, version: 99 }, { attempts: 2 });
    const command = await q.add('t', { ...job, config: { ...config, command: 'rm -rf /' } }, { attempts: 2 });
    const w = worker(4);
    for (const j of [newer, command]) {
      for (let i = 0; i < 600 && (await j.getState()) !== 'failed'; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await j.getState(), 'failed');
    }
    const [n, c] = await Promise.all([q.getJob(newer.id!), q.getJob(command.id!)]);
    await q.close();
    assert.match(n!.failedReason, /newer convts \(settings version 99; this worker reads up to 1\) — update convts/);
    assert.match(c!.failedReason, /unknown setting "command"/);
    assert.equal(n!.attemptsMade, 1, 'not retried');
    await w.waitFor(/refused job .* comes from a newer convts/);
  });
});

test('a Redis that is not running: one line naming host, port and how to start it; a password is never printed', async () => {
  const port = await freePort();
  const url = `redis://:hunter2@127.0.0.1:${port}`;
  const data = tempDir('convts-noredis-');
  writeMnistDir(data, 16, 8);
  const runs = await Promise.all([
    convts('worker', '--queue', url),
    convts('sweep', '--dataset', 'mnist', '--data-dir', data, '--offline', '--grid', 'lr=0.1,0.2', '--queue', url),
  ]);
  for (const r of runs) {
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, r.stderr.includes('sweep:') ? 2 : 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^convts: Redis at 127\\.0\\.0\\.1:${port} is not running \\(connection refused\\) — start it there with "redis-server --port ${port}"`,
        'm',
      ),
    );
    assert.doesNotMatch(r.stderr, /hunter2/);
  }
  assert.match(runs[1].stderr, /through the queue at redis:\/\/:\*\*\*@127\.0\.0\.1/);
});
