import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { resolveConfig } from '../src/cli/train-settings.js';
import { parseQueueUrl, queueName } from '../src/queue/connection.js';
import { settingsVersion } from '../src/queue/job.js';
import { runOnQueue } from '../src/queue/owner.js';
import { childEnv, convts, mainJs, readJson } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { freePort, redisMissing, startRedis } from './helpers/redis.js';
import { tempDir } from './helpers/tmp.js';

// Sweeps through a real redis-server and real worker processes on tiny data. Workers run with a
// 10 s lock and a 2 s stalled check (production: 30 s and 30 s), so a killed worker's trial comes
// back within seconds (a shorter lock expires under a busy machine's scheduling delays).

const missing = redisMissing();
if (missing) process.stderr.write(`# skipping the queue tests: ${missing}\n`);

/** A convts process whose stderr the test can wait on. */
function start(...args: string[]) {
  return startWith({}, ...args);
}

function startWith(env: NodeJS.ProcessEnv, ...args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [mainJs, ...args], {
    env: { ...childEnv(), CONVTS_QUEUE_LOCK_MS: '10000', CONVTS_QUEUE_STALLED_MS: '2000', ...env },
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
  // The workers' scratch folders go here, so that what they leave behind can be checked.
  // (Removed at the end of this suite's after(), which runs after a tempDir()'s.)
  const scratch = mkdtempSync(join(tmpdir(), 'convts-queue-tmp-'));
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const procs: ChildProcess[] = [];
  const workers: ReturnType<typeof start>[] = [];
  before(async () => {
    writeMnistDir(data, 48, 16);
    redis = await startRedis();
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    // Stopped as a service manager would: each worker removes its scratch folder.
    for (const w of workers) w.child.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => w.closed));
    redis?.stop();
    const left = readdirSync(scratch);
    rmSync(scratch, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no scratch folder left');
    for (const c of codes) assert.ok(c === 143 || c === 128, `a worker ended by SIGTERM or earlier by SIGKILL: ${c}`);
  });
  const worker = (db: number, ...args: string[]) => {
    const w = startWith(
      { TMPDIR: scratch },
      'worker',
      '--queue',
      redis.url(db),
      '--data-dir',
      data,
      '--offline',
      ...args,
    );
    workers.push(w);
    return w;
  };
  /** A sweep owner, killed in after() should a failed test leave it waiting for its trials. */
  const owner = (...args: string[]) => {
    const s = start(...args);
    procs.push(s.child);
    return s;
  };
  const scratchOf = (w: ReturnType<typeof start>) =>
    readdirSync(scratch).filter((f) => f.startsWith(`convts-worker-${w.child.pid}-`));
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
    '1',
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
    const sets = await Promise.all(
      ['wait', 'active', 'completed', 'failed', 'delayed', 'prioritized'].map(async (set) => {
        const k = `bull:${queueName}:${set}`;
        const type = await r.type(k);
        return type === 'zset' ? r.zcard(k) : type === 'list' ? r.llen(k) : 0;
      }),
    );
    r.disconnect();
    assert.deepEqual(
      keys.filter((k) => k.startsWith('convts:result') || /\.[0-9a-f]{10}$/.test(k)),
      [],
      'every result collected and every job removed',
    );
    assert.deepEqual(sets, [0, 0, 0, 0, 0, 0], "no job left in any of the queue's lists");
  };
  /** The return values of the jobs completed on database `db`, from BullMQ's event stream. */
  const completedReturns = async (db: number) => {
    const r = new Redis(redis.url(db));
    const events = await r.xrange(`bull:${queueName}:events`, '-', '+');
    r.disconnect();
    return events
      .map(([, kv]) => Object.fromEntries(kv.flatMap((x, i) => (i % 2 ? [] : [[x, kv[i + 1]]]))))
      .filter((e) => e.event === 'completed')
      .map((e) => JSON.parse(e.returnvalue) as { key?: string; shared?: string; worker: string });
  };

  test('a 2×2 grid through two workers: four results in the sweep folder, listed in sweep.html', async () => {
    const out = join(data, 'two-workers');
    // A worker of another database on the same server is not one of this sweep's.
    const elsewhere = worker(9);
    await elsewhere.waitFor(/taking trials from/);
    const workers = [worker(1), worker(1)];
    const s = owner(...sweepArgs(1, out, grid2x2));
    assert.equal(await s.closed, 0, s.stderr);
    await checkComplete(out, s.stderr, 1, names2x2);
    const counts = [...s.stderr.matchAll(/· (\d+) worker\(s\)/g)].map((m) => Number(m[1]));
    assert.ok(counts.length && Math.max(...counts) <= 2, `at most this database's 2 workers counted:\n${s.stderr}`);
    assert.match(s.stderr, /running \(lr-[\w.-]+ on \S+#\d+/, 'the progress line names the worker');
    const ran = workers.map((w) => (w.stderr.match(/\] completed/g) ?? []).length);
    assert.equal(ran[0] + ran[1], 4, workers.map((w) => w.stderr).join('\n'));
    assert.equal(readJson(join(out, names2x2[0], 'config.json')).dataDir, data, "the owner's data folder");
  });

  test('a worker SIGKILLed in the middle of a trial: another worker runs it, every trial ends exactly once', async () => {
    const out = join(data, 'killed');
    const a = worker(2);
    const s = owner(...sweepArgs(2, out));
    await a.waitFor(/\] started/);
    // Checked before the kill: once it is dead, a worker another test starts meanwhile may already
    // have removed the folder (every worker clears those of dead workers when it starts).
    assert.equal(scratchOf(a).length, 1, 'the worker has its scratch folder');
    a.child.kill('SIGKILL');
    await a.closed;
    const lost = /\[([\w.,=-]+)\] started/.exec(a.stderr)![1];
    const b = worker(2, '--jobs', '2');
    await b.waitFor(/taking trials/);
    assert.deepEqual(scratchOf(a), [], 'the next worker removes it');
    assert.equal(await s.closed, 0, s.stderr);
    await checkComplete(out, s.stderr, 2);
    assert.doesNotMatch(a.stderr, /completed/);
    assert.match(b.stderr, new RegExp(`\\[${lost}\\] completed`));
  });

  test('a sweep owner stopped and run again picks up its queued and finished trials', async () => {
    const out = join(data, 'resumed');
    const w = worker(3);
    const first = owner(...sweepArgs(3, out));
    await first.waitFor(/\[1\/2\]/);
    first.child.kill('SIGINT');
    assert.equal(await first.closed, 130, first.stderr);
    assert.match(first.stderr, /1 unfinished trial\(s\) stay on the queue — the workers go on/);
    const again = owner(...sweepArgs(3, out));
    assert.equal(await again.closed, 0, again.stderr);
    assert.match(again.stderr, /\(1 already done, skipped\)|\(\d already done, skipped\)/);
    await checkComplete(out, first.stderr + again.stderr, 3);
    assert.equal(w.stderr.match(/\] started/g)?.length, 2, `each trial ran once:\n${w.stderr}`);
  });

  test('--results DIR: workers that mount the folder write the trials there, not into Redis; the sweep folder is the same', async () => {
    const out = join(data, 'shared-out');
    const shared = join(data, 'shared');
    mkdirSync(shared);
    const elsewhere = join(data, 'shared-mount');
    symlinkSync(shared, elsewhere); // the same folder, mounted at another path on "another machine"
    const a = worker(5);
    const b = worker(5, '--results', elsewhere);
    const s = owner(...sweepArgs(5, out), '--results', shared);
    assert.equal(await s.closed, 0, s.stderr);
    await checkComplete(out, s.stderr, 5);
    const returns = await completedReturns(5);
    assert.equal(returns.length, 2);
    for (const rv of returns) assert.ok(rv.shared && !rv.key, `through the shared folder: ${JSON.stringify(rv)}`);
    assert.doesNotMatch(a.stderr + b.stderr, /go through Redis/);
    assert.deepEqual(readdirSync(shared), [], "the sweep's folder in DIR is removed once every trial is in");
    assert.equal(readJson(join(out, names2[0], 'config.json')).dataDir, data);
    assert.ok(readFileSync(join(out, names2[0], 'train.log'), 'utf8').includes('epoch 1/1'));
  });

  test('an owner killed while collecting leaves a job and its result; the same command again clears them', async () => {
    const out = join(data, 'owner-killed');
    const w = worker(6);
    // The owner holds between writing a trial's folder and clearing its job and result.
    const first = startWith({ CONVTS_QUEUE_COLLECT_PAUSE_MS: '60000' }, ...sweepArgs(6, out));
    procs.push(first.child);
    await first.waitFor(/\[1\/2\] /);
    first.child.kill('SIGKILL');
    await first.closed;
    const r = new Redis(redis.url(6));
    assert.equal((await r.keys('convts:result:*')).length >= 1, true, 'a result was left behind');
    r.disconnect();
    const again = owner(...sweepArgs(6, out));
    assert.equal(await again.closed, 0, again.stderr);
    assert.match(again.stderr, /cleared 1 job\(s\) left on the queue by an earlier run/);
    await checkComplete(out, first.stderr + again.stderr, 6);
    assert.equal(w.stderr.match(/\] started/g)?.length, 2, `each trial ran once:\n${w.stderr}`);
  });

  test("a worker whose data set is not the owner's fails the trial naming both checksums, twice at most, then it is recorded", async () => {
    const out = join(data, 'other-data-out');
    const other = join(data, 'other-data');
    writeMnistDir(other, 40, 16);
    const w = startWith({ TMPDIR: scratch }, 'worker', '--queue', redis.url(8), '--data-dir', other, '--offline');
    workers.push(w);
    const s = owner(...sweepArgs(8, out, ['--grid', 'lr=0.01']));
    assert.equal(await s.closed, 1, s.stderr);
    const why =
      /mnist in \S+ is not the sweep owner's copy: [\w-]+ has SHA-256 [0-9a-f]{12}…, the trial names [0-9a-f]{12}… — give --data-dir a copy of the same files \(on \S+#\d+, attempt 2 of 2\)/;
    assert.match(s.stderr, new RegExp(`\\[1/1\\] lr-0\\.01: failed — ${why.source}`));
    assert.match(readFileSync(join(out, 'sweep.md'), 'utf8'), /not the sweep owner's copy/);
    assert.equal(w.stderr.match(/\] started/g)?.length, 2, w.stderr);
  });

  test('Ctrl-C with trials still queued: a yes takes them off the queue, and nothing of them stays in Redis', async () => {
    const config = { ...resolveConfig({ dataset: 'mnist' }), dataDir: data };
    const jobs = ['a', 'b'].map((trial) => ({
      version: settingsVersion,
      sweep: 'cancel',
      trial,
      params: {},
      config: JSON.parse(JSON.stringify(config)),
      data: { dataset: 'mnist', files: [{ name: 'train-images-idx3-ubyte', sha256: '0'.repeat(64) }] },
    }));
    const stop = new AbortController();
    let asked = 0;
    const lines: string[] = [];
    const hooks = {
      collected: () => assert.fail('no worker runs here'),
      failed: () => assert.fail('no worker runs here'),
      log: (l: string) => lines.push(l),
      cancelQueued: async (n: number) => {
        asked = n;
        return true;
      },
    };
    const running = runOnQueue(parseQueueUrl(redis.url(7)), jobs, hooks, stop.signal, false);
    const q = new Queue(queueName, { connection: { port: redis.port, db: 7 } });
    for (let i = 0; i < 600 && (await q.getWaitingCount()) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await q.getWaitingCount(), 2);
    stop.abort();
    assert.equal(await running, false);
    assert.equal(asked, 2);
    assert.match(lines.join('\n'), /took 2 queued trial\(s\) off the queue; 0 unfinished trial\(s\) stay/);
    assert.equal(await q.getWaitingCount(), 0);
    await q.close();
    const r = new Redis(redis.url(7));
    assert.deepEqual(
      (await r.keys('*')).filter((k) => /cancel\./.test(k)),
      [],
    );
    r.disconnect();
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
