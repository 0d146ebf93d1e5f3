import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { askCancel } from '../src/cli/sweep-queue.js';
import { resolveConfig } from '../src/cli/train-settings.js';
import { removeStaleScratch } from '../src/cli/worker.js';
import { parseQueueUrl, redactUrl } from '../src/queue/connection.js';
import { JobRefused, settingsVersion, validateJob } from '../src/queue/job.js';
import { connectedWorkers } from '../src/queue/owner.js';
import { findShared, prepareShared, readShared, sharedResultName, storeShared } from '../src/queue/results.js';
import { statusLine } from '../src/queue/status.js';
import { tempDir } from './helpers/tmp.js';

const job = (config = resolveConfig({ dataset: 'mnist', lr: '0.1', filters: '4,6' })) => ({
  version: settingsVersion,
  sweep: 'abc',
  trial: 'lr-0.1',
  params: { lr: '0.1' },
  config: JSON.parse(JSON.stringify(config)),
  data: { dataset: config.dataset, files: [{ name: 'train-images-idx3-ubyte', sha256: 'a'.repeat(64) }] },
});

test('--queue URLs: host, port, database and password parsed; the password never shown', () => {
  const t = parseQueueUrl('redis://:s3cret@10.0.0.5:6380/2');
  assert.deepEqual(t.options, { host: '10.0.0.5', port: 6380, db: 2, password: 's3cret' });
  assert.equal(t.shown, 'redis://:***@10.0.0.5:6380/2');
  assert.equal(redactUrl('redis://user:pw@h:1/0'), 'redis://user:***@h:1/0');
  assert.equal(redactUrl('redis://h:1'), 'redis://h:1');
  assert.deepEqual(parseQueueUrl('redis://localhost').options, { host: 'localhost', port: 6379, db: 0 });
  assert.throws(
    () => parseQueueUrl('http://:pw@h:1'),
    (e: Error) => /redis:\/\//.test(e.message) && !/pw/.test(e.message),
  );
  assert.throws(() => parseQueueUrl('redis://h:1/x'), /database after the port is a number/);
});

test('a trial job is validated setting by setting; a newer version, unknown or bad settings are refused', () => {
  const ok = job();
  assert.equal(validateJob(ok, 'j').config.lr, 0.1);
  const refused = (raw: unknown, re: RegExp) =>
    assert.throws(
      () => validateJob(raw, 'j'),
      (e: Error) => e instanceof JobRefused && re.test(e.message),
    );
  refused({ ...ok, version: settingsVersion + 1 }, /newer convts \(settings version 2; this worker reads up to 1\)/);
  refused({ ...ok, config: { ...ok.config, shell: 'rm -rf /' } }, /unknown setting "shell"/);
  refused({ ...ok, config: { ...ok.config, lr: -1 } }, /setting "lr" has a value/);
  refused({ ...ok, config: { ...ok.config, optimizer: 'eval' } }, /setting "optimizer"/);
  refused({ ...ok, config: { ...ok.config, features: '/etc/passwd' } }, /setting "features"/);
  refused({ ...ok, config: { ...ok.config, spec: { layers: 'x' } } }, /setting "spec"/);
  const { seed: _, ...noSeed } = ok.config;
  refused({ ...ok, config: noSeed }, /setting "seed" is missing/);
  refused({ ...ok, trial: '../../etc' }, /trial name/);
  refused({ ...ok, data: { dataset: 'mnist', files: [{ name: 'x', sha256: 'nope' }] } }, /data set identity/);
  refused('rm -rf /', /not a convts trial/);
  refused({ ...ok, shared: 'relative/dir' }, /shared results folder is not an absolute path/);
  assert.equal(validateJob({ ...ok, shared: '/mnt/results' }, 'j').shared, '/mnt/results');
  // Every setting convts train resolves is one a job may carry (schedules, augmentation, init…).
  const c = resolveConfig({
    dataset: 'cifar-10',
    augment: 'default',
    schedule: 'step:2:0.5',
    init: 'normal:0.02',
    converge: '0.01:2',
    val: '100',
  });
  assert.equal(validateJob(job(c), 'j').config.dataset, 'cifar-10');
});

test('the owner progress line counts queued, running (worker, epoch), done and failed trials', () => {
  const line = statusLine(
    [
      { kind: 'queued' },
      { kind: 'running', worker: 'a#1', epoch: 2, epochs: 3 },
      { kind: 'done' },
      { kind: 'done', failed: true },
    ],
    (i) => `t${i}`,
    1,
  );
  assert.equal(line, '1 queued · 1 running (t1 on a#1 epoch 2/3) · 1 done · 1 failed · 1 worker(s)');
  assert.match(
    statusLine([{ kind: 'queued' }], () => 't', 0),
    /no worker is connected: start one with convts worker/,
  );
  const gone = statusLine(
    [{ kind: 'running', worker: 'b#2', epoch: 1, epochs: 3 }],
    () => 't',
    1,
    (w) => w === 'b#2',
  );
  assert.equal(
    gone,
    '0 queued · 1 running (t on b#2 (gone: requeued at the next stalled check)) · 0 done · 0 failed · 1 worker(s)',
  );
});

test("the worker count is this database's convts workers: Redis lists the clients of every database", () => {
  const w = (db: string, rawname: string) => ({ db, rawname });
  const clients = [w('3', 'bull:Y29udnRz:w:a#1'), w('3', 'bull:Y29udnRz:w:b#2'), w('0', 'bull:Y29udnRz:w:c#3')];
  assert.deepEqual(connectedWorkers(clients, 3), new Set(['a#1', 'b#2']));
  assert.deepEqual(connectedWorkers(clients, 0), new Set(['c#3']));
  assert.equal(connectedWorkers(clients, 5).size, 0);
});

test('a shared results folder is used only where the owner marked it for the sweep; names are plain', () => {
  const base = tempDir('convts-shared-');
  assert.equal(findShared(base, 'abc'), null, 'not marked: the worker sends through Redis');
  const dir = prepareShared(base, 'abc', { host: 'h' });
  assert.equal(findShared(base, 'abc'), dir);
  assert.equal(findShared(base, 'other'), null);
  const name = sharedResultName('abc.lr-0.1.0123456789', 'f3a2-uuid:17');
  assert.match(name, /^abc\.lr-0\.1\.0123456789\.f3a2-uuid_17$/);
  storeShared(dir, name, new Map([['summary.json', Buffer.from('{}')]]));
  assert.deepEqual([...readShared(dir, name)!.keys()], ['summary.json']);
  assert.equal(readShared(dir, 'missing'), null);
  assert.throws(() => readShared(dir, '../../etc'), /result folder "\.\.\/\.\.\/etc" — refused/);
});

test('Ctrl-C on a terminal asks whether to take the queued trials off the queue; elsewhere they stay', async () => {
  const tty = (answer?: string) => {
    const s = Object.assign(new PassThrough(), { isTTY: true });
    if (answer !== undefined) s.end(answer);
    return s;
  };
  const out = tty();
  let said = '';
  out.on('data', (b) => {
    said += b;
  });
  assert.equal(await askCancel(3, () => {}, tty('y\n'), out), true);
  assert.match(said, /Take the 3 queued trial\(s\) off the queue\? .* \[y\/N\]/);
  assert.equal(await askCancel(3, () => {}, tty('\n'), tty()), false, 'no is the default');
  const lines: string[] = [];
  assert.equal(await askCancel(2, (l) => lines.push(l), new PassThrough(), tty()), false);
  assert.match(lines[0], /no terminal to ask .* 2 queued trial\(s\) .* they stay/);
});

test("a worker's start removes the scratch folders of workers that no longer run, and only those", () => {
  const dir = tempDir();
  const ended = spawnSync(process.execPath, ['-e', '0']).pid!;
  const names = [
    `convts-worker-${ended}-aB3dEf`,
    `convts-worker-${process.pid}-x1`,
    `convts-worker-1-init`,
    'convts-worker-Qw12Er',
    'something-else',
  ];
  for (const n of names) mkdirSync(join(dir, n));
  assert.deepEqual(removeStaleScratch(dir), [names[0]]);
  assert.deepEqual(readdirSync(dir).sort(), names.slice(1).sort());
  assert.deepEqual(removeStaleScratch(join(dir, 'nowhere')), [], 'a missing folder is nothing to clean');
});
